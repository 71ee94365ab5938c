#!/usr/bin/python3
"""test_gateway_alerts.py - sonde-gateway's console alerts end to end: a gateway
whose simulated upstream fails every call (--sim-error-rate 1), an alert rule
file (--alert-rules) on the provider calls' error ratio written with the
exposition's name gateway_provider_calls_total, --alert-webhook to a
python3 http.server receiver started here on loopback, --alertmanager-url.
Chat requests run until /console/api/alerts shows the rule firing (bounded);
then the receiver must hold the firing payload, and the API the rule's
history (pending is skipped with for_s 0: inactive -> firing) and the link.
A bad rules file stops the gateway at start with the rule and field named."""
import atexit
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from free_port import free_port  # noqa: E402

build = os.environ["SONDE_BUILD"]
gw = os.path.join(build, "sonde-gateway")
bodies = []


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def fail(what, log=""):
    print("FAIL:", what, log)
    sys.exit(1)


receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=receiver.serve_forever, daemon=True).start()
hook = "http://127.0.0.1:%d/hook" % receiver.server_address[1]

tmp = tempfile.mkdtemp()
atexit.register(shutil.rmtree, tmp, True)
rules = os.path.join(tmp, "rules.json")
with open(rules, "w") as f:
    json.dump({"rules": [{"name": "LLMErrors", "severity": "critical", "summary": "calls fail",
                          "family": "gateway_provider_calls_total",
                          "match": {"status": "error|timeout"}, "fn": "ratio", "window_s": 2,
                          "op": ">", "threshold": 0.5}]}, f)
config = os.path.join(tmp, "gw.json")
with open(config, "w") as f:
    json.dump({"console": {"interval_ms": 100}}, f)

port = free_port()
log = open(os.path.join(tmp, "gw.log"), "w")
proc = subprocess.Popen([gw, "--port", str(port), "--config", config, "--alert-rules", rules,
                         "--alert-webhook", hook, "--alertmanager-url", "http://127.0.0.1:9093",
                         "--sim-error-rate", "1", "--sim-ttft-ms", "1",
                         "--sim-inter-token-ms", "0"], stdout=log, stderr=log)
base = "http://127.0.0.1:%d" % port
try:
    def get(path):
        with urllib.request.urlopen(base + path, timeout=10) as r:
            return json.loads(r.read())

    for _ in range(200):
        try:
            urllib.request.urlopen(base + "/health", timeout=1)
            break
        except OSError:
            time.sleep(0.05)
    else:
        fail("the gateway did not start", open(log.name).read())
    chat = json.dumps({"model": "sonde-sim", "messages": [{"role": "user", "content": "hi"}]})
    rule = None
    deadline = time.monotonic() + 60  # a bound for a stuck run, not a timing assertion
    while time.monotonic() < deadline:
        req = urllib.request.Request(base + "/v1/chat/completions", data=chat.encode(),
                                     headers={"Content-Type": "application/json"})
        try:
            urllib.request.urlopen(req, timeout=10)
        except urllib.error.HTTPError:
            pass  # the simulated upstream fails: that is the point
        rule = get("/console/api/alerts")["rules"][0]
        if rule["state"] == "firing" and bodies:
            break
        time.sleep(0.02)
    alerts = get("/console/api/alerts")
    if rule is None or rule["state"] != "firing":
        fail("the rule never fired: %s" % json.dumps(alerts), open(log.name).read())
    if not bodies:
        fail("the webhook received nothing")
    if alerts["alertmanager_url"] != "http://127.0.0.1:9093":
        fail("alertmanager_url %r" % alerts["alertmanager_url"])
    if rule["name"] != "LLMErrors" or not rule["value"] > 0.5 or rule["active_since"] is None:
        fail("rule %s" % json.dumps(rule))
    if [h["state"] for h in rule["history"]] != ["firing"]:
        fail("history %s" % json.dumps(rule["history"]))
    if not rule["expr"].startswith('rate(gateway_provider_calls_total{status=~"error|timeout"}[2s])'):
        fail("expr %r" % rule["expr"])
    b = bodies[0]
    if b["status"] != "firing" or b["alerts"][0]["labels"] != {"alertname": "LLMErrors",
                                                                "severity": "critical"}:
        fail("payload %s" % json.dumps(b))
finally:
    proc.terminate()
    proc.wait(timeout=30)
    receiver.shutdown()

# a bad rules file: the gateway refuses to start and says where
with open(rules, "w") as f:
    json.dump({"rules": [{"name": "X", "family": "x", "fn": "rate", "op": ">", "threshold": "1"}]}, f)
run = subprocess.run([gw, "--port", str(free_port()), "--alert-rules", rules],
                     capture_output=True, text=True, timeout=60)
if run.returncode == 0 or 'rule 1 ("X"): "threshold" must be a number' not in run.stderr:
    fail("a bad rules file: rc %d, stderr %r" % (run.returncode, run.stderr))
print("ok: the gateway's alert fired, notified and is shown")
