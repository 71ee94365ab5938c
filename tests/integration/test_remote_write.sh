#!/bin/bash
# test_remote_write.sh - sonde's remote write sender against the real Prometheus (Debian,
# --web.enable-remote-write-receiver), started on loopback on a free port by this test.
# The program is tests/integration/push/driver.c, configured only by SONDE_* variables.
#  1. After a few intervals every series the program holds (its text exposition, parsed
#     by the reference parser python3-prometheus-client) is in Prometheus with its value:
#     counters, a gauge, histogram buckets/sum/count, summary quantiles/sum/count, an info,
#     a custom collector's counter, hostile UTF-8 label values, the global label and the
#     external label.
#     Native histograms (Prometheus with --enable-feature=native-histograms): a
#     native-only one arrives as one histogram series (no _count/_sum/_bucket series), a
#     mixed one as its classic series plus the histogram; histogram_count/histogram_sum
#     equal the _count/_sum the program's exposition shows.
#  2. Prometheus stopped, the program keeps snapshotting into its backlog (4 snapshots)
#     until it has dropped some; Prometheus restarted on the same storage: every snapshot
#     number inside the bound arrives, those dropped are exactly the ones counted, none
#     is duplicated or out of order (rw_seq carries the snapshot number).
#  3. sonde-gateway sends its metrics with the receiver named in its JSON config and the
#     interval given by --remote-write-interval; a malformed --remote-write-url is refused.
set -euo pipefail
build=${SONDE_BUILD:?} src=${SONDE_SRC:?}
. "$(dirname "$0")/lib/procs.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v prometheus >/dev/null || fail "prometheus is not installed"
driver=$build/tests/push_driver
[ -x "$driver" ] || fail "no $driver"

prom_port=$(free_port)
cat >"$tmp/prometheus.yml" <<YAML
global:
  scrape_interval: 15s
YAML
start_prom() {
  prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
    --web.listen-address="127.0.0.1:$prom_port" --web.enable-remote-write-receiver \
    --enable-feature=native-histograms --log.level=warn >>"$tmp/prom.log" 2>&1 &
  prom_pid=$!
  pids+=($prom_pid)
  for _ in $(seq 200); do
    curl -fsS --max-time 1 "http://127.0.0.1:$prom_port/-/ready" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "prometheus did not become ready: $(tail -5 "$tmp/prom.log")"
}
start_prom

export SONDE_REMOTE_WRITE_URL="http://127.0.0.1:$prom_port/api/v1/write"
export SONDE_REMOTE_WRITE_INTERVAL=0.3
export SONDE_REMOTE_WRITE_BACKLOG=4
export SONDE_REMOTE_WRITE_EXTERNAL_LABELS='region=eu%2Fwest'
export SONDE_GLOBAL_LABELS='service=rw-test'
export SONDE_LOG_FILE=$tmp/driver.log
coproc DRV { exec "$driver" rw "$tmp/expo.txt" 2>"$tmp/driver.err"; }
pids+=($DRV_PID)
# our own copies of the pipes: bash unsets DRV as soon as the driver exits
exec {drv_out}<&"${DRV[0]}" {drv_in}>&"${DRV[1]}"
read -r -t 10 line <&"$drv_out" || fail "driver did not start: $(cat "$tmp/driver.err")"
[ "$line" = ready ] || fail "driver said: $line"
# stats KEY: one of the driver's counts
stats() {
  echo stats >&"$drv_in"
  read -r -t 10 line <&"$drv_out" || fail "driver did not answer stats"
  echo "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"
}
wait_for() { # wait_for DESCRIPTION CONDITION...
  local what=$1; shift
  for _ in $(seq 300); do "$@" && return 0; sleep 0.1; done
  fail "$what (stats: $line)"
}
delivered_some() { [ "$(stats samples)" -gt 0 ] && [ "$(stats snapshots)" -ge 3 ] && [ "$(stats queue)" -eq 0 ]; }
wait_for "no snapshots delivered" delivered_some

# 1. every series with its value
api() { curl -fsS --max-time 5 "http://127.0.0.1:$prom_port/api/v1/$1"; }
compare() {
  api 'query?query=%7B__name__%3D~%22rw_.%2A%22%7D' >"$tmp/q.json" || return 1
  /usr/bin/python3 - "$tmp/expo.txt" "$tmp/q.json" <<'PY'
import json, sys
from prometheus_client.parser import text_string_to_metric_families
want = {}
for fam in text_string_to_metric_families(open(sys.argv[1], encoding="utf-8").read()):
    for s in fam.samples:
        if s.name == "rw_seq" or fam.name == "rw_native_seconds":  # native only: a histogram
            continue
        labels = {k: v for k, v in s.labels.items() if v}  # empty means absent
        labels.update(__name__=s.name, region="eu/west")
        want[tuple(sorted(labels.items()))] = s.value
got = {}
for r in json.load(open(sys.argv[2]))["data"]["result"]:
    if r["metric"]["__name__"] == "rw_seq" or "value" not in r:  # native: checked below
        continue
    got[tuple(sorted(r["metric"].items()))] = float(r["value"][1])
missing = [k for k in want if k not in got]
wrong = [(k, want[k], got[k]) for k in want if k in got and got[k] != want[k]]
extra = [k for k in got if k not in want]
if missing or wrong or extra or len(want) < 15:
    print("missing", missing, "wrong", wrong, "extra", extra, "want", len(want), file=sys.stderr)
    sys.exit(1)
print(len(want))
PY
}
n=""
for _ in $(seq 50); do n=$(compare 2>"$tmp/compare.err") && break; sleep 0.2; done
[ -n "$n" ] || fail "series differ: $(cat "$tmp/compare.err")"
grep -qF 'path="日本 🔥 ​",Zone="us"} 5' "$tmp/expo.txt" ||
  fail "the exposition lacks the hostile series"
grep -qF 'rw_collected_total{service="rw-test",source="café \"q\" \\ 🔥"} 17' "$tmp/expo.txt" ||
  fail "the exposition lacks the collector's series"
# the native histograms: count and sum as the program observed them
native() {
  for fam in rw_native_seconds rw_mixed_seconds; do
    for what in count sum; do
      api "query?query=histogram_$what($fam)" >"$tmp/h_${fam}_${what}.json" || return 1
      /usr/bin/python3 - "$tmp/expo.txt" "$tmp/h_${fam}_${what}.json" "$fam" "$what" <<'PY' || return 1
import json, sys
from prometheus_client.parser import text_string_to_metric_families
fam, what = sys.argv[3], sys.argv[4]
want = [s.value for f in text_string_to_metric_families(open(sys.argv[1], encoding="utf-8").read())
        for s in f.samples if s.name == f"{fam}_{what}"]
r = json.load(open(sys.argv[2]))["data"]["result"]
assert len(want) == 1 and len(r) == 1, f"{fam} {what}: want {want}, got {r}"
assert float(r[0]["value"][1]) == want[0], f"{fam} {what}: want {want[0]}, got {r[0]['value'][1]}"
PY
    done
  done
}
for _ in $(seq 50); do native 2>"$tmp/native.err" && break; sleep 0.2; done
native || fail "native histograms: $(cat "$tmp/native.err")"
want_count=$(sed -n 's/^rw_native_seconds_count{.*} //p' "$tmp/expo.txt")
[ "$want_count" = 7 ] || fail "the exposition shows rw_native_seconds_count $want_count, the driver observed 7"
api 'series?match%5B%5D=%7B__name__%3D~%22rw_native_seconds.%2A%22%7D' |
  /usr/bin/python3 -c 'import json, sys
names = sorted(s["__name__"] for s in json.load(sys.stdin)["data"])
assert names == ["rw_native_seconds"], names' || fail "a native-only histogram must arrive as one series"
echo "ok 1 - all $n series in Prometheus with their values, labels intact; native histograms' count and sum"

# 2. receiver down: the backlog fills, the oldest are dropped and counted; back: the rest
kill "$prom_pid"; wait "$prom_pid" 2>/dev/null || true
dropped_two() { [ "$(stats dropped_snapshots)" -ge 2 ]; }
wait_for "nothing dropped while the receiver was down" dropped_two
[ "$(stats queue)" -le 4 ] || fail "the backlog exceeds its bound: $line"
start_prom
drained() { [ "$(stats queue)" -eq 0 ] && [ "$(stats retries)" -gt 0 ]; }
wait_for "the backlog did not drain" drained
dropped=$(stats dropped_snapshots)
echo quit >&"$drv_in"
read -r -t 20 line <&"$drv_out" || fail "driver did not stop"
[ "$line" = stopped ] || fail "driver said: $line"
logged=$(grep -c 'remote write: backlog full' "$tmp/driver.log" || true)
[ "$logged" = "$dropped" ] || fail "$dropped snapshots dropped, $logged logged"
api 'query?query=rw_seq%5B1h%5D' >"$tmp/seq.json" || fail "query rw_seq"
/usr/bin/python3 - "$tmp/seq.json" "$dropped" <<'PY' || fail "rw_seq check failed"
import json, sys
r = json.load(open(sys.argv[1]))["data"]["result"]
assert len(r) == 1, f"rw_seq: {len(r)} series"
dropped = int(sys.argv[2])
vals = [(int(t * 1000), float(v)) for t, v in r[0]["values"]]
ts = [t for t, _ in vals]
seq = [int(v) for _, v in vals]
assert ts == sorted(ts) and len(set(ts)) == len(ts), "timestamps out of order or duplicated"
assert seq == sorted(seq) and len(set(seq)) == len(seq), "snapshot numbers duplicated or out of order"
missing = (seq[-1] - seq[0] + 1) - len(seq)
assert missing == dropped, f"{missing} snapshots missing, {dropped} counted as dropped"
assert dropped >= 2
print(f"{len(seq)} snapshots received in order, {missing} missing = {dropped} dropped")
PY
echo "ok 2 - receiver stopped and restarted: nothing inside the backlog lost, drops counted"

# 3. sonde-gateway: the receiver from its JSON config, the interval from its flag
unset SONDE_REMOTE_WRITE_URL SONDE_REMOTE_WRITE_INTERVAL SONDE_GLOBAL_LABELS
export SONDE_REMOTE_WRITE_EXTERNAL_LABELS=source=gateway
cat >"$tmp/gw.json" <<JSON
{"remote_write": {"url": "http://127.0.0.1:$prom_port/api/v1/write", "interval_s": 60}}
JSON
"$build/sonde-gateway" --port 0 --config "$tmp/gw.json" --remote-write-interval 0.3 \
  >"$tmp/gw.out" 2>&1 &
gw_pid=$!
pids+=($gw_pid)
got=""
for _ in $(seq 100); do
  got=$(api 'query?query=count(%7Bsource%3D%22gateway%22%2C__name__%3D~%22gateway_.%2A%22%7D)' 2>/dev/null |
    /usr/bin/python3 -c 'import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")' 2>/dev/null || true)
  [ -n "$got" ] && [ "$got" -gt 0 ] && break
  sleep 0.2
done
[ -n "$got" ] && [ "$got" -gt 0 ] || fail "no gateway_* series from sonde-gateway: $(tail -3 "$tmp/gw.out")"
# its process_* series come from a collector
procs=$(api 'query?query=count(%7Bsource%3D%22gateway%22%2C__name__%3D~%22process_.%2A%22%7D)' |
  /usr/bin/python3 -c 'import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else 0)')
[ "$procs" -gt 0 ] || fail "no process_* series from sonde-gateway's collector"
kill "$gw_pid"; wait "$gw_pid" 2>/dev/null || true
bad=$("$build/sonde-gateway" --port 0 --remote-write-url ftp://x 2>&1 || true)
echo "$bad" | grep -q SONDE_REMOTE_WRITE_URL || fail "a malformed --remote-write-url was not refused: $bad"
echo "ok 3 - sonde-gateway remote-writes its $got gateway_* and $procs process_* series (JSON url, --remote-write-interval)"
echo "3 passed, 0 failed"
