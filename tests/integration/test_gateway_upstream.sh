#!/bin/bash
# The gateway in front of a scriptable upstream (lib/test_upstream.py) that
# stalls, fails and streams odd SSE on demand and logs when each transfer to
# the gateway ended. Checks, with real sockets:
#  - hang-ups: a client closing its socket while its whole answer is pending,
#    while its stream waits for the first byte, and mid-stream, makes the
#    gateway end the upstream transfer (seen at the upstream, whose stall would
#    otherwise last 10 minutes), record the call `cancelled` and HTTP 499, charge
#    the key nothing more than what was streamed, and bring every in-flight
#    gauge back;
#  - upstream answers: 401 and 403 become 502 saying the upstream refused the
#    gateway's key; 429 stays 429 with the upstream's Retry-After (or one
#    computed), recorded rate_limited; 500 becomes 502; a refused connection is
#    502 and marks the upstream down in gateway_upstream_up;
#  - timeouts: no first byte in time is 504 `timeout`, silence mid-stream ends the
#    stream with an error event (`timeout`), steady chunks inside the idle limit
#    pass; a client that stops reading is dropped after the client idle limit
#    (its connection shut down at once) and recorded `cancelled`, never blamed on
#    the upstream as a timeout;
#  - SSE: event names, multi-line data and non-JSON data reach the client
#    verbatim, CR and CRLF line ends included; streamed chunks and whole
#    answers carry the model name the client asked for (also an alias).
# Durations are printed, not asserted (the machine may be loaded); that each
# end happened at all shows the gateway caused it.
set -euo pipefail
. "$(dirname "$0")/lib/gateway.sh"

UP=$(free_port)
DEAD=$(free_port)
PORT=$(free_port)
MPORT=$(free_port)
/usr/bin/python3 "$SONDE_SRC/tests/integration/lib/test_upstream.py" "$UP" >"$tmp/upstream.log" 2>&1 &
pids+=($!)
for i in $(seq 1 100); do
  curl -s -o /dev/null "http://127.0.0.1:$UP/_log" && break
  sleep 0.05
done
# something listens on DEAD while the gateway starts, so its first probe finds it up:
# only the refused call afterwards can mark it down (probes are an hour apart)
/usr/bin/python3 -c 'import socket,sys,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(600)' "$DEAD" &
DEAD_PID=$!
pids+=($DEAD_PID)
for i in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$DEAD") 2>/dev/null && break
  sleep 0.05
done

cat >"$tmp/gw.json" <<JSON
{"listen": {"address": "127.0.0.1"},
 "client_idle_timeout_ms": 1500,
 "upstreams": {
   "up":   {"type": "openai", "url": "http://127.0.0.1:$UP/v1", "provider": "testup"},
   "fast": {"type": "openai", "url": "http://127.0.0.1:$UP/v1", "provider": "testfast",
            "first_byte_timeout_ms": 400, "idle_timeout_ms": 400},
   "steady": {"type": "openai", "url": "http://127.0.0.1:$UP/v1", "provider": "teststeady",
              "idle_timeout_ms": 3000},
   "dead": {"type": "openai", "url": "http://127.0.0.1:$DEAD/v1", "connect_timeout_ms": 500}
 },
 "models": {
   "ok": {"upstream": "up"}, "alias": {"upstream": "up", "upstream_model": "ok"},
   "stall-first": {"upstream": "up"}, "stall-mid": {"upstream": "up"}, "raw": {"upstream": "up"},
   "status-401": {"upstream": "up"}, "status-403": {"upstream": "up"},
   "status-429": {"upstream": "up"}, "status-429-ra-7": {"upstream": "up"},
   "status-500": {"upstream": "up"},
   "fb-stall": {"upstream": "fast", "upstream_model": "stall-first"},
   "idle-stall": {"upstream": "fast", "upstream_model": "stall-mid"},
   "tick": {"upstream": "steady", "upstream_model": "tick-200"},
   "flood": {"upstream": "fast", "upstream_model": "flood"},
   "refused": {"upstream": "dead"}
 },
 "default_upstream": null,
 "keys": [{"name": "tester", "key": "sk-test"}]}
JSON
gw_start gw --port "$PORT" --metrics-port "$MPORT" --config "$tmp/gw.json" --probe-interval 3600 \
  || fail "start gateway"
kill "$DEAD_PID"
wait "$DEAD_PID" 2>/dev/null || true

/usr/bin/python3 - "$PORT" "$MPORT" "$UP" <<'PY'
import json, socket, sys, time, urllib.request
from prometheus_client.parser import text_string_to_metric_families
port, mport, up = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
bad = []
MSGS = [{"role": "user", "content": "hello there"}]

def metric(name, **labels):
    text = urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics").read().decode()
    v = 0.0
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == name and all(s.labels.get(k) == x for k, x in labels.items()):
                v += s.value
    return v

def uplog():
    return json.loads(urllib.request.urlopen(f"http://127.0.0.1:{up}/_log").read())

def request(model, stream=False, extra=None):
    body = {"model": model, "messages": MSGS}
    if stream:
        body["stream"] = True
    body.update(extra or {})
    b = json.dumps(body).encode()
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Authorization: Bearer sk-test\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(b) + b)
    return s

def read_all(s, limit=30):
    s.settimeout(limit)
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            return out
        out += d

def whole(model, extra=None):
    """status, headers (lower-case names), body of a whole answer"""
    s = request(model, extra=extra)
    raw = read_all(s)
    s.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    hdrs = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    if hdrs.get("transfer-encoding") == "chunked":
        out, rest = b"", body
        while rest:
            n, _, rest = rest.partition(b"\r\n")
            n = int(n, 16)
            if n == 0:
                break
            out, rest = out + rest[:n], rest[n + 2:]
        body = out
    return int(lines[0].split()[1]), hdrs, body

def wait_for(what, pred, seconds=15):
    end = time.time() + seconds
    while time.time() < end:
        v = pred()
        if v is not None and v is not False:
            return v
        time.sleep(0.02)
    bad.append(f"timed out waiting for: {what}")
    print(f"upstream log at the timeout ({what}): {uplog()}")
    return None

def started(model, n):
    """the upstream log index of the n-th request for model, once it started"""
    idx = [i for i, e in enumerate(uplog()) if e["model"] == model]
    return idx[n] if len(idx) > n else None

gauges = lambda: (metric("gateway_calls_in_flight"), metric("gateway_streams_in_flight"),
                  metric("http_requests_in_flight"), metric("http_responses_streaming"))
key_out = lambda: metric("gateway_key_tokens_total", key="tester", type="output")
key_in = lambda: metric("gateway_key_tokens_total", key="tester", type="input")

# ---- hang-ups -----------------------------------------------------------------
base_gauges = gauges()
for case, model, stream, read_first in (("whole answer pending", "stall-first", False, False),
                                        ("stream before its first byte", "stall-first", True, False),
                                        ("mid-stream", "stall-mid", True, True)):
    n_before = len([e for e in uplog() if e["model"] == model])
    cancelled0 = metric("gateway_provider_calls_total", model=model, status="cancelled")
    h499 = metric("http_requests_total", status="499")
    kin, kout = key_in(), key_out()
    s = request(model, stream)
    i = wait_for(f"{case}: the upstream gets the request", lambda: started(model, n_before))
    if i is None:
        continue
    got = b""
    if read_first:  # wait for the first token to reach the client
        s.settimeout(10)
        while b'"first"' not in got:
            d = s.recv(4096)
            if not d:
                break
            got += d
    time.sleep(0.2)  # the connection is parked: nothing to send
    s.close()
    t0 = time.monotonic()
    e = wait_for(f"{case}: the upstream transfer ends", lambda: (uplog()[i]["ended"] and uplog()[i]))
    if e:
        if e["state"] != "closed":
            bad.append(f"{case}: upstream transfer {e['state']}, want closed by the gateway")
        print(f"{case}: the upstream saw the transfer end {e['ended'] - t0:.3f} s after the hang-up")
    wait_for(f"{case}: call recorded cancelled",
             lambda: metric("gateway_provider_calls_total", model=model, status="cancelled") == cancelled0 + 1)
    wait_for(f"{case}: HTTP 499 recorded", lambda: metric("http_requests_total", status="499") == h499 + 1)
    wait_for(f"{case}: in-flight gauges back to {base_gauges}", lambda: gauges() == base_gauges)
    want_out = 1 if read_first else 0  # the one token the client received
    if key_out() != kout + want_out:
        bad.append(f"{case}: key charged {key_out() - kout} output tokens, want {want_out}")
    if not read_first and key_in() != kin:
        bad.append(f"{case}: key charged {key_in() - kin} input tokens for an answer never given")
    if metric("gateway_provider_calls_total", model=model, status="error") or \
       metric("gateway_provider_calls_total", model=model, status="timeout"):
        bad.append(f"{case}: a hang-up recorded as an error or timeout")

# ---- upstream answers ---------------------------------------------------------
for model, want in (("status-401", 502), ("status-403", 502), ("status-500", 502)):
    st, h, body = whole(model)
    err = json.loads(body).get("error", {})
    if st != want or err.get("type") != "upstream_error":
        bad.append(f"{model}: {st} {body!r}, want {want} upstream_error")
    if model != "status-500" and ("key" not in err.get("message", "") or err.get("code") != "upstream_auth"):
        bad.append(f"{model}: the error does not say the upstream refused the gateway's key: {err}")
    if metric("gateway_provider_calls_total", model=model, status="error") != 1:
        bad.append(f"{model}: not recorded as one error")
for model, ra in (("status-429-ra-7", "7"), ("status-429", None)):
    st, h, body = whole(model)
    err = json.loads(body).get("error", {})
    if st != 429 or err.get("type") != "rate_limit_exceeded":
        bad.append(f"{model}: {st} {body!r}, want 429 rate_limit_exceeded")
    if ra and h.get("retry-after") != ra:
        bad.append(f"{model}: Retry-After {h.get('retry-after')}, want the upstream's {ra}")
    if not ra and not (h.get("retry-after", "").isdigit() and int(h["retry-after"]) >= 1):
        bad.append(f"{model}: no computed Retry-After: {h}")
    if metric("gateway_provider_calls_total", model=model, status="rate_limited") != 1 or \
       metric("gateway_provider_calls_total", model=model, status="error") != 0:
        bad.append(f"{model}: not recorded as rate_limited")
if metric("gateway_upstream_errors_total", upstream="up", type="auth") != 2:
    bad.append("upstream errors: want 2 of type auth")
if metric("gateway_upstream_errors_total", upstream="up", type="rate_limited") != 2:
    bad.append("upstream errors: want 2 of type rate_limited")
if metric("gateway_upstream_up", upstream="dead") != 1:
    bad.append("the dead upstream should look up before any call (probe found a listener)")
st, h, body = whole("refused")
if st != 502 or json.loads(body)["error"].get("code") != "upstream_connect":
    bad.append(f"refused: {st} {body!r}, want 502 upstream_connect")
if metric("gateway_upstream_up", upstream="dead") != 0:
    bad.append("a refused connection did not mark the upstream down")
if metric("gateway_upstream_up", upstream="up") != 1:
    bad.append("the working upstream is not up")

# ---- timeouts -------------------------------------------------------------------
n_before = len([e for e in uplog() if e["model"] == "stall-first"])
st, h, body = whole("fb-stall")
if st != 504 or json.loads(body)["error"].get("code") != "upstream_timeout":
    bad.append(f"first-byte timeout: {st} {body!r}, want 504 upstream_timeout")
i = started("stall-first", n_before)
if i is None or not wait_for("first-byte timeout: transfer ended", lambda: uplog()[i]["ended"]):
    bad.append("first-byte timeout: the upstream transfer was not ended")
st, h, body = whole("idle-stall", {"stream": True})
if st != 200 or b'"upstream_error"' not in body or b"data: [DONE]" not in body or b'"first"' not in body:
    bad.append(f"idle timeout mid-stream: {st} {body[-300:]!r}")
for model in ("fb-stall", "idle-stall"):
    if metric("gateway_provider_calls_total", model=model, status="timeout") != 1:
        bad.append(f"{model}: not recorded as timeout")
# 20 chunks 200 ms apart: 4 s in all, longer than the 3 s idle limit, which bounds the gaps only
st, h, body = whole("tick", {"stream": True})
if st != 200 or body.count(b'"content":"t') != 20 or b"upstream_error" in body:
    bad.append(f"steady chunks inside the idle limit: {st}, {body.count(b'content')} chunks")
if metric("gateway_provider_calls_total", model="tick", status="ok") != 1:
    bad.append("tick: not recorded ok")
# a client that stops reading: 16 MiB pending, the upstream paused for longer than its
# idle limit (400 ms) while the client idle limit (1500 ms) runs out
timeouts0 = metric("gateway_upstream_errors_total", upstream="fast", type="timeout")
h499 = metric("http_requests_total", status="499")
n_before = len([e for e in uplog() if e["model"] == "flood"])
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
b = json.dumps({"model": "flood", "messages": MSGS, "stream": True}).encode()
s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-test\r\n"
          b"Content-Type: application/json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(b) + b)
i = wait_for("slow reader: upstream started", lambda: started("flood", n_before))
t0 = time.monotonic()
if i is not None:
    e = wait_for("slow reader: the upstream transfer ends", lambda: (uplog()[i]["ended"] and uplog()[i]), 30)
    if e:
        print(f"slow reader: dropped {e['ended'] - t0:.3f} s after its request started "
              f"(client idle limit 1.5 s)")
        if e["state"] != "closed":
            bad.append("slow reader: the upstream sent everything (the client was not dropped)")
wait_for("slow reader: recorded cancelled",
         lambda: metric("gateway_provider_calls_total", model="flood", status="cancelled") == 1)
if metric("gateway_provider_calls_total", model="flood", status="timeout") != 0 or \
   metric("gateway_upstream_errors_total", upstream="fast", type="timeout") != timeouts0:
    bad.append("slow reader: the client's slowness was blamed on the upstream (timeout)")
wait_for("slow reader: the gateway closed its connection (499, in-flight gauges back)",
         lambda: metric("http_requests_total", status="499") == h499 + 1 and gauges() == base_gauges)
s.close()

# ---- SSE passthrough and model names --------------------------------------------
st, h, body = whole("raw", {"stream": True, "stream_options": {"include_usage": True}})
for want in (b"event: note\ndata: line one\ndata: line two\n\n", b"data: plain text, not JSON\n\n",
             b"data: [DONE]\n\n"):
    if want not in body:
        bad.append(f"raw SSE: {want!r} not passed on verbatim; got {body!r}")
chunks = [json.loads(l[6:]) for l in body.split(b"\n") if l.startswith(b"data: {")]
if len(chunks) != 4 or any(c.get("model") != "raw" for c in chunks):
    bad.append(f"raw SSE: JSON chunks {chunks}, want 4 carrying model 'raw'")
if metric("gateway_provider_calls_total", model="raw", status="ok") != 1:
    bad.append("raw SSE: not recorded ok")
st, h, body = whole("alias", {"stream": True})
chunks = [json.loads(l[6:]) for l in body.split(b"\n") if l.startswith(b"data: {")]
if st != 200 or not chunks or any(c.get("model") != "alias" for c in chunks):
    bad.append(f"alias stream: chunks carry {[c.get('model') for c in chunks]}, want 'alias'")
st, h, body = whole("alias")
if st != 200 or json.loads(body).get("model") != "alias":
    bad.append(f"alias whole answer: {st} {body!r}")

if bad:
    print("\n".join("FAIL: " + b for b in bad))
    sys.exit(1)
print("ok: hang-ups, upstream answers, timeouts, slow readers and SSE passthrough")
PY

# the timeouts as flags: every OpenAI upstream, --upstream's included
PORT2=$(free_port)
gw_start gw2 --port "$PORT2" --address 127.0.0.1 --upstream "http://127.0.0.1:$UP/v1" \
  --first-byte-timeout-ms 300 --idle-timeout-ms 300 --probe-interval 3600 || fail "start gateway 2"
code=$(curl -s -o "$tmp/fb.json" -w '%{http_code}' -m 20 "http://127.0.0.1:$PORT2/v1/chat/completions" \
  -H 'Content-Type: application/json' -d '{"model": "stall-first", "messages": [{"role": "user", "content": "x"}]}')
[ "$code" = 504 ] && grep -q upstream_timeout "$tmp/fb.json" || fail "--first-byte-timeout-ms: $code $(cat "$tmp/fb.json")"
curl -s -N -m 20 "http://127.0.0.1:$PORT2/v1/chat/completions" -H 'Content-Type: application/json' \
  -d '{"model": "stall-mid", "stream": true, "messages": [{"role": "user", "content": "x"}]}' >"$tmp/idle.txt"
grep -q '"code":"timeout"' "$tmp/idle.txt" && grep -q 'data: \[DONE\]' "$tmp/idle.txt" \
  || fail "--idle-timeout-ms: $(cat "$tmp/idle.txt")"
echo "ok: the timeout flags"
