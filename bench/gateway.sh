#!/bin/bash
# sonde-gateway benchmarks (usage: bench/gateway.sh BUILD_DIR):
#   BENCH gateway_overhead_ms  p50 latency a front gateway adds when it proxies
#                              to a back gateway (sim answering at once), against
#                              calling the back directly; one client, whole answers.
#   BENCH gateway_streams      concurrent streams held, all of them receiving
#                              tokens at the same time (sonde-load's peak), with
#                              1000 clients on a 3-second simulated answer.
#   BENCH gateway_shared_limit_overhead_ms
#                              p50 latency the shared limits add: a key with
#                              request and token limits and a daily budget, checked
#                              and charged in a redis-server on loopback, against the
#                              same key limited by the gateway alone; one client,
#                              whole answers from the sim answering at once.
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

# Shared limits: the same key and sim, limited locally and through Redis (admit + charge).
command -v redis-server >/dev/null || { echo "bench/gateway.sh: redis-server missing" >&2; exit 1; }
rport=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no --dir "$tmp" >"$tmp/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [ "$(redis-cli -p "$rport" ping 2>/dev/null)" = PONG ] && break; sleep 0.05; done
cat >"$tmp/limits.json" <<JSON
{"keys": [{"name": "bench", "key": "sk-bench", "requests_per_minute": 1e9, "tokens_per_minute": 1e12,
           "daily_budget": {"tokens": 1e15, "cost": 1e12}}]}
JSON
sim0=(--sim-ttft-ms 0 --sim-inter-token-ms 0 --sim-jitter-ms 0 --sim-output-tokens 1)
local_gw=$(free_port); shared_gw=$(free_port)
start "$local_gw" --config "$tmp/limits.json" "${sim0[@]}"
start "$shared_gw" --config "$tmp/limits.json" --redis "redis://127.0.0.1:$rport" "${sim0[@]}"
export SONDE_LOAD_KEY=sk-bench
"$LOAD" -u "http://127.0.0.1:$local_gw/v1" -c 1 -n 200 -S -q >/dev/null
local_p50=$("$LOAD" -u "http://127.0.0.1:$local_gw/v1" -c 1 -n 2000 -S -q | field e2e_p50_ms)
"$LOAD" -u "http://127.0.0.1:$shared_gw/v1" -c 1 -n 200 -S -q >/dev/null
shared_p50=$("$LOAD" -u "http://127.0.0.1:$shared_gw/v1" -c 1 -n 2000 -S -q | field e2e_p50_ms)
[ "$(redis-cli -p "$rport" hget sonde:gateway:rl:bench r)" -ge 2200 ] ||
  { echo "bench/gateway.sh: the shared gateway did not count in Redis" >&2; exit 1; }
/usr/bin/python3 -c "print('BENCH gateway_shared_limit_overhead_ms %.3f' % max(0.0, $shared_p50 - $local_p50))"
