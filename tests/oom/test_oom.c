/*
 * test_oom.c - out-of-memory injection, as SQLite tests it: each scenario
 * (registration, series creation, exposition, the OTLP metrics encoding,
 * server answers, the HTTP middleware, the storage helpers, the LLM module
 * without and with a tracer) runs again
 * and again with its 1st, 2nd, ... n-th allocation failing, once with only
 * that allocation failing and once with every allocation after it failing
 * too, until a run completes without reaching n. Every run must:
 *  - return SONDE_OK or SONDE_ENOMEM from each call (no other error, no
 *    crash; the ASan+UBSan build also reports any leak at exit);
 *  - leave the registry consistent: with allocations working again the
 *    exposition renders in both formats, shows exactly what succeeded, and
 *    what failed can be done again and then shows too;
 *  - answer a scrape that did not fail with the same bytes as without
 *    injection (a failed render is an error or a 500, never half a page).
 * Allocation failures come from oom_inject.c (link-time wrapping, no change
 * to the library).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "oom_inject.h"
#include "sonde/sonde.h"

#define MAX_STEPS 100000L

/* In run and verify functions: say which expectation failed, and fail the run. */
#define EXPECT(cond)                                                                     \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "  %s:%d: expected %s\n", __FILE__, __LINE__, #cond);        \
            return 0;                                                                    \
        }                                                                                \
    } while (0)

static int ok_or_nomem(int rc)
{
    return rc == SONDE_OK || rc == SONDE_ENOMEM;
}

static char *render(sonde_registry *reg, sonde_format f)
{
    size_t len = 0;
    char *text = sonde_expose_alloc(reg, f, &len);
    if (text && strlen(text) != len) {
        free(text);
        return NULL;
    }
    return text;
}

/* Renders both formats (allocations working); 1 when both are whole. */
static int scrapeable(sonde_registry *reg)
{
    char *t = render(reg, SONDE_FORMAT_TEXT), *om = render(reg, SONDE_FORMAT_OPENMETRICS);
    size_t n = om ? strlen(om) : 0;
    int ok = t && om && n >= 6 && strcmp(om + n - 6, "# EOF\n") == 0 && !strstr(t, "\n\n");
    free(t);
    free(om);
    return ok;
}

/* Runs one scenario under every injection point; returns the number of runs. */
typedef struct scenario {
    const char *name;
    void (*setup)(void *state);            /* allocations working */
    int (*run)(void *state);               /* under injection; 0 when it misbehaved */
    int (*verify)(void *state);            /* allocations working; 0 when inconsistent */
    void (*teardown)(void *state);
} scenario;

static long step_through(const scenario *s, void *state)
{
    long runs = 0;
    for (int persistent = 0; persistent < 2; persistent++) {
        for (long n = 1; n <= MAX_STEPS; n++) {
            s->setup(state);
            oom_arm(n, persistent);
            int behaved = s->run(state);
            int fired = oom_disarm();
            int consistent = s->verify(state);
            s->teardown(state);
            runs++;
            if (!behaved || !consistent) {
                fprintf(stderr, "%s: allocation %ld failing (%s): %s\n", s->name, n,
                        persistent ? "and all after" : "alone",
                        behaved ? "inconsistent afterwards" : "a call misbehaved");
                check_test_failed = 1;
                return runs;
            }
            if (!fired)
                break;
        }
    }
    return runs;
}

/* ---- registration ------------------------------------------------------ */

#define FAMILIES 6

typedef struct reg_state {
    sonde_registry *reg;
    sonde_config cfg;
    int cfg_ok;
    int registered[FAMILIES];
} reg_state;

static const char *const lnames[] = {"method", "code"};
static const double bounds[] = {0.01, 0.1, 1, 10};
static const char *const states[] = {"starting", "ready", "draining"};

static sonde_metric_opts family_opts(int i)
{
    sonde_metric_opts o[FAMILIES] = {
        {.type = SONDE_COUNTER, .name = "oom_requests", .help = "requests", .label_names = lnames,
         .label_count = 2},
        {.type = SONDE_GAUGE, .name = "oom_inflight", .help = "in flight"},
        {.type = SONDE_HISTOGRAM, .name = "oom_latency_seconds", .help = "latency",
         .unit = "seconds", .label_names = lnames, .label_count = 1,
         .buckets = {bounds, sizeof bounds / sizeof bounds[0]}},
        {.type = SONDE_SUMMARY, .name = "oom_size_bytes", .help = "sizes", .label_names = lnames,
         .label_count = 1},
        {.type = SONDE_STATESET, .name = "oom_phase", .help = "phase", .states = states,
         .state_count = 3},
        {.type = SONDE_INFO, .name = "oom_build", .help = "build", .label_names = lnames,
         .label_count = 2},
    };
    return o[i];
}

static void reg_setup(void *p)
{
    reg_state *s = p;
    memset(s, 0, sizeof *s);
    setenv("SONDE_GLOBAL_LABELS", "region=eu,zone=a", 1);
    setenv("SONDE_SERVICE_NAME", "oom-test", 1);
}

static int reg_run(void *p)
{
    reg_state *s = p;
    sonde_config_init(&s->cfg);
    int rc = sonde_config_from_env(&s->cfg, NULL, 0);
    EXPECT(ok_or_nomem(rc));
    s->cfg_ok = rc == SONDE_OK;
    s->cfg.process_metrics = 0;
    rc = sonde_registry_new(&s->cfg, &s->reg);
    EXPECT(ok_or_nomem(rc) && (rc == SONDE_OK) == (s->reg != NULL));
    for (int i = 0; s->reg && i < FAMILIES; i++) {
        sonde_metric_opts o = family_opts(i);
        sonde_metric *m = NULL;
        rc = sonde_register(s->reg, &o, &m);
        EXPECT(ok_or_nomem(rc) && (rc == SONDE_OK) == (m != NULL));
        s->registered[i] = rc == SONDE_OK;
    }
    return 1;
}

static int reg_verify(void *p)
{
    reg_state *s = p;
    if (!s->reg)
        return 1;
    char *text = render(s->reg, SONDE_FORMAT_TEXT);
    EXPECT(text);
    int ok = 1;
    for (int i = 0; i < FAMILIES; i++) {
        sonde_metric_opts o = family_opts(i);
        char want[128];
        snprintf(want, sizeof want, "# TYPE %s%s ", o.name, o.type == SONDE_INFO ? "_info" : "");
        int shown = strstr(text, want) != NULL;
        /* families without series (labelled ones) show no TYPE line in text: look them up */
        int found = sonde_registry_find(s->reg, o.name) != NULL;
        sonde_metric *m = NULL;
        /* a failed registration leaves nothing behind: it can be done again */
        ok &= found == s->registered[i] && (found || !shown) &&
              (found || sonde_register(s->reg, &o, &m) == SONDE_OK);
    }
    free(text);
    EXPECT(ok);
    EXPECT(!s->cfg_ok || s->cfg.global_label_count == 3);
    EXPECT(scrapeable(s->reg));
    return 1;
}

static void reg_teardown(void *p)
{
    reg_state *s = p;
    sonde_registry_free(s->reg);
    sonde_config_cleanup(&s->cfg);
    unsetenv("SONDE_GLOBAL_LABELS");
    unsetenv("SONDE_SERVICE_NAME");
}

TEST(registration)
{
    reg_state s;
    scenario sc = {"registration", reg_setup, reg_run, reg_verify, reg_teardown};
    long runs = step_through(&sc, &s);
    printf("registration: %ld runs\n", runs);
    CHECK(runs > 20);
}

/* ---- series creation --------------------------------------------------- */

#define SERIES 4

typedef struct series_state {
    sonde_registry *reg;
    sonde_metric *m[FAMILIES];
    int created[FAMILIES][SERIES];
} series_state;

static const char *const methods[SERIES] = {"GET", "POST", "PUT", "DELETE"};

static sonde_registry *populated_registry(sonde_metric **m)
{
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    sonde_registry *reg = NULL;
    if (sonde_registry_new(&cfg, &reg))
        return NULL;
    for (int i = 0; i < FAMILIES; i++) {
        sonde_metric_opts o = family_opts(i);
        if (sonde_register(reg, &o, &m[i])) {
            sonde_registry_free(reg);
            return NULL;
        }
    }
    return reg;
}

static void series_setup(void *p)
{
    series_state *s = p;
    memset(s, 0, sizeof *s);
    s->reg = populated_registry(s->m);
}

/* Create series k of every family and give it a value; records what succeeded. */
static int make_series(series_state *s, int k)
{
    const char *const two[] = {methods[k], "200"}, *const one[] = {methods[k]};
    void *c = NULL;
    int rc = sonde_metric_child(s->m[0], two, &c);
    EXPECT(ok_or_nomem(rc));
    if (rc == SONDE_OK) {
        s->created[0][k] = 1;
        EXPECT(ok_or_nomem(sonde_counter_add(c, k + 1.5)));
    }
    if (k == 0) {
        sonde_gauge_set(sonde_gauge_of(s->m[1]), 7);
        s->created[1][0] = 1;
        rc = sonde_stateset_set(sonde_stateset_with(s->m[4], NULL), "ready");
        EXPECT(ok_or_nomem(rc) || rc == SONDE_EINVAL); /* EINVAL: the child itself failed */
    }
    rc = sonde_metric_child(s->m[2], one, &c);
    EXPECT(ok_or_nomem(rc));
    if (rc == SONDE_OK) {
        s->created[2][k] = 1;
        sonde_histogram_observe(c, 0.05 * (k + 1));
    }
    rc = sonde_metric_child(s->m[3], one, &c);
    EXPECT(ok_or_nomem(rc));
    if (rc == SONDE_OK) {
        s->created[3][k] = 1;
        sonde_summary_observe(c, 100.0 * (k + 1));
    }
    rc = sonde_info_set(s->m[5], two);
    EXPECT(ok_or_nomem(rc));
    s->created[5][k] = rc == SONDE_OK;
    sonde_label bl[] = {{"method", methods[k]}, {"code", "500"}};
    rc = sonde_inc(s->reg, "oom_requests", bl, 2);
    return ok_or_nomem(rc);
}

static int series_run(void *p)
{
    series_state *s = p;
    EXPECT(s->reg);
    for (int k = 0; k < SERIES; k++)
        EXPECT(make_series(s, k));
    return 1;
}

static int series_verify(void *p)
{
    series_state *s = p;
    EXPECT(s->reg);
    char *text = render(s->reg, SONDE_FORMAT_TEXT);
    EXPECT(text);
    int ok = 1;
    for (int k = 0; k < SERIES; k++) {
        char want[128];
        snprintf(want, sizeof want, "oom_requests_total{method=\"%s\",code=\"200\"} %g\n",
                 methods[k], k + 1.5);
        if (s->created[0][k] != (strstr(text, want) != NULL))
            ok = 0;
        snprintf(want, sizeof want, "oom_latency_seconds_count{method=\"%s\"} 1\n", methods[k]);
        if (s->created[2][k] != (strstr(text, want) != NULL))
            ok = 0;
        snprintf(want, sizeof want, "oom_size_bytes_count{method=\"%s\"} 1\n", methods[k]);
        if (s->created[3][k] != (strstr(text, want) != NULL))
            ok = 0;
    }
    free(text);
    EXPECT(ok);
    EXPECT(scrapeable(s->reg));
    /* what failed can be done again now */
    memset(s->created, 0, sizeof s->created);
    for (int k = 0; k < SERIES; k++)
        EXPECT(make_series(s, k));
    for (int i = 0; i < FAMILIES; i++)
        for (int k = 0; k < SERIES; k++)
            EXPECT(!(i == 0 || i == 2 || i == 3 || i == 5) || s->created[i][k]);
    return scrapeable(s->reg);
}

static void series_teardown(void *p)
{
    series_state *s = p;
    sonde_registry_free(s->reg);
}

TEST(series_creation)
{
    series_state s;
    scenario sc = {"series creation", series_setup, series_run, series_verify, series_teardown};
    long runs = step_through(&sc, &s);
    printf("series creation: %ld runs\n", runs);
    CHECK(runs > 20);
}

/* ---- exposition -------------------------------------------------------- */

typedef struct expose_state {
    sonde_registry *reg;
    sonde_metric *m[FAMILIES];
    char *want[2];
    char *got[2];
    int buffer_rc;
    char buffer[16384];
    size_t buffer_len;
} expose_state;

static void expose_setup(void *p)
{
    expose_state *s = p;
    memset(s, 0, sizeof *s);
    series_state ss;
    memset(&ss, 0, sizeof ss);
    ss.reg = s->reg = populated_registry(s->m);
    memcpy(ss.m, s->m, sizeof ss.m);
    for (int k = 0; s->reg && k < SERIES; k++)
        make_series(&ss, k);
    s->want[0] = s->reg ? render(s->reg, SONDE_FORMAT_TEXT) : NULL;
    s->want[1] = s->reg ? render(s->reg, SONDE_FORMAT_OPENMETRICS) : NULL;
}

static int expose_run(void *p)
{
    expose_state *s = p;
    EXPECT(s->want[0] && s->want[1]);
    s->got[0] = render(s->reg, SONDE_FORMAT_TEXT);
    s->got[1] = render(s->reg, SONDE_FORMAT_OPENMETRICS);
    s->buffer_rc = sonde_expose_buffer(s->reg, SONDE_FORMAT_OPENMETRICS, s->buffer,
                                       sizeof s->buffer, &s->buffer_len);
    return ok_or_nomem(s->buffer_rc);
}

static int expose_verify(void *p)
{
    expose_state *s = p;
    for (int f = 0; f < 2; f++)
        EXPECT(!s->got[f] || strcmp(s->got[f], s->want[f]) == 0);
    EXPECT(s->buffer_rc != SONDE_OK ||
           (s->buffer_len == strlen(s->want[1]) && !memcmp(s->buffer, s->want[1], s->buffer_len)));
    EXPECT(scrapeable(s->reg));
    return 1;
}

static void expose_teardown(void *p)
{
    expose_state *s = p;
    for (int f = 0; f < 2; f++) {
        free(s->want[f]);
        free(s->got[f]);
    }
    sonde_registry_free(s->reg);
}

TEST(exposition)
{
    expose_state *s = malloc(sizeof *s);
    scenario sc = {"exposition", expose_setup, expose_run, expose_verify, expose_teardown};
    long runs = step_through(&sc, s);
    printf("exposition: %ld runs\n", runs);
    CHECK(runs > 4);
    free(s);
}

/* ---- OTLP metrics encoding ----------------------------------------------- */

typedef struct otlp_state {
    expose_state e;
    sonde_metric_reader *reader;
    size_t want_len, want_points;
} otlp_state;

static void otlp_setup(void *p)
{
    otlp_state *s = p;
    expose_setup(&s->e);
    s->reader = NULL;
    s->want_len = s->want_points = 0;
    sonde_metric_reader_opts ro;
    sonde_metric_reader_opts_init(&ro);
    ro.registry = s->e.reg;
    ro.read_env = 0;
    char *out;
    if (s->e.reg && sonde_metric_reader_new(&ro, &s->reader) == SONDE_OK &&
        sonde_metric_reader_encode(s->reader, &out, &s->want_len, &s->want_points) == SONDE_OK)
        free(out);
}

static int otlp_run(void *p)
{
    otlp_state *s = p;
    EXPECT(s->reader && s->want_len);
    char *out;
    size_t len, points;
    int rc = sonde_metric_reader_encode(s->reader, &out, &len, &points);
    EXPECT(ok_or_nomem(rc));
    if (rc == SONDE_OK) { /* the same series, only the export time differs (fixed64) */
        EXPECT(len == s->want_len && points == s->want_points);
        free(out);
    }
    return 1;
}

static int otlp_verify(void *p)
{
    otlp_state *s = p;
    char *out;
    size_t len, points;
    EXPECT(sonde_metric_reader_encode(s->reader, &out, &len, &points) == SONDE_OK);
    free(out);
    EXPECT(len == s->want_len && points == s->want_points);
    EXPECT(scrapeable(s->e.reg));
    return 1;
}

static void otlp_teardown(void *p)
{
    otlp_state *s = p;
    sonde_metric_reader_free(s->reader, 0);
    expose_teardown(&s->e);
}

TEST(otlp_metrics_encoding)
{
    otlp_state *s = malloc(sizeof *s);
    scenario sc = {"otlp metrics encoding", otlp_setup, otlp_run, otlp_verify, otlp_teardown};
    long runs = step_through(&sc, s);
    printf("otlp metrics encoding: %ld runs\n", runs);
    CHECK(runs > 2);
    free(s);
}

/* ---- server answers ---------------------------------------------------- */

typedef struct server_state {
    expose_state e;
    sonde_server *srv;
    int answered_metrics; /* a 200 text answer to compare */
    char *metrics_body;
} server_state;

static int always_ready(void *ud)
{
    (void)ud;
    return 1;
}

static void server_setup(void *p)
{
    server_state *s = p;
    expose_setup(&s->e);
    s->srv = NULL;
    s->answered_metrics = 0;
    s->metrics_body = NULL;
}

static int answer(server_state *s, const char *path, const char *accept, const char *ae,
                  const char *method)
{
    sonde_server_request req = {.method = method, .path = path, .accept = accept,
                                .accept_encoding = ae};
    sonde_server_response resp;
    memset(&resp, 0xA5, sizeof resp); /* an error must leave it empty, not garbage */
    int rc = sonde_server_handle(s->srv, &req, &resp);
    if (rc == SONDE_ENOMEM) {
        EXPECT(resp.body == NULL && resp.header_count == 0 && resp.status == 0);
        return 1;
    }
    EXPECT(rc == SONDE_OK && resp.body && resp.status >= 200 && resp.status <= 599);
    if (resp.status == 200 && !strcmp(path, "/metrics") && !ae && !accept && !strcmp(method, "GET")) {
        s->answered_metrics = 1;
        s->metrics_body = resp.body;
        resp.body = NULL;
    }
    sonde_server_response_free(&resp);
    return 1;
}

static int server_run(void *p)
{
    server_state *s = p;
    EXPECT(s->e.reg);
    sonde_server_opts opts;
    sonde_server_opts_init(&opts);
    opts.registry = s->e.reg;
    int rc = sonde_server_new(&opts, NULL, 0, &s->srv);
    EXPECT(ok_or_nomem(rc) && (rc == SONDE_OK) == (s->srv != NULL));
    if (!s->srv)
        return 1;
    rc = sonde_server_ready_add(s->srv, "db", always_ready, NULL);
    EXPECT(ok_or_nomem(rc));
    return answer(s, "/metrics", NULL, NULL, "GET") &&
           answer(s, "/metrics", "application/openmetrics-text;version=1.0.0", "gzip", "GET") &&
           answer(s, "/metrics", NULL, NULL, "HEAD") && answer(s, "/health", NULL, NULL, "GET") &&
           answer(s, "/ready", NULL, NULL, "GET") && answer(s, "/nope", NULL, NULL, "GET") &&
           answer(s, "/metrics", NULL, NULL, "POST");
}

static int server_verify(void *p)
{
    server_state *s = p;
    EXPECT(!s->answered_metrics || strcmp(s->metrics_body, s->e.want[0]) == 0);
    if (!s->srv)
        return scrapeable(s->e.reg);
    /* the server still answers in full (no scrape slot or lock left taken) */
    for (int i = 0; i < 8; i++) {
        sonde_server_request req = {.method = "GET", .path = "/metrics"};
        sonde_server_response resp;
        EXPECT(sonde_server_handle(s->srv, &req, &resp) == SONDE_OK);
        int same = resp.status == 200 && resp.body && !strcmp(resp.body, s->e.want[0]);
        sonde_server_response_free(&resp);
        EXPECT(same);
    }
    return 1;
}

static void server_teardown(void *p)
{
    server_state *s = p;
    sonde_server_free(s->srv);
    free(s->metrics_body);
    expose_teardown(&s->e);
}

TEST(server_answers)
{
    server_state *s = malloc(sizeof *s);
    scenario sc = {"server answers", server_setup, server_run, server_verify, server_teardown};
    long runs = step_through(&sc, s);
    printf("server answers: %ld runs\n", runs);
    CHECK(runs > 10);
    free(s);
}

static sonde_registry *empty_registry(void)
{
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    sonde_registry *reg = NULL;
    return sonde_registry_new(&cfg, &reg) == SONDE_OK ? reg : NULL;
}

/* ---- HTTP middleware (registration of its families, routes, requests) ------ */

typedef struct http_state {
    sonde_registry *reg;
    sonde_http *h;
    int ended[3];
} http_state;

static const char *const http_paths[3] = {"/v1/items/42", "/v1/users/7/posts", "/health"};

static void http_setup(void *p)
{
    http_state *s = p;
    memset(s, 0, sizeof *s);
    s->reg = empty_registry();
}

static int http_run(void *p)
{
    http_state *s = p;
    EXPECT(s->reg);
    sonde_http_opts opts = {.registry = s->reg, .route_limit = 16};
    int rc = sonde_http_new(&opts, &s->h);
    EXPECT(ok_or_nomem(rc) && (rc == SONDE_OK) == (s->h != NULL));
    if (!s->h)
        return 1;
    rc = sonde_http_route_add(s->h, "/v1/items/{id}");
    EXPECT(ok_or_nomem(rc));
    for (int i = 0; i < 3; i++) {
        sonde_http_token t = sonde_http_begin(s->h, "GET", http_paths[i], 100);
        sonde_http_end(s->h, &t, 200, 1000);
        s->ended[i] = 1;
    }
    return 1;
}

static int http_verify(void *p)
{
    http_state *s = p;
    EXPECT(s->reg);
    EXPECT(scrapeable(s->reg));
    if (!s->h)
        return 1;
    /* requests recorded now, with allocations working, all show */
    for (int i = 0; i < 3; i++) {
        sonde_http_token t = sonde_http_begin(s->h, "GET", http_paths[i], 100);
        sonde_http_end(s->h, &t, 200, 1000);
    }
    char *text = render(s->reg, SONDE_FORMAT_TEXT);
    EXPECT(text);
    int ok = strstr(text, "route=\"/v1/users/:id/posts\"") && strstr(text, "route=\"/health\"");
    free(text);
    EXPECT(ok);
    return 1;
}

static void http_teardown(void *p)
{
    http_state *s = p;
    sonde_http_free(s->h);
    sonde_registry_free(s->reg);
}

TEST(http_middleware)
{
    http_state s;
    scenario sc = {"http middleware", http_setup, http_run, http_verify, http_teardown};
    long runs = step_through(&sc, &s);
    printf("http middleware: %ld runs\n", runs);
    CHECK(runs > 10);
}

/* ---- storage helpers (families, name lists, handles, lazily made children) -- */

typedef struct store_state {
    sonde_registry *reg;
    sonde_store *store;
} store_state;

static const char *const store_ops[] = {"select", "insert"};
static const char *const store_tables[] = {"users", "orders"};
static const char *const store_caches[] = {"pages"};
static const char *const store_queues[] = {"email"};

static void store_setup(void *p)
{
    store_state *s = p;
    memset(s, 0, sizeof *s);
    s->reg = empty_registry();
}

/* One of everything; lookups may fail with SONDE_ENOMEM (the handle is then NULL). */
static int store_work(sonde_store *store)
{
    sonde_db_query *q = NULL;
    EXPECT(ok_or_nomem(sonde_store_query(store, "insert", "orders", &q)));
    sonde_db_call c = sonde_db_begin(q);
    sonde_db_end(&c, SONDE_STORE_ERROR);
    EXPECT(sonde_store_query(store, "drop", "orders", &q) == SONDE_EUNLISTED);
    sonde_store_connections_set(store, 1, 2, 3);
    sonde_cache *cache = NULL;
    EXPECT(ok_or_nomem(sonde_store_cache(store, "pages", &cache)));
    sonde_cache_hit(cache);
    sonde_cache_size_set(cache, 5, 500);
    sonde_queue *queue = NULL;
    EXPECT(ok_or_nomem(sonde_store_queue(store, "email", &queue)));
    sonde_queue_job j = sonde_queue_enqueue(queue);
    sonde_queue_start(&j);
    sonde_queue_end(&j, SONDE_STORE_TIMEOUT);
    return 1;
}

static int store_run(void *p)
{
    store_state *s = p;
    EXPECT(s->reg);
    sonde_store_opts o = {.registry = s->reg, .operations = store_ops, .operation_count = 2,
                          .tables = store_tables, .table_count = 2, .caches = store_caches,
                          .cache_count = 1, .queues = store_queues, .queue_count = 1};
    int rc = sonde_store_new(&o, &s->store);
    EXPECT(ok_or_nomem(rc) && (rc == SONDE_OK) == (s->store != NULL));
    return s->store ? store_work(s->store) : 1;
}

static int store_verify(void *p)
{
    store_state *s = p;
    EXPECT(s->reg);
    EXPECT(scrapeable(s->reg));
    if (!s->store)
        return 1;
    /* with allocations working, what failed before is made now and shows */
    EXPECT(store_work(s->store));
    char *text = render(s->reg, SONDE_FORMAT_TEXT);
    EXPECT(text);
    int ok = strstr(text, "db_queries_total{operation=\"insert\",table=\"orders\",status=\"error\"}") &&
             strstr(text, "db_connections_current{state=\"max\"} 3\n") &&
             strstr(text, "cache_size_bytes{cache=\"pages\"} 500\n") &&
             strstr(text, "queue_jobs_total{queue=\"email\",status=\"timeout\"}") &&
             strstr(text, "queue_depth{queue=\"email\"} 0\n");
    free(text);
    EXPECT(ok);
    return 1;
}

static void store_teardown(void *p)
{
    store_state *s = p;
    sonde_store_free(s->store);
    sonde_registry_free(s->reg);
}

TEST(store_helpers)
{
    store_state s;
    scenario sc = {"store helpers", store_setup, store_run, store_verify, store_teardown};
    long runs = step_through(&sc, &s);
    printf("store helpers: %ld runs\n", runs);
    CHECK(runs > 10);
}

/* ---- LLM module (its families, call trackers, cached tuples) ------------- */

typedef struct llm_state {
    sonde_registry *reg;
    sonde_llm *llm;
    int traced;           /* a tracer of its own per run: GenAI spans, content captured */
    sonde_tracer *tracer;
    sonde_llm_opts opts;
} llm_state;

static const char *const llm_models[3] = {"gpt-4o", "gpt-4o-mini", "o3"};

static void llm_setup(void *p)
{
    llm_state *s = p;
    s->reg = empty_registry();
    s->llm = NULL;
    s->tracer = NULL;
    if (s->traced) { /* spans go nowhere: no exporter, no recent ring */
        sonde_tracer_opts to;
        sonde_tracer_opts_init(&to);
        to.read_env = 0;
        to.sampler = SONDE_SAMPLER_ALWAYS_ON;
        to.recent_spans = 0;
        if (sonde_tracer_new(&to, &s->tracer) != SONDE_OK)
            s->tracer = NULL;
    }
    memset(&s->opts, 0, sizeof s->opts);
    s->opts.tracer = s->tracer;
    s->opts.capture_message_content = 1;
}

/* One chat call per model; every return is OK or ENOMEM. */
static int llm_calls(llm_state *s)
{
    for (int i = 0; i < 3; i++) {
        sonde_llm_call call;
        sonde_llm_request rq = {.operation = "chat", .provider = "openai", .model = llm_models[i],
                                .server_address = "api.openai.com", .server_port = 443,
                                .streaming = 1, .input_messages = "[{\"role\":\"user\"}]"};
        int rc = sonde_llm_call_begin(s->llm, &call, &rq);
        EXPECT(ok_or_nomem(rc));
        if (rc)
            continue;
        sonde_llm_call_tokens(&call, 3);
        sonde_llm_result res = {.status = SONDE_LLM_OK, .response_model = llm_models[i],
                                .input_tokens = 10, .output_tokens = 3, .finish_reason = "stop",
                                .response_id = "chatcmpl-1", .output_messages = "[]"};
        EXPECT(ok_or_nomem(sonde_llm_call_end(&call, &res)));
    }
    return 1;
}

static int llm_run(void *p)
{
    llm_state *s = p;
    EXPECT(s->reg);
    int rc = sonde_llm_new(s->reg, &s->opts, &s->llm);
    EXPECT(ok_or_nomem(rc) && (rc == SONDE_OK) == (s->llm != NULL));
    return s->llm ? llm_calls(s) : 1;
}

static int llm_verify(void *p)
{
    llm_state *s = p;
    EXPECT(s->reg);
    EXPECT(scrapeable(s->reg));
    if (!s->llm) /* "on error nothing stays registered": the module can be made again */
        EXPECT(sonde_llm_new(s->reg, &s->opts, &s->llm) == SONDE_OK);
    EXPECT(llm_calls(s));
    EXPECT(sonde_llm_open_calls(s->llm) == 0);
    char *text = render(s->reg, SONDE_FORMAT_TEXT);
    EXPECT(text);
    int shown = 1;
    for (int i = 0; i < 3; i++) {
        char want[160];
        snprintf(want, sizeof want, "gen_ai_request_model=\"%s\"", llm_models[i]);
        shown &= strstr(text, want) != NULL;
    }
    free(text);
    EXPECT(shown);
    return 1;
}

static void llm_teardown(void *p)
{
    llm_state *s = p;
    sonde_llm_free(s->llm);
    sonde_registry_free(s->reg);
    sonde_tracer_free(s->tracer, 5000);
}

TEST(llm_module)
{
    llm_state s = {0};
    scenario sc = {"llm module", llm_setup, llm_run, llm_verify, llm_teardown};
    long runs = step_through(&sc, &s);
    printf("llm module: %ld runs\n", runs);
    CHECK(runs > 10);
}

/* The same with a tracer made before the injection: a span that cannot be made or
 * grow loses itself or its attributes, never the call's metrics. */
TEST(llm_module_traced)
{
    llm_state s = {.traced = 1};
    scenario sc = {"llm module traced", llm_setup, llm_run, llm_verify, llm_teardown};
    long runs = step_through(&sc, &s);
    printf("llm module traced: %ld runs\n", runs);
    CHECK(runs > 10);
}

/* The injection itself works: the n-th allocation fails, the others do not. */
TEST(injection_counts)
{
    oom_arm(2, 0);
    void *a = malloc(8), *b = malloc(8), *c = malloc(8);
    int fired = oom_disarm();
    CHECK(a && !b && c && fired);
    free(a);
    free(c);
    oom_arm(1, 1);
    char *d = strdup("x");
    void *e = calloc(1, 8);
    fired = oom_disarm();
    CHECK(!d && !e && fired);
}

int main(void)
{
    RUN(injection_counts);
    RUN(registration);
    RUN(series_creation);
    RUN(exposition);
    RUN(otlp_metrics_encoding);
    RUN(server_answers);
    RUN(http_middleware);
    RUN(store_helpers);
    RUN(llm_module);
    RUN(llm_module_traced);
    return check_report();
}
