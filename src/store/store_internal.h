/*
 * store_internal.h - the private data model of the storage, cache and queue
 * helpers (sonde/store.h), shared by the files of src/store: store.c (options,
 * closed name lists, families, lookups), db.c, cache.c and queue.c.
 *
 * A store owns copies of its name lists and the handles. Cache and queue
 * handles are made at sonde_store_new() with their children resolved, one per
 * listed name; a database handle per (operation, table) is made at its first
 * lookup, in a slot of a table indexed by the two list positions (the lists
 * are closed, so the table is too). Children that only some outcomes need
 * (a status's counter, a pool's gauges, a cache's size gauges) are resolved
 * on first use and published with a release store; racing first uses get the
 * same child from the core, so the race is harmless.
 */
#ifndef SONDE_STORE_INTERNAL_H
#define SONDE_STORE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "core_iface.h"
#include "sonde/sonde.h"
#include "sonde/store.h"

typedef struct store_names {
    char **v;
    size_t n;
} store_names;

struct sonde_db_query {
    sonde_store *store;
    const char *operation, *table; /* the store's copies */
    sonde_histogram *duration;
    _Atomic(sonde_counter *) status[SONDE_STORE_STATUS_COUNT];
};

struct sonde_cache {
    sonde_store *store;
    const char *name;
    sonde_counter *hits, *misses, *evictions;
    _Atomic(sonde_gauge *) items, bytes;
};

struct sonde_queue {
    sonde_store *store;
    const char *name;
    sonde_gauge *depth;
    sonde_histogram *wait;
    _Atomic(sonde_counter *) status[SONDE_STORE_STATUS_COUNT];
};

enum { CONN_IDLE, CONN_IN_USE, CONN_MAX, CONN_STATES };

struct sonde_store {
    sonde_metric *queries, *query_duration, *connections;             /* database */
    sonde_metric *hits, *misses, *evictions, *size_items, *size_bytes; /* caches */
    sonde_metric *depth, *wait, *jobs;                                 /* queues */
    store_names operations, tables, cache_names, queue_names;
    _Atomic(sonde_db_query *) *queries_by_pair; /* operations.n x tables.n */
    sonde_cache *caches;                        /* cache_names.n */
    sonde_queue *queues;                        /* queue_names.n */
    _Atomic(sonde_gauge *) conn[CONN_STATES];
    pthread_mutex_t lock; /* creating database handles and the pool's gauges */
};

/* store.c: the position of name in a list, or -1. */
long store_name_index(const store_names *l, const char *name);
/* The counter of status (out of range: error) in slots, resolved once from family m with the
 * leading label values (the handle's names) and the status name. */
sonde_counter *store_status_counter(_Atomic(sonde_counter *) *slots, sonde_metric *m,
                                    const char *const *leading, size_t leading_count,
                                    int status);

/* The child of values in m, made now: SONDE_OK (a NULL m, as a disabled registry hands out,
 * gives NULL; past the cardinality limit, the no-op child), or the core's error (SONDE_ENOMEM,
 * SONDE_ETOOLONG past the registry's label-value limit), so that a handle is never made with
 * a child missing. */
int store_child(sonde_metric *m, const char *const *values, void **out);

/* cache.c, queue.c: resolve the children of every listed cache / queue (at new). */
int store_caches_init(sonde_store *s);
int store_queues_init(sonde_store *s);

#endif
