#!/bin/bash
# test_console_browser.sh - the embedded console in a real browser: Debian's chromium,
# headless, driven by playwright-core (tests/integration/console/console_test.mjs, which
# lists its checks). Here: a sonde-gateway with its simulated model (every request
# traced, the console sampling each second, a test alert rule on the provider error ratio
# with a short window and "for", a webhook receiver on loopback), models whose names are
# hostile markup (label values and log fields), and sonde-load driving streamed chats
# for the whole run. Screenshots of every page land in $SONDE_BUILD/console-screenshots/.
set -euo pipefail
. "$(dirname "$0")/lib/gateway.sh"
py=/usr/bin/python3
command -v node >/dev/null || fail "node is not installed"
[ -x /usr/bin/chromium ] || fail "chromium is not installed (package chromium)"
DIR=$SONDE_SRC/tests/integration/console
if [ ! -d "$DIR/node_modules/playwright-core" ]; then
  (cd "$DIR" && npm ci --no-audit --no-fund --silent) || fail "npm ci (playwright-core)"
fi

# the webhook receiver: each POST body appended as one line to $tmp/webhook.jsonl
HOOK=$(free_port)
"$py" - "$HOOK" "$tmp/webhook.jsonl" <<'PY' &
import http.server, json, sys
out = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(out, "a") as f:
            f.write(json.dumps(json.loads(body)) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
pids+=($!)

RULE=ConsoleTestErrorRatio
cat >"$tmp/rules.json" <<JSON
{"rules": [{"name": "$RULE", "severity": "warning", "summary": "provider calls failing",
            "family": "gateway_provider_calls_total", "match": {"status": "error|timeout"},
            "fn": "ratio", "denominator_match": {}, "window_s": 10,
            "op": ">", "threshold": 0.2, "for_s": 6}]}
JSON
cat >"$tmp/gw.json" <<JSON
{"upstreams": {"sim": {"ttft_ms": 20, "inter_token_ms": 10, "jitter_ms": 2, "output_tokens": 8}},
 "models": {"sonde-sim": {"upstream": "sim",
                          "price": {"input_per_million": 1000, "output_per_million": 2000, "currency": "USD"}},
            "<img src=x onerror=alert(1)>": {"upstream": "sim"},
            "</script>": {"upstream": "sim"}},
 "console": {"interval_ms": 1000},
 "alerts": {"rules": "$tmp/rules.json", "webhook": "http://127.0.0.1:$HOOK/hook",
            "alertmanager_url": "http://alertmanager.invalid:9093/"}}
JSON
PORT=$(free_port) MPORT=$(free_port)
# every request traced; the tracer keeps its last 512 spans whole (the most it keeps:
# about 15 s of this traffic) for the waterfall; the access log is the console's logger
SONDE_TRACE_RECENT=512 gw_start gw --port "$PORT" --metrics-port "$MPORT" --config "$tmp/gw.json" \
  --trace-profile demo --access-log "$tmp/access.log" || fail "start gateway"

# the X-Sonde-Sim-Error-Rate knob the alert part relies on: 1 fails every call, 0 none
out=$("$LOAD" -u "http://127.0.0.1:$PORT/v1" -q -n 4 -c 1 -m "<img src=x onerror=alert(1)>" \
  -H 'X-Sonde-Sim-Error-Rate: 1' || true)   # sonde-load exits non-zero when requests fail
errs=$(sed -n 's/.*errors=\([0-9]*\).*/\1/p' <<<"$out")
[ "$errs" = 4 ] || fail "X-Sonde-Sim-Error-Rate: 1 gave $errs errors of 4"
for m in "<img src=x onerror=alert(1)>" "</script>"; do
  "$LOAD" -u "http://127.0.0.1:$PORT/v1" -q -n 3 -c 1 -m "$m" >/dev/null || fail "load $m"
done
"$LOAD" -u "http://127.0.0.1:$PORT/v1" -q -d 600 -c 1 >"$tmp/load.out" 2>&1 &
pids+=($!)

SHOTS=$SONDE_BUILD/console-screenshots
rm -rf "$SHOTS"
CONSOLE="http://127.0.0.1:$MPORT/console/" METRICS="http://127.0.0.1:$MPORT/metrics" \
  API="http://127.0.0.1:$PORT/v1" LOAD="$LOAD" SHOTS="$SHOTS" WEBHOOK="$tmp/webhook.jsonl" RULE="$RULE" \
  ALERTMANAGER="http://alertmanager.invalid:9093/" \
  node "$DIR/console_test.mjs" || { tail -20 "$tmp/gw.log"; fail "browser checks"; }
