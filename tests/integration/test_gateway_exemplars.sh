#!/bin/bash
# test_gateway_exemplars.sh - the gateway's GenAI histograms carry exemplars that lead to its
# exported traces. sonde-gateway (demo profile: every request sampled) exports its spans to
# the OTLP receiver of tests/integration/otlp (official OTLP definitions) and serves
# /metrics on its metrics port; Prometheus 2.42 with --enable-feature=exemplar-storage
# scrapes it on loopback while streamed chat requests run. /api/v1/query_exemplars must then
# return exemplars on the GenAI duration buckets (gen_ai_server_request_duration_seconds,
# gen_ai_client_operation_duration_seconds) and the TTFT buckets
# (gen_ai_server_time_to_first_token_seconds) whose trace and span ids are those of GenAI
# spans ("chat sonde-sim") the receiver got once the gateway has flushed at shutdown.
set -euo pipefail
. "$(dirname "$0")/lib/gateway.sh"
py=/usr/bin/python3
command -v node >/dev/null || fail "node is not installed"
command -v prometheus >/dev/null || fail "prometheus is not installed (package prometheus)"
RX_DIR=$SONDE_SRC/tests/integration/otlp
if [ ! -d "$RX_DIR/node_modules/@opentelemetry/otlp-transformer" ]; then
  (cd "$RX_DIR" && npm ci --no-audit --no-fund --silent) || fail "npm ci (otlp receiver)"
fi

RX=$(free_port) API=$(free_port) MPORT=$(free_port) PROM=$(free_port)
node "$RX_DIR/receiver.js" "$RX" "$tmp/rx.out" &
pids+=($!)
RX_PID=$!
for _ in $(seq 100); do [ -f "$tmp/rx.out.ready" ] && break; sleep 0.1; done
[ -f "$tmp/rx.out.ready" ] || fail "receiver did not start"
OTEL_BSP_SCHEDULE_DELAY=200 gw_start gw --port "$API" --metrics-port "$MPORT" --trace-profile demo \
  --otlp-endpoint "http://127.0.0.1:$RX" --access-log off --sim-ttft-ms 20 \
  --sim-inter-token-ms 5 --sim-jitter-ms 2 --sim-output-tokens 6 || fail "start gateway"
GW_PID=$GW_LAST_PID

cat >"$tmp/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: gateway
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
YAML
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
  --enable-feature=exemplar-storage --web.listen-address="127.0.0.1:$PROM" --log.level=warn \
  >"$tmp/prom.log" 2>&1 &
pids+=($!)

# streamed chats (TTFT is recorded for streams), a few each second while Prometheus scrapes
chat() {
  "$py" - "$API" "$1" <<'PY'
import json, sys, urllib.request
port, n = int(sys.argv[1]), int(sys.argv[2])
body = json.dumps({"model": "sonde-sim", "stream": True, "stream_options": {"include_usage": True},
                   "messages": [{"role": "user", "content": "exemplar me"}]}).encode()
for _ in range(n):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions", body,
                                 {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200 and r.read().rstrip().endswith(b"data: [DONE]")
PY
}

FAMILIES="gen_ai_server_request_duration_seconds_bucket gen_ai_client_operation_duration_seconds_bucket gen_ai_server_time_to_first_token_seconds_bucket"
# query_exemplars SERIES -> "family trace span" lines of the stored exemplars
query_exemplars() {
  local now
  now=$(date +%s)
  curl -fsS --max-time 2 "http://127.0.0.1:$PROM/api/v1/query_exemplars?query=$1&start=$((now - 600))&end=$((now + 600))" 2>/dev/null |
    "$py" -c 'import json, sys
for series in json.load(sys.stdin)["data"]:
    for e in series["exemplars"]:
        print(sys.argv[1], e["labels"].get("trace_id"), e["labels"].get("span_id"))' "$1" 2>/dev/null || true
}
got=""
for _ in $(seq 60); do
  chat 3 || fail "chat requests"
  missing=0
  : >"$tmp/exemplars"
  for f in $FAMILIES; do
    query_exemplars "$f" >>"$tmp/exemplars"
    grep -q "^$f " "$tmp/exemplars" || missing=1
  done
  [ $missing = 0 ] && { got=1; break; }
  sleep 1
done
[ -n "$got" ] || fail "Prometheus stored no exemplars for every family: $(cat "$tmp/exemplars") $(tail -5 "$tmp/prom.log")"
kill "$GW_PID"
wait "$GW_PID" || fail "the gateway exited with an error"      # flushed its spans
kill "$RX_PID"
wait "$RX_PID" || true

"$py" - "$tmp/rx.out" "$tmp/exemplars" <<'PY' || fail "exemplars and spans"
import json, sys
genai, traces = set(), set()
for line in open(sys.argv[1]):
    r = json.loads(line)
    assert r["status"] == 200 and "error" not in r, r
    for rs in r["message"].get("resourceSpans", []):
        for ss in rs["scopeSpans"]:
            for s in ss["spans"]:
                traces.add(s["traceId"])
                if s["name"] == "chat sonde-sim":
                    genai.add((s["traceId"], s["spanId"]))
ex = [l.split() for l in open(sys.argv[2])]
assert ex, "no exemplars"
for family, trace, span in ex:
    assert trace in traces, (family, trace, "not among the exported traces")
    assert (trace, span) in genai, (family, trace, span, "not a GenAI span the receiver got")
print("ok: %d exemplars, %d GenAI spans" % (len(ex), len(genai)))
PY
echo "1 passed, 0 failed"
