// Drives sonde-gateway's Responses API with the official openai client: whole and
// streamed responses (every event through the client's own stream parser and its
// responses.stream() accumulator), a function tool round trip continued with
// previous_response_id, stored responses retrieved / listed / deleted, and bad input.
// Prints, as JSON, what it saw (calls, token sums) and the failed checks;
// test_gateway_responses.sh compares the sums with the gateway's /metrics.
// Usage: node gateway_responses.mjs BASE_URL MODEL LABEL
import OpenAI from "openai";

const [base, model, label] = process.argv.slice(2);
const client = new OpenAI({ baseURL: base, apiKey: "sk-test-123", maxRetries: 0, timeout: 20000 });
// the failure cases spend another key, so the tester's counts stay exact
const failer = new OpenAI({ baseURL: base, apiKey: "sk-fail-000", maxRetries: 0, timeout: 20000 });
const seen = { calls: 0, input: 0, output: 0, tool_calls: 0, failures: [] };
const check = (cond, what) => { if (!cond) seen.failures.push(`${label}: ${what}`); };
const count = (r) => { seen.calls++; seen.input += r.usage.input_tokens; seen.output += r.usage.output_tokens; };
async function refusal(p) {
  try { await p; return { status: 200 }; } catch (e) { return { status: e.status ?? -1, param: e.param, code: e.code, type: e.type }; }
}
// The sim answers with its fixed words, 6 output tokens (test config).
const SIX = "sonde measures every token that flows ";

// whole
const w = await client.responses.create({
  model, input: "hello world!", instructions: "Be brief.", metadata: { case: "whole" }, temperature: 0.5,
});
count(w);
check(w.object === "response" && w.id.startsWith("resp_"), `object/id ${w.object} ${w.id}`);
check(w.status === "completed" && w.error === null && w.incomplete_details === null, `status ${w.status}`);
check(w.output.length === 1 && w.output[0].type === "message" && w.output[0].role === "assistant", "output item");
check(w.output_text === SIX, `output_text '${w.output_text}'`);
// "hello world!" = 3 tokens, "Be brief." = 3 (one per 4 bytes)
check(w.usage.input_tokens === 6 && w.usage.output_tokens === 6 && w.usage.total_tokens === 12,
      `usage ${JSON.stringify(w.usage)}`);
check(w.usage.input_tokens_details.cached_tokens === 0 && w.usage.output_tokens_details.reasoning_tokens === 0, "usage details");
check(w.metadata.case === "whole" && w.temperature === 0.5 && w.instructions === "Be brief.", "echoed fields");
check(w.completed_at >= w.created_at && w.model === model && w.store === true, "times/model/store");

// streamed: the client's own parser takes every event
const types = [], seqs = [];
let deltas = "", doneText = null, final = null;
const stream = await client.responses.create({ model, input: "hello world!", stream: true });
for await (const ev of stream) {
  types.push(ev.type);
  seqs.push(ev.sequence_number);
  if (ev.type === "response.output_text.delta") deltas += ev.delta;
  if (ev.type === "response.output_text.done") doneText = ev.text;
  if (ev.type === "response.completed") final = ev.response;
}
const want = ["response.created", "response.in_progress", "response.output_item.added",
  "response.content_part.added", ...Array(6).fill("response.output_text.delta"),
  "response.output_text.done", "response.content_part.done", "response.output_item.done",
  "response.completed"];
check(JSON.stringify(types) === JSON.stringify(want), `stream events ${types}`);
check(seqs.every((s, i) => s === i), `sequence numbers ${seqs}`);
check(deltas === SIX && doneText === SIX, `stream text '${deltas}' / '${doneText}'`);
check(final && final.status === "completed" && final.output[0].content[0].text === SIX, "stream final response");
if (final) count(final);

// the client's stream accumulator (checks every event against its snapshot)
const acc = client.responses.stream({ model, input: "hello world!" });
const accFinal = await acc.finalResponse();
count(accFinal);
// (its final response carries output_text only for parsed requests: read the item)
check(accFinal.status === "completed" && accFinal.output[0]?.content[0]?.text === SIX,
      `responses.stream() ${JSON.stringify(accFinal.output)}`);

// max_output_tokens: incomplete, whole and streamed
const inc = await client.responses.create({ model, input: "hello world!", max_output_tokens: 3 });
count(inc);
check(inc.status === "incomplete" && inc.incomplete_details?.reason === "max_output_tokens" &&
      inc.usage.output_tokens === 3, `incomplete ${inc.status} ${JSON.stringify(inc.incomplete_details)}`);
let last = null;
for await (const ev of await client.responses.create({ model, input: "hello world!", max_output_tokens: 3, stream: true }))
  last = ev;
check(last?.type === "response.incomplete", `streamed incomplete ends with ${last?.type}`);
if (last?.response) count(last.response);

// a function tool round trip, continued with previous_response_id
const tools = [{ type: "function", name: "get_weather", description: "weather of a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }];
const t1 = await client.responses.create({ model, input: "weather in Paris?", tools });
count(t1);
seen.tool_calls++;
const fc = t1.output[0];
check(t1.output.length === 1 && fc.type === "function_call" && fc.name === "get_weather" &&
      fc.arguments === '{"city":"sim"}' && fc.call_id.length > 0 && fc.status === "completed",
      `function_call ${JSON.stringify(t1.output)}`);
const t2 = await client.responses.create({ model, previous_response_id: t1.id,
  input: [{ type: "function_call_output", call_id: fc.call_id, output: '{"temp":21}' }] });
count(t2);
check(t2.status === "completed" && t2.output_text === SIX && t2.previous_response_id === t1.id, "tool answer");
// the upstream saw the whole conversation: "weather in Paris?" 5 tokens + the tool output 3
check(t2.usage.input_tokens === 8, `conversation input tokens ${t2.usage.input_tokens}`);
// the tool call streamed
const ttypes = [];
let args = "", argsDone = null;
for await (const ev of await client.responses.create({ model, input: "weather in Paris?", tools, stream: true })) {
  ttypes.push(ev.type);
  if (ev.type === "response.function_call_arguments.delta") args += ev.delta;
  if (ev.type === "response.function_call_arguments.done") argsDone = ev.arguments;
  if (ev.type === "response.completed") count(ev.response);
}
seen.tool_calls++;
check(ttypes[2] === "response.output_item.added" && ttypes.at(-2) === "response.output_item.done" &&
      ttypes.at(-3) === "response.function_call_arguments.done" && ttypes.at(-1) === "response.completed",
      `tool stream events ${ttypes}`);
check(args === '{"city":"sim"}' && argsDone === args, `streamed arguments '${args}'`);

// stored responses: retrieved, input items listed, deleted (404 after)
const got = await client.responses.retrieve(w.id);
check(got.id === w.id && got.output[0].content[0].text === SIX && got.status === "completed", "retrieve");
const items = await client.responses.inputItems.list(t2.id);
check(items.data.length === 1 && items.data[0].type === "function_call_output" &&
      items.data[0].call_id === fc.call_id, `input items ${JSON.stringify(items.data)}`);
const items1 = await client.responses.inputItems.list(w.id);
check(items1.data.length === 1 && items1.data[0].role === "user" &&
      items1.data[0].content[0].text === "hello world!", "input items of a string input");
const del = await client.responses.del(w.id);
check((del === undefined || del === null || del.deleted === true), `delete ${JSON.stringify(del)}`);
check((await refusal(client.responses.retrieve(w.id))).status === 404, "retrieve after delete");
check((await refusal(client.responses.del(w.id))).status === 404, "delete twice");
const ns = await client.responses.create({ model, input: "hello world!", store: false });
count(ns);
check((await refusal(client.responses.retrieve(ns.id))).status === 404, "store:false not kept");

// bad input: the specified error shape, naming the field
const bad = async (body, param, status = 400) => {
  const r = await refusal(client.responses.create({ model, ...body }));
  check(r.status === status && r.param === param && r.type === "invalid_request_error",
        `bad ${JSON.stringify(body)} -> ${JSON.stringify(r)}`);
};
await bad({ input: [{ type: "message", role: "robot", content: "x" }] }, "input[0].role");
await bad({ input: [{ type: "function_call_output", output: "x" }] }, "input[0].call_id");
await bad({ input: [{ type: "function_call", call_id: "c", name: "f" }] }, "input[0].arguments");
await bad({ input: [{ type: "item_reference", id: "x" }] }, "input[0].type");
await bad({ input: [{ role: "user", content: [{ type: "input_audio" }] }] }, "input[0].content[0].type");
await bad({ input: "x", tools: [{ type: "web_search_preview" }] }, "tools[0].type");
await bad({ input: "x", tool_choice: "sometimes" }, "tool_choice");
await bad({ input: 42 }, "input");
await bad({ input: "x", previous_response_id: "resp_nope" }, "previous_response_id", 404);
check((await refusal(client.responses.create({ model: "no-such-model", input: "x" }))).status === 404, "unknown model");

// a failing upstream: an HTTP error before any output, whole or streamed
check((await refusal(failer.responses.create({ model: "broken", input: "x" }))).status === 502, "broken whole");
check((await refusal(failer.responses.create({ model: "broken", input: "x", stream: true }))).status === 502,
      "broken streamed");
// an upstream that stalls after its first token (the front gives up after its idle timeout;
// straight to the sim it is only slow): streamed, the response fails with its error, or completes
const stypes = [], sseq = [];
let failed = null;
for await (const ev of await failer.responses.create({ model: "slow", input: "x", stream: true })) {
  stypes.push(ev.type);
  sseq.push(ev.sequence_number);
  if (ev.type === "response.failed") failed = ev.response;
}
check(sseq.every((s, i) => s === i), `slow sequence numbers ${sseq}`);
if (label === "chained")
  check(failed && failed.status === "failed" && failed.error?.code && failed.error?.message &&
        stypes.at(-1) === "response.failed" && stypes.includes("response.output_text.delta"),
        `stalled stream: ${stypes} ${JSON.stringify(failed?.error)}`);
else
  check(stypes.at(-1) === "response.completed", `slow stream: ${stypes}`);

console.log(JSON.stringify(seen));
