#!/bin/bash
# sonde-gateway's Responses API and agent loop benchmarks (usage: bench/responses.sh BUILD_DIR),
# one client, whole answers, a sim answering at once (one output token), p50 of 2000 calls:
#   BENCH responses_overhead_ms   what a /v1/responses call adds over the same chat completion
#                                 through the same gateway (translation both ways, the response
#                                 stored in the default in-memory SQLite store), target <= 0.1.
#   BENCH agent_step_overhead_ms  what the gateway adds per step of its agent loop: a response
#                                 whose MCP tool the sim calls once (model call, tools/call,
#                                 model call) minus the plain response and minus the MCP server's
#                                 own tools/call round trip, measured by curl on a kept
#                                 connection of one session against the same server (the
#                                 official MCP SDK's, tests/integration/mcp/server.mjs, answering
#                                 JSON at once), target <= 0.5. The server answers slower when
#                                 calls are spaced than back to back (node's event loop and the
#                                 CPU it shares cool down between calls), so the direct calls
#                                 are paced at the agent run's cadence (curl --rate, one call per
#                                 agent p50, as the run makes one per response) and measured
#                                 right before and right after the agent window, the mean of the
#                                 two p50s subtracted. The back-to-back p50, printed on the stderr
#                                 line for comparison, is taken first: the server's first
#                                 thousands of calls are slower (warming up), which would
#                                 otherwise weigh on the paced window before the agent's.
set -euo pipefail
build=${1:-build-bench}
build=$(cd "$build" && pwd)
GW=$build/sonde-gateway
LOAD=$build/sonde-load
[ -x "$GW" ] && [ -x "$LOAD" ] || { echo "bench/responses.sh: build $build first" >&2; exit 1; }
command -v node >/dev/null || { echo "bench/responses.sh: node is missing" >&2; exit 1; }
. "$(dirname "$0")/../tests/integration/lib/procs.sh"
MCP_DIR=$(cd "$(dirname "$0")/../tests/integration/mcp" && pwd)
if [ ! -d "$MCP_DIR/node_modules/@modelcontextprotocol/sdk" ]; then
  (cd "$MCP_DIR" && npm ci --no-audit --no-fund --silent) || { echo "bench/responses.sh: npm ci" >&2; exit 1; }
fi
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
N=2000

mcp=$(free_port); gw=$(free_port)
node "$MCP_DIR/server.mjs" "$mcp" json >"$tmp/mcp.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$mcp/calls" && break; sleep 0.05; done
cat >"$tmp/gw.json" <<JSON
{"tools": ["add"], "mcp": {"servers": [{"name": "bench", "url": "http://127.0.0.1:$mcp/mcp"}]}}
JSON
"$GW" --port "$gw" --address 127.0.0.1 --config "$tmp/gw.json" --sim-ttft-ms 0 \
  --sim-inter-token-ms 0 --sim-jitter-ms 0 --sim-output-tokens 1 >"$tmp/gw.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$gw/health" >/dev/null && break; sleep 0.05; done
curl -sf "http://127.0.0.1:$gw/health" >/dev/null || { cat "$tmp/gw.log" >&2; exit 1; }

# run COUNT E2E_ARGS...: the end-to-end p50 (ms) of COUNT calls; every call must succeed
run() {
  local count=$1 out
  shift
  out=$("$LOAD" -u "http://127.0.0.1:$gw/v1" -c 1 -n "$count" -S -q "$@" | tail -1)
  [ "$(echo "$out" | field ok)" = "$count" ] || { echo "bench/responses.sh: failures: $out" >&2; exit 1; }
  echo "$out" | field e2e_p50_ms
}
# p50 E2E_ARGS...: the p50 of N calls after 200 to warm up
p50() {
  run 200 "$@" >/dev/null
  run "$N" "$@"
}
tools='[{"type": "mcp", "server_label": "bench", "require_approval": "never"}]'
agent_args=(-e responses --tools "$tools" -p "$(printf 'step\n@tool add {"a": 1, "b": 2}')")
chat=$(p50 -e chat)
responses=$(p50 -e responses)

# the MCP server's own tools/call round trip: one session, calls on one kept connection
mcp_url="http://127.0.0.1:$mcp/mcp"
hdr=(-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream')
sid=$(curl -s -D - -o /dev/null "${hdr[@]}" "$mcp_url" -d '{"jsonrpc": "2.0", "id": 1,
  "method": "initialize", "params": {"protocolVersion": "2025-03-26", "capabilities": {},
  "clientInfo": {"name": "bench", "version": "1"}}}' | tr -d '\r' | sed -n 's/^mcp-session-id: //Ip')
[ -n "$sid" ] || { echo "bench/responses.sh: no MCP session" >&2; exit 1; }
hdr+=(-H "Mcp-Session-Id: $sid" -H 'MCP-Protocol-Version: 2025-03-26')
curl -s -o /dev/null "${hdr[@]}" "$mcp_url" -d '{"jsonrpc": "2.0", "method": "notifications/initialized"}'
call='{"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 1, "b": 2}}}'
urls=()
for _ in $(seq 1 $((N + 200))); do urls+=("$mcp_url" -o /dev/null); done
# direct [RATE]: the p50 (ms) of N tools/call after 200 to warm up, back to back or paced
# at curl's --rate RATE (e.g. 580/s); every call must succeed
direct() {
  local pace=()
  [ -z "${1:-}" ] || pace=(--rate "$1")
  curl -s "${pace[@]}" -w '%{http_code} %{time_total}\n' "${hdr[@]}" -d "$call" "${urls[@]}" >"$tmp/direct"
  [ "$(grep -c '^200 ' "$tmp/direct")" = $((N + 200)) ] || { echo "bench/responses.sh: direct tools/call failed" >&2; exit 1; }
  tail -n "$N" "$tmp/direct" | awk '{ print $2 * 1000 }' | sort -g | awk -v n="$N" 'NR == int((n + 1) / 2) { print }'
}
# calls per second at one per agent response of p50 P ms
cadence() { awk -v p="$1" 'BEGIN { printf "%d/s\n", 1000 / p + 0.5 }'; }

b2b=$(direct)
warm=$(run 200 "${agent_args[@]}")
before=$(direct "$(cadence "$warm")")
agent=$(run "$N" "${agent_args[@]}")
after=$(direct "$(cadence "$agent")")
executed=$(curl -s "http://127.0.0.1:$gw/metrics" |
  sed -n 's/^gateway_tool_executions_total{tool="add",status="ok"} \([0-9]*\).*/\1/p')
[ "$executed" = $((N + 200)) ] || { echo "bench/responses.sh: $executed tool executions, not $((N + 200))" >&2; exit 1; }

/usr/bin/python3 - "$chat" "$responses" "$agent" "$before" "$after" "$b2b" "$(cadence "$agent")" <<'PY'
import sys
chat, responses, agent, before, after, b2b = map(float, sys.argv[1:7])
direct = (before + after) / 2
print("BENCH responses_overhead_ms %.3f" % max(0.0, responses - chat))
print("BENCH agent_step_overhead_ms %.3f" % max(0.0, agent - responses - direct))
print(f"bench/responses.sh: p50 ms chat {chat:.3f} responses {responses:.3f} agent (1 step) "
      f"{agent:.3f} MCP tools/call direct at {sys.argv[7]} {direct:.3f} (before {before:.3f} "
      f"after {after:.3f}) back to back {b2b:.3f}", file=sys.stderr)
PY
