#!/bin/bash
# test_llm_exposition.sh - a registry full of LLM metrics (examples/llm_metrics.c:
# streamed and failed calls, embeddings, an abandoned stream, tools, an agent,
# rate limits, cost) rendered as Prometheus text and OpenMetrics, checked with
# `promtool check metrics` and the Python reference parsers of both formats,
# asserting the parsed values. Also the example's --prices loader, good and bad.
set -euo pipefail
build=${SONDE_BUILD:?}
bin=$build/examples/llm-metrics
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$bin" > "$tmp/text"
"$bin" --openmetrics > "$tmp/om"
promtool check metrics < "$tmp/text"
echo "promtool: ok"

/usr/bin/python3 - "$tmp/text" "$tmp/om" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families as parse_text
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om

def samples(fams):
    out = {}
    for f in fams:
        for s in f.samples:
            # an empty label value is an absent label for Prometheus
            labels = {k: v for k, v in s.labels.items() if v != ""}
            out[(s.name, tuple(sorted(labels.items())))] = s.value
    return out

def get(ss, metric_, **labels):
    key = (metric_, tuple(sorted(labels.items())))
    assert key in ss, "missing %s %s" % (metric_, labels)
    return ss[key]

def check(ss, label):
    P = "gateway_"
    assert get(ss, P + "provider_calls_total", provider="openai", model="gpt-4o", status="ok") == 1
    assert get(ss, P + "provider_calls_total", provider="openai", model="gpt-4o", status="cancelled") == 1
    assert get(ss, P + "provider_calls_total", provider="anthropic", model="claude-3-5-sonnet", status="error") == 1
    assert get(ss, P + "provider_calls_total", provider="openai", model="text-embedding-3-small", status="ok") == 1
    assert get(ss, P + "tokens_total", provider="openai", model="gpt-4o", type="input") == 120
    assert get(ss, P + "tokens_total", provider="openai", model="gpt-4o", type="output") == 25
    assert get(ss, P + "tokens_total", provider="openai", model="text-embedding-3-small", type="output") == 0
    cost = get(ss, P + "cost_total", provider="openai", model="gpt-4o", currency="USD")
    assert abs(cost - (120 * 2.5 + 25 * 10) / 1e6) < 1e-15, cost
    assert get(ss, P + "rate_limit_rejections_total", reason="tokens_per_minute") == 2
    assert get(ss, P + "rate_limit_rejections_total", reason="requests_per_minute") == 1
    assert get(ss, P + "tool_executions_total", tool="get_weather", status="ok") == 1
    assert get(ss, P + "tool_executions_total", tool="web_search", status="timeout") == 1
    assert get(ss, P + "agent_executions_total", name="support-bot", status="ok") == 1
    assert get(ss, P + "finish_reasons_total", provider="openai", model="gpt-4o", reason="stop") == 1
    assert get(ss, P + "streams_in_flight", provider="openai") == 0
    assert get(ss, P + "calls_in_flight", provider="anthropic") == 0
    assert get(ss, P + "provider_latency_seconds_count", provider="openai", model="gpt-4o") == 2
    g = dict(gen_ai_operation_name="chat", gen_ai_provider_name="openai",
             gen_ai_request_model="gpt-4o", gen_ai_response_model="gpt-4o-2024-08-06",
             server_address="api.openai.com", server_port="443")
    assert get(ss, "gen_ai_client_operation_duration_seconds_count", **g) == 1
    out = dict(g, gen_ai_token_type="output")
    assert get(ss, "gen_ai_client_token_usage_count", **out) == 1
    assert get(ss, "gen_ai_client_token_usage_sum", **out) == 20
    les = sorted(((float(dict(k[1])["le"]), v) for k, v in ss.items()
                  if k[0] == "gen_ai_client_token_usage_bucket"
                  and dict(k[1]).get("gen_ai_token_type") == "output"
                  and dict(k[1]).get("gen_ai_response_model") == "gpt-4o-2024-08-06"))
    assert [v for le, v in les if le in (4, 16, 64)] == [0, 0, 1], les
    assert get(ss, "gen_ai_client_time_per_output_chunk_seconds_count", **g) == 20
    assert get(ss, "gen_ai_client_time_to_first_chunk_seconds_count", **g) == 1
    assert get(ss, "gen_ai_server_time_to_first_token_seconds_count", **g) == 1
    assert get(ss, "gen_ai_server_time_per_output_token_seconds_count", **g) == 1
    e = dict(gen_ai_operation_name="chat", gen_ai_provider_name="anthropic",
             gen_ai_request_model="claude-3-5-sonnet", server_address="api.anthropic.com",
             server_port="443", error_type="http_500")
    assert get(ss, "gen_ai_client_operation_duration_seconds_count", **e) == 1
    assert get(ss, "gen_ai_server_request_duration_seconds_count", **e) == 1
    t = dict(gen_ai_operation_name="execute_tool", gen_ai_provider_name="openai", error_type="timeout")
    assert get(ss, "gen_ai_client_operation_duration_seconds_count", **t) == 1
    a = dict(gen_ai_operation_name="invoke_agent", gen_ai_provider_name="openai", gen_ai_request_model="gpt-4o")
    assert get(ss, "gen_ai_client_operation_duration_seconds_count", **a) == 1
    print(label + ": ok,", len(ss), "samples")

text = open(sys.argv[1]).read()
om = open(sys.argv[2]).read()
check(samples(parse_text(text)), "text")
fams = list(parse_om(om))
check(samples(fams), "om")
types = {f.name: (f.type, f.unit) for f in fams}
assert types["gateway_provider_calls"] == ("counter", ""), types["gateway_provider_calls"]
assert types["gen_ai_client_operation_duration_seconds"] == ("histogram", "seconds")
assert types["gen_ai_client_token_usage"] == ("histogram", "")
assert types["gateway_streams_in_flight"] == ("gauge", "")
assert om.endswith("# EOF\n")
PY

printf '# test prices\ngpt-4o 5 20 EUR\n' > "$tmp/prices"
"$bin" --prices "$tmp/prices" > "$tmp/eur"
grep -q '^gateway_cost_total{provider="openai",model="gpt-4o",currency="EUR"} 0.0011$' "$tmp/eur"
printf 'gpt-4o five 20 EUR\n' > "$tmp/bad"
if "$bin" --prices "$tmp/bad" > /dev/null 2> "$tmp/err"; then
  echo "bad price file accepted" >&2; exit 1
fi
grep -q 'line 1: input price "five" is not a number >= 0' "$tmp/err"
echo "prices: ok"
