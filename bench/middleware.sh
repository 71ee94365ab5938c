#!/bin/bash
# middleware.sh - what the HTTP middleware costs a real service, and what a
# scrape of a large registry costs while the service is busy.
#
# Usage: bench/middleware.sh BUILD_DIR (run by bench/run). Needs wrk and curl.
#
#   BENCH middleware_overhead_ratio  req/s of hello-server instrumented divided
#                                    by req/s of the same service with --no-metrics
#                                    (wrk on loopback, GET /items/42; rounds of one
#                                    run of each, back to back, the order swapped
#                                    every round; the median of the rounds' ratios,
#                                    which cancels most of a shared machine's drift)
#   BENCH scrape_100k_ms             one HTTP scrape (text 0.0.4, no gzip) of the
#                                    100,000-counter registry of WORKLOADS.md while
#                                    wrk keeps the service busy; best of 5
#   BENCH scrape_100k_gzip_ms        the same scrape gzip'd, as Prometheus asks for it
set -euo pipefail
build=${1:-build-bench}
hs="$build/examples/hello-server"
rounds=${SONDE_BENCH_ROUNDS:-7}
secs=${SONDE_BENCH_SECONDS:-3}
. "$(dirname "$0")/../tests/integration/lib/procs.sh"

# start VAR NAME ARGS...: start a hello-server and put its port in VAR (not run
# in a $(...) subshell, so that its pid reaches pids and cleanup stops it)
start() {
  local var=$1 name=$2
  shift 2
  "$hs" --port 0 --addr 127.0.0.1 --threads 1 "$@" >"$tmp/$name.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 200); do grep -q listening "$tmp/$name.out" && break; sleep 0.05; done
  printf -v "$var" '%s' "$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$tmp/$name.out")"
}

rps() {
  wrk -t1 -c32 -d"${secs}s" "http://127.0.0.1:$1/items/42" | awk '/^Requests\/sec:/ {print $2}'
}

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

start inst instrumented
start plain plain --no-metrics
rps "$inst" >/dev/null 2>&1 || true # warm-up
for r in $(seq "$rounds"); do
  if [ $((r % 2)) = 1 ]; then
    a=$(rps "$inst")
    b=$(rps "$plain")
  else
    b=$(rps "$plain")
    a=$(rps "$inst")
  fi
  awk -v a="$a" -v b="$b" 'BEGIN {printf "%.6f\n", a / b}' >>"$tmp/ratios"
done
echo "BENCH middleware_overhead_ratio $(median <"$tmp/ratios" | awk '{printf "%.4f", $1}')"

start big big --bench-series 100000
wrk -t1 -c16 -d60s "http://127.0.0.1:$big/items/42" >/dev/null 2>&1 &
pids+=($!)
sleep 1
scrape() {
  for _ in 1 2 3 4 5; do
    curl -fsS -o /dev/null -w '%{time_total}\n' "$@" "http://127.0.0.1:$big/metrics"
  done | sort -g | head -1 | awk '{printf "%.1f", $1 * 1000}'
}
echo "BENCH scrape_100k_ms $(scrape)"
echo "BENCH scrape_100k_gzip_ms $(scrape -H 'Accept-Encoding: gzip')"
