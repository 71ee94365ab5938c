#!/bin/bash
# test_push_faults.sh - the remote-write sender and the Pushgateway client when the
# receiver misbehaves: a tiny receiver (tests/integration/push/fault_server.py) started on
# loopback answers as each case asks; the program is tests/integration/push/driver.c,
# configured by SONDE_* variables only. Counts are read from the program (shape, not time).
#  1. 503, then 429 with Retry-After, then 200: retried, then delivered, nothing failed;
#     every request carries the remote-write headers and the bearer token.
#  2. 400: not retried; each snapshot is one request, counted as failed, logged with the
#     status and the answer's text (non-printable bytes masked).
#  3. receiver down: the backlog stays within its bound, the oldest are dropped and
#     counted, and the program answers at once meanwhile (its thread is not blocked).
#  4. slow receiver (longer than the timeout): requests time out and are retried.
#  5. HTTPS with a self-signed certificate: refused (failed, not retried); accepted with
#     SONDE_REMOTE_WRITE_CA_FILE naming it, and with SONDE_PUSH_INSECURE_SKIP_VERIFY=true.
#  6. Pushgateway answering 400: the client returns the status, one error record with it;
#     the request carried the basic credentials of SONDE_PUSHGATEWAY_BASIC_*.
set -euo pipefail
build=${SONDE_BUILD:?} src=${SONDE_SRC:?}
. "$(dirname "$0")/lib/procs.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v openssl >/dev/null || fail "openssl is not installed"
driver=$build/tests/push_driver
[ -x "$driver" ] || fail "no $driver"
server=$src/tests/integration/push/fault_server.py

# receiver NAME ANSWERS [CERT KEY]: start one; its port in $port, its log $tmp/NAME.log
receiver() {
  port=$(free_port)
  /usr/bin/python3 "$server" "$port" "$tmp/$1.log" "$2" "${3:-}" "${4:-}" 2>"$tmp/$1.err" &
  pids+=($!)
  for _ in $(seq 100); do [ -f "$tmp/$1.log.ready" ] && return 0; sleep 0.1; done
  fail "receiver $1 did not start: $(cat "$tmp/$1.err")"
}
# run_driver NAME: start the driver (environment as set), talk through DRV
run_driver() {
  export SONDE_LOG_FILE=$tmp/$1.driver.log
  coproc DRV { exec "$driver" rw "$tmp/$1.expo" 2>"$tmp/$1.driver.err"; }
  drv_pid=$DRV_PID
  pids+=($drv_pid)
  # our own copies of the pipes: bash unsets DRV as soon as the driver exits
  exec {drv_out}<&"${DRV[0]}" {drv_in}>&"${DRV[1]}"
  read -r -t 10 line <&"$drv_out" || fail "driver did not start: $(cat "$tmp/$1.driver.err")"
}
stats() {
  echo stats >&"$drv_in"
  read -r -t 10 line <&"$drv_out" || fail "driver did not answer stats (blocked?)"
  echo "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"
}
stop_driver() {
  echo quit >&"$drv_in"
  read -r -t 30 line <&"$drv_out" || fail "driver did not stop"
  wait "$drv_pid" 2>/dev/null || true
  exec {drv_out}<&- {drv_in}>&-
}
wait_for() {
  local what=$1; shift
  for _ in $(seq 300); do "$@" && return 0; sleep 0.1; done
  fail "$what (stats: $line)"
}
requests_to() { grep -c . "$tmp/$1.log" 2>/dev/null || echo 0; }
export SONDE_REMOTE_WRITE_INTERVAL=0.2 SONDE_REMOTE_WRITE_BACKLOG=3
passed=0

# 1
receiver retry "503,429:1,200"
export SONDE_REMOTE_WRITE_URL="http://127.0.0.1:$port/api/v1/write" SONDE_PUSH_BEARER_TOKEN=s3cret
run_driver retry
delivered() { [ "$(stats samples)" -gt 0 ]; }
wait_for "nothing delivered after 503, 429" delivered
[ "$(stats retries)" -ge 2 ] || fail "retries: $line"
[ "$(stats failed)" -eq 0 ] || fail "failed: $line"
stop_driver
/usr/bin/python3 - "$tmp/retry.log" <<'PY' || fail "request headers"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
assert len(reqs) >= 3
for r in reqs:
    h = {k.lower(): v for k, v in r["headers"].items()}
    assert r["method"] == "POST" and r["path"] == "/api/v1/write", r
    assert h["content-encoding"] == "snappy" and h["content-type"] == "application/x-protobuf", h
    assert h["x-prometheus-remote-write-version"] == "0.1.0", h
    assert h["user-agent"].startswith("sonde-remote-write/"), h
    assert h["authorization"] == "Bearer s3cret", h
    assert r["len"] > 0
PY
unset SONDE_PUSH_BEARER_TOKEN
passed=$((passed + 1)); echo "ok 1 - 503 and 429 (Retry-After) retried, then delivered; headers"

# 2
receiver refuse "400"
export SONDE_REMOTE_WRITE_URL="http://127.0.0.1:$port/api/v1/write"
run_driver refuse
failed_three() { [ "$(stats failed)" -gt 0 ] && [ "$(stats requests)" -ge 3 ]; }
wait_for "400 not counted as failed" failed_three
[ "$(stats retries)" -eq 0 ] || fail "a 400 was retried: $line"
[ "$(stats samples)" -eq 0 ] || fail "samples delivered on 400: $line"
stop_driver
grep -q '"status":400' "$tmp/refuse.driver.log" || fail "no error record with the status"
grep -q 'refused: bad . sample' "$tmp/refuse.driver.log" || fail "no answer excerpt in the log"
[ "$(requests_to refuse)" -eq "$(grep -c 'receiver refused a snapshot' "$tmp/refuse.driver.log")" ] ||
  fail "a request without its failure record"
passed=$((passed + 1)); echo "ok 2 - 400 not retried, counted as failed, logged with status and text"

# 3
export SONDE_REMOTE_WRITE_URL="http://127.0.0.1:$(free_port)/api/v1/write"
run_driver down
dropped() { [ "$(stats dropped_snapshots)" -ge 3 ]; }
wait_for "nothing dropped with the receiver down" dropped
[ "$(stats queue)" -le 3 ] || fail "backlog over its bound: $line"
[ "$(stats samples)" -eq 0 ] || fail "delivered to nobody: $line"
stop_driver
passed=$((passed + 1)); echo "ok 3 - receiver down: backlog bounded, oldest dropped and counted"

# 4
receiver slow "slow:3"
export SONDE_REMOTE_WRITE_URL="http://127.0.0.1:$port/api/v1/write" SONDE_REMOTE_WRITE_TIMEOUT=300
run_driver slow
retried() { [ "$(stats retries)" -ge 2 ]; }
wait_for "timeouts not retried" retried
[ "$(stats samples)" -eq 0 ] || fail "slow answers counted as delivered: $line"
stop_driver
unset SONDE_REMOTE_WRITE_TIMEOUT
passed=$((passed + 1)); echo "ok 4 - slow receiver: requests time out and are retried"

# 5
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 1 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1 || fail "openssl"
receiver tls "200" "$tmp/cert.pem" "$tmp/key.pem"
export SONDE_REMOTE_WRITE_URL="https://127.0.0.1:$port/api/v1/write"
run_driver tls_refused
refused() { [ "$(stats failed)" -gt 0 ]; }
wait_for "self-signed certificate not refused" refused
[ "$(stats samples)" -eq 0 ] && [ "$(stats retries)" -eq 0 ] || fail "self-signed: $line"
stop_driver
[ "$(requests_to tls)" -eq 0 ] || fail "a request went through an unverified certificate"
export SONDE_REMOTE_WRITE_CA_FILE=$tmp/cert.pem
run_driver tls_ca
wait_for "not delivered with the CA file" delivered
stop_driver
unset SONDE_REMOTE_WRITE_CA_FILE
export SONDE_PUSH_INSECURE_SKIP_VERIFY=true
run_driver tls_insecure
wait_for "not delivered with verification off" delivered
stop_driver
unset SONDE_PUSH_INSECURE_SKIP_VERIFY SONDE_REMOTE_WRITE_URL
passed=$((passed + 1)); echo "ok 5 - self-signed HTTPS refused unless a CA file or skip-verify is configured"

# 6
receiver pg400 "400"
export SONDE_PUSHGATEWAY_URL="http://127.0.0.1:$port" SONDE_PUSHGATEWAY_JOB=j
export SONDE_PUSHGATEWAY_BASIC_USER=u SONDE_PUSHGATEWAY_BASIC_PASSWORD='p:w' 
export SONDE_LOG_FILE=$tmp/pg.driver.log
out=$("$driver" push PUT x=1) || fail "driver push"
[ "$out" = "status 400 rc -15" ] || fail "pushgateway 400: $out"
grep -q '"msg":"Pushgateway push failed".*"status":400' "$tmp/pg.driver.log" || fail "no error record"
grep -q '"method": "PUT"' "$tmp/pg400.log" || fail "no PUT reached the receiver"
grep -q '"Authorization": "Basic dTpwOnc="' "$tmp/pg400.log" || fail "no basic authentication"
passed=$((passed + 1)); echo "ok 6 - Pushgateway 400: status returned, one error record; basic auth sent"
echo "$passed passed, 0 failed"
