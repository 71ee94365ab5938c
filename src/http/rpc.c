/*
 * rpc.c - gRPC-style call metrics: rpc_requests_total{method,code} and
 * rpc_request_duration_seconds{method}.
 *
 * A method handle holds its duration child and one counter per status code,
 * the counters created on first use. Handles live in a list that readers
 * walk without a lock (nodes are immutable once pushed with a release
 * store); creation takes the lock and checks again. Unary and streaming
 * calls are recorded alike, once, when they end.
 */
#include <stdlib.h>
#include <string.h>

#include "core_iface.h"
#include "http_internal.h"

struct sonde_rpc_method {
    struct sonde_rpc_method *next;
    sonde_rpc *rpc;
    sonde_histogram *duration;
    _Atomic(sonde_counter *) codes[SONDE_RPC_CODE_COUNT];
    char name[];
};

struct sonde_rpc {
    sonde_metric *requests, *duration;
    pthread_mutex_t lock;
    _Atomic(sonde_rpc_method *) methods;
};

static const char *const code_names[SONDE_RPC_CODE_COUNT] = {
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
    "UNAUTHENTICATED",
};

const char *sonde_rpc_code_name(int code)
{
    return code >= 0 && code < SONDE_RPC_CODE_COUNT ? code_names[code] : "UNKNOWN";
}

int sonde_rpc_code_parse(const char *name)
{
    for (int i = 0; name && i < SONDE_RPC_CODE_COUNT; i++)
        if (!sonde_internal_ascii_ncasecmp(name, code_names[i], SIZE_MAX))
            return i;
    return SONDE_EINVAL;
}

int sonde_rpc_new(const sonde_rpc_opts *opts, sonde_rpc **out)
{
    if (!out)
        return SONDE_EINVAL;
    *out = NULL;
    sonde_rpc_opts d;
    if (!opts) {
        memset(&d, 0, sizeof d);
        opts = &d;
    }
    sonde_registry *reg = opts->registry ? opts->registry : sonde_default_registry();
    sonde_rpc *r = calloc(1, sizeof *r);
    if (!r)
        return SONDE_ENOMEM;
    static const char *const labels[] = {"method", "code"};
    int rc = sonde_internal_family_shared(reg, opts->prefix, SONDE_COUNTER, "rpc_requests_total",
                                          "RPC calls by method and status code.", labels, 2,
                                          (sonde_buckets){0}, &r->requests);
    if (!rc)
        rc = sonde_internal_family_shared(
            reg, opts->prefix, SONDE_HISTOGRAM, "rpc_request_duration_seconds",
            "RPC call duration in seconds (whole stream for streaming calls).", labels, 1,
            opts->duration_buckets, &r->duration);
    if (rc) {
        free(r);
        return rc;
    }
    pthread_mutex_init(&r->lock, NULL);
    *out = r;
    return SONDE_OK;
}

void sonde_rpc_free(sonde_rpc *r)
{
    if (!r)
        return;
    sonde_rpc_method *m = atomic_load(&r->methods);
    while (m) {
        sonde_rpc_method *next = m->next;
        free(m);
        m = next;
    }
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static sonde_rpc_method *find(sonde_rpc *r, const char *name)
{
    for (sonde_rpc_method *m = atomic_load_explicit(&r->methods, memory_order_acquire); m;
         m = m->next)
        if (!strcmp(m->name, name))
            return m;
    return NULL;
}

sonde_rpc_method *sonde_rpc_method_get(sonde_rpc *r, const char *name)
{
    if (!r || !name)
        return NULL;
    sonde_rpc_method *m = find(r, name);
    if (m)
        return m;
    pthread_mutex_lock(&r->lock);
    m = find(r, name);
    if (!m) {
        const char *values[1] = {name};
        sonde_histogram *h = sonde_histogram_with(r->duration, values);
        size_t n = strlen(name);
        if (h && (m = calloc(1, sizeof *m + n + 1))) {
            m->rpc = r;
            m->duration = h;
            memcpy(m->name, name, n + 1);
            m->next = atomic_load_explicit(&r->methods, memory_order_relaxed);
            atomic_store_explicit(&r->methods, m, memory_order_release);
        }
    }
    pthread_mutex_unlock(&r->lock);
    return m;
}

void sonde_rpc_observe(sonde_rpc_method *m, int code, double seconds)
{
    if (!m)
        return;
    if (code < 0 || code >= SONDE_RPC_CODE_COUNT)
        code = SONDE_RPC_UNKNOWN;
    sonde_counter *c = atomic_load_explicit(&m->codes[code], memory_order_acquire);
    if (!c) {
        const char *values[2] = {m->name, code_names[code]};
        c = sonde_counter_with(m->rpc->requests, values); /* the same child for every racer */
        atomic_store_explicit(&m->codes[code], c, memory_order_release);
    }
    sonde_counter_inc(c);
    sonde_histogram_observe(m->duration, seconds);
}

sonde_rpc_call sonde_rpc_begin(sonde_rpc_method *m)
{
    sonde_rpc_call c = {m ? sonde_now_ns() : 0, m};
    return c;
}

void sonde_rpc_end(sonde_rpc_call *c, int code)
{
    if (!c || !c->method_)
        return;
    sonde_rpc_observe(c->method_, code, (double)(sonde_now_ns() - c->start_ns) / 1e9);
    c->method_ = NULL;
}
