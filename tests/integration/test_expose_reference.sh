#!/usr/bin/env bash
# test_expose_reference.sh - the output of build/examples/expose checked by the
# reference implementations, not by our own reading of the formats:
#   text 0.0.4   -> `promtool check metrics` (no lint findings, exit 0) and
#                   prometheus_client.parser
#   OpenMetrics  -> Prometheus's own OpenMetrics parser, through
#                   `promtool tsdb create-blocks-from openmetrics` (it needs a
#                   timestamp on every sample, so one is appended; promtool
#                   check metrics itself only reads the text format), and
#                   prometheus_client.openmetrics.parser (strict)
# and specific parsed samples: hostile label values round-trip exactly, HELP
# unescapes, counters, histogram, summary, info, stateset, global labels and
# process metrics are there with the values the example records.
set -euo pipefail

build=${SONDE_BUILD:-build}
expose="$build/examples/expose"
py=/usr/bin/python3
[ -x "$expose" ] || { echo "FAIL: $expose not built"; exit 1; }
command -v promtool >/dev/null || { echo "FAIL: promtool not installed (package prometheus)"; exit 1; }
"$py" -c 'import prometheus_client' || { echo "FAIL: python3-prometheus-client missing"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$expose" >"$tmp/text.txt"
"$expose" --openmetrics >"$tmp/om.txt"
if "$expose" --bogus >/dev/null 2>&1; then echo "FAIL: expose accepted an unknown option"; exit 1; fi

# promtool: the text format must pass without a single lint finding.
if ! promtool check metrics <"$tmp/text.txt" >"$tmp/lint.txt" 2>&1; then
    echo "FAIL: promtool check metrics (text):"; cat "$tmp/lint.txt"; exit 1
fi
if [ -s "$tmp/lint.txt" ]; then
    echo "FAIL: promtool lint findings (text):"; cat "$tmp/lint.txt"; exit 1
fi
echo "ok promtool check metrics (text 0.0.4)"

# Prometheus's OpenMetrics parser: every sample stamped, then ingested into a block.
sed -E '/^#/!s/$/ 1700000000/' "$tmp/om.txt" >"$tmp/om_ts.txt"
if ! promtool tsdb create-blocks-from openmetrics "$tmp/om_ts.txt" "$tmp/tsdb" >"$tmp/blocks.txt" 2>&1; then
    echo "FAIL: Prometheus's OpenMetrics parser refused the output:"; cat "$tmp/blocks.txt"; exit 1
fi
samples=$(grep -cv '^#' "$tmp/om.txt")
grep -Eq "[[:space:]]$samples[[:space:]]+[0-9]+[[:space:]]+$samples[[:space:]]" "$tmp/blocks.txt" || {
    echo "FAIL: expected $samples samples and series in the block:"; cat "$tmp/blocks.txt"; exit 1
}
echo "ok promtool tsdb create-blocks-from openmetrics ($samples samples)"

# The Python reference parsers, with specific samples.
"$py" - "$tmp/text.txt" "$tmp/om.txt" <<'EOF'
import sys
from prometheus_client.parser import text_string_to_metric_families as parse_text
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om

HOSTILE = 'quote" back\\slash\nnewline'
UNICODE = '/caf\u00e9/\u65e5\u672c/\U0001F680'
GLOBAL = {'service': 'expose-example', 'environment': 'dev'}
failures = []

def check(cond, what):
    if not cond:
        failures.append(what)

def families(parse, path):
    with open(path, encoding='utf-8') as f:
        return {fam.name: fam for fam in parse(f.read())}

def samples(fam, name=None):
    return [s for s in fam.samples if name is None or s.name == name]

def one(fam, name, **labels):
    want = dict(GLOBAL, **labels)
    found = [s for s in fam.samples if s.name == name and s.labels == want]
    check(len(found) == 1, f'{name}{want}: found {len(found)}')
    return found[0].value if found else None

for fmt, parse, path in (('text', parse_text, sys.argv[1]), ('openmetrics', parse_om, sys.argv[2])):
    fams = families(parse, path)
    om = fmt == 'openmetrics'
    def fam(name, typ):
        f = fams.get(name)
        check(f is not None, f'{fmt}: family {name} missing (have {sorted(fams)})')
        if f is not None:
            check(f.type == typ, f'{fmt}: {name} is {f.type}, want {typ}')
        return f

    # every sample carries the global labels
    for f in fams.values():
        for s in f.samples:
            check(all(s.labels.get(k) == v for k, v in GLOBAL.items()), f'{fmt}: {s.name} lacks global labels')

    req = fam('example_requests', 'counter')
    if req:
        check(req.documentation == 'Requests by method and path.\nSecond line with a \\ backslash.',
              f'{fmt}: HELP unescaped to {req.documentation!r}')
        check(one(req, 'example_requests_total', method='POST', path=HOSTILE) == 1, f'{fmt}: hostile value')
        check(one(req, 'example_requests_total', method='GET', path=UNICODE) == 2, f'{fmt}: UTF-8 value')
        check(one(req, 'example_requests_total', method='GET', path='/api/v1/items') == 7, f'{fmt}: plain value')
        created = samples(req, 'example_requests_created')
        check(len(created) == (3 if om else 0), f'{fmt}: {len(created)} _created samples')
    jobs = fam('example_jobs_started', 'counter')
    if jobs:
        check(one(jobs, 'example_jobs_started_total') == 42, f'{fmt}: jobs started')
    temp = fam('example_temperature_celsius', 'gauge')
    if temp:
        check(one(temp, 'example_temperature_celsius') == 21.25, f'{fmt}: temperature')
    depth = fam('example_queue_depth', 'gauge')
    if depth:
        check(one(depth, 'example_queue_depth') == 12, f'{fmt}: callback gauge')
    ttft = fam('example_ttft_seconds', 'histogram')
    if ttft:
        inf = one(ttft, 'example_ttft_seconds_bucket', model='small', le='+Inf')
        count = one(ttft, 'example_ttft_seconds_count', model='small')
        check(inf == count == 7, f'{fmt}: +Inf {inf} count {count}')
        check(one(ttft, 'example_ttft_seconds_bucket', model='small', le='0.005') == 1, f'{fmt}: le=0.005')
        check(one(ttft, 'example_ttft_seconds_bucket', model='small', le='10') == 6, f'{fmt}: le=10')
        check(abs(one(ttft, 'example_ttft_seconds_sum', model='small') - 16.204) < 1e-12, f'{fmt}: sum')
        buckets = [s.value for s in samples(ttft, 'example_ttft_seconds_bucket')]
        check(buckets == sorted(buckets) and len(buckets) == 17, f'{fmt}: buckets {buckets}')
        if om:
            check(ttft.unit == 'seconds', f'{fmt}: histogram unit {ttft.unit!r}')
    lat = fam('example_latency_seconds', 'summary')
    if lat:
        check(one(lat, 'example_latency_seconds_count') == 100, f'{fmt}: summary count')
        check(one(lat, 'example_latency_seconds_sum') == 50.5, f'{fmt}: summary sum')
        for q, lo, hi in (('0.5', 0.45, 0.55), ('0.9', 0.89, 0.91), ('0.99', 0.989, 0.991)):
            v = one(lat, 'example_latency_seconds', quantile=q)
            check(v is not None and lo <= v <= hi, f'{fmt}: quantile {q} = {v}')
    if om:
        build = fam('example_build', 'info')
        if build:
            check(one(build, 'example_build_info', version='0.1.0', commit='abc123') == 1, 'om: info')
        phase = fam('example_phase', 'stateset')
        if phase:
            check(one(phase, 'example_phase', example_phase='serving') == 1, 'om: stateset serving')
            check(one(phase, 'example_phase', example_phase='starting') == 0, 'om: stateset starting')
        cpu = fam('process_cpu_seconds', 'counter')
    else:
        build = fam('example_build_info', 'gauge')
        if build:
            check(one(build, 'example_build_info', version='0.1.0', commit='abc123') == 1, 'text: info')
        phase = fam('example_phase', 'gauge')
        if phase:
            check(one(phase, 'example_phase', example_phase='draining') == 0, 'text: stateset')
        cpu = fam('process_cpu_seconds', 'counter')
    if cpu:
        check(one(cpu, 'process_cpu_seconds_total') >= 0, f'{fmt}: cpu')
    for name in ('process_resident_memory_bytes', 'process_virtual_memory_bytes', 'process_start_time_seconds',
                 'process_open_fds', 'process_max_fds'):
        f = fam(name, 'gauge')
        if f:
            check(one(f, name) > 0, f'{fmt}: {name} > 0')
    workers = fam('example_workers', 'gauge')
    if workers:
        check(one(workers, 'example_workers', state='busy') == 5, f'{fmt}: collector')
    print(f'ok python reference parser ({fmt}): {len(fams)} families')

if failures:
    print('FAIL:\n  ' + '\n  '.join(failures))
    sys.exit(1)
EOF

# The OpenMetrics parser must also refuse a broken exposition: proof that it checks.
head -n -1 "$tmp/om.txt" >"$tmp/om_noeof.txt"
if "$py" -c 'import sys; from prometheus_client.openmetrics.parser import text_string_to_metric_families as p; list(p(open(sys.argv[1]).read()))' "$tmp/om_noeof.txt" 2>/dev/null; then
    echo "FAIL: the OpenMetrics parser accepted output without # EOF"; exit 1
fi
echo "ok all reference checks"
