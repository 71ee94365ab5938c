"""compare.py DECODED_JSON VALUES_DIR START - checks the protobufjs decoding of
native-server's protobuf exposition field by field against what it recorded:
the observed values (one file per histogram series), the constants it sets and
the exemplars it attaches (a counter, a classic bucket).
Native buckets are recomputed here from the values, with this file's own index
math (exact powers of two by bisection on fractions), at the schema exposed."""
import json
import math
import sys
import time
from fractions import Fraction

decoded, values_dir, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
fams = {f["name"]: f for f in json.load(open(decoded))}
errors = []


def err(msg):
    errors.append(msg)


def vals(name):
    return [float(x) for x in open(f"{values_dir}/{name}.values")]


def labels(m):
    return {l["name"]: l.get("value", "") for l in m.get("label", [])}


def index(a, schema):
    """Smallest i with a <= 2^(i 2^-schema), exactly: compare a^(2^schema) with 2^i."""
    i = math.ceil(math.log2(a) * 2.0 ** schema)
    fa = Fraction(a)
    def le(i):  # a <= 2^(i / 2^schema)
        if schema <= 0:
            return fa <= Fraction(2) ** (i * 2 ** -schema)
        return fa ** (2 ** schema) <= Fraction(2) ** i
    while not le(i):
        i += 1
    while le(i - 1):
        i -= 1
    return i


def native_expect(values, schema, zero_threshold):
    pos, neg, zero = {}, {}, 0
    for v in values:
        if abs(v) <= zero_threshold:
            zero += 1
            continue
        k = index(1.7976931348623157e308, schema) + 1 if math.isinf(v) else index(abs(v), schema)
        side = pos if v > 0 else neg
        side[k] = side.get(k, 0) + 1
    return pos, neg, zero


def check_created(m, where):
    ts = m.get("createdTimestamp")
    if not ts or not (start - 5 <= int(ts["seconds"]) <= time.time() + 5):
        err(f"{where}: created timestamp {ts}")


DEFAULT_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
TTFT_BOUNDS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]


def check_histogram(fam, sel, name, native, classic, bounds=DEFAULT_BOUNDS):
    ms = [m for m in fams[fam]["metric"] if all(labels(m).get(k) == v for k, v in sel.items())]
    if len(ms) != 1:
        return err(f"{fam}{sel}: {len(ms)} metrics")
    m = ms[0]
    if labels(m).get("env") != "test":
        err(f"{fam}: global label missing")
    h = m["histogram"]
    v = vals(name)
    if int(h["sampleCount"]) != len(v):
        err(f"{fam}{sel}: count {h['sampleCount']} want {len(v)}")
    finite = [x for x in v if not math.isinf(x)]
    if len(finite) == len(v) and abs(h["sampleSum"] - math.fsum(v)) > 1e-9 * max(1, abs(math.fsum(v))):
        err(f"{fam}{sel}: sum {h['sampleSum']} want {math.fsum(v)}")
    check_created(h, fam)
    if native:
        schema = h.get("schema", 0)
        zt = h.get("zeroThreshold", 0)
        pos, neg, zero = native_expect(v, schema, zt)
        got_pos = {int(k): c for k, c in h["positive"].items()}
        got_neg = {int(k): c for k, c in h["negative"].items()}
        if got_pos != pos:
            err(f"{fam}{sel}: positive buckets differ at schema {schema}: "
                f"{sorted(set(got_pos.items()) ^ set(pos.items()))[:6]}")
        if got_neg != neg:
            err(f"{fam}{sel}: negative buckets differ: {sorted(set(got_neg.items()) ^ set(neg.items()))[:6]}")
        if int(h.get("zeroCount", 0)) != zero:
            err(f"{fam}{sel}: zero count {h.get('zeroCount')} want {zero}")
        if zt != 2.938735877055719e-39:
            err(f"{fam}: zero threshold {zt}")
    elif "schema" in h:
        err(f"{fam}: a classic histogram carries a schema")
    if classic:
        got = [(b["upperBound"], int(b.get("cumulativeCount", 0))) for b in h.get("bucket", [])
               if b["upperBound"] != math.inf]
        want = [(b, sum(1 for x in v if x <= b)) for b in bounds]
        if got != want:
            err(f"{fam}: classic buckets {got} want {want}")
    elif h.get("bucket"):
        err(f"{fam}: a native-only histogram carries classic buckets")


def family(name, typ):
    f = fams.get(name)
    if not f:
        err(f"family {name} missing")
        return None
    if f.get("type", "COUNTER") != typ:
        err(f"{name}: type {f.get('type')} want {typ}")
    return f


for name, typ in [("nh_latency_seconds", "HISTOGRAM"), ("nh_signed", "HISTOGRAM"), ("nh_infinite", "HISTOGRAM"),
                  ("nh_reduced_seconds", "HISTOGRAM"), ("classic_seconds", "HISTOGRAM"),
                  ("mixed_seconds", "HISTOGRAM"), ("jobs_total", "COUNTER"), ("temperature_celsius", "GAUGE"),
                  ("payload_bytes", "SUMMARY"), ("build_info", "GAUGE"), ("phase", "GAUGE"),
                  ("computed", "GAUGE"), ("collected_untyped", "UNTYPED"),
                  ("gen_ai_server_time_to_first_token_seconds", "HISTOGRAM")]:
    family(name, typ)
if not errors:
    check_histogram("nh_latency_seconds", {"route": "/a"}, "nh_latency_seconds_a", True, False)
    check_histogram("nh_latency_seconds", {"route": "/b"}, "nh_latency_seconds_b", True, False)
    check_histogram("nh_signed", {}, "nh_signed", True, False)
    check_histogram("nh_infinite", {}, "nh_infinite", True, False)
    check_histogram("nh_reduced_seconds", {}, "nh_reduced_seconds", True, False)
    check_histogram("classic_seconds", {}, "classic_seconds", False, True)
    check_histogram("mixed_seconds", {}, "mixed_seconds", True, True)
    import os
    if not os.path.exists(f"{values_dir}/gen_ai_ttft.values"):  # before phase 2: empty
        open(f"{values_dir}/gen_ai_ttft.values", "a").close()
    if True:
        check_histogram("gen_ai_server_time_to_first_token_seconds", {"gen_ai_request_model": "sim"}, "gen_ai_ttft",
                        True, True, TTFT_BOUNDS)
    jobs = {labels(m)["route"]: m["counter"] for m in fams["jobs_total"]["metric"]}
    if jobs.get("/a", {}).get("value") != 41 or jobs.get("/b", {}).get("value") != 1:
        err(f"jobs_total {jobs}")
    for c in jobs.values():
        check_created(c, "jobs_total")
    trace, span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    def check_exemplar(ex, value, where):
        if not ex or labels(ex) != {"trace_id": trace, "span_id": span} or ex.get("value") != value or \
                not (start - 5 <= int(ex.get("timestamp", {}).get("seconds", 0)) <= time.time() + 5):
            err(f"{where}: exemplar {ex}")
    check_exemplar(jobs.get("/a", {}).get("exemplar"), 1, "jobs_total")
    if "exemplar" in jobs.get("/b", {}):
        err("jobs_total{/b} has an exemplar")
    cb = fams["classic_seconds"]["metric"][0]["histogram"]["bucket"]
    check_exemplar(next((b.get("exemplar") for b in cb if b["upperBound"] == 0.5), None), 0.3, "classic le=0.5")
    if fams["temperature_celsius"]["metric"][0]["gauge"]["value"] != -3.5:
        err("temperature_celsius")
    s = fams["payload_bytes"]["metric"][0]["summary"]
    if int(s["sampleCount"]) != 100 or s["sampleSum"] != 5050 or [q["quantile"] for q in s["quantile"]] != [0.5, 0.9, 0.99]:
        err(f"payload_bytes {s}")
    check_created(s, "payload_bytes")
    b = fams["build_info"]["metric"][0]
    if labels(b) != {"env": "test", "version": "1.2.3"} or b["gauge"]["value"] != 1:
        err(f"build_info {b}")
    states = {labels(m)["phase"]: m["gauge"].get("value", 0) for m in fams["phase"]["metric"]}
    if states != {"starting": 0, "serving": 1}:
        err(f"phase {states}")
    if fams["computed"]["metric"][0]["gauge"]["value"] != 7.5:
        err("computed")
    u = fams["collected_untyped"]["metric"][0]
    if labels(u) != {"env": "test", "kind": "x"} or u["untyped"]["value"] != 3.25:
        err(f"collected_untyped {u}")
for e in errors:
    print("protobuf:", e)
print(f"protobuf: {len(fams)} families compared, {len(errors)} differences")
sys.exit(1 if errors else 0)
