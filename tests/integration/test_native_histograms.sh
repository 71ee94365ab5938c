#!/bin/bash
# test_native_histograms.sh - native histograms and the protobuf exposition against
# independent readers.
#
# 1. native-server (tests/integration/native) holds native-only, classic and mixed
#    histograms and every other type, and writes every value it observes to a file.
#    Its protobuf exposition is decoded by protobufjs over the public client_model
#    metrics.proto (npm, pinned in package.json) and compared field by field with what
#    the test computes from those values on its own: counts, sums, zero buckets, native
#    buckets (index by index, at the schema exposed), classic buckets, counters with
#    created timestamps, gauges, summaries, info, stateset, scrape-time and collector
#    values, the global label everywhere.
# 2. Debian's Prometheus with --enable-feature=native-histograms scrapes it every second
#    (loopback, free port): up is 1, no scrape error; then the server observes a second
#    batch that forces a resolution reduction (schema 8 -> lower) mid-run; histogram_count
#    and histogram_sum equal what was observed, histogram_quantile(0.5|0.9|0.99) is
#    within the schema's relative error (2^(2^-s) - 1) of the exact quantile; the
#    recording rules of deploy/rules/recording.yml, loaded as shipped, give the TTFT
#    p50 from the native histogram (within the schema's error of the exact median).
# 3. The same Prometheus without the feature still scrapes text/OpenMetrics: the
#    native-only histogram arrives as _count/_sum series, the classic one with buckets,
#    and the same recording rules give the TTFT p50 from the classic buckets.
set -euo pipefail
build=${SONDE_BUILD:?SONDE_BUILD must name the build directory}
src=${SONDE_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "$0")/lib/procs.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v prometheus >/dev/null || fail "prometheus is not installed"
command -v node >/dev/null || fail "node is not installed"
dec_dir=$src/tests/integration/native
if [ ! -d "$dec_dir/node_modules/protobufjs" ]; then
  (cd "$dec_dir" && npm ci --no-audit --no-fund --silent) || fail "npm ci (protobufjs)"
fi

mkdir -p "$tmp/values"
mkfifo "$tmp/ctl"
"$build/tests/native_server" "$tmp/values" <"$tmp/ctl" >"$tmp/server.out" 2>&1 &
pids+=($!)
exec 3>"$tmp/ctl" # keeps the server's stdin open; closed (EOF) on exit
for _ in $(seq 100); do grep -q listening "$tmp/server.out" && break; sleep 0.05; done
port=$(sed -n 's/listening on port \([0-9]*\).*/\1/p' "$tmp/server.out")
[ -n "$port" ] || fail "native-server did not start: $(cat "$tmp/server.out")"
accept_pb='application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited'

check_protobuf() { # $1: label for messages
  curl -fsS -H "Accept: $accept_pb" -D "$tmp/headers" -o "$tmp/metrics.pb" "http://127.0.0.1:$port/metrics" ||
    fail "protobuf scrape"
  grep -qi '^content-type: application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited' \
    "$tmp/headers" || fail "content type: $(cat "$tmp/headers")"
  node "$dec_dir/decode.mjs" "$tmp/metrics.pb" >"$tmp/decoded.json" || fail "protobufjs could not decode the exposition"
  python3 "$dec_dir/compare.py" "$tmp/decoded.json" "$tmp/values" "$start" || fail "decoded protobuf ($1) differs"
}
start=$(date +%s)
check_protobuf "phase 1"

prom_port=$(free_port)
cat >"$tmp/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $src/deploy/rules/recording.yml
scrape_configs:
  - job_name: native
    static_configs:
      - targets: ['127.0.0.1:$port']
YAML
start_prometheus() { # $1: extra flags
  prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data$prom_port" \
    --web.listen-address="127.0.0.1:$prom_port" --log.level=warn $1 >"$tmp/prom$prom_port.log" 2>&1 &
  prom_pid=$!
  pids+=($prom_pid)
}
api() { curl -fsS --max-time 2 "http://127.0.0.1:$prom_port/api/v1/$1" 2>/dev/null; }
query() { # EXPR -> the single value of an instant vector, or "none"
  api "query?query=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1")" |
    python3 -c 'import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "none")' 2>/dev/null || echo none
}
wait_up() {
  local health=none
  for _ in $(seq 100); do
    health=$(api targets | python3 -c 'import json, sys
t = json.load(sys.stdin)["data"]["activeTargets"]
print(t[0]["health"] + "|" + t[0]["lastError"] if t else "none")' 2>/dev/null || echo none)
    [ "$health" = "up|" ] && break
    sleep 0.2
  done
  [ "$health" = "up|" ] || fail "target is '$health'; prometheus log: $(tail -5 "$tmp/prom$prom_port.log")"
}
wait_value() { # EXPR WANT
  local got=none
  for _ in $(seq 80); do
    got=$(query "$1")
    [ "$got" = "$2" ] && return 0
    sleep 0.25
  done
  fail "$1 = $got, want $2"
}

# ---- 2. native histograms through the real Prometheus ---------------------------------
start_prometheus --enable-feature=native-histograms
wait_up
wait_value 'histogram_count(nh_reduced_seconds)' 500
echo phase2 >&3
for _ in $(seq 100); do grep -q "phase2 done" "$tmp/server.out" && break; sleep 0.05; done
grep -q "phase2 done" "$tmp/server.out" || fail "phase 2 did not run"
check_protobuf "phase 2, reduced"
wait_value 'histogram_count(nh_reduced_seconds)' 1000
for _ in $(seq 80); do # the rules evaluate every second
  [ "$(query 'job_model_quantile:gen_ai_server_time_to_first_token_seconds:histogram_quantile_rate5m{quantile="0.5"}')" != none ] && break
  sleep 0.25
done
[ "$(query 'up{job="native"}')" = 1 ] || fail "up is not 1"
wait_up # still no scrape error after the reduction
[ "$(query 'nh_latency_seconds_count')" = none ] || fail "the native histogram was ingested as classic series"
python3 - "$tmp/values" "$prom_port" <<'PY' || fail "PromQL over the native series differs from the observations"
import json, math, sys, urllib.parse, urllib.request
values_dir, port = sys.argv[1], sys.argv[2]
def q(expr):
    url = f"http://127.0.0.1:{port}/api/v1/query?query=" + urllib.parse.quote(expr)
    r = json.load(urllib.request.urlopen(url, timeout=5))["data"]["result"]
    assert len(r) == 1, (expr, r)
    return float(r[0]["value"][1])
def vals(name):
    return [float(l) for l in open(f"{values_dir}/{name}.values")]
def schema(expr):  # the exposed schema, from the bucket widths Prometheus reports
    r = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/query?query="
                                         + urllib.parse.quote(expr), timeout=5))["data"]["result"][0]
    b = [x for x in r["histogram"][1]["buckets"] if float(x[1]) > 0]
    return round(-math.log2(math.log2(float(b[0][2]) / float(b[0][1]))))
bad = 0
cases = [("nh_latency_seconds_a", 'nh_latency_seconds{route="/a"}'),
         ("nh_latency_seconds_b", 'nh_latency_seconds{route="/b"}'),
         ("nh_reduced_seconds", "nh_reduced_seconds"),
         ("nh_signed", "nh_signed"), ("mixed_seconds", "mixed_seconds")]
for name, sel in cases:
    v = vals(name)
    c, s = q(f"histogram_count({sel})"), q(f"histogram_sum({sel})")
    if c != len(v) or abs(s - math.fsum(v)) > 1e-9 * max(1, abs(math.fsum(v))):
        print(f"{name}: count {c} sum {s}, observed {len(v)} {math.fsum(v)}"); bad += 1
    if name == "nh_signed":
        continue
    sch = schema(sel)
    rel = 2 ** (2 ** -sch) - 1
    sv = sorted(v)
    for p in (0.5, 0.9, 0.99):
        exact = sv[max(0, math.ceil(p * len(sv)) - 1)]
        got = q(f"histogram_quantile({p}, {sel})")
        ok = abs(got - exact) <= rel * exact * 1.0001
        print(f"{name} schema {sch} q{p}: prometheus {got:.6g} exact {exact:.6g} bound {rel:.3%} {'ok' if ok else 'FAIL'}")
        bad += not ok
sch = schema("nh_reduced_seconds")
if not sch < 8:
    print("nh_reduced_seconds kept schema 8: no reduction"); bad += 1
v = sorted(vals("gen_ai_ttft"))
exact = v[math.ceil(0.5 * len(v)) - 1]
got = q('job_model_quantile:gen_ai_server_time_to_first_token_seconds:histogram_quantile_rate5m{quantile="0.5",model="sim"}')
ok = abs(got - exact) <= (2 ** (2 ** -3) - 1) * exact
print(f"recording rule TTFT p50 (native): {got:.6g}, exact {exact:.6g} {'ok' if ok else 'FAIL'}")
bad += not ok
inf = q("histogram_count(nh_infinite)")
if inf != 3:
    print(f"nh_infinite count {inf}, want 3 (+Inf, -Inf, 1.5; NaN refused)"); bad += 1
sys.exit(bad)
PY
[ "$(query 'jobs_total{route="/a"}')" = 41 ] || fail "jobs_total"
[ "$(query 'payload_bytes_count')" = 100 ] || fail "payload_bytes_count"
[ "$(query 'classic_seconds_count')" = 801 ] || fail "classic_seconds_count"
[ "$(query 'collected_untyped{kind="x"}')" = 3.25 ] || fail "collected_untyped"
if grep -i "error" "$tmp/prom$prom_port.log" | grep -iv "level=warn.*notifier" | grep -q .; then
  fail "Prometheus logged errors: $(grep -i error "$tmp/prom$prom_port.log" | head -3)"
fi
kill "$prom_pid"; wait "$prom_pid" 2>/dev/null || true

# ---- 3. without the feature: text/OpenMetrics as before -------------------------------
prom_port=$(free_port)
start_prometheus ""
wait_up
echo ttft >&3 # observations between two scrapes of this Prometheus: a rate to take quantiles of
for _ in $(seq 100); do grep -q "ttft done" "$tmp/server.out" && break; sleep 0.05; done
wait_value 'nh_latency_seconds_count{route="/a"}' 3000
wait_value 'nh_reduced_seconds_count' 1000
wait_value 'classic_seconds_bucket{le="+Inf"}' 801
wait_value 'jobs_total{route="/b"}' 1
# the recording rules fall back to the classic buckets: the median lies in (0.1, 0.25]
ttft_classic=none
for _ in $(seq 80); do
  ttft_classic=$(query 'job_model_quantile:gen_ai_server_time_to_first_token_seconds:histogram_quantile_rate5m{quantile="0.5"}')
  [ "$ttft_classic" != none ] && [ "$ttft_classic" != NaN ] && break
  sleep 0.25
done
python3 -c 'import sys; v = float(sys.argv[1]); sys.exit(not (0.1 < v <= 0.25))' "$ttft_classic" 2>/dev/null ||
  fail "classic TTFT p50 from the recording rules: $ttft_classic"
echo "native histograms: protobuf decoded and compared, Prometheus native and text scrapes agree"
echo "1 passed, 0 failed"
