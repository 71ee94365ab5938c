// Drives sonde-gateway with the official openai client and prints, as JSON,
// what the client saw: calls by outcome, token usage sums, streamed time to
// first token. test_gateway_openai.sh compares it with the gateway's /metrics.
// Usage: node gateway_openai.mjs BASE_URL  (keys as configured by the test)
import OpenAI from "openai";

const base = process.argv[2];
const client = new OpenAI({ baseURL: base, apiKey: "sk-test-123", maxRetries: 0, timeout: 20000 });
const limited = new OpenAI({ baseURL: base, apiKey: "sk-limited-456", maxRetries: 0 });
const frugal = new OpenAI({ baseURL: base, apiKey: "sk-frugal-789", maxRetries: 0 });
const bad = new OpenAI({ baseURL: base, apiKey: "sk-wrong", maxRetries: 0 });

const seen = {
  ok: 0, streams: 0, ttft: [], input: 0, output: 0, cost_in: 0, cost_out: 0,
  statuses: {}, tool_calls: 0, key_requests: { tester: 0, limited: 0, frugal: 0 }, failures: [],
};
function check(cond, what) {
  if (!cond) seen.failures.push(what);
}
function usage(u, priced) {
  seen.input += u.prompt_tokens;
  seen.output += u.completion_tokens ?? 0;
  if (priced) {
    seen.cost_in += u.prompt_tokens;
    seen.cost_out += u.completion_tokens ?? 0;
  }
}
async function status(p) {
  try {
    await p;
    return 200;
  } catch (e) {
    return e.status ?? -1;
  }
}

// models
seen.key_requests.tester++;
const models = await client.models.list();
const ids = models.data.map((m) => m.id).sort();
check(JSON.stringify(ids) === JSON.stringify(["broken", "sim-chat", "sonde-sim", "stalled"]),
      `models ${ids}`);

// chat, whole answer: "hello world!" is 12 bytes = 3 tokens; the sim answers 6
seen.key_requests.tester++;
const msgs = [{ role: "user", content: "hello world!" }];
const chat = await client.chat.completions.create({ model: "sim-chat", messages: msgs });
check(chat.choices[0].message.content.length > 0, "chat content");
check(chat.usage.prompt_tokens === 3 && chat.usage.completion_tokens === 6, "chat usage");
check(chat.choices[0].finish_reason === "stop", "chat finish");
usage(chat.usage, true);
seen.ok++;

// chat, streamed, with and without usage
for (const include of [true, false]) {
  seen.key_requests.tester++;
  const t0 = performance.now();
  const stream = await client.chat.completions.create({
    model: "sim-chat", messages: msgs, stream: true,
    ...(include ? { stream_options: { include_usage: true } } : {}),
  });
  let first = 0, tokens = 0, u = null, finish = null;
  for await (const ch of stream) {
    if (ch.usage) u = ch.usage;
    const c = ch.choices[0];
    if (!c) continue;
    if (c.delta?.content) {
      if (!first) first = performance.now();
      tokens++;
    }
    if (c.finish_reason) finish = c.finish_reason;
  }
  check(tokens === 6, `stream tokens ${tokens}`);
  check(finish === "stop", "stream finish");
  check(include ? u && u.completion_tokens === 6 && u.prompt_tokens === 3 : u === null, "stream usage");
  seen.ttft.push((first - t0) / 1000);
  usage({ prompt_tokens: 3, completion_tokens: tokens }, true);
  seen.ok++;
  seen.streams++;
}

// completions, whole and streamed: "abcdefgh" = 2 tokens
seen.key_requests.tester += 2;
const cmpl = await client.completions.create({ model: "sim-chat", prompt: "abcdefgh" });
check(cmpl.choices[0].text.length > 0 && cmpl.usage.prompt_tokens === 2, "completion");
usage(cmpl.usage, true);
seen.ok++;
{
  const t0 = performance.now();
  const s = await client.completions.create({
    model: "sim-chat", prompt: "abcdefgh", stream: true, stream_options: { include_usage: true },
  });
  let first = 0, n = 0, u = null;
  for await (const ch of s) {
    if (ch.usage) u = ch.usage;
    if (ch.choices[0]?.text) {
      if (!first) first = performance.now();
      n++;
    }
  }
  check(n === 6 && u && u.completion_tokens === 6, "completion stream");
  seen.ttft.push((first - t0) / 1000);
  usage(u, true);
  seen.ok++;
  seen.streams++;
}

// embeddings
seen.key_requests.tester++;
const emb = await client.embeddings.create({ model: "sim-chat", input: ["abcd", "abcdefgh"] });
check(emb.data.length === 2 && emb.data[0].embedding.length === 8, "embeddings shape");
check(emb.usage.prompt_tokens === 3, `embeddings usage ${emb.usage.prompt_tokens}`);
usage({ prompt_tokens: emb.usage.prompt_tokens, completion_tokens: 0 }, true);
seen.ok++;

// tool calls, whole and streamed: arguments {"city":"sim"} (14 bytes = 4 tokens)
const tools = [{
  type: "function",
  function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
}];
seen.key_requests.tester += 2;
const tc = await client.chat.completions.create({ model: "sim-chat", messages: msgs, tools });
const call = tc.choices[0].message.tool_calls?.[0];
check(call && call.function.name === "get_weather" && JSON.parse(call.function.arguments).city === "sim", "tool call");
check(tc.choices[0].finish_reason === "tool_calls" && tc.usage.completion_tokens === 4, "tool usage");
usage(tc.usage, true);
seen.ok++;
seen.tool_calls++;
{
  const t0 = performance.now();
  const s = await client.chat.completions.create({
    model: "sim-chat", messages: msgs, tools, stream: true, stream_options: { include_usage: true },
  });
  let first = 0, name = null, args = "", u = null;
  for await (const ch of s) {
    if (ch.usage) u = ch.usage;
    const t = ch.choices[0]?.delta?.tool_calls?.[0];
    if (!t) continue;
    if (!first) first = performance.now();
    if (t.function?.name) name = t.function.name;
    args += t.function?.arguments ?? "";
  }
  check(name === "get_weather" && JSON.parse(args).city === "sim" && u.completion_tokens === 4, "tool stream");
  seen.ttft.push((first - t0) / 1000);
  usage(u, true);
  seen.ok++;
  seen.streams++;
  seen.tool_calls++;
}

// max_tokens caps the answer
seen.key_requests.tester++;
const short = await client.chat.completions.create({ model: "sim-chat", messages: msgs, max_tokens: 2 });
check(short.usage.completion_tokens === 2 && short.choices[0].finish_reason === "length", "max_tokens");
usage(short.usage, true);
seen.ok++;

// an unknown key: 401 with the OpenAI error shape
const s401 = await status(bad.chat.completions.create({ model: "sim-chat", messages: msgs }));
seen.statuses[s401] = (seen.statuses[s401] ?? 0) + 1;

// the limited key allows 2 requests per minute: the third gets 429 with Retry-After
for (let i = 0; i < 3; i++) {
  seen.key_requests.limited++;
  try {
    const r = await limited.chat.completions.create({ model: "sim-chat", messages: msgs });
    usage(r.usage, true);
    seen.ok++;
  } catch (e) {
    seen.statuses[e.status] = (seen.statuses[e.status] ?? 0) + 1;
    check(e.status === 429 && Number(e.headers?.["retry-after"]) > 0, "429 with retry-after");
    check(e.error?.type === "rate_limit_exceeded", "429 error type");
  }
}

// the frugal key allows 5 tokens per minute: the first call (3 in + 6 out) drains it,
// the second is refused for tokens
seen.key_requests.frugal += 2;
const f1 = await frugal.chat.completions.create({ model: "sim-chat", messages: msgs });
usage(f1.usage, true);
seen.ok++;
try {
  await frugal.chat.completions.create({ model: "sim-chat", messages: msgs });
  check(false, "tokens_per_minute did not refuse");
} catch (e) {
  check(e.status === 429 && e.error?.code === "rate_limit_tokens", `tpm refusal ${e.status}`);
}

// a model whose upstream refuses connections: 502
seen.key_requests.tester++;
const s502 = await status(client.chat.completions.create({ model: "broken", messages: msgs }));
seen.statuses[s502] = (seen.statuses[s502] ?? 0) + 1;
// a model whose upstream never answers: 504 after its timeout
seen.key_requests.tester++;
const s504 = await status(client.chat.completions.create({ model: "stalled", messages: msgs }));
seen.statuses[s504] = (seen.statuses[s504] ?? 0) + 1;
check(s401 === 401 && s502 === 502 && s504 === 504, `statuses ${s401} ${s502} ${s504}`);

console.log(JSON.stringify(seen));
