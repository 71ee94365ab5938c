#!/bin/bash
# test_otlp_metrics.sh - sonde's OTLP metrics export (sonde_otlp_metrics_start: a periodic
# reader over the shared OTLP/HTTP transport) against a receiver that decodes with the
# official OTLP protobuf definitions (tests/integration/otlp/receiver.js: the generated
# ExportMetricsServiceRequest of @opentelemetry/otlp-transformer 0.52.1), started on loopback
# by this test. The program is tests/integration/otlp/metrics_driver.c.
#  1. every instrument kind, decoded and compared with what the driver recorded: counters
#     (monotonic cumulative Sums, start time = series creation), gauges, a histogram
#     (explicit bounds, per-bucket counts, sum, count), a native histogram (an
#     ExponentialHistogram: scale, zero count, positive and negative buckets), a summary
#     (quantiles, sum, count), an
#     info and a stateset (non-monotonic Sums), exemplars (trace and span ids, value, time)
#     on a counter's and a histogram's points, units, descriptions, global and series labels
#     (hostile UTF-8 included) as attributes, the resource (OTEL_SERVICE_NAME,
#     OTEL_RESOURCE_ATTRIBUTES), the scope, the reader's own counters, periodic exports
#     (OTEL_METRIC_EXPORT_INTERVAL) and the last one at stop.
#  2. precedence: the _METRICS_ endpoint, headers and compression over the generic ones
#     (the generic endpoint points at a closed port; gzip only from the metrics variable).
#  3. OTEL_METRICS_EXPORTER=none, OTEL_SDK_DISABLED=true, and no endpoint at all: not started.
#  4. 503 then 200: the export is retried and nothing is lost.
#  5. sonde-gateway: "otlp_metrics" in its JSON config and --otlp-metrics-interval-ms start
#     it; a chat completion shows in the exported gateway_provider_calls_total and
#     gateway_tokens_total, and the last export at SIGTERM carries them.
set -euo pipefail
build=${SONDE_BUILD:?} src=${SONDE_SRC:?}
. "$(dirname "$0")/lib/procs.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v node >/dev/null || fail "node is not installed"
RX_DIR=$src/tests/integration/otlp
if [ ! -d "$RX_DIR/node_modules/@opentelemetry/otlp-transformer" ]; then
  (cd "$RX_DIR" && npm ci --no-audit --no-fund --silent) || fail "npm ci (otlp receiver)"
fi
driver=$build/tests/otlp_metrics_driver
[ -x "$driver" ] || fail "no $driver"

receiver() {
  port=$(free_port)
  node "$RX_DIR/receiver.js" "$port" "$tmp/$1.out" "${2:-}" "${3:-}" &
  pids+=($!)
  for _ in $(seq 100); do [ -f "$tmp/$1.out.ready" ] && return 0; sleep 0.1; done
  fail "receiver $1 did not start"
}
# no OTEL_* of the caller's environment leaks in
for v in $(env | grep -o '^OTEL_[A-Z_]*' || true); do unset "$v"; done
passed=0

# 1. every kind, compared with what was recorded
receiver basic
OTEL_SERVICE_NAME=inference OTEL_RESOURCE_ATTRIBUTES='deployment.environment=test,team=a%2Cb' \
OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$port OTEL_METRIC_EXPORT_INTERVAL=100 \
  "$driver" 2 >"$tmp/basic.json" 2>"$tmp/basic.err" || { cat "$tmp/basic.err"; fail "driver basic"; }
/usr/bin/python3 - "$tmp/basic.json" "$tmp/basic.out" <<'PY' || fail "basic"
import json, sys
made = json.load(open(sys.argv[1]))
reqs = [json.loads(l) for l in open(sys.argv[2])]
assert made["started"] and made["exports"] >= 2 and made["export_failures"] == 0, made
assert len(reqs) >= 3, len(reqs)                      # two periodic exports, the last one
for r in reqs:
    assert r["path"] == "/v1/metrics" and r["status"] == 200 and "error" not in r, r
    assert r["contentType"] == "application/x-protobuf" and r["contentEncoding"] == ""
last = reqs[-1]["message"]
rm = last["resourceMetrics"]
assert len(rm) == 1
res = {a["key"]: a["value"]["stringValue"] for a in rm[0]["resource"]["attributes"]}
assert res["service.name"] == "inference" and res["team"] == "a,b", res
assert res["deployment.environment"] == "test" and res["telemetry.sdk.language"] == "c", res
sm = rm[0]["scopeMetrics"]
assert len(sm) == 1 and sm[0]["scope"]["name"] == "sonde", sm[0]["scope"]
metrics = {m["name"]: m for m in sm[0]["metrics"]}
start = int(made["start_ns"])
def attrs(p):
    return {a["key"]: a["value"]["stringValue"] for a in p.get("attributes", [])}
GLOBAL = {"region": "eu-west", "service": "metrics-driver"}
def check_times(p, with_start=True):
    t = int(p["timeUnixNano"])
    assert t >= start, (t, start)
    if with_start:
        s = int(p["startTimeUnixNano"])
        assert 1.6e18 < s <= start, (s, start)   # created before the reader started
H = made["hostile"]

m = metrics["llm_requests_total"]
assert m["description"] == "LLM requests." and "unit" not in m
assert m["sum"]["isMonotonic"] is True and m["sum"]["aggregationTemporality"] == 2
pts = {attrs(p)["model"]: p for p in m["sum"]["dataPoints"]}
assert set(pts) == {"gpt-4o", H}, list(pts)
assert attrs(pts["gpt-4o"]) == dict(GLOBAL, model="gpt-4o", status="200")
assert pts["gpt-4o"]["asDouble"] == 41 and pts[H]["asDouble"] == 2.5
assert attrs(pts[H]) == dict(GLOBAL, model=H, status="500")
for p in pts.values(): check_times(p)
EX, recorded = made["exemplars"], int(made["recorded_ns"])
def check_exemplar(got, want):
    assert got["traceId"] == want["trace_id"] and got["spanId"] == want["span_id"], (got, want)
    assert got["asDouble"] == want["value"] and "asInt" not in got, (got, want)
    t = int(got["timeUnixNano"])        # the (coarse) wall clock at the recording
    assert recorded - 10**9 <= t <= start + 10**9, (t, recorded, start)
    assert "filteredAttributes" not in got, got
ex = pts["gpt-4o"].get("exemplars", [])
assert len(ex) == 1, pts["gpt-4o"]
check_exemplar(ex[0], EX["counter"])
assert "exemplars" not in pts[H], pts[H]  # recorded without a span

g = metrics["queue_depth"]["gauge"]["dataPoints"]
assert len(g) == 1 and g[0]["asDouble"] == -3 and attrs(g[0]) == GLOBAL
check_times(g[0], with_start=False)
t = metrics["gpu_temperature_celsius"]
assert t["unit"] == "Cel" and t["gauge"]["dataPoints"][0]["asDouble"] == 71.25

h = metrics["request_duration_seconds"]
assert h["unit"] == "s" and h["description"] == "Request latency."
assert h["histogram"]["aggregationTemporality"] == 2
hp = {attrs(p)["route"]: p for p in h["histogram"]["dataPoints"]}
assert set(hp) == {"/v1/chat", H}
p = hp["/v1/chat"]
bounds = made["bounds"]
assert p["explicitBounds"] == bounds, p
obs = made["histogram_obs"]
want = [sum(1 for v in obs if (i == 0 or v > bounds[i - 1]) and (i == len(bounds) or v <= bounds[i]))
        for i in range(len(bounds) + 1)]
assert [int(c) for c in p["bucketCounts"]] == want, (p["bucketCounts"], want)   # not cumulative
assert int(p["count"]) == len(obs) and abs(p["sum"] - sum(obs)) < 1e-9, p
check_times(p)
hx = p.get("exemplars", [])
assert len(hx) == 1, p                    # only bucket le=1 got one
check_exemplar(hx[0], EX["bucket"])
assert "exemplars" not in hp[H], hp[H]
assert [int(c) for c in hp[H]["bucketCounts"]] == [0, 1, 0, 0, 0] and hp[H]["sum"] == 0.2

x = metrics["ttft_seconds"]
assert x["unit"] == "s" and x["exponentialHistogram"]["aggregationTemporality"] == 2, x
xp = x["exponentialHistogram"]["dataPoints"]
assert len(xp) == 1, xp
xp = xp[0]
nobs = made["native_obs"]                   # schema 0 (bucket factor 2): base 2
assert xp.get("scale", 0) == 0 and int(xp["count"]) == len(nobs) and xp["sum"] == sum(nobs), xp
assert int(xp["zeroCount"]) == sum(1 for v in nobs if v == 0), xp
import math
def otel_buckets(values):                   # bucket k holds (2^k, 2^(k+1)]
    ks = [math.ceil(math.log2(v)) - 1 for v in values]
    lo = min(ks)
    counts = [0] * (max(ks) - lo + 1)
    for k in ks: counts[k - lo] += 1
    return lo, counts
for side, vals in (("positive", [v for v in nobs if v > 0]), ("negative", [-v for v in nobs if v < 0])):
    lo, counts = otel_buckets(vals)
    got = xp[side]
    assert got.get("offset", 0) == lo and [int(c) for c in got["bucketCounts"]] == counts, (side, got, lo, counts)
check_times(xp)

s = metrics["response_size_bytes"]
assert s["unit"] == "By"
sp = s["summary"]["dataPoints"]
assert len(sp) == 1 and int(sp[0]["count"]) == 100 and sp[0]["sum"] == 50500, sp
q = {v["quantile"]: v["value"] for v in sp[0]["quantileValues"]}
assert set(q) == {0.5, 0.9, 0.99}, q
# values 10, 20, ..., 1000; the default targets' rank errors 0.05, 0.01, 0.001
assert 450 <= q[0.5] <= 550 and 880 <= q[0.9] <= 920 and 980 <= q[0.99] <= 1000, q
check_times(sp[0])

i = metrics["build_info"]
assert i["sum"].get("isMonotonic", False) is False and i["sum"]["aggregationTemporality"] == 2
ip = i["sum"]["dataPoints"]
assert len(ip) == 1 and ip[0]["asDouble"] == 1 and attrs(ip[0]) == dict(GLOBAL, version="1.4.2", commit=H)

f = metrics["feature_mode"]
assert f["sum"].get("isMonotonic", False) is False
fp = {attrs(p)["feature_mode"]: p["asDouble"] for p in f["sum"]["dataPoints"]}
assert fp == {"off": 0, "canary": 1, "on": 0}, fp

# the reader's own counters ride along (collectors through the same encoder)
e = metrics["sonde_metric_exports_total"]["sum"]
assert e["isMonotonic"] is True
ex = {attrs(p)["result"]: p["asDouble"] for p in e["dataPoints"]}
assert ex["delivered"] >= 2 and ex["failed"] == 0, ex
assert "sonde_metric_points_dropped_total" in metrics
# every export carries every series
for r in reqs:
    names = {m["name"] for m in r["message"]["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]}
    assert set(metrics) <= names, set(metrics) - names
PY
passed=$((passed + 1))

# 2. precedence: _METRICS_ endpoint, headers and compression win over the generic forms
receiver prec
DEAD=$(free_port)
OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$DEAD \
OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=http://127.0.0.1:$port/v1/metrics \
OTEL_EXPORTER_OTLP_HEADERS='x-api-key=generic,x-tenant=t%201' \
OTEL_EXPORTER_OTLP_METRICS_HEADERS='x-api-key=metrics%20key' \
OTEL_EXPORTER_OTLP_COMPRESSION=none OTEL_EXPORTER_OTLP_METRICS_COMPRESSION=gzip \
OTEL_METRIC_EXPORT_INTERVAL=100 \
  "$driver" 1 >"$tmp/prec.json" 2>"$tmp/prec.err" || { cat "$tmp/prec.err"; fail "driver precedence"; }
/usr/bin/python3 - "$tmp/prec.json" "$tmp/prec.out" <<'PY' || fail "precedence"
import json, sys
made = json.load(open(sys.argv[1]))
reqs = [json.loads(l) for l in open(sys.argv[2])]
assert made["started"] and made["export_failures"] == 0 and made["exports"] >= 1, made
assert len(reqs) >= 2, reqs
for r in reqs:
    assert r["status"] == 200 and "error" not in r, r
    assert r["contentEncoding"] == "gzip", r
    assert r["apiKey"] == "metrics key" and r["tenant"] == "t 1", r
PY
passed=$((passed + 1))

# 3. not started: OTEL_METRICS_EXPORTER=none, OTEL_SDK_DISABLED, no endpoint anywhere
receiver off
for env in OTEL_METRICS_EXPORTER=none OTEL_SDK_DISABLED=true OTEL_METRICS_EXPORTER=prometheus; do
  env "$env" OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$port OTEL_METRIC_EXPORT_INTERVAL=100 \
    "$driver" 0 >"$tmp/off.json" 2>"$tmp/off.err" || { cat "$tmp/off.err"; fail "driver $env"; }
  grep -q '"started": false' "$tmp/off.json" || fail "$env: started anyway"
done
OTEL_METRIC_EXPORT_INTERVAL=100 "$driver" 0 >"$tmp/off.json" 2>"$tmp/off.err" || fail "driver no endpoint"
grep -q '"started": false' "$tmp/off.json" || fail "no endpoint: started anyway"
[ ! -s "$tmp/off.out" ] || fail "the receiver got requests: $(cat "$tmp/off.out")"
passed=$((passed + 1))

# 4. 503 then 200: retried by the transport, nothing lost
receiver retry "503"
OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$port OTEL_METRIC_EXPORT_INTERVAL=100 \
  "$driver" 1 >"$tmp/retry.json" 2>"$tmp/retry.err" || { cat "$tmp/retry.err"; fail "driver retry"; }
/usr/bin/python3 - "$tmp/retry.json" "$tmp/retry.out" <<'PY' || fail "retry"
import json, sys
made = json.load(open(sys.argv[1]))
reqs = [json.loads(l) for l in open(sys.argv[2])]
assert [r["status"] for r in reqs[:2]] == [503, 200], [r["status"] for r in reqs]
assert made["exports"] >= 1 and made["export_failures"] == 0, made
def points(r):
    out = {}
    for m in r["message"]["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]:
        if m["name"].startswith("sonde_metric_"):
            continue          # the reader's own counters move between exports
        data = (m.get("sum") or m.get("gauge") or m.get("histogram") or m.get("summary")
                or m.get("exponentialHistogram"))
        for p in data["dataPoints"]:
            p = {k: v for k, v in p.items() if k != "timeUnixNano"}
            out.setdefault(m["name"], []).append(json.dumps(p, sort_keys=True))
    return out
refused, delivered = points(reqs[0]), points(reqs[1])
assert refused == delivered and len(delivered) == 8, (len(refused), len(delivered))
PY
passed=$((passed + 1))

# 5. sonde-gateway: JSON config and flag; one call, exported
receiver gw
GW_PORT=$(free_port)
printf '{"otlp_metrics": {"endpoint": "http://127.0.0.1:%s/v1/metrics"}}\n' "$port" >"$tmp/gw.json"
SONDE_METRICS_ENABLED=true "$build/sonde-gateway" --port "$GW_PORT" --config "$tmp/gw.json" \
  --otlp-metrics-interval-ms 200 --sim-ttft-ms 1 --sim-inter-token-ms 1 --sim-output-tokens 3 \
  >"$tmp/gw.log" 2>&1 &
gw_pid=$!
pids+=($gw_pid)
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$GW_PORT/health" && break; sleep 0.1; done
curl -s -f -o /dev/null -H 'Content-Type: application/json' "http://127.0.0.1:$GW_PORT/v1/chat/completions" \
  -d '{"model": "sonde-sim", "messages": [{"role": "user", "content": "hi"}]}' || fail "chat completion"
for _ in $(seq 100); do [ -f "$tmp/gw.out" ] && [ "$(wc -l <"$tmp/gw.out")" -ge 2 ] && break; sleep 0.1; done
kill -TERM "$gw_pid"
wait "$gw_pid" || fail "gateway exit status $?: $(tail -5 "$tmp/gw.log")"
/usr/bin/python3 - "$tmp/gw.out" <<'PY' || { tail -5 "$tmp/gw.log"; fail "gateway"; }
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
assert len(reqs) >= 2 and all(r["status"] == 200 and "error" not in r for r in reqs), reqs
ms = {m["name"]: m for m in reqs[-1]["message"]["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]}
def attrs(p):
    return {a["key"]: a["value"]["stringValue"] for a in p.get("attributes", [])}
calls = [p for p in ms["gateway_provider_calls_total"]["sum"]["dataPoints"]
         if attrs(p).get("model") == "sonde-sim"]
assert len(calls) == 1 and calls[0]["asDouble"] == 1, calls
toks = {attrs(p)["type"]: p["asDouble"] for p in ms["gateway_tokens_total"]["sum"]["dataPoints"]}
assert toks.get("output") == 3, toks
assert ms["gateway_ready"]["gauge"]["dataPoints"][0]["asDouble"] == 1
PY
passed=$((passed + 1))
echo "$passed passed, 0 failed"
