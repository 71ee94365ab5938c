/*
 * access.c - each request's SERVER span and its access-log line.
 *
 * The span starts when the request's headers have arrived, continuing the
 * client's trace: a valid traceparent (and tracestate) makes it a child of
 * the caller's span and the parent-based sampler follows the caller's sampled
 * flag; anything else starts a new trace. It is named "{method} {route}"
 * with the bounded route of service.c, carries http.request.method,
 * http.route, http.response.status_code, and is an error on 5xx (the HTTP
 * semantic conventions for servers). Its context is the parent of the
 * request's model call and of the call's upstream attempts, which put it on
 * the upstream request as traceparent.
 *
 * The access-log line is written once, when the request ends, through the
 * gateway's access logger (sonde_log: one JSON object per line) with the span
 * entered as the thread's current span, so the line carries its trace_id and
 * span_id (also for an unsampled span: the ids still join the line to the
 * upstream's logs). Fields: method, route, status (499 when the client went
 * away), duration_ms, request_bytes, response_bytes, and when known model
 * (as asked for, cut like every echoed field), key (the configured name,
 * never the secret), input_tokens and output_tokens (as charged to the key).
 * Every value is bounded: constants, the configuration's names, numbers.
 */
#include <stdio.h>
#include <string.h>

#include "gateway.h"

static const char *known_method(const char *m)
{
    static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH",
                                          "OPTIONS", "CONNECT", "TRACE", NULL};
    for (const char *const *p = methods; *p; p++)
        if (strcmp(m, *p) == 0) return *p;
    return "_OTHER";
}

void gw_access_begin(gateway *gw, gw_access *a, const char *method, const char *route,
                     const char *traceparent, const char *tracestate)
{
    memset(a, 0, sizeof *a);
    a->start_ns = gw_now_ns();
    a->route = route;
    snprintf(a->method, sizeof a->method, "%s", known_method(method));
    a->input_tokens = a->output_tokens = -1;
    if (!gw->tracer) return;
    sonde_span_context parent;
    sonde_traceparent_parse(traceparent, tracestate, &parent); /* invalid: a new trace */
    char name[64];
    snprintf(name, sizeof name, "%s %s", a->method, route);
    a->span = sonde_span_start(gw->tracer, name, SONDE_SPAN_SERVER, &parent);
    sonde_span_set_str(a->span, "http.request.method", a->method);
    sonde_span_set_str(a->span, "http.route", route);
    sonde_span_get_context(a->span, &a->trace);
}

void gw_access_note(gw_access *a, const char *model, const gw_key *key, long input_tokens,
                    long output_tokens)
{
    if (model) {
        gw_echo_buf e;
        snprintf(a->model, sizeof a->model, "%s", gw_echo(model, &e));
    }
    if (key) a->key = key->name;
    a->input_tokens = input_tokens;
    a->output_tokens = output_tokens;
}

void gw_access_end(gateway *gw, gw_access *a, unsigned status, size_t request_bytes,
                   size_t response_bytes)
{
    sonde_span_set_int(a->span, "http.response.status_code", status);
    if (status >= 500) sonde_span_set_status(a->span, SONDE_STATUS_ERROR, NULL);
    if (sonde_log_enabled(gw->access, SONDE_LOG_INFO)) {
        uint64_t now = gw_now_ns();
        sonde_attr f[10];
        size_t n = 0;
        f[n++] = SONDE_ATTR_STR("method", a->method);
        f[n++] = SONDE_ATTR_STR("route", a->route);
        f[n++] = SONDE_ATTR_INT("status", status);
        f[n++] = SONDE_ATTR_DBL("duration_ms", now > a->start_ns ? (double)(now - a->start_ns) / 1e6 : 0);
        f[n++] = SONDE_ATTR_INT("request_bytes", (int64_t)request_bytes);
        f[n++] = SONDE_ATTR_INT("response_bytes", (int64_t)response_bytes);
        if (a->model[0]) f[n++] = SONDE_ATTR_STR("model", a->model);
        if (a->key) f[n++] = SONDE_ATTR_STR("key", a->key);
        if (a->input_tokens >= 0) f[n++] = SONDE_ATTR_INT("input_tokens", a->input_tokens);
        if (a->output_tokens >= 0) f[n++] = SONDE_ATTR_INT("output_tokens", a->output_tokens);
        sonde_span *prev = sonde_span_enter(a->span);
        sonde_log(gw->access, SONDE_LOG_INFO, "request", f, n);
        sonde_span_exit(prev);
    }
    sonde_span_end(a->span);
    a->span = NULL;
}
