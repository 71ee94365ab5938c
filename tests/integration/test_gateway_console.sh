#!/bin/bash
# The console in sonde-gateway (docs/console.md): on by default under /console/ on the
# API port, its JSON API answering with the gateway's own metrics and history; behind the
# API keys like /metrics when the config has keys; on --metrics-port when given; off with
# --no-console (then /console/ is not served) and with "console": {"enabled": false}.
set -euo pipefail
. "$(dirname "$0")/lib/gateway.sh"
command -v curl >/dev/null || fail "curl is not installed"

chat() { # PORT [KEY]
  curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/v1/chat/completions" \
    -H 'Content-Type: application/json' ${2:+-H "Authorization: Bearer $2"} \
    -d '{"model":"sonde-sim","messages":[{"role":"user","content":"hi"}]}'
}
get() { # URL [KEY] -> body in $tmp/body, status printed
  curl -s -o "$tmp/body" -w '%{http_code}' "$1" ${2:+-H "Authorization: Bearer $2"}
}

echo '{"console": {"interval_ms": 100}}' >"$tmp/fast.json"
PORT=$(free_port)
gw_start gw --port "$PORT" --config "$tmp/fast.json" --sim-ttft-ms 1 --sim-inter-token-ms 0 \
  --sim-output-tokens 4 || fail "start"
for i in 1 2 3; do [ "$(chat "$PORT")" = 200 ] || fail "chat $i"; done
# the history holds what the sampler saw: wait (bounded) until a sample has the calls
for i in $(seq 1 100); do
  curl -s "http://127.0.0.1:$PORT/console/api/query?family=gateway_provider_calls&fn=value&by=" |
    grep -q '"labels":{},"points":\[.*,3\]\]' && break
  sleep 0.05
done
base="http://127.0.0.1:$PORT/console/api"
[ "$(get "$base/status")" = 200 ] || fail "status: $(cat "$tmp/body")"
grep -q '"history":{"series":' "$tmp/body" || fail "status body: $(cat "$tmp/body")"
grep -q '"max_bytes":33554432,"interval_s":0.1,' "$tmp/body" || fail "default bound: $(cat "$tmp/body")"
[ "$(get "$base/families?q=provider_calls")" = 200 ] || fail "families"
grep -q '"name":"gateway_provider_calls","type":"counter"' "$tmp/body" || fail "families body: $(cat "$tmp/body")"
grep -q '"recorded":true' "$tmp/body" || fail "the overview's family is not recorded: $(cat "$tmp/body")"
[ "$(get "$base/series?family=gateway_provider_calls")" = 200 ] || fail "series"
grep -q '"status":"ok"},"value":3' "$tmp/body" || fail "series body: $(cat "$tmp/body")"
[ "$(get "$base/query?family=gateway_provider_calls&fn=rate&by=status&range=600")" = 200 ] || fail "query"
grep -q '"labels":{"status":"ok"},"points":\[\[' "$tmp/body" || fail "query body: $(cat "$tmp/body")"
[ "$(get "$base/overview")" = 200 ] || fail "overview"
grep -q '"requests_per_second":' "$tmp/body" || fail "overview body: $(cat "$tmp/body")"
[ "$(get "$base/query?family=gateway_provider_calls&fn=nope")" = 400 ] || fail "bad fn not 400"
grep -q '^{"error":{"message":' "$tmp/body" || fail "error body: $(cat "$tmp/body")"

# keys: the console is behind them on the API port, like /metrics
cat >"$tmp/keys.json" <<'JSON'
{"keys": [{"name": "team-a", "key": "sk-console-test"}], "console": {"interval_ms": 1000}}
JSON
PORT2=$(free_port)
MPORT=$(free_port)
gw_start gk --port "$PORT2" --config "$tmp/keys.json" || fail "start with keys"
[ "$(get "http://127.0.0.1:$PORT2/console/api/status")" = 401 ] || fail "console without a key"
[ "$(get "http://127.0.0.1:$PORT2/console/api/status" sk-console-test)" = 200 ] || fail "console with the key"
grep -q '"interval_s":1,' "$tmp/body" || fail "interval_ms from the file: $(cat "$tmp/body")"

# --metrics-port: served there, with the other ops endpoints
PORT3=$(free_port)
gw_start gm --port "$PORT3" --metrics-port "$MPORT" || fail "start with --metrics-port"
[ "$(get "http://127.0.0.1:$MPORT/console/api/status")" = 200 ] || fail "console on the metrics port"

# --no-console
PORT4=$(free_port)
gw_start gn --port "$PORT4" --no-console || fail "start with --no-console"
[ "$(get "http://127.0.0.1:$PORT4/console/api/status")" = 404 ] || fail "--no-console still serves it"
echo "PASS"
