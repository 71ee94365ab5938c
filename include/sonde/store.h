/*
 * sonde/store.h - database, cache and work-queue instrumentation.
 *
 * A sonde_store registers, with an optional prefix P ("P_" before each name),
 * the families of the parts the host names in its options:
 *
 *   database (operations and tables given)
 *     db_queries_total{operation,table,status}      counter
 *     db_query_duration_seconds{operation,table}    histogram (latency buckets)
 *     db_connections_current{state}                 gauge: idle, in_use, max
 *   caches (cache names given)
 *     cache_hits_total{cache}                       counter
 *     cache_misses_total{cache}                     counter
 *     cache_evictions_total{cache}                  counter
 *     cache_size_items{cache}                       gauge: entries held
 *     cache_size_bytes{cache}                       gauge: memory held, bytes
 *   work queues (queue names given)
 *     queue_depth{queue}                            gauge: jobs waiting
 *     queue_wait_seconds{queue}                     histogram (latency buckets)
 *     queue_jobs_total{queue,status}                counter
 *
 * status is ok, error, timeout or cancelled (sonde_store_status). A cache's
 * size is two families, items and bytes, rather than one cache_size with a
 * unit label: Prometheus names carry their unit, one unit per family, so
 * that sum(), rate() and alerts never add items to bytes.
 *
 * Closed label sets. operation, table, cache and queue values come only from
 * the lists the host gives sonde_store_new(), so no request, query text or
 * key can grow a scrape. A lookup by a name outside its list is refused with
 * SONDE_EUNLISTED, stores nothing, and is counted in
 * sonde_label_rejections_total{metric=<family>,reason="unregistered"}.
 *
 * Cost. Look a handle up once (sonde_store_query, sonde_store_cache,
 * sonde_store_queue; a lookup scans the lists) and keep it: every update on
 * a handle is a plain update of cached children, no lock, no allocation, no
 * string. The first outcome of each status resolves its counter once.
 *
 * Two stores with the same prefix on one registry share their families (a
 * reload keeps counting into the same series); the connection gauges of a
 * shared family are shared too, so give each pool its own prefix.
 *
 * Thread safety: every function may be called from any thread. A token
 * (sonde_db_call, sonde_queue_job) is plain data owned by one caller at a
 * time: it may travel with its job from the producer's thread to the
 * consumer's. A NULL sonde_store, sonde_db_query, sonde_cache or sonde_queue
 * makes every call a no-op (sonde/sonde.h), so a service turns this
 * instrumentation off by not creating the store.
 */
#ifndef SONDE_STORE_H
#define SONDE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "export.h"
#include "metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sonde_store sonde_store;
typedef struct sonde_db_query sonde_db_query; /* one (operation, table) */
typedef struct sonde_cache sonde_cache;       /* one cache */
typedef struct sonde_queue sonde_queue;       /* one work queue */

/* How a query or a job ended: the status label's values. */
typedef enum sonde_store_status {
    SONDE_STORE_OK = 0,    /* "ok" */
    SONDE_STORE_ERROR,     /* "error"; any status out of range counts as this */
    SONDE_STORE_TIMEOUT,   /* "timeout" */
    SONDE_STORE_CANCELLED, /* "cancelled" */
    SONDE_STORE_STATUS_COUNT
} sonde_store_status;

/* "ok", "error", "timeout", "cancelled"; "error" for an out-of-range status. */
SONDE_API const char *sonde_store_status_name(int status);

/* At most this many names in each list, each at most SONDE_STORE_NAME_MAX bytes. */
#define SONDE_STORE_NAMES_MAX 256
#define SONDE_STORE_NAME_MAX 128

typedef struct sonde_store_opts {
    sonde_registry *registry;        /* NULL = the default registry */
    const char *prefix;              /* NULL or "" = none; "svc" -> svc_db_queries_total */
    /* The closed label sets. Database families need both operations (e.g. "select",
     * "insert") and tables; caches and queues their names. A part without names is not
     * registered; at least one part is needed. Copied: the arrays may go after new. */
    const char *const *operations;
    size_t operation_count;
    const char *const *tables;
    size_t table_count;
    const char *const *caches;
    size_t cache_count;
    const char *const *queues;
    size_t queue_count;
    sonde_buckets query_buckets;     /* {NULL, 0} = the registry's latency buckets */
    sonde_buckets wait_buckets;      /* {NULL, 0} = the registry's latency buckets */
} sonde_store_opts;

/*
 * Register the families of the parts named (or reuse them, as sonde_http_new()
 * does) and copy the lists. SONDE_EINVAL (NULL opts or out, no part, operations
 * without tables or the reverse, an empty, duplicate or non-printable name -
 * names are printable ASCII or UTF-8 without control characters - or more
 * than SONDE_STORE_NAMES_MAX names in a list), SONDE_EUTF8, SONDE_ETOOLONG (a
 * name longer than SONDE_STORE_NAME_MAX bytes, or than the registry's
 * label_value_max), SONDE_ENAME (bad prefix),
 * SONDE_ETYPE / SONDE_ELABELS (a family of that name exists with another
 * shape), SONDE_ENOMEM. On error no store is made (families registered before
 * the failure stay, as with sonde_http_new()).
 */
SONDE_API int sonde_store_new(const sonde_store_opts *opts, sonde_store **out);

/* Free the store and its handles (the families and series stay in the registry). */
SONDE_API void sonde_store_free(sonde_store *s);

/*
 * The handle of one (operation, table), created on first lookup and kept by
 * the store until sonde_store_free(). SONDE_EUNLISTED (and *out NULL) when
 * operation or table is not in its list, or the store has no database part:
 * counted against db_queries_total with reason "unregistered". SONDE_EINVAL
 * for NULL names or out, SONDE_ENOMEM. A NULL store: SONDE_OK, *out NULL.
 */
SONDE_API int sonde_store_query(sonde_store *s, const char *operation, const char *table,
                                sonde_db_query **out);

/* The handle of a cache by name; as sonde_store_query() (counted against cache_hits_total). */
SONDE_API int sonde_store_cache(sonde_store *s, const char *name, sonde_cache **out);

/* The handle of a queue by name; as sonde_store_query() (counted against queue_jobs_total). */
SONDE_API int sonde_store_queue(sonde_store *s, const char *name, sonde_queue **out);

/* ---- database ------------------------------------------------------------ */

/* A query in progress: plain data, end it once. */
typedef struct sonde_db_call {
    uint64_t start_ns;
    sonde_db_query *query_; /* private: NULL once ended */
} sonde_db_call;

/* Start timing a query of q (a NULL q gives a call whose end is a no-op). */
SONDE_API sonde_db_call sonde_db_begin(sonde_db_query *q);

/* The query is done: db_queries_total{status} + 1 and its duration observed. A second end
 * (or a NULL c) is a no-op. */
SONDE_API void sonde_db_end(sonde_db_call *c, int status);

/* Record a query the caller timed itself (seconds < 0 or NaN: counted, not observed). */
SONDE_API void sonde_db_observe(sonde_db_query *q, int status, double seconds);

/*
 * Set the connection pool's gauges db_connections_current{state="idle"|"in_use"|"max"}; a
 * negative value leaves that state as it was (max set once, say). The three series appear
 * on the first call. A store without a database part ignores it.
 */
SONDE_API void sonde_store_connections_set(sonde_store *s, int64_t idle, int64_t in_use,
                                           int64_t max);

/* ---- caches ---------------------------------------------------------------- */

SONDE_API void sonde_cache_hit(sonde_cache *c);
SONDE_API void sonde_cache_miss(sonde_cache *c);
/* n entries were evicted (by size, age or policy; not explicit deletes). */
SONDE_API void sonde_cache_evicted(sonde_cache *c, uint64_t n);
/* The cache now holds items entries and bytes bytes; a negative value leaves that gauge as
 * it was (a cache that does not know its bytes never shows cache_size_bytes). */
SONDE_API void sonde_cache_size_set(sonde_cache *c, int64_t items, int64_t bytes);

/* ---- work queues ----------------------------------------------------------- */

/* A job from enqueue to end: plain data, travels with the job. */
typedef struct sonde_queue_job {
    uint64_t enqueued_ns;
    sonde_queue *queue_; /* private: NULL once ended */
    int state_;          /* private: waiting or running */
} sonde_queue_job;

/* A job is enqueued now: queue_depth + 1 and its wait starts. */
SONDE_API sonde_queue_job sonde_queue_enqueue(sonde_queue *q);

/* A worker takes the job: queue_depth - 1 and queue_wait_seconds observes the wait. Only the
 * first start of a waiting job counts. */
SONDE_API void sonde_queue_start(sonde_queue_job *j);

/* The job is done: queue_jobs_total{status} + 1. A job ended while still waiting (cancelled,
 * expired) leaves the queue (depth - 1) with no wait observed. A second end is a no-op. */
SONDE_API void sonde_queue_end(sonde_queue_job *j, int status);

/* Record a job whose wait the caller measured (a queue outside the process): jobs + 1, the
 * wait observed when >= 0; the depth is untouched. */
SONDE_API void sonde_queue_observe(sonde_queue *q, int status, double wait_seconds);

/* Set queue_depth (a queue that knows its own length, such as a broker's), replacing what
 * enqueue and start counted. */
SONDE_API void sonde_queue_depth_set(sonde_queue *q, int64_t depth);

#ifdef __cplusplus
}
#endif
#endif
