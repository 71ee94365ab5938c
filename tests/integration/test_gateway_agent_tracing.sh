#!/bin/bash
# test_gateway_agent_tracing.sh - the spans of sonde-gateway's agent loop. A gateway tracing
# every request (--trace-profile demo) runs /v1/responses whose MCP tools live on the MCP
# SDK server of tests/integration/mcp (streamable HTTP, SSE answers) and on its misbehaving
# server (mcp/bad_server.py: "broken" answers garbage); the sim calls them
# ("@tool" lines). It exports at shutdown to the OTLP receiver of tests/integration/otlp
# (the official OTLP definitions decode what it sends). Asserted, per response: one trace,
# rooted at the SERVER span "POST /v1/responses"; one INTERNAL "invoke_agent gateway" span
# under it; under that, one CLIENT "chat sonde-sim" span per model call (two: the call that
# asks for the tools, the one that answers) and one INTERNAL "execute_tool NAME" span per
# tool execution, with the GenAI attributes docs/tracing.md lists; a tool that fails (a
# tool error: tool_error; garbage from the server: mcp_error) is an execute_tool span with
# status ERROR and that error.type, and its run still answers; a response without MCP tools has no agent span.
set -euo pipefail
. "$(dirname "$0")/lib/gateway.sh"
command -v node >/dev/null || fail "node is not installed"
RX_DIR=$SONDE_SRC/tests/integration/otlp
MCP_DIR=$SONDE_SRC/tests/integration/mcp
if [ ! -d "$RX_DIR/node_modules/@opentelemetry/otlp-transformer" ]; then
  (cd "$RX_DIR" && npm ci --no-audit --no-fund --silent) || fail "npm ci (otlp receiver)"
fi
if [ ! -d "$MCP_DIR/node_modules/@modelcontextprotocol/sdk" ]; then
  (cd "$MCP_DIR" && npm ci --no-audit --no-fund --silent) || fail "npm ci (MCP SDK server)"
fi

RX=$(free_port); MCP=$(free_port); BAD=$(free_port); PORT=$(free_port)
node "$RX_DIR/receiver.js" "$RX" "$tmp/rx.out" & pids+=($!); RX_PID=$!
node "$MCP_DIR/server.mjs" "$MCP" >"$tmp/mcp.log" 2>&1 & pids+=($!)
/usr/bin/python3 "$MCP_DIR/bad_server.py" "$BAD" >"$tmp/bad.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do [ -f "$tmp/rx.out.ready" ] && break; sleep 0.1; done
[ -f "$tmp/rx.out.ready" ] || fail "the receiver did not start"
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$MCP/calls" && break; sleep 0.1; done
curl -s -o /dev/null "http://127.0.0.1:$MCP/calls" || fail "the MCP server did not start"
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$BAD/" && break; sleep 0.1; done

cat >"$tmp/gw.json" <<JSON
{"upstreams": {"sim": {"ttft_ms": 0, "inter_token_ms": 0, "jitter_ms": 0, "output_tokens": 4}},
 "models": {"sonde-sim": {"upstream": "sim"}},
 "tools": ["add", "lookup", "broken"],
 "mcp": {"servers": [{"name": "tools", "url": "http://127.0.0.1:$MCP/mcp"},
                     {"name": "bad", "url": "http://127.0.0.1:$BAD/mcp"}]},
 "telemetry": {"service_name": "gw-agent"}}
JSON
OTEL_BSP_SCHEDULE_DELAY=60000 OTEL_BLRP_SCHEDULE_DELAY=60000 \
  gw_start gw --port "$PORT" --config "$tmp/gw.json" --trace-profile demo \
  --otlp-endpoint "http://127.0.0.1:$RX" || fail "start"
GW_PID=$GW_LAST_PID

# respond NAME BODY: POST /v1/responses, the answer in $tmp/NAME.json (each one must be a 200)
respond() {
  curl -sf -m 20 -o "$tmp/$1.json" -H 'Content-Type: application/json' -d "$2" \
    "http://127.0.0.1:$PORT/v1/responses" || fail "response $1"
}
mcp='[{"type": "mcp", "server_label": "tools", "require_approval": "never"}]'
mcp2='[{"type": "mcp", "server_label": "tools", "require_approval": "never"},
       {"type": "mcp", "server_label": "bad", "require_approval": "never"}]'
respond two "{\"model\": \"sonde-sim\", \"tools\": $mcp,
  \"input\": \"two tools\\n@tool add {\\\"a\\\": 2, \\\"b\\\": 40}\\n@tool lookup {\\\"key\\\": \\\"k1\\\"}\"}"
respond failing "{\"model\": \"sonde-sim\", \"tools\": $mcp,
  \"input\": \"a tool error\\n@tool lookup {\\\"key\\\": \\\"missing\\\"}\"}"
respond streamed "{\"model\": \"sonde-sim\", \"tools\": $mcp, \"stream\": true,
  \"input\": \"streamed\\n@tool add {\\\"a\\\": 1, \\\"b\\\": 1}\"}"
respond garbage "{\"model\": \"sonde-sim\", \"tools\": $mcp2,
  \"input\": \"garbage\n@tool add {\\\"a\\\": 3, \\\"b\\\": 4}\n@tool broken {}\"}"
respond plain '{"model": "sonde-sim", "input": "no tools"}'
kill "$GW_PID"
wait "$GW_PID" || fail "the gateway exited with an error"
kill "$RX_PID"
wait "$RX_PID" || true

/usr/bin/python3 - "$tmp" <<'PY' || { tail -20 "$tmp/gw.log"; fail "agent spans"; }
import json, os, sys
tmp = sys.argv[1]
spans = []
for line in open(os.path.join(tmp, "rx.out")):
    r = json.loads(line)
    assert r["status"] == 200 and "error" not in r, r
    for rs in r["message"].get("resourceSpans", []):
        for ss in rs["scopeSpans"]:
            for s in ss["spans"]:
                s["attrs"] = {a["key"]: list(a["value"].values())[0] for a in s.get("attributes", [])}
                spans.append(s)
answers = {n: json.load(open(os.path.join(tmp, n + ".json"))) if n != "streamed" else None
           for n in ("two", "failing", "streamed", "garbage", "plain")}
servers = [s for s in spans if s["kind"] == 2 and s["name"] == "POST /v1/responses"]
assert len(servers) == 5, [s["name"] for s in spans]
# one trace per response, each rooted at its SERVER span
assert len({s["traceId"] for s in servers}) == 5
for s in servers:
    assert "parentSpanId" not in s, s

def trace_of(tools):
    """the trace whose execute_tool spans name exactly these tools (sorted)"""
    found = []
    for srv in servers:
        t = [s for s in spans if s["traceId"] == srv["traceId"]]
        names = sorted(s["attrs"].get("gen_ai.tool.name") for s in t
                       if s["attrs"].get("gen_ai.operation.name") == "execute_tool")
        if names == tools:
            found.append((srv, t))
    return found

def status_code(s):
    return (s.get("status") or {}).get("code", 0)

def check_run(srv, t, tools, failed=()):
    agents = [s for s in t if s["name"] == "invoke_agent gateway"]
    assert len(agents) == 1, [s["name"] for s in t]
    agent = agents[0]
    assert agent["kind"] == 1 and agent["parentSpanId"] == srv["spanId"], agent
    a = agent["attrs"]
    assert a["gen_ai.operation.name"] == "invoke_agent" and a["gen_ai.agent.name"] == "gateway", a
    assert a["gen_ai.request.model"] == "sonde-sim", a
    assert status_code(agent) != 2, agent                      # the run answered
    chats = [s for s in t if s["name"] == "chat sonde-sim"]
    assert len(chats) == 2, [s["name"] for s in t]             # ask for the tools, answer
    for c in chats:
        assert c["kind"] == 3 and c["parentSpanId"] == agent["spanId"], c
        assert c["attrs"]["gen_ai.operation.name"] == "chat", c
        assert c["attrs"]["gen_ai.request.model"] == "sonde-sim", c
        assert int(c["attrs"]["gen_ai.usage.output_tokens"]) >= 1, c
    reasons = sorted(c["attrs"]["gen_ai.response.finish_reasons"] for c in chats)
    assert reasons == ["stop", "tool_calls"], reasons
    execs = [s for s in t if s["attrs"].get("gen_ai.operation.name") == "execute_tool"]
    assert len(execs) == len(tools), execs
    for x in execs:
        name = x["attrs"]["gen_ai.tool.name"]
        assert x["name"] == "execute_tool " + name and x["kind"] == 1, x
        assert x["parentSpanId"] == agent["spanId"], x
        if name in failed:
            assert status_code(x) == 2, x
            assert x["attrs"]["error.type"] == failed[name], x
        else:
            assert status_code(x) != 2 and "error.type" not in x["attrs"], x
    # nothing else in the trace: the SERVER span, the run, its calls and tools
    assert len(t) == 2 + len(chats) + len(execs), [s["name"] for s in t]

runs = trace_of(["add", "lookup"])
assert len(runs) == 1, runs
check_run(*runs[0], ["add", "lookup"])
runs = trace_of(["lookup"])
assert len(runs) == 1, runs
check_run(*runs[0], ["lookup"], failed={"lookup": "tool_error"})
runs = trace_of(["add"])
assert len(runs) == 1, runs
check_run(*runs[0], ["add"])
runs = trace_of(["add", "broken"])
assert len(runs) == 1, runs
check_run(*runs[0], ["add", "broken"], failed={"broken": "mcp_error"})
# the response without MCP tools: a SERVER span and its one chat call, no agent span
plain = trace_of([])
assert len(plain) == 1, plain
srv, t = plain[0]
assert [s["name"] for s in t if s is not srv] == ["chat sonde-sim"], [s["name"] for s in t]
assert t[[s["name"] for s in t].index("chat sonde-sim")]["parentSpanId"] == srv["spanId"]
# the answers agree: the failing run carries an mcp_call item with its error
items = answers["failing"]["output"]
assert [i["type"] for i in items] == ["mcp_list_tools", "mcp_call", "message"], items
assert "no such key" in items[1]["error"], items[1]
items = answers["garbage"]["output"]
assert [(i["type"], i["server_label"]) for i in items[:2]] == [("mcp_list_tools", "tools"),
                                                             ("mcp_list_tools", "bad")], items
assert [(i["type"], i["name"]) for i in items[2:4]] == [("mcp_call", "add"), ("mcp_call", "broken")]
assert items[2]["output"] == "sum=7" and items[3]["error"], items
print("ok")
PY
echo "PASS test_gateway_agent_tracing"
