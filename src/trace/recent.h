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

/* The bounds of a span held for a trace view: one that passes them is held as a copy that
 * keeps this much (recent.c). */
#define RECENT_DETAIL_ATTRS 16
#define RECENT_DETAIL_EVENTS 8
#define RECENT_DETAIL_EVENT_ATTRS 16
#define RECENT_DETAIL_ARENA 1024
#define RECENT_DETAIL_VALUE 256 /* string values cut to this many bytes */

typedef struct recent_spans {
    pthread_mutex_t mu;
    sonde_span **held;      /* the latest held_cap finished spans, whole (bounded) */
    size_t held_cap, held_next, held_count;
    sonde_span_summary *older; /* summaries of the cap - held_cap spans before them */
    size_t cap, older_cap, older_next, older_count;
    recent_name names[SONDE_RECENT_NAMES];
    size_t name_count;
    recent_name *last_slot; /* the slot of the previous span */
} recent_spans;

int sonde_recent_init(recent_spans *r, size_t cap);
/* Frees the spans still held. */
void sonde_recent_destroy(recent_spans *r);
/* Record a batch of finished spans (the export thread). The ring keeps some of them; the
 * spans it no longer needs (of this batch, or held before and now pushed out) go into
 * release, which has room for n, to be given back to the pool after the export; returns
 * how many. */
size_t sonde_recent_add(recent_spans *r, sonde_span *const *spans, size_t n, sonde_span **release);
size_t sonde_recent_trace(recent_spans *r, const uint8_t trace_id[16], sonde_span_visit_fn fn,
                          void *ud);
size_t sonde_recent_read(recent_spans *r, sonde_recent_kind kind, sonde_span_summary *out, size_t max);

#endif
