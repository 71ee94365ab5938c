#!/bin/bash
# Two gateways chained: the front proxies every model to the back, which runs
# the sim. Checks that a stream passes through chunk by chunk (when the client
# holds the first token, the back is still producing the rest: its
# gateway_streams_in_flight is 1), that usage and tokens are forwarded, that
# the front forwards its upstream key, and that a client vanishing mid-stream
# cancels the call at the front and, through it, at the back.
set -euo pipefail
. "$(dirname "$0")/lib/gateway.sh"

BACK=$(free_port)
FRONT=$(free_port)
FRONT_M=$(free_port)
cat >"$tmp/back.json" <<JSON
{"listen": {"address": "127.0.0.1"},
 "upstreams": {"sim": {"ttft_ms": 50, "inter_token_ms": 150, "jitter_ms": 0, "output_tokens": 8}},
 "default_upstream": "sim",
 "keys": [{"name": "front", "key": "sk-front-to-back"}]}
JSON
gw_start back --port "$BACK" --config "$tmp/back.json" || fail "start back"
SONDE_GATEWAY_UPSTREAM_KEY=sk-front-to-back \
  gw_start front --port "$FRONT" --metrics-port "$FRONT_M" --address 127.0.0.1 \
  --upstream "http://127.0.0.1:$BACK/v1" || fail "start front"
# with --metrics-port the ops endpoints move there, off the API port
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$FRONT/metrics")" = 404 ] \
  || fail "/metrics still on the API port"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$FRONT_M/ready")" = 200 ] \
  || fail "/ready on the metrics port"

/usr/bin/python3 - "$FRONT" "$BACK" "$FRONT_M" <<'PY'
import http.client, json, sys, time, urllib.request
from prometheus_client.parser import text_string_to_metric_families
front, back, front_metrics = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])

def metric(port, name, **labels):
    if port == front:
        port = front_metrics
    # the back has keys, so its /metrics (on its API port) wants one
    req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics",
                                 headers={"Authorization": "Bearer sk-front-to-back"})
    text = urllib.request.urlopen(req).read().decode()
    v = 0.0
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == name and all(s.labels.get(k) == x for k, x in labels.items()):
                v += s.value
    return v

def post(body):
    c = http.client.HTTPConnection("127.0.0.1", front, timeout=10)
    c.request("POST", "/v1/chat/completions", json.dumps(body), {"Content-Type": "application/json"})
    return c, c.getresponse()

msgs = [{"role": "user", "content": "hello world!"}]
bad = []
# 1. streamed: read event by event
c, r = post({"model": "m", "messages": msgs, "stream": True, "stream_options": {"include_usage": True}})
assert r.status == 200, r.status
tokens, in_flight_at_first, usage, done = 0, None, None, False
while True:
    line = r.readline()
    if not line:
        break
    line = line.strip()
    if not line.startswith(b"data: "):
        continue
    if line == b"data: [DONE]":
        done = True
        continue
    ev = json.loads(line[6:])
    if ev.get("usage"):
        usage = ev["usage"]
    if ev["choices"] and ev["choices"][0]["delta"].get("content"):
        tokens += 1
        if tokens == 1:
            in_flight_at_first = metric(back, "gateway_streams_in_flight")
c.close()
if in_flight_at_first != 1:
    bad.append(f"back had {in_flight_at_first} streams in flight when the first token arrived (want 1: chunk by chunk)")
if tokens != 8 or not done or not usage or usage["completion_tokens"] != 8 or usage["prompt_tokens"] != 3:
    bad.append(f"stream: {tokens} tokens, done={done}, usage={usage}")

# 2. streamed without include_usage: the usage chunk the front asked for is dropped again
c, r = post({"model": "m", "messages": msgs, "stream": True})
body = r.read().decode()
c.close()
if '"usage"' in body or "data: [DONE]" not in body:
    bad.append("usage chunk leaked to a client that did not ask for it")

# 3. whole answer, usage forwarded
c, r = post({"model": "m", "messages": msgs})
j = json.loads(r.read())
c.close()
if r.status != 200 or j["usage"]["completion_tokens"] != 8 or j["model"] != "m":
    bad.append(f"whole answer: {r.status} {j}")

# both sides agree on tokens
for side, port, prov in (("front", front, "openai"), ("back", back, "sonde.sim")):
    out = metric(port, "gateway_tokens_total", provider=prov, type="output")
    if out != 24:
        bad.append(f"{side} output tokens {out}, want 24")
    ok = metric(port, "gateway_provider_calls_total", provider=prov, status="ok")
    if ok != 3:
        bad.append(f"{side} ok calls {ok}, want 3")
if metric(back, "gateway_key_requests_total", key="front") != 3:
    bad.append("the back did not see the front's key on every call")
if metric(front, "gateway_upstream_up", upstream="upstream") != 1:
    bad.append("front: upstream not up")

# 4. a client vanishing mid-stream: cancelled at the front, then at the back
c, r = post({"model": "m", "messages": msgs, "stream": True})
while True:  # wait for the first real token, then hang up
    line = r.readline()
    if not line or (b'"content":"' in line and b'"content":""' not in line):
        break
c.sock.shutdown(2)
c.close()
deadline = time.time() + 5
while time.time() < deadline:
    fc = metric(front, "gateway_provider_calls_total", status="cancelled")
    bc = metric(back, "gateway_provider_calls_total", status="cancelled")
    if fc == 1 and bc == 1:
        break
    time.sleep(0.1)
else:
    bad.append(f"cancellation: front {fc}, back {bc} cancelled calls (want 1 and 1)")
if metric(front, "gateway_streams_in_flight") != 0 or metric(back, "gateway_streams_in_flight") != 0:
    bad.append("streams still in flight after cancellation")
if bad:
    print("\n".join("FAIL: " + b for b in bad))
    sys.exit(1)
print("ok: chunk-by-chunk streaming, usage, keys and cancellation through two gateways")
PY
