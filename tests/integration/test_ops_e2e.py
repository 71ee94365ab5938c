"""End-to-end test of the operations kit (deploy/) with the real engines.

Starts, on free loopback ports: sonde-gateway with a sim upstream that fails
most calls, Prometheus (scrape and rule evaluation every second) with the
kit's rules, Alertmanager with the kit's routing, whose webhook receiver
points at a small HTTP server of this test that records every notification,
whose email receiver sends to an SMTP sink of this test (aiosmtpd, requiring
the login whose password Alertmanager reads from its secrets file), and whose
Slack receiver posts to the same HTTP server (the URL read from its secrets
file). The Prometheus, rule and Alertmanager files are generated from deploy/
with only what a test needs changed: 1 s intervals, 10 s instead of 5 m
windows, `for` durations of 1 s, loopback addresses, short group waits, no
TLS to the SMTP sink; the secrets files are written where the kit names them.

Then, while traffic flows through the gateway:
  1. the SondeHighErrorRatio notification reaches the webhook with the labels
     the rules and the scrape configuration give it (and the annotations), the
     SMTP sink as an email with the kit's subject and every label in its text,
     and the Slack endpoint as a message of Slack's shape;
  2. every query of the two Grafana dashboards, and every template variable
     query, runs against that Prometheus without error and returns data;
  3. Alertmanager's inhibition: SondeUpstreamDown suppresses SondeTTFTHigh of
     the same service, not of another one;
  4. after the gateway is restarted with a healthy sim, the same alert's
     "resolved" notification arrives.
Every process is stopped at the end, pass or fail.
"""
import email
import email.policy
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml
import logging
import warnings
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from free_port import free_ports  # noqa: E402

# AUTH without TLS is what the sink does on purpose (loopback): keep its warnings quiet.
warnings.filterwarnings("ignore", module="aiosmtpd")
logging.getLogger("mail.log").setLevel(logging.ERROR)

SRC = os.environ.get("SONDE_SRC") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("SONDE_BUILD") or os.path.join(SRC, "build")
DEPLOY = os.path.join(SRC, "deploy")
GATEWAY = os.path.join(BUILD, "sonde-gateway")
WAIT = 60  # seconds any single condition may take before the test gives up

procs = []
sinks = []
tmp = tempfile.mkdtemp(prefix="sonde-ops-e2e-")


def log(msg):
    print(msg, flush=True)


def start(name, argv):
    out = open(os.path.join(tmp, name + ".log"), "ab")
    p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=tmp)
    p.name = name
    procs.append(p)
    return p


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    procs.remove(p)


def http(url, data=None, headers=None, timeout=10):
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_for(what, cond):
    deadline = time.monotonic() + WAIT
    while True:
        try:
            v = cond()
        except (OSError, ValueError):
            v = None
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.25)


# ---- the webhook receiver --------------------------------------------------

notifications = []
slack_posts = []
exports = {}
notif_lock = threading.Lock()
SLACK_PATH = "/slack/services/T0000/B0000/sonde-e2e"


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path.startswith("/v1/") or self.path == "/api/v1/write":
            # the gateway's exporters (OTLP traces, logs, metrics; remote write): accepted
            # unread, so their own metrics (the infrastructure dashboard's) count deliveries
            with notif_lock:
                exports[self.path] = exports.get(self.path, 0) + 1
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with notif_lock:
            if self.path.startswith("/slack/"):
                slack_posts.append({"path": self.path, "type": self.headers.get("Content-Type"),
                                    "body": json.loads(body)})
            else:
                notifications.append({"path": self.path, "body": json.loads(body)})
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def find_notification(status, **labels):
    with notif_lock:
        for n in notifications:
            b = n["body"]
            for a in b["alerts"]:
                if a["status"] == status and all(a["labels"].get(k) == v for k, v in labels.items()):
                    return n, a
    return None


# ---- an MCP server for the agent runs ----------------------------------------

class McpServer(BaseHTTPRequestHandler):
    """Streamable HTTP, JSON answers: tool "add" works, tool "lookup" fails (isError),
    so the agent dashboard has tool executions of both outcomes."""
    protocol_version = "HTTP/1.1"

    def answer(self, status, body, extra=None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        msg = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        method, rid = msg.get("method"), msg.get("id")
        if method == "initialize":
            res = {"protocolVersion": "2025-03-26", "capabilities": {"tools": {}},
                   "serverInfo": {"name": "ops-e2e", "version": "1"}}
            return self.answer(200, {"jsonrpc": "2.0", "id": rid, "result": res},
                               {"Mcp-Session-Id": "ops-e2e"})
        if method == "notifications/initialized":
            return self.answer(202, None)
        if method == "tools/list":
            obj = {"type": "object"}
            tools = [{"name": "add", "inputSchema": obj}, {"name": "lookup", "inputSchema": obj}]
            return self.answer(200, {"jsonrpc": "2.0", "id": rid, "result": {"tools": tools}})
        if method == "tools/call":
            a = msg["params"].get("arguments", {})
            if msg["params"]["name"] == "add":
                res = {"content": [{"type": "text", "text": f"sum={a.get('a', 0) + a.get('b', 0)}"}]}
            else:
                res = {"content": [{"type": "text", "text": "no such key"}], "isError": True}
            return self.answer(200, {"jsonrpc": "2.0", "id": rid, "result": res})
        return self.answer(200, {"jsonrpc": "2.0", "id": rid,
                                 "error": {"code": -32601, "message": "no such method"}})

    def log_message(self, *args):
        pass


# ---- the SMTP sink ---------------------------------------------------------------

SMTP_USER = "sonde-alerts@example.com"  # the kit's smtp_auth_username
SMTP_PASSWORD = "e2e-secret-from-file"  # only in the secrets file the kit names
mails = []


class MailSink:
    async def handle_DATA(self, server, session, envelope):
        with notif_lock:
            mails.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                          "login": session.auth_data, "authenticated": session.authenticated, "data": envelope.content})
        return "250 OK"


def smtp_login(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == SMTP_USER.encode() and auth_data.password == SMTP_PASSWORD.encode()
    return AuthResult(success=ok, auth_data=auth_data)


def find_mail(subject):
    with notif_lock:
        for m in mails:
            msg = email.message_from_bytes(m["data"], policy=email.policy.default)
            if msg["Subject"] == subject:
                return m, msg
    return None


# ---- configuration overlays from deploy/ -----------------------------------

def short(expr):
    return expr.replace("[5m]", "[10s]")


def write_overlays(ports):
    prom = yaml.safe_load(open(os.path.join(DEPLOY, "prometheus.yml")))
    prom["global"].update(scrape_interval="1s", evaluation_interval="1s", scrape_timeout="1s")
    rule_files = []
    for f in prom["rule_files"]:
        rules = yaml.safe_load(open(os.path.join(DEPLOY, f)))
        for g in rules["groups"]:
            g.pop("interval", None)
            for r in g["rules"]:
                r["expr"] = short(r["expr"])
                if "for" in r:
                    r["for"] = "1s"
        path = os.path.join(tmp, os.path.basename(f))
        yaml.safe_dump(rules, open(path, "w"))
        rule_files.append(path)
    prom["rule_files"] = rule_files
    prom["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] = [f"127.0.0.1:{ports['am']}"]
    for job in prom["scrape_configs"]:
        if job["job_name"] == "sonde-gateway":
            job["static_configs"][0]["targets"] = [f"127.0.0.1:{ports['metrics']}"]
        elif job["job_name"] == "prometheus":
            job["static_configs"][0]["targets"] = [f"127.0.0.1:{ports['prom']}"]
        for sd in job.get("file_sd_configs", []):
            sd["files"] = [os.path.join(DEPLOY, p) for p in sd["files"]]
    yaml.safe_dump(prom, open(os.path.join(tmp, "prometheus.yml"), "w"))

    am = yaml.safe_load(open(os.path.join(DEPLOY, "alertmanager.yml")))

    def fast(route):
        route.update(group_wait="1s", group_interval="1s")
        for r in route.get("routes", []):
            fast(r)
    fast(am["route"])
    am["global"]["resolve_timeout"] = "10s"
    am["global"]["smtp_smarthost"] = f"127.0.0.1:{ports['smtp']}"
    am["global"]["smtp_require_tls"] = False  # the sink speaks plain SMTP on loopback
    for rc in am["receivers"]:
        for w in rc.get("webhook_configs", []):
            w["url"] = f"http://127.0.0.1:{ports['hook']}/alerts"
    # The secrets, where the kit's *_file settings name them (relative to the
    # directory Alertmanager starts in, as the kit says).
    secrets = {am["global"]["smtp_auth_password_file"]: SMTP_PASSWORD}
    for rc in am["receivers"]:
        for sc in rc.get("slack_configs", []):
            secrets[sc["api_url_file"]] = f"http://127.0.0.1:{ports['hook']}{SLACK_PATH}\n"
    for path, value in secrets.items():
        assert not os.path.isabs(path), f"the kit's secrets path {path} is absolute"
        os.makedirs(os.path.dirname(os.path.join(tmp, path)), exist_ok=True)
        with open(os.path.join(tmp, path), "w") as f:
            f.write(value)
    yaml.safe_dump(am, open(os.path.join(tmp, "alertmanager.yml"), "w"))

    gw = {
        "models": {"llama": {"price": {"input_per_million": 1000, "output_per_million": 2000,
                                       "currency": "USD"}}},
        # the sim reports rate limits it never reaches (the upstream rate-limit panels)
        "upstreams": {"sim": {"ratelimit_requests": 1000000000, "ratelimit_tokens": 1000000000000}},
        "tools": ["add", "lookup"],
        "mcp": {"servers": [{"name": "tools", "url": f"http://127.0.0.1:{ports['mcp']}/mcp"}]},
        "keys": [
            {"name": "team-a", "key": "sk-team-a", "requests_per_minute": 1000000,
             "tokens_per_minute": 1000000000,
             "daily_budget": {"tokens": 1000000000, "cost": 1000000, "currency": "USD"}},
            {"name": "tiny", "key": "sk-tiny", "requests_per_minute": 1},
        ],
    }
    json.dump(gw, open(os.path.join(tmp, "gateway.json"), "w"))


def start_gateway(ports, error_rate):
    p = start("gateway", [GATEWAY, "--address", "127.0.0.1", "--port", str(ports["api"]),
                          "--metrics-port", str(ports["metrics"]),
                          "--config", os.path.join(tmp, "gateway.json"),
                          "--sim-error-rate", str(error_rate), "--sim-ttft-ms", "10",
                          "--sim-inter-token-ms", "2", "--sim-jitter-ms", "0",
                          "--sim-output-tokens", "8",
                          # every exporter on, to this test's receiver: their own metrics
                          # feed the infrastructure dashboard
                          "--otlp-endpoint", f"http://127.0.0.1:{ports['hook']}",
                          "--trace-profile", "demo",
                          "--otlp-metrics-endpoint", f"http://127.0.0.1:{ports['hook']}/v1/metrics",
                          "--otlp-metrics-interval-ms", "1000",
                          "--remote-write-url", f"http://127.0.0.1:{ports['hook']}/api/v1/write",
                          "--remote-write-interval", "1"])
    wait_for("the gateway's /ready", lambda: http(f"http://127.0.0.1:{ports['metrics']}/ready")[0] == 200)
    return p


# ---- traffic -----------------------------------------------------------------

class Traffic:
    """Clients calling the gateway until stopped: streamed and plain chat,
    completions, embeddings and the model list, and agent runs (chat with MCP
    tools: one that works, one that fails), with the team-a key."""

    def __init__(self, port, clients=3):
        self.port, self.stop_ev, self.statuses = port, threading.Event(), {}
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(clients)]
        for t in self.threads:
            t.start()

    def call(self, path, body=None):
        h = {"Authorization": "Bearer sk-team-a", "Content-Type": "application/json"}
        data = json.dumps(body).encode() if body is not None else None
        status, _ = http(f"http://127.0.0.1:{self.port}{path}", data, h)
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def run(self, i):
        chat = {"model": "llama", "messages": [{"role": "user", "content": "hello there"}]}
        n = 0
        while not self.stop_ev.is_set():
            try:
                k = (n + i) % 7
                if k == 6:
                    self.call("/v1/chat/completions", {
                        "model": "llama", "tools": [{"type": "mcp", "server_label": "tools",
                                                     "require_approval": "never"}],
                        "messages": [{"role": "user", "content":
                                      '@tool add {"a": 2, "b": 40}\n@tool lookup {"key": "k"}'}]})
                elif k in (0, 1, 2):
                    self.call("/v1/chat/completions", dict(chat, stream=True,
                                                           stream_options={"include_usage": True}))
                elif k == 3:
                    self.call("/v1/chat/completions", chat)
                elif k == 4:
                    self.call("/v1/completions", {"model": "llama", "prompt": "once upon"})
                else:
                    self.call("/v1/embeddings", {"model": "llama", "input": "a sentence"})
                    self.call("/v1/models")
            except OSError:
                pass  # the gateway restarting
            n += 1

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(30)


# ---- Prometheus queries of the dashboards -------------------------------------

def prom_query(port, expr):
    q = urllib.parse.urlencode({"query": expr})
    status, body = http(f"http://127.0.0.1:{port}/api/v1/query?{q}")
    j = json.loads(body)
    return status, j


def dashboard_queries():
    """(dashboard, panel title, PromQL) for every target, and (dashboard,
    variable, metric selector, label) for every label_values variable."""
    exprs, variables = [], []
    d = os.path.join(DEPLOY, "grafana", "dashboards")
    for f in sorted(os.listdir(d)):
        j = json.load(open(os.path.join(d, f)))
        for p in j["panels"]:
            for t in p.get("targets", []):
                exprs.append((f, p["title"], t["expr"]))
        for v in j["templating"]["list"]:
            if v["type"] == "query":
                m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", v["definition"])
                assert m, f"{f}: variable {v['name']}: unsupported query {v['definition']}"
                variables.append((f, v["name"], m.group(1), m.group(2)))
    return exprs, variables


def grafana_vars(expr):
    # What Grafana substitutes: every variable set to All (.*), the rate
    # interval to a window that holds several 1 s scrapes.
    expr = expr.replace("$__rate_interval", "1m")
    return re.sub(r"\$\w+", ".*", expr)


def check_dashboards(port):
    exprs, variables = dashboard_queries()
    assert len(exprs) >= 90, f"only {len(exprs)} dashboard queries found"

    def all_have_data():
        bad = []
        for f, title, e in exprs:
            status, j = prom_query(port, grafana_vars(e))
            if status != 200 or j.get("status") != "success":
                raise AssertionError(f"{f} '{title}': {e}: {j.get('error')}")
            if not j["data"]["result"]:
                bad.append(f"{f} '{title}': {e}")
        for f, name, sel, label in variables:
            q = urllib.parse.urlencode({"match[]": grafana_vars(sel)})
            status, body = http(f"http://127.0.0.1:{port}/api/v1/series?{q}")
            j = json.loads(body)
            if status != 200 or j.get("status") != "success":
                raise AssertionError(f"{f} variable {name}: {sel}: {j.get('error')}")
            if not any(label in s for s in j["data"]):
                bad.append(f"{f} variable {name}: no '{label}' in {sel}")
        all_have_data.bad = bad
        return not bad

    try:
        wait_for("data in every dashboard query", all_have_data)
    except AssertionError:
        raise AssertionError("dashboard queries without data:\n  " + "\n  ".join(all_have_data.bad))
    log(f"ok: {len(exprs)} dashboard queries and {len(variables)} variables return data")


# ---- Alertmanager inhibition -------------------------------------------------

def check_inhibition(port):
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    common = {"job": "inhibit-check", "environment": "production", "instance": "x:1"}
    alerts = [
        {"labels": dict(common, alertname="SondeUpstreamDown", severity="critical",
                        service="svc-a", upstream="u1"), "startsAt": now},
        {"labels": dict(common, alertname="SondeTTFTHigh", severity="warning",
                        service="svc-a", model="m"), "startsAt": now},
        {"labels": dict(common, alertname="SondeTTFTHigh", severity="warning",
                        service="svc-b", model="m"), "startsAt": now},
    ]
    status, body = http(f"http://127.0.0.1:{port}/api/v2/alerts", json.dumps(alerts).encode(),
                        {"Content-Type": "application/json"})
    assert status == 200, f"posting alerts to Alertmanager: {status} {body!r}"

    def states():
        q = urllib.parse.urlencode({"filter": 'job="inhibit-check"'})
        _, body = http(f"http://127.0.0.1:{port}/api/v2/alerts?{q}")
        got = {(a["labels"]["alertname"], a["labels"]["service"]): a["status"] for a in json.loads(body)}
        # The inhibitor learns of the source alert asynchronously: poll.
        return got if len(got) == 3 and got[("SondeTTFTHigh", "svc-a")]["state"] == "suppressed" else None

    got = wait_for("SondeTTFTHigh of svc-a to be inhibited by SondeUpstreamDown", states)
    ttft_a, ttft_b = got[("SondeTTFTHigh", "svc-a")], got[("SondeTTFTHigh", "svc-b")]
    assert ttft_a["inhibitedBy"], f"suppressed but not inhibited: {ttft_a}"
    assert ttft_b["state"] == "active" and not ttft_b["inhibitedBy"], f"wrongly inhibited: {ttft_b}"
    assert got[("SondeUpstreamDown", "svc-a")]["state"] == "active"
    # The uninhibited one is delivered; it went through the warning route.
    wait_for("the notification of the uninhibited alert",
             lambda: find_notification("firing", alertname="SondeTTFTHigh", service="svc-b"))
    log("ok: SondeUpstreamDown inhibits SondeTTFTHigh of its service only")


# ---- the test ------------------------------------------------------------------

def main():
    for tool in ("prometheus", "prometheus-alertmanager"):
        assert shutil.which(tool), f"{tool} is not installed (scripts/deps.sh test)"
    assert os.access(GATEWAY, os.X_OK), f"{GATEWAY} is not built"
    p = dict(zip(["api", "metrics", "prom", "am"], free_ports(4)))

    hook = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    p["hook"] = hook.server_address[1]
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    mcp = ThreadingHTTPServer(("127.0.0.1", 0), McpServer)
    mcp.daemon_threads = True
    p["mcp"] = mcp.server_address[1]
    threading.Thread(target=mcp.serve_forever, daemon=True).start()
    p["smtp"] = free_ports(1)[0]
    smtp = Controller(MailSink(), hostname="127.0.0.1", port=p["smtp"], authenticator=smtp_login,
                      auth_required=True, auth_require_tls=False,
                      # aiosmtpd's LOGIN challenge ("User Name") is not the "Username:"
                      # Alertmanager's LOGIN expects; real relays offer PLAIN as well
                      auth_exclude_mechanism=["LOGIN"])
    smtp.start()
    sinks.append(smtp)

    write_overlays(p)
    start("alertmanager", ["prometheus-alertmanager", "--config.file=" + os.path.join(tmp, "alertmanager.yml"),
                           "--storage.path=" + os.path.join(tmp, "am"),
                           f"--web.listen-address=127.0.0.1:{p['am']}",
                           "--cluster.listen-address="])  # no gossip: a single instance
    start("prometheus", ["prometheus", "--config.file=" + os.path.join(tmp, "prometheus.yml"),
                         "--storage.tsdb.path=" + os.path.join(tmp, "prom"),
                         f"--web.listen-address=127.0.0.1:{p['prom']}"])
    gw = start_gateway(p, 0.8)
    wait_for("Alertmanager", lambda: http(f"http://127.0.0.1:{p['am']}/-/ready")[0] == 200)
    wait_for("Prometheus", lambda: http(f"http://127.0.0.1:{p['prom']}/-/ready")[0] == 200)

    traffic = Traffic(p["api"])
    # The small key's limit of 1 request a minute: the second call is refused.
    h = {"Authorization": "Bearer sk-tiny", "Content-Type": "application/json"}
    body = json.dumps({"model": "llama", "messages": [{"role": "user", "content": "hi"}]}).encode()
    codes = [http(f"http://127.0.0.1:{p['api']}/v1/chat/completions", body, h)[0] for _ in range(3)]
    assert 429 in codes, f"the rate limit of key 'tiny' refused nothing: {codes}"

    # 1. the high-error-ratio notification
    n, a = wait_for("the SondeHighErrorRatio notification",
                    lambda: find_notification("firing", alertname="SondeHighErrorRatio"))
    want = {"alertname": "SondeHighErrorRatio", "severity": "critical", "job": "sonde-gateway",
            "service": "sonde-gateway", "environment": "production"}
    assert a["labels"] == want, f"labels {a['labels']} != {want}"
    assert n["path"] == "/alerts" and n["body"]["receiver"] == "webhook", n
    assert n["body"]["groupLabels"] == {"alertname": "SondeHighErrorRatio", "service": "sonde-gateway",
                                        "environment": "production"}, n["body"]["groupLabels"]
    assert a["annotations"]["summary"] == "sonde-gateway (production) answers too many requests with 5xx"
    assert re.fullmatch(r"[0-9.]+% of HTTP requests to sonde-gateway in production failed .*",
                        a["annotations"]["description"]), a["annotations"]["description"]
    log(f"ok: firing notification {a['labels']}")

    # 1b. the same alert by email: the kit's subject, every label in the text, sent
    # after logging in with the password of the secrets file
    subject = "[FIRING] SondeHighErrorRatio (sonde-gateway, production)"
    m, msg = wait_for("the SondeHighErrorRatio email", lambda: find_mail(subject))
    assert m["to"] == ["oncall@example.com"] and m["from"] == "sonde-alerts@example.com", m
    assert m["authenticated"] and m["login"].login == SMTP_USER.encode(), m["login"]
    text = msg.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    for k, v in want.items():
        assert f"  {k} = {v}\n" in text, f"label {k}={v} missing from the email text:\n{text}"
    assert "sonde-gateway (production) answers too many requests with 5xx" in text, text
    log(f"ok: email '{subject}' with labels {sorted(want)}")

    # 1c. and to Slack: the URL from its secrets file, Slack's message shape
    def slack_post():
        with notif_lock:
            return next((p for p in slack_posts if p["body"].get("attachments") and
                         p["body"]["attachments"][0].get("title", "").startswith(
                             "FIRING: SondeHighErrorRatio")), None)
    sp = wait_for("the SondeHighErrorRatio Slack message", slack_post)
    b = sp["body"]
    assert sp["path"] == SLACK_PATH and sp["type"].startswith("application/json"), sp
    assert b["channel"] == "#sonde-alerts", b
    assert len(b["attachments"]) == 1, b
    att = b["attachments"][0]
    assert {"title", "text", "color", "fallback"} <= set(att), att
    assert att["title"] == "FIRING: SondeHighErrorRatio (sonde-gateway, production)", att["title"]
    assert att["color"] == "danger", att["color"]
    assert att["text"].startswith("sonde-gateway (production) answers too many requests with 5xx\n"), att["text"]
    log("ok: Slack message " + att["title"])

    # 2. dashboards, 3. inhibition (while the failing traffic flows)
    check_dashboards(p["prom"])
    check_inhibition(p["am"])

    # 4. errors stop: the same gateway ports, a healthy sim, traffic again
    traffic.stop()
    stop(gw)
    gw = start_gateway(p, 0)
    traffic = Traffic(p["api"])
    n, a = wait_for("the resolved SondeHighErrorRatio notification",
                    lambda: find_notification("resolved", alertname="SondeHighErrorRatio"))
    assert a["labels"] == want, a["labels"]
    assert n["body"]["status"] == "resolved", n["body"]["status"]
    traffic.stop()
    status, j = prom_query(p["prom"], "job:http_requests:error_ratio_rate5m")
    assert j["data"]["result"] and float(j["data"]["result"][0]["value"][1]) <= 0.05, j
    log("ok: resolved notification after the errors stopped")
    print("ops e2e: all passed")


if __name__ == "__main__":
    ok = False
    try:
        main()
        ok = True
    except AssertionError as e:
        print(f"FAIL: {e}", file=sys.stderr)
    finally:
        for proc in list(procs):
            stop(proc)
        for sink in sinks:
            sink.stop()
        if not ok:
            for f in sorted(os.listdir(tmp)):
                if f.endswith(".log"):
                    tail = open(os.path.join(tmp, f), errors="replace").read()[-3000:]
                    print(f"---- {f} (tail)\n{tail}", file=sys.stderr)
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(0 if ok else 1)
