#!/bin/bash
# sonde-gateway's Responses API against the official openai npm client
# (node/gateway_responses.mjs): whole and streamed responses, a function tool
# round trip with previous_response_id, stored responses, bad input, failing
# upstreams (502 before any output, response.failed after it); straight
# to the simulator and through a second gateway used as the upstream (chat
# completions, streamed, proxied). Then /metrics must count what the client saw:
# provider calls, tokens, key tokens (the failure cases use another key), the
# tool calls.
set -euo pipefail
. "$(dirname "$0")/lib/gateway.sh"

NODE_DIR=$SONDE_SRC/tests/integration/node
if [ ! -d "$NODE_DIR/node_modules/openai" ]; then
  (cd "$NODE_DIR" && npm install --no-audit --no-fund --silent) || fail "npm install openai"
fi

BACK=$(free_port)
FRONT=$(free_port)
cat >"$tmp/back.json" <<JSON
{
  "listen": {"address": "127.0.0.1"},
  "upstreams": {"sim": {"ttft_ms": 5, "inter_token_ms": 1, "jitter_ms": 0, "output_tokens": 6},
                "failing": {"type": "sim", "ttft_ms": 5, "error_rate": 1},
                "stuck": {"type": "sim", "ttft_ms": 5, "inter_token_ms": 1500, "jitter_ms": 0,
                          "output_tokens": 3}},
  "models": {"sim-chat": {"upstream": "sim"}, "broken": {"upstream": "failing"},
             "slow": {"upstream": "stuck"}},
  "tools": ["get_weather"],
  "keys": [{"name": "tester", "key": "sk-test-123"}, {"name": "failer", "key": "sk-fail-000"}],
  "responses": {"store": "$tmp/responses.db", "max_count": 100}
}
JSON
cat >"$tmp/front.json" <<JSON
{
  "listen": {"address": "127.0.0.1"},
  "upstreams": {"back": {"type": "openai", "url": "http://127.0.0.1:$BACK/v1", "api_key": "sk-test-123"},
                "backslow": {"type": "openai", "url": "http://127.0.0.1:$BACK/v1",
                             "api_key": "sk-fail-000", "idle_timeout_ms": 300}},
  "models": {"chained": {"upstream": "back", "upstream_model": "sim-chat"},
             "broken": {"upstream": "back"}, "slow": {"upstream": "backslow"}},
  "tools": ["get_weather"],
  "keys": [{"name": "tester", "key": "sk-test-123"}, {"name": "failer", "key": "sk-fail-000"}]
}
JSON
gw_start back --port "$BACK" --config "$tmp/back.json" || fail "start back"
gw_start front --port "$FRONT" --config "$tmp/front.json" || fail "start front"

node "$NODE_DIR/gateway_responses.mjs" "http://127.0.0.1:$BACK/v1" sim-chat direct >"$tmp/direct.json" \
  || { cat "$tmp/back.log"; fail "openai client run (direct)"; }
node "$NODE_DIR/gateway_responses.mjs" "http://127.0.0.1:$FRONT/v1" chained chained >"$tmp/chained.json" \
  || { cat "$tmp/front.log" "$tmp/back.log"; fail "openai client run (chained)"; }
[ -s "$tmp/responses.db" ] || fail "the SQLite store file was not written"

cat >"$tmp/check.py" <<'PY'
import json, sys
from prometheus_client.parser import text_string_to_metric_families

bad = []
def load(path):
    out = {}
    for fam in text_string_to_metric_families(open(path).read()):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out
def total(samples, name, **labels):
    return sum(v for (n, l), v in samples.items()
               if n == name and all(dict(l).get(k) == x for k, x in labels.items()))
def expect(what, got, want):
    if abs(got - want) > 1e-9:
        bad.append(f"{what}: metrics say {got}, expected {want}")

direct, chained = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
bad += direct["failures"] + chained["failures"]
front, back = load(sys.argv[3]), load(sys.argv[4])
# the back gateway served its own client and, as its upstream, the front's
both = {k: direct[k] + chained[k] for k in ("calls", "input", "output")}
for name, seen, m, model in (("front", chained, front, "chained"), ("back", both, back, "sim-chat")):
    expect(f"{name} ok calls", total(m, "gateway_provider_calls_total", model=model, status="ok"), seen["calls"])
    expect(f"{name} input tokens", total(m, "gateway_tokens_total", model=model, type="input"), seen["input"])
    expect(f"{name} output tokens", total(m, "gateway_tokens_total", model=model, type="output"), seen["output"])
    expect(f"{name} key tokens", total(m, "gateway_key_tokens_total", key="tester"), seen["input"] + seen["output"])
    expect(f"{name} calls in flight", total(m, "gateway_calls_in_flight"), 0)
expect("back tool calls", total(back, "gateway_tool_calls_total", tool="get_weather"),
       direct["tool_calls"] + chained["tool_calls"])
if bad:
    print("\n".join("FAIL: " + b for b in bad))
    sys.exit(1)
print(f"ok: direct {direct['calls']} and chained {chained['calls']} responses match /metrics")
PY
for attempt in $(seq 50); do
  curl -s -H 'Authorization: Bearer sk-test-123' "http://127.0.0.1:$FRONT/metrics" >"$tmp/front.txt"
  curl -s -H 'Authorization: Bearer sk-test-123' "http://127.0.0.1:$BACK/metrics" >"$tmp/back.txt"
  /usr/bin/python3 "$tmp/check.py" "$tmp/direct.json" "$tmp/chained.json" "$tmp/front.txt" "$tmp/back.txt" \
    >"$tmp/check.out" && break
  sleep 0.1
done
cat "$tmp/check.out"
grep -q '^ok:' "$tmp/check.out" || fail "the Responses API disagrees with the client or /metrics"
