/*
 * access.c - each request's access-log line.
 *
 * The request's SERVER span is the HTTP middleware's (sonde_http_begin_traced
 * in service.c: "{method} {route}", continuing the client's traceparent, the
 * status code at end, an error on 5xx). Its context is the parent of the
 * request's model call (the GenAI span of the call tracker, meter.c), whose
 * context is in turn the parent of the call's upstream attempts.
 *
 * The access-log line is written once, when the request ends and before its
 * span does, through the gateway's access logger (sonde_log: one JSON object
 * per line) with the span entered as the thread's current span, so the line
 * carries its trace_id and span_id (also for an unsampled span: the ids
 * still join the line to the upstream's lines). Fields: method, route,
 * status (499 when the client went away), duration_ms, request_bytes,
 * response_bytes, and when known model (as asked for, cut like every echoed
 * field), key (the configured name, never the secret), input_tokens and
 * output_tokens (as charged to the key). Every value is bounded: constants,
 * the configuration's names, numbers.
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

void gw_access_begin(gw_access *a, const char *method, const char *route)
{
    memset(a, 0, sizeof *a);
    a->start_ns = gw_now_ns();
    a->route = route;
    a->method = known_method(method);
    a->input_tokens = a->output_tokens = -1;
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

void gw_access_log(sonde_logger *lg, const gw_access *a, sonde_span *span, unsigned status,
                   size_t request_bytes, size_t response_bytes)
{
    if (!sonde_log_enabled(lg, SONDE_LOG_INFO)) return;
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
    sonde_span *prev = sonde_span_enter(span);
    sonde_log(lg, SONDE_LOG_INFO, "request", f, n);
    sonde_span_exit(prev);
}
