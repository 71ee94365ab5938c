#!/bin/bash
# test_server_tls.sh - the embedded server over TLS (libmicrohttpd + GnuTLS).
#
# Makes a throw-away self-signed certificate for 127.0.0.1 with openssl,
# starts hello-server with its metrics on their own port over TLS, and
# checks with curl that HTTPS with the certificate as CA is served (metrics,
# health), that the service port still answers plain HTTP, and that plain
# HTTP to the TLS port gets no metrics. Also checks that a port in use is
# reported clearly. Everything started here is stopped on exit.
set -euo pipefail
build=${SONDE_BUILD:?SONDE_BUILD must name the build directory}
. "$(dirname "$0")/lib/procs.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null

"$build/examples/hello-server" --port 0 --addr 127.0.0.1 --metrics-port 0 \
  --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem" >"$tmp/hello.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$tmp/hello.out" && break; sleep 0.05; done
line=$(cat "$tmp/hello.out")
port=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' <<<"$line")
mport=$(sed -n 's/.*metrics on port \([0-9]*\).*/\1/p' <<<"$line")
[ -n "$port" ] && [ -n "$mport" ] || fail "hello-server did not start: $line"

curl -fsS "http://127.0.0.1:$port/hello" >/dev/null || fail "service port does not answer"
# The middleware records a request when libmicrohttpd reports it completed, which may come
# just after curl has its answer: scrape until the count shows (at most 2 s).
for _ in $(seq 40); do
  body=$(curl -fsS --cacert "$tmp/cert.pem" "https://127.0.0.1:$mport/metrics") ||
    fail "HTTPS scrape failed"
  grep -q 'http_requests_total{method="GET",route="/hello",status="200"} 1' <<<"$body" && break
  sleep 0.05
done
grep -q 'http_requests_total{method="GET",route="/hello",status="200"} 1' <<<"$body" ||
  fail "HTTPS scrape lacks the request counter"
curl -fsS --cacert "$tmp/cert.pem" "https://127.0.0.1:$mport/health" | grep -q '"status":"ok"' ||
  fail "HTTPS /health failed"
if curl -fsS --max-time 3 "http://127.0.0.1:$mport/metrics" 2>/dev/null | grep -q http_requests_total; then
  fail "plain HTTP on the TLS port served metrics"
fi
# the service port has no /metrics when the metrics have their own port
code=$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/metrics")
[ "$code" = 404 ] || fail "service port answered /metrics with $code"

# a second server on the same metrics port: a clear error, exit 1
if "$build/examples/hello-server" --port 0 --addr 127.0.0.1 --metrics-port "$mport" >"$tmp/second.out" 2>&1; then
  fail "a second server started on a port in use"
fi
grep -q "already in use" "$tmp/second.out" || fail "unclear error: $(cat "$tmp/second.out")"

# SIGTERM stops hello-server cleanly
kill -TERM "${pids[0]}"
rc=0
wait "${pids[0]}" || rc=$?
[ "$rc" = 0 ] || fail "hello-server exited with $rc on SIGTERM"
pids=()
echo "1 passed, 0 failed"
