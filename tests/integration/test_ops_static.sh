#!/bin/bash
# Static checks of the operations kit in deploy/, with the real engines:
# promtool check config / check rules / test rules, amtool check-config and
# route tests (critical alerts to email, Slack and the webhook, the rest to the
# webhook; the receivers' secrets read from files, none inline), plus three
# checks of our own: every recording and alerting rule
# is exercised by a promtool unit test, the Grafana files are well formed
# (every panel has a query, provisioning points at the dashboards folder), and
# the checkers really reject a broken rule and a broken Alertmanager file.
set -euo pipefail
SRC=${SONDE_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
D=$SRC/deploy
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

promtool check config "$D/prometheus.yml"
promtool check rules "$D"/rules/*.yml
promtool test rules "$D"/rules/tests/*.yml
amtool check-config "$D/alertmanager.yml"

# Routing by severity (and the default route for anything else): critical alerts
# page by email and Slack and reach the webhook, the rest only the webhook.
route_to() {
  amtool config routes test --config.file="$D/alertmanager.yml" --verify.receivers="$1" \
    severity="$2" alertname=SondeHighErrorRatio service=sonde-gateway >/dev/null 2>&1
}
route_to email,slack,webhook critical || fail "severity=critical does not reach email, slack and webhook"
for sev in warning info; do
  route_to webhook $sev || fail "severity=$sev does not route to the webhook receiver alone"
done
# Secrets are read from files, never written inline.
grep -qE '^\s*smtp_auth_password_file: ' "$D/alertmanager.yml" || fail "no smtp_auth_password_file"
grep -qE '^\s*- api_url_file: ' "$D/alertmanager.yml" || fail "slack has no api_url_file"
grep -nE '^\s*-?\s*(smtp_auth_password|smtp_auth_secret|api_url|slack_api_url|auth_password):' \
  "$D/alertmanager.yml" && fail "a secret is written inline in alertmanager.yml"

# Coverage: every rule appears in some unit test.
/usr/bin/python3 - "$D" <<'PY'
import glob, re, sys, yaml
d = sys.argv[1]
records, alerts = set(), set()
for f in glob.glob(d + "/rules/*.yml"):
    for g in yaml.safe_load(open(f))["groups"]:
        for r in g["rules"]:
            (records if "record" in r else alerts).add(r.get("record") or r.get("alert"))
exprs, tested_alerts = "", set()
for f in glob.glob(d + "/rules/tests/*.yml"):
    for t in yaml.safe_load(open(f))["tests"]:
        exprs += "\n" + "\n".join(e["expr"] for e in t.get("promql_expr_test", []))
        tested_alerts |= {a["alertname"] for a in t.get("alert_rule_test", [])
                          if a.get("exp_alerts")}
missing = sorted(r for r in records
                 if not re.search(r"(?<![\w:])" + re.escape(r) + r"(?![\w:])", exprs)) + sorted(alerts - tested_alerts)
if missing:
    sys.exit("rules without a unit test (firing): " + ", ".join(missing))
print(f"coverage: {len(records)} recording rules and {len(alerts)} alerts all tested")
PY

# Grafana: JSON dashboards with a query in every panel; provisioning files.
/usr/bin/python3 - "$D" <<'PY'
import glob, json, sys, yaml
d = sys.argv[1] + "/grafana"
dash = sorted(glob.glob(d + "/dashboards/*.json"))
if len(dash) < 5:
    sys.exit("expected five dashboards (HTTP, LLM overview, agents, infrastructure, business)")
uids = set()
for f in dash:
    j = json.load(open(f))
    assert j["uid"] not in uids, f + ": duplicate uid"
    uids.add(j["uid"])
    panels = [p for p in j["panels"] if p["type"] != "row"]
    assert panels, f + ": no panels"
    for p in panels:
        assert p.get("targets") and all(t.get("expr") for t in p["targets"]), \
            f"{f}: panel '{p['title']}' has no query"
        assert p["datasource"]["uid"] == "${datasource}", f"{f}: panel '{p['title']}' datasource"
ds = yaml.safe_load(open(d + "/provisioning/datasources/prometheus.yml"))
assert ds["datasources"][0]["type"] == "prometheus"
prov = yaml.safe_load(open(d + "/provisioning/dashboards/sonde.yml"))
assert prov["providers"][0]["options"]["path"]
print(f"grafana: {len(dash)} dashboards")
PY

# The checkers are not lenient: a broken rule and a broken route are refused.
sed 's/expr: job:http_requests:error_ratio_rate5m >/expr: job:http_requests:error_ratio_rate5m >>/' \
  "$D/rules/alerts.yml" >"$tmp/alerts.yml"
promtool check rules "$tmp/alerts.yml" >/dev/null 2>&1 && fail "promtool accepted a broken rule"
sed 's/receiver: webhook$/receiver: nowhere/' "$D/alertmanager.yml" >"$tmp/am.yml"
amtool check-config "$tmp/am.yml" >/dev/null 2>&1 && fail "amtool accepted an unknown receiver"
echo "ops static checks: all passed"
