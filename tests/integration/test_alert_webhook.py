#!/usr/bin/python3
"""test_alert_webhook.py - the console's alerts through the webhook sender
(libsonde-otlp) to a real HTTP receiver: python3's http.server, started here
on a loopback port, which answers the first POST with 503 (the sender must
retry) and records every body. tests/integration/alert/driver.c raises a
gauge until the rule fires and lowers it until it resolves; the receiver must
then hold exactly two Alertmanager webhook payloads (version "4"): firing
then resolved, with the rule's labels and annotations, RFC 3339 startsAt, the
zero endsAt while firing and a later endsAt once resolved."""
import datetime
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading

build = os.environ["SONDE_BUILD"]
driver = os.path.join(build, "tests", "alert_driver")
if not os.path.exists(driver):
    sys.exit("FAIL: %s is not built" % driver)

attempts, bodies = [], []


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        attempts.append((self.path, self.headers.get("Content-Type"), body))
        if len(attempts) == 1:
            self.send_response(503)  # the first attempt fails: the sender retries
            self.end_headers()
            return
        bodies.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = "http://127.0.0.1:%d/hook" % server.server_address[1]

with tempfile.TemporaryDirectory() as tmp:
    rules = os.path.join(tmp, "rules.json")
    with open(rules, "w") as f:
        json.dump({"rules": [{"name": "TempHigh", "severity": "critical",
                              "summary": "temperature <b>high</b>", "family": "temp",
                              "match": {}, "fn": "value", "op": ">", "threshold": 5}]}, f)
    run = subprocess.run([driver, rules, url], capture_output=True, text=True, timeout=300)
server.shutdown()


def check(cond, what):
    if not cond:
        print("FAIL:", what, "\ndriver stdout:", run.stdout, "\nstderr:", run.stderr,
              "\nbodies:", json.dumps(bodies, indent=1))
        sys.exit(1)


check(run.returncode == 0, "the driver exits 0")
check(run.stdout.splitlines() == ["firing", "resolved", "sent=2 failed=0 dropped=0"],
      "the driver saw firing, resolved and sent both")
check(len(attempts) == 3 and len(bodies) == 2, "one retried attempt and two payloads")
check(all(a[0] == "/hook" and a[1] == "application/json" for a in attempts),
      "POSTed as JSON to the URL's path")


def rfc3339(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")


for body, status in zip(bodies, ["firing", "resolved"]):
    check(body["version"] == "4" and body["status"] == status, "version 4, status " + status)
    check(body["receiver"] == "sonde-console", "receiver")
    check(body["groupLabels"] == {"alertname": "TempHigh"}, "groupLabels")
    check(body["groupKey"] == '{}:{alertname="TempHigh"}', "groupKey")
    check(body["truncatedAlerts"] == 0, "truncatedAlerts")
    check(len(body["alerts"]) == 1, "one alert")
    a = body["alerts"][0]
    check(a["status"] == status, "alert status")
    check(a["labels"] == {"alertname": "TempHigh", "severity": "critical"}, "labels")
    check(body["commonLabels"] == a["labels"], "commonLabels")
    check(a["annotations"]["summary"] == "temperature <b>high</b>", "summary annotation")
    check(a["annotations"]["expr"] == "temp", "expr annotation")
    check(a["annotations"]["description"].startswith("temp is "), "description")
    check(a["generatorURL"] == "http://127.0.0.1/console/#/alerts", "generatorURL")
    check(len(a["fingerprint"]) == 16, "fingerprint")
    rfc3339(a["startsAt"])

firing, resolved = bodies[0]["alerts"][0], bodies[1]["alerts"][0]
check(firing["endsAt"] == "0001-01-01T00:00:00Z", "a firing alert has the zero endsAt")
check(firing["annotations"]["value"] == "10", "the value that fired")
check(resolved["annotations"]["value"] == "0", "the value that resolved")
check(resolved["startsAt"] == firing["startsAt"], "resolved keeps startsAt")
check(rfc3339(resolved["endsAt"]) >= rfc3339(resolved["startsAt"]), "endsAt after startsAt")
check(firing["fingerprint"] == resolved["fingerprint"], "one alert, one fingerprint")
print("ok: firing and resolved payloads, one retry")
