/*
 * test_server_handle.c - sonde_server_handle(): every endpoint and status,
 * content negotiation for the Accept values Prometheus 2.x and 3.x send,
 * gzip decisions and a gzip round trip, credentials, the scrape limit,
 * readiness checks and option validation. No sockets: the same handler the
 * embedded server runs.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "http_test_client.h"
#include "sonde/sonde.h"

static sonde_registry *reg;

static sonde_server *make(const char *user, const char *pass, const char *token)
{
    sonde_server_opts o;
    sonde_server_opts_init(&o);
    o.registry = reg;
    o.basic_user = user;
    o.basic_password = pass;
    o.bearer_token = token;
    sonde_server *s = NULL;
    char err[128];
    CHECK_EQ_INT(sonde_server_new(&o, err, sizeof err, &s), SONDE_OK);
    return s;
}

static const char *hdr(const sonde_server_response *r, const char *name)
{
    for (size_t i = 0; i < r->header_count; i++)
        if (!strcasecmp(r->headers[i].name, name))
            return r->headers[i].value;
    return NULL;
}

static int call(sonde_server *s, const char *method, const char *path, const char *accept,
                const char *ae, const char *auth, sonde_server_response *r)
{
    sonde_server_request q = {method, path, accept, ae, auth, NULL};
    CHECK_EQ_INT(sonde_server_handle(s, &q, r), SONDE_OK);
    return r->status;
}

TEST(metrics_default_text)
{
    sonde_server *s = make(NULL, NULL, NULL);
    sonde_server_response r;
    CHECK_EQ_INT(call(s, "GET", "/metrics", NULL, NULL, NULL, &r), 200);
    CHECK_EQ_STR(hdr(&r, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    CHECK(hdr(&r, "Content-Encoding") == NULL);
    CHECK(r.body_len > 0 && r.body_len == strlen(r.body));
    CHECK_CONTAINS(r.body, "test_hits_total 3");
    sonde_server_response_free(&r);
    /* HEAD: the same headers and a body (for Content-Length) of the same size */
    size_t get_len = 0;
    call(s, "GET", "/metrics?x=1", NULL, NULL, NULL, &r);
    get_len = r.body_len;
    CHECK_EQ_INT(r.status, 200);
    sonde_server_response_free(&r);
    CHECK_EQ_INT(call(s, "HEAD", "/metrics", NULL, NULL, NULL, &r), 200);
    CHECK_EQ_INT(r.body_len, get_len);
    sonde_server_response_free(&r);
    sonde_server_response_free(&r); /* twice is safe */
    sonde_server_free(s);
}

TEST(negotiation_prometheus_accept_values)
{
    static const struct {
        const char *accept;
        const char *type;
    } cases[] = {
        /* Prometheus 2.x default */
        {"application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
         "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
         "application/openmetrics-text; version=1.0.0; charset=utf-8"},
        /* Prometheus 2.x with --enable-feature=native-histograms (protobuf first) */
        {"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding="
         "delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/"
         "openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
         "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"},
        /* Prometheus 3.x default scrape_protocols */
        {"application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/"
         "openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;"
         "q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
         "application/openmetrics-text; version=1.0.0; charset=utf-8"},
        {"application/openmetrics-text;version=1.0.0;escaping=underscores;q=0.5,application/"
         "openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=underscores;"
         "q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
         "application/openmetrics-text; version=1.0.0; charset=utf-8"},
        /* Prometheus 3.x, protobuf first (native histograms) */
        {"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding="
         "delimited;q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,"
         "application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping="
         "allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
         "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"},
        /* Prometheus 3.x with scrape_protocols: [PrometheusText0.0.4] */
        {"text/plain;version=0.0.4;q=0.2,*/*;q=0.1", "text/plain; version=0.0.4; charset=utf-8"},
        /* Prometheus 3.x with scrape_protocols: [PrometheusText1.0.0, PrometheusText0.0.4] */
        {"text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/"
         "*;q=0.1",
         "text/plain; version=0.0.4; charset=utf-8"},
        /* browsers, curl, nothing */
        {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
         "text/plain; version=0.0.4; charset=utf-8"},
        {"*/*", "text/plain; version=0.0.4; charset=utf-8"},
        {"", "text/plain; version=0.0.4; charset=utf-8"},
    };
    sonde_server *s = make(NULL, NULL, NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sonde_server_response r;
        CHECK_EQ_INT(call(s, "GET", "/metrics", cases[i].accept, NULL, NULL, &r), 200);
        CHECK_EQ_STR(hdr(&r, "Content-Type"), cases[i].type);
        if (strstr(cases[i].type, "openmetrics"))
            CHECK(r.body_len >= 6 && !memcmp(r.body + r.body_len - 6, "# EOF\n", 6));
        else if (strstr(cases[i].type, "protobuf")) /* a delimited MetricFamily: length, name */
            CHECK(r.body_len > 2 && r.body[0] != '#' && (r.body[1] == 0x0a || r.body[2] == 0x0a));
        else
            CHECK(!strstr(r.body, "# EOF"));
        sonde_server_response_free(&r);
    }
    sonde_server_free(s);
}

TEST(gzip_decisions_and_round_trip)
{
    static const struct {
        const char *ae;
        int gzip;
    } cases[] = {
        {"gzip", 1},          {"gzip, deflate, br", 1}, {"br;q=1.0, gzip;q=0.5", 1},
        {"x-gzip", 1},        {"*", 1},                 {"GZIP", 1},
        {"gzip;q=0", 0},      {"identity", 0},          {"*;q=0", 0},
        {"deflate, br", 0},   {"gzip;q=0, *", 0},       {"gzip;q=nonsense", 0},
        {NULL, 0},
    };
    sonde_server *s = make(NULL, NULL, NULL);
    sonde_server_response plain;
    call(s, "GET", "/metrics", NULL, NULL, NULL, &plain);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sonde_server_response r;
        CHECK_EQ_INT(call(s, "GET", "/metrics", NULL, cases[i].ae, NULL, &r), 200);
        const char *ce = hdr(&r, "Content-Encoding");
        if (cases[i].gzip) {
            CHECK(ce && !strcmp(ce, "gzip"));
            size_t n = 0;
            char *text = tc_gunzip(r.body, r.body_len, &n);
            CHECK(text != NULL);
            CHECK_EQ_INT(n, plain.body_len);
            CHECK(text && n == plain.body_len && !memcmp(text, plain.body, n));
            free(text);
        } else {
            CHECK(ce == NULL);
            CHECK_EQ_INT(r.body_len, plain.body_len);
        }
        CHECK_EQ_STR(hdr(&r, "Vary"), "Accept, Accept-Encoding");
        sonde_server_response_free(&r);
    }
    sonde_server_response_free(&plain);
    sonde_server_free(s);

    /* gzip off in the options: never compressed */
    sonde_server_opts o;
    sonde_server_opts_init(&o);
    o.registry = reg;
    o.gzip = 0;
    CHECK_EQ_INT(sonde_server_new(&o, NULL, 0, &s), SONDE_OK);
    sonde_server_response r;
    call(s, "GET", "/metrics", NULL, "gzip", NULL, &r);
    CHECK(hdr(&r, "Content-Encoding") == NULL);
    sonde_server_response_free(&r);
    sonde_server_free(s);
}

TEST(not_found_and_method_not_allowed)
{
    sonde_server *s = make(NULL, NULL, NULL);
    static const char *const missing[] = {"/", "/metrics/", "/metricsx", "/healthz", "/nope",
                                          "relative", ""};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        sonde_server_response r;
        CHECK_EQ_INT(call(s, "GET", missing[i], NULL, NULL, NULL, &r), 404);
        sonde_server_response_free(&r);
    }
    static const char *const paths[] = {"/metrics", "/health", "/ready"};
    static const char *const methods[] = {"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "get",
                                          "BREW"};
    for (size_t p = 0; p < 3; p++)
        for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
            sonde_server_response r;
            CHECK_EQ_INT(call(s, methods[m], paths[p], NULL, NULL, NULL, &r), 405);
            CHECK_EQ_STR(hdr(&r, "Allow"), "GET, HEAD");
            sonde_server_response_free(&r);
        }
    sonde_server_response r;
    sonde_server_request bad = {NULL, "/metrics", NULL, NULL, NULL, NULL};
    CHECK_EQ_INT(sonde_server_handle(s, &bad, &r), SONDE_EINVAL);
    CHECK(r.body == NULL);
    CHECK_EQ_INT(sonde_server_handle(NULL, &bad, &r), SONDE_EINVAL);
    sonde_server_free(s);
}

static uint64_t health_wall_ns;
static uint64_t fake_wall(void *ud)
{
    return health_wall_ns;
}

TEST(health_body)
{
    sonde_server *s = make(NULL, NULL, NULL);
    sonde_server_response r;
    CHECK_EQ_INT(call(s, "GET", "/health", NULL, NULL, NULL, &r), 200);
    CHECK_EQ_STR(hdr(&r, "Content-Type"), "application/json");
    CHECK_CONTAINS(r.body, "{\"status\":\"ok\",\"uptime\":");
    CHECK_CONTAINS(r.body, "\"version\":\"" SONDE_VERSION_STRING "\",\"timestamp\":\"");
    /* the real clock: RFC 3339 UTC with milliseconds, "YYYY-MM-DDTHH:MM:SS.mmmZ" */
    const char *ts = r.body ? strstr(r.body, "\"timestamp\":\"") : NULL;
    CHECK(ts != NULL);
    if (ts) {
        ts += strlen("\"timestamp\":\"");
        static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ\"}\n";
        for (size_t i = 0; i < sizeof shape - 1; i++)
            CHECK(shape[i] == 'd' ? (ts[i] >= '0' && ts[i] <= '9') : ts[i] == shape[i]);
        CHECK(strncmp(ts, "2026", 2) == 0); /* this century */
    }
    sonde_server_response_free(&r);
    /* a fake wall clock gives the exact text, across a day, month and year boundary */
    health_wall_ns = 1798761599999000000ull; /* 2026-12-31T23:59:59.999Z */
    sonde_set_clock(NULL, fake_wall, NULL);
    CHECK_EQ_INT(call(s, "GET", "/health", NULL, NULL, NULL, &r), 200);
    CHECK_CONTAINS(r.body, "\"timestamp\":\"2026-12-31T23:59:59.999Z\"}\n");
    sonde_server_response_free(&r);
    health_wall_ns = 1798761600000000000ull;
    CHECK_EQ_INT(call(s, "GET", "/health", NULL, NULL, NULL, &r), 200);
    CHECK_CONTAINS(r.body, "\"timestamp\":\"2027-01-01T00:00:00.000Z\"}\n");
    sonde_server_response_free(&r);
    sonde_set_clock(NULL, NULL, NULL);
    sonde_server_free(s);
}

static int flag_ready(void *ud)
{
    return *(int *)ud;
}

TEST(ready_checks)
{
    sonde_server *s = make(NULL, NULL, NULL);
    sonde_server_response r;
    CHECK_EQ_INT(call(s, "GET", "/ready", NULL, NULL, NULL, &r), 200);
    CHECK_EQ_STR(r.body, "{\"status\":\"ready\",\"checks\":{}}\n");
    sonde_server_response_free(&r);

    int db = 1, cache = 1;
    CHECK_EQ_INT(sonde_server_ready_add(s, "database", flag_ready, &db), SONDE_OK);
    CHECK_EQ_INT(sonde_server_ready_add(s, "cache", flag_ready, &cache), SONDE_OK);
    CHECK_EQ_INT(sonde_server_ready_add(s, "cache", flag_ready, &cache), SONDE_EEXIST);
    CHECK_EQ_INT(sonde_server_ready_add(s, "", flag_ready, &cache), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_server_ready_add(s, "a\"b", flag_ready, &cache), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_server_ready_add(s, "x", NULL, &cache), SONDE_EINVAL);
    CHECK_EQ_INT(call(s, "GET", "/ready", NULL, NULL, NULL, &r), 200);
    CHECK_EQ_STR(r.body, "{\"status\":\"ready\",\"checks\":{\"database\":\"ok\",\"cache\":\"ok\"}}\n");
    sonde_server_response_free(&r);
    cache = 0;
    CHECK_EQ_INT(call(s, "GET", "/ready", NULL, NULL, NULL, &r), 503);
    CHECK_EQ_STR(r.body,
                 "{\"status\":\"not_ready\",\"checks\":{\"database\":\"ok\",\"cache\":\"fail\"}}\n");
    sonde_server_response_free(&r);
    CHECK_EQ_INT(call(s, "HEAD", "/ready", NULL, NULL, NULL, &r), 503);
    sonde_server_response_free(&r);
    /* the limit on checks */
    char name[16];
    int rc = SONDE_OK;
    for (int i = 0; rc == SONDE_OK && i < 100; i++) {
        snprintf(name, sizeof name, "c%d", i);
        rc = sonde_server_ready_add(s, name, flag_ready, &db);
    }
    CHECK_EQ_INT(rc, SONDE_ELIMIT);
    sonde_server_free(s);
}

TEST(basic_auth)
{
    sonde_server *s = make("prom", "s3cret:x", NULL);
    /* base64("prom:s3cret:x") = cHJvbTpzM2NyZXQ6eA== */
    static const struct {
        const char *auth;
        int status;
    } cases[] = {
        {"Basic cHJvbTpzM2NyZXQ6eA==", 200},
        {"basic   cHJvbTpzM2NyZXQ6eA==  ", 200},
        {"Basic cHJvbTpzM2NyZXQ6eQ==", 401},  /* wrong password */
        {"Basic cHJvbTpzM2NyZXQ6eA=", 401},   /* truncated */
        {"Basic cHJvbTpzM2NyZXQ6eA==A", 401}, /* longer */
        {"Basic ", 401},
        {"Bearer cHJvbTpzM2NyZXQ6eA==", 401},
        {"cHJvbTpzM2NyZXQ6eA==", 401},
        {NULL, 401},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sonde_server_response r;
        CHECK_EQ_INT(call(s, "GET", "/metrics", NULL, NULL, cases[i].auth, &r), cases[i].status);
        if (cases[i].status == 401) {
            CHECK_EQ_STR(hdr(&r, "WWW-Authenticate"), "Basic realm=\"metrics\", charset=\"UTF-8\"");
            CHECK(!strstr(r.body, "test_hits"));
        }
        sonde_server_response_free(&r);
    }
    /* probes stay open for orchestrators */
    sonde_server_response r;
    CHECK_EQ_INT(call(s, "GET", "/health", NULL, NULL, NULL, &r), 200);
    sonde_server_response_free(&r);
    CHECK_EQ_INT(call(s, "GET", "/ready", NULL, NULL, NULL, &r), 200);
    sonde_server_response_free(&r);
    sonde_server_free(s);
}

TEST(bearer_auth)
{
    sonde_server *s = make(NULL, NULL, "tok-123");
    static const struct {
        const char *auth;
        int status;
    } cases[] = {
        {"Bearer tok-123", 200}, {"bearer tok-123", 200}, {"Bearer tok-124", 401},
        {"Bearer tok-12", 401},  {"Bearer tok-1234", 401}, {"Basic tok-123", 401},
        {"Bearer", 401},         {NULL, 401},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sonde_server_response r;
        CHECK_EQ_INT(call(s, "GET", "/metrics", NULL, NULL, cases[i].auth, &r), cases[i].status);
        if (cases[i].status == 401)
            CHECK_EQ_STR(hdr(&r, "WWW-Authenticate"), "Bearer realm=\"metrics\"");
        sonde_server_response_free(&r);
    }
    sonde_server_free(s);
    /* both configured: either credential works */
    s = make("u", "p", "tok");
    sonde_server_response r;
    CHECK_EQ_INT(call(s, "GET", "/metrics", NULL, NULL, "Bearer tok", &r), 200);
    sonde_server_response_free(&r);
    CHECK_EQ_INT(call(s, "GET", "/metrics", NULL, NULL, "Basic dTpw", &r), 200);
    sonde_server_response_free(&r);
    sonde_server_free(s);
}

/* A collector that holds the render until released, to keep a scrape in flight. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_entered, gate_open;

static int slow_collect(sonde_emitter *e, void *ud)
{
    pthread_mutex_lock(&gate_lock);
    gate_entered = 1;
    pthread_cond_broadcast(&gate_cond);
    while (!gate_open)
        pthread_cond_wait(&gate_cond, &gate_lock);
    pthread_mutex_unlock(&gate_lock);
    return 0;
}

static void *scrape_thread(void *ud)
{
    sonde_server_response *r = ud;
    sonde_server_request q = {"GET", "/metrics", NULL, NULL, NULL, NULL};
    sonde_server_handle(*(sonde_server **)((char *)ud + sizeof *r), &q, r);
    return NULL;
}

TEST(scrape_limit)
{
    sonde_registry *slow;
    CHECK_EQ_INT(sonde_registry_new(NULL, &slow), SONDE_OK);
    sonde_collector *c;
    CHECK_EQ_INT(sonde_collector_add(slow, "gate", slow_collect, NULL, &c), SONDE_OK);
    sonde_server_opts o;
    sonde_server_opts_init(&o);
    o.registry = slow;
    o.max_scrapes = 1;
    struct {
        sonde_server_response r;
        sonde_server *s;
    } job;
    CHECK_EQ_INT(sonde_server_new(&o, NULL, 0, &job.s), SONDE_OK);
    pthread_t t;
    pthread_create(&t, NULL, scrape_thread, &job);
    pthread_mutex_lock(&gate_lock);
    while (!gate_entered)
        pthread_cond_wait(&gate_cond, &gate_lock);
    pthread_mutex_unlock(&gate_lock);
    /* one scrape is rendering: the next one is refused, the probes still answer */
    sonde_server_response r;
    CHECK_EQ_INT(call(job.s, "GET", "/metrics", NULL, NULL, NULL, &r), 503);
    CHECK_EQ_STR(hdr(&r, "Retry-After"), "1");
    sonde_server_response_free(&r);
    CHECK_EQ_INT(call(job.s, "GET", "/health", NULL, NULL, NULL, &r), 200);
    sonde_server_response_free(&r);
    pthread_mutex_lock(&gate_lock);
    gate_open = 1;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
    pthread_join(t, NULL);
    CHECK_EQ_INT(job.r.status, 200);
    sonde_server_response_free(&job.r);
    /* the slot is free again */
    CHECK_EQ_INT(call(job.s, "GET", "/metrics", NULL, NULL, NULL, &r), 200);
    sonde_server_response_free(&r);
    sonde_server_free(job.s);
    sonde_registry_free(slow);
}

TEST(custom_metrics_path)
{
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.metrics_path = "/internal/prom";
    sonde_server_opts o;
    sonde_server_opts_init(&o);
    o.registry = reg;
    o.config = &cfg;
    sonde_server *s;
    CHECK_EQ_INT(sonde_server_new(&o, NULL, 0, &s), SONDE_OK);
    sonde_server_response r;
    CHECK_EQ_INT(call(s, "GET", "/internal/prom", NULL, NULL, NULL, &r), 200);
    sonde_server_response_free(&r);
    CHECK_EQ_INT(call(s, "GET", "/metrics", NULL, NULL, NULL, &r), 404);
    sonde_server_response_free(&r);
    sonde_server_free(s);
}

TEST(bad_options)
{
    static const struct {
        const char *path, *addr, *user, *pass, *token, *cert, *key;
        int port;
        unsigned threads;
        const char *msg;
    } cases[] = {
        {"metrics", NULL, NULL, NULL, NULL, NULL, NULL, 9464, 0, "must start with '/'"},
        {"/health", NULL, NULL, NULL, NULL, NULL, NULL, 9464, 0, "reserved"},
        {"/m", "localhost", NULL, NULL, NULL, NULL, NULL, 9464, 0, "not an IP address"},
        {"/m", "300.1.1.1", NULL, NULL, NULL, NULL, NULL, 9464, 0, "not an IP address"},
        {"/m", NULL, "u", NULL, NULL, NULL, NULL, 9464, 0, "both a user and a password"},
        {"/m", NULL, "a:b", "p", NULL, NULL, NULL, 9464, 0, "without ':'"},
        {"/m", NULL, NULL, NULL, "", NULL, NULL, 9464, 0, "token is empty"},
        {"/m", NULL, NULL, NULL, NULL, "CERT", NULL, 9464, 0, "both a certificate and a key"},
        {"/m", NULL, NULL, NULL, NULL, NULL, NULL, 70000, 0, "port"},
        {"/m", NULL, NULL, NULL, NULL, NULL, NULL, 9464, 1000, "limits"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sonde_config cfg;
        sonde_config_init(&cfg);
        cfg.metrics_path = cases[i].path;
        cfg.listen_addr = cases[i].addr;
        cfg.port = cases[i].port;
        sonde_server_opts o;
        sonde_server_opts_init(&o);
        o.registry = reg;
        o.config = &cfg;
        o.basic_user = cases[i].user;
        o.basic_password = cases[i].pass;
        o.bearer_token = cases[i].token;
        o.tls_cert_pem = cases[i].cert;
        o.tls_key_pem = cases[i].key;
        if (cases[i].threads)
            o.threads = cases[i].threads;
        sonde_server *s = (sonde_server *)&cfg; /* must be reset to NULL */
        char err[160] = "";
        CHECK_EQ_INT(sonde_server_new(&o, err, sizeof err, &s), SONDE_ECONFIG);
        CHECK(s == NULL);
        CHECK_CONTAINS(err, cases[i].msg);
    }
    CHECK_EQ_INT(sonde_server_new(NULL, NULL, 0, NULL), SONDE_EINVAL);
}

int main(void)
{
    CHECK_EQ_INT(sonde_registry_new(NULL, &reg), SONDE_OK);
    sonde_counter *c;
    CHECK_EQ_INT(sonde_counter_new(reg, "test_hits_total", "Hits.", &c), SONDE_OK);
    for (int i = 0; i < 3; i++)
        sonde_counter_inc(c);
    RUN(metrics_default_text);
    RUN(negotiation_prometheus_accept_values);
    RUN(gzip_decisions_and_round_trip);
    RUN(not_found_and_method_not_allowed);
    RUN(health_body);
    RUN(ready_checks);
    RUN(basic_auth);
    RUN(bearer_auth);
    RUN(scrape_limit);
    RUN(custom_metrics_path);
    RUN(bad_options);
    sonde_registry_free(reg);
    return check_report();
}
