#!/bin/sh
# make demo: start sonde-gateway on its simulated model, drive it with
# sonde-load, and show every 2 s a summary computed from the gateway's own
# /metrics (requests/s, TTFT p50/p95, tokens/s, errors, streams in flight).
# An agent workload runs next to the chat streams: an MCP server (the one of
# tests/integration/mcp, built with the official MCP TypeScript SDK; its npm
# packages installed when missing) on a free loopback port, configured in the
# gateway as "demo", and sonde-load clients sending streamed /v1/responses
# whose MCP tools the sim is told to call ("@tool" lines): the gateway runs the
# loop, and the summary adds agent runs, tool executions, tool errors (one
# client asks for a key the server does not have) and the tools' p50 duration.
# It prints the URL of the gateway's console (/console/, docs/console.md), live while
# it runs.
# TTFT comes from the native histogram (a protobuf scrape decoded by
# scripts/native_quantile.py) when the gateway has one, else from the classic
# buckets of the text scrape; the line says which. The sim answers its first
# token after 200 ms +- 5, so the native p50 reads about 200 ms (the classic
# buckets 0.1 and 0.25 would say 175). Ctrl-C stops everything. When stdin is not a
# terminal, or DEMO_SECONDS is set, it runs that long (default 10 s) and exits 0.
# Env: DEMO_PORT (default 8080, the next free one when taken), DEMO_CLIENTS (50),
# DEMO_AGENT_CLIENTS (5; 0: no agent workload, no MCP server), BUILD (build
# directory, default ./build).
set -eu
BUILD=${BUILD:-build}
GW=$BUILD/sonde-gateway
LOAD=$BUILD/sonde-load
[ -x "$GW" ] && [ -x "$LOAD" ] || { echo "demo: build first (make build)" >&2; exit 1; }
PORT=${DEMO_PORT:-8080}
while curl -s -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null; do  # taken: try the next
  PORT=$((PORT + 1))
done
CLIENTS=${DEMO_CLIENTS:-50}
AGENT_CLIENTS=${DEMO_AGENT_CLIENTS:-5}
MCP_DIR=$(cd "$(dirname "$0")/../tests/integration/mcp" && pwd)
# free_port: a loopback port nobody listens on, above the gateway's
free_port() {
  p=$((PORT + 1000 + $$ % 1000))
  while curl -s -o /dev/null "http://127.0.0.1:$p/" 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}
if [ -n "${DEMO_SECONDS:-}" ]; then SECONDS_LEFT=$DEMO_SECONDS
elif [ ! -t 0 ]; then SECONDS_LEFT=10
else SECONDS_LEFT=""; fi

tmp=$(mktemp -d)
gw_pid=""; load_pid=""; agent_pids=""; mcp_pid=""
stop() {
  trap - INT TERM EXIT
  for p in $load_pid $agent_pids; do kill "$p" 2>/dev/null || true; done
  [ -n "$gw_pid" ] && kill "$gw_pid" 2>/dev/null || true
  [ -n "$mcp_pid" ] && kill "$mcp_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

# the agent workload's MCP server, and the gateway's configuration naming it
echo '{}' >"$tmp/gateway.json"
if [ "$AGENT_CLIENTS" -gt 0 ]; then
  command -v node >/dev/null || { echo "demo: node is missing (DEMO_AGENT_CLIENTS=0 runs without the agent workload)" >&2; exit 1; }
  if [ ! -d "$MCP_DIR/node_modules/@modelcontextprotocol/sdk" ]; then
    (cd "$MCP_DIR" && npm ci --no-audit --no-fund --silent) || { echo "demo: npm ci in $MCP_DIR failed" >&2; exit 1; }
  fi
  MCP_PORT=$(free_port)
  node "$MCP_DIR/server.mjs" "$MCP_PORT" >"$tmp/mcp.log" 2>&1 &
  mcp_pid=$!
  i=0
  until curl -s -o /dev/null "http://127.0.0.1:$MCP_PORT/calls" 2>/dev/null; do
    i=$((i + 1))
    [ $i -gt 100 ] && { echo "demo: the MCP server did not start:" >&2; cat "$tmp/mcp.log" >&2; exit 1; }
    sleep 0.1
  done
  cat >"$tmp/gateway.json" <<JSON
{"tools": ["add", "lookup"],
 "mcp": {"servers": [{"name": "demo", "url": "http://127.0.0.1:$MCP_PORT/mcp"}]}}
JSON
fi
"$GW" --port "$PORT" --address 127.0.0.1 --config "$tmp/gateway.json" --sim-ttft-ms 200 \
  --sim-inter-token-ms 20 --sim-jitter-ms 5 --sim-output-tokens 48 --sim-error-rate 0.02 \
  --trace-profile demo >"$tmp/gateway.log" 2>&1 &
gw_pid=$!
i=0
until curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; do
  i=$((i + 1))
  [ $i -gt 100 ] && { echo "demo: the gateway did not start:" >&2; cat "$tmp/gateway.log" >&2; exit 1; }
  sleep 0.1
done
"$LOAD" -u "http://127.0.0.1:$PORT/v1" -c "$CLIENTS" -d 86400 -s -q >"$tmp/load.log" 2>&1 &
load_pid=$!
if [ "$AGENT_CLIENTS" -gt 0 ]; then
  # each response: the sim calls both tools at once, the gateway runs them, the sim answers;
  # one more client's lookup finds nothing (a tool error, an "error" mcp_call item)
  mcp_tools='[{"type": "mcp", "server_label": "demo", "require_approval": "never"}]'
  "$LOAD" -u "http://127.0.0.1:$PORT/v1" -e responses -c "$AGENT_CLIENTS" -d 86400 -s -q --tools "$mcp_tools" \
    -p "$(printf 'Add and look up.\n@tool add {"a": 2, "b": 40}\n@tool lookup {"key": "k1"}')" \
    >"$tmp/agent.log" 2>&1 &
  agent_pids=$!
  "$LOAD" -u "http://127.0.0.1:$PORT/v1" -e responses -c 1 -d 86400 -s -q --tools "$mcp_tools" \
    -p "$(printf 'Look up what is not there.\n@tool lookup {"key": "missing"}')" \
    >"$tmp/agent-errors.log" 2>&1 &
  agent_pids="$agent_pids $!"
fi

echo "sonde-gateway is running on its simulated model, $CLIENTS sonde-load clients streaming."
[ "$AGENT_CLIENTS" -gt 0 ] &&
  echo "  agents   $((AGENT_CLIENTS + 1)) clients streaming /v1/responses with the MCP tools of http://127.0.0.1:$MCP_PORT/mcp"
echo "  API      http://127.0.0.1:$PORT/v1   (try: curl http://127.0.0.1:$PORT/v1/models)"
echo "  console  http://127.0.0.1:$PORT/console/   (live overview, metrics explorer, traces, logs, alerts)"
echo "  metrics  http://127.0.0.1:$PORT/metrics"
echo "  health   http://127.0.0.1:$PORT/health   ready http://127.0.0.1:$PORT/ready"
echo "  traces   every request sampled (--trace-profile demo); exported when OTEL_EXPORTER_OTLP_ENDPOINT is set"
[ -z "$SECONDS_LEFT" ] && echo "Ctrl-C stops it all."
echo

# summary PREV CUR DT: one block of figures from two scrapes DT seconds apart
summary() {
  nt=$(native_q "$1.pb" "$2.pb" gen_ai_server_time_to_first_token_seconds)
  ntool=$(native_q "$1.pb" "$2.pb" gateway_tool_duration_seconds)
  awk -v dt="$3" -v kind="${nt%%|*}" -v native="${nt#*|}" -v tkind="${ntool%%|*}" \
      -v tnative="${ntool#*|}" -v agents="$AGENT_CLIENTS" '
    function labels(s,   l) { l = s; sub(/^[^{]*\{/, "", l); sub(/\}.*$/, "", l); return l }
    function le(s,   v) { v = s; sub(/.*le="/, "", v); sub(/".*/, "", v); return v }
    # classic buckets of family h, summed over its series: bucket[h, scrape, le]
    function keep(h, s, v,   b) {
      b = le(s); bucket[h, f, b] += v
      if (!((h, b) in seen)) { seen[h, b] = 1; bounds[h, ++nb[h]] = b }
    }
    FNR == 1 { f++ }
    /^#/ { next }
    {
      name = $1; sub(/\{.*/, "", name); v = $NF
      if (name == "http_requests_total" && $1 ~ /route="\/v1\//) req[f] += v
      else if (name == "gateway_tokens_total" && $1 ~ /type="output"/) tok[f] += v
      else if (name == "gateway_provider_calls_total" && $1 !~ /status="ok"/) err[f] += v
      else if (name == "gateway_streams_in_flight") streams[f] += v
      else if (name == "gen_ai_server_time_to_first_token_seconds_bucket") keep("ttft", $1, v)
      else if (name == "gateway_tool_duration_seconds_bucket") keep("tool", $1, v)
      else if (name == "gateway_tool_executions_total") {
        tools[f] += v; if ($1 !~ /status="ok"/) tool_err[f] += v
      } else if (name == "gateway_agent_executions_total") {
        runs[f] += v; if ($1 !~ /status="ok"/) run_err[f] += v
      }
    }
    function tp50(s) { sub(/ +p95.*/, "", s); sub(/^p50 /, "", s); return s }
    function num(b) { return b == "+Inf" ? 1e300 : b + 0 }
    # the p quantile of family h between the two scrapes, interpolated like histogram_quantile()
    function q(h, p,   i, j, n, t, total, prev, lo, c, rank, x) {
      n = nb[h]
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
        if (num(bounds[h, j]) < num(bounds[h, i])) { t = bounds[h, i]; bounds[h, i] = bounds[h, j]; bounds[h, j] = t }
      total = bucket[h, 2, "+Inf"] - bucket[h, 1, "+Inf"]
      if (total <= 0) return "-"
      rank = p * total; prev = 0; lo = 0
      for (i = 1; i <= n; i++) {
        c = bucket[h, 2, bounds[h, i]] - bucket[h, 1, bounds[h, i]]
        if (c >= rank) {
          if (bounds[h, i] == "+Inf") return sprintf(">%s s", lo)
          x = lo + (bounds[h, i] - lo) * (c == prev ? 1 : (rank - prev) / (c - prev))
          return sprintf("%.0f ms", x * 1000)
        }
        prev = c; lo = bounds[h, i]
      }
      return "-"
    }
    END {
      printf "requests/s %8.1f   tokens/s %9.1f   errors %6d (+%d)   streams in flight %5d\n",
        (req[2] - req[1]) / dt, (tok[2] - tok[1]) / dt, err[2], err[2] - err[1], streams[2]
      if (native != "") printf "TTFT (last %ss, %s) %s\n", dt, kind, native
      else printf "TTFT (last %ss, classic buckets) p50 %s   p95 %s\n", dt, q("ttft", 0.5), q("ttft", 0.95)
      if (agents > 0)
        printf "agent runs %6d (+%d, errors %d)   tool executions %6d (+%d)   tool errors %5d (+%d)   tool p50 %s\n",
          runs[2], runs[2] - runs[1], run_err[2], tools[2], tools[2] - tools[1], tool_err[2],
          tool_err[2] - tool_err[1], tnative != "" ? tp50(tnative) " (" tkind ")" : q("tool", 0.5) " (classic buckets)"
    }' "$1" "$2"
}

# native_q PREV.pb CUR.pb FAMILY: "KIND|p50 N ms   p95 N ms" from the family's native
# histogram, or nothing
pb_accept='application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited'
native_q() {
  python3 "$(dirname "$0")/native_quantile.py" "$1" "$2" "$3" 0.5 0.95 \
    2>/dev/null | awk 'NR == 1 { if ($1 != "schema" || $4 == 0) exit; kind = "native histogram, schema " $2; next }
      { v[NR] = ($1 == "-") ? "-" : sprintf("%.0f ms", $1 * 1000) }
      END { if (kind != "") printf "%s|p50 %s   p95 %s", kind, v[2], v[3] }'
}

curl -s "http://127.0.0.1:$PORT/metrics" >"$tmp/prev"
curl -s -H "Accept: $pb_accept" "http://127.0.0.1:$PORT/metrics" >"$tmp/prev.pb"
start=$(date +%s)
lines=2  # the summary's lines, which a terminal redraws in place
[ "$AGENT_CLIENTS" -gt 0 ] && lines=3
if [ -t 1 ] && [ -z "$SECONDS_LEFT" ]; then  # as many lines as a summary, for the first redraw
  echo "waiting for the first figures..."
  i=1; while [ $i -lt $lines ]; do echo; i=$((i + 1)); done
fi
while :; do
  sleep 2
  curl -s "http://127.0.0.1:$PORT/metrics" >"$tmp/cur" || { echo "demo: the gateway stopped" >&2; exit 1; }
  curl -s -H "Accept: $pb_accept" "http://127.0.0.1:$PORT/metrics" >"$tmp/cur.pb" || true
  out=$(summary "$tmp/prev" "$tmp/cur" 2)
  if [ -t 1 ] && [ -z "$SECONDS_LEFT" ]; then
    printf '\033[%dA\033[J%s\n' "$lines" "$out"
  else
    printf '%s\n' "$out"
  fi
  mv "$tmp/cur" "$tmp/prev"
  mv "$tmp/cur.pb" "$tmp/prev.pb"
  if [ -n "$SECONDS_LEFT" ] && [ $(( $(date +%s) - start )) -ge "$SECONDS_LEFT" ]; then
    break
  fi
done
echo "demo: done after ${SECONDS_LEFT}s"
exit 0
