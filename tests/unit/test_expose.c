/*
 * test_expose.c - the exposition byte for byte: a registry with every type,
 * labelled and not, hostile label values (quotes, backslashes, newlines,
 * multi-byte UTF-8), escaped HELP, global labels, units, a callback, a
 * collector, in both formats, with a fake wall clock so that _created is
 * fixed. Also format negotiation for the Accept headers Prometheus sends,
 * content types, buffer truncation, a failing write callback, output larger
 * than the 64 KiB write buffer, and sonde_format_double round trips.
 */
#include <float.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "sonde/sonde.h"

static uint64_t fixed_wall(void *ud) { return *(uint64_t *)ud; }
static uint64_t fixed_mono(void *ud) { (void)ud; return 5000000000ull; }
static uint64_t wall_ns = 1700000000500000000ull;

static double two(void *ud) { (void)ud; return 2; }

static int workers(sonde_emitter *e, void *ud)
{
    (void)ud;
    sonde_emit_family(e, "workers", "Workers \"by\" state.", SONDE_GAUGE, NULL);
    sonde_emit_sample(e, NULL, (const sonde_label[]){{"state", "idle"}}, 1, 3);
    return 0;
}

#define HOSTILE "a\"b\\c\nd/caf\xc3\xa9/\xe6\x97\xa5/\xf0\x9f\x9a\x80"
#define HOSTILE_ESC "a\\\"b\\\\c\\nd/caf\xc3\xa9/\xe6\x97\xa5/\xf0\x9f\x9a\x80"

static sonde_registry *full_registry(void)
{
    sonde_set_clock(fixed_mono, fixed_wall, &wall_ns);
    sonde_config c;
    sonde_config_init(&c);
    c.process_metrics = 0;
    static const sonde_label g[] = {{"env", "prod"}};
    c.global_labels = g;
    c.global_label_count = 1;
    sonde_registry *r;
    if (sonde_registry_new(&c, &r))
        abort();
    static const char *const req_labels[] = {"method", "path"};
    sonde_metric *req;
    sonde_metric_opts ro = {.type = SONDE_COUNTER, .name = "req_total",
                            .help = "Requests \\ and\nlines \"quoted\" \xc3\xa9.",
                            .label_names = req_labels, .label_count = 2};
    sonde_register(r, &ro, &req);
    sonde_counter_add(sonde_counter_with(req, (const char *[]){"GET", "/"}), 3);
    sonde_counter_inc(sonde_counter_with(req, (const char *[]){"POST", HOSTILE}));

    sonde_metric_opts uo = {.type = SONDE_COUNTER, .name = "up_seconds_total", .unit = "seconds"};
    sonde_metric *up;
    sonde_register(r, &uo, &up);
    sonde_counter_add(sonde_counter_of(up), 0.25);

    sonde_metric_opts to = {.type = SONDE_GAUGE, .name = "temp_celsius", .unit = "celsius", .help = "T."};
    sonde_metric *temp;
    sonde_register(r, &to, &temp);
    sonde_gauge_set(sonde_gauge_of(temp), -1.5);

    static const double b[] = {0.5, 1};
    sonde_metric_opts ho = {.type = SONDE_HISTOGRAM, .name = "lat_seconds", .unit = "seconds",
                            .buckets = {b, 2}};
    sonde_metric *lat;
    sonde_register(r, &ho, &lat);
    const double obs[] = {0.25, 0.5, 0.75, 3};
    for (int i = 0; i < 4; i++)
        sonde_histogram_observe(sonde_histogram_of(lat), obs[i]);

    static const sonde_quantile q[] = {{0.5, 0.05}, {0.9, 0.01}};
    static const char *const code[] = {"code"};
    sonde_metric_opts so = {.type = SONDE_SUMMARY, .name = "resp_bytes", .quantiles = q,
                            .quantile_count = 2, .label_names = code, .label_count = 1};
    sonde_metric *resp;
    sonde_register(r, &so, &resp);
    sonde_summary *s = sonde_summary_with(resp, (const char *[]){"200"});
    for (int i = 1; i <= 10; i++)
        sonde_summary_observe(s, i * 10);

    static const char *const ver[] = {"version"};
    sonde_metric_opts io = {.type = SONDE_INFO, .name = "build", .label_names = ver, .label_count = 1};
    sonde_metric *build;
    sonde_register(r, &io, &build);
    sonde_info_set(build, (const char *[]){"1.0"});

    static const char *const states[] = {"a", "b"};
    sonde_metric_opts sto = {.type = SONDE_STATESET, .name = "mode", .states = states, .state_count = 2};
    sonde_metric *mode;
    sonde_register(r, &sto, &mode);
    sonde_stateset_set(sonde_stateset_with(mode, NULL), "b");

    static const char *const k[] = {"k"};
    sonde_metric_opts eo = {.type = SONDE_GAUGE, .name = "empty_family", .label_names = k, .label_count = 1};
    sonde_metric *empty;
    sonde_register(r, &eo, &empty); /* no children: not exposed */

    sonde_metric_opts qo = {.type = SONDE_GAUGE, .name = "queue"};
    sonde_metric *queue;
    sonde_register_func(r, &qo, two, NULL, &queue);
    sonde_collector_add(r, "workers", workers, NULL, NULL);
    return r;
}

static const char want_text[] =
    "# TYPE build_info gauge\n"
    "build_info{env=\"prod\",version=\"1.0\"} 1\n"
    "# TYPE lat_seconds histogram\n"
    "lat_seconds_bucket{env=\"prod\",le=\"0.5\"} 2\n"
    "lat_seconds_bucket{env=\"prod\",le=\"1\"} 3\n"
    "lat_seconds_bucket{env=\"prod\",le=\"+Inf\"} 4\n"
    "lat_seconds_sum{env=\"prod\"} 4.5\n"
    "lat_seconds_count{env=\"prod\"} 4\n"
    "# TYPE mode gauge\n"
    "mode{env=\"prod\",mode=\"a\"} 0\n"
    "mode{env=\"prod\",mode=\"b\"} 1\n"
    "# TYPE queue gauge\n"
    "queue{env=\"prod\"} 2\n"
    "# HELP req_total Requests \\\\ and\\nlines \"quoted\" \xc3\xa9.\n"
    "# TYPE req_total counter\n"
    "req_total{env=\"prod\",method=\"GET\",path=\"/\"} 3\n"
    "req_total{env=\"prod\",method=\"POST\",path=\"" HOSTILE_ESC "\"} 1\n"
    "# TYPE resp_bytes summary\n"
    "resp_bytes{env=\"prod\",code=\"200\",quantile=\"0.5\"} 50\n"
    "resp_bytes{env=\"prod\",code=\"200\",quantile=\"0.9\"} 90\n"
    "resp_bytes_sum{env=\"prod\",code=\"200\"} 550\n"
    "resp_bytes_count{env=\"prod\",code=\"200\"} 10\n"
    "# HELP temp_celsius T.\n"
    "# TYPE temp_celsius gauge\n"
    "temp_celsius{env=\"prod\"} -1.5\n"
    "# TYPE up_seconds_total counter\n"
    "up_seconds_total{env=\"prod\"} 0.25\n"
    "# HELP workers Workers \"by\" state.\n"
    "# TYPE workers gauge\n"
    "workers{env=\"prod\",state=\"idle\"} 3\n";

static const char want_om[] =
    "# TYPE build info\n"
    "build_info{env=\"prod\",version=\"1.0\"} 1\n"
    "# TYPE lat_seconds histogram\n"
    "# UNIT lat_seconds seconds\n"
    "lat_seconds_bucket{env=\"prod\",le=\"0.5\"} 2\n"
    "lat_seconds_bucket{env=\"prod\",le=\"1\"} 3\n"
    "lat_seconds_bucket{env=\"prod\",le=\"+Inf\"} 4\n"
    "lat_seconds_sum{env=\"prod\"} 4.5\n"
    "lat_seconds_count{env=\"prod\"} 4\n"
    "lat_seconds_created{env=\"prod\"} 1700000000.5\n"
    "# TYPE mode stateset\n"
    "mode{env=\"prod\",mode=\"a\"} 0\n"
    "mode{env=\"prod\",mode=\"b\"} 1\n"
    "# TYPE queue gauge\n"
    "queue{env=\"prod\"} 2\n"
    "# HELP req Requests \\\\ and\\nlines \\\"quoted\\\" \xc3\xa9.\n"
    "# TYPE req counter\n"
    "req_total{env=\"prod\",method=\"GET\",path=\"/\"} 3\n"
    "req_created{env=\"prod\",method=\"GET\",path=\"/\"} 1700000000.5\n"
    "req_total{env=\"prod\",method=\"POST\",path=\"" HOSTILE_ESC "\"} 1\n"
    "req_created{env=\"prod\",method=\"POST\",path=\"" HOSTILE_ESC "\"} 1700000000.5\n"
    "# TYPE resp_bytes summary\n"
    "resp_bytes{env=\"prod\",code=\"200\",quantile=\"0.5\"} 50\n"
    "resp_bytes{env=\"prod\",code=\"200\",quantile=\"0.9\"} 90\n"
    "resp_bytes_sum{env=\"prod\",code=\"200\"} 550\n"
    "resp_bytes_count{env=\"prod\",code=\"200\"} 10\n"
    "resp_bytes_created{env=\"prod\",code=\"200\"} 1700000000.5\n"
    "# HELP temp_celsius T.\n"
    "# TYPE temp_celsius gauge\n"
    "# UNIT temp_celsius celsius\n"
    "temp_celsius{env=\"prod\"} -1.5\n"
    "# TYPE up_seconds counter\n"
    "# UNIT up_seconds seconds\n"
    "up_seconds_total{env=\"prod\"} 0.25\n"
    "up_seconds_created{env=\"prod\"} 1700000000.5\n"
    "# HELP workers Workers \\\"by\\\" state.\n"
    "# TYPE workers gauge\n"
    "workers{env=\"prod\",state=\"idle\"} 3\n"
    "# EOF\n";

TEST(byte_for_byte)
{
    sonde_registry *r = full_registry();
    size_t len = 0;
    char *t = sonde_expose_alloc(r, SONDE_FORMAT_TEXT, &len);
    CHECK_EQ_STR(t, want_text);
    CHECK_EQ_INT(len, strlen(want_text));
    free(t);
    t = sonde_expose_alloc(r, SONDE_FORMAT_OPENMETRICS, &len);
    CHECK_EQ_STR(t, want_om);
    CHECK_EQ_INT(len, strlen(want_om));
    free(t);
    /* deterministic: the same again */
    t = sonde_expose_alloc(r, SONDE_FORMAT_TEXT, NULL);
    CHECK_EQ_STR(t, want_text);
    free(t);
    sonde_registry_free(r);
    sonde_set_clock(NULL, NULL, NULL);
}

TEST(order_is_by_name_then_creation)
{
    sonde_config c;
    sonde_config_init(&c);
    c.process_metrics = 0;
    sonde_registry *r;
    CHECK_EQ_INT(sonde_registry_new(&c, &r), SONDE_OK);
    const char *names[] = {"b", "a_b", "a", "B", "a:b", "_x"};
    for (int i = 0; i < 6; i++) {
        sonde_gauge *g;
        CHECK_EQ_INT(sonde_gauge_new(r, names[i], NULL, &g), SONDE_OK);
        sonde_gauge_set(g, i);
    }
    static const char *const l[] = {"v"};
    sonde_metric_opts o = {.type = SONDE_GAUGE, .name = "c", .label_names = l, .label_count = 1};
    sonde_metric *m;
    sonde_register(r, &o, &m);
    sonde_gauge_with(m, (const char *[]){"z"});
    sonde_gauge_with(m, (const char *[]){"a"});
    sonde_gauge_with(m, (const char *[]){"m"});
    char *t = sonde_expose_alloc(r, SONDE_FORMAT_TEXT, NULL);
    CHECK_EQ_STR(t, "# TYPE B gauge\nB 3\n# TYPE _x gauge\n_x 5\n# TYPE a gauge\na 2\n"
                    "# TYPE a:b gauge\na:b 4\n# TYPE a_b gauge\na_b 1\n# TYPE b gauge\nb 0\n"
                    "# TYPE c gauge\nc{v=\"z\"} 0\nc{v=\"a\"} 0\nc{v=\"m\"} 0\n");
    free(t);
    sonde_registry_free(r);
}

TEST(negotiate)
{
    struct {
        const char *accept;
        sonde_format want;
    } cases[] = {
        /* Prometheus 2.x before 2.49 */
        {"application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
         "text/plain;version=0.0.4;q=0.5,*/*;q=0.1", SONDE_FORMAT_OPENMETRICS},
        /* Prometheus 2.x with native histograms: protobuf first */
        {"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,"
         "application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,"
         "text/plain;version=0.0.4;q=0.5,*/*;q=0.1", SONDE_FORMAT_PROTOBUF},
        /* Prometheus 2.49+ (scrape_protocols) */
        {"application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,"
         "text/plain;version=0.0.4;q=0.3,*/*;q=0.2", SONDE_FORMAT_OPENMETRICS},
        {"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5,"
         "application/openmetrics-text;version=1.0.0;q=0.4,application/openmetrics-text;version=0.0.1;q=0.3,"
         "text/plain;version=0.0.4;q=0.2,*/*;q=0.1", SONDE_FORMAT_PROTOBUF},
        /* Prometheus 3.x defaults, with and without the escaping parameter */
        {"application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
         "application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,"
         "text/plain;version=0.0.4;q=0.3,*/*;q=0.2", SONDE_FORMAT_OPENMETRICS},
        {"application/openmetrics-text;version=1.0.0;escaping=underscores;q=0.6,"
         "application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=underscores;q=0.4,"
         "text/plain;version=0.0.4;q=0.3,*/*;q=0.2", SONDE_FORMAT_OPENMETRICS},
        /* Prometheus 3.x configured for the classic text format only */
        {"text/plain;version=0.0.4;q=0.6,*/*;q=0.5", SONDE_FORMAT_TEXT},
        {"text/plain;version=1.0.0;escaping=allow-utf-8;q=0.6,*/*;q=0.5", SONDE_FORMAT_TEXT},
        /* ... or for protobuf first */
        {"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,"
         "text/plain;version=0.0.4;q=0.5,*/*;q=0.4", SONDE_FORMAT_PROTOBUF},
        /* protobuf in another shape than the one sonde writes */
        {"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text;q=0.6,"
         "text/plain;version=0.0.4;q=0.5", SONDE_FORMAT_TEXT},
        {"application/vnd.google.protobuf;proto=other.Message;encoding=delimited", SONDE_FORMAT_TEXT},
        /* plain clients */
        {"text/plain", SONDE_FORMAT_TEXT},
        {"*/*", SONDE_FORMAT_TEXT},
        {"application/openmetrics-text", SONDE_FORMAT_OPENMETRICS},
        {"Application/OpenMetrics-Text; Version=1.0.0", SONDE_FORMAT_OPENMETRICS},
        {"  application/openmetrics-text ; version = 0.0.1 ; q = 0.9 , text/plain;q=0.8",
         SONDE_FORMAT_OPENMETRICS},
        {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", SONDE_FORMAT_TEXT},
        /* q-values */
        {"text/plain;q=0.4,application/openmetrics-text;q=0.5", SONDE_FORMAT_OPENMETRICS},
        {"application/openmetrics-text;q=0.4,text/plain;q=0.5", SONDE_FORMAT_TEXT},
        {"application/openmetrics-text;q=0,text/plain;q=0.1", SONDE_FORMAT_TEXT},
        {"application/openmetrics-text;q=0", SONDE_FORMAT_TEXT},
        {"application/openmetrics-text;q=0.5,text/plain;q=0.5", SONDE_FORMAT_OPENMETRICS}, /* tie: first */
        {"text/plain;q=0.5,application/openmetrics-text;q=0.5", SONDE_FORMAT_TEXT},
        {"application/openmetrics-text;q=2", SONDE_FORMAT_TEXT},
        {"application/openmetrics-text;q=abc", SONDE_FORMAT_TEXT},
        {"application/openmetrics-text;q=-1", SONDE_FORMAT_TEXT},
        {"application/openmetrics-text;q=0.0000000000000000000001", SONDE_FORMAT_TEXT},
        /* versions sonde does not write */
        {"application/openmetrics-text;version=2.0.0", SONDE_FORMAT_TEXT},
        {"text/plain;version=9.9.9,application/openmetrics-text;version=1.0.0;q=0.1", SONDE_FORMAT_OPENMETRICS},
        /* garbage */
        {"", SONDE_FORMAT_TEXT},
        {",,,;;;===", SONDE_FORMAT_TEXT},
        {";", SONDE_FORMAT_TEXT},
        {"application/openmetrics-text;", SONDE_FORMAT_OPENMETRICS},
        {"application/openmetrics-textx", SONDE_FORMAT_TEXT},
        {"application/openmetrics", SONDE_FORMAT_TEXT},
        {"\xff\xfe", SONDE_FORMAT_TEXT},
        {"application/json", SONDE_FORMAT_TEXT},
        {NULL, SONDE_FORMAT_TEXT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        sonde_format got = sonde_format_negotiate(cases[i].accept);
        if (got != cases[i].want)
            fprintf(stderr, "Accept: %s\n", cases[i].accept ? cases[i].accept : "(null)");
        CHECK_EQ_INT(got, cases[i].want);
    }
    /* a long header is fine */
    char big[8192];
    memset(big, ' ', sizeof big);
    strcpy(big + 8000, ",application/openmetrics-text");
    CHECK_EQ_INT(sonde_format_negotiate(big), SONDE_FORMAT_OPENMETRICS);
}

TEST(content_types)
{
    CHECK_EQ_STR(sonde_format_content_type(SONDE_FORMAT_TEXT), "text/plain; version=0.0.4; charset=utf-8");
    CHECK_EQ_STR(sonde_format_content_type(SONDE_FORMAT_OPENMETRICS),
                 "application/openmetrics-text; version=1.0.0; charset=utf-8");
    CHECK_EQ_STR(sonde_format_content_type((sonde_format)7), "text/plain; version=0.0.4; charset=utf-8");
}

TEST(expose_buffer)
{
    sonde_registry *r = full_registry();
    size_t need = strlen(want_text), len = 0;
    char *buf = malloc(need + 16);
    memset(buf, 'X', need + 16);
    CHECK_EQ_INT(sonde_expose_buffer(r, SONDE_FORMAT_TEXT, buf, need + 16, &len), SONDE_OK);
    CHECK_EQ_INT(len, need);
    CHECK_EQ_STR(buf, want_text);
    /* exactly the size: no room for the NUL, still complete */
    memset(buf, 'X', need + 16);
    CHECK_EQ_INT(sonde_expose_buffer(r, SONDE_FORMAT_TEXT, buf, need, &len), SONDE_OK);
    CHECK_EQ_INT(len, need);
    CHECK(memcmp(buf, want_text, need) == 0);
    CHECK_EQ_INT(buf[need], 'X');
    /* one byte short: truncated, and the size needed is reported */
    memset(buf, 'X', need + 16);
    len = 0;
    CHECK_EQ_INT(sonde_expose_buffer(r, SONDE_FORMAT_TEXT, buf, need - 1, &len), SONDE_ETRUNC);
    CHECK_EQ_INT(len, need);
    CHECK_EQ_INT(buf[need - 1], 'X'); /* nothing written past cap */
    CHECK_EQ_INT(sonde_expose_buffer(r, SONDE_FORMAT_OPENMETRICS, NULL, 0, &len), SONDE_ETRUNC);
    CHECK_EQ_INT(len, strlen(want_om));
    CHECK_EQ_INT(sonde_expose_buffer(r, SONDE_FORMAT_TEXT, NULL, 10, &len), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_expose_buffer(NULL, SONDE_FORMAT_TEXT, buf, 10, &len), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_expose_buffer(r, (sonde_format)5, buf, 10, &len), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_expose_buffer(r, SONDE_FORMAT_TEXT, buf, need + 16, NULL), SONDE_OK);
    CHECK(sonde_expose_alloc(NULL, SONDE_FORMAT_TEXT, &len) == NULL);
    CHECK(sonde_expose_alloc(r, (sonde_format)5, &len) == NULL);
    free(buf);
    sonde_registry_free(r);
    sonde_set_clock(NULL, NULL, NULL);
}

typedef struct sink {
    char *data;
    size_t len, calls, max_chunk;
    size_t fail_at; /* fail on this call (1-based), 0 = never */
} sink;

static int sink_write(void *ud, const char *p, size_t n)
{
    sink *s = ud;
    s->calls++;
    if (s->fail_at && s->calls >= s->fail_at)
        return -1;
    s->data = realloc(s->data, s->len + n + 1);
    memcpy(s->data + s->len, p, n);
    s->len += n;
    s->data[s->len] = '\0';
    if (n > s->max_chunk)
        s->max_chunk = n;
    return 0;
}

TEST(large_output_and_write_failure)
{
    sonde_config c;
    sonde_config_init(&c);
    c.process_metrics = 0;
    sonde_registry *r;
    CHECK_EQ_INT(sonde_registry_new(&c, &r), SONDE_OK);
    static const char *const l[] = {"id"};
    sonde_metric_opts o = {.type = SONDE_HISTOGRAM, .name = "big", .label_names = l, .label_count = 1};
    sonde_metric *m;
    CHECK_EQ_INT(sonde_register(r, &o, &m), SONDE_OK);
    char id[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(id, sizeof id, "series-%d", i);
        sonde_histogram_observe(sonde_histogram_with(m, (const char *[]){id}), i);
    }
    size_t len;
    char *whole = sonde_expose_alloc(r, SONDE_FORMAT_OPENMETRICS, &len);
    CHECK(len > 3 * 65536);
    sink s = {0};
    CHECK_EQ_INT(sonde_expose(r, SONDE_FORMAT_OPENMETRICS, sink_write, &s), SONDE_OK);
    CHECK(s.calls >= 4);
    CHECK(s.max_chunk <= 65536);
    CHECK_EQ_INT(s.len, len);
    CHECK_EQ_STR(s.data, whole);
    CHECK_CONTAINS(whole, "big_bucket{id=\"series-1999\",le=\"+Inf\"} 1\n");
    free(s.data);
    /* a write callback that fails: SONDE_EWRITE, and it is not called again */
    sink f = {.fail_at = 2};
    CHECK_EQ_INT(sonde_expose(r, SONDE_FORMAT_TEXT, sink_write, &f), SONDE_EWRITE);
    CHECK_EQ_INT(f.calls, 2);
    free(f.data);
    sink f1 = {.fail_at = 1};
    CHECK_EQ_INT(sonde_expose(r, SONDE_FORMAT_OPENMETRICS, sink_write, &f1), SONDE_EWRITE);
    CHECK_EQ_INT(f1.calls, 1);
    free(whole);
    CHECK_EQ_INT(sonde_expose(r, SONDE_FORMAT_TEXT, NULL, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_expose(NULL, SONDE_FORMAT_TEXT, sink_write, &f), SONDE_EINVAL);
    sonde_registry_free(r);
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int round_trips(double v)
{
    char buf[64];
    memset(buf, 'Z', sizeof buf);
    size_t n = sonde_format_double(v, buf);
    if (n > 24 || strlen(buf) != n)
        return 0;
    double back = strtod(buf, NULL);
    return memcmp(&back, &v, sizeof v) == 0;
}

TEST(format_double)
{
    char buf[32];
    struct {
        double v;
        const char *want;
    } exact[] = {
        {0, "0"}, {-0.0, "-0"}, {1, "1"}, {-1, "-1"}, {42, "42"}, {0.5, "0.5"}, {0.1, "0.1"},
        {0.3, "0.3"}, {-2.5, "-2.5"}, {100, "100"}, {1e6, "1000000"}, {1700000000.5, "1700000000.5"},
        {9007199254740991.0, "9007199254740991"}, {-9007199254740991.0, "-9007199254740991"},
        {9007199254740992.0, "9007199254740992"}, {1.0 / 3, "0.3333333333333333"},
        {0.1 + 0.2, "0.30000000000000004"}, {1e-7, "1e-07"}, {1e21, "1e+21"},
        {INFINITY, "+Inf"}, {-INFINITY, "-Inf"}, {NAN, "NaN"}, {-NAN, "NaN"},
    };
    for (size_t i = 0; i < sizeof exact / sizeof *exact; i++) {
        size_t n = sonde_format_double(exact[i].v, buf);
        CHECK_EQ_STR(buf, exact[i].want);
        CHECK_EQ_INT(n, strlen(exact[i].want));
    }
    const double specials[] = {DBL_MAX, -DBL_MAX, DBL_MIN, -DBL_MIN, 5e-324, -5e-324, DBL_EPSILON,
                               1 + DBL_EPSILON, 123456789012345678.0, 1e300, 1e-300, 2.5e-310,
                               -1.2345678901234567e-300, 18446744073709551616.0, -9223372036854775808.0};
    for (size_t i = 0; i < sizeof specials / sizeof *specials; i++)
        CHECK(round_trips(specials[i]));
    /* every integer magnitude near 2^53 and many random integers */
    for (int64_t i = -1000; i <= 1000; i++)
        CHECK(round_trips((double)i) && round_trips((double)((1ll << 53) + i)));
    int bad = 0;
    for (int i = 0; i < 200000; i++) {
        uint64_t bits = next_rand();
        double v;
        memcpy(&v, &bits, sizeof v);
        if (isnan(v))
            continue;
        if (!round_trips(v) && bad++ < 5) {
            sonde_format_double(v, buf);
            fprintf(stderr, "no round trip: %.17g -> %s\n", v, buf);
        }
        /* values of everyday magnitudes too */
        double w = (double)(next_rand() >> 11) / 9007199254740992.0 * 1e6;
        if (!round_trips(w) && bad++ < 5)
            fprintf(stderr, "no round trip: %.17g\n", w);
    }
    CHECK_EQ_INT(bad, 0);
}

/* The %.15g / %.16g / %.17g loop sonde_format_double() once was, as the reference its fast
 * tiers must match digit for digit (this test runs in the C locale). */
static void reference_format(double v, char *buf)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, 32, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

TEST(format_double_matches_printf)
{
    char got[32], want[32];
    int bad = 0;
    for (int i = 0; i < 300000; i++) {
        /* a decimal of 1..17 digits at a power of ten from 1e-8 to 1e17, or random bits */
        uint64_t r = next_rand();
        int digits = 1 + (int)(r % 17), exp10 = (int)((r >> 8) % 26) - 8;
        double mant = (double)(next_rand() % 100000000000000000ull);
        mant = floor(mant / pow(10, 17 - digits));
        double v = mant * pow(10, exp10 - digits);
        if (r & (1u << 20))
            v = -v;
        if (i % 4 == 3) {
            uint64_t bits = next_rand();
            memcpy(&v, &bits, sizeof v);
            if (isnan(v) || isinf(v))
                continue;
        }
        if (v == 0 || (fabs(v) < 9007199254740992.0 && v == (double)(int64_t)v))
            continue;
        sonde_format_double(v, got);
        reference_format(v, want);
        if (strcmp(got, want) != 0 && bad++ < 5)
            fprintf(stderr, "format_double(%.17g) = %s, printf loop says %s\n", v, got, want);
    }
    CHECK_EQ_INT(bad, 0);
    /* the edges of the fast tier */
    const double edges[] = {1e-4, 0.00010000000000000002, 9.9999999999999991e-05, 999999999999999.9,
                            99999999999999.98, 0.1, 0.0001234, 123456789012345.6, 0.3333333333333333,
                            1.0000000000000002, 4503599627370495.5};
    for (size_t i = 0; i < sizeof edges / sizeof *edges; i++) {
        sonde_format_double(edges[i], got);
        reference_format(edges[i], want);
        CHECK_EQ_STR(got, want);
    }
}

int main(void)
{
    RUN(byte_for_byte);
    RUN(order_is_by_name_then_creation);
    RUN(negotiate);
    RUN(content_types);
    RUN(expose_buffer);
    RUN(large_output_and_write_failure);
    RUN(format_double);
    RUN(format_double_matches_printf);
    return check_report();
}
