#!/bin/bash
# The metric reference stays true to the code: docs/metrics.md must be exactly
# what `sonde-gateway --list-metrics` prints (every family with type, labels,
# buckets and help, in Markdown), and every raw metric the operations kit
# (deploy/rules, deploy/grafana) reads must be in it.
# To refresh the reference: build/sonde-gateway --list-metrics --config deploy/gateway.json > docs/metrics.md
set -euo pipefail
SRC=${SONDE_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${SONDE_BUILD:-$SRC/build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$BUILD/sonde-gateway" --list-metrics --config "$SRC/deploy/gateway.json" >"$tmp/metrics.md" || fail "--list-metrics failed"
# Plausible output: the contract's families with their types.
for f in http_requests_total http_request_duration_seconds gen_ai_server_time_to_first_token_seconds \
         gateway_provider_calls_total gateway_tokens_total gateway_cost_total gateway_ready; do
  grep -q "$f" "$tmp/metrics.md" || fail "--list-metrics does not list $f"
done
grep -q histogram "$tmp/metrics.md" && grep -q counter "$tmp/metrics.md" && grep -q gauge "$tmp/metrics.md" ||
  fail "--list-metrics does not give the types"
diff -u "$SRC/docs/metrics.md" "$tmp/metrics.md" ||
  fail "docs/metrics.md drifted from --list-metrics (refresh: build/sonde-gateway --list-metrics --config deploy/gateway.json > docs/metrics.md)"

# Every metric the rules and dashboards read is exported (recorded series and
# the series Prometheus makes of every scrape, `up`, `scrape_duration_seconds` and
# `scrape_samples_scraped`, excepted).
/usr/bin/python3 - "$SRC/deploy" "$tmp/metrics.md" <<'PY'
import glob, json, re, sys, yaml
deploy, listing = sys.argv[1], open(sys.argv[2]).read()
exprs = []
for f in glob.glob(deploy + "/rules/*.yml"):
    for g in yaml.safe_load(open(f))["groups"]:
        exprs += [r["expr"] for r in g["rules"]]
for f in glob.glob(deploy + "/grafana/dashboards/*.json"):
    for p in json.load(open(f))["panels"]:
        exprs += [t["expr"] for t in p.get("targets", [])]
words = set()
for e in exprs:
    e = re.sub(r'"[^"]*"', '""', e)                       # drop label values
    e = re.sub(r"\{[^}]*\}", "", e)                         # and matchers
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    words |= set(re.findall(r"(?<![\w:$])[a-zA-Z_][a-zA-Z0-9_]*(?=\s*[{\[)]|\s*$|\s*[-+*/<>=])", e))
missing = []
for w in sorted(words):
    if w in ("up", "scrape_duration_seconds", "scrape_samples_scraped", "time", "vector", "scalar", "sum", "rate", "increase", "histogram_quantile", "count",
             "max", "absent", "label_replace", "or", "and", "unless") or ":" in w:
        continue
    base = re.sub(r"_(bucket|sum|count)$", "", w)
    if not any(re.search(r"\b" + re.escape(n) + r"\b", listing)
               for n in (w, base, re.sub(r"_total$", "", base))):
        missing.append(w)
if missing:
    sys.exit("metrics read by deploy/ but not exported: " + ", ".join(missing))
PY
echo "metric reference: up to date"
