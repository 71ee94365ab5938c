/*
 * span_pool.c - where span objects come from, so that the hot path never
 * calls malloc once warm. Spans travel by pointer in magazines (arrays of
 * SONDE_SPAN_MAG pointers): each thread takes spans from a magazine of its
 * own (where its unsampled spans go back at once); the export thread puts
 * the spans of a batch into the tracer's pool's magazines under one lock,
 * and a thread whose magazine runs empty swaps it for a full one under the
 * same lock; malloc only when the pool has none. Nothing links spans through
 * their own memory, so the export thread writes no line of a span it gives
 * back: the lines the span's next user reads are still in its core's cache
 * (the export thread only read them), where a link written on the other core
 * was a miss at every take. Taking a span for a tracer that may sample
 * claims for writing the lines of the next one and this one's arrays, so
 * the upgrades overlap the recording of a span. Spans keep their arena and
 * attribute arrays between uses (up to a size: bigger ones are freed), so a
 * span of the usual shape allocates nothing; its counts are cleared when it
 * starts again. Both caches are bounded: a thread's magazine (64 spans),
 * the pool's spans (the tracer's queue plus a batch) and its empty
 * magazines.
 */
#include <stdlib.h>
#include <string.h>

#include "trace_internal.h"

#define KEEP_ARENA 2048
#define KEEP_ATTRS 32
_Static_assert(KEEP_ARENA >= RECENT_DETAIL_ARENA && KEEP_ATTRS >= RECENT_DETAIL_ATTRS &&
                   KEEP_ATTRS >= RECENT_DETAIL_EVENTS && KEEP_ATTRS >= RECENT_DETAIL_EVENT_ATTRS,
               "a span held whole needs no trim: the pool gives back unread the spans it was not "
               "asked to look at (span_mark)");

TRACE_TLS span_thread_cache sonde_span_cache;
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

void sonde_span_free(sonde_span *s)
{
    if (!s)
        return;
    free(s->arena);
    free(s->attrs);
    free(s->events);
    free(s->ev_attrs);
    free(s);
}

/* On a cache line's start, so that its first fields share two lines. */
sonde_span *sonde_span_alloc(void)
{
    sonde_span *s = aligned_alloc(64, (sizeof(sonde_span) + 63) / 64 * 64);
    if (s)
        memset(s, 0, sizeof *s);
    return s;
}

/* At thread exit the magazine and its spans go back to malloc. */
static void cache_release(void *unused)
{
    (void)unused;
    span_mag *m = sonde_span_cache.mag;
    for (uint32_t i = 0; i < sonde_span_cache.count; i++)
        sonde_span_free(m->spans[i]);
    free(m);
    sonde_span_cache.mag = NULL;
    sonde_span_cache.count = 0;
    sonde_span_cache.armed = 0; /* a span used after this (a later destructor) arms it again */
}

static void cache_key_create(void) { pthread_key_create(&cache_key, cache_release); }

/* Free the buffers larger than usual, of a span marked for a look (span_mark: one of the
 * usual shape needs none and is not read). Only reads a span of the usual shape: its counts
 * are cleared by sonde_span_start, on the thread that uses it next. */
static void span_trim(sonde_span *s)
{
    if (s->arena_cap > KEEP_ARENA) {
        free(s->arena);
        s->arena = NULL;
        s->arena_cap = 0;
    }
    if (s->attr_cap > KEEP_ATTRS) {
        free(s->attrs);
        s->attrs = NULL;
        s->attr_cap = 0;
    }
    if (s->event_cap > KEEP_ATTRS) {
        free(s->events);
        s->events = NULL;
        s->event_cap = 0;
    }
    if (s->ev_attr_cap > KEEP_ATTRS) {
        free(s->ev_attrs);
        s->ev_attrs = NULL;
        s->ev_attr_cap = 0;
    }
}

void sonde_span_pool_init(span_pool *p, size_t max)
{
    pthread_mutex_init(&p->mu, NULL);
    p->full = p->empty = NULL;
    p->count = p->empty_count = 0;
    p->max = max;
}

static void mags_free(span_mag *m)
{
    while (m) {
        span_mag *next = m->next;
        for (uint32_t i = 0; i < m->count; i++)
            sonde_span_free(m->spans[i]);
        free(m);
        m = next;
    }
}

void sonde_span_pool_destroy(span_pool *p)
{
    mags_free(p->full);
    mags_free(p->empty); /* counts 0 */
    pthread_mutex_destroy(&p->mu);
}

/* Give the thread its magazine and arm the destructor that frees it; 0 when out of memory. */
static int cache_arm(void)
{
    if (sonde_span_cache.armed)
        return 1;
    /* not armed: the thread has no magazine (never had one, or its exit destructor freed it) */
    if (!(sonde_span_cache.mag = calloc(1, sizeof(span_mag))))
        return 0;
    pthread_once(&cache_once, cache_key_create);
    /* any non-NULL value arms the destructor */
    if (pthread_setspecific(cache_key, &sonde_span_cache) != 0) {
        free(sonde_span_cache.mag); /* empty: nothing but the magazine to lose */
        sonde_span_cache.mag = NULL;
        return 0;
    }
    return sonde_span_cache.armed = 1;
}

sonde_span *sonde_span_pool_refill(span_pool *p, int recording)
{
    if (!cache_arm())
        return sonde_span_alloc();
    span_mag *mine = sonde_span_cache.mag, *got = NULL;
    pthread_mutex_lock(&p->mu);
    if ((got = p->full) != NULL) {
        p->full = got->next;
        p->count -= got->count;
        if (p->empty_count <= p->max / SONDE_SPAN_MAG) {
            mine->count = 0;
            mine->next = p->empty;
            p->empty = mine;
            p->empty_count++;
            mine = NULL;
        }
    }
    pthread_mutex_unlock(&p->mu);
    if (!got)
        return sonde_span_alloc();
    free(mine); /* NULL, unless the pool had enough empty magazines */
    sonde_span_cache.mag = got;
    sonde_span_cache.count = got->count;
    return sonde_span_pool_get(p, recording);
}

void sonde_span_pool_put_slow(sonde_span *s)
{
    if (s->recording)
        span_trim(s);
    if (sonde_span_cache.count >= SONDE_SPAN_MAG || !cache_arm()) {
        sonde_span_free(s);
        return;
    }
    sonde_span_cache.mag->spans[sonde_span_cache.count++] = s;
}

void sonde_span_pool_put_batch(span_pool *p, void **marked, size_t n)
{
    for (size_t k = 0; k < n; k++) { /* unmarked in place */
        sonde_span *s = span_unmark(marked[k]);
        if (span_looks(marked[k]))
            span_trim(s);
        marked[k] = s;
    }
    size_t k = 0;
    pthread_mutex_lock(&p->mu);
    /* The top magazine filled first, so that at most one magazine of the pool is partly full. */
    while (k < n && p->count < p->max) {
        span_mag *m = p->full;
        if (!m || m->count == SONDE_SPAN_MAG) {
            if ((m = p->empty) != NULL) {
                p->empty = m->next;
                p->empty_count--;
            } else if (!(m = malloc(sizeof *m))) {
                break;
            }
            m->count = 0;
            m->next = p->full;
            p->full = m;
        }
        size_t take = SONDE_SPAN_MAG - m->count;
        if (take > n - k)
            take = n - k;
        if (take > p->max - p->count)
            take = p->max - p->count;
        memcpy(m->spans + m->count, marked + k, take * sizeof *marked);
        m->count += (uint32_t)take;
        p->count += take;
        k += take;
    }
    pthread_mutex_unlock(&p->mu);
    for (; k < n; k++) /* past the pool's bound */
        sonde_span_free(marked[k]);
}
