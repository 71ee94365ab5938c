/*
 * store.c - the store: validating and copying the closed name lists,
 * registering the families of each part named (through the core's shared
 * registration, so that stores with one prefix share families), the
 * lookups that turn a name into a handle, and the status names.
 *
 * A lookup scans its list (at most SONDE_STORE_NAMES_MAX names): hosts look a
 * handle up once and keep it. A name outside its list is refused with
 * SONDE_EUNLISTED and counted in sonde_label_rejections_total with reason
 * "unregistered" against the part's main family; nothing is created.
 */
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

static const char *const status_names[SONDE_STORE_STATUS_COUNT] = {"ok", "error", "timeout",
                                                                  "cancelled"};

const char *sonde_store_status_name(int status)
{
    return status >= 0 && status < SONDE_STORE_STATUS_COUNT ? status_names[status] : "error";
}

sonde_counter *store_status_counter(_Atomic(sonde_counter *) *slots, sonde_metric *m,
                                    const char *const *leading, size_t leading_count,
                                    int status)
{
    if (status < 0 || status >= SONDE_STORE_STATUS_COUNT)
        status = SONDE_STORE_ERROR;
    sonde_counter *c = atomic_load_explicit(&slots[status], memory_order_acquire);
    if (__builtin_expect(c != NULL, 1) || !m)
        return c;
    const char *values[3];
    for (size_t i = 0; i < leading_count; i++)
        values[i] = leading[i];
    values[leading_count] = status_names[status];
    c = sonde_counter_with(m, values); /* the same child for every racer */
    atomic_store_explicit(&slots[status], c, memory_order_release);
    return c;
}

int store_child(sonde_metric *m, const char *const *values, void **out)
{
    *out = NULL;
    if (!m)
        return SONDE_OK;
    int rc = sonde_metric_child(m, values, out);
    return rc == SONDE_ELIMIT ? SONDE_OK : rc;
}

long store_name_index(const store_names *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], name))
            return (long)i;
    return -1;
}

/* A name: non-empty, at most SONDE_STORE_NAME_MAX bytes, UTF-8 without control characters. */
static int check_name(const char *name)
{
    if (!name || !*name)
        return SONDE_EINVAL;
    size_t n = strlen(name);
    if (n > SONDE_STORE_NAME_MAX)
        return SONDE_ETOOLONG;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return SONDE_EINVAL;
    return sonde_valid_utf8(name, n) ? SONDE_OK : SONDE_EUTF8;
}

static void names_free(store_names *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int names_copy(store_names *l, const char *const *v, size_t n)
{
    if (n > SONDE_STORE_NAMES_MAX || (n && !v))
        return SONDE_EINVAL;
    for (size_t i = 0; i < n; i++) {
        int rc = check_name(v[i]);
        if (rc)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(v[i], v[j]))
                return SONDE_EINVAL;
    }
    if (!n)
        return SONDE_OK;
    if (!(l->v = calloc(n, sizeof *l->v)))
        return SONDE_ENOMEM;
    for (; l->n < n; l->n++)
        if (!(l->v[l->n] = strdup(v[l->n])))
            return SONDE_ENOMEM;
    return SONDE_OK;
}

static int register_db(sonde_store *s, sonde_registry *reg, const sonde_store_opts *o)
{
    static const char *const ots[] = {"operation", "table", "status"};
    static const char *const state[] = {"state"};
    const char *p = o->prefix;
    int rc = sonde_internal_family_shared(reg, p, SONDE_COUNTER, "db_queries_total",
                                          "Database queries by operation, table and status.", ots,
                                          3, (sonde_buckets){0}, &s->queries);
    if (!rc)
        rc = sonde_internal_family_shared(reg, p, SONDE_HISTOGRAM, "db_query_duration_seconds",
                                          "Database query duration in seconds.", ots, 2,
                                          o->query_buckets, &s->query_duration);
    if (!rc)
        rc = sonde_internal_family_shared(reg, p, SONDE_GAUGE, "db_connections_current",
                                          "Database pool connections by state (idle, in_use, "
                                          "and the pool's max).",
                                          state, 1, (sonde_buckets){0}, &s->connections);
    if (!rc && !(s->queries_by_pair = calloc(s->operations.n * s->tables.n,
                                             sizeof *s->queries_by_pair)))
        rc = SONDE_ENOMEM;
    return rc;
}

static int register_caches(sonde_store *s, sonde_registry *reg, const char *p)
{
    static const char *const cache[] = {"cache"};
    static const struct {
        const char *name, *help;
        sonde_type type;
        size_t off;
    } fams[] = {
        {"cache_hits_total", "Cache lookups that found their entry.", SONDE_COUNTER,
         offsetof(sonde_store, hits)},
        {"cache_misses_total", "Cache lookups that did not find their entry.", SONDE_COUNTER,
         offsetof(sonde_store, misses)},
        {"cache_evictions_total", "Cache entries evicted (size, age or policy).", SONDE_COUNTER,
         offsetof(sonde_store, evictions)},
        {"cache_size_items", "Entries the cache holds.", SONDE_GAUGE,
         offsetof(sonde_store, size_items)},
        {"cache_size_bytes", "Memory the cache holds, in bytes.", SONDE_GAUGE,
         offsetof(sonde_store, size_bytes)},
    };
    for (size_t i = 0; i < sizeof fams / sizeof fams[0]; i++) {
        int rc = sonde_internal_family_shared(reg, p, fams[i].type, fams[i].name, fams[i].help,
                                              cache, 1, (sonde_buckets){0},
                                              (sonde_metric **)((char *)s + fams[i].off));
        if (rc)
            return rc;
    }
    return store_caches_init(s);
}

static int register_queues(sonde_store *s, sonde_registry *reg, const sonde_store_opts *o)
{
    static const char *const qs[] = {"queue", "status"};
    const char *p = o->prefix;
    int rc = sonde_internal_family_shared(reg, p, SONDE_GAUGE, "queue_depth",
                                          "Jobs waiting in the queue.", qs, 1, (sonde_buckets){0},
                                          &s->depth);
    if (!rc)
        rc = sonde_internal_family_shared(reg, p, SONDE_HISTOGRAM, "queue_wait_seconds",
                                          "Time jobs waited in the queue before a worker took "
                                          "them, in seconds.",
                                          qs, 1, o->wait_buckets, &s->wait);
    if (!rc)
        rc = sonde_internal_family_shared(reg, p, SONDE_COUNTER, "queue_jobs_total",
                                          "Jobs done by queue and status.", qs, 2,
                                          (sonde_buckets){0}, &s->jobs);
    return rc ? rc : store_queues_init(s);
}

int sonde_store_new(const sonde_store_opts *opts, sonde_store **out)
{
    if (!out)
        return SONDE_EINVAL;
    *out = NULL;
    if (!opts || (!opts->operation_count != !opts->table_count) ||
        !(opts->operation_count || opts->cache_count || opts->queue_count))
        return SONDE_EINVAL;
    sonde_registry *reg = opts->registry ? opts->registry : sonde_default_registry();
    sonde_store *s = calloc(1, sizeof *s);
    if (!s)
        return SONDE_ENOMEM;
    pthread_mutex_init(&s->lock, NULL);
    int rc = names_copy(&s->operations, opts->operations, opts->operation_count);
    if (!rc)
        rc = names_copy(&s->tables, opts->tables, opts->table_count);
    if (!rc)
        rc = names_copy(&s->cache_names, opts->caches, opts->cache_count);
    if (!rc)
        rc = names_copy(&s->queue_names, opts->queues, opts->queue_count);
    if (!rc && s->operations.n)
        rc = register_db(s, reg, opts);
    if (!rc && s->cache_names.n)
        rc = register_caches(s, reg, opts->prefix);
    if (!rc && s->queue_names.n)
        rc = register_queues(s, reg, opts);
    if (rc) {
        sonde_store_free(s);
        return rc;
    }
    *out = s;
    return SONDE_OK;
}

void sonde_store_free(sonde_store *s)
{
    if (!s)
        return;
    size_t pairs = s->queries_by_pair ? s->operations.n * s->tables.n : 0;
    for (size_t i = 0; i < pairs; i++)
        free(atomic_load(&s->queries_by_pair[i]));
    free(s->queries_by_pair);
    free(s->caches);
    free(s->queues);
    sonde_metric *fams[] = {s->queries, s->query_duration, s->connections, s->hits,
                            s->misses,  s->evictions,      s->size_items,  s->size_bytes,
                            s->depth,   s->wait,           s->jobs};
    for (size_t i = 0; i < sizeof fams / sizeof fams[0]; i++)
        sonde_internal_metric_disown(fams[i]);
    names_free(&s->operations);
    names_free(&s->tables);
    names_free(&s->cache_names);
    names_free(&s->queue_names);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static int query_new(sonde_store *s, size_t op, size_t table, sonde_db_query **out)
{
    sonde_db_query *q = calloc(1, sizeof *q);
    if (!q)
        return SONDE_ENOMEM;
    q->store = s;
    q->operation = s->operations.v[op];
    q->table = s->tables.v[table];
    const char *values[2] = {q->operation, q->table};
    int rc = store_child(s->query_duration, values, (void **)&q->duration);
    if (rc) {
        free(q);
        q = NULL;
    }
    *out = q;
    return rc;
}

int sonde_store_query(sonde_store *s, const char *operation, const char *table,
                      sonde_db_query **out)
{
    if (!out || !operation || !table)
        return SONDE_EINVAL;
    *out = NULL;
    if (!s)
        return SONDE_OK;
    long op = store_name_index(&s->operations, operation);
    long tb = store_name_index(&s->tables, table);
    if (op < 0 || tb < 0) {
        sonde_internal_label_rejected(s->queries, "unregistered");
        return SONDE_EUNLISTED;
    }
    _Atomic(sonde_db_query *) *slot = &s->queries_by_pair[(size_t)op * s->tables.n + (size_t)tb];
    sonde_db_query *q = atomic_load_explicit(slot, memory_order_acquire);
    int rc = SONDE_OK;
    if (!q) {
        pthread_mutex_lock(&s->lock);
        if (!(q = atomic_load_explicit(slot, memory_order_relaxed)) &&
            !(rc = query_new(s, (size_t)op, (size_t)tb, &q)))
            atomic_store_explicit(slot, q, memory_order_release);
        pthread_mutex_unlock(&s->lock);
    }
    *out = q;
    return rc;
}

int sonde_store_cache(sonde_store *s, const char *name, sonde_cache **out)
{
    if (!out || !name)
        return SONDE_EINVAL;
    *out = NULL;
    if (!s)
        return SONDE_OK;
    long i = store_name_index(&s->cache_names, name);
    if (i < 0) {
        sonde_internal_label_rejected(s->hits, "unregistered");
        return SONDE_EUNLISTED;
    }
    *out = &s->caches[i];
    return SONDE_OK;
}

int sonde_store_queue(sonde_store *s, const char *name, sonde_queue **out)
{
    if (!out || !name)
        return SONDE_EINVAL;
    *out = NULL;
    if (!s)
        return SONDE_OK;
    long i = store_name_index(&s->queue_names, name);
    if (i < 0) {
        sonde_internal_label_rejected(s->jobs, "unregistered");
        return SONDE_EUNLISTED;
    }
    *out = &s->queues[i];
    return SONDE_OK;
}
