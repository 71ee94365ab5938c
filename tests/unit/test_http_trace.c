/*
 * test_http_trace.c - the HTTP middleware's SERVER spans through a real
 * tracer into an in-memory exporter: a valid incoming traceparent and
 * tracestate continued (trace id, parent, tracestate on the outgoing
 * headers), an invalid or absent one starting a new trace while the request
 * is still measured, names and attributes after the route and the method
 * (templates, unknown methods, the OTHER route), status rules (5xx error,
 * 4xx not, no status), an unsampled parent, and no spans without a tracer.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "registry_fixture.h"
#include "sonde/sonde.h"
#include "span_sink.h"

#define TRACE_HEX "0af7651916cd43dd8448eb211c80319c"
#define PARENT_HEX "b7ad6b7169203331"
#define TP_SAMPLED "00-" TRACE_HEX "-" PARENT_HEX "-01"

static sonde_http *new_http(sonde_registry *reg, sonde_tracer *t)
{
    sonde_http_opts o = {.registry = reg, .tracer = t};
    sonde_http *h = NULL;
    CHECK_EQ_INT(sonde_http_new(&o, &h), SONDE_OK);
    CHECK_EQ_INT(sonde_http_route_add(h, "/v1/items/{id}"), SONDE_OK);
    return h;
}

static double requests(sonde_registry *reg, const char *method, const char *route,
                       const char *status)
{
    sonde_metric *m = sonde_registry_find(reg, "http_requests_total");
    return sonde_counter_value(sonde_counter_with(m, (const char *[]){method, route, status}));
}

static void hex(const uint8_t *b, size_t n, char *out)
{
    if (n == 16)
        sonde_trace_id_hex(b, out);
    else
        sonde_span_id_hex(b, out);
}

TEST(continues_the_incoming_trace)
{
    span_sink k;
    sonde_tracer *t = span_sink_tracer(&k, SONDE_SAMPLER_PARENTBASED_ALWAYS_OFF);
    sonde_registry *reg = new_reg();
    sonde_http *h = new_http(reg, t);

    sonde_http_token tok =
        sonde_http_begin_traced(h, "GET", "/v1/items/42?x=1", 0, TP_SAMPLED, "congo=t61rcWkgMzE");
    sonde_span *span = sonde_http_span(&tok);
    CHECK(span != NULL);
    CHECK(sonde_span_is_recording(span)); /* the sampled parent decides (parentbased_always_off) */
    sonde_span_context ctx;
    CHECK_EQ_INT(sonde_span_get_context(span, &ctx), SONDE_OK);
    char id[33];
    hex(ctx.trace_id, 16, id);
    CHECK_EQ_STR(id, TRACE_HEX);

    /* the outgoing headers of a request made on its behalf */
    sonde_trace_headers th;
    CHECK_EQ_INT(sonde_trace_headers_fill(&ctx, &th), SONDE_OK);
    char own[17], want[128];
    hex(ctx.span_id, 8, own);
    snprintf(want, sizeof want, "traceparent: 00-%s-%s-01", TRACE_HEX, own);
    CHECK_EQ_STR(th.traceparent, want);
    CHECK_EQ_STR(th.tracestate, "tracestate: congo=t61rcWkgMzE");

    sonde_http_end(h, &tok, 200, 5);
    CHECK(sonde_http_span(&tok) == NULL); /* ended */
    sonde_http_end(h, &tok, 200, 5);      /* a second end: nothing more */
    CHECK_EQ_INT(sonde_tracer_flush(t, 5000), SONDE_OK);
    CHECK_EQ_INT(span_sink_count(&k), 1);
    const sunk_span *s = span_sink_find(&k, "GET /v1/items/{id}");
    CHECK(s != NULL);
    if (s) {
        CHECK_EQ_INT(s->kind, SONDE_SPAN_SERVER);
        CHECK_EQ_INT(s->status, SONDE_STATUS_UNSET);
        hex(s->trace_id, 16, id);
        CHECK_EQ_STR(id, TRACE_HEX);
        CHECK(s->has_parent);
        hex(s->parent, 8, id);
        CHECK_EQ_STR(id, PARENT_HEX);
        hex(s->span_id, 8, id);
        CHECK_EQ_STR(id, own);
        CHECK_EQ_STR(sunk_str(s, "http.request.method"), "GET");
        CHECK_EQ_STR(sunk_str(s, "http.route"), "/v1/items/{id}");
        CHECK_EQ_INT(sunk_int(s, "http.response.status_code"), 200);
        CHECK(sunk_get(s, "error.type") == NULL);
    }
    CHECK_EQ_DBL(requests(reg, "GET", "/v1/items/{id}", "200"), 1);
    /* the request's metrics carry its span's ids as exemplars */
    snprintf(want, sizeof want, "# {trace_id=\"%s\",span_id=\"%s\"}", TRACE_HEX, own);
    char *text = sonde_expose_alloc(reg, SONDE_FORMAT_OPENMETRICS, NULL);
    char *dur = text ? strstr(text, "http_request_duration_seconds_bucket{") : NULL;
    CHECK(dur && strstr(dur, want) &&
          strstr(dur, want) < strstr(dur, "http_request_duration_seconds_count"));
    char *total = text ? strstr(text, "http_requests_total{") : NULL;
    CHECK(total && strstr(total, want));
    free(text);
    sonde_http_free(h);
    sonde_registry_free(reg);
    span_sink_free(&k, t);
}

TEST(invalid_or_absent_traceparent_starts_a_new_trace)
{
    static const char *const bad[] = {
        "00-" TRACE_HEX "-" PARENT_HEX "-1",            /* short flags */
        "00-00000000000000000000000000000000-" PARENT_HEX "-01", /* zero trace id */
        "ff-" TRACE_HEX "-" PARENT_HEX "-01",           /* version ff */
        "00-0AF7651916CD43DD8448EB211C80319C-" PARENT_HEX "-01", /* uppercase */
        "garbage",
        "",
        NULL,
    };
    size_t n = sizeof bad / sizeof bad[0];
    span_sink k;
    sonde_tracer *t = span_sink_tracer(&k, SONDE_SAMPLER_ALWAYS_ON);
    sonde_registry *reg = new_reg();
    sonde_http *h = new_http(reg, t);
    for (size_t i = 0; i < n; i++) {
        sonde_http_token tok = sonde_http_begin_traced(h, "POST", "/chat", 10, bad[i], "a=b");
        CHECK(sonde_http_span(&tok) != NULL);
        sonde_http_end(h, &tok, 200, 20);
    }
    sonde_http_token plain = sonde_http_begin(h, "POST", "/chat", 10); /* no headers at all */
    sonde_http_end(h, &plain, 200, 20);
    CHECK_EQ_DBL(requests(reg, "POST", "/chat", "200"), (double)n + 1); /* all measured */
    CHECK_EQ_INT(sonde_tracer_flush(t, 5000), SONDE_OK);
    CHECK_EQ_INT(span_sink_count(&k), n + 1);
    for (size_t i = 0; i < span_sink_count(&k); i++) {
        const sunk_span *s = &k.spans[i];
        char id[33];
        hex(s->trace_id, 16, id);
        CHECK(strcmp(id, TRACE_HEX) != 0);
        CHECK(strcmp(id, "00000000000000000000000000000000") != 0);
        CHECK(!s->has_parent);
        CHECK_EQ_STR(s->name, "POST /chat");
        for (size_t j = 0; j < i; j++) /* each its own trace */
            CHECK(memcmp(s->trace_id, k.spans[j].trace_id, 16) != 0);
    }
    sonde_http_free(h);
    sonde_registry_free(reg);
    span_sink_free(&k, t);
}

TEST(status_method_and_route_rules)
{
    span_sink k;
    sonde_tracer *t = span_sink_tracer(&k, SONDE_SAMPLER_ALWAYS_ON);
    sonde_registry *reg = new_reg();
    sonde_http *h = new_http(reg, t);
    sonde_http_token tok = sonde_http_begin(h, "GET", "/fail", 0);
    sonde_http_end(h, &tok, 503, 0);
    tok = sonde_http_begin(h, "DELETE", "/missing", 0);
    sonde_http_end(h, &tok, 404, 0);
    tok = sonde_http_begin(h, "BREW", "/pot", 0);
    sonde_http_end(h, &tok, 418, 0);
    tok = sonde_http_begin(h, "GET", "no-slash", 0); /* the OTHER route */
    sonde_http_end(h, &tok, 400, 0);
    tok = sonde_http_begin(h, "PUT", "/gone", 0);
    sonde_http_end(h, &tok, 0, SONDE_HTTP_SIZE_UNKNOWN); /* no response */
    CHECK_EQ_INT(sonde_tracer_flush(t, 5000), SONDE_OK);
    CHECK_EQ_INT(span_sink_count(&k), 5);

    const sunk_span *s = span_sink_find(&k, "GET /fail");
    CHECK(s && s->status == SONDE_STATUS_ERROR);
    CHECK_EQ_STR(sunk_str(s, "error.type"), "503");
    CHECK_EQ_INT(sunk_int(s, "http.response.status_code"), 503);

    s = span_sink_find(&k, "DELETE /missing");
    CHECK(s && s->status == SONDE_STATUS_UNSET); /* 4xx is the client's error */
    CHECK(sunk_get(s, "error.type") == NULL);

    s = span_sink_find(&k, "HTTP /pot");
    CHECK(s != NULL);
    CHECK_EQ_STR(sunk_str(s, "http.request.method"), "_OTHER");
    CHECK_EQ_STR(sunk_str(s, "http.request.method_original"), "BREW");

    s = span_sink_find(&k, "GET");
    CHECK(s != NULL);
    CHECK(sunk_get(s, "http.route") == NULL);
    CHECK_EQ_INT(sunk_int(s, "http.response.status_code"), 400);

    s = span_sink_find(&k, "PUT /gone");
    CHECK(s && s->status == SONDE_STATUS_ERROR);
    CHECK(sunk_get(s, "http.response.status_code") == NULL);
    CHECK_EQ_STR(sunk_str(s, "error.type"), "_OTHER");
    sonde_http_free(h);
    sonde_registry_free(reg);
    span_sink_free(&k, t);
}

TEST(a_long_unknown_method_is_cut)
{
    span_sink k;
    sonde_tracer *t = span_sink_tracer(&k, SONDE_SAMPLER_ALWAYS_ON);
    sonde_registry *reg = new_reg();
    sonde_http *h = new_http(reg, t);
    char method[200];
    memset(method, 'X', sizeof method - 1);
    method[sizeof method - 1] = '\0';
    sonde_http_token tok = sonde_http_begin(h, method, "/m", 0);
    sonde_http_end(h, &tok, 405, 0);
    CHECK_EQ_INT(sonde_tracer_flush(t, 5000), SONDE_OK);
    const sunk_span *s = span_sink_find(&k, "HTTP /m");
    const sunk_attr *a = sunk_get(s, "http.request.method_original");
    CHECK(a != NULL);
    CHECK_EQ_INT(a ? a->len : 0, 64);
    sonde_http_free(h);
    sonde_registry_free(reg);
    span_sink_free(&k, t);
}

TEST(an_unsampled_parent_propagates_without_recording)
{
    span_sink k;
    sonde_tracer *t = span_sink_tracer(&k, SONDE_SAMPLER_PARENTBASED_ALWAYS_ON);
    sonde_registry *reg = new_reg();
    sonde_http *h = new_http(reg, t);
    sonde_http_token tok =
        sonde_http_begin_traced(h, "GET", "/x", 0, "00-" TRACE_HEX "-" PARENT_HEX "-00", NULL);
    sonde_span *span = sonde_http_span(&tok);
    CHECK(span != NULL);
    CHECK(!sonde_span_is_recording(span));
    sonde_span_context ctx;
    sonde_span_get_context(span, &ctx);
    sonde_trace_headers th;
    CHECK_EQ_INT(sonde_trace_headers_fill(&ctx, &th), SONDE_OK);
    CHECK(strstr(th.traceparent, TRACE_HEX) != NULL);
    CHECK_EQ_INT(th.traceparent[strlen(th.traceparent) - 1], '0'); /* flags 00 */
    CHECK_EQ_STR(th.tracestate, "");
    sonde_http_end(h, &tok, 200, 0);
    CHECK_EQ_INT(sonde_tracer_flush(t, 5000), SONDE_OK);
    CHECK_EQ_INT(span_sink_count(&k), 0);
    CHECK_EQ_DBL(requests(reg, "GET", "/x", "200"), 1);
    sonde_http_free(h);
    sonde_registry_free(reg);
    span_sink_free(&k, t);
}

/* Thread-per-request code may make the request's span current and end the request while
 * it is: the previous current span comes back, and the metrics still take its ids. */
TEST(ending_a_current_request_restores_the_previous_span)
{
    span_sink k;
    sonde_tracer *t = span_sink_tracer(&k, SONDE_SAMPLER_ALWAYS_ON);
    sonde_registry *reg = new_reg();
    sonde_http *h = new_http(reg, t);
    sonde_http_token tok = sonde_http_begin(h, "GET", "/cur", 0);
    sonde_span *prev = sonde_span_enter(sonde_http_span(&tok));
    CHECK(prev == NULL);
    sonde_span_context ctx;
    sonde_span_get_context(sonde_http_span(&tok), &ctx);
    sonde_http_end(h, &tok, 200, 0);
    CHECK(sonde_span_current() == NULL);
    char tid[33], sid[17], want[128];
    sonde_trace_id_hex(ctx.trace_id, tid);
    sonde_span_id_hex(ctx.span_id, sid);
    snprintf(want, sizeof want, "# {trace_id=\"%s\",span_id=\"%s\"}", tid, sid);
    char *text = sonde_expose_alloc(reg, SONDE_FORMAT_OPENMETRICS, NULL);
    CHECK(text && strstr(text, want));
    free(text);
    sonde_http_free(h);
    sonde_registry_free(reg);
    span_sink_free(&k, t);
}

TEST(no_tracer_no_span)
{
    sonde_registry *reg = new_reg();
    sonde_http *h = new_http(reg, NULL);
    sonde_http_token tok = sonde_http_begin_traced(h, "GET", "/x", 0, TP_SAMPLED, NULL);
    CHECK(sonde_http_span(&tok) == NULL);
    CHECK(sonde_span_current() == NULL);
    sonde_http_end(h, &tok, 200, 0);
    CHECK_EQ_DBL(requests(reg, "GET", "/x", "200"), 1);
    sonde_http_free(h);
    sonde_registry_free(reg);
}

TEST(trace_headers_refuse_what_could_break_a_request)
{
    sonde_span_context ctx;
    CHECK_EQ_INT(sonde_traceparent_parse(TP_SAMPLED, "k=v", &ctx), SONDE_OK);
    sonde_trace_headers th;
    CHECK_EQ_INT(sonde_trace_headers_fill(&ctx, &th), SONDE_OK);
    CHECK_EQ_STR(th.traceparent, "traceparent: " TP_SAMPLED);
    CHECK_EQ_STR(th.tracestate, "tracestate: k=v");
    /* a context filled by hand with a line break in its tracestate: no tracestate line */
    strcpy(ctx.tracestate, "k=v\r\nX-Evil: 1");
    CHECK_EQ_INT(sonde_trace_headers_fill(&ctx, &th), SONDE_OK);
    CHECK_EQ_STR(th.tracestate, "");
    /* ... or without its terminator */
    memset(ctx.tracestate, 'a', sizeof ctx.tracestate);
    CHECK_EQ_INT(sonde_trace_headers_fill(&ctx, &th), SONDE_OK);
    CHECK_EQ_STR(th.tracestate, "");
    /* an invalid context writes nothing */
    memset(&ctx, 0, sizeof ctx);
    CHECK_EQ_INT(sonde_trace_headers_fill(&ctx, &th), SONDE_EINVAL);
    CHECK_EQ_STR(th.traceparent, "");
    CHECK_EQ_STR(th.tracestate, "");
}

int main(void)
{
    RUN(continues_the_incoming_trace);
    RUN(invalid_or_absent_traceparent_starts_a_new_trace);
    RUN(status_method_and_route_rules);
    RUN(a_long_unknown_method_is_cut);
    RUN(an_unsampled_parent_propagates_without_recording);
    RUN(ending_a_current_request_restores_the_previous_span);
    RUN(no_tracer_no_span);
    RUN(trace_headers_refuse_what_could_break_a_request);
    return check_report();
}
