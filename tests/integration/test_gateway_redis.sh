#!/bin/bash
# test_gateway_redis.sh - per-key limits and daily budgets shared by several
# sonde-gateway instances through a real redis-server (started here on a
# free loopback port, without persistence).
#
# Three fail-open gateways and one fail-closed gateway, all on the built-in
# simulated model, share one Redis. Requests are counted, never timed: the
# one-minute window starts at a key's first request, so everything below
# happens well inside it.
#   1. key "limited" (60 requests a minute): 60 requests spread over the three
#      are served, the 61st and later are refused 429 rate_limit_requests on
#      whichever gateway they reach;
#   2. key "tokens" (a daily budget of 100 tokens, each call 3 + 7 = 10):
#      10 calls over the three are served, the 11th is 429 insufficient_quota;
#   3. key "spender" (a daily cost budget of 0.1 USD, each call 0.017): six
#      calls are served (the sixth crosses the budget), the seventh refused;
#      gateway_key_cost_total{key="spender"} adds up to 6 x 0.017 over them;
#   4. Redis killed: fail-open gateways serve by their own limits, the
#      fail-closed one answers 503 limit_backend_unavailable; every fallback
#      is counted (gateway_limit_backend_fallbacks_total) and logged;
#   5. Redis back on the same port: every gateway reports the backend up
#      again (its prober reconnects) and the shared limit holds again: 60
#      served over three gateways, the 61st refused by the fourth.
# Commands get 2 s instead of the default 50 ms: under TSan on a loaded CI
# machine a command can take longer, and this test counts, it does not time.
set -euo pipefail
. "$(dirname "$0")/lib/gateway.sh"
command -v redis-server >/dev/null || fail "redis-server is missing (scripts/deps.sh test installs it)"
command -v redis-cli >/dev/null || fail "redis-cli is missing (Debian redis-tools)"

# The example configuration of deploy/ loads.
OPENAI_API_KEY=x SONDE_REDIS_PASSWORD=x TEAM_A_KEY=a CI_KEY=c \
  "$GW" --config "$SONDE_SRC/deploy/gateway-shared.json" --list-metrics >/dev/null ||
  fail "deploy/gateway-shared.json does not load"

rport=$(free_port)
start_redis() {
  redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no --dir "$tmp" \
    >>"$tmp/redis.log" 2>&1 &
  pids+=($!)
  REDIS_PID=$!
  for _ in $(seq 1 100); do
    [ "$(redis-cli -p "$rport" ping 2>/dev/null)" = PONG ] && return 0
    sleep 0.05
  done
  cat "$tmp/redis.log"; fail "redis-server did not start"
}
start_redis

cat >"$tmp/gw.json" <<JSON
{"models": {"paid": {"upstream": "sim",
                     "price": {"input_per_million": 1000, "output_per_million": 2000, "currency": "USD"}}},
 "redis": {"url": "redis://127.0.0.1:$rport/0", "key_prefix": "test:", "command_timeout_ms": 2000},
 "keys": [{"name": "limited", "key": "sk-limited", "requests_per_minute": 60},
          {"name": "tokens", "key": "sk-tokens", "daily_budget": {"tokens": 100}},
          {"name": "spender", "key": "sk-spender", "daily_budget": {"cost": 0.1, "currency": "USD"}},
          {"name": "admin", "key": "sk-admin"}]}
JSON
sim=(--sim-ttft-ms 0 --sim-inter-token-ms 0 --sim-jitter-ms 0 --sim-output-tokens 7 --probe-interval 0.2
     --threads 2)
ports=()
for i in 1 2 3; do
  p=$(free_port); ports+=("$p")
  gw_start "g$i" --port "$p" --config "$tmp/gw.json" "${sim[@]}"
done
closed=$(free_port)
gw_start g4 --port "$closed" --config "$tmp/gw.json" --redis-fail-mode closed "${sim[@]}"
all=("${ports[@]}" "$closed")

# req PORT KEY MODEL: the status; the body in $tmp/body
req() {
  curl -s -o "$tmp/body" -w '%{http_code}' -H "Authorization: Bearer $2" \
    -d "{\"model\":\"$3\",\"messages\":[{\"role\":\"user\",\"content\":\"hello there!\"}]}" \
    "http://127.0.0.1:$1/v1/chat/completions"
}
# metric PORT SERIES: its value on that gateway (0 when absent)
metric() { total "$2" "$1"; }
# total SERIES PORT...: the sum over those gateways of the series, or of every series of a
# family when SERIES ends in "{"
total() {
  local series=$1 p; shift
  for p in "$@"; do curl -s -H "Authorization: Bearer sk-admin" "http://127.0.0.1:$p/metrics"; done |
    awk -v s="$series" '$1 == s || (s ~ /[{]$/ && index($1, s) == 1) {t += $2}
                        END {printf "%.12g\n", t}'
}
expect_code() { grep -q "\"code\":\"$1\"" "$tmp/body" || fail "expected code $1, got $(cat "$tmp/body")"; }

for p in "${all[@]}"; do
  [ "$(metric "$p" gateway_limit_backend_up)" = 1 ] || fail "gateway on $p does not see Redis"
done

# 1. 60 requests a minute, shared: the 61st is refused wherever it lands.
for i in $(seq 0 59); do
  s=$(req "${ports[i % 3]}" sk-limited sonde-sim)
  [ "$s" = 200 ] || fail "request $((i + 1)) of key limited: status $s $(cat "$tmp/body")"
done
for p in "${all[@]}"; do
  s=$(req "$p" sk-limited sonde-sim)
  [ "$s" = 429 ] || fail "request past 60 on $p: status $s"
  expect_code rate_limit_requests
done
rejected=$(total 'gateway_rate_limit_rejections_total{reason="requests_per_minute"}' "${all[@]}")
[ "$rejected" = 4 ] || fail "rejections counted: $rejected, want 4"
[ "$(redis-cli -p "$rport" hget test:rl:limited r)" = 60 ] || fail "Redis does not hold 60 requests"
ttl=$(redis-cli -p "$rport" pttl test:rl:limited)
[ "$ttl" -gt 0 ] && [ "$ttl" -le 60000 ] || fail "window TTL $ttl"
echo "ok: 60 requests a minute shared by three gateways, the 61st refused on each of four"

# 2. A daily budget of 100 tokens, 10 per call.
for i in $(seq 0 9); do
  s=$(req "${ports[i % 3]}" sk-tokens sonde-sim)
  [ "$s" = 200 ] || fail "call $((i + 1)) of key tokens: status $s $(cat "$tmp/body")"
done
s=$(req "${ports[1]}" sk-tokens sonde-sim)
[ "$s" = 429 ] || fail "call past the token budget: status $s"
expect_code insufficient_quota
grep -q '"type":"insufficient_quota"' "$tmp/body" || fail "type: $(cat "$tmp/body")"
day=$(date -u +%Y-%m-%d)
[ "$(redis-cli -p "$rport" hget "test:budget:tokens:$day" t)" = 100 ] || fail "Redis budget tokens"
[ "$(redis-cli -p "$rport" ttl "test:budget:tokens:$day")" -gt 3600 ] || fail "budget TTL"
echo "ok: a daily token budget shared (10 calls, the 11th insufficient_quota)"

# 3. A daily cost budget of 0.1 USD at 0.017 a call: six calls, the seventh refused.
served=0
for i in $(seq 0 9); do
  s=$(req "${ports[i % 3]}" sk-spender paid)
  [ "$s" = 200 ] && served=$((served + 1)) && continue
  [ "$s" = 429 ] || fail "cost budget: status $s"
  expect_code insufficient_quota
  break
done
[ "$served" = 6 ] || fail "cost budget: $served calls served, want 6"
cost=$(total 'gateway_key_cost_total{key="spender",currency="USD"}' "${ports[@]}")
awk -v c="$cost" 'BEGIN {d = c - 6 * 0.017; exit !(d < 1e-9 && d > -1e-9)}' ||
  fail "gateway_key_cost_total of spender: $cost, want 0.102"
echo "ok: a daily cost budget shared (6 calls, the 7th refused), key cost $cost"
for p in "${all[@]}"; do
  [ "$(total 'gateway_limit_backend_fallbacks_total{' "$p")" = 0 ] ||
    fail "fallbacks while Redis was up on $p"
done

# 4. Redis killed: fail-open serves by local limits, fail-closed refuses; both counted.
kill -9 "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null || true
for p in "${ports[@]}"; do
  s=$(req "$p" sk-limited sonde-sim)
  [ "$s" = 200 ] || fail "fail-open gateway $p with Redis down: status $s $(cat "$tmp/body")"
done
s=$(req "$closed" sk-limited sonde-sim)
[ "$s" = 503 ] || fail "fail-closed gateway with Redis down: status $s"
expect_code limit_backend_unavailable
s=$(req "$closed" sk-admin sonde-sim) # a key without limits needs no Redis
[ "$s" = 200 ] || fail "unlimited key on the fail-closed gateway: status $s"
for p in "${all[@]}"; do
  n=$(total 'gateway_limit_backend_fallbacks_total{' "$p")
  [ "$n" -ge 1 ] || fail "no fallback counted on $p"
  [ "$(metric "$p" gateway_limit_backend_up)" = 0 ] || fail "backend still up on $p"
done
for i in 1 2 3 4; do
  grep -q '"msg":"limit backend not used"' "$tmp/g$i.log" || fail "g$i logged no fallback"
done
echo "ok: Redis down: fail-open served by local limits, fail-closed 503, fallbacks counted and logged"

# 5. Redis back (empty): the gateways reconnect and the shared limit holds again.
start_redis
for p in "${all[@]}"; do
  for _ in $(seq 1 200); do
    [ "$(metric "$p" gateway_limit_backend_up)" = 1 ] && break
    sleep 0.05
  done
  [ "$(metric "$p" gateway_limit_backend_up)" = 1 ] || fail "gateway $p did not reconnect"
done
for i in $(seq 0 59); do
  s=$(req "${ports[i % 3]}" sk-limited sonde-sim)
  [ "$s" = 200 ] || fail "after Redis came back, request $((i + 1)): status $s $(cat "$tmp/body")"
done
s=$(req "$closed" sk-limited sonde-sim)
[ "$s" = 429 ] || fail "after Redis came back, the 61st: status $s"
expect_code rate_limit_requests
grep -q '"msg":"limit backend reachable' "$tmp/g4.log" || fail "g4 logged no reconnection"
echo "ok: Redis back, shared limits resume"
