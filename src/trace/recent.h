/*
 * recent.h - the tracer's in-memory view of finished spans (recent.c).
 */
#ifndef SONDE_TRACE_RECENT_H
#define SONDE_TRACE_RECENT_H

#include "trace_internal.h"

typedef struct recent_name {
    char name[SONDE_SPAN_SUMMARY_NAME];
    sonde_span_summary slow[SONDE_RECENT_PER_NAME];
    sonde_span_summary err[SONDE_RECENT_PER_NAME];
    size_t slow_count, slow_min, err_count, err_next; /* slow_min: the fastest of slow[] */
} recent_name;

/* A finished span's copy for a trace view: a sonde_span whose arrays and arena are the
 * slot's own (so the public read-only span accessors work on it), bounded. */
#define RECENT_DETAIL_ATTRS 16
#define RECENT_DETAIL_EVENTS 8
#define RECENT_DETAIL_EVENT_ATTRS 16
#define RECENT_DETAIL_ARENA 1024
#define RECENT_DETAIL_VALUE 256 /* string values cut to this many bytes */
typedef struct recent_detail {
    sonde_span span;
    span_attr attrs[RECENT_DETAIL_ATTRS];
    span_event events[RECENT_DETAIL_EVENTS];
    span_attr ev_attrs[RECENT_DETAIL_EVENT_ATTRS];
    char arena[RECENT_DETAIL_ARENA];
} recent_detail;

typedef struct recent_spans {
    pthread_mutex_t mu;
    sonde_span_summary *latest;
    size_t cap, next, count;
    recent_name names[SONDE_RECENT_NAMES];
    size_t name_count;
    recent_name *last_slot; /* the slot of the previous span */
    recent_detail *details; /* the latest detail_cap spans in full (bounded) */
    size_t detail_cap, detail_next, detail_count;
} recent_spans;

int sonde_recent_init(recent_spans *r, size_t cap);
void sonde_recent_destroy(recent_spans *r);
void sonde_recent_add(recent_spans *r, const sonde_span *const *spans, size_t n);
size_t sonde_recent_trace(recent_spans *r, const uint8_t trace_id[16], sonde_span_visit_fn fn,
                          void *ud);
size_t sonde_recent_read(recent_spans *r, sonde_recent_kind kind, sonde_span_summary *out, size_t max);

#endif
