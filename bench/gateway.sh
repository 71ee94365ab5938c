#!/bin/bash
# sonde-gateway benchmarks (usage: bench/gateway.sh BUILD_DIR):
#   BENCH gateway_overhead_ms  p50 latency a front gateway adds when it proxies
#                              to a back gateway (sim answering at once), against
#                              calling the back directly; one client, whole answers.
#   BENCH gateway_streams      concurrent streams held, all of them receiving
#                              tokens at the same time (sonde-load's peak), with
#                              1000 clients on a 3-second simulated answer.
set -euo pipefail
build=${1:-build-bench}
build=$(cd "$build" && pwd)
GW=$build/sonde-gateway
LOAD=$build/sonde-load
[ -x "$GW" ] && [ -x "$LOAD" ] || { echo "bench/gateway.sh: build $build first" >&2; exit 1; }
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"
. "$(dirname "$0")/../tests/integration/lib/procs.sh"
start() { # start PORT ARGS...
  local p=$1; shift
  "$GW" --port "$p" --address 127.0.0.1 "$@" >"$tmp/gw-$p.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$p/health" >/dev/null && return 0; sleep 0.05; done
  echo "gateway on $p did not start" >&2; cat "$tmp/gw-$p.log" >&2; exit 1
}
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }

back=$(free_port); front=$(free_port)
start "$back" --sim-ttft-ms 0 --sim-inter-token-ms 0 --sim-jitter-ms 0 --sim-output-tokens 1
# the front's sonde-sim is the back's (a configured model, proxied)
cat >"$tmp/front.json" <<JSON
{"upstreams": {"back": {"type": "openai", "url": "http://127.0.0.1:$back/v1"}},
 "models": {"sonde-sim": {"upstream": "back"}}}
JSON
start "$front" --config "$tmp/front.json"
"$LOAD" -u "http://127.0.0.1:$back/v1" -c 1 -n 200 -S -q >/dev/null   # warm up
direct=$("$LOAD" -u "http://127.0.0.1:$back/v1" -c 1 -n 2000 -S -q | field e2e_p50_ms)
"$LOAD" -u "http://127.0.0.1:$front/v1" -c 1 -n 200 -S -q >/dev/null
chained=$("$LOAD" -u "http://127.0.0.1:$front/v1" -c 1 -n 2000 -S -q | field e2e_p50_ms)
/usr/bin/python3 -c "print('BENCH gateway_overhead_ms %.3f' % max(0.0, $chained - $direct))"

streams=$(free_port)
start "$streams" --sim-ttft-ms 200 --sim-inter-token-ms 50 --sim-jitter-ms 10 --sim-output-tokens 60 \
  --max-connections 4096
out=$("$LOAD" -u "http://127.0.0.1:$streams/v1" -c 1000 -n 1000 -s -q | tail -1)
ok=$(echo "$out" | field ok)
peak=$(echo "$out" | field peak_streams)
[ "$ok" = 1000 ] || echo "bench/gateway.sh: only $ok of 1000 streams completed" >&2
echo "BENCH gateway_streams $(( ok < peak ? ok : peak ))"
