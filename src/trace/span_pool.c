/*
 * span_pool.c - where span objects come from, so that the hot path never
 * calls malloc once warm. Each thread keeps a small cache of free spans
 * (the ones its unsampled spans give back at once); it refills from the
 * tracer's pool, where the export thread returns whole batches under one
 * lock, and mallocs only when both are empty. Spans keep their arena and
 * attribute arrays between uses (up to a size: bigger ones are freed), so a
 * span of the usual shape allocates nothing. Both caches are bounded.
 */
#include <stdlib.h>
#include <string.h>

#include "trace_internal.h"

#define REFILL 32
#define KEEP_ARENA 2048
#define KEEP_ATTRS 32

TRACE_TLS span_thread_cache sonde_span_cache;
static TRACE_TLS int cache_armed; /* the thread's cache has its exit destructor */
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
    cache_armed = 0; /* a span used after this (a later destructor) arms it again */
}

static void cache_key_create(void) { pthread_key_create(&cache_key, cache_release); }

/* Clear for reuse, keeping the buffers of usual size. */
static void span_reset(sonde_span *s)
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
    s->arena_len = 0;
    s->attr_count = s->dropped_attrs = 0;
    s->event_count = s->dropped_events = s->ev_attr_count = 0;
    s->next_free = NULL;
}

void sonde_span_pool_init(span_pool *p, size_t max)
{
    pthread_mutex_init(&p->mu, NULL);
    p->head = NULL;
    p->count = 0;
    p->max = max;
}

void sonde_span_pool_destroy(span_pool *p)
{
    while (p->head) {
        sonde_span *s = p->head;
        p->head = s->next_free;
        sonde_span_free(s);
    }
    pthread_mutex_destroy(&p->mu);
}

sonde_span *sonde_span_pool_refill(span_pool *p)
{
    if (!cache_armed) {
        pthread_once(&cache_once, cache_key_create);
        /* any non-NULL value arms the destructor */
        cache_armed = pthread_setspecific(cache_key, &sonde_span_cache) == 0;
    }
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < REFILL && p->head; i++) {
        sonde_span *s = p->head;
        p->head = s->next_free;
        p->count--;
        s->next_free = sonde_span_cache.head;
        sonde_span_cache.head = s;
        sonde_span_cache.count++;
    }
    pthread_mutex_unlock(&p->mu);
    if (!sonde_span_cache.head)
        return calloc(1, sizeof(sonde_span));
    return sonde_span_pool_get(p);
}

void sonde_span_pool_put_slow(sonde_span *s)
{
    if (s->recording)
        span_reset(s);
    if (sonde_span_cache.count >= SONDE_SPAN_CACHE_MAX) {
        sonde_span_free(s);
        return;
    }
    if (!cache_armed) { /* a thread that only ends spans begun elsewhere must free them too */
        pthread_once(&cache_once, cache_key_create);
        cache_armed = pthread_setspecific(cache_key, &sonde_span_cache) == 0;
    }
    s->next_free = sonde_span_cache.head;
    sonde_span_cache.head = s;
    sonde_span_cache.count++;
}

void sonde_span_pool_put_batch(span_pool *p, sonde_span **spans, size_t n)
{
    size_t i = 0;
    for (size_t k = 0; k < n; k++)
        span_reset(spans[k]);
    pthread_mutex_lock(&p->mu);
    for (; i < n && p->count < p->max; i++) {
        spans[i]->next_free = p->head;
        p->head = spans[i];
        p->count++;
    }
    pthread_mutex_unlock(&p->mu);
    for (; i < n; i++)
        sonde_span_free(spans[i]);
}
