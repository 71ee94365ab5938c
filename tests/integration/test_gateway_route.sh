#!/bin/bash
# Routing: a gateway in front of two upstreams that fail on demand
# (lib/flaky_upstream.py, which count the calls they get) and a port nobody
# listens on. Checks that a failed (5xx, refused connection)
# attempt is retried on the healthy deployment, that the breaker opens after
# its threshold (the failing deployment is no longer called) and closes after
# its cooldown and a good probe, that a fallback model takes a call once every
# deployment of a model failed, that a stream that has begun is never retried
# (the client sees the error event, one attempt), and that the metrics count
# exactly that. A bad routing configuration is refused with a clear error.
# Only counts and states are asserted, never durations.
set -euo pipefail
. "$(dirname "$0")/lib/gateway.sh"

A=$(free_port)
B=$(free_port)
GWP=$(free_port)
DEAD=$(free_port) # nothing listens there
/usr/bin/python3 "$SONDE_SRC/tests/integration/lib/flaky_upstream.py" "$A" & pids+=($!)
/usr/bin/python3 "$SONDE_SRC/tests/integration/lib/flaky_upstream.py" "$B" & pids+=($!)
for p in $A $B; do
  for i in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$p/count" && break; sleep 0.05; done
done

cat >"$tmp/bad.json" <<JSON
{"upstreams": {"a": {"type": "openai", "url": "http://127.0.0.1:$A/v1"}},
 "models": {"m": {"deployments": [{"upstream": "a"}], "fallbacks": ["nope"]}}}
JSON
if "$GW" --port "$(free_port)" --config "$tmp/bad.json" >"$tmp/bad.log" 2>&1; then fail "bad config accepted"; fi
grep -q "models.m.fallbacks\[0\]: 'nope' must name another configured model" "$tmp/bad.log" \
  || { cat "$tmp/bad.log"; fail "unclear error for a bad fallback"; }

cat >"$tmp/gw.json" <<JSON
{"listen": {"address": "127.0.0.1"},
 "upstreams": {"a": {"type": "openai", "url": "http://127.0.0.1:$A/v1"},
               "b": {"type": "openai", "url": "http://127.0.0.1:$B/v1"},
               "dead": {"type": "openai", "url": "http://127.0.0.1:$DEAD/v1"}},
 "models": {
   "m": {"deployments": [{"upstream": "a"}, {"upstream": "b"}], "routing": "least_in_flight",
         "retry_backoff_ms": 1, "breaker": {"failures": 2, "cooldown_ms": 3000}},
   "solo": {"upstream": "a", "fallbacks": ["backup"]},
   "backup": {"upstream": "b"},
   "s": {"deployments": [{"upstream": "a"}, {"upstream": "b"}], "routing": "least_in_flight"},
   "d": {"deployments": [{"upstream": "dead"}, {"upstream": "b", "name": "b-backup"}],
         "routing": "least_in_flight"}}}
JSON
gw_start gw --port "$GWP" --config "$tmp/gw.json" || fail "start gateway"

/usr/bin/python3 - "$GWP" "$A" "$B" <<'PY'
import http.client, json, sys, time, urllib.request
from prometheus_client.parser import text_string_to_metric_families
gw, a, b = (int(x) for x in sys.argv[1:4])

def metric(name, **labels):
    text = urllib.request.urlopen(f"http://127.0.0.1:{gw}/metrics").read().decode()
    v = 0.0
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == name and all(s.labels.get(k) == x for k, x in labels.items()):
                v += s.value
    return v

def count(port):
    return int(urllib.request.urlopen(f"http://127.0.0.1:{port}/count").read())

def mode(port, m):
    urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/mode", m.encode()))

def chat(model, stream=False):
    c = http.client.HTTPConnection("127.0.0.1", gw, timeout=20)
    c.request("POST", "/v1/chat/completions",
              json.dumps({"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi"}]}),
              {"Content-Type": "application/json"})
    r = c.getresponse()
    body = r.read().decode(errors="replace")
    c.close()
    return r.status, body

bad = []
def check(cond, what):
    if not cond:
        bad.append(what)

def att(model, dep=None, outcome=None):
    kw = {"model": model}
    if dep:
        kw["deployment"] = dep
    if outcome:
        kw["outcome"] = outcome
    return metric("gateway_route_attempts_total", **kw)

# 1, 2: a fails; each call is retried on b; the second failure opens a's breaker
mode(a, "500")
for i in range(2):
    st, body = chat("m")
    check(st == 200 and '"hi"' in body, f"call {i} through m: {st} {body[:200]}")
check(count(a) == 2 and count(b) == 2, f"upstream calls a={count(a)} b={count(b)} (want 2, 2)")
check(att("m", "a", "http_5xx") == 2 and att("m", "b", "ok") == 2, "attempts after two retries")
check(metric("gateway_route_breaker_state", model="m", deployment="a") == 1, "a's breaker not open")
check(metric("gateway_route_breaker_transitions_total", model="m", deployment="a", state="open") == 1,
      "open transitions")
check(metric("gateway_upstream_errors_total", upstream="a", type="http_5xx") == 2, "upstream errors")

# 3: open: a is skipped (the cooldown is long next to one call, even under a sanitizer)
st, _ = chat("m")
check(st == 200 and count(a) == 2 and count(b) == 3, f"open breaker: a={count(a)} b={count(b)} (want 2, 3)")

# 4: a healthy again: once the cooldown has passed, a call probes a and closes the breaker
mode(a, "ok")
for i in range(400):
    time.sleep(0.05)
    st, _ = chat("m")
    check(st == 200, f"call during cooldown: {st}")
    if count(a) == 3:
        break
check(count(a) == 3, "no probe reached a")
check(metric("gateway_route_breaker_state", model="m", deployment="a") == 0, "a's breaker not closed")
for s in ("open", "half_open", "closed"):
    check(metric("gateway_route_breaker_transitions_total", model="m", deployment="a", state=s) == 1,
          f"{s} transitions")
check(att("m", "a", "ok") == 1, "the probe's attempt")

# 5: every deployment of solo fails: its fallback model answers
mode(a, "500")
st, body = chat("solo")
check(st == 200 and json.loads(body)["model"] == "solo", f"fallback call: {st} {body[:200]}")
check(metric("gateway_route_fallbacks_total", **{"from": "solo", "to": "backup"}) == 1, "fallbacks")
check(att("solo", "a", "http_5xx") == 1 and att("backup", "b", "ok") == 1, "fallback attempts")

# 6: a stream that has begun is never retried
mode(a, "die")
nb = count(b)
st, body = chat("s", stream=True)
check(st == 200 and '"content": "a"' not in body and '"content":"a"' in body, f"stream began: {body[:300]}")
check('"error"' in body, f"no error event in the broken stream: {body[-300:]}")
check(att("s", "a") == 1 and att("s", "b") == 0 and count(b) == nb, "a broken stream was retried")
check(att("s", "a", "protocol") == 1, "the broken stream's outcome")

# 7: every deployment fails: the client gets the last failure
mode(a, "500")
mode(b, "429")
st, _ = chat("s")
check(st == 429, f"all failing: {st}")
check(att("s", "a", "http_5xx") == 1 and att("s", "b", "rate_limited") == 1 and att("s") == 3,
      f"attempts when all fail: {att('s')}")

# 8: a refused connection is retried too
mode(b, "ok")
st, _ = chat("d")
check(st == 200 and att("d", "dead", "connect") == 1 and att("d", "b-backup", "ok") == 1,
      f"connect failure not retried: {st}")

if bad:
    print("FAIL:", *bad, sep="\n  ")
    sys.exit(1)
print("ok: retries (5xx, 429, connect), breaker open/half-open/closed, fallback, no retry after the first byte")
PY
