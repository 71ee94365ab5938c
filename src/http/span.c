/*
 * span.c - the request's SERVER span, when the middleware has a tracer.
 *
 * Started at begin (or, in the libmicrohttpd adapter, once the headers are
 * in) as the child of the incoming traceparent, or as a new trace when there
 * is none or it is invalid; named "{method} {route}" after the normalised
 * route, so span names stay as bounded as the metrics' labels. A route the
 * middleware does not know (the shared "OTHER") gives the name "{method}"
 * and no http.route, and a method outside the known list "HTTP" and
 * http.request.method "_OTHER" with the original (cut to 64 bytes) beside
 * it, as the OpenTelemetry HTTP conventions say. Ended by end with the
 * status: http.response.status_code, and on a 5xx status ERROR with
 * error.type the code; a request that ends without any status (the client
 * went away, the connection broke) is an error of type "_OTHER".
 * Nothing here runs without a tracer.
 */
#include <stdio.h>
#include <string.h>

#include "http_internal.h"

#define METHOD_ORIGINAL_MAX 64

void http_span_start(sonde_http *h, sonde_http_token *t, const char *method,
                     const char *traceparent, const char *tracestate)
{
    sonde_span_context parent;
    sonde_traceparent_parse(traceparent, tracestate, &parent); /* invalid: a new trace */
    const http_route *r = t->route_;
    const char *route = r && strcmp(r->name, "OTHER") ? r->name : NULL;
    int other = t->method_ == HTTP_OTHER;
    const char *m = other ? "HTTP" : http_method_names[t->method_];
    char name[sizeof "OPTIONS " + HTTP_ROUTE_MAX];
    snprintf(name, sizeof name, route ? "%s %s" : "%s", m, route);
    sonde_span *s = sonde_span_start(h->tracer, name, SONDE_SPAN_SERVER, &parent);
    if (sonde_span_is_recording(s)) {
        sonde_span_set_str(s, "http.request.method", other ? "_OTHER" : m);
        if (other && method) {
            size_t n = strnlen(method, METHOD_ORIGINAL_MAX + 1);
            if (n > METHOD_ORIGINAL_MAX)
                n = sonde_utf8_valid_prefix(method, METHOD_ORIGINAL_MAX);
            char original[METHOD_ORIGINAL_MAX + 1];
            memcpy(original, method, n);
            original[n] = '\0';
            sonde_span_set_str(s, "http.request.method_original", original);
        }
        if (route)
            sonde_span_set_str(s, "http.route", route);
    }
    t->span_ = s;
}

void http_span_end(sonde_http_token *t, int status)
{
    sonde_span *s = t->span_;
    t->span_ = NULL;
    if (!s)
        return;
    if (status >= 100) {
        sonde_span_set_int(s, "http.response.status_code", status);
        if (status >= 500) {
            char code[12];
            snprintf(code, sizeof code, "%d", status);
            sonde_span_set_str(s, "error.type", code);
            sonde_span_set_status(s, SONDE_STATUS_ERROR, NULL);
        }
    } else {
        sonde_span_set_str(s, "error.type", "_OTHER");
        sonde_span_set_status(s, SONDE_STATUS_ERROR, "no response status");
    }
    sonde_span_end(s);
}

sonde_span *sonde_http_span(const sonde_http_token *t)
{
    return t && t->active_ ? t->span_ : NULL;
}
