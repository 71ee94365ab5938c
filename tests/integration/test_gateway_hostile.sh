#!/bin/bash
# Hostile labels: 1,000 requests as a stranger would send them - distinct
# 200 kB model names (passed on to the sim by default_upstream, the most
# permissive configuration), distinct unknown API keys, odd tool names, and
# a hostile upstream answering with 200 kB model names, odd finish reasons
# and odd tool names. Then /metrics must stay under 1 MB, its series count
# must not grow from the first 500 requests to the next 500, and the
# counters must say why: gateway_refusals_total{code} and
# gateway_unlisted_values_total{label}. A strict gateway (the default
# configuration) refuses unknown models with OpenAI's 404 model_not_found,
# echoing at most a bounded piece of the name. The size and the time of one
# scrape are printed (never asserted on: timing is the machine's).
set -euo pipefail
. "$(dirname "$0")/lib/gateway.sh"

UP=$(free_port)
cat >"$tmp/evil.py" <<'PY'
import base64, http.server, json, os, sys
def rnd(n):  # n random characters, some of them not ASCII
    return base64.b64encode(os.urandom(n)).decode()[:n - 2] + "é€"
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps({"id": "x", "object": "chat.completion", "model": rnd(200000),
                           "choices": [{"index": 0, "finish_reason": rnd(40),
                                        "message": {"role": "assistant", "content": None,
                                                    "tool_calls": [{"id": "c", "type": "function",
                                                                    "function": {"name": rnd(1000),
                                                                                 "arguments": "{}"}}]}}],
                           "usage": {"prompt_tokens": 3, "completion_tokens": 2}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
/usr/bin/python3 "$tmp/evil.py" "$UP" &
pids+=($!)

cat >"$tmp/gw.json" <<JSON
{"upstreams": {"sim": {"ttft_ms": 0, "inter_token_ms": 0, "jitter_ms": 0, "output_tokens": 2},
               "evil": {"type": "openai", "url": "http://127.0.0.1:$UP/v1"}},
 "models": {"evil": {"upstream": "evil"}},
 "default_upstream": "sim",
 "tools": ["lookup"],
 "keys": [{"name": "k", "key": "sk-k"}]}
JSON
PORT=$(free_port)
STRICT=$(free_port)
gw_start gw --port "$PORT" --config "$tmp/gw.json" || fail "start"
gw_start strict --port "$STRICT" || fail "start strict"

/usr/bin/python3 - "$PORT" "$STRICT" "$UP" <<'PY'
import base64, json, os, sys, time, urllib.request, urllib.error
from concurrent.futures import ThreadPoolExecutor
from prometheus_client.parser import text_string_to_metric_families
port, strict, up = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])

def rnd(n):  # n random characters (base64 alphabet)
    return base64.b64encode(os.urandom(n)).decode()[:n]

def post(p, body, key="sk-k"):
    hdr = {"Content-Type": "application/json"}
    if key:
        hdr["Authorization"] = "Bearer " + key
    req = urllib.request.Request(f"http://127.0.0.1:{p}/v1/chat/completions",
                                 data=json.dumps(body).encode(), headers=hdr)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()

# the evil upstream may still be starting
for _ in range(100):
    try:
        urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{up}/", data=b"{}"), timeout=1)
        break
    except urllib.error.HTTPError:
        break
    except OSError:
        time.sleep(0.05)

msgs = [{"role": "user", "content": "hi"}]
def one(i):
    kind = i % 4
    if kind == 0:   # a distinct 200 kB model name, passed on to the sim
        return kind, post(port, {"model": rnd(200000), "messages": msgs})[0]
    if kind == 1:   # a distinct unknown key
        return kind, post(port, {"model": "sonde-sim", "messages": msgs}, key="sk-" + rnd(40))[0]
    if kind == 2:   # an odd tool name, which the sim calls
        tool = "t_" + rnd(200).replace("+", "_").replace("/", "-")
        return kind, post(port, {"model": "sonde-sim", "messages": msgs,
                                 "tools": [{"type": "function", "function": {"name": tool}}]})[0]
    return kind, post(port, {"model": "evil", "messages": msgs})[0]  # the hostile upstream

want = {0: 200, 1: 401, 2: 200, 3: 200}
def scrape():
    req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"x-api-key": "sk-k"})
    t0 = time.monotonic()
    text = urllib.request.urlopen(req, timeout=60).read().decode()
    return text, time.monotonic() - t0

bad = []
figures = []
scrape()  # the scrape's own series (route /metrics) exist from here on
for rnd_no, rng in enumerate((range(0, 500), range(500, 1000))):
    with ThreadPoolExecutor(8) as ex:
        for kind, status in ex.map(one, rng):
            if status != want[kind]:
                bad.append(f"kind {kind}: status {status}, want {want[kind]}")
    text, secs = scrape()
    series = sum(1 for l in text.splitlines() if l and not l.startswith("#"))
    figures.append((len(text), series, secs))
    print(f"after {rng.stop} requests: /metrics {len(text)} bytes, {series} series, "
          f"scrape {secs * 1000:.1f} ms")

size, series, _ = figures[1]
if size >= 1 << 20:
    bad.append(f"/metrics is {size} bytes (>= 1 MB)")
# process_* gauges are values, not series; the count must not move
if figures[0][1] != series:
    bad.append(f"series grew from {figures[0][1]} to {series}")

samples = {}
for fam in text_string_to_metric_families(text):
    for s in fam.samples:
        samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
def get(name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)
def expect(what, got, want):
    if got != want:
        bad.append(f"{what}: {got}, want {want}")
expect("unknown keys refused", get("gateway_refusals_total", code="invalid_api_key"), 250)
expect("models recorded as _other", get("gateway_unlisted_values_total", label="model"), 250)
# the sim echoes the asked name (250) and the evil upstream invents one (250)
expect("response models as _other", get("gateway_unlisted_values_total", label="response_model"), 500)
# the sim calls the odd tool (250), the evil upstream reports one (250)
expect("tools as _other", get("gateway_unlisted_values_total", label="tool"), 500)
expect("finish reasons as _other", get("gateway_unlisted_values_total", label="finish_reason"), 250)
expect("calls of _other", get("gateway_provider_calls_total", provider="sonde.sim", model="_other", status="ok"), 250)
expect("calls of evil", get("gateway_provider_calls_total", provider="openai", model="evil", status="ok"), 250)
expect("evil's finish reasons", get("gateway_finish_reasons_total", provider="openai", model="evil", reason="_other"), 250)
expect("tool calls", get("gateway_tool_calls_total", model="sonde-sim", tool="_other"), 250)
expect("evil tool calls", get("gateway_tool_calls_total", model="evil", tool="_other"), 250)
# nothing too long ever reached the library (it would refuse and count it)
expect("library label rejections", sum(v for (n, _), v in samples.items()
                                       if n == "sonde_label_rejections_total"), 0)
longest = max(len(v) for (_, labels) in samples for (_, v) in labels) if samples else 0
if longest > 256:
    bad.append(f"a label value of {longest} bytes")

# the strict gateway (default configuration): unknown models are 404 model_not_found, and the
# error echoes a bounded piece of the name
status, body = post(strict, {"model": "x" * 200000, "messages": msgs}, key=None)
try:
    err = json.loads(body)["error"]
except Exception:
    err = {}
if status != 404 or err.get("code") != "model_not_found" or err.get("type") != "invalid_request_error" \
        or len(err.get("message", "")) > 200:
    bad.append(f"strict unknown model: {status} {body[:200]!r}")
status, body = post(strict, {"model": "sonde-sim", "messages": msgs}, key=None)
if status != 200:
    bad.append(f"strict sonde-sim: {status}")

if bad:
    print("FAIL:\n  " + "\n  ".join(bad[:20]))
    sys.exit(1)
print(f"ok: 1000 hostile requests, /metrics {size} bytes and {series} series (unchanged), "
      f"refusals and _other counted")
PY
