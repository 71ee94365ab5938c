#!/bin/bash
# sonde-gateway against the official openai npm client: chat (whole and
# streamed, with and without usage), completions, embeddings, models, tool
# calls, max_tokens, an unknown key (401), rate limits (429), a failing
# upstream (502) and one that times out (504). Then the gateway's /metrics (parsed by the Python
# reference parser) must agree with what the client saw and with what the
# sim was configured to do: every count, token sum, cost and the TTFT
# histogram.
set -euo pipefail
. "$(dirname "$0")/lib/gateway.sh"

NODE_DIR=$SONDE_SRC/tests/integration/node
if [ ! -d "$NODE_DIR/node_modules/openai" ]; then
  (cd "$NODE_DIR" && npm install --no-audit --no-fund --silent) || fail "npm install openai"
fi

PORT=$(free_port)
DEAD=$(free_port)   # nothing listens there
cat >"$tmp/gw.json" <<JSON
{
  "listen": {"address": "127.0.0.1"},
  "upstreams": {
    "sim": {"ttft_ms": 30, "inter_token_ms": 5, "jitter_ms": 0, "output_tokens": 6},
    "slow": {"type": "sim", "timeout_rate": 1, "timeout_ms": 300},
    "dead": {"type": "openai", "url": "http://127.0.0.1:$DEAD/v1", "connect_timeout_ms": 500,
             "first_byte_timeout_ms": 2000}
  },
  "models": {
    "sim-chat": {"upstream": "sim",
                 "price": {"input_per_million": 1000, "output_per_million": 2000, "currency": "USD"}},
    "broken": {"upstream": "dead"},
    "stalled": {"upstream": "slow"}
  },
  "tools": ["get_weather"],
  "keys": [
    {"name": "tester", "key": "sk-test-123"},
    {"name": "limited", "key": "sk-limited-456", "requests_per_minute": 2},
    {"name": "frugal", "key": "sk-frugal-789", "tokens_per_minute": 5}
  ]
}
JSON
gw_start gw --port "$PORT" --config "$tmp/gw.json" --probe-interval 0.2 || fail "start"

node "$NODE_DIR/gateway_openai.mjs" "http://127.0.0.1:$PORT/v1" >"$tmp/seen.json" \
  || { cat "$tmp/gw.log"; fail "openai client run"; }
# with keys configured, /metrics on the API port wants one too
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/metrics")
[ "$code" = 401 ] || fail "/metrics without a key answered $code, want 401"
ready=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/ready")
[ "$ready" = 503 ] || fail "/ready with a dead upstream answered $ready, want 503"

# The middleware counts a request when libmicrohttpd reports it complete, which can
# follow the client's answer: scrape until the figures agree (at most 5 s), then they
# must agree exactly.
cat >"$tmp/check.py" <<'PY'
import json, sys
from prometheus_client.parser import text_string_to_metric_families

seen = json.load(open(sys.argv[1]))
samples = {}
for fam in text_string_to_metric_families(open(sys.argv[2]).read()):
    for s in fam.samples:
        samples[(s.name, tuple(sorted(s.labels.items())))] = s.value

def get(name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)

def total(name, **labels):
    return sum(v for (n, l), v in samples.items()
               if n == name and all(dict(l).get(k) == x for k, x in labels.items()))

bad = list(seen["failures"])
def expect(what, got, want, tol=1e-9):
    if abs(got - want) > tol:
        bad.append(f"{what}: metrics say {got}, expected {want}")

sim = dict(provider="sonde.sim", model="sim-chat")
route = "/v1/chat/completions"
expect("ok sim calls", get("gateway_provider_calls_total", status="ok", **sim), seen["ok"])
expect("rate-limited calls", get("gateway_provider_calls_total", status="rate_limited", **sim), 2)
expect("failed upstream calls", total("gateway_provider_calls_total", model="broken", status="error"), 1)
expect("calls in flight", total("gateway_calls_in_flight"), 0)
expect("streams in flight", total("gateway_streams_in_flight"), 0)
expect("input tokens", get("gateway_tokens_total", type="input", **sim), seen["input"])
expect("output tokens", get("gateway_tokens_total", type="output", **sim), seen["output"])
expect("cost", get("gateway_cost_total", currency="USD", **sim),
       (seen["cost_in"] * 1000 + seen["cost_out"] * 2000) / 1e6, 1e-9)
expect("tool calls", get("gateway_tool_calls_total", model="sim-chat", tool="get_weather"), seen["tool_calls"])
expect("rpm rejections", get("gateway_rate_limit_rejections_total", reason="requests_per_minute"), 1)
expect("tpm rejections", get("gateway_rate_limit_rejections_total", reason="tokens_per_minute"), 1)
expect("timed-out calls", total("gateway_provider_calls_total", model="stalled", status="timeout"), 1)
expect("timeout errors", get("gateway_upstream_errors_total", upstream="slow", type="timeout"), 1)
expect("504s", get("http_requests_total", method="POST", route=route, status="504"), 1)
expect("connect errors", get("gateway_upstream_errors_total", upstream="dead", type="connect"), 1)
expect("dead upstream down", get("gateway_upstream_up", upstream="dead"), 0)
expect("sim up", get("gateway_upstream_up", upstream="sim"), 1)
expect("not ready", get("gateway_ready"), 0)
for k, n in seen["key_requests"].items():
    expect(f"key {k} requests", get("gateway_key_requests_total", key=k), n)
expect("key tokens", total("gateway_key_tokens_total", type="input"), seen["input"])
# HTTP middleware: statuses as the client saw them
expect("401s", get("http_requests_total", method="POST", route=route, status="401"), seen["statuses"].get("401", 0))
expect("429s", get("http_requests_total", method="POST", route=route, status="429"), 2)
expect("502s", get("http_requests_total", method="POST", route=route, status="502"), 1)
expect("http in flight", get("http_requests_in_flight"), 1)  # the scrape itself
expect("streaming responses", get("http_responses_streaming"), 0)
# TTFT: one observation per successful stream, none below the sim's 30 ms,
# and never more than the client measured (the gateway sees the token first).
ttft = "gen_ai_server_time_to_first_token_seconds"
n = total(ttft + "_count", gen_ai_request_model="sim-chat")
expect("TTFT count", n, seen["streams"])
expect("TTFT below 20 ms", total(ttft + "_bucket", gen_ai_request_model="sim-chat", le="0.02"), 0)
s = total(ttft + "_sum", gen_ai_request_model="sim-chat")
if not (0.030 * n <= s <= sum(seen["ttft"]) + 1e-3):
    bad.append(f"TTFT sum {s} outside [{0.03 * n}, client's {sum(seen['ttft'])}]")
# token usage histogram agrees with the counters
expect("token usage sum", total("gen_ai_client_token_usage_sum", gen_ai_request_model="sim-chat",
       gen_ai_token_type="input"), seen["input"])
if bad:
    print("\n".join("FAIL: " + b for b in bad))
    sys.exit(1)
print(f"ok: {seen['ok']} calls, {seen['streams']} streams, {seen['input']}+{seen['output']} tokens all match /metrics")
PY
for attempt in $(seq 50); do
  curl -s -H 'Authorization: Bearer sk-test-123' "http://127.0.0.1:$PORT/metrics" >"$tmp/metrics.txt"
  /usr/bin/python3 "$tmp/check.py" "$tmp/seen.json" "$tmp/metrics.txt" >"$tmp/check.out" && break
  sleep 0.1
done
cat "$tmp/check.out"
grep -q '^ok:' "$tmp/check.out" || fail "metrics disagree with what the client saw"
