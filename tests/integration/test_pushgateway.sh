#!/bin/bash
# test_pushgateway.sh - sonde's Pushgateway client against the real Pushgateway (Debian
# prometheus-pushgateway) and a real Prometheus scraping it with honor_labels, all started
# on loopback on free ports by this test. The program is tests/integration/push/driver.c,
# configured by SONDE_PUSHGATEWAY_* variables only. The grouping key holds a value with
# '/', an empty value and UTF-8 (base64url "@base64" and percent-encoding).
#  1. PUT pushes the group with its grouping labels.
#  2. POST merges: a metric of another name joins, the first stays.
#  3. PUT replaces: only what was pushed last remains.
#  4. Prometheus (honor_labels: true) scrapes the pushed series with the job and the
#     grouping labels as pushed.
#  5. The batch-job helper: a success PUTs <job>_last_success_timestamp_seconds (a recent
#     time) with the registry; a failure POSTs, and the last success stays as it was.
#  6. DELETE removes the group.
set -euo pipefail
build=${SONDE_BUILD:?} src=${SONDE_SRC:?}
. "$(dirname "$0")/lib/procs.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v prometheus-pushgateway >/dev/null || fail "prometheus-pushgateway is not installed"
command -v prometheus >/dev/null || fail "prometheus is not installed"
driver=$build/tests/push_driver
[ -x "$driver" ] || fail "no $driver"

pg_port=$(free_port)
prometheus-pushgateway --web.listen-address="127.0.0.1:$pg_port" \
  --persistence.file="$tmp/pg.data" --log.level=warn >"$tmp/pg.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  curl -fsS --max-time 1 "http://127.0.0.1:$pg_port/-/ready" >/dev/null 2>&1 && break
  sleep 0.1
done
export SONDE_PUSHGATEWAY_URL="http://127.0.0.1:$pg_port"
export SONDE_PUSHGATEWAY_JOB="nightly/batch"
export SONDE_PUSHGATEWAY_GROUPING='path=%2Fvar%2Fdata,empty=,site=caf%C3%A9'
export SONDE_LOG_FILE=$tmp/driver.log
passed=0
push() { # push METHOD SPEC -> the driver's "status N rc R"
  local out
  out=$("$driver" push "$@") || fail "driver push $*: $out"
  echo "$out"
}
# group GROUP_METRICS_JSON -> the metric names of our group, sorted, one line
group() {
  curl -fsS --max-time 5 "http://127.0.0.1:$pg_port/api/v1/metrics" | /usr/bin/python3 -c '
import json, sys
names = []
for g in json.load(sys.stdin)["data"]:
    l = g["labels"]
    if l.get("job") == "nightly/batch" and l.get("path") == "/var/data" and l.get("site") == "café" \
       and l.get("empty", "") == "":
        names += [k for k in g if k not in ("labels", "last_push_successful", "push_time_seconds", "push_failure_time_seconds")]
print(" ".join(sorted(names)))'
}

[ "$(push PUT pg_first=1)" = "status 200 rc 0" ] || fail "PUT"
[ "$(group)" = "pg_first" ] || fail "after PUT the group holds '$(group)'"
passed=$((passed + 1)); echo "ok 1 - PUT pushed the group (grouping key with '/', empty, UTF-8)"

[ "$(push POST pg_second=2)" = "status 200 rc 0" ] || fail "POST"
[ "$(group)" = "pg_first pg_second" ] || fail "after POST the group holds '$(group)'"
passed=$((passed + 1)); echo "ok 2 - POST merged"

[ "$(push PUT pg_third=3)" = "status 200 rc 0" ] || fail "PUT 2"
[ "$(group)" = "pg_third" ] || fail "after the second PUT the group holds '$(group)'"
passed=$((passed + 1)); echo "ok 3 - PUT replaced"

prom_port=$(free_port)
cat >"$tmp/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: pushgateway
    honor_labels: true
    static_configs:
      - targets: ['127.0.0.1:$pg_port']
YAML
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
  --web.listen-address="127.0.0.1:$prom_port" --log.level=warn >"$tmp/prom.log" 2>&1 &
pids+=($!)
seen=""
for _ in $(seq 150); do
  seen=$(curl -fsS --max-time 2 "http://127.0.0.1:$prom_port/api/v1/query?query=pg_third" 2>/dev/null |
    /usr/bin/python3 -c 'import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(" ".join(sorted(f"{k}={v}" for k, v in r[0]["metric"].items() if k != "instance")) + " " + r[0]["value"][1] if r else "")' 2>/dev/null || true)
  [ -n "$seen" ] && break
  sleep 0.2
done
[ "$seen" = "__name__=pg_third job=nightly/batch path=/var/data site=café 3" ] ||
  fail "Prometheus sees '$seen'"
passed=$((passed + 1)); echo "ok 4 - Prometheus with honor_labels sees the pushed series and labels"

out=$("$driver" jobend 1) || fail "jobend 1"
[ "$out" = "status 200 rc 0" ] || fail "jobend 1: $out"
ts=$(curl -fsS "http://127.0.0.1:$pg_port/metrics" | grep '^nightly_batch_last_success_timestamp_seconds{' | awk '{print $2}')
[ -n "$ts" ] || fail "no last-success gauge pushed"
/usr/bin/python3 -c "import sys, time; sys.exit(0 if abs(float('$ts') - time.time()) < 600 else 1)" ||
  fail "last success timestamp $ts is not now"
curl -fsS "http://127.0.0.1:$pg_port/metrics" | grep -q '^rw_jobs_total{.*} 42$' || fail "the job's registry was not pushed"
out=$("$driver" jobend 0) || fail "jobend 0"
[ "$out" = "status 200 rc 0" ] || fail "jobend 0: $out"
ts2=$(curl -fsS "http://127.0.0.1:$pg_port/metrics" | grep '^nightly_batch_last_success_timestamp_seconds{' | awk '{print $2}')
[ "$ts2" = "$ts" ] || fail "a failed run changed the last success: '$ts' -> '$ts2'"
passed=$((passed + 1)); echo "ok 5 - the batch-job helper: last success pushed on success, kept on failure"

[ "$(push DELETE)" = "status 202 rc 0" ] || [ "$(push DELETE)" = "status 200 rc 0" ] || fail "DELETE"
[ -z "$(group)" ] || fail "after DELETE the group holds '$(group)'"
passed=$((passed + 1)); echo "ok 6 - DELETE removed the group"
echo "$passed passed, 0 failed"
