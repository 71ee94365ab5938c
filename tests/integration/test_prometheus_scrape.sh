#!/bin/bash
# test_prometheus_scrape.sh - the real Prometheus server scrapes hello-server.
#
# Starts hello-server (instrumented, /metrics on its service port) and Debian's
# prometheus on 127.0.0.1, scraping it every second; makes a known number of
# requests; then asks Prometheus's HTTP API that the target is up and that
# the stored http_requests_total counts equal the requests made, exactly.
# Everything started here is stopped on exit, whatever happens.
set -euo pipefail
build=${SONDE_BUILD:?SONDE_BUILD must name the build directory}
. "$(dirname "$0")/lib/procs.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }

# hello-server on a free port chosen by the kernel; it prints the port
"$build/examples/hello-server" --port 0 --addr 127.0.0.1 >"$tmp/hello.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$tmp/hello.out" && break; sleep 0.05; done
port=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$tmp/hello.out")
[ -n "$port" ] || fail "hello-server did not start: $(cat "$tmp/hello.out")"

prom_port=$(free_port)
cat >"$tmp/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: hello
    static_configs:
      - targets: ['127.0.0.1:$port']
YAML
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
  --web.listen-address="127.0.0.1:$prom_port" --log.level=warn >"$tmp/prom.log" 2>&1 &
pids+=($!)

api() { curl -fsS --max-time 2 "http://127.0.0.1:$prom_port/api/v1/$1" 2>/dev/null; }
# query EXPR -> the single value of an instant vector, or "none"
query() {
  api "query?query=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1")" |
    python3 -c 'import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "none")' 2>/dev/null || echo none
}

n_hello=17
n_items=5
for i in $(seq $n_hello); do curl -fsS "http://127.0.0.1:$port/hello" >/dev/null; done
for i in $(seq $n_items); do curl -fsS "http://127.0.0.1:$port/items/$((i * 1000))" >/dev/null; done
curl -sS -o /dev/null "http://127.0.0.1:$port/missing/12345"

# the target is up
health=none
for _ in $(seq 100); do
  health=$(api targets | python3 -c 'import json, sys
t = json.load(sys.stdin)["data"]["activeTargets"]
print(t[0]["health"] if t else "none")' 2>/dev/null || echo none)
  [ "$health" = up ] && break
  sleep 0.2
done
[ "$health" = up ] || fail "target health is '$health'; prometheus log: $(tail -5 "$tmp/prom.log")"

# the stored counts reach exactly the requests made (scrapes are every second)
want_hello=none want_items=none
for _ in $(seq 60); do
  want_hello=$(query 'http_requests_total{job="hello",method="GET",route="/hello",status="200"}')
  want_items=$(query 'http_requests_total{job="hello",method="GET",route="/items/{id}",status="200"}')
  [ "$want_hello" = "$n_hello" ] && [ "$want_items" = "$n_items" ] && break
  sleep 0.25
done
[ "$want_hello" = "$n_hello" ] || fail "Prometheus stored /hello=$want_hello, want $n_hello"
[ "$want_items" = "$n_items" ] || fail "Prometheus stored /items/{id}=$want_items, want $n_items"
[ "$(query 'http_requests_total{job="hello",route="/missing/:id",status="404"}')" = 1 ] ||
  fail "the 404 on /missing/12345 is not stored as route /missing/:id"
[ "$(query 'up{job="hello"}')" = 1 ] || fail "up{job=\"hello\"} is not 1"
# histograms arrive whole: the count of durations equals the requests
[ "$(query 'http_request_duration_seconds_count{job="hello",route="/hello"}')" = "$n_hello" ] ||
  fail "duration histogram count differs"
echo "Prometheus stored /hello=$want_hello /items/{id}=$want_items, target up"
echo "1 passed, 0 failed"
