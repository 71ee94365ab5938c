/*
 * test_http_routes.c - route normalisation tables (heuristics, templates,
 * methods, the route cap) and what begin/end record: every family of the
 * contract, with and without a prefix, streaming and in-flight gauges,
 * unknown sizes, repeated ends and NULL handles.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sonde/sonde.h"

static sonde_http *make(sonde_registry *reg, const char *prefix, size_t route_limit)
{
    sonde_http_opts o;
    memset(&o, 0, sizeof o);
    o.registry = reg;
    o.prefix = prefix;
    o.route_limit = route_limit;
    sonde_http *h = NULL;
    CHECK_EQ_INT(sonde_http_new(&o, &h), SONDE_OK);
    return h;
}

TEST(normalisation_table)
{
    static const struct {
        const char *path, *route;
    } cases[] = {
        {"/", "/"},
        {"/hello", "/hello"},
        {"/hello?name=x&y=2", "/hello"},
        {"/hello#frag", "/hello"},
        {"/v1/chat/completions", "/v1/chat/completions"},
        {"/users/42", "/users/:id"},
        {"/users/42/orders/7", "/users/:id/orders/:id"},
        {"/users/0", "/users/:id"},
        {"/users/123e4567-e89b-12d3-a456-426614174000", "/users/:id"},
        {"/users/123E4567-E89B-12D3-A456-426614174000/x", "/users/:id/x"},
        {"/blobs/deadbeefdeadbeefdeadbeef", "/blobs/:id"},       /* 24 hex */
        {"/commits/9fceb02d0ae598e95dc970b74767f19372d61af8", "/commits/:id"},
        {"/short/abc12345", "/short/:id"},                        /* 8 hex with a digit */
        {"/words/facade", "/words/facade"},                       /* hex letters only, short */
        {"/words/deadbeef", "/words/deadbeef"},                   /* 8 hex, no digit */
        {"/v1/responses/resp_67ccd2bed1ec8190b14f964abc054267", "/v1/responses/:id"},
        {"/files/file-AbC123xYz456QwE789", "/files/:id"},         /* base64url-like */
        {"/tok/dGhpcyBpcyBhIHRlc3Q9PQ==", "/tok/:id"},            /* base64 */
        {"/a/very-long-resource-name-here", "/a/very-long-resource-name-here"}, /* no digit */
        {"/api/v2/items", "/api/v2/items"},                       /* short mixed stays */
        {"/caf\xc3\xa9/menu", "/:id/menu"},                       /* non-ASCII segment */
        {"/x/\x01\x02", "/x/:id"},
        {"/trailing/", "/trailing/"},
        {"//double", "//double"},
        {"", "OTHER"},
        {"*", "OTHER"},
        {"http://example.com/x", "OTHER"},
    };
    sonde_registry *reg;
    sonde_registry_new(NULL, &reg);
    sonde_http *h = make(reg, NULL, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[256];
        size_t n = sonde_http_route(h, cases[i].path, buf, sizeof buf);
        CHECK_EQ_STR(buf, cases[i].route);
        CHECK_EQ_INT(n, strlen(cases[i].route));
    }
    /* a route too long for a label becomes OTHER; a buffer too small is refused */
    char longpath[601], buf[256];
    for (int i = 0; i < 150; i++)
        memcpy(longpath + 4 * i, "/seg", 4);
    longpath[600] = '\0';
    sonde_http_route(h, longpath, buf, sizeof buf);
    CHECK_EQ_STR(buf, "OTHER");
    CHECK_EQ_INT(sonde_http_route(h, "/hello", buf, 4), 0);
    CHECK_EQ_INT(sonde_http_route(NULL, "/hello", buf, sizeof buf), 0);
    sonde_http_free(h);
    sonde_registry_free(reg);
}

TEST(templates_win)
{
    sonde_registry *reg;
    sonde_registry_new(NULL, &reg);
    sonde_http *h = make(reg, NULL, 0);
    CHECK_EQ_INT(sonde_http_route_add(h, "/v1/items/{id}"), SONDE_OK);
    CHECK_EQ_INT(sonde_http_route_add(h, "/v1/models/{model}/versions/{v}"), SONDE_OK);
    CHECK_EQ_INT(sonde_http_route_add(h, "/users/{name}"), SONDE_OK);
    CHECK_EQ_INT(sonde_http_route_add(h, "/users/me"), SONDE_OK); /* shadowed: first wins */
    CHECK_EQ_INT(sonde_http_route_add(h, "relative/{x}"), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_http_route_add(h, "/with space"), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_http_route_add(h, "/q?x"), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_http_route_add(h, "/a/{#}/c"), SONDE_EINVAL); /* found by fuzz_route */
    CHECK_EQ_INT(sonde_http_route_add(NULL, "/x"), SONDE_OK);
    static const struct {
        const char *path, *route;
    } cases[] = {
        {"/v1/items/42", "/v1/items/{id}"},
        {"/v1/items/shoes", "/v1/items/{id}"},      /* template beats the heuristics */
        {"/v1/items/42?full=1", "/v1/items/{id}"},
        {"/v1/items/", "/v1/items/"},                /* empty segment does not match {id} */
        {"/v1/items/42/parts", "/v1/items/:id/parts"}, /* more segments: heuristics */
        {"/v1/models/gpt-4o/versions/3", "/v1/models/{model}/versions/{v}"},
        {"/users/alice", "/users/{name}"},
        {"/users/me", "/users/{name}"},
        {"/v1/other/42", "/v1/other/:id"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[256];
        sonde_http_route(h, cases[i].path, buf, sizeof buf);
        CHECK_EQ_STR(buf, cases[i].route);
    }
    int rc = SONDE_OK;
    for (int i = 0; rc == SONDE_OK && i < 100; i++) {
        char t[32];
        snprintf(t, sizeof t, "/t%d/{x}", i);
        rc = sonde_http_route_add(h, t);
    }
    CHECK_EQ_INT(rc, SONDE_ELIMIT);
    sonde_http_free(h);
    sonde_registry_free(reg);
}

static double counter(sonde_registry *reg, const char *name, const char *m, const char *r,
                      const char *s)
{
    sonde_metric *f = sonde_registry_find(reg, name);
    if (!f)
        return -1;
    const char *v[] = {m, r, s};
    return sonde_counter_value(sonde_counter_with(f, v));
}

static uint64_t hist_count(sonde_registry *reg, const char *name, const char *m, const char *r,
                           double *sum)
{
    sonde_metric *f = sonde_registry_find(reg, name);
    if (!f)
        return (uint64_t)-1;
    const char *v[] = {m, r};
    uint64_t count = 0;
    sonde_histogram_read(sonde_histogram_with(f, v), &count, sum, NULL);
    return count;
}

TEST(methods_and_records)
{
    sonde_registry *reg;
    sonde_registry_new(NULL, &reg);
    sonde_http *h = make(reg, NULL, 0);
    static const struct {
        const char *method, *label;
    } methods[] = {
        {"GET", "GET"},         {"HEAD", "HEAD"},     {"POST", "POST"},   {"PUT", "PUT"},
        {"DELETE", "DELETE"},   {"PATCH", "PATCH"},   {"OPTIONS", "OPTIONS"},
        {"CONNECT", "CONNECT"}, {"TRACE", "TRACE"},   {"get", "OTHER"},   {"BREW", "OTHER"},
        {"PROPFIND", "OTHER"},  {"", "OTHER"},        {NULL, "OTHER"},
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        sonde_http_token t = sonde_http_begin(h, methods[i].method, "/things/9", 10);
        sonde_http_end(h, &t, 204, 0);
    }
    CHECK_EQ_DBL(counter(reg, "http_requests_total", "GET", "/things/:id", "204"), 1);
    CHECK_EQ_DBL(counter(reg, "http_requests_total", "TRACE", "/things/:id", "204"), 1);
    CHECK_EQ_DBL(counter(reg, "http_requests_total", "OTHER", "/things/:id", "204"), 5);

    /* statuses: many distinct ones (beyond the cached slots) all count */
    for (int s = 200; s < 220; s++)
        for (int k = 0; k < 3; k++) {
            sonde_http_token t = sonde_http_begin(h, "GET", "/s", 0);
            sonde_http_end(h, &t, s, 5);
        }
    for (int s = 200; s < 220; s++) {
        char code[8];
        snprintf(code, sizeof code, "%d", s);
        CHECK_EQ_DBL(counter(reg, "http_requests_total", "GET", "/s", code), 3);
    }
    sonde_http_token t = sonde_http_begin(h, "GET", "/s", 0);
    sonde_http_end(h, &t, -5, 0); /* out of range: status 0 */
    CHECK_EQ_DBL(counter(reg, "http_requests_total", "GET", "/s", "0"), 1);

    /* sizes and durations */
    double sum = 0;
    t = sonde_http_begin(h, "POST", "/upload", 1500);
    sonde_http_end(h, &t, 201, 20);
    t = sonde_http_begin(h, "POST", "/upload", SONDE_HTTP_SIZE_UNKNOWN);
    sonde_http_end(h, &t, 201, SONDE_HTTP_SIZE_UNKNOWN);
    CHECK_EQ_INT(hist_count(reg, "http_request_size_bytes", "POST", "/upload", &sum), 1);
    CHECK_EQ_DBL(sum, 1500);
    CHECK_EQ_INT(hist_count(reg, "http_response_size_bytes", "POST", "/upload", &sum), 1);
    CHECK_EQ_DBL(sum, 20);
    CHECK_EQ_INT(hist_count(reg, "http_request_duration_seconds", "POST", "/upload", &sum), 2);
    CHECK(sum >= 0);
    CHECK_EQ_DBL(counter(reg, "http_requests_total", "POST", "/upload", "201"), 2);

    /* a second end is a no-op */
    sonde_http_end(h, &t, 500, 0);
    CHECK_EQ_DBL(counter(reg, "http_requests_total", "POST", "/upload", "500"), 0);

    /* the middleware owns its families: its cached children cannot be cleared away */
    sonde_metric *requests = sonde_registry_find(reg, "http_requests_total");
    CHECK_EQ_INT(sonde_metric_clear(requests), SONDE_EBUSY);
    CHECK_EQ_INT(sonde_metric_clear(sonde_registry_find(reg, "http_request_duration_seconds")),
                 SONDE_EBUSY);
    CHECK_EQ_INT(sonde_unregister(requests), SONDE_EBUSY);
    CHECK_EQ_INT(sonde_metric_remove(requests, (const char *[]){"POST", "/upload", "201"}),
                 SONDE_EBUSY);
    t = sonde_http_begin(h, "POST", "/upload", 1);
    sonde_http_end(h, &t, 201, 1);
    CHECK_EQ_DBL(counter(reg, "http_requests_total", "POST", "/upload", "201"), 3);
    sonde_http_free(h);
    sonde_registry_free(reg);
}

TEST(in_flight_and_streaming)
{
    sonde_registry *reg;
    sonde_registry_new(NULL, &reg);
    sonde_http *h = make(reg, NULL, 0);
    sonde_gauge *inflight = sonde_gauge_of(sonde_registry_find(reg, "http_requests_in_flight"));
    sonde_gauge *streaming = sonde_gauge_of(sonde_registry_find(reg, "http_responses_streaming"));
    sonde_http_token a = sonde_http_begin(h, "GET", "/a", 0);
    sonde_http_token b = sonde_http_begin(h, "GET", "/events", 0);
    CHECK_EQ_DBL(sonde_gauge_value(inflight), 2);
    sonde_http_stream_begin(h, &b);
    sonde_http_stream_begin(h, &b); /* once per token */
    CHECK_EQ_DBL(sonde_gauge_value(streaming), 1);
    sonde_http_end(h, &a, 200, 1);
    CHECK_EQ_DBL(sonde_gauge_value(inflight), 1);
    sonde_http_end(h, &b, 200, 4096); /* ends the stream too */
    CHECK_EQ_DBL(sonde_gauge_value(streaming), 0);
    CHECK_EQ_DBL(sonde_gauge_value(inflight), 0);
    sonde_http_token c = sonde_http_begin(h, "GET", "/events", 0);
    sonde_http_stream_begin(h, &c);
    sonde_http_stream_end(h, &c);
    sonde_http_stream_end(h, &c);
    CHECK_EQ_DBL(sonde_gauge_value(streaming), 0);
    sonde_http_end(h, &c, 200, 0);
    sonde_http_stream_begin(h, &c); /* after end: nothing */
    CHECK_EQ_DBL(sonde_gauge_value(streaming), 0);
    sonde_http_free(h);
    sonde_registry_free(reg);
}

TEST(route_cap)
{
    sonde_registry *reg;
    sonde_registry_new(NULL, &reg);
    sonde_http *h = make(reg, NULL, 3);
    static const char *const paths[] = {"/a", "/b", "/c", "/d", "/e", "/a"};
    for (size_t i = 0; i < 6; i++) {
        sonde_http_token t = sonde_http_begin(h, "GET", paths[i], 0);
        sonde_http_end(h, &t, 200, 0);
    }
    CHECK_EQ_DBL(counter(reg, "http_requests_total", "GET", "/a", "200"), 2);
    CHECK_EQ_DBL(counter(reg, "http_requests_total", "GET", "/c", "200"), 1);
    CHECK_EQ_DBL(counter(reg, "http_requests_total", "GET", "OTHER", "200"), 2);
    CHECK_EQ_DBL(counter(reg, "http_requests_total", "GET", "/d", "200"), 0);
    sonde_http_free(h);
    sonde_registry_free(reg);
}

TEST(prefix_and_shared_families)
{
    sonde_registry *reg;
    sonde_registry_new(NULL, &reg);
    sonde_http *h = make(reg, "gateway", 0);
    static const char *const names[] = {
        "gateway_http_requests_total",      "gateway_http_request_duration_seconds",
        "gateway_http_request_size_bytes",  "gateway_http_response_size_bytes",
        "gateway_http_requests_in_flight",  "gateway_http_responses_streaming",
    };
    for (size_t i = 0; i < 6; i++)
        CHECK(sonde_registry_find(reg, names[i]) != NULL);
    CHECK(sonde_registry_find(reg, "http_requests_total") == NULL);
    /* a second middleware with the same prefix shares the families */
    sonde_http *h2 = make(reg, "gateway", 0);
    sonde_http_token t = sonde_http_begin(h, "GET", "/x", 0);
    sonde_http_end(h, &t, 200, 0);
    t = sonde_http_begin(h2, "GET", "/x", 0);
    sonde_http_end(h2, &t, 200, 0);
    CHECK_EQ_DBL(counter(reg, "gateway_http_requests_total", "GET", "/x", "200"), 2);
    sonde_http_free(h2);
    sonde_http_free(h);
    /* a clash with another shape, a bad prefix */
    sonde_counter *clash;
    CHECK_EQ_INT(sonde_counter_new(reg, "clash_http_requests_in_flight", "not a gauge", &clash),
                 SONDE_OK);
    sonde_http_opts o;
    memset(&o, 0, sizeof o);
    o.registry = reg;
    o.prefix = "clash";
    CHECK_EQ_INT(sonde_http_new(&o, &h), SONDE_ETYPE);
    CHECK(h == NULL);
    o.prefix = "bad-prefix";
    CHECK_EQ_INT(sonde_http_new(&o, &h), SONDE_ENAME);
    CHECK_EQ_INT(sonde_http_new(NULL, NULL), SONDE_EINVAL);
    /* the rendered exposition carries the contract's names */
    char *text = sonde_expose_alloc(reg, SONDE_FORMAT_TEXT, NULL);
    CHECK_CONTAINS(text, "gateway_http_requests_total{method=\"GET\",route=\"/x\",status=\"200\"} 2");
    CHECK_CONTAINS(text, "# TYPE gateway_http_request_duration_seconds histogram");
    free(text);
    sonde_registry_free(reg);
}

TEST(null_is_noop)
{
    sonde_http_token t = sonde_http_begin(NULL, "GET", "/", 0);
    sonde_http_stream_begin(NULL, &t);
    sonde_http_stream_end(NULL, &t);
    sonde_http_end(NULL, &t, 200, 0);
    sonde_http_end(NULL, NULL, 200, 0);
    sonde_http_free(NULL);
    CHECK_EQ_INT(t.active_, 0);
}

TEST(custom_buckets)
{
    sonde_registry *reg;
    sonde_registry_new(NULL, &reg);
    static const double lat[] = {0.1, 1};
    static const double sz[] = {10, 100};
    sonde_http_opts o;
    memset(&o, 0, sizeof o);
    o.registry = reg;
    o.duration_buckets = (sonde_buckets){lat, 2};
    o.size_buckets = (sonde_buckets){sz, 2};
    sonde_http *h;
    CHECK_EQ_INT(sonde_http_new(&o, &h), SONDE_OK);
    sonde_http_token t = sonde_http_begin(h, "GET", "/b", 50);
    sonde_http_end(h, &t, 200, 5);
    char *text = sonde_expose_alloc(reg, SONDE_FORMAT_TEXT, NULL);
    CHECK_CONTAINS(text, "http_request_duration_seconds_bucket{method=\"GET\",route=\"/b\",le=\"0.1\"} 1");
    CHECK_CONTAINS(text, "http_request_size_bytes_bucket{method=\"GET\",route=\"/b\",le=\"10\"} 0");
    CHECK_CONTAINS(text, "http_request_size_bytes_bucket{method=\"GET\",route=\"/b\",le=\"100\"} 1");
    CHECK_CONTAINS(text, "http_response_size_bytes_bucket{method=\"GET\",route=\"/b\",le=\"10\"} 1");
    free(text);
    sonde_http_free(h);
    sonde_registry_free(reg);
}

int main(void)
{
    RUN(normalisation_table);
    RUN(templates_win);
    RUN(methods_and_records);
    RUN(in_flight_and_streaming);
    RUN(route_cap);
    RUN(prefix_and_shared_families);
    RUN(null_is_noop);
    RUN(custom_buckets);
    return check_report();
}
