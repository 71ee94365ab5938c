/*
 * middleware.c - the HTTP middleware: families, begin, streaming, end.
 *
 * begin() resolves the route (normalise, then intern: a lock-free probe
 * after the first request of a route), stamps the monotonic clock and raises
 * the in-flight gauge; end() finds the (route, method) children cached on
 * the route and the status counter cached beside them, observes the three
 * histograms and lowers the gauges. Nothing is allocated per request: the
 * token lives on the caller's side, and the per-route caches are filled
 * once. With a tracer, begin also starts the request's span and end ends
 * it (span.c), after recording the metrics with that span as the thread's
 * current one, so that they take its ids as exemplars (the core's automatic
 * exemplars; a request may end on a thread where its span is not current
 * otherwise); without one, neither costs more than a test of the pointer.
 */
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"

const char *const http_method_names[HTTP_METHODS] = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE", "OTHER",
};

static int method_index(const char *m)
{
    if (!m)
        return HTTP_OTHER;
    switch (m[0]) {
    case 'G': return !strcmp(m, "GET") ? HTTP_GET : HTTP_OTHER;
    case 'H': return !strcmp(m, "HEAD") ? HTTP_HEAD : HTTP_OTHER;
    case 'P':
        return !strcmp(m, "POST")    ? HTTP_POST
               : !strcmp(m, "PUT")   ? HTTP_PUT
               : !strcmp(m, "PATCH") ? HTTP_PATCH
                                     : HTTP_OTHER;
    case 'D': return !strcmp(m, "DELETE") ? HTTP_DELETE : HTTP_OTHER;
    case 'O': return !strcmp(m, "OPTIONS") ? HTTP_OPTIONS : HTTP_OTHER;
    case 'C': return !strcmp(m, "CONNECT") ? HTTP_CONNECT : HTTP_OTHER;
    case 'T': return !strcmp(m, "TRACE") ? HTTP_TRACE : HTTP_OTHER;
    default: return HTTP_OTHER;
    }
}

static int gauge_family(sonde_registry *reg, const char *prefix, const char *name,
                        const char *help, sonde_gauge **out)
{
    sonde_metric *m;
    int rc = sonde_internal_family_shared(reg, prefix, SONDE_GAUGE, name, help, NULL, 0,
                                          (sonde_buckets){0}, &m);
    if (!rc)
        *out = sonde_gauge_of(m);
    return rc;
}

int sonde_http_new(const sonde_http_opts *opts, sonde_http **out)
{
    if (!out)
        return SONDE_EINVAL;
    *out = NULL;
    sonde_http_opts d;
    if (!opts) {
        memset(&d, 0, sizeof d);
        opts = &d;
    }
    sonde_registry *reg = opts->registry ? opts->registry : sonde_default_registry();
    const sonde_config *cfg = sonde_registry_config(reg);
    sonde_buckets sizes = opts->size_buckets.count ? opts->size_buckets : cfg->size_buckets;
    size_t limit = opts->route_limit ? opts->route_limit : cfg->cardinality_limit;
    if (limit > 100000)
        limit = 100000;
    sonde_http *h = calloc(1, sizeof *h);
    if (!h)
        return SONDE_ENOMEM;
    h->reg = reg;
    h->tracer = opts->tracer;
    pthread_mutex_init(&h->lock, NULL);
    static const char *const mrs[] = {"method", "route", "status"};
    const char *p = opts->prefix;
    int rc = sonde_internal_family_shared(reg, p, SONDE_COUNTER, "http_requests_total",
                                          "HTTP requests by method, route and status.", mrs, 3,
                                          (sonde_buckets){0}, &h->requests);
    if (!rc)
        rc = sonde_internal_family_shared(
            reg, p, SONDE_HISTOGRAM, "http_request_duration_seconds",
            "HTTP request duration in seconds, from request start to the end of "
            "the response.",
            mrs, 2, opts->duration_buckets, &h->duration);
    if (!rc)
        rc = sonde_internal_family_shared(reg, p, SONDE_HISTOGRAM, "http_request_size_bytes",
                                          "HTTP request body size in bytes.", mrs, 2, sizes,
                                          &h->req_size);
    if (!rc)
        rc = sonde_internal_family_shared(reg, p, SONDE_HISTOGRAM, "http_response_size_bytes",
                                          "HTTP response body size in bytes.", mrs, 2, sizes,
                                          &h->resp_size);
    if (!rc)
        rc = gauge_family(reg, p, "http_requests_in_flight", "HTTP requests being served.",
                          &h->in_flight);
    if (!rc)
        rc = gauge_family(reg, p, "http_responses_streaming",
                          "HTTP responses still streaming (SSE, chunked).", &h->streaming);
    if (!rc)
        rc = http_routes_init(h, limit);
    if (rc) {
        sonde_http_free(h);
        return rc;
    }
    *out = h;
    return SONDE_OK;
}

void sonde_http_free(sonde_http *h)
{
    if (!h)
        return;
    http_routes_free(h);
    http_templates_free(h);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

void http_begin_path(sonde_http *h, sonde_http_token *t, const char *path)
{
    char route[HTTP_ROUTE_MAX];
    size_t n = http_normalise(h, path ? path : "", route);
    t->route_ = http_route_intern(h, route, n);
    t->start_ns = sonde_now_ns();
    t->active_ = 1;
    sonde_gauge_inc(h->in_flight);
}

void http_set_method(sonde_http_token *t, const char *method)
{
    t->method_ = (uint8_t)method_index(method);
}

/* Inlined into both begins, so that the plain one stays one call deep. */
static inline __attribute__((always_inline)) sonde_http_token
begin(sonde_http *h, const char *method, const char *path, size_t request_size,
      const char *traceparent, const char *tracestate)
{
    sonde_http_token t;
    memset(&t, 0, sizeof t);
    if (!h)
        return t;
    http_set_method(&t, method);
    t.request_size = request_size;
    http_begin_path(h, &t, path);
    if (h->tracer)
        http_span_start(h, &t, method, traceparent, tracestate);
    return t;
}

sonde_http_token sonde_http_begin(sonde_http *h, const char *method, const char *path,
                                  size_t request_size)
{
    return begin(h, method, path, request_size, NULL, NULL);
}

sonde_http_token sonde_http_begin_traced(sonde_http *h, const char *method, const char *path,
                                         size_t request_size, const char *traceparent,
                                         const char *tracestate)
{
    return begin(h, method, path, request_size, traceparent, tracestate);
}

void sonde_http_stream_begin(sonde_http *h, sonde_http_token *t)
{
    if (!h || !t || !t->active_ || t->streaming_)
        return;
    t->streaming_ = 1;
    sonde_gauge_inc(h->streaming);
}

void sonde_http_stream_end(sonde_http *h, sonde_http_token *t)
{
    if (!h || !t || !t->streaming_)
        return;
    t->streaming_ = 0;
    sonde_gauge_dec(h->streaming);
}

/* The request's metrics; inlined into both ends below. */
static inline __attribute__((always_inline)) void end_request(sonde_http *h, sonde_http_token *t,
                                                             int status, size_t response_size)
{
    double seconds = (double)(sonde_now_ns() - t->start_ns) / 1e9;
    t->active_ = 0;
    sonde_http_stream_end(h, t);
    sonde_gauge_dec(h->in_flight);
    if (status < 0 || status > 999)
        status = 0;
    http_route *r = (http_route *)t->route_;
    route_method *rm = r ? http_route_method(h, r, t->method_) : NULL;
    if (!rm)
        return;
    sonde_counter_inc(http_status_counter(h, r, rm, t->method_, status));
    sonde_histogram_observe(rm->duration, seconds);
    if (t->request_size != SONDE_HTTP_SIZE_UNKNOWN)
        sonde_histogram_observe(rm->req_size, (double)t->request_size);
    if (response_size != SONDE_HTTP_SIZE_UNKNOWN)
        sonde_histogram_observe(rm->resp_size, (double)response_size);
}

/* A request with a span: its metrics are recorded while the span is the thread's current
 * one, so that they take its ids as exemplars; then the span ends. */
static __attribute__((noinline)) void end_traced(sonde_http *h, sonde_http_token *t, int status,
                                                 size_t response_size)
{
    sonde_span *span = t->span_, *prev = sonde_span_current();
    if (prev == span) { /* the caller made it current already */
        end_request(h, t, status, response_size);
    } else {
        sonde_span_enter(span);
        end_request(h, t, status, response_size);
        sonde_span_exit(prev);
    }
    http_span_end(t, status >= 0 && status <= 999 ? status : 0);
}

void sonde_http_end(sonde_http *h, sonde_http_token *t, int status, size_t response_size)
{
    if (!h || !t || !t->active_)
        return;
    if (__builtin_expect(t->span_ != NULL, 0))
        end_traced(h, t, status, response_size);
    else
        end_request(h, t, status, response_size);
}
