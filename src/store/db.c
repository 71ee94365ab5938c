/*
 * db.c - database query metrics on a (operation, table) handle:
 * db_queries_total{operation,table,status} and
 * db_query_duration_seconds{operation,table}, recorded once when a query
 * ends (begin/end token, as sonde_rpc_begin/end), and the pool gauges
 * db_connections_current{state}.
 */
#include <math.h>

#include "store_internal.h"

void sonde_db_observe(sonde_db_query *q, int status, double seconds)
{
    if (!q)
        return;
    const char *names[2] = {q->operation, q->table};
    sonde_counter_inc(store_status_counter(q->status, q->store->queries, names, 2, status));
    if (seconds >= 0) /* false for NaN too */
        sonde_histogram_observe(q->duration, seconds);
}

sonde_db_call sonde_db_begin(sonde_db_query *q)
{
    sonde_db_call c = {q ? sonde_now_ns() : 0, q};
    return c;
}

void sonde_db_end(sonde_db_call *c, int status)
{
    if (!c || !c->query_)
        return;
    sonde_db_observe(c->query_, status, (double)(sonde_now_ns() - c->start_ns) / 1e9);
    c->query_ = NULL;
}

/* The gauge of one pool state, resolved on the first set. */
static sonde_gauge *conn_gauge(sonde_store *s, int state)
{
    static const char *const names[CONN_STATES] = {"idle", "in_use", "max"};
    sonde_gauge *g = atomic_load_explicit(&s->conn[state], memory_order_acquire);
    if (!g) {
        const char *v[1] = {names[state]};
        g = sonde_gauge_with(s->connections, v); /* the same child for every racer */
        atomic_store_explicit(&s->conn[state], g, memory_order_release);
    }
    return g;
}

void sonde_store_connections_set(sonde_store *s, int64_t idle, int64_t in_use, int64_t max)
{
    if (!s || !s->connections)
        return;
    /* all three series appear together, so that in_use / max never lacks its max */
    const int64_t v[CONN_STATES] = {idle, in_use, max};
    for (int i = 0; i < CONN_STATES; i++) {
        sonde_gauge *g = conn_gauge(s, i);
        if (v[i] >= 0)
            sonde_gauge_set(g, (double)v[i]);
    }
}
