/*
 * routes.c - the interned routes of one middleware and their cached children.
 *
 * A route is interned once in the library's concurrent map (map.h), sized
 * at creation for route_limit entries and never moved, and never removed. Readers probe it without a lock;
 * inserts take the middleware lock and probe again. Past route_limit every
 * new route is the shared "OTHER" route.
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

static uint64_t route_hash(const sonde_http *h, const char *name, size_t len)
{
    sonde_hasher st;
    sonde_map_hasher(&h->routes, &st);
    sonde_hasher_str(&st, name, len);
    return sonde_hasher_end(&st);
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
    if (sonde_internal_map_init(&h->routes, limit, SONDE_MAP_PRESIZED))
        return SONDE_ENOMEM;
    h->overflow = route_alloc("OTHER", 5, 0); /* never in the map */
    return h->overflow ? SONDE_OK : SONDE_ENOMEM;
}

static void route_free(void *p)
{
    http_route *r = p;
    for (int m = 0; m < HTTP_METHODS; m++)
        free(atomic_load(&r->methods[m]));
    free(r);
}

void http_routes_free(sonde_http *h)
{
    sonde_internal_map_destroy(&h->routes, route_free);
    if (h->overflow)
        route_free(h->overflow);
}

typedef struct route_key {
    const char *name;
    size_t len;
} route_key;

static int route_matches(const void *entry, const void *key)
{
    const http_route *r = entry;
    const route_key *k = key;
    return !strncmp(r->name, k->name, k->len) && !r->name[k->len];
}

http_route *http_route_intern(sonde_http *h, const char *name, size_t len)
{
    uint64_t hash = route_hash(h, name, len);
    route_key k = {name, len};
    http_route *r = sonde_map_find(&h->routes, hash, route_matches, &k);
    if (r)
        return r;
    pthread_mutex_lock(&h->lock);
    r = sonde_map_find(&h->routes, hash, route_matches, &k);
    if (!r && h->routes.count < h->routes.max && (r = route_alloc(name, len, hash)) &&
        sonde_internal_map_put(&h->routes, r)) {
        free(r); /* out of memory */
        r = NULL;
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
