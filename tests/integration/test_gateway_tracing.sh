#!/bin/bash
# test_gateway_tracing.sh - trace propagation interop: a client traced by the official
# OpenTelemetry JS SDK (tests/integration/otlp/js_client.js: sdk-trace-node, its W3C
# propagator, exporter-trace-otlp-proto) calls a front sonde-gateway that proxies model "m"
# to a back sonde-gateway answering it from the simulated model. All three export to one
# OTLP receiver started here (tests/integration/otlp/receiver.js, the official OTLP
# definitions of @opentelemetry/otlp-transformer), so the JS SDK's own export and sonde's
# decode with one decoder. The gateways export at shutdown (a 60 s schedule delay): what
# arrives was flushed on SIGTERM.
#  1. gateways at ratio 0 (--trace-ratio 0), client at ratio 1: every span is exported
#     (the parent's sampled flag wins), one trace id from the JS span down to the back's
#     spans, parents chained client -> front SERVER -> front GenAI "chat m" -> front upstream
#     attempt "POST" -> back SERVER -> back GenAI, GenAI attributes, token counts and the
#     response id (gen_ai.response.id, the back's, passed on by the front) as the client saw them; requests without traceparent are roots at the front, unsampled at
#     ratio 0 there and at the back (flags 00 propagated), never exported.
#  2. gateways in the demo profile (ratio 1), client at ratio 0: the client's unsampled flag
#     wins, nothing of those traces is exported; requests without traceparent are sampled
#     roots at the front and reach the back as its parent.
#  In both: every access-log line is one JSON object with method, route, status, model,
#  tokens, trace_id and span_id (the SERVER span's), and the same records arrive as OTLP
#  logs; the lines of sampled requests name exported spans.
set -euo pipefail
. "$(dirname "$0")/lib/gateway.sh"
command -v node >/dev/null || fail "node is not installed"
RX_DIR=$SONDE_SRC/tests/integration/otlp
if [ ! -d "$RX_DIR/node_modules/@opentelemetry/sdk-trace-node" ]; then
  (cd "$RX_DIR" && npm ci --no-audit --no-fund --silent) || fail "npm ci (otlp receiver, JS SDK)"
fi

# receiver NAME: start one; its port in $RX, its output $tmp/NAME.out
receiver() {
  RX=$(free_port)
  node "$RX_DIR/receiver.js" "$RX" "$tmp/$1.out" &
  pids+=($!)
  RX_PID=$!
  for _ in $(seq 100); do [ -f "$tmp/$1.out.ready" ] && return 0; sleep 0.1; done
  fail "receiver $1 did not start"
}

# pair NAME FLAGS...: a back gateway (model m on the sim) and a front one (model m on the
# back), both exporting to $RX at shutdown, access logs in $tmp/NAME_{front,back}.access
pair() {
  local name=$1; shift
  BACK=$(free_port) FRONT=$(free_port)
  cat >"$tmp/$name.back.json" <<JSON
{"upstreams": {"sim": {"ttft_ms": 5, "inter_token_ms": 2, "jitter_ms": 0, "output_tokens": 4}},
 "models": {"m": {"upstream": "sim"}},
 "telemetry": {"service_name": "gw-back", "otlp_endpoint": "http://127.0.0.1:$RX",
               "access_log": "$tmp/${name}_back.access"}}
JSON
  cat >"$tmp/$name.front.json" <<JSON
{"upstreams": {"back": {"type": "openai", "url": "http://127.0.0.1:$BACK/v1"}},
 "models": {"m": {"upstream": "back"}},
 "telemetry": {"service_name": "gw-front", "access_log": "$tmp/${name}_front.access"}}
JSON
  OTEL_BSP_SCHEDULE_DELAY=60000 OTEL_BLRP_SCHEDULE_DELAY=60000 \
    gw_start "${name}_back" --port "$BACK" --config "$tmp/$name.back.json" "$@" || fail "start back"
  BACK_PID=$GW_LAST_PID
  OTEL_BSP_SCHEDULE_DELAY=60000 OTEL_BLRP_SCHEDULE_DELAY=60000 \
    gw_start "${name}_front" --port "$FRONT" --config "$tmp/$name.front.json" \
    --otlp-endpoint "http://127.0.0.1:$RX" "$@" || fail "start front"
  FRONT_PID=$GW_LAST_PID
}

# stop_all: SIGTERM the gateways (they flush), then the receiver
stop_all() {
  kill "$FRONT_PID" "$BACK_PID"
  wait "$FRONT_PID" "$BACK_PID" || fail "a gateway exited with an error"
  kill "$RX_PID"
  wait "$RX_PID" || true
}

plain() { # N requests without traceparent
  for _ in $(seq "$1"); do
    curl -sf -o /dev/null -H 'Content-Type: application/json' \
      -d '{"model":"m","messages":[{"role":"user","content":"no trace"}],"max_tokens":4}' \
      "http://127.0.0.1:$FRONT/v1/chat/completions" || fail "plain request"
  done
}

# 1. gateways at ratio 0, the JS client at ratio 1
receiver r1
pair one --trace-ratio 0
node "$RX_DIR/js_client.js" "http://127.0.0.1:$FRONT" "http://127.0.0.1:$RX" 1 4 m >"$tmp/one.js" \
  || fail "js client (ratio 1)"
plain 2
stop_all
# 2. gateways at ratio 1 (demo profile), the JS client at ratio 0
receiver r2
pair two --trace-profile demo
node "$RX_DIR/js_client.js" "http://127.0.0.1:$FRONT" "http://127.0.0.1:$RX" 0 2 m >"$tmp/two.js" \
  || fail "js client (ratio 0)"
plain 2
stop_all

/usr/bin/python3 - "$tmp" <<'PY' || fail "traces and logs"
import json, os, sys
tmp = sys.argv[1]

def load(run):
    spans, logs = [], []
    for line in open(os.path.join(tmp, run + ".out")):
        r = json.loads(line)
        assert r["status"] == 200 and "error" not in r, r          # one decoder for all
        assert r["contentType"] == "application/x-protobuf", r
        for rs in r["message"].get("resourceSpans", []):
            res = {a["key"]: a["value"].get("stringValue") for a in rs["resource"]["attributes"]}
            for ss in rs["scopeSpans"]:
                for s in ss["spans"]:
                    s["service"] = res["service.name"]
                    s["attrs"] = {a["key"]: list(a["value"].values())[0]
                                  for a in s.get("attributes", [])}
                    spans.append(s)
        for rl in r["message"].get("resourceLogs", []):
            res = {a["key"]: a["value"].get("stringValue") for a in rl["resource"]["attributes"]}
            for sl in rl["scopeLogs"]:
                for x in sl["logRecords"]:
                    x["service"] = res["service.name"]
                    logs.append(x)
    return spans, logs

def access(name):
    lines = [json.loads(l) for l in open(os.path.join(tmp, name + ".access"))]  # each one object
    probes = [l for l in lines if l["fields"]["route"] == "/health"]     # gw_start's
    assert probes and all(l["fields"]["method"] == "GET" and l["fields"]["status"] == 200
                          and "model" not in l["fields"] for l in probes), probes
    lines = [l for l in lines if l not in probes]
    for l in lines:
        assert l["msg"] == "request" and l["level"] == "info", l
        f = l["fields"]
        assert f["method"] == "POST" and f["route"] == "/v1/chat/completions", l
        assert f["status"] == 200 and f["model"] == "m" and f["duration_ms"] >= 0, l
        assert f["input_tokens"] >= 1 and f["output_tokens"] == 4, l
        assert "key" not in f, l                                   # no keys configured
        assert len(l["trace_id"]) == 32 and len(l["span_id"]) == 16, l
    return lines

def check_logs(logs, lines, service):
    """the access lines of one gateway arrived as OTLP log records, ids and fields alike"""
    attrs = lambda x: {k["key"]: list(k["value"].values())[0] for k in x["attributes"]}
    mine = [x for x in logs if x["service"] == service and attrs(x)["route"] != "/health"]
    assert len(mine) == len(lines), (service, len(mine), len(lines))
    got = sorted((x["traceId"], x["spanId"]) for x in mine)
    assert got == sorted((l["trace_id"], l["span_id"]) for l in lines), service
    for x in mine:
        assert x["body"]["stringValue"] == "request" and x["severityNumber"] == 9, x
        a = attrs(x)
        assert a["status"] == "200" and a["model"] == "m", a

def one_of(spans, **kw):
    found = [s for s in spans if all(s.get(k) == v for k, v in kw.items())]
    assert len(found) == 1, (kw, found)
    return found[0]

# ---- run 1: client ratio 1, gateways ratio 0
spans, logs = load("r1")
client = [json.loads(l) for l in open(os.path.join(tmp, "one.js"))]
assert len(client) == 4 and [c["stream"] for c in client] == [False, True, False, True]
front, back = access("one_front"), access("one_back")
assert len(front) == len(back) == 6, (len(front), len(back))
for c in client:
    assert c["status"] == 200 and c["sampled"] and c["outputTokens"] == 4, c
    assert c["traceparent"] == "00-%s-%s-01" % (c["traceId"], c["spanId"]), c
    t = [s for s in spans if s["traceId"] == c["traceId"]]
    assert len(t) == 6, [(s["service"], s["name"]) for s in t]   # nothing else, nothing twice
    js = one_of(t, service="js-client")
    assert js["spanId"] == c["spanId"] and "parentSpanId" not in js and js["kind"] == 3, js
    f_srv = one_of(t, service="gw-front", kind=2)
    f_gen = one_of(t, service="gw-front", name="chat m")
    f_att = one_of(t, service="gw-front", name="POST")
    b_srv = one_of(t, service="gw-back", kind=2)
    b_gen = one_of(t, service="gw-back", name="chat m")
    chain = [js, f_srv, f_gen, f_att, b_srv, b_gen]
    for parent, child in zip(chain, chain[1:]):
        assert child["parentSpanId"] == parent["spanId"], (parent["name"], child)
    assert f_srv["name"] == b_srv["name"] == "POST /v1/chat/completions"
    assert (f_gen["kind"], f_att["kind"], b_gen["kind"]) == (3, 3, 3)
    for g, provider in ((f_gen, "openai"), (b_gen, "sonde.sim")):
        a = g["attrs"]
        assert a["gen_ai.operation.name"] == "chat" and a["gen_ai.request.model"] == "m", a
        assert a["gen_ai.provider.name"] == provider, a
        assert a["gen_ai.usage.output_tokens"] == "4" and int(a["gen_ai.usage.input_tokens"]) >= 1, a
        assert a["gen_ai.response.finish_reasons"] == "stop", a
        assert a["gen_ai.response.id"] == c["responseId"] != "", (a, c)   # the back's answer
    assert f_att["attrs"]["http.response.status_code"] == "200", f_att
    assert f_srv["attrs"]["http.response.status_code"] == "200", f_srv
    # the access lines of this request: the SERVER span of each gateway
    assert [(l["trace_id"], l["span_id"]) for l in front if l["trace_id"] == c["traceId"]] == \
        [(c["traceId"], f_srv["spanId"])]
    assert [(l["trace_id"], l["span_id"]) for l in back if l["trace_id"] == c["traceId"]] == \
        [(c["traceId"], b_srv["spanId"])]
# no traceparent: roots at the front, unsampled at ratio 0 there and (propagated) at the back
js_traces = {c["traceId"] for c in client}
plain_front = {l["trace_id"] for l in front} - js_traces
plain_back = {l["trace_id"] for l in back} - js_traces
assert len(plain_front) == 2 and plain_front == plain_back, (plain_front, plain_back)
assert not [s for s in spans if s["traceId"] in plain_front], "unsampled roots were exported"
assert {s["traceId"] for s in spans} == js_traces
check_logs(logs, front, "gw-front")
check_logs(logs, back, "gw-back")

# ---- run 2: client ratio 0, gateways ratio 1
spans, logs = load("r2")
client = [json.loads(l) for l in open(os.path.join(tmp, "two.js"))]
front, back = access("two_front"), access("two_back")
assert len(client) == 2 and len(front) == len(back) == 4
for c in client:
    assert c["status"] == 200 and not c["sampled"], c
    assert c["traceparent"] == "00-%s-%s-00" % (c["traceId"], c["spanId"]), c
    # unsampled all the way down, yet the ids are in both access logs
    assert not [s for s in spans if s["traceId"] == c["traceId"]], "an unsampled trace was exported"
    assert [l["trace_id"] for l in front].count(c["traceId"]) == 1
    assert [l["trace_id"] for l in back].count(c["traceId"]) == 1
js_traces = {c["traceId"] for c in client}
plain = {l["trace_id"] for l in front} - js_traces
assert len(plain) == 2 and plain == {l["trace_id"] for l in back} - js_traces
probes = {s["traceId"] for s in spans if s["name"] == "GET /health"}   # gw_start's, roots too
assert {s["traceId"] for s in spans} - probes == plain, "only the gateways' own roots are exported"
for t in plain:
    f_srv = one_of(spans, traceId=t, service="gw-front", kind=2)
    assert "parentSpanId" not in f_srv, f_srv                        # a root at the front
    f_att = one_of(spans, traceId=t, service="gw-front", name="POST")
    b_srv = one_of(spans, traceId=t, service="gw-back", kind=2)
    assert b_srv["parentSpanId"] == f_att["spanId"], b_srv
    for name, lines, srv in (("front", front, f_srv), ("back", back, b_srv)):
        assert [l["span_id"] for l in lines if l["trace_id"] == t] == [srv["spanId"]], name
check_logs(logs, front, "gw-front")
check_logs(logs, back, "gw-back")
print("ok")
PY
echo "2 runs passed"
