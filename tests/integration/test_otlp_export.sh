#!/bin/bash
# test_otlp_export.sh - sonde's OTLP/HTTP export against a receiver that decodes with the
# official OTLP protobuf definitions (tests/integration/otlp/receiver.js, the generated
# definitions of @opentelemetry/otlp-transformer, pinned in its package.json), started on
# loopback by this test. The program is tests/integration/otlp/driver.c.
#  1. trace: names, ids, parents (continuing an incoming traceparent), kinds, attributes of
#     each type, an event, statuses, the resource (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
#     percent-decoded), OTEL_EXPORTER_OTLP_HEADERS; the JSON log lines (one object each, the
#     trace id inside spans) and the same records as OTLP logs.
#  2. gzip (OTEL_EXPORTER_OTLP_COMPRESSION=gzip) and a signal endpoint used as given.
#  3. 503 (with Retry-After) then 503 then 200: retried, every span delivered once.
#  4. 400: dropped, counted, one error record.
#  5. a partial success: rejected spans counted, the server's message logged.
#  6. receiver down: the queue stays bounded, drops are counted (and exposed as
#     sonde_spans_dropped_total{reason="queue_full"}), ending spans never blocks (generous
#     bound), shutdown keeps its deadline.
set -euo pipefail
build=${SONDE_BUILD:?} src=${SONDE_SRC:?}
. "$(dirname "$0")/lib/procs.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v node >/dev/null || fail "node is not installed"
RX_DIR=$src/tests/integration/otlp
if [ ! -d "$RX_DIR/node_modules/@opentelemetry/otlp-transformer" ]; then
  (cd "$RX_DIR" && npm ci --no-audit --no-fund --silent) || fail "npm ci (otlp receiver)"
fi
driver=$build/tests/otlp_driver
[ -x "$driver" ] || fail "no $driver"

# receiver NAME [ANSWERS] [PARTIAL]: start one; its port in $port, its output $tmp/NAME.out
receiver() {
  port=$(free_port)
  node "$RX_DIR/receiver.js" "$port" "$tmp/$1.out" "${2:-}" "${3:-}" &
  pids+=($!)
  for _ in $(seq 100); do [ -f "$tmp/$1.out.ready" ] && return 0; sleep 0.1; done
  fail "receiver $1 did not start"
}
PARENT=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
export OTEL_BLRP_SCHEDULE_DELAY=60000   # logs go at shutdown, after the spans
passed=0

# 1. the whole picture
receiver basic
OTEL_SERVICE_NAME=checkout OTEL_RESOURCE_ATTRIBUTES='deployment.environment=test,team=a%2Cb,service.name=ignored' \
OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$port/ OTEL_EXPORTER_OTLP_HEADERS='x-api-key=secret%20one' \
DRIVER_LOG_FILE=$tmp/app.log "$driver" trace "$PARENT" >"$tmp/basic.json" 2>"$tmp/basic.err" \
  || { cat "$tmp/basic.err"; fail "driver trace"; }
/usr/bin/python3 - "$tmp/basic.json" "$tmp/basic.out" "$tmp/app.log" <<'PY' || fail "basic"
import json, sys
made = json.load(open(sys.argv[1]))
reqs = [json.loads(l) for l in open(sys.argv[2])]
lines = [json.loads(l) for l in open(sys.argv[3])]   # every line is one JSON object
traces = [r for r in reqs if r["path"] == "/v1/traces"]
logs = [r for r in reqs if r["path"] == "/v1/logs"]
assert len(traces) == 1 and len(logs) == 1, [r["path"] for r in reqs]
t = traces[0]
assert t["contentType"] == "application/x-protobuf" and t["contentEncoding"] == ""
assert t["apiKey"] == "secret one", t["apiKey"]
rs = t["message"]["resourceSpans"]
assert len(rs) == 1
res = {a["key"]: a["value"]["stringValue"] for a in rs[0]["resource"]["attributes"]}
assert res["service.name"] == "checkout" and res["team"] == "a,b", res
assert res["deployment.environment"] == "test" and res["service.version"] == "1.2.3", res
assert res["telemetry.sdk.language"] == "c"
scope = rs[0]["scopeSpans"][0]
assert scope["scope"]["name"] == "sonde"
spans = {s["name"]: s for s in scope["spans"]}
assert set(spans) == {"POST /v1/chat/completions", "chat gpt-4o-mini", "execute_tool search"}
server, client, tool = (spans["POST /v1/chat/completions"], spans["chat gpt-4o-mini"],
                        spans["execute_tool search"])
for s in spans.values():
    assert s["traceId"] == "4bf92f3577b34da6a3ce929d0e0e4736" == made["trace_id"], s
    assert s["traceState"] == "vendor=abc"
    assert int(s["endTimeUnixNano"]) >= int(s["startTimeUnixNano"]) > 1.6e18
assert server["parentSpanId"] == "00f067aa0ba902b7" and server["spanId"] == made["server"]
assert client["parentSpanId"] == made["server"] and client["spanId"] == made["client"]
assert tool["parentSpanId"] == made["server"] and tool["spanId"] == made["tool"]
assert (server["kind"], client["kind"], tool["kind"]) == (2, 3, 1)
attrs = {a["key"]: a["value"] for a in client["attributes"]}
assert attrs == {"gen_ai.operation.name": {"stringValue": "chat"},
                 "gen_ai.usage.output_tokens": {"intValue": "128"},
                 "gen_ai.request.temperature": {"doubleValue": 0.25},
                 "gen_ai.stream": {"boolValue": True}}, attrs
ev = client["events"]
assert len(ev) == 1 and ev[0]["name"] == "gen_ai.first_token"
assert {a["key"]: a["value"] for a in ev[0]["attributes"]} == {
    "phase": {"stringValue": "first_token"}, "index": {"intValue": "0"}}
assert client["status"] == {"code": 2, "message": "upstream answered 502"}
assert tool["status"] == {"code": 1}
assert "status" not in server
assert {a["key"]: a["value"] for a in server["attributes"]}["http.response.status_code"] == {"intValue": "502"}
assert made["delivered"] == 2 and made["failed"] == 0 and made["exported"] == 3, made
# JSON lines: time with ns, level, msg, service; the trace id only inside the span
assert [l["msg"] for l in lines] == ["starting", "upstream failed", "done"], lines
for l in lines:
    assert l["service"] == "checkout" and l["level"] in ("info", "error")
    assert len(l["time"]) == len("2026-01-01T00:00:00.123456789Z") and l["time"].endswith("Z")
err = lines[1]
assert err["trace_id"] == made["trace_id"] and err["span_id"] == made["client"], err
assert err["fields"] == {"status": 502, "latency_s": 0.5}, err
assert "trace_id" not in lines[0] and "trace_id" not in lines[2]
# the same records as OTLP logs
recs = logs[0]["message"]["resourceLogs"][0]["scopeLogs"][0]["logRecords"]
assert [r["body"]["stringValue"] for r in recs] == ["starting", "upstream failed", "done"]
assert recs[1]["traceId"] == made["trace_id"] and recs[1]["spanId"] == made["client"]
assert recs[1]["severityNumber"] == 17 and recs[1]["severityText"] == "error"
assert "traceId" not in recs[0]
PY
passed=$((passed + 1))

# 2. gzip, and a signal-specific endpoint used as given (no /v1/traces appended)
receiver gz
OTEL_EXPORTER_OTLP_COMPRESSION=gzip OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://127.0.0.1:$port/v1/traces \
OTEL_EXPORTER_OTLP_LOGS_ENDPOINT=http://127.0.0.1:$port/v1/logs DRIVER_LOG_FILE=$tmp/gz.log \
  "$driver" trace >"$tmp/gz.json" 2>"$tmp/gz.err" || { cat "$tmp/gz.err"; fail "driver gzip"; }
/usr/bin/python3 - "$tmp/gz.json" "$tmp/gz.out" <<'PY' || fail "gzip"
import json, sys
made = json.load(open(sys.argv[1]))
reqs = [json.loads(l) for l in open(sys.argv[2])]
assert {r["path"] for r in reqs} == {"/v1/traces", "/v1/logs"}, reqs
for r in reqs:
    assert r["contentEncoding"] == "gzip" and r["status"] == 200 and "error" not in r, r
spans = [s for r in reqs if r["path"] == "/v1/traces"
         for s in r["message"]["resourceSpans"][0]["scopeSpans"][0]["spans"]]
assert len(spans) == 3 and all(s["traceId"] == made["trace_id"] for s in spans)
assert all("parentSpanId" not in s for s in spans if s["name"] == "POST /v1/chat/completions")
PY
passed=$((passed + 1))

# 3. 503 with Retry-After, 503, then 200: retried, nothing lost, nothing twice
receiver retry "503r,503"
OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$port DRIVER_LOG_FILE=$tmp/retry.log \
  "$driver" trace >"$tmp/retry.json" 2>"$tmp/retry.err" || { cat "$tmp/retry.err"; fail "driver retry"; }
/usr/bin/python3 - "$tmp/retry.json" "$tmp/retry.out" <<'PY' || fail "retry"
import json, sys
made = json.load(open(sys.argv[1]))
traces = [json.loads(l) for l in open(sys.argv[2])]
traces = [r for r in traces if r["path"] == "/v1/traces"]
assert [r["status"] for r in traces] == [503, 503, 200], [r["status"] for r in traces]
ok = [s["spanId"] for r in traces if r["status"] == 200
      for s in r["message"]["resourceSpans"][0]["scopeSpans"][0]["spans"]]
assert sorted(ok) == sorted([made["server"], made["client"], made["tool"]]), ok
assert made["retries"] == 2 and made["failed"] == 0 and made["exported"] == 3, made
PY
passed=$((passed + 1))

# 4. 400: dropped, counted, logged once
receiver refuse "400"
OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$port DRIVER_LOG_FILE=$tmp/refuse.log \
  "$driver" trace >"$tmp/refuse.json" 2>"$tmp/refuse.err" || { cat "$tmp/refuse.err"; fail "driver 400"; }
/usr/bin/python3 - "$tmp/refuse.json" "$tmp/refuse.out" "$tmp/refuse.err" <<'PY' || fail "400"
import json, sys
made = json.load(open(sys.argv[1]))
traces = [r for r in map(json.loads, open(sys.argv[2])) if r["path"] == "/v1/traces"]
assert [r["status"] for r in traces] == [400], traces          # not retried
assert made["export_failed"] == 3 and made["exported"] == 0 and made["failed"] == 1, made
diag = [json.loads(l) for l in open(sys.argv[3])]                # the library's own records
refused = [d for d in diag if d["msg"].startswith("OTLP receiver refused")]
assert len(refused) == 1, diag
f = refused[0]["fields"]
assert f["status"] == 400 and f["signal"] == "traces" and "malformed" in f["detail"], f
assert refused[0]["level"] == "error"
assert [d for d in diag if d["level"] == "error"] == refused, diag   # logged once
PY
passed=$((passed + 1))

# 5. a partial success
receiver partial "" 2
OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$port DRIVER_LOG_FILE=$tmp/partial.log \
  "$driver" trace >"$tmp/partial.json" 2>"$tmp/partial.err" || { cat "$tmp/partial.err"; fail "driver partial"; }
/usr/bin/python3 - "$tmp/partial.json" "$tmp/partial.err" <<'PY' || fail "partial success"
import json, sys
made = json.load(open(sys.argv[1]))
assert made["dropped_rejected"] == 2 and made["exported"] == 1, made
diag = [json.loads(l) for l in open(sys.argv[2])]
part = [d for d in diag if d["msg"].startswith("OTLP receiver rejected part")]
assert part and part[0]["fields"]["detail"] == "too many attributes", diag
PY
passed=$((passed + 1))

# 6. receiver down: bounded queue, drops counted and exposed, the host never blocks
DOWN=$(free_port)
OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$DOWN OTEL_EXPORTER_OTLP_TIMEOUT=300 \
OTEL_BSP_MAX_QUEUE_SIZE=64 OTEL_BSP_MAX_EXPORT_BATCH_SIZE=16 OTEL_BSP_SCHEDULE_DELAY=50 \
DRIVER_LOG_FILE=$tmp/down.log timeout 120 "$driver" flood 20000 >"$tmp/down.json" 2>"$tmp/down.err" \
  || { tail -5 "$tmp/down.err"; fail "driver flood"; }
/usr/bin/python3 - "$tmp/down.json" <<'PY' || fail "receiver down"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["exported"] == 0 and r["queue_full"] > 0, r
assert r["exposed_queue_full"] >= r["queue_full"], r  # exposed after the read
# every span is accounted for: at most the queue and the batches in flight are not dropped yet
assert r["queue_full"] + r["export_failed"] <= r["spans"], r
# generous bounds (sanitizer builds, a shared machine): a blocking end would wait for an
# export attempt (300 ms) each time, 20000 of them for minutes
assert r["end_total_s"] < 10, r
assert r["shutdown_s"] < 10, r
PY
passed=$((passed + 1))
echo "$passed passed, 0 failed"
