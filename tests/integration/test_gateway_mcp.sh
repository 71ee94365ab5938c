#!/bin/bash
# sonde-gateway's agentic loop against a real MCP server built with the official
# MCP TypeScript SDK (tests/integration/mcp/server.mjs, streamable HTTP, one
# instance answering with SSE streams, one with JSON) and a misbehaving one
# (mcp/bad_server.py): chat completions and responses (whole and streamed) with
# {"type":"mcp"} tools, the sim told
# to call tools by "@tool NAME {args}" lines (also over a proxied model: a second
# gateway as the OpenAI upstream). Asserted: the SDK server's own
# record of calls and arguments, the final answer quoting the results, the
# mcp_call items, tool errors / an unreachable server / garbage / a server that
# never answers as error items or a 424 (each request bounded by a client-side
# deadline, never by the gateway's timing), max_tool_calls, and the metrics
# (execute_tool counts and durations, invoke_agent, provider calls, the key's
# tokens summed over the loop).
set -euo pipefail
. "$(dirname "$0")/lib/gateway.sh"

MCP_DIR=$SONDE_SRC/tests/integration/mcp
if [ ! -d "$MCP_DIR/node_modules/@modelcontextprotocol/sdk" ]; then
  (cd "$MCP_DIR" && npm ci --no-audit --no-fund --silent) || fail "npm ci (MCP SDK server)"
fi

SSE=$(free_port); JSONP=$(free_port); BAD=$(free_port); GARBAGE=$(free_port)
DEAD=$(free_port); PORT=$(free_port); BACK=$(free_port)
node "$MCP_DIR/server.mjs" "$SSE" >"$tmp/mcp_sse.log" 2>&1 & pids+=($!)
node "$MCP_DIR/server.mjs" "$JSONP" json >"$tmp/mcp_json.log" 2>&1 & pids+=($!); JSON_PID=$!
/usr/bin/python3 "$MCP_DIR/bad_server.py" "$BAD" >"$tmp/bad.log" 2>&1 & pids+=($!)
/usr/bin/python3 "$MCP_DIR/bad_server.py" "$GARBAGE" garbage >"$tmp/garbage.log" 2>&1 & pids+=($!)
for p in $SSE $JSONP $BAD $GARBAGE; do
  for i in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$p/" && break
    sleep 0.1
  done
  curl -s -o /dev/null "http://127.0.0.1:$p/" || fail "MCP test server on $p did not start"
done

cat >"$tmp/gw.json" <<JSON
{
  "listen": {"address": "127.0.0.1"},
  "upstreams": {"sim": {"ttft_ms": 0, "inter_token_ms": 0, "jitter_ms": 0},
                "back": {"type": "openai", "url": "http://127.0.0.1:$BACK/v1"}},
  "models": {"sim-chat": {"upstream": "sim"}, "proxied": {"upstream": "back", "upstream_model": "sonde-sim"}},
  "tools": ["add", "lookup", "broken", "hang"],
  "keys": [{"name": "agent", "key": "sk-agent"}],
  "mcp": {
    "max_iterations": 4,
    "servers": [
      {"name": "tools", "url": "http://127.0.0.1:$SSE/mcp", "headers": {"X-Test": "sonde"}},
      {"name": "jtools", "url": "http://127.0.0.1:$JSONP/mcp", "allowed_tools": ["add"]},
      {"name": "bad", "url": "http://127.0.0.1:$BAD/mcp", "timeout_ms": 1000},
      {"name": "slow", "url": "http://127.0.0.1:$BAD/mcp", "timeout_ms": 600000},
      {"name": "garbage", "url": "http://127.0.0.1:$GARBAGE/mcp"},
      {"name": "down", "url": "http://127.0.0.1:$DEAD/mcp", "connect_timeout_ms": 500}
    ]
  }
}
JSON
# a second gateway (its built-in sim) behind the first: the loop over the proxy path
gw_start back --port "$BACK" || fail "start the back gateway"
gw_start gw --port "$PORT" --config "$tmp/gw.json" || fail "start"

export GW_URL="http://127.0.0.1:$PORT" SSE JSONP
/usr/bin/python3 - "$JSON_PID" <<'PY' || { tail -20 "$tmp/gw.log"; tail -20 "$tmp/back.log"; fail "MCP loop checks"; }
import json, os, signal, sys, time, urllib.request, urllib.error
from prometheus_client.parser import text_string_to_metric_families

GW = os.environ["GW_URL"]
DEADLINE = 20  # seconds a request may take on the client side before it counts as a hang
bad = []

def post(body, key="sk-agent"):
    req = urllib.request.Request(GW + "/v1/chat/completions", json.dumps(body).encode(),
                                 {"Content-Type": "application/json",
                                  "Authorization": "Bearer " + key})
    try:
        with urllib.request.urlopen(req, timeout=DEADLINE) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)

def chat(text, *servers, **extra):
    tools = [{"type": "mcp", "server_label": s, "require_approval": "never"} for s in servers]
    return post({"model": "sim-chat", "messages": [{"role": "user", "content": text}],
                 "tools": tools, **extra})

def check(what, ok, detail=""):
    if not ok:
        bad.append(f"{what}: {detail}")

def calls(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/calls", timeout=5) as r:
        return json.load(r)

usage = {"input": 0, "output": 0}
def count_usage(ans):
    usage["input"] += ans["usage"]["prompt_tokens"]
    usage["output"] += ans["usage"]["completion_tokens"]

# 1. two tools in parallel through the SSE server: the server's record, the answer, the items
st, ans = chat('plan\n@tool add {"a": 2, "b": 40}\n@tool lookup {"key": "k1"}', "tools")
check("parallel calls status", st == 200, (st, ans))
if st == 200:
    count_usage(ans)
    text = ans["choices"][0]["message"]["content"]
    check("answer quotes both results", "sum=42" in text and "value of k1" in text, text)
    items = ans["mcp_calls"]
    check("two mcp_call items", [(i["name"], i["output"]) for i in items] ==
          [("add", "sum=42"), ("lookup", "value of k1")], items)
    check("stop answered", ans["mcp_stop"] == "answered", ans["mcp_stop"])
rec = calls(os.environ["SSE"])
check("SSE server record", sorted((c["tool"], json.dumps(c["args"], sort_keys=True)) for c in rec) ==
      [("add", '{"a": 2, "b": 40}'), ("lookup", '{"key": "k1"}')], rec)
check("one session for both calls", len({c["session"] for c in rec}) == 1, rec)
check("the server's configured header sent", [c["xtest"] for c in rec] == ["sonde", "sonde"], rec)

# 2. a tool error (isError) is an error item, the loop still answers
st, ans = chat('@tool lookup {"key": "missing"}', "tools")
check("tool error status", st == 200, (st, ans))
if st == 200:
    count_usage(ans)
    it = ans["mcp_calls"][0]
    check("tool error item", it["output"] is None and "no such key" in it["error"], it)
    check("tool error in answer", "error: no such key: missing" in ans["choices"][0]["message"]["content"], ans)

# 3. JSON answers (enableJsonResponse), allowed_tools narrows what is offered
st, ans = chat('@tool add {"a": 1, "b": 1}', "jtools")
check("json server status", st == 200 and ans["mcp_calls"][0]["output"] == "sum=2", (st, ans))
if st == 200: count_usage(ans)
check("json server record", [c["args"] for c in calls(os.environ["JSONP"])] == [{"a": 1, "b": 1}], "")
st, ans = chat('@tool lookup {"key": "x"}', "jtools")  # not allowed: a client function call, not run
check("disallowed tool not executed", st == 200 and ans["mcp_calls"] == [] and
      ans["choices"][0]["finish_reason"] == "tool_calls", (st, ans))
if st == 200: count_usage(ans)
check("json server record unchanged", len(calls(os.environ["JSONP"])) == 1, "")

# 4. max_tool_calls: two calls asked, one allowed -> nothing executed, stop reported
n_before = len(calls(os.environ["SSE"]))
st, ans = chat('@tool add {"a": 1, "b": 2}\n@tool add {"a": 3, "b": 4}', "tools", max_tool_calls=1)
check("max_tool_calls", st == 200 and ans["mcp_stop"] == "max_tool_calls" and ans["mcp_calls"] == [],
      (st, ans))
if st == 200: count_usage(ans)
check("max_tool_calls executes nothing", len(calls(os.environ["SSE"])) == n_before, "")

# 4b. the same loop over a proxied model (an OpenAI upstream: the second gateway)
st, ans = post({"model": "proxied", "messages": [{"role": "user", "content": '@tool add {"a": 7, "b": 8}'}],
                "tools": [{"type": "mcp", "server_label": "tools"}]})
check("proxied loop", st == 200 and ans["mcp_calls"][0]["output"] == "sum=15" and
      "sum=15" in ans["choices"][0]["message"]["content"], (st, ans))
if st == 200: count_usage(ans)

# 4c. /v1/responses with MCP tools: mcp_call items before the message, whole and streamed
def responses(body, stream=False):
    req = urllib.request.Request(GW + "/v1/responses", json.dumps(dict(body, stream=stream)).encode(),
                                 {"Content-Type": "application/json", "Authorization": "Bearer sk-agent"})
    with urllib.request.urlopen(req, timeout=DEADLINE) as r:
        return r.read().decode() if stream else json.load(r)
n_before = len(calls(os.environ["SSE"]))
rtools = [{"type": "mcp", "server_label": "tools", "require_approval": "never",
           "headers": {"X-Secret": "not echoed"}}]
resp = responses({"model": "sim-chat", "input": '@tool add {"a": 20, "b": 22}\n@tool lookup {"key": "r"}',
                  "tools": rtools})
out = resp["output"]
check("responses status", resp["status"] == "completed", resp)
check("responses list_tools item", out[0]["type"] == "mcp_list_tools" and
      out[0]["server_label"] == "tools" and out[0]["id"].startswith("mcpl_") and
      sorted(t["name"] for t in out[0]["tools"]) == ["add", "lookup"] and
      all(t["input_schema"]["type"] == "object" for t in out[0]["tools"]), out[0])
check("responses items", [(o["type"], o.get("name"), o.get("output")) for o in out[1:3]] ==
      [("mcp_call", "add", "sum=42"), ("mcp_call", "lookup", "value of r")], out)
check("responses message", out[-1]["type"] == "message" and
      "sum=42 | value of r" in out[-1]["content"][0]["text"], out)
check("responses headers not echoed", "headers" not in resp["tools"][0], resp["tools"])
usage["input"] += resp["usage"]["input_tokens"]
usage["output"] += resp["usage"]["output_tokens"]
check("responses server record", [c["args"] for c in calls(os.environ["SSE"])[n_before:]] ==
      [{"a": 20, "b": 22}, {"key": "r"}] or [c["args"] for c in calls(os.environ["SSE"])[n_before:]] ==
      [{"key": "r"}, {"a": 20, "b": 22}], calls(os.environ["SSE"])[n_before:])
# continued by previous_response_id: the model sees the stored mcp_call items (the loop's calls
# and their results: "sum=42" and "value of r", 2 + 3 more prompt tokens than the same
# conversation without them)
cont = responses({"model": "sim-chat", "input": "and now?", "previous_response_id": resp["id"]})
same = responses({"model": "sim-chat", "store": False, "input": [
    {"role": "user", "content": '@tool add {"a": 20, "b": 22}\n@tool lookup {"key": "r"}'},
    {"role": "assistant", "content": out[-1]["content"][0]["text"]},
    {"role": "user", "content": "and now?"}]})
check("continued status", cont["status"] == "completed", cont)
check("continued sees the mcp_call items",
      cont["usage"]["input_tokens"] - same["usage"]["input_tokens"] == 5, (cont["usage"], same["usage"]))
# continued with the same MCP tools: they were listed in the conversation, not listed again
# (the sim calls the first tool, add, with "sim" arguments: the server refuses them, an error)
again = responses({"model": "sim-chat", "input": "again", "previous_response_id": resp["id"],
                   "tools": rtools})
check("continued lists no tools again", [o["type"] for o in again["output"]] == ["mcp_call", "message"]
      and again["output"][0]["error"], again["output"])
# approvals are not run by the gateway: any require_approval but "never" is refused, naming it
for approval in ("always", {"never": {"tool_names": ["add"]}}):
    try:
        responses({"model": "sim-chat", "input": "x", "tools": [
            {"type": "mcp", "server_label": "tools", "require_approval": approval}]})
        bad.append("require_approval %r was accepted" % (approval,))
    except urllib.error.HTTPError as e:
        err = json.load(e)["error"]
        check("require_approval %r refused" % (approval,), e.code == 400 and
              err["type"] == "invalid_request_error" and err["param"] == "tools[0].require_approval"
              and "never" in err["message"], err)
for r in (cont, same, again):
    usage["input"] += r["usage"]["input_tokens"]
    usage["output"] += r["usage"]["output_tokens"]
text = responses({"model": "sim-chat", "input": '@tool add {"a": 1, "b": 2}', "tools": rtools}, stream=True)
events = [json.loads(l[6:]) for l in text.splitlines() if l.startswith("data: ")]
types = [e["type"] for e in events]
check("streamed event order", types[:6] == ["response.created", "response.in_progress",
      "response.output_item.added", "response.output_item.done", "response.output_item.added",
      "response.output_item.done"] and types[-1] == "response.completed", types)
check("streamed sequence numbers", [e["sequence_number"] for e in events] == list(range(len(events))),
      [e.get("sequence_number") for e in events])
check("streamed mcp_list_tools item", events[3]["item"]["type"] == "mcp_list_tools", events[3])
check("streamed mcp_call item", events[5]["item"]["type"] == "mcp_call" and
      events[5]["item"]["output"] == "sum=3", events[5])
done = events[-1]["response"]
usage["input"] += done["usage"]["input_tokens"]
usage["output"] += done["usage"]["output_tokens"]

# 5. a server down when listing -> 424 with a clear error
st, ans = chat('@tool add {"a": 1, "b": 2}', "down")
check("down: 424", st == 424 and ans["error"]["code"] == "mcp_list_tools_failed" and
      "could not be reached" in ans["error"]["message"], (st, ans))
# 6. garbage from the first answer on -> 424 naming it
st, ans = chat('@tool add {"a": 1, "b": 2}', "garbage")
check("garbage: 424", st == 424 and "not JSON" in ans["error"]["message"], (st, ans))
# 7. garbage to tools/call, and a call never answered -> error items (the server's timeout)
st, ans = chat('@tool broken {}\n@tool hang {}', "bad")
check("bad server status", st == 200, (st, ans))
if st == 200:
    count_usage(ans)
    errs = {i["name"]: i["error"] for i in ans["mcp_calls"]}
    check("garbage answer item", "no answer to request" in errs.get("broken", ""), errs)
    check("hang item", "could not be reached" in errs.get("hang", "") and
          "imeout" in errs.get("hang", ""), errs)
# 8. the SDK server stops after its tools were listed: the call is an error item
os.kill(int(sys.argv[1]), signal.SIGTERM)
time.sleep(0.3)
st, ans = chat('@tool add {"a": 5, "b": 5}', "jtools")
check("server gone status", st == 200, (st, ans))
if st == 200:
    count_usage(ans)
    check("server gone item", "could not be reached" in (ans["mcp_calls"][0]["error"] or ""), ans)
# 9. the client hangs up while a tool call waits (its server would take 10 minutes): the call
#    is aborted, the run ends as cancelled, well before that
import http.client
conn = http.client.HTTPConnection(GW.split("//")[1], timeout=1)
conn.request("POST", "/v1/chat/completions", json.dumps({
    "model": "sim-chat", "messages": [{"role": "user", "content": "@tool hang {}"}],
    "tools": [{"type": "mcp", "server_label": "slow"}]}),
    {"Content-Type": "application/json", "Authorization": "Bearer sk-agent"})
try:
    conn.getresponse()
    bad.append("hang-up: the gateway answered a call that never ends")
except OSError:
    pass
conn.close()
# the cancelled run made one model call before its tool call: the key pays it (the sim counts
# a token per 4 bytes of text, rounded up: the prompt in, the arguments "{}" out)
usage["input"] += (len("@tool hang {}") + 3) // 4
usage["output"] += (len("{}") + 3) // 4
# 10. an unknown server label is the client's mistake
st, ans = chat("hi", "nowhere")
check("unknown label 400", st == 400 and ans["error"]["param"] == "tools", (st, ans))
# ... and so is a server URL of its own while the configuration allows none
st, ans = post({"model": "sim-chat", "messages": [{"role": "user", "content": "hi"}],
                "tools": [{"type": "mcp", "server_label": "mine",
                           "server_url": "http://127.0.0.1:%s/mcp" % os.environ["SSE"]}]})
check("request URL refused", st == 400 and "not allowed" in ans["error"]["message"], (st, ans))
# ... and a streamed loop
st, ans = chat("hi", "tools", stream=True)
check("stream refused", st == 400 and ans["error"]["param"] == "stream", (st, ans))

# the metrics agree (MHD may count a request after the answer left: scrape until they do)
def scrape():
    req = urllib.request.Request(GW + "/metrics", headers={"Authorization": "Bearer sk-agent"})
    s = {}
    with urllib.request.urlopen(req, timeout=5) as r:
        for fam in text_string_to_metric_families(r.read().decode()):
            for x in fam.samples:
                s[(x.name, tuple(sorted(x.labels.items())))] = x.value
    return s

def get(s, metric, **labels):
    return s.get((metric, tuple(sorted(labels.items()))), 0.0)

for attempt in range(150):  # at most 15 s: a run left hanging would take 10 minutes
    s = scrape()
    got = {
        "add ok": get(s, "gateway_tool_executions_total", tool="add", status="ok"),
        "add error": get(s, "gateway_tool_executions_total", tool="add", status="error"),
        "lookup ok": get(s, "gateway_tool_executions_total", tool="lookup", status="ok"),
        "lookup error": get(s, "gateway_tool_executions_total", tool="lookup", status="error"),
        "broken error": get(s, "gateway_tool_executions_total", tool="broken", status="error"),
        "hang error": get(s, "gateway_tool_executions_total", tool="hang", status="error"),
        "add durations": get(s, "gateway_tool_duration_seconds_count", tool="add"),
        "execute_tool ops": sum(v for (n, l), v in s.items()
                                if n == "gen_ai_client_operation_duration_seconds_count"
                                and dict(l).get("gen_ai_operation_name") == "execute_tool"),
        "agent ok": get(s, "gateway_agent_executions_total", name="gateway", status="ok"),
        "agent error": get(s, "gateway_agent_executions_total", name="gateway", status="error"),
        "agent cancelled": get(s, "gateway_agent_executions_total", name="gateway",
                               status="cancelled"),
        "key input": get(s, "gateway_key_tokens_total", key="agent", type="input"),
        "key output": get(s, "gateway_key_tokens_total", key="agent", type="output"),
    }
    expected = {"add ok": 5, "add error": 2, "lookup ok": 2, "lookup error": 1, "broken error": 1,
                "hang error": 2, "add durations": 7, "execute_tool ops": 13, "agent ok": 11,
                "agent error": 2, "agent cancelled": 1, "key input": usage["input"], "key output": usage["output"]}
    if got == expected:
        break
    time.sleep(0.1)
for k in expected:
    check("metric " + k, got[k] == expected[k], f"got {got[k]}, want {expected[k]}")
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
PY
# sonde-load's agent workload (what make demo runs): streamed responses with the MCP tools,
# each run calling add once; the SDK server records every call with its arguments. Eight
# clients at once: more runs than the agent workers kept idle (GW_AGENT_IDLE_WORKERS), so
# workers start, serve several runs each, and exit again
before=$(curl -s "http://127.0.0.1:$SSE/calls" | grep -o '"args":{"a":7,"b":8}' | wc -l)
out=$(SONDE_LOAD_KEY=sk-agent "$LOAD" -u "http://127.0.0.1:$PORT/v1" -e responses -c 8 -n 24 -s -q \
  -m sim-chat --tools '[{"type": "mcp", "server_label": "tools", "require_approval": "never"}]' \
  -p "$(printf 'load\n@tool add {"a": 7, "b": 8}')")
echo "$out" | grep -q ' ok=24 errors=0 ' || { tail -20 "$tmp/gw.log"; fail "sonde-load's agent workload: $out"; }
after=$(curl -s "http://127.0.0.1:$SSE/calls" | grep -o '"args":{"a":7,"b":8}' | wc -l)
[ $((after - before)) = 24 ] || fail "sonde-load's runs called add $((after - before)) times, not 24"
# a clean stop: every run ended, nothing leaked (under ASan, LeakSanitizer reports in the log)
kill -TERM "$GW_LAST_PID"
wait "$GW_LAST_PID" || { tail -40 "$tmp/gw.log"; fail "the gateway did not stop cleanly"; }
if grep -q "Sanitizer" "$tmp/gw.log"; then cat "$tmp/gw.log"; fail "sanitizer report"; fi
echo "PASS test_gateway_mcp"
