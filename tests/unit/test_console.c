/*
 * test_console.c - the console's history and metrics API (src/console):
 * ring wrap-around (the memory bound and its eviction: test_console_history.c),
 * rate across a counter reset, quantiles against known buckets,
 * exemplars kept with the samples, hostile label values escaped in the JSON,
 * bad parameters answered 400, and the mounting in the embedded server
 * (same auth as the metrics path). Samples are taken with explicit times
 * and a fake wall clock: nothing depends on timing.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/console/console_internal.h"
#include "../../src/console/query.h"
#include "check.h"
#include "http_test_client.h"
#include "registry_fixture.h"
#include "sonde/sonde.h"

#define T0 1700000000000LL /* ms */

static uint64_t fake_wall(void *ud)
{
    (void)ud;
    return (uint64_t)T0 * 1000000ULL;
}

static console_range range_of(console_history *h, const char *name, console_fn fn, double q,
                              long range_s)
{
    console_query cq;
    memset(&cq, 0, sizeof cq);
    cq.family = name;
    cq.fn = fn;
    cq.q = q;
    cq.window_s = 60;
    console_range r;
    hfamily *f = console_history_find(h, name);
    CHECK(f != NULL);
    memset(&r, 0, sizeof r);
    if (f)
        CHECK_EQ_INT(console_query_range(h, f, &cq, range_s, &r), SONDE_OK);
    return r;
}

TEST(ring_wraps_and_keeps_the_latest)
{
    sonde_set_clock(NULL, fake_wall, NULL);
    sonde_registry *reg = new_reg();
    sonde_gauge *g = NULL;
    CHECK_EQ_INT(sonde_gauge_new(reg, "temp", "Test.", &g), SONDE_OK);
    console_history *h = NULL;
    CHECK_EQ_INT(console_history_new(reg, 1000, 5, 1 << 20, NULL, &h), SONDE_OK);
    CHECK_EQ_INT((long)h->points, 5);
    sonde_gauge_set(g, 0);
    console_history_lock(h);
    CHECK_EQ_INT(console_history_watch(h, "temp", NULL, 0, 1, NULL), SONDE_OK); /* sample at T0 */
    console_history_unlock(h);
    for (int i = 1; i <= 7; i++) {
        sonde_gauge_set(g, i);
        console_history_sample(h, T0 + 1000 * i);
    }
    console_history_lock(h);
    hfamily *f = console_history_find(h, "temp");
    CHECK_EQ_INT((long)f->filled, 5);
    console_range r = range_of(h, "temp", CONSOLE_FN_VALUE, 0, 3600);
    CHECK_EQ_INT((long)r.npoints, 5);
    CHECK_EQ_INT((long)r.nlines, 1);
    for (size_t i = 0; i < r.npoints; i++) { /* 3..7 at T0+3s..T0+7s, oldest first */
        CHECK_EQ_INT(r.t[i], T0 + 1000 * (long long)(3 + i));
        CHECK_EQ_DBL(r.v[i], 3.0 + (double)i);
    }
    console_range_free(&r);
    r = range_of(h, "temp", CONSOLE_FN_VALUE, 0, 2); /* the last 2 s: 3 points */
    CHECK_EQ_INT((long)r.npoints, 3);
    console_range_free(&r);
    console_history_unlock(h);
    console_history_free(h);
    sonde_registry_free(reg);
    sonde_set_clock(NULL, NULL, NULL);
}

TEST(rate_across_a_counter_reset)
{
    sonde_set_clock(NULL, fake_wall, NULL);
    sonde_registry *reg = new_reg();
    static const char *const lbl[] = {"route"};
    sonde_metric *m = new_family(reg, SONDE_COUNTER, "reqs", lbl, 1, NULL, 0);
    const char *v[] = {"/a"};
    sonde_counter_add(sonde_counter_with(m, v), 10);
    console_history *h = NULL;
    CHECK_EQ_INT(console_history_new(reg, 1000, 3600, 1 << 20, NULL, &h), SONDE_OK);
    console_history_lock(h);
    CHECK_EQ_INT(console_history_watch(h, "reqs", NULL, 0, 0, NULL), SONDE_OK); /* 10 at T0 */
    console_history_unlock(h);
    sonde_counter_add(sonde_counter_with(m, v), 10);
    console_history_sample(h, T0 + 1000); /* 20 */
    CHECK_EQ_INT(sonde_metric_remove(m, v), SONDE_OK); /* the series restarts: a reset */
    sonde_counter_add(sonde_counter_with(m, v), 5);
    console_history_sample(h, T0 + 2000); /* 5 */
    sonde_counter_add(sonde_counter_with(m, v), 10);
    console_history_sample(h, T0 + 3000); /* 15 */
    console_history_lock(h);
    console_range r = range_of(h, "reqs", CONSOLE_FN_RATE, 0, 3600);
    CHECK_EQ_INT((long)r.npoints, 4);
    CHECK(isnan(r.v[0]));               /* one sample: no rate */
    CHECK_EQ_DBL(r.v[1], 10.0);         /* 10 in 1 s */
    CHECK_EQ_DBL(r.v[2], 15.0 / 2.0);   /* +10, then reset to 5: 15 in 2 s */
    CHECK_EQ_DBL(r.v[3], 25.0 / 3.0);   /* 25 in 3 s */
    console_range_free(&r);
    console_history_unlock(h);
    console_query q;
    memset(&q, 0, sizeof q);
    q.family = "reqs";
    q.fn = CONSOLE_FN_RATE;
    q.window_s = 60;
    double out = 0;
    int ok = 0;
    CHECK_EQ_INT(console_query_instant(h, &q, &out, &ok), SONDE_OK);
    CHECK(ok);
    CHECK_EQ_DBL(out, 25.0 / 3.0);
    q.family = "not_recorded";
    CHECK_EQ_INT(console_query_instant(h, &q, &out, &ok), SONDE_OK);
    CHECK(!ok);
    console_history_free(h);
    sonde_registry_free(reg);
    sonde_set_clock(NULL, NULL, NULL);
}

TEST(histogram_quantile_known_buckets)
{
    const double bounds[] = {1, 2, 4};
    const double cum[] = {10, 30, 40, 40};
    CHECK_EQ_DBL(console_histogram_quantile(0.5, bounds, cum, 4), 1.5);
    CHECK_EQ_DBL(console_histogram_quantile(0.25, bounds, cum, 4), 1.0);
    CHECK(fabs(console_histogram_quantile(0.99, bounds, cum, 4) - 3.92) < 1e-12);
    const double inf[] = {10, 10, 10, 20};
    CHECK_EQ_DBL(console_histogram_quantile(0.9, bounds, inf, 4), 4.0); /* in +Inf */
    const double none[] = {0, 0, 0, 0};
    CHECK(isnan(console_histogram_quantile(0.5, bounds, none, 4)));
    CHECK(isinf(console_histogram_quantile(1.5, bounds, cum, 4)));

    /* the same through the history: 10 observations of 0.5, 20 of 1.5, 10 of 3 in 10 s */
    sonde_set_clock(NULL, fake_wall, NULL);
    sonde_registry *reg = new_reg();
    sonde_metric *m = new_family(reg, SONDE_HISTOGRAM, "lat_seconds", NULL, 0, bounds, 3);
    sonde_histogram *hg = sonde_histogram_of(m);
    console_history *h = NULL;
    CHECK_EQ_INT(console_history_new(reg, 1000, 3600, 1 << 20, NULL, &h), SONDE_OK);
    console_history_lock(h);
    CHECK_EQ_INT(console_history_watch(h, "lat_seconds", NULL, 0, 0, NULL), SONDE_OK);
    console_history_unlock(h);
    sonde_histogram_observe_n(hg, 0.5, 10);
    sonde_histogram_observe_n(hg, 1.5, 20);
    sonde_histogram_observe_n(hg, 3, 10);
    console_history_sample(h, T0 + 10000);
    console_history_lock(h);
    console_range r = range_of(h, "lat_seconds", CONSOLE_FN_QUANTILE, 0.5, 3600);
    CHECK_EQ_INT((long)r.npoints, 2);
    CHECK_EQ_DBL(r.v[1], 1.5);
    console_range_free(&r);
    r = range_of(h, "lat_seconds", CONSOLE_FN_HEATMAP, 0, 3600);
    CHECK_EQ_INT((long)r.width, 4);
    CHECK_EQ_DBL(r.v[4 + 0], 1.0); /* 10 in 10 s */
    CHECK_EQ_DBL(r.v[4 + 1], 2.0);
    CHECK_EQ_DBL(r.v[4 + 2], 1.0);
    CHECK_EQ_DBL(r.v[4 + 3], 0.0);
    console_range_free(&r);
    console_history_unlock(h);
    console_history_free(h);
    sonde_registry_free(reg);
    sonde_set_clock(NULL, NULL, NULL);
}

/* ---- through the API ------------------------------------------------- */

static sonde_console *new_console(sonde_registry *reg)
{
    sonde_console_opts o;
    sonde_console_opts_init(&o);
    o.registry = reg;
    o.interval_ms = 1000;
    sonde_console *c = NULL;
    char err[128] = "";
    CHECK_EQ_INT(sonde_console_new(&o, &c, err, sizeof err), SONDE_OK);
    return c;
}

static int get(sonde_console *c, const char *path, sonde_server_response *resp)
{
    sonde_server_request req = {.method = "GET", .path = path};
    CHECK_EQ_INT(sonde_console_handle(c, &req, resp), SONDE_OK);
    return resp->status;
}

TEST(hostile_label_values_are_escaped)
{
    sonde_registry *reg = new_reg();
    static const char *const lbl[] = {"user"};
    sonde_metric *m = new_family(reg, SONDE_COUNTER, "logins", lbl, 1, NULL, 0);
    const char *v[] = {"<img src=x onerror=alert(1)>\"\\\n\x01</script>"};
    sonde_counter_inc(sonde_counter_with(m, v));
    sonde_console *c = new_console(reg);
    sonde_server_response resp;
    CHECK_EQ_INT(get(c, "/console/api/series?family=logins", &resp), 200);
    CHECK_CONTAINS(resp.body,
                   "{\"user\":\"<img src=x onerror=alert(1)>\\\"\\\\\\n\\u0001</script>\"}");
    CHECK(!strchr(resp.body, '\x01'));
    for (size_t i = 0; i < resp.header_count; i++)
        if (strcmp(resp.headers[i].name, "Content-Type") == 0)
            CHECK_EQ_STR(resp.headers[i].value, "application/json");
    sonde_server_response_free(&resp);
    CHECK_EQ_INT(get(c, "/console/api/query?family=logins&fn=rate", &resp), 200);
    CHECK_CONTAINS(resp.body, "\"user\":\"<img src=x onerror=alert(1)>\\\"\\\\\\n\\u0001</script>\"");
    sonde_server_response_free(&resp);
    sonde_console_free(c);
    sonde_registry_free(reg);
}

TEST(bad_parameters_are_400)
{
    sonde_registry *reg = new_reg();
    sonde_counter *k = NULL;
    CHECK_EQ_INT(sonde_counter_new(reg, "jobs", "Jobs.", &k), SONDE_OK);
    sonde_console *c = new_console(reg);
    static const char *const bad[] = {
        "/console/api/query",
        "/console/api/query?family=jobs&fn=bogus",
        "/console/api/query?family=jobs&range=-1",
        "/console/api/query?family=jobs&window=abc",
        "/console/api/query?family=jobs&window=0",
        "/console/api/query?family=jobs&match=noequals",
        "/console/api/query?family=jobs&match=bad-name%3Dx",
        "/console/api/query?family=jobs&q=2&fn=quantile",
        "/console/api/query?family=jobs&by=no%20space",
        "/console/api/query?family=jobs&fn=quantile", /* a counter has no buckets */
        "/console/api/query?family=%zz",
        "/console/api/query?family=%ff",
        "/console/api/query?family=a%00b",
        "/console/api/series",
        "/console/api/query?a&b&c&d&e&f&g&h&i&j&k&l&m&n&o&p&q&r&s&t&u&v&w&x&y&z&1&2&3&4&5&6&7",
    };
    sonde_server_response resp;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int status = get(c, bad[i], &resp);
        if (status != 400)
            fprintf(stderr, "%s -> %d\n", bad[i], status);
        CHECK_EQ_INT(status, 400);
        CHECK(resp.body && strncmp(resp.body, "{\"error\":{\"message\":\"", 21) == 0);
        sonde_server_response_free(&resp);
    }
    CHECK_EQ_INT(get(c, "/console/api/series?family=nope", &resp), 404);
    sonde_server_response_free(&resp);
    CHECK_EQ_INT(get(c, "/console/api/nope", &resp), 404);
    sonde_server_response_free(&resp);
    CHECK_EQ_INT(get(c, "/console/nope.html", &resp), 404); /* not an embedded page */
    sonde_server_response_free(&resp);
    sonde_server_request post = {.method = "POST", .path = "/console/api/status"};
    CHECK_EQ_INT(sonde_console_handle(c, &post, &resp), SONDE_OK);
    CHECK_EQ_INT(resp.status, 405);
    sonde_server_response_free(&resp);
    /* good ones */
    CHECK_EQ_INT(get(c, "/console/api/query?family=jobs&fn=rate&match=a%3Db&range=60", &resp), 200);
    CHECK_CONTAINS(resp.body, "\"family\":\"jobs\"");
    sonde_server_response_free(&resp);
    CHECK_EQ_INT(get(c, "/console/api/families?q=job", &resp), 200);
    CHECK_CONTAINS(resp.body, "{\"name\":\"jobs\",\"type\":\"counter\"");
    CHECK_CONTAINS(resp.body, "\"recorded\":true");
    sonde_server_response_free(&resp);
    sonde_console_free(c);
    sonde_registry_free(reg);
}

TEST(status_overview_and_exemplars)
{
    sonde_set_clock(NULL, fake_wall, NULL);
    sonde_registry *reg = new_reg();
    static const char *const lbl[] = {"provider", "model", "status"};
    sonde_metric *calls = new_family(reg, SONDE_COUNTER, "gw_provider_calls", lbl, 3, NULL, 0);
    const char *ok[] = {"openai", "gpt", "ok"}, *err[] = {"openai", "gpt", "error"};
    sonde_counter_add(sonde_counter_with(calls, ok), 30);
    sonde_counter_add(sonde_counter_with(calls, err), 10);
    sonde_console *c = new_console(reg); /* watches the overview's families: a sample at T0 */
    console_history *h = c->history;
    console_history_sample(h, T0); /* a second sample at the same time is not taken */
    sonde_span_context ctx = {.flags = SONDE_TRACE_FLAG_SAMPLED};
    memset(ctx.trace_id, 0xab, 16);
    memset(ctx.span_id, 0xcd, 8);
    sonde_counter_add_exemplar(sonde_counter_with(calls, ok), 60, &ctx);
    sonde_counter_add(sonde_counter_with(calls, err), 20);
    console_history_sample(h, T0 + 10000);
    sonde_server_response resp;
    CHECK_EQ_INT(get(c, "/console/api/overview", &resp), 200);
    CHECK_CONTAINS(resp.body, "\"requests_per_second\":8,");    /* 80 in 10 s */
    CHECK_CONTAINS(resp.body, "\"error_ratio\":0.25,");         /* 20 of 80 */
    CHECK_CONTAINS(resp.body, "\"families\":[\"gw_provider_calls\"]");
    sonde_server_response_free(&resp);
    CHECK_EQ_INT(get(c, "/console/api/query?family=gw_provider_calls&fn=rate&by=status", &resp), 200);
    CHECK_CONTAINS(resp.body, "{\"labels\":{\"status\":\"ok\"},\"points\":[[1700000000000,null],[1700000010000,6]]}");
    CHECK_CONTAINS(resp.body, "\"trace_id\":\"abababababababababababababababab\",\"span_id\":\"cdcdcdcdcdcdcdcd\"");
    sonde_server_response_free(&resp);
    CHECK_EQ_INT(get(c, "/console/api/status", &resp), 200);
    CHECK_CONTAINS(resp.body, "\"history\":{\"series\":2,");
    CHECK_CONTAINS(resp.body, "\"evicted_total\":0,\"max_bytes\":33554432,\"interval_s\":1,\"retention_s\":3600}");
    CHECK_CONTAINS(resp.body, "\"tracing\":false,\"logging\":false");
    sonde_server_response_free(&resp);
    sonde_console_free(c);
    sonde_registry_free(reg);
    sonde_set_clock(NULL, NULL, NULL);
}

TEST(mounted_in_the_server_with_the_metrics_auth)
{
    sonde_registry *reg = new_reg();
    sonde_console *c = new_console(reg);
    sonde_server_opts so;
    sonde_server_opts_init(&so);
    so.registry = reg;
    so.bearer_token = "s3cret";
    so.console = c;
    sonde_server *s = NULL;
    CHECK_EQ_INT(sonde_server_new(&so, NULL, 0, &s), SONDE_OK);
    sonde_server_response resp;
    sonde_server_request req = {.method = "GET", .path = "/console/api/status"};
    CHECK_EQ_INT(sonde_server_handle(s, &req, &resp), SONDE_OK);
    CHECK_EQ_INT(resp.status, 401);
    sonde_server_response_free(&resp);
    req.authorization = "Bearer s3cret";
    CHECK_EQ_INT(sonde_server_handle(s, &req, &resp), SONDE_OK);
    CHECK_EQ_INT(resp.status, 200);
    CHECK_CONTAINS(resp.body, "\"history\":");
    sonde_server_response_free(&resp);
    req.path = "/consolex";
    CHECK_EQ_INT(sonde_server_handle(s, &req, &resp), SONDE_OK);
    CHECK_EQ_INT(resp.status, 404);
    sonde_server_response_free(&resp);
    sonde_server_free(s);
    sonde_console_free(c);
    sonde_registry_free(reg);
}

TEST(served_over_http_with_its_query_string)
{
    sonde_registry *reg = new_reg();
    static const char *const lbl[] = {"k"};
    sonde_metric *m = new_family(reg, SONDE_COUNTER, "jobs", lbl, 1, NULL, 0);
    const char *v[] = {"<v> &x"};
    sonde_counter_inc(sonde_counter_with(m, v));
    sonde_console *c = new_console(reg);
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.listen_addr = "127.0.0.1";
    cfg.port = 0;
    sonde_server_opts so;
    sonde_server_opts_init(&so);
    so.registry = reg;
    so.config = &cfg;
    so.console = c;
    sonde_server *s = NULL;
    CHECK_EQ_INT(sonde_server_new(&so, NULL, 0, &s), SONDE_OK);
    CHECK_EQ_INT(sonde_server_start(s), SONDE_OK);
    http_answer a;
    CHECK_EQ_INT(tc_request(sonde_server_port(s), "GET",
                            "/console/api/query?family=jobs&fn=value&match=k%3D%3Cv%3E+%26x&by=k",
                            NULL, &a), 0);
    CHECK_EQ_INT(a.status, 200);
    CHECK_CONTAINS(a.body, "{\"labels\":{\"k\":\"<v> &x\"},\"points\":[[");
    tc_free(&a);
    CHECK_EQ_INT(tc_request(sonde_server_port(s), "GET", "/console/api/query?fn=rate", NULL, &a), 0);
    CHECK_EQ_INT(a.status, 400);
    tc_free(&a);
    sonde_server_free(s);
    sonde_console_free(c);
    sonde_registry_free(reg);
}

TEST(options_validated_and_sampler_runs)
{
    sonde_registry *reg = new_reg();
    sonde_console_opts o;
    sonde_console_opts_init(&o);
    CHECK_EQ_INT(o.interval_ms, 5000);
    CHECK_EQ_INT(o.retention_s, 3600);
    CHECK_EQ_INT((long)o.max_bytes, 32L << 20);
    o.registry = reg;
    sonde_console *c = NULL;
    char err[128] = "";
    o.interval_ms = 10;
    CHECK_EQ_INT(sonde_console_new(&o, &c, err, sizeof err), SONDE_ECONFIG);
    CHECK(c == NULL && strstr(err, "interval_ms"));
    o.interval_ms = 100;
    o.max_bytes = 1000;
    CHECK_EQ_INT(sonde_console_new(&o, &c, err, sizeof err), SONDE_ECONFIG);
    o.max_bytes = 1 << 20; /* 36,000 samples per series do not fit 32 series */
    CHECK_EQ_INT(sonde_console_new(&o, &c, err, sizeof err), SONDE_ECONFIG);
    CHECK(strstr(err, "at least 32 series") != NULL);
    o.retention_s = 60;
    static const char *const fams[] = {"host_jobs"};
    o.families = fams;
    o.family_count = 1;
    sonde_gauge *g = NULL;
    CHECK_EQ_INT(sonde_gauge_new(reg, "host_jobs", "Test.", &g), SONDE_OK);
    CHECK_EQ_INT(sonde_console_new(&o, &c, err, sizeof err), SONDE_OK);
    CHECK(console_history_find(c->history, "host_jobs") != NULL);
    CHECK_EQ_INT(sonde_console_start(c), SONDE_OK);
    CHECK_EQ_INT(sonde_console_start(c), SONDE_EBUSY);
    sonde_console_free(c); /* stops the sampler at once */
    sonde_registry_free(reg);
}

int main(void)
{
    RUN(ring_wraps_and_keeps_the_latest);
    RUN(rate_across_a_counter_reset);
    RUN(histogram_quantile_known_buckets);
    RUN(hostile_label_values_are_escaped);
    RUN(bad_parameters_are_400);
    RUN(status_overview_and_exemplars);
    RUN(mounted_in_the_server_with_the_metrics_auth);
    RUN(served_over_http_with_its_query_string);
    RUN(options_validated_and_sampler_runs);
    return check_report();
}
