#!/bin/bash
# Hostile input for sonde-gateway: bad numbers on its command line, then
# truncated, oversized, non-UTF-8, deeply nested and wrongly typed JSON,
# unknown paths and methods, garbage instead of HTTP, a client dribbling its
# body byte by byte while others are served, and clients vanishing
# mid-stream. The gateway must answer each with the right status and the
# OpenAI error shape, keep serving, and count exactly.
# Then SIGTERM with streams in progress ends it cleanly (exit status 0).
# Last, an upstream reporting absurd token usage does not corrupt counters.
set -euo pipefail
. "$(dirname "$0")/lib/gateway.sh"

# numbers out of range on the command line or in the environment (NaN too) are
# refused with exit status 2 (--list-metrics: it would exit 0 right after parsing)
for args in "--sim-error-rate nan" "--port nan" "--threads 0" "--sim-ttft-ms -1"; do
  rc=0
  # shellcheck disable=SC2086
  "$GW" $args --list-metrics >/dev/null 2>"$tmp/flag.err" || rc=$?
  [ "$rc" = 2 ] && grep -q "wants a number" "$tmp/flag.err" || fail "flag '$args': exit $rc"
done
rc=0
SONDE_GATEWAY_THREADS=nan "$GW" --list-metrics >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "SONDE_GATEWAY_THREADS=nan: exit $rc"

PORT=$(free_port)
echo '{"default_upstream": "sim"}' >"$tmp/any.json"  # the sim answers any model name
gw_start gw --port "$PORT" --address 127.0.0.1 --config "$tmp/any.json" --max-body 8192 --sim-ttft-ms 20 \
  --sim-inter-token-ms 100 --sim-jitter-ms 0 --sim-output-tokens 10 || fail "start"
GW_PID=$GW_LAST_PID

/usr/bin/python3 - "$PORT" <<'PY'
import json, socket, sys, threading, time, urllib.request
from prometheus_client.parser import text_string_to_metric_families
port = int(sys.argv[1])
bad = []

def raw(data, read=True, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    out = b""
    if read:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
            if b"\r\n\r\n" in out:
                head, _, body = out.partition(b"\r\n\r\n")
                cl = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                if cl and len(body) >= int(cl[0].split(b":")[1]):
                    break
    s.close()
    return out

def post(body, path="/v1/chat/completions", method="POST"):
    if isinstance(body, str):
        body = body.encode()
    req = (f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
    out = raw(req)
    head, _, payload = out.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), payload

def expect_error(name, status, got, param=None):
    code, payload = got
    if code != status:
        bad.append(f"{name}: status {code}, want {status}")
        return
    try:
        e = json.loads(payload)["error"]
        assert isinstance(e["message"], str) and e["type"]
        assert "code" in e and "param" in e
    except Exception as ex:
        bad.append(f"{name}: not the OpenAI error shape: {payload[:200]!r}")
        return
    if status == 400 and (e["type"] != "invalid_request_error" or e["param"] != param):
        bad.append(f"{name}: type {e['type']!r}, param {e['param']!r}, want {param!r}: {e['message']}")

ok_msg = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
CHAT, CMPL, EMB = "/v1/chat/completions", "/v1/completions", "/v1/embeddings"
def chat(**kw):  # a valid chat request with some fields replaced
    return json.dumps(dict(ok_msg, **kw))
def msg(**kw):   # a chat request whose one message has these fields
    return json.dumps({"model": "m", "messages": [kw]})
def cmpl(**kw):
    return json.dumps(dict({"model": "m", "prompt": "hi"}, **kw))
def emb(**kw):
    return json.dumps(dict({"model": "m", "input": "hi"}, **kw))
fn_tool = {"type": "function", "function": {"name": "f"}}
# (name, path, body, param): each answered 400 in the OpenAI shape naming param
cases = [
    ("truncated", CHAT, '{"model":"m","messages":[{"role":"user","cont', None),
    ("empty body", CHAT, "", None),
    ("not an object", CHAT, "[1,2,3]", None),
    ("non-UTF-8", CHAT, b'{"model":"m","messages":[{"role":"user","content":"\xff\xfe"}]}', None),
    ("nested 100", CHAT, '{"model":"m","messages":[{"role":"user","content":"x"}],"x":' + "[" * 100 + "]" * 100 + "}", None),
    ("nested 3000", CHAT, "[" * 3000 + "]" * 3000, None),
    ("duplicate keys", CHAT, '{"model":"m","model":"n","messages":[{"role":"user","content":"x"}]}', None),
    ("NUL byte", CHAT, b'{"model":"m\x00","messages":[{"role":"user","content":"x"}]}', None),
    ("missing model", CHAT, '{"messages":[{"role":"user","content":"x"}]}', "model"),
    ("empty model", CHAT, chat(model=""), "model"),
    ("numeric model", CHAT, chat(model=5), "model"),
    ("missing messages", CHAT, '{"model":"m"}', "messages"),
    ("empty messages", CHAT, chat(messages=[]), "messages"),
    ("messages an object", CHAT, chat(messages={"role": "user", "content": "x"}), "messages"),
    ("message a string", CHAT, chat(messages=["hi"]), "messages.[0]"),
    ("missing role", CHAT, msg(content="x"), "messages.[0].role"),
    ("numeric role", CHAT, msg(role=1, content="x"), "messages.[0].role"),
    ("unknown role", CHAT, msg(role="wizard", content="x"), "messages.[0].role"),
    ("numeric content", CHAT, msg(role="user", content=5), "messages.[0].content"),
    ("object content", CHAT, msg(role="user", content={"text": "x"}), "messages.[0].content"),
    ("boolean content", CHAT, msg(role="user", content=True), "messages.[0].content"),
    ("null user content", CHAT, msg(role="user", content=None), "messages.[0].content"),
    ("missing content", CHAT, msg(role="system"), "messages.[0].content"),
    ("null assistant content", CHAT, msg(role="assistant", content=None), "messages.[0].content"),
    ("empty parts", CHAT, msg(role="user", content=[]), "messages.[0].content"),
    ("string part", CHAT, msg(role="user", content=["x"]), "messages.[0].content.[0]"),
    ("part without type", CHAT, msg(role="user", content=[{"text": "x"}]), "messages.[0].content.[0].type"),
    ("numeric part type", CHAT, msg(role="user", content=[{"type": "text", "text": "x"}, {"type": 1}]),
     "messages.[0].content.[1].type"),
    ("second message", CHAT, chat(messages=[{"role": "user", "content": "x"}, {"role": "user", "content": 7}]),
     "messages.[1].content"),
    ("bad stream", CHAT, chat(stream="yes"), "stream"),
    ("numeric stream", CHAT, chat(stream=1), "stream"),
    ("bad stream_options", CHAT, chat(stream=True, stream_options="yes"), "stream_options"),
    ("stream_options without stream", CHAT, chat(stream_options={"include_usage": True}), "stream_options"),
    ("stream_options with stream false", CHAT, chat(stream=False, stream_options={}), "stream_options"),
    ("bad include_usage", CHAT, chat(stream=True, stream_options={"include_usage": "yes"}),
     "stream_options.include_usage"),
    ("bad max_tokens", CHAT, chat(max_tokens=-1), "max_tokens"),
    ("zero max_tokens", CHAT, chat(max_tokens=0), "max_tokens"),
    ("decimal max_tokens", CHAT, chat(max_tokens=1.5), "max_tokens"),
    ("string max_tokens", CHAT, chat(max_tokens="10"), "max_tokens"),
    ("zero max_completion_tokens", CHAT, chat(max_completion_tokens=0), "max_completion_tokens"),
    ("string n", CHAT, chat(n="2"), "n"),
    ("zero n", CHAT, chat(n=0), "n"),
    ("n 129", CHAT, chat(n=129), "n"),
    ("n 2 on the sim", CHAT, chat(n=2), "n"),
    ("string temperature", CHAT, chat(temperature="hot"), "temperature"),
    ("temperature 2.5", CHAT, chat(temperature=2.5), "temperature"),
    ("negative temperature", CHAT, chat(temperature=-0.1), "temperature"),
    ("top_p 1.5", CHAT, chat(top_p=1.5), "top_p"),
    ("boolean top_p", CHAT, chat(top_p=True), "top_p"),
    ("tools an object", CHAT, chat(tools=fn_tool), "tools"),
    ("numeric tool", CHAT, chat(tools=[5]), "tools.[0]"),
    ("tool of another type", CHAT, chat(tools=[fn_tool, {"type": "retrieval", "function": {"name": "g"}}]),
     "tools.[1].type"),
    ("tool without name", CHAT, chat(tools=[{"type": "function", "function": {}}]), "tools.[0].function.name"),
    ("tool_choice sometimes", CHAT, chat(tools=[fn_tool], tool_choice="sometimes"), "tool_choice"),
    ("numeric tool_choice", CHAT, chat(tools=[fn_tool], tool_choice=5), "tool_choice"),
    ("tool_choice without name", CHAT, chat(tools=[fn_tool], tool_choice={"type": "function"}), "tool_choice"),
    ("tool_choice without tools", CHAT, chat(tool_choice="auto"), "tool_choice"),
    ("tool_choice with no tools", CHAT, chat(tools=[], tool_choice="none"), "tool_choice"),
    ("missing prompt", CMPL, '{"model":"m"}', "prompt"),
    ("numeric prompt", CMPL, cmpl(prompt=5), "prompt"),
    ("empty prompt array", CMPL, cmpl(prompt=[]), "prompt"),
    ("mixed prompt", CMPL, cmpl(prompt=["a", 5]), "prompt.[1]"),
    ("object prompt", CMPL, cmpl(prompt=[{"text": "a"}]), "prompt.[0]"),
    ("completion n 0", CMPL, cmpl(n=0), "n"),
    ("completion temperature 3", CMPL, cmpl(temperature=3), "temperature"),
    ("completion stream", CMPL, cmpl(stream="true"), "stream"),
    ("missing input", EMB, '{"model":"m"}', "input"),
    ("empty input", EMB, emb(input=""), "input"),
    ("empty input array", EMB, emb(input=[]), "input"),
    ("object input", EMB, emb(input={"text": "a"}), "input"),
    ("empty string input", EMB, emb(input=["a", ""]), "input.[1]"),
    ("negative token", EMB, emb(input=[1, -1]), "input.[1]"),
    ("decimal token", EMB, emb(input=[1, 2.5]), "input.[1]"),
    ("empty token array", EMB, emb(input=[[1], []]), "input.[1]"),
    ("string in token array", EMB, emb(input=[[1, "a"]]), "input.[0]"),
    ("boolean input", EMB, emb(input=[True]), "input.[0]"),
    ("bad encoding_format", EMB, emb(encoding_format="int8"), "encoding_format"),
    ("numeric encoding_format", EMB, emb(encoding_format=5), "encoding_format"),
    ("streamed embeddings", EMB, emb(stream=True), "stream"),
    ("embeddings bad model", EMB, emb(model=[]), "model"),
]
n400 = {}
for name, path, body, param in cases:
    expect_error(name, 400, post(body, path=path), param)
    n400[path] = n400.get(path, 0) + 1
expect_error("oversized", 413, post('{"model":"m","messages":[{"role":"user","content":"' + "x" * 10000 + '"}]}'))
expect_error("unknown path", 404, post("{}", path="/v1/nothing"))
expect_error("wrong method", 405, post("", path="/v1/chat/completions", method="GET"))
expect_error("wrong method on models", 405, post("{}", path="/v1/models", method="POST"))

# garbage instead of HTTP, and a connection that says nothing at all
raw(b"\x16\x03\x01\x02\x00garbage\r\n\r\n")
s = socket.create_connection(("127.0.0.1", port)); s.close()

# a slow client dribbles its body while a normal request is served meanwhile
body = json.dumps(ok_msg).encode()
slow = socket.create_connection(("127.0.0.1", port), timeout=10)
slow.sendall((f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
              "Connection: close\r\n\r\n").encode())
normal = []
def other():
    normal.append(post(json.dumps(ok_msg))[0])
t = threading.Thread(target=other)
for i, byte in enumerate(body):
    slow.sendall(bytes([byte]))
    if i == 5:
        t.start()
    time.sleep(0.01)
t.join()
resp = b""
while True:
    b = slow.recv(65536)
    if not b:
        break
    resp += b
slow.close()
if not resp.startswith(b"HTTP/1.1 200") or normal != [200]:
    bad.append(f"slow client: {resp[:20]!r}, concurrent request: {normal}")

# clients vanishing mid-stream (after the first token) and before it
stream_body = json.dumps(dict(ok_msg, stream=True)).encode()
req = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {len(stream_body)}\r\n\r\n").encode() + stream_body
for i in range(5):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(req)
    got = b""
    while b'"content":"sonde' not in got and i % 2 == 0:
        got += s.recv(65536)
    s.close()

def metrics():
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
    out = {}
    for fam in text_string_to_metric_families(text):
        for smp in fam.samples:
            out[(smp.name, tuple(sorted(smp.labels.items())))] = smp.value
    return out

def val(m, name, **labels):
    return sum(v for (n, l), v in m.items() if n == name and all(dict(l).get(k) == x for k, x in labels.items()))

deadline = time.time() + 5
while time.time() < deadline:
    m = metrics()
    # the call's end and the connection's end are recorded by different threads, in either order
    if val(m, "gateway_provider_calls_total", status="cancelled") >= 5 and val(m, "gateway_streams_in_flight") == 0 \
            and val(m, "http_requests_in_flight") == 1:
        break
    time.sleep(0.1)

# still serving
code, payload = post(json.dumps(ok_msg))
if code != 200:
    bad.append(f"after all that, a normal request got {code}")
# the server records that request's end after the client has its answer: wait for it
deadline = time.time() + 5
m = metrics()
while val(m, "http_requests_in_flight") != 1 and time.time() < deadline:
    time.sleep(0.05)
    m = metrics()
route = "/v1/chat/completions"
checks = [
    ("400s", val(m, "http_requests_total", route=route, status="400"), n400[CHAT]),
    ("completion 400s", val(m, "http_requests_total", route=CMPL, status="400"), n400[CMPL]),
    ("embedding 400s", val(m, "http_requests_total", route=EMB, status="400"), n400[EMB]),
    ("all 400s", val(m, "http_requests_total", status="400"), len(cases)),
    ("calls", val(m, "gateway_provider_calls_total"), 8),
    ("413s", val(m, "http_requests_total", route=route, status="413"), 1),
    ("404s", val(m, "http_requests_total", status="404"), 1),
    ("405s", val(m, "http_requests_total", status="405"), 2),
    ("ok calls", val(m, "gateway_provider_calls_total", status="ok"), 3),
    ("cancelled calls", val(m, "gateway_provider_calls_total", status="cancelled"), 5),
    ("calls in flight", val(m, "gateway_calls_in_flight"), 0),
    ("streams in flight", val(m, "gateway_streams_in_flight"), 0),
    ("http streaming", val(m, "http_responses_streaming"), 0),
    ("http in flight", val(m, "http_requests_in_flight"), 1),
]
for name, got, want in checks:
    if got != want:
        bad.append(f"{name}: {got}, want {want}")
if bad:
    print("\n".join("FAIL: " + b for b in bad))
    sys.exit(1)
print(f"ok: {len(cases) + 4} bad requests refused, slow and vanishing clients handled, counters exact")
PY

# Bytes a client put in the URL (percent-decoded by MHD) and messages cut
# inside a multi-byte character still get the OpenAI error shape with the
# right status and code, never a stand-in "out of memory" server error; a
# model name cut inside a character in a label still ends its call; the
# number of embedding inputs is bounded.
/usr/bin/python3 - "$PORT" <<'PY'
import json, sys, urllib.request, urllib.error
from prometheus_client.parser import text_string_to_metric_families
port = int(sys.argv[1])
bad = []

def get(path):
    try:
        r = urllib.request.urlopen(f"http://127.0.0.1:{port}{path}")
        return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()

def post(path, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        r = urllib.request.urlopen(req)
        return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()

for path, code in [("/v1/%ff%fe", "unknown_url"), ("/v1/a" + "%c3%a9" * 300, "unknown_url"),
                   ("/v1/models/%ff", "model_not_found")]:
    status, body = get(path)
    try:
        e = json.loads(body)["error"]
    except Exception:
        e = {}
    if status != 404 or e.get("code") != code or e.get("type") != "invalid_request_error":
        bad.append(f"{path[:24]}: {status} {body[:120]!r}")

# a model name of 200 bytes of "é", passed on by default_upstream: labelled "_other" (the
# response model too), which must not leave the call in flight nor lose it
def other_calls():
    calls = in_flight = 0
    for fam in text_string_to_metric_families(get("/metrics")[1].decode()):
        for smp in fam.samples:
            if smp.name == "gateway_provider_calls_total" and smp.labels.get("model") == "_other":
                calls += smp.value
            if smp.name == "gateway_calls_in_flight":
                in_flight += smp.value
    return calls, in_flight
model = "\u00e9" * 100
before = other_calls()[0]
status, body = post("/v1/chat/completions", {"model": model, "messages": [{"role": "user", "content": "x"}]})
calls, in_flight = other_calls()
if status != 200 or calls != before + 1 or in_flight != 0 or json.loads(body)["model"] != model:
    bad.append(f"long non-ASCII model: status {status}, calls {calls - before}, in flight {in_flight}")

# embeddings: each input costs a whole vector, so their number is bounded (2048, as OpenAI)
status, body = post("/v1/embeddings", {"model": "m", "input": [1] * 2049})
if status != 400 or b"2048" not in body:
    bad.append(f"2049 embedding inputs: {status} {body[:120]!r}")
status, body = post("/v1/embeddings", {"model": "m", "input": [1] * 2048})
if status != 200 or len(json.loads(body)["data"]) != 2048:
    bad.append(f"2048 embedding inputs: {status} {body[:120]!r}")

# every shape OpenAI accepts is still accepted (null counts as absent)
fn_tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
user = {"role": "user", "content": "hi"}
valid = [
    ("/v1/chat/completions", {"messages": [
        {"role": "developer", "content": "be brief"}, {"role": "system", "content": [{"type": "text", "text": "x"}]},
        {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "x"}}]},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c", "type": "function",
                                                              "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c", "content": "sunny"}, {"role": "assistant", "content": "ok"},
        {"role": "function", "name": "f", "content": "x"}]}),
    ("/v1/chat/completions", {"messages": [user], "n": 1, "temperature": 0, "top_p": 1, "max_tokens": 3,
                              "max_completion_tokens": 3, "stream": False, "stream_options": None}),
    ("/v1/chat/completions", {"messages": [user], "n": None, "temperature": 2, "top_p": 0.5, "max_tokens": None,
                              "stream": None, "tools": None, "tool_choice": None}),
    ("/v1/chat/completions", {"messages": [user], "temperature": 1.5, "tools": [fn_tool], "tool_choice": "auto"}),
    ("/v1/chat/completions", {"messages": [user], "tools": [fn_tool], "tool_choice": "required"}),
    ("/v1/chat/completions", {"messages": [user], "tools": [fn_tool],
                              "tool_choice": {"type": "function", "function": {"name": "f"}}}),
    ("/v1/completions", {"prompt": "", "n": 1, "temperature": 0.7}),
    ("/v1/completions", {"prompt": ["a", "b"]}),
    ("/v1/completions", {"prompt": [1, 2, 3]}),
    ("/v1/embeddings", {"input": [1, 2]}),
    ("/v1/embeddings", {"input": [[1, 2], [3]], "encoding_format": "base64"}),
    ("/v1/embeddings", {"input": ["a", "b"], "encoding_format": None}),
]
for path, body in valid:
    status, got = post(path, dict(body, model="m"))
    if status != 200:
        bad.append(f"valid {path} {json.dumps(body)[:80]}: {status} {got[:160]!r}")
if bad:
    print("\n".join("FAIL: " + b for b in bad))
    sys.exit(1)
print(f"ok: non-UTF-8 and cut text in error messages and labels; embedding inputs bounded; "
      f"{len(valid)} valid requests of every accepted shape served")
PY

# SIGTERM while 20 streams and 10 waiting whole answers are in progress
"$LOAD" -u "http://127.0.0.1:$PORT/v1" -c 20 -d 30 -s -q >/dev/null 2>&1 &
L1=$!
"$LOAD" -u "http://127.0.0.1:$PORT/v1" -c 10 -d 30 -S -q >/dev/null 2>&1 &
L2=$!
pids+=("$L1" "$L2")
sleep 0.5
kill -TERM "$GW_PID"
rc=0
wait "$GW_PID" || rc=$?
[ "$rc" = 0 ] || { cat "$tmp/gw.log"; fail "gateway exited with $rc on SIGTERM under load"; }
echo "ok: clean exit on SIGTERM under load"

# A broken upstream reporting absurd usage (2^63-1 tokens, negative counts)
# must not push the key's counters by 2^63 nor backwards: such counts are
# ignored and the gateway's own estimate stands.
UP=$(free_port)
cat >"$tmp/up.py" <<'PY'
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps({"model": "m", "choices": [{"finish_reason": "stop",
                           "message": {"role": "assistant", "content": "x"}}],
                           "usage": {"prompt_tokens": 2**63 - 1, "completion_tokens": -7}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
/usr/bin/python3 "$tmp/up.py" "$UP" &
pids+=($!)
cat >"$tmp/usage.json" <<JSON
{"upstreams": {"up": {"type": "openai", "url": "http://127.0.0.1:$UP/v1"}},
 "default_upstream": "up", "keys": [{"name": "k", "key": "sk-k", "tokens_per_minute": 1000000}]}
JSON
PORT2=$(free_port)
gw_start usage --port "$PORT2" --address 127.0.0.1 --config "$tmp/usage.json" || fail "start usage"
for i in $(seq 1 50); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT2/v1/chat/completions" \
    -H 'Authorization: Bearer sk-k' -d '{"model":"m","messages":[{"role":"user","content":"hello"}]}')
  [ "$code" = 200 ] && break
  sleep 0.1 # the upstream may still be starting
done
[ "$code" = 200 ] || fail "call through the absurd upstream: $code"
# the key after more than one space (RFC 7235: 1*SP) is still the key; a wrong one is not
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT2/v1/models" \
  -H 'Authorization: Bearer   sk-k')
[ "$code" = 200 ] || fail "key after three spaces: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT2/v1/models" \
  -H 'Authorization: Bearer   sk-x')
[ "$code" = 401 ] || fail "wrong key after three spaces: $code"
/usr/bin/python3 - "$PORT2" <<'PY'
import sys, urllib.request
from prometheus_client.parser import text_string_to_metric_families
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/metrics", headers={"x-api-key": "sk-k"})
text = urllib.request.urlopen(req).read().decode()
tok = {s.labels["type"]: s.value for f in text_string_to_metric_families(text) for s in f.samples
       if s.name == "gateway_key_tokens_total" and s.labels.get("key") == "k"}
if tok != {"input": 2.0, "output": 0.0}:  # the estimate of "hello"; no output reported
    print(f"FAIL: key tokens {tok}")
    sys.exit(1)
print("ok: absurd upstream usage ignored")
PY
