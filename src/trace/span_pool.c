/*
 * span_pool.c - where span objects come from, so that the hot path never
 * calls malloc once warm. Each thread keeps a small cache of free spans
 * (the ones its unsampled spans give back at once); it refills from the
 * tracer's pool, where the export thread returns whole batches under one
 * lock, and mallocs only when both are empty. The export thread links the
 * spans it returns into chains of REFILL, and a refill
 * takes one chain whole: a thread never walks a list of spans whose memory
 * the export thread touched last (one cache miss after another, all under
 * the pool's lock); it reaches each span when it uses it, and taking a span from the
 * cache for a tracer that may sample prefetches for writing the lines of the next one and
 * this one's arrays (the export thread's core holds them), so the misses overlap the
 * recording of a span. Spans keep their arena and
 * attribute arrays between uses (up to a size: bigger ones are freed), so a
 * span of the usual shape allocates nothing; its counts are cleared when it
 * starts again, so the export thread writes only the chain link into a span
 * it gives back, and the next user's reads of it mostly hit lines its own
 * cache still holds. Both caches are bounded.
 */
#include <stdlib.h>
#include <string.h>

#include "trace_internal.h"

#define REFILL 32
#define KEEP_ARENA 2048
#define KEEP_ATTRS 32

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

/* At thread exit the cache goes back to malloc. */
static void cache_release(void *unused)
{
    (void)unused;
    while (sonde_span_cache.head) {
        sonde_span *s = sonde_span_cache.head;
        sonde_span_cache.head = s->next_free;
        sonde_span_free(s);
    }
    sonde_span_cache.count = 0;
    sonde_span_cache.armed = 0; /* a span used after this (a later destructor) arms it again */
}

static void cache_key_create(void) { pthread_key_create(&cache_key, cache_release); }

/* Free the buffers larger than usual. Only reads a span of the usual shape: its counts are
 * cleared by sonde_span_start, on the thread that uses it next, so that the export thread
 * does not write to the cache lines of the spans it gives back (only the link). */
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
    p->chains = NULL;
    p->count = 0;
    p->max = max;
}

void sonde_span_pool_destroy(span_pool *p)
{
    while (p->chains) {
        sonde_span *s = p->chains;
        p->chains = s->next_chain;
        while (s) {
            sonde_span *next = s->next_free;
            sonde_span_free(s);
            s = next;
        }
    }
    pthread_mutex_destroy(&p->mu);
}

sonde_span *sonde_span_pool_refill(span_pool *p, int recording)
{
    if (!sonde_span_cache.armed) {
        pthread_once(&cache_once, cache_key_create);
        /* any non-NULL value arms the destructor */
        sonde_span_cache.armed = pthread_setspecific(cache_key, &sonde_span_cache) == 0;
    }
    pthread_mutex_lock(&p->mu);
    sonde_span *chain = p->chains;
    if (chain) {
        p->chains = chain->next_chain;
        p->count -= chain->chain_len;
    }
    pthread_mutex_unlock(&p->mu);
    if (!chain)
        return sonde_span_alloc();
    sonde_span_cache.head = chain; /* the cache was empty */
    sonde_span_cache.count = chain->chain_len;
    return sonde_span_pool_get(p, recording);
}

void sonde_span_pool_put_slow(sonde_span *s)
{
    if (s->recording)
        span_trim(s);
    if (sonde_span_cache.count >= SONDE_SPAN_CACHE_MAX) {
        sonde_span_free(s);
        return;
    }
    if (!sonde_span_cache.armed) { /* a thread that only ends spans begun elsewhere must free them too */
        pthread_once(&cache_once, cache_key_create);
        sonde_span_cache.armed = pthread_setspecific(cache_key, &sonde_span_cache) == 0;
    }
    s->next_free = sonde_span_cache.head;
    sonde_span_cache.head = s;
    sonde_span_cache.count++;
}

void sonde_span_pool_put_batch(span_pool *p, sonde_span **spans, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        span_trim(spans[k]);
        spans[k]->next_free = k + 1 < n && (k + 1) % REFILL ? spans[k + 1] : NULL;
        if (k % REFILL == 0)
            spans[k]->chain_len = (uint32_t)(n - k < REFILL ? n - k : REFILL);
    }
    size_t k = 0;
    pthread_mutex_lock(&p->mu);
    for (; k < n && p->count + spans[k]->chain_len <= p->max; k += REFILL) {
        spans[k]->next_chain = p->chains;
        p->chains = spans[k];
        p->count += spans[k]->chain_len;
    }
    pthread_mutex_unlock(&p->mu);
    for (; k < n; k++) /* the chains past the pool's bound */
        sonde_span_free(spans[k]);
}
