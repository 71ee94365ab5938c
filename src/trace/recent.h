/*
 * recent.h - the tracer's in-memory view of finished spans (recent.c).
 */
#ifndef SONDE_TRACE_RECENT_H
#define SONDE_TRACE_RECENT_H

#include "trace_internal.h"

/* A hint: what a span's thread needs to know of its name's slot to leave the span unread
 * (span_mark): the name, stored once (ready set after it), and the duration a span must
 * reach to be among the slot's slowest (0 while the slot fills; it only grows, so a stale
 * read errs toward a look). Names shorter than RECENT_HINT_NAME ASCII bytes have one each,
 * in the bucket their first bytes and length hash to (recent_hint_bucket), when it is free:
 * a name without one is always looked at. Written by the export thread only. */
#define RECENT_HINT_NAME 32
#define RECENT_HINTS 128 /* buckets: a power of two, twice SONDE_RECENT_NAMES */
typedef struct recent_hint {
    _Alignas(64) char name[RECENT_HINT_NAME]; /* zero-padded */
    _Atomic uint64_t threshold;
    _Atomic int ready;
} recent_hint;

/* The bucket of a name of len bytes (< RECENT_HINT_NAME) whose first bytes, zero past the
 * name, read as the little-endian first8. */
static inline size_t recent_hint_bucket(uint64_t first8, size_t len)
{
    return (size_t)(((first8 ^ len) * 0x9e3779b97f4a7c15ull) >> 57) & (RECENT_HINTS - 1);
}

typedef struct recent_name {
    char name[SONDE_SPAN_SUMMARY_NAME];
    recent_hint *hint; /* NULL: none (a long or non-ASCII name, or its bucket is taken) */
    sonde_span_summary slow[SONDE_RECENT_PER_NAME];
    sonde_span_summary err[SONDE_RECENT_PER_NAME];
    size_t slow_count, slow_min, err_count, err_next; /* slow_min: the fastest of slow[] */
} recent_name;

typedef struct recent_spans {
    pthread_mutex_t mu;
    sonde_span **held;      /* the latest held_cap finished spans, whole (bounded) */
    size_t held_cap, held_next, held_count;
    sonde_span_summary *older; /* summaries of the cap - held_cap spans before them */
    size_t cap, older_cap, older_next, older_count;
    recent_name names[SONDE_RECENT_NAMES];
    size_t name_count;
    recent_name *last_slot; /* the slot of the previous span */
    recent_hint hints[RECENT_HINTS];
} recent_spans;

int sonde_recent_init(recent_spans *r, size_t cap);
/* Frees the spans still held. */
void sonde_recent_destroy(recent_spans *r);
/* Record a batch of finished spans (the export thread), marked (span_mark): the unmarked
 * ones are not read. The ring keeps some of them; the spans it no longer needs (of this batch,
 * or held before and now pushed out) go into release, which has room for n, marked where
 * the pool must trim them, to be given back after the export; returns how many. */
size_t sonde_recent_add(recent_spans *r, void *const *spans, size_t n, void **release);
size_t sonde_recent_trace(recent_spans *r, const uint8_t trace_id[16], sonde_span_visit_fn fn,
                          void *ud);
size_t sonde_recent_read(recent_spans *r, sonde_recent_kind kind, sonde_span_summary *out, size_t max);

#endif
