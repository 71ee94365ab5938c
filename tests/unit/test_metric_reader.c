/*
 * test_metric_reader.c - the OTLP metrics encoding read back field by field
 * with a small protobuf reader written here against metrics.proto's numbers
 * (the integration test decodes it with the official definitions), exemplars
 * included, and the
 * metric reader's counters and options with an in-process exporter.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sonde/otlp.h"
#include "sonde/sonde.h"

/* ---- a protobuf reader: fields of one message ------------------------------------ */

typedef struct pb_field {
    uint32_t num;
    int wire;
    uint64_t v;          /* varint, fixed64 */
    const uint8_t *p;    /* length-delimited */
    size_t n;
} pb_field;

static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int s = 0; s < 64 && *p < end; s += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << s;
        if (!(b & 0x80))
            return 1;
    }
    return 0;
}

/* The fields of msg[0..n) numbered num, into out (at most max); returns the count, -1 if malformed. */
static int fields(const uint8_t *msg, size_t n, uint32_t num, pb_field *out, int max)
{
    const uint8_t *p = msg, *end = msg + n;
    int count = 0;
    while (p < end) {
        uint64_t key;
        pb_field f = {0};
        if (!get_varint(&p, end, &key))
            return -1;
        f.num = (uint32_t)(key >> 3);
        f.wire = (int)(key & 7);
        if (f.wire == 0) {
            if (!get_varint(&p, end, &f.v))
                return -1;
        } else if (f.wire == 1) {
            if (end - p < 8)
                return -1;
            for (int i = 0; i < 8; i++)
                f.v |= (uint64_t)p[i] << (8 * i);
            p += 8;
        } else if (f.wire == 2) {
            uint64_t len;
            if (!get_varint(&p, end, &len) || len > (uint64_t)(end - p))
                return -1;
            f.p = p;
            f.n = (size_t)len;
            p += len;
        } else {
            return -1;
        }
        if (f.num == num && count < max)
            out[count++] = f;
    }
    return count;
}

static pb_field one(const pb_field *msg, uint32_t num)
{
    pb_field f = {0};
    fields(msg->p, msg->n, num, &f, 1);
    return f;
}

static double as_double(uint64_t v)
{
    double d;
    memcpy(&d, &v, 8);
    return d;
}

static int str_is(const pb_field *f, const char *s) { return f->n == strlen(s) && memcmp(f->p, s, f->n) == 0; }

/* The string value of the attribute key among the KeyValues numbered field of msg, or NULL. */
static char *attr(const pb_field *msg, uint32_t field, const char *key)
{
    static char buf[512];
    pb_field kv[32];
    int n = fields(msg->p, msg->n, field, kv, 32);
    for (int i = 0; i < n; i++) {
        pb_field k = one(&kv[i], 1);
        if (!str_is(&k, key))
            continue;
        pb_field any = one(&kv[i], 2), s = one(&any, 1);
        memcpy(buf, s.p, s.n < sizeof buf - 1 ? s.n : sizeof buf - 1);
        buf[s.n < sizeof buf - 1 ? s.n : sizeof buf - 1] = '\0';
        return buf;
    }
    return NULL;
}

/* The Metric named name in the request, or a field with n = 0. */
static pb_field metric(const char *req, size_t len, const char *name)
{
    pb_field top = {.p = (const uint8_t *)req, .n = len}, none = {0};
    pb_field rm = one(&top, 1), sm = one(&rm, 2);
    pb_field ms[64];
    int n = fields(sm.p, sm.n, 2, ms, 64);
    for (int i = 0; i < n; i++) {
        pb_field nm = one(&ms[i], 1);
        if (str_is(&nm, name))
            return ms[i];
    }
    return none;
}

/* ---- tests ------------------------------------------------------------------------ */

static sonde_registry *new_registry(void)
{
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    static const sonde_label globals[] = {{"zone", "b"}};
    cfg.global_labels = globals;
    cfg.global_label_count = 1;
    sonde_registry *reg = NULL;
    sonde_registry_new(&cfg, &reg);
    return reg;
}

static int collect(sonde_emitter *e, void *ud)
{
    (void)ud;
    if (sonde_emit_family(e, "pool_workers", "Workers.", SONDE_UNTYPED, NULL) == SONDE_OK) {
        sonde_label l = {"pool", "io"};
        sonde_emit_sample(e, NULL, &l, 1, 6);
    }
    return 0;
}

TEST(encoding_follows_metrics_proto)
{
    sonde_registry *reg = new_registry();
    CHECK(reg != NULL);
    static const char *const ln[] = {"route"};
    static const double bounds[] = {1, 5};
    static const char *const states[] = {"a", "b"};
    sonde_metric *c, *h, *s, *ss;
    sonde_metric_opts co = {.type = SONDE_COUNTER, .name = "hits_total", .help = "Hits.",
                            .label_names = ln, .label_count = 1};
    sonde_metric_opts ho = {.type = SONDE_HISTOGRAM, .name = "wait_seconds", .unit = "seconds",
                            .buckets = {bounds, 2}};
    sonde_metric_opts so = {.type = SONDE_SUMMARY, .name = "size_bytes_per_second",
                            .unit = "bytes_per_second"};
    sonde_metric_opts sso = {.type = SONDE_STATESET, .name = "mode", .states = states, .state_count = 2};
    CHECK_EQ_INT(sonde_register(reg, &co, &c), SONDE_OK);
    CHECK_EQ_INT(sonde_register(reg, &ho, &h), SONDE_OK);
    CHECK_EQ_INT(sonde_register(reg, &so, &s), SONDE_OK);
    CHECK_EQ_INT(sonde_register(reg, &sso, &ss), SONDE_OK);
    sonde_counter_add(sonde_counter_with(c, (const char *[]){"/x"}), 3);
    sonde_histogram *hh = sonde_histogram_of(h);
    sonde_histogram_observe(hh, 0.5);
    sonde_histogram_observe(hh, 3);
    sonde_histogram_observe(hh, 3);
    sonde_histogram_observe(hh, 9);
    sonde_summary_observe(sonde_summary_of(s), 4);
    sonde_stateset_set(sonde_stateset_with(ss, NULL), "b");
    CHECK_EQ_INT(sonde_collector_add(reg, "pool", collect, NULL, NULL), SONDE_OK);

    sonde_metric_reader_opts ro;
    sonde_metric_reader_opts_init(&ro);
    ro.registry = reg;
    ro.read_env = 0;
    ro.service_name = "svc";
    ro.resource_attributes = "team=core";
    sonde_metric_reader *r;
    CHECK_EQ_INT(sonde_metric_reader_new(&ro, &r), SONDE_OK);
    char *req;
    size_t len, points;
    CHECK_EQ_INT(sonde_metric_reader_encode(r, &req, &len, &points), SONDE_OK);
    /* 1 counter + 1 histogram + 1 summary + 2 states + 1 collector + the reader's 5 */
    CHECK_EQ_INT(points, 11);

    pb_field top = {.p = (const uint8_t *)req, .n = len};
    pb_field rm = one(&top, 1), res = one(&rm, 1), sm = one(&rm, 2), scope = one(&sm, 1);
    CHECK_EQ_STR(attr(&res, 1, "service.name"), "svc");
    CHECK_EQ_STR(attr(&res, 1, "team"), "core");
    pb_field scope_name = one(&scope, 1);
    CHECK(str_is(&scope_name, "sonde"));

    /* counter: Sum (7), points (1) with start (2), time (3), as_double (4), attributes (7);
     * temporality (2) cumulative, monotonic (3); metadata (12) prometheus.type */
    pb_field m = metric(req, len, "hits_total");
    CHECK(m.n > 0);
    pb_field help = one(&m, 2);
    CHECK(str_is(&help, "Hits."));
    CHECK_EQ_STR(attr(&m, 12, "prometheus.type"), "counter");
    pb_field sum = one(&m, 7), dp = one(&sum, 1);
    CHECK_EQ_INT(one(&sum, 2).v, 2);
    CHECK_EQ_INT(one(&sum, 3).v, 1);
    CHECK_EQ_DBL(as_double(one(&dp, 4).v), 3);
    CHECK(one(&dp, 2).v > 1600000000ull * 1000000000ull && one(&dp, 2).v <= one(&dp, 3).v);
    CHECK_EQ_STR(attr(&dp, 7, "route"), "/x");
    CHECK_EQ_STR(attr(&dp, 7, "zone"), "b");

    /* histogram (9): count (4), sum (5), packed bucket counts (6), packed bounds (7) */
    m = metric(req, len, "wait_seconds");
    pb_field unit = one(&m, 3);
    CHECK(str_is(&unit, "s"));
    pb_field hist = one(&m, 9);
    CHECK_EQ_INT(one(&hist, 2).v, 2);
    dp = one(&hist, 1);
    CHECK_EQ_INT(one(&dp, 4).v, 4);
    CHECK_EQ_DBL(as_double(one(&dp, 5).v), 15.5);
    pb_field counts = one(&dp, 6), bnds = one(&dp, 7);
    CHECK_EQ_INT(counts.wire, 2);
    CHECK_EQ_INT(counts.n, 3 * 8);
    uint64_t want[3] = {1, 2, 1}; /* per bucket, not cumulative */
    for (int i = 0; i < 3 && counts.n == 24; i++) {
        uint64_t v = 0;
        for (int k = 0; k < 8; k++)
            v |= (uint64_t)counts.p[8 * i + k] << (8 * k);
        CHECK_EQ_INT(v, want[i]);
    }
    CHECK_EQ_INT(bnds.n, 2 * 8);
    if (bnds.n == 16) {
        double b[2];
        memcpy(b, bnds.p, 16);
        CHECK_EQ_DBL(b[0], 1);
        CHECK_EQ_DBL(b[1], 5);
    }

    /* summary (11): count (4), sum (5), quantile values (6) {quantile 1, value 2} */
    m = metric(req, len, "size_bytes_per_second");
    unit = one(&m, 3);
    CHECK(str_is(&unit, "By/s"));
    pb_field summ = one(&m, 11);
    dp = one(&summ, 1);
    CHECK_EQ_INT(one(&dp, 4).v, 1);
    CHECK_EQ_DBL(as_double(one(&dp, 5).v), 4);
    pb_field qv[8];
    CHECK_EQ_INT(fields(dp.p, dp.n, 6, qv, 8), 3);
    CHECK_EQ_DBL(as_double(one(&qv[0], 1).v), 0.5);
    CHECK_EQ_DBL(as_double(one(&qv[0], 2).v), 4);

    /* stateset: non-monotonic cumulative Sum, a point per state */
    m = metric(req, len, "mode");
    CHECK_EQ_STR(attr(&m, 12, "prometheus.type"), "stateset");
    sum = one(&m, 7);
    CHECK_EQ_INT(one(&sum, 2).v, 2);
    CHECK_EQ_INT(one(&sum, 3).v, 0);
    pb_field sp[4];
    CHECK_EQ_INT(fields(sum.p, sum.n, 1, sp, 4), 2);
    CHECK_EQ_STR(attr(&sp[0], 7, "mode"), "a");
    CHECK_EQ_DBL(as_double(one(&sp[0], 4).v), 0);
    CHECK_EQ_STR(attr(&sp[1], 7, "mode"), "b");
    CHECK_EQ_DBL(as_double(one(&sp[1], 4).v), 1);

    /* a collector's untyped family: a Gauge (5) */
    m = metric(req, len, "pool_workers");
    CHECK_EQ_STR(attr(&m, 12, "prometheus.type"), "unknown");
    pb_field g = one(&m, 5);
    dp = one(&g, 1);
    CHECK_EQ_DBL(as_double(one(&dp, 4).v), 6);
    CHECK_EQ_STR(attr(&dp, 7, "pool"), "io");
    CHECK_EQ_STR(attr(&dp, 7, "zone"), "b");
    free(req);
    sonde_metric_reader_free(r, 0);
    sonde_registry_free(reg);
}

/* Native buckets far apart (1 and +Inf, which counts in the bucket past the largest double:
 * 8,193 buckets apart at schema 3): the dense counts would pass 4096, so the scale is lowered
 * until they fit, and every observation stays counted. */
TEST(sparse_native_buckets_merge_to_fit)
{
    sonde_registry *reg = new_registry();
    static const sonde_native_opts nat = {.bucket_factor = 1.1, .zero_threshold = -1, .native_only = 1};
    sonde_metric_opts o = {.type = SONDE_HISTOGRAM, .name = "spread", .native = &nat};
    sonde_metric *h;
    CHECK_EQ_INT(sonde_register(reg, &o, &h), SONDE_OK);
    sonde_histogram_observe(sonde_histogram_of(h), 1);
    sonde_histogram_observe(sonde_histogram_of(h), INFINITY);
    sonde_histogram_observe(sonde_histogram_of(h), INFINITY);
    sonde_metric_reader_opts ro;
    sonde_metric_reader_opts_init(&ro);
    ro.registry = reg;
    ro.read_env = 0;
    sonde_metric_reader *r;
    CHECK_EQ_INT(sonde_metric_reader_new(&ro, &r), SONDE_OK);
    char *req;
    size_t len;
    CHECK_EQ_INT(sonde_metric_reader_encode(r, &req, &len, NULL), SONDE_OK);
    pb_field m = metric(req, len, "spread"), eh = one(&m, 10), dp = one(&eh, 1);
    CHECK(eh.n > 0);
    CHECK_EQ_INT(one(&dp, 4).v, 3);
    uint64_t zz = one(&dp, 6).v; /* sint32 scale, zigzag */
    int scale = (int)(zz >> 1) ^ -(int)(zz & 1);
    /* two steps down, scale 1: OpenTelemetry indices -1 (for 1) to 2048 (+Inf) */
    CHECK_EQ_INT(scale, 1);
    pb_field pos = one(&dp, 8), counts = one(&pos, 2);
    const uint8_t *p = counts.p, *end = counts.p + counts.n;
    uint64_t total = 0, n = 0, v;
    while (p < end && get_varint(&p, end, &v)) {
        total += v;
        n++;
    }
    CHECK_EQ_INT(total, 3);
    CHECK_EQ_INT(n, 2050);
    free(req);
    sonde_metric_reader_free(r, 0);
    sonde_registry_free(reg);
}

/* Exemplar fields: time 2 (fixed64), as_double 3, span_id 4, trace_id 5; checks one. */
static void check_exemplar(const pb_field *ex, double value, uint8_t id_byte, uint64_t after_ns)
{
    CHECK_EQ_DBL(as_double(one(ex, 3).v), value);
    pb_field span = one(ex, 4), trace = one(ex, 5);
    CHECK_EQ_INT(span.n, 8);
    CHECK_EQ_INT(trace.n, 16);
    for (size_t i = 0; i < span.n; i++)
        CHECK_EQ_INT(span.p[i], (uint8_t)(id_byte + 0x80));
    for (size_t i = 0; i < trace.n; i++)
        CHECK_EQ_INT(trace.p[i], id_byte);
    CHECK(one(ex, 2).v >= after_ns && one(ex, 2).v < after_ns + 3600ull * 1000000000ull);
    pb_field none[1];
    CHECK_EQ_INT(fields(ex->p, ex->n, 7, none, 1), 0); /* no filtered attributes */
}

static sonde_span_context span_ctx(uint8_t id_byte)
{
    sonde_span_context ctx;
    memset(&ctx, 0, sizeof ctx);
    memset(ctx.trace_id, id_byte, 16);
    memset(ctx.span_id, id_byte + 0x80, 8);
    ctx.flags = SONDE_TRACE_FLAG_SAMPLED;
    return ctx;
}

static double answer(void *ud) { return *(double *)ud; }

/* The latest exemplar of a counter and of each classic bucket rides on its point: counters'
 * NumberDataPoint (5), histograms' HistogramDataPoint (8), a mixed native histogram's
 * ExponentialHistogramDataPoint (11); none where the core keeps none. */
TEST(exemplars_on_their_points)
{
    sonde_registry *reg = new_registry();
    static const char *const ln[] = {"route"};
    static const double bounds[] = {1, 5};
    static const sonde_native_opts mixed = {.bucket_factor = 2};
    static const sonde_native_opts only = {.bucket_factor = 2, .native_only = 1};
    sonde_metric *c, *h, *mx, *no;
    sonde_metric_opts co = {.type = SONDE_COUNTER, .name = "hits_total", .label_names = ln,
                            .label_count = 1};
    sonde_metric_opts ho = {.type = SONDE_HISTOGRAM, .name = "wait_seconds", .buckets = {bounds, 2}};
    sonde_metric_opts mo = {.type = SONDE_HISTOGRAM, .name = "mixed_seconds", .buckets = {bounds, 2},
                            .native = &mixed};
    sonde_metric_opts oo = {.type = SONDE_HISTOGRAM, .name = "native_seconds", .native = &only};
    CHECK_EQ_INT(sonde_register(reg, &co, &c), SONDE_OK);
    CHECK_EQ_INT(sonde_register(reg, &ho, &h), SONDE_OK);
    CHECK_EQ_INT(sonde_register(reg, &mo, &mx), SONDE_OK);
    CHECK_EQ_INT(sonde_register(reg, &oo, &no), SONDE_OK);
    double fn_value = 7;
    sonde_metric_opts fo = {.type = SONDE_COUNTER, .name = "ticks_total"};
    sonde_metric *fc;
    CHECK_EQ_INT(sonde_register_func(reg, &fo, answer, &fn_value, &fc), SONDE_OK);
    uint64_t before = (uint64_t)(sonde_wall_seconds() * 1e9) - 1000000000ull;
    sonde_span_context x1 = span_ctx(1), x2 = span_ctx(2), x3 = span_ctx(3), x4 = span_ctx(4);
    sonde_counter_add(sonde_counter_with(c, (const char *[]){"/plain"}), 1);
    sonde_counter_add(sonde_counter_with(c, (const char *[]){"/x"}), 2);
    sonde_counter_add_exemplar(sonde_counter_with(c, (const char *[]){"/x"}), 3, &x1);
    sonde_histogram *hh = sonde_histogram_of(h);
    sonde_histogram_observe_exemplar(hh, 0.5, &x2); /* bucket le=1 */
    sonde_histogram_observe(hh, 3);                 /* le=5: none */
    sonde_histogram_observe_exemplar(hh, 9, &x3);   /* +Inf */
    sonde_histogram_observe_exemplar(sonde_histogram_of(mx), 4, &x4);
    sonde_histogram_observe_exemplar(sonde_histogram_of(no), 4, &x4);

    sonde_metric_reader_opts ro;
    sonde_metric_reader_opts_init(&ro);
    ro.registry = reg;
    ro.read_env = 0;
    sonde_metric_reader *r;
    CHECK_EQ_INT(sonde_metric_reader_new(&ro, &r), SONDE_OK);
    char *req;
    size_t len;
    CHECK_EQ_INT(sonde_metric_reader_encode(r, &req, &len, NULL), SONDE_OK);

    pb_field m = metric(req, len, "hits_total"), sum = one(&m, 7), pts[4], ex[4];
    CHECK_EQ_INT(fields(sum.p, sum.n, 1, pts, 4), 2);
    for (int i = 0; i < 2; i++) {
        const char *route = attr(&pts[i], 7, "route");
        int n = fields(pts[i].p, pts[i].n, 5, ex, 4);
        if (route && strcmp(route, "/x") == 0) {
            CHECK_EQ_DBL(as_double(one(&pts[i], 4).v), 5);
            CHECK_EQ_INT(n, 1);
            if (n == 1)
                check_exemplar(&ex[0], 3, 1, before);
        } else {
            CHECK_EQ_INT(n, 0);
        }
    }
    m = metric(req, len, "wait_seconds");
    pb_field hist = one(&m, 9), dp = one(&hist, 1);
    CHECK_EQ_INT(one(&dp, 4).v, 3);
    CHECK_EQ_INT(fields(dp.p, dp.n, 8, ex, 4), 2); /* lowest bucket first */
    check_exemplar(&ex[0], 0.5, 2, before);
    check_exemplar(&ex[1], 9, 3, before);
    m = metric(req, len, "mixed_seconds");
    pb_field eh = one(&m, 10);
    dp = one(&eh, 1);
    CHECK_EQ_INT(one(&dp, 4).v, 1);
    CHECK_EQ_INT(fields(dp.p, dp.n, 11, ex, 4), 1);
    check_exemplar(&ex[0], 4, 4, before);
    m = metric(req, len, "native_seconds");
    eh = one(&m, 10);
    dp = one(&eh, 1);
    CHECK_EQ_INT(one(&dp, 4).v, 1);
    CHECK_EQ_INT(fields(dp.p, dp.n, 11, ex, 4), 0); /* a native-only histogram keeps none */
    m = metric(req, len, "ticks_total");
    sum = one(&m, 7);
    dp = one(&sum, 1);
    CHECK_EQ_DBL(as_double(one(&dp, 4).v), 7);
    CHECK_EQ_INT(fields(dp.p, dp.n, 5, ex, 4), 0);
    free(req);
    sonde_metric_reader_free(r, 0);
    sonde_registry_free(reg);
}

/* An exporter that fails, then succeeds with a partial success. */
typedef struct fake {
    int calls;
    size_t last_points;
    int shutdown;
} fake;

static int fake_export(void *ud, const void *request, size_t len, size_t points, uint64_t deadline_ns,
                       size_t *rejected)
{
    fake *f = ud;
    (void)request;
    (void)len;
    (void)deadline_ns;
    f->last_points = points;
    if (f->calls++ == 0)
        return SONDE_EIO;
    *rejected = 2;
    return SONDE_OK;
}

static void fake_shutdown(void *ud) { ((fake *)ud)->shutdown++; }

TEST(reader_counts_failures_and_rejections)
{
    sonde_registry *reg = new_registry();
    sonde_counter *c;
    CHECK_EQ_INT(sonde_counter_new(reg, "jobs_total", "Jobs.", &c), SONDE_OK);
    sonde_counter_inc(c);
    fake f = {0};
    sonde_metric_reader_opts ro;
    sonde_metric_reader_opts_init(&ro);
    ro.registry = reg;
    ro.read_env = 0;
    ro.interval_ms = 3600000; /* the thread never exports during the test */
    ro.exporter = (sonde_metric_exporter){fake_export, fake_shutdown, &f};
    sonde_metric_reader *r;
    CHECK_EQ_INT(sonde_metric_reader_new(&ro, &r), SONDE_OK);
    CHECK_EQ_INT(sonde_metric_reader_export(r, 1000), SONDE_EIO);
    CHECK_EQ_INT(sonde_metric_reader_export(r, 1000), SONDE_OK);
    sonde_metric_reader_stats st;
    sonde_metric_reader_stats_get(r, &st);
    CHECK_EQ_INT(st.export_failures, 1);
    CHECK_EQ_INT(st.exports, 1);
    CHECK_EQ_INT(st.points_failed, f.last_points);
    CHECK_EQ_INT(st.points_rejected, 2);
    CHECK_EQ_INT(st.points_exported, f.last_points - 2);
    /* exposed on the registry */
    char *text = sonde_expose_alloc(reg, SONDE_FORMAT_TEXT, NULL);
    CHECK(text && strstr(text, "sonde_metric_exports_total{zone=\"b\",result=\"failed\"} 1\n"));
    CHECK(text && strstr(text, "sonde_metric_points_dropped_total{zone=\"b\",reason=\"rejected\"} 2\n"));
    free(text);
    sonde_metric_reader_free(r, 1000); /* one last export, then the shutdown */
    CHECK_EQ_INT(f.calls, 3);
    CHECK_EQ_INT(f.shutdown, 1);
    sonde_registry_free(reg);
}

TEST(reader_honours_disabling)
{
    sonde_registry *reg = new_registry();
    sonde_metric_reader_opts ro;
    sonde_metric_reader_opts_init(&ro);
    ro.registry = reg;
    sonde_metric_reader *r = (sonde_metric_reader *)1;
    setenv("OTEL_METRICS_EXPORTER", "none", 1);
    CHECK_EQ_INT(sonde_metric_reader_new(&ro, &r), SONDE_OK);
    CHECK(r == NULL);
    unsetenv("OTEL_METRICS_EXPORTER");
    setenv("OTEL_SDK_DISABLED", "true", 1);
    CHECK_EQ_INT(sonde_metric_reader_new(&ro, &r), SONDE_OK);
    CHECK(r == NULL);
    ro.disabled = 0; /* the code's word wins */
    CHECK_EQ_INT(sonde_metric_reader_new(&ro, &r), SONDE_OK);
    CHECK(r != NULL);
    sonde_metric_reader_free(r, 0);
    unsetenv("OTEL_SDK_DISABLED");
    /* sonde_otlp_metrics_start: nothing configured, nothing started */
    sonde_otlp_metrics_opts mo;
    sonde_otlp_metrics_opts_init(&mo);
    mo.registry = reg;
    unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
    unsetenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
    sonde_otlp_metrics *m = (sonde_otlp_metrics *)1;
    CHECK_EQ_INT(sonde_otlp_metrics_start(&mo, &m), SONDE_OK);
    CHECK(m == NULL);
    mo.endpoint = "not a url";
    CHECK_EQ_INT(sonde_otlp_metrics_start(&mo, &m), SONDE_ECONFIG);
    CHECK(m == NULL);
    mo.endpoint = "http://127.0.0.1:9/v1/metrics";
    mo.interval_ms = 3600000;
    CHECK_EQ_INT(sonde_otlp_metrics_start(&mo, &m), SONDE_OK);
    CHECK(m != NULL && sonde_otlp_metrics_reader(m) != NULL);
    sonde_otlp_metrics_stop(m, 0);
    sonde_registry_free(reg);
}

int main(void)
{
    RUN(encoding_follows_metrics_proto);
    RUN(exemplars_on_their_points);
    RUN(sparse_native_buckets_merge_to_fit);
    RUN(reader_counts_failures_and_rejections);
    RUN(reader_honours_disabling);
    return check_report();
}
