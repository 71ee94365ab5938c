/*
 * cache.c - cache metrics on a cache handle: hits, misses and evictions
 * (counters resolved at sonde_store_new(), so every listed cache shows its
 * zeros and a hit ratio is defined from the first scrape), and the size as
 * two gauges, cache_size_items and cache_size_bytes, each resolved on its
 * first set (a cache that never learns its bytes shows no bytes series).
 */
#include <stdlib.h>

#include "store_internal.h"

int store_caches_init(sonde_store *s)
{
    if (!(s->caches = calloc(s->cache_names.n, sizeof *s->caches)))
        return SONDE_ENOMEM;
    for (size_t i = 0; i < s->cache_names.n; i++) {
        sonde_cache *c = &s->caches[i];
        const char *v[1] = {s->cache_names.v[i]};
        c->store = s;
        c->name = v[0];
        int rc = store_child(s->hits, v, (void **)&c->hits);
        if (!rc)
            rc = store_child(s->misses, v, (void **)&c->misses);
        if (!rc)
            rc = store_child(s->evictions, v, (void **)&c->evictions);
        if (rc)
            return rc;
    }
    return SONDE_OK;
}

void sonde_cache_hit(sonde_cache *c)
{
    if (c)
        sonde_counter_inc(c->hits);
}

void sonde_cache_miss(sonde_cache *c)
{
    if (c)
        sonde_counter_inc(c->misses);
}

void sonde_cache_evicted(sonde_cache *c, uint64_t n)
{
    if (c && n)
        sonde_counter_add(c->evictions, (double)n);
}

static void size_set(_Atomic(sonde_gauge *) *slot, sonde_metric *m, const char *name,
                     int64_t value)
{
    if (value < 0)
        return;
    sonde_gauge *g = atomic_load_explicit(slot, memory_order_acquire);
    if (!g) {
        const char *v[1] = {name};
        g = sonde_gauge_with(m, v); /* the same child for every racer */
        atomic_store_explicit(slot, g, memory_order_release);
    }
    sonde_gauge_set(g, (double)value);
}

void sonde_cache_size_set(sonde_cache *c, int64_t items, int64_t bytes)
{
    if (!c)
        return;
    size_set(&c->items, c->store->size_items, c->name, items);
    size_set(&c->bytes, c->store->size_bytes, c->name, bytes);
}
