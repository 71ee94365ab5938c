#!/bin/bash
# Upstream rate limits as OpenAI reports them, end to end: a gateway (front)
# whose upstream is a second gateway (back) running a sim rate limited to 5
# requests and 1000 tokens an hour. The back answers with
# x-ratelimit-{limit,remaining,reset}-{requests,tokens} (whole answers and
# streams) and with 429 once the window is spent; the front reads those headers
# from every answer into gateway_upstream_ratelimit_{limit,remaining,
# reset_seconds}{upstream,kind} and counts the 429 in
# gateway_upstream_rate_limited_total{upstream}, as the back does for its own sim.
# A second sim of the back (model t) has a token limit only, spent by one call.
set -euo pipefail
. "$(dirname "$0")/lib/gateway.sh"

BACK=$(free_port)
FRONT=$(free_port)
cat >"$tmp/back.json" <<JSON
{"listen": {"address": "127.0.0.1"},
 "upstreams": {"sim": {"ttft_ms": 0, "inter_token_ms": 0, "jitter_ms": 0, "output_tokens": 4,
                       "ratelimit_requests": 5, "ratelimit_tokens": 1000,
                       "ratelimit_window_ms": 3600000},
               "tiny": {"type": "sim", "ttft_ms": 0, "inter_token_ms": 0, "jitter_ms": 0,
                        "output_tokens": 4, "ratelimit_tokens": 12, "ratelimit_window_ms": 3600000}},
 "models": {"t": {"upstream": "tiny"}},
 "default_upstream": "sim"}
JSON
cat >"$tmp/front.json" <<JSON
{"listen": {"address": "127.0.0.1"},
 "upstreams": {"back": {"type": "openai", "url": "http://127.0.0.1:$BACK/v1"}},
 "models": {"m": {"upstream": "back"}}}
JSON
gw_start back --port "$BACK" --config "$tmp/back.json" || fail "start back"
gw_start front --port "$FRONT" --config "$tmp/front.json" || fail "start front"

/usr/bin/python3 - "$FRONT" "$BACK" <<'PY'
import json, re, sys, urllib.error, urllib.request
from prometheus_client.parser import text_string_to_metric_families
front, back = int(sys.argv[1]), int(sys.argv[2])

def metric(port, name, **labels):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
    found = [s.value for fam in text_string_to_metric_families(text) for s in fam.samples
             if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    return found[0] if len(found) == 1 else found

def call(port, stream=False, model="m"):
    body = {"model": model, "messages": [{"role": "user", "content": "count my tokens"}]}
    if stream:
        body.update(stream=True, stream_options={"include_usage": True})
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions",
                                 json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            text = r.read().decode()
            if stream:
                usage = [json.loads(l[6:])["usage"] for l in text.splitlines()
                         if l.startswith("data: {") and '"usage"' in l and json.loads(l[6:]).get("usage")]
                return r.status, r.headers, usage[-1]
            return r.status, r.headers, json.loads(text)["usage"]
    except urllib.error.HTTPError as e:
        return e.code, e.headers, json.loads(e.read())

DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s|(\d+)ms)")
def seconds(d):
    m = DURATION.fullmatch(d)
    assert m, f"not a Go duration: {d!r}"
    h, mi, s, ms = m.groups()
    return int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0) + int(ms or 0) / 1000

# 1. the back itself: the headers of a whole answer
status, h, usage = call(back)
assert status == 200, status
used = usage["prompt_tokens"] + usage["completion_tokens"]
want = {"x-ratelimit-limit-requests": "5", "x-ratelimit-remaining-requests": "4",
        "x-ratelimit-limit-tokens": "1000", "x-ratelimit-remaining-tokens": str(1000 - used)}
got = {k: h.get(k) for k in want}
assert got == want, f"back's headers {got} != {want}"
for kind in ("requests", "tokens"):
    r = seconds(h.get(f"x-ratelimit-reset-{kind}"))
    assert 0 < r <= 3600, f"reset-{kind} {r}"

# 2. through the front: a stream and two whole answers
for stream in (True, False, False):
    status, h, usage = call(front, stream)
    assert status == 200, status
    used += usage["prompt_tokens"] + usage["completion_tokens"]
assert h.get("x-ratelimit-limit-requests") is None, "the front passed the back's headers on"
up = {"upstream": "back"}
checks = {("gateway_upstream_ratelimit_limit", "requests"): 5,
          ("gateway_upstream_ratelimit_remaining", "requests"): 1,
          ("gateway_upstream_ratelimit_limit", "tokens"): 1000,
          ("gateway_upstream_ratelimit_remaining", "tokens"): 1000 - used}
for (name, kind), v in checks.items():
    got = metric(front, name, kind=kind, **up)
    assert got == v, f"front {name}{{kind={kind}}} = {got}, want {v}"
for kind in ("requests", "tokens"):
    r = metric(front, "gateway_upstream_ratelimit_reset_seconds", kind=kind, **up)
    assert 0 < r <= 3600, f"front reset_seconds{{kind={kind}}} = {r}"
assert metric(front, "gateway_upstream_rate_limited_total", **up) == 0

# 3. the fifth request spends the window, the sixth is refused by the back
status, _, _ = call(front)
assert status == 200, status
assert metric(front, "gateway_upstream_ratelimit_remaining", kind="requests", **up) == 0
status, h, err = call(front)
assert status == 429, (status, err)
assert err["error"]["code"] == "upstream_rate_limited", err
ra = int(h.get("Retry-After"))
assert 0 < ra <= 3600, ra
assert metric(front, "gateway_upstream_rate_limited_total", **up) == 1
assert metric(front, "gateway_upstream_errors_total", type="rate_limited", **up) == 1
assert metric(front, "gateway_upstream_ratelimit_remaining", kind="requests", **up) == 0
# the back recorded its own sim alike, and refused with OpenAI's error shape
assert metric(back, "gateway_upstream_rate_limited_total", upstream="sim") == 1
assert metric(back, "gateway_upstream_ratelimit_remaining", upstream="sim", kind="requests") == 0
assert metric(back, "gateway_upstream_ratelimit_limit", upstream="sim", kind="tokens") == 1000
status, h, err = call(back)
assert status == 429 and err["error"]["type"] == "requests", (status, err)
assert err["error"]["code"] == "rate_limit_exceeded", err
assert h.get("x-ratelimit-remaining-requests") == "0", dict(h)
assert metric(back, "gateway_upstream_rate_limited_total", upstream="sim") == 2

# 4. a token limit: the first call takes 4 prompt + 4 output of 12 tokens, the second
# (8 more) does not fit; only the tokens headers are sent, no requests series is made
status, h, usage = call(back, model="t")
assert status == 200, (status, usage)
tiny_used = usage["prompt_tokens"] + usage["completion_tokens"]
assert tiny_used == 8, usage
assert h.get("x-ratelimit-remaining-tokens") == "4" and h.get("x-ratelimit-limit-requests") is None, dict(h)
status, h, err = call(back, model="t")
assert status == 429 and err["error"]["type"] == "tokens", (status, err)
assert metric(back, "gateway_upstream_ratelimit_remaining", upstream="tiny", kind="tokens") == 4
assert metric(back, "gateway_upstream_ratelimit_remaining", upstream="tiny", kind="requests") == []
assert metric(back, "gateway_upstream_rate_limited_total", upstream="tiny") == 1
print("rate-limit headers: back and front agree; 429 counted on both")
PY
echo "PASS"
