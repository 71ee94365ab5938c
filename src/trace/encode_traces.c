/*
 * encode_traces.c - spans as an OTLP ExportTraceServiceRequest
 * (opentelemetry-proto v1, trace/v1/trace.proto), written straight from the
 * span objects with pb.c. One ResourceSpans per run of spans of one tracer
 * (its resource and instrumentation scope), one ScopeSpans in each.
 */
#include <stdlib.h>
#include <string.h>

#include "trace_internal.h"

static void attr_field(pb_buf *b, uint32_t field, const sonde_span *s, const span_attr *a)
{
    sonde_pb_key_value(b, field, span_str(s, a->key), a->type,
                 a->type == SONDE_ATTR_STRING ? span_str(s, a->v.s) : NULL, a->v.i, a->v.d, a->v.b);
}

static void encode_span(pb_buf *b, const sonde_span *s)
{
    size_t m = sonde_pb_open(b, 2); /* ScopeSpans.spans */
    sonde_pb_bytes(b, 1, s->ctx.trace_id, 16);
    sonde_pb_bytes(b, 2, s->ctx.span_id, 8);
    if (s->ctx.tracestate[0])
        sonde_pb_string(b, 3, s->ctx.tracestate);
    if (s->has_parent)
        sonde_pb_bytes(b, 4, s->parent_id, 8);
    sonde_pb_string(b, 5, span_str(s, s->name));
    sonde_pb_varint(b, 6, s->kind);
    sonde_pb_fixed64(b, 7, s->start_ns);
    sonde_pb_fixed64(b, 8, s->end_ns);
    for (uint32_t i = 0; i < s->attr_count; i++)
        attr_field(b, 9, s, &s->attrs[i]);
    if (s->dropped_attrs)
        sonde_pb_varint(b, 10, s->dropped_attrs);
    for (uint32_t i = 0; i < s->event_count; i++) {
        const span_event *e = &s->events[i];
        size_t em = sonde_pb_open(b, 11);
        sonde_pb_fixed64(b, 1, e->unix_ns);
        sonde_pb_string(b, 2, span_str(s, e->name));
        for (uint32_t k = 0; k < e->attr_count; k++)
            attr_field(b, 3, s, &s->ev_attrs[e->first_attr + k]);
        if (e->dropped_attrs)
            sonde_pb_varint(b, 4, e->dropped_attrs);
        sonde_pb_close(b, em);
    }
    if (s->dropped_events)
        sonde_pb_varint(b, 12, s->dropped_events);
    if (s->status != SONDE_STATUS_UNSET) {
        size_t sm = sonde_pb_open(b, 15);
        if (s->status == SONDE_STATUS_ERROR && s->status_msg)
            sonde_pb_string(b, 2, span_str(s, s->status_msg));
        sonde_pb_varint(b, 3, s->status);
        sonde_pb_close(b, sm);
    }
    sonde_pb_close(b, m);
}

/* Resource { repeated KeyValue attributes = 1; } */
void sonde_pb_resource(pb_buf *b, const sonde_attr *attrs, size_t n)
{
    size_t r = sonde_pb_open(b, 1);
    for (size_t i = 0; i < n; i++)
        sonde_pb_key_value(b, 1, attrs[i].key, attrs[i].type, attrs[i].v.s, attrs[i].v.i, attrs[i].v.d,
                     attrs[i].v.b);
    sonde_pb_close(b, r);
}

int sonde_trace_encode_otlp(const sonde_span *const *spans, size_t n, char **out, size_t *len)
{
    if (!out || !len || (n && !spans))
        return SONDE_EINVAL;
    *out = NULL;
    *len = 0;
    for (size_t i = 0; i < n; i++)
        if (!spans[i] || !spans[i]->recording)
            return SONDE_EINVAL;
    pb_buf b = {0};
    size_t i = 0;
    while (i < n) {
        const sonde_tracer *t = spans[i]->tracer;
        const trace_resource *res = &t->res;
        size_t rs = sonde_pb_open(&b, 1); /* ExportTraceServiceRequest.resource_spans */
        sonde_pb_resource(&b, res->attrs, res->count);
        size_t ss = sonde_pb_open(&b, 2); /* ResourceSpans.scope_spans */
        size_t sc = sonde_pb_open(&b, 1); /* InstrumentationScope */
        sonde_pb_string(&b, 1, res->scope_name);
        sonde_pb_string(&b, 2, res->scope_version);
        sonde_pb_close(&b, sc);
        for (; i < n && spans[i]->tracer == t; i++)
            encode_span(&b, spans[i]);
        sonde_pb_close(&b, ss);
        sonde_pb_close(&b, rs);
    }
    return sonde_pb_finish(&b, out, len);
}
