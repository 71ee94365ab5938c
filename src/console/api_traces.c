/*
 * api_traces.c - /console/api/traces: the tracer's finished spans.
 *
 *   traces?kind=recent|slowest|errors&name=NAME
 *       summaries from the tracer's rings (sonde_tracer_recent): the latest
 *       spans, newest first, or per span name its slowest / latest erroring;
 *       name keeps one name. At most TRACES_MAX spans ("truncated").
 *   traces/<trace id>
 *       the spans of one trace the tracer still holds (the viewer orders
 *       them by start_unix_ns and parent_span_id): the latest spans are kept whole (sonde_tracer_trace: attributes,
 *       events, with what the slot's bounds dropped counted), older ones only
 *       as the per-name slowest or erroring summaries ("detail": false).
 *       404 when none is held any more.
 *
 * Without a tracer both answer {"tracing": false, ...} with no spans. Every
 * string (names, attribute keys and values, status messages) is hostile
 * input and goes through cj_str; times in ns are strings (JS numbers cannot
 * hold them exactly).
 */
#include <stdlib.h>
#include <string.h>

#include "console_internal.h"
#include "console_obs.h"

#define TRACES_READ 1024 /* summaries read from a ring per request */
#define TRACES_MAX 200   /* spans in a list answer */
#define TRACE_SPANS_MAX 512

static const char *kind_name(sonde_span_kind k)
{
    static const char *const names[] = {"unspecified", "internal", "server",
                                        "client",      "producer", "consumer"};
    return (unsigned)k < 6 ? names[k] : "unspecified";
}

static const char *status_name(sonde_status_code s)
{
    return s == SONDE_STATUS_OK ? "ok" : s == SONDE_STATUS_ERROR ? "error" : "unset";
}

static int zero_id(const uint8_t *id, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (id[i])
            return 0;
    return 1;
}

/* The fields every span answer has, inside its object. */
static void span_head(console_json *j, const uint8_t trace_id[16], const uint8_t span_id[8],
                      const uint8_t parent[8], const char *name, sonde_span_kind kind,
                      uint64_t start_ns, uint64_t end_ns, sonde_status_code status,
                      const char *status_message)
{
    char hex[33];
    cj_key(j, "trace_id");
    sonde_trace_id_hex(trace_id, hex);
    cj_str(j, hex);
    cj_key(j, "span_id");
    sonde_span_id_hex(span_id, hex);
    cj_str(j, hex);
    cj_key(j, "parent_span_id");
    if (zero_id(parent, 8)) {
        cj_raw(j, "null");
    } else {
        sonde_span_id_hex(parent, hex);
        cj_str(j, hex);
    }
    cj_key(j, "name");
    cj_str(j, name);
    cj_key(j, "kind");
    cj_str(j, kind_name(kind));
    cj_key(j, "start_unix_ns");
    console_json_u64_string(j, start_ns);
    cj_key(j, "duration_ms");
    cj_num(j, end_ns >= start_ns ? (double)(end_ns - start_ns) / 1e6 : 0);
    cj_key(j, "status");
    cj_str(j, status_name(status));
    cj_key(j, "status_message");
    cj_str(j, status_message);
}

static void summary_json(console_json *j, const sonde_span_summary *s)
{
    cj_raw(j, "{");
    span_head(j, s->trace_id, s->span_id, s->parent_span_id, s->name, s->kind, s->start_unix_ns,
              s->end_unix_ns, s->status, s->status_message);
    cj_raw(j, "}");
}

static void attrs_json(console_json *j, const sonde_attr *a, size_t n)
{
    cj_raw(j, "{");
    for (size_t i = 0; i < n; i++) {
        cj_key(j, a[i].key);
        console_json_attr_value(j, &a[i]);
    }
    cj_raw(j, "}");
}

/* ---- traces?kind= ---------------------------------------------------------------- */

static int list(sonde_console *c, const console_params *p, sonde_server_response *resp)
{
    const char *kind = console_param(p, "kind");
    sonde_recent_kind k;
    if (!kind || !strcmp(kind, "recent"))
        k = SONDE_RECENT_LATEST;
    else if (!strcmp(kind, "slowest"))
        k = SONDE_RECENT_SLOWEST;
    else if (!strcmp(kind, "errors"))
        k = SONDE_RECENT_ERRORS;
    else
        return console_respond_error(resp, 400, "kind must be recent, slowest or errors");
    const char *name = console_param(p, "name");
    sonde_span_summary *s = NULL;
    size_t n = 0;
    if (c->tracer) {
        if (!(s = malloc(TRACES_READ * sizeof *s)))
            return SONDE_ENOMEM;
        n = sonde_tracer_recent(c->tracer, k, s, TRACES_READ);
    }
    console_json j = {0};
    cj_raw(&j, "{");
    cj_key(&j, "tracing");
    cj_bool(&j, c->tracer != NULL);
    cj_key(&j, "kind");
    cj_str(&j, k == SONDE_RECENT_LATEST ? "recent" : k == SONDE_RECENT_SLOWEST ? "slowest" : "errors");
    cj_key(&j, "spans");
    cj_raw(&j, "[");
    size_t w = 0;
    int truncated = 0;
    for (size_t i = 0; i < n; i++) {
        if (name && strcmp(s[i].name, name) != 0)
            continue;
        if (w == TRACES_MAX) {
            truncated = 1;
            break;
        }
        if (w++)
            cj_raw(&j, ",");
        summary_json(&j, &s[i]);
    }
    cj_raw(&j, "]");
    cj_key(&j, "truncated");
    cj_bool(&j, truncated);
    cj_raw(&j, "}");
    free(s);
    return console_respond_json(resp, 200, &j);
}

/* ---- traces/<id> -------------------------------------------------------------------- */

typedef struct trace_visit {
    console_json *j;
    size_t count;
    uint8_t seen[TRACE_SPANS_MAX][8]; /* span ids written */
} trace_visit;

static int seen(const trace_visit *v, const uint8_t id[8])
{
    for (size_t i = 0; i < v->count; i++)
        if (!memcmp(v->seen[i], id, 8))
            return 1;
    return 0;
}

static void whole_span(void *ud, const sonde_span *sp)
{
    trace_visit *v = ud;
    sonde_span_context ctx;
    sonde_span_get_context(sp, &ctx);
    if (v->count == TRACE_SPANS_MAX || seen(v, ctx.span_id))
        return;
    memcpy(v->seen[v->count], ctx.span_id, 8);
    console_json *j = v->j;
    if (v->count++)
        cj_raw(j, ",");
    uint8_t parent[8] = {0};
    sonde_span_parent_id(sp, parent);
    const char *msg;
    sonde_status_code st = sonde_span_status(sp, &msg);
    cj_raw(j, "{");
    span_head(j, ctx.trace_id, ctx.span_id, parent, sonde_span_name(sp), sonde_span_get_kind(sp),
              sonde_span_start_unix_ns(sp), sonde_span_end_unix_ns(sp), st, msg);
    cj_key(j, "detail");
    cj_bool(j, 1);
    cj_key(j, "attributes");
    sonde_attr a[RECENT_ATTRS_MAX];
    size_t na = 0;
    for (size_t i = 0; i < sonde_span_attr_count(sp) && na < RECENT_ATTRS_MAX; i++)
        if (sonde_span_attr(sp, i, &a[na]) == SONDE_OK)
            na++;
    attrs_json(j, a, na);
    cj_key(j, "events");
    cj_raw(j, "[");
    for (size_t e = 0; e < sonde_span_event_count(sp); e++) {
        const char *name;
        uint64_t t;
        size_t n;
        if (sonde_span_event(sp, e, &name, &t, &n) != SONDE_OK)
            continue;
        if (e)
            cj_raw(j, ",");
        cj_raw(j, "{");
        cj_key(j, "name");
        cj_str(j, name);
        cj_key(j, "time_unix_ns");
        console_json_u64_string(j, t);
        cj_key(j, "attributes");
        na = 0;
        for (size_t k = 0; k < n && na < RECENT_ATTRS_MAX; k++)
            if (sonde_span_event_attr(sp, e, k, &a[na]) == SONDE_OK)
                na++;
        attrs_json(j, a, na);
        cj_raw(j, "}");
    }
    cj_raw(j, "]");
    size_t dropped_attrs, dropped_events;
    sonde_span_dropped(sp, &dropped_attrs, &dropped_events);
    cj_key(j, "dropped_attributes");
    cj_u64(j, dropped_attrs);
    cj_key(j, "dropped_events");
    cj_u64(j, dropped_events);
    cj_raw(j, "}");
}

static int parse_trace_id(const char *s, uint8_t id[16])
{
    if (strlen(s) != 32)
        return 0;
    for (size_t i = 0; i < 32; i++) {
        char ch = s[i];
        int v = ch >= '0' && ch <= '9' ? ch - '0'
                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                         : -1;
        if (v < 0)
            return 0;
        if (i % 2 == 0)
            id[i / 2] = (uint8_t)(v << 4);
        else
            id[i / 2] |= (uint8_t)v;
    }
    return !zero_id(id, 16);
}

int console_trace_id_parse(const char *s, uint8_t id[16]) { return parse_trace_id(s, id); }

static int one_trace(sonde_console *c, const char *hex, sonde_server_response *resp)
{
    uint8_t id[16];
    if (!parse_trace_id(hex, id))
        return console_respond_error(resp, 400, "a trace id is 32 hex digits, not all zero");
    trace_visit *v = calloc(1, sizeof *v);
    sonde_span_summary *s = c->tracer ? malloc(TRACES_READ * sizeof *s) : NULL;
    if (!v || (c->tracer && !s)) {
        free(v);
        free(s);
        return SONDE_ENOMEM;
    }
    console_json j = {0};
    v->j = &j;
    char lower[33];
    sonde_trace_id_hex(id, lower);
    cj_raw(&j, "{");
    cj_key(&j, "tracing");
    cj_bool(&j, c->tracer != NULL);
    cj_key(&j, "trace_id");
    cj_str(&j, lower);
    cj_key(&j, "spans");
    cj_raw(&j, "[");
    if (c->tracer) {
        sonde_tracer_trace(c->tracer, id, whole_span, v);
        static const sonde_recent_kind kinds[] = {SONDE_RECENT_LATEST, SONDE_RECENT_SLOWEST,
                                                  SONDE_RECENT_ERRORS};
        for (size_t k = 0; k < 3; k++) {
            size_t n = sonde_tracer_recent(c->tracer, kinds[k], s, TRACES_READ);
            for (size_t i = 0; i < n && v->count < TRACE_SPANS_MAX; i++) {
                if (memcmp(s[i].trace_id, id, 16) || seen(v, s[i].span_id))
                    continue;
                memcpy(v->seen[v->count], s[i].span_id, 8);
                if (v->count++)
                    cj_raw(&j, ",");
                cj_raw(&j, "{");
                span_head(&j, s[i].trace_id, s[i].span_id, s[i].parent_span_id, s[i].name,
                          s[i].kind, s[i].start_unix_ns, s[i].end_unix_ns, s[i].status,
                          s[i].status_message);
                cj_key(&j, "detail");
                cj_bool(&j, 0);
                cj_raw(&j, "}");
            }
        }
    }
    cj_raw(&j, "]}");
    size_t count = v->count;
    free(v);
    free(s);
    if (c->tracer && count == 0) {
        free(j.p);
        return console_respond_error(resp, 404, "the tracer holds no span of this trace any more");
    }
    return console_respond_json(resp, 200, &j);
}

int console_api_traces(sonde_console *c, const char *sub, const console_params *p,
                       sonde_server_response *resp)
{
    if (!sub[0])
        return list(c, p, resp);
    if (sub[0] == '/' && sub[1] && !strchr(sub + 1, '/'))
        return one_trace(c, sub + 1, resp);
    return console_respond_error(resp, 404, "no such traces path");
}
