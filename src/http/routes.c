/*
 * routes.c - the interned routes of one middleware and their cached children.
 *
 * A route is interned once: an open-addressing table of atomic pointers,
 * sized at creation for route_limit entries at half load, never resized and
 * never shrunk. Readers probe it without a lock; inserts take the
 * middleware lock, probe again and publish with a release store. Past
 * route_limit every new route is the shared "OTHER" route.
 *
 * Each route keeps, per method, the children of its three histograms and a
 * few (route, method, status) counters, created on the first request that
 * needs them and published the same way. A request therefore costs a hash,
 * a probe and a few loads; the core's child lookup only runs for a status
 * beyond the HTTP_STATUS_SLOTS cached ones.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_iface.h"
#include "http_internal.h"

static uint64_t hash_bytes(const char *s, size_t n)
{
    return sonde_hash_end(sonde_hash_bytes(0, s, n));
}

static http_route *route_alloc(const char *name, size_t len, uint64_t hash)
{
    http_route *r = calloc(1, sizeof *r + len + 1);
    if (!r)
        return NULL;
    r->hash = hash;
    memcpy(r->name, name, len);
    r->name[len] = '\0';
    return r;
}

int http_routes_init(sonde_http *h, size_t limit)
{
    size_t cap = 16;
    while (cap < 2 * (limit + 1))
        cap *= 2;
    h->table = calloc(cap, sizeof *h->table);
    h->overflow = route_alloc("OTHER", 5, hash_bytes("OTHER", 5));
    if (!h->table || !h->overflow)
        return SONDE_ENOMEM;
    h->mask = cap - 1;
    h->route_limit = limit;
    return SONDE_OK;
}

static void route_free(http_route *r)
{
    for (int m = 0; m < HTTP_METHODS; m++)
        free(atomic_load(&r->methods[m]));
    free(r);
}

void http_routes_free(sonde_http *h)
{
    if (h->table)
        for (size_t i = 0; i <= h->mask; i++)
            if (atomic_load(&h->table[i]))
                route_free(atomic_load(&h->table[i]));
    free(h->table);
    if (h->overflow)
        route_free(h->overflow);
}

/* The slot holding name, or the empty slot where it would go. */
static size_t probe(sonde_http *h, const char *name, size_t len, uint64_t hash, http_route **hit)
{
    size_t i = (size_t)hash & h->mask;
    for (;;) {
        http_route *r = atomic_load_explicit(&h->table[i], memory_order_acquire);
        if (!r || (r->hash == hash && !strncmp(r->name, name, len) && !r->name[len])) {
            *hit = r;
            return i;
        }
        i = (i + 1) & h->mask;
    }
}

http_route *http_route_intern(sonde_http *h, const char *name, size_t len)
{
    uint64_t hash = hash_bytes(name, len);
    http_route *r;
    probe(h, name, len, hash, &r);
    if (r)
        return r;
    pthread_mutex_lock(&h->lock);
    size_t i = probe(h, name, len, hash, &r);
    if (!r && h->route_count < h->route_limit && (r = route_alloc(name, len, hash))) {
        atomic_store_explicit(&h->table[i], r, memory_order_release);
        h->route_count++;
    }
    pthread_mutex_unlock(&h->lock);
    return r ? r : h->overflow;
}

route_method *http_route_method(sonde_http *h, http_route *r, int method)
{
    route_method *rm = atomic_load_explicit(&r->methods[method], memory_order_acquire);
    if (rm)
        return rm;
    pthread_mutex_lock(&h->lock);
    rm = atomic_load_explicit(&r->methods[method], memory_order_relaxed);
    if (!rm && (rm = calloc(1, sizeof *rm))) {
        const char *values[2] = {http_method_names[method], r->name};
        rm->duration = sonde_histogram_with(h->duration, values);
        rm->req_size = sonde_histogram_with(h->req_size, values);
        rm->resp_size = sonde_histogram_with(h->resp_size, values);
        if (rm->duration && rm->req_size && rm->resp_size) {
            atomic_store_explicit(&r->methods[method], rm, memory_order_release);
        } else { /* out of memory: cache nothing, the next request tries again */
            free(rm);
            rm = NULL;
        }
    }
    pthread_mutex_unlock(&h->lock);
    return rm;
}

sonde_counter *http_status_counter(sonde_http *h, http_route *r, route_method *rm, int method,
                                   int status)
{
    int key = status + 1; /* 0 marks a free slot */
    for (int i = 0; i < HTTP_STATUS_SLOTS; i++) {
        int s = atomic_load_explicit(&rm->slots[i].status, memory_order_acquire);
        if (s == key)
            return rm->slots[i].counter;
        if (s == 0)
            break;
    }
    char code[16];
    snprintf(code, sizeof code, "%d", status);
    const char *values[3] = {http_method_names[method], r->name, code};
    sonde_counter *c = sonde_counter_with(h->requests, values);
    if (!c)
        return NULL; /* out of memory: not cached, the next request tries again */
    for (int i = 0; i < HTTP_STATUS_SLOTS; i++) {
        int expected = 0;
        if (atomic_compare_exchange_strong(&rm->slots[i].status, &expected, -1)) {
            rm->slots[i].counter = c;
            atomic_store_explicit(&rm->slots[i].status, key, memory_order_release);
            break;
        }
        if (expected == key)
            break; /* another thread cached it meanwhile */
    }
    return c;
}
