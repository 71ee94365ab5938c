#!/bin/bash
# test_gateway_otlp_faults.sh - sonde-gateway keeps answering whatever its OTLP receiver does.
# The transport's own answers to 503-then-200 (retried, nothing lost), 400 (dropped, counted,
# logged once) and partial successes are test_otlp_export.sh's; here the gateway is the host:
#  1. receiver down: 100 requests are all answered within a per-request deadline, the span
#     queue stays bounded (drops counted in sonde_spans_dropped_total{reason="queue_full"} on
#     /metrics, nothing exported), the failures are JSON diagnostic lines, every request still
#     has its access-log line, and SIGTERM ends the gateway within a deadline.
#  2. receiver slow (each answer 20 s late): 50 requests are all answered within a
#     per-request deadline while the first export is still held by the receiver (it has seen
#     one traces export and at most one logs export when they are done).
set -euo pipefail
. "$(dirname "$0")/lib/gateway.sh"
command -v node >/dev/null || fail "node is not installed"
RX_DIR=$SONDE_SRC/tests/integration/otlp
if [ ! -d "$RX_DIR/node_modules/@opentelemetry/otlp-transformer" ]; then
  (cd "$RX_DIR" && npm ci --no-audit --no-fund --silent) || fail "npm ci (otlp receiver)"
fi
SIM=(--sim-ttft-ms 1 --sim-inter-token-ms 1 --sim-jitter-ms 0 --sim-output-tokens 2 --trace-ratio 1)

# burst PORT N: N chat requests one after the other, each answered 200 within 5 s
burst() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys, urllib.request
port, n = int(sys.argv[1]), int(sys.argv[2])
body = json.dumps({"model": "sonde-sim", "messages": [{"role": "user", "content": "hi"}]}).encode()
for i in range(n):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions", body,
                                 {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:   # a blocked host would miss this
        assert r.status == 200, r.status
PY
}

# 1. receiver down
DOWN=$(free_port) P1=$(free_port)
OTEL_BSP_MAX_QUEUE_SIZE=8 OTEL_BSP_MAX_EXPORT_BATCH_SIZE=4 OTEL_BSP_SCHEDULE_DELAY=50 \
OTEL_BLRP_MAX_QUEUE_SIZE=8 OTEL_BLRP_MAX_EXPORT_BATCH_SIZE=4 OTEL_BLRP_SCHEDULE_DELAY=50 \
OTEL_EXPORTER_OTLP_TIMEOUT=5000 \
  gw_start down --port "$P1" "${SIM[@]}" --otlp-endpoint "http://127.0.0.1:$DOWN" \
  --access-log "$tmp/down.access" || fail "start (receiver down)"
DOWN_PID=$GW_LAST_PID
burst "$P1" 100 || fail "requests with the receiver down"
curl -sf "http://127.0.0.1:$P1/metrics" >"$tmp/down.metrics" || fail "/metrics"
kill "$DOWN_PID"
timeout 60 tail --pid="$DOWN_PID" -f /dev/null || fail "the gateway did not stop within 60 s"
/usr/bin/python3 - "$tmp/down.metrics" "$tmp/down.access" "$tmp/down.log" <<'PY' || fail "receiver down"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
v = {}
for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in fam.samples:
        v[(s.name, s.labels.get("reason"))] = s.value
assert v[("sonde_spans_dropped_total", "queue_full")] > 0, v
assert v[("sonde_spans_exported_total", None)] == 0, v
lines = [json.loads(l) for l in open(sys.argv[2])]
assert len([l for l in lines if l["fields"]["route"] == "/v1/chat/completions"]) == 100, len(lines)
diag = [json.loads(l) for l in open(sys.argv[3]) if l.startswith("{")]
failed = [d for d in diag if d["msg"].startswith("OTLP export") and d["level"] == "error"]
assert failed and all(d["fields"]["endpoint"].startswith("http://127.0.0.1:") for d in failed), diag
PY

# 2. receiver slow: the first export is held 20 s
RX=$(free_port) P2=$(free_port)
node "$RX_DIR/receiver.js" "$RX" "$tmp/slow.out" "" "" 20000 &
pids+=($!)
RX_PID=$!
for _ in $(seq 100); do [ -f "$tmp/slow.out.ready" ] && break; sleep 0.1; done
[ -f "$tmp/slow.out.ready" ] || fail "receiver did not start"
OTEL_BSP_SCHEDULE_DELAY=50 OTEL_BLRP_SCHEDULE_DELAY=50 OTEL_BSP_EXPORT_TIMEOUT=30000 \
OTEL_BLRP_EXPORT_TIMEOUT=30000 OTEL_EXPORTER_OTLP_TIMEOUT=30000 \
  gw_start slow --port "$P2" "${SIM[@]}" --otlp-endpoint "http://127.0.0.1:$RX" \
  --access-log off || fail "start (slow receiver)"
SLOW_PID=$GW_LAST_PID
for _ in $(seq 100); do [ -s "$tmp/slow.out" ] && break; sleep 0.1; done   # an export is held
burst "$P2" 50 || fail "requests with a slow receiver"
/usr/bin/python3 - "$tmp/slow.out" <<'PY' || fail "slow receiver"
import json, sys
paths = [json.loads(l)["path"] for l in open(sys.argv[1])]
assert paths.count("/v1/traces") == 1 and paths.count("/v1/logs") <= 1, paths
PY
# its exports would wait for the receiver at shutdown: this part tests serving, not stopping
kill -KILL "$SLOW_PID"
echo "2 passed, 0 failed"
