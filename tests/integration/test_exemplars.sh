#!/bin/bash
# test_exemplars.sh - exemplars as the reference parser and the real Prometheus read them.
#
# build/examples/exemplars records inside sampled spans (automatic exemplars from the
# current span, explicit ones from an event loop's context, one unsampled job) and lists
# on stderr the exemplars it expects to show.
# 1. prometheus_client.openmetrics.parser (python3-prometheus-client) parses its
#    OpenMetrics output: every expected exemplar (ids, value, a timestamp near now) is on
#    its bucket or _total sample, the exemplar value lies in its bucket, and no other
#    sample (_sum, _count, _created) carries one. The text 0.0.4 output has none at all.
# 2. Prometheus 2.42 started with --enable-feature=exemplar-storage scrapes it on
#    loopback; /api/v1/query_exemplars returns, for the histogram and both counters,
#    exactly the trace and span ids the program used.
set -euo pipefail
build=${SONDE_BUILD:?SONDE_BUILD must name the build directory}
. "$(dirname "$0")/lib/procs.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }
py=/usr/bin/python3
prog="$build/examples/exemplars"
[ -x "$prog" ] || fail "$prog not built"
command -v prometheus >/dev/null || fail "prometheus is not installed (package prometheus)"
command -v curl >/dev/null || fail "curl is not installed"
"$py" -c 'import prometheus_client' || fail "python3-prometheus-client missing"

# 1. the reference parser
"$prog" --openmetrics >"$tmp/om.txt" 2>"$tmp/om.expected"
"$prog" >"$tmp/text.txt" 2>/dev/null
grep -q '^exemplar ' "$tmp/om.expected" || fail "the program listed no exemplars"
if grep -q ' # {' "$tmp/text.txt"; then fail "text 0.0.4 carries an exemplar: $(grep ' # {' "$tmp/text.txt")"; fi
"$py" - "$tmp/om.txt" "$tmp/om.expected" <<'EOF'
import math, sys, time
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om

text = open(sys.argv[1]).read()
expected = {}
for line in open(sys.argv[2]):
    if line.startswith('exemplar '):
        _, sample, le, trace, span, value = line.split()
        expected[(sample, le)] = (trace, span, float(value))  # later lines replace earlier ones
failures = []
seen = {}
bounds = {}
for fam in parse_om(text):
    for s in fam.samples:
        key = (s.name, s.labels.get('le', '-'))
        if s.exemplar is None:
            continue
        if not (s.name.endswith('_bucket') or s.name.endswith('_total')):
            failures.append('exemplar on %s' % s.name)
        seen[key] = s.exemplar
        chars = sum(len(k) + len(v) for k, v in s.exemplar.labels.items())
        if chars > 128:
            failures.append('%s: exemplar labels of %d characters' % (key, chars))
        if 'le' in s.labels:  # the value lies in its bucket: (previous bound, le]
            ups = sorted(float(x.labels['le']) for x in fam.samples if x.name == s.name)
            le = float(s.labels['le'])
            lower = max([u for u in ups if u < le], default=-math.inf)
            if not (lower < s.exemplar.value <= le):
                failures.append('%s: exemplar value %r outside (%r, %r]' % (key, s.exemplar.value, lower, le))
for key, (trace, span, value) in expected.items():
    ex = seen.get(key)
    if ex is None:
        failures.append('%s: no exemplar' % (key,))
        continue
    if ex.labels != {'trace_id': trace, 'span_id': span}:
        failures.append('%s: labels %r, want trace %s span %s' % (key, ex.labels, trace, span))
    if ex.value != value:
        failures.append('%s: value %r, want %r' % (key, ex.value, value))
    if ex.timestamp is None or abs(float(ex.timestamp) - time.time()) > 300:
        failures.append('%s: timestamp %r is not near now' % (key, ex.timestamp))
for key in seen:
    if key not in expected:
        failures.append('%s: an exemplar nobody recorded' % (key,))
if failures:
    print('FAIL: ' + '\n'.join(failures))
    sys.exit(1)
print('ok reference parser: %d exemplars' % len(expected))
EOF

# 2. the real Prometheus with exemplar storage
"$prog" --serve 0 --addr 127.0.0.1 >"$tmp/serve.out" 2>"$tmp/serve.expected" &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$tmp/serve.out" && break; sleep 0.05; done
port=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$tmp/serve.out")
[ -n "$port" ] || fail "exemplars did not start: $(cat "$tmp/serve.out" "$tmp/serve.expected")"

prom_port=$(free_port)
cat >"$tmp/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: exemplars
    static_configs:
      - targets: ['127.0.0.1:$port']
YAML
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
  --enable-feature=exemplar-storage \
  --web.listen-address="127.0.0.1:$prom_port" --log.level=warn >"$tmp/prom.log" 2>&1 &
pids+=($!)

# query_exemplars QUERY -> "trace span value" lines, one per stored exemplar
query_exemplars() {
  local now q
  now=$(date +%s)
  q=$("$py" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1")
  curl -fsS --max-time 2 \
    "http://127.0.0.1:$prom_port/api/v1/query_exemplars?query=$q&start=$((now - 600))&end=$((now + 600))" 2>/dev/null |
    "$py" -c 'import json, sys
for series in json.load(sys.stdin)["data"]:
    for e in series["exemplars"]:
        print(e["labels"].get("trace_id"), e["labels"].get("span_id"), "%g" % float(e["value"]))' 2>/dev/null | sort -u || true
}
# want SAMPLE -> the expected "trace span value" lines of that sample (last per le)
want() {
  awk -v s="$1" '$1 == "exemplar" && $2 == s {last[$3] = $4 " " $5 " " $6 + 0}
                 END {for (k in last) print last[k]}' "$tmp/serve.expected" | sort -u
}
for q in job_duration_seconds_bucket jobs_total received_bytes_total; do
  expect=$(want "$q")
  [ -n "$expect" ] || fail "no expected exemplar for $q"
  got=""
  for _ in $(seq 80); do
    got=$(query_exemplars "$q")
    [ "$got" = "$expect" ] && break
    sleep 0.25
  done
  [ "$got" = "$expect" ] || fail "Prometheus exemplars of $q:
$got
want:
$expect
prometheus log: $(tail -5 "$tmp/prom.log")"
  echo "ok Prometheus stored the exemplars of $q ($(echo "$expect" | wc -l))"
done
echo "2 passed, 0 failed"
