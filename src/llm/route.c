/*
 * route.c - finding or creating the route of a call at begin (see
 * llm_internal.h). The lookup first compares the strings with the route the
 * calling thread last used with the same string pointers (a service passes
 * the same configured strings again and again), then hashes them as given
 * and probes the lock-free route map; only a tuple never seen before validates
 * its strings, normalises the provider, copies everything into one block
 * and looks up its in-flight gauge (calls per provider, agent and pipeline
 * runs per name; tools have none), under the module lock
 * (double-checked, so concurrent first calls of one tuple create one route).
 * With a tracer, the route also keeps its calls' span name (span.c).
 * The streams-in-flight gauge is looked up by the route's first streamed
 * call, so a provider never streamed from shows no streams series.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_internal.h"

typedef struct route_key {
    int kind, port;
    const char *op, *provider, *model, *addr, *name;
} route_key;

/* The calling thread's last routes, by the caller's string pointers (a hint only: a
 * route is used only when its strings match). module_id tells a live module's routes
 * from those of a freed one, as ids are never reused. */
#define MEMO_SLOTS 4
typedef struct memo_slot {
    uint64_t module_id;
    llm_route *route;
} memo_slot;
static __thread memo_slot memos[MEMO_SLOTS] __attribute__((tls_model("initial-exec")));

static uint64_t key_hash(const struct sonde_llm *llm, const route_key *k)
{
    sonde_hasher h;
    sonde_map_hasher(&llm->routes, &h);
    sonde_hasher_u64(&h, (uint64_t)k->kind << 32 | (uint32_t)k->port);
    llm_hash_str(&h, k->op);
    llm_hash_str(&h, k->provider);
    llm_hash_str(&h, k->model);
    llm_hash_str(&h, k->addr);
    llm_hash_str(&h, k->name);
    return sonde_hasher_end(&h);
}

static int key_match(const void *entry, const void *key)
{
    const llm_route *r = entry;
    const route_key *k = key;
    return r->kind == k->kind && r->port == k->port && llm_str_eq(r->op, k->op) &&
           llm_str_eq(r->provider, k->provider) && llm_str_eq(r->model, k->model) &&
           llm_str_eq(r->addr, k->addr) && llm_str_eq(r->name, k->name);
}

/* SONDE_OK, SONDE_ETOOLONG past the registry's label-value limit (nothing is stored), or
 * SONDE_EUTF8. */
static int check_value(const struct sonde_llm *llm, const char *s)
{
    return llm_label_value_check(llm, s);
}

/* Append s (NULL = "") to the blob at *p; returns where it starts. */
static const char *put(char **p, const char *s)
{
    const char *start = *p;
    size_t n = s ? strlen(s) : 0;
    memcpy(*p, s ? s : "", n + 1);
    *p += n + 1;
    return start;
}

static size_t len0(const char *s)
{
    return (s ? strlen(s) : 0) + 1;
}

static llm_route *route_new(struct sonde_llm *llm, const route_key *k, uint64_t hash,
                            const char *norm)
{
    size_t span_name = llm->tracer ? llm_span_name_size(k->kind, k->op, k->model, k->name) : 1;
    size_t size = len0(k->op) + len0(k->provider) + len0(k->model) + len0(k->addr) + len0(k->name) +
                  len0(norm) + span_name;
    llm_route *r = calloc(1, sizeof *r + size);
    if (!r)
        return NULL;
    r->hash = hash;
    r->kind = k->kind;
    r->port = k->port;
    r->llm = llm;
    char *p = r->blob;
    r->op = put(&p, k->op);
    r->provider = put(&p, k->provider);
    r->model = put(&p, k->model);
    r->addr = put(&p, k->addr);
    r->name = put(&p, k->name);
    r->norm = put(&p, norm);
    r->span_name = p;
    if (llm->tracer)
        llm_span_name(k->kind, k->op, k->model, k->name, p);
    else
        *p = '\0';
    if (k->port)
        snprintf(r->port_text, sizeof r->port_text, "%d", k->port);
    int gauge = k->kind == KIND_MODEL      ? F_IN_FLIGHT
                : k->kind == KIND_AGENT    ? F_AGENT_IN_FLIGHT
                : k->kind == KIND_PIPELINE ? F_PIPELINE_IN_FLIGHT
                                           : -1; /* tools: none */
    if (gauge >= 0 && llm->fam[gauge]) {
        const char *v[1] = {k->kind == KIND_MODEL ? r->norm : r->name};
        r->in_flight = sonde_gauge_with(llm->fam[gauge], v);
    }
    return r;
}

int llm_route_get(struct sonde_llm *llm, int kind, const char *op, const char *provider,
                  const char *model, const char *addr, int port, const char *name, llm_route **out)
{
    route_key k = {kind, port, op, provider, model, addr, name};
    memo_slot *memo =
        &memos[((uintptr_t)provider ^ (uintptr_t)model ^ (uintptr_t)name) >> 4 & (MEMO_SLOTS - 1)];
    if (memo->module_id == llm->id && key_match(memo->route, &k)) {
        *out = memo->route;
        return SONDE_OK;
    }
    uint64_t hash = key_hash(llm, &k);
    *out = sonde_map_find(&llm->routes, hash, key_match, &k);
    if (*out) {
        memo->module_id = llm->id;
        memo->route = *out;
        return SONDE_OK;
    }

    if (!op || !*op || port < 0 || port > 65535 ||
        (kind == KIND_MODEL && (!provider || !*provider)) ||
        (kind != KIND_MODEL && (!name || !*name)))
        return SONDE_EINVAL;
    int bad = check_value(llm, op);
    if (!bad) bad = check_value(llm, provider);
    if (!bad) bad = check_value(llm, model);
    if (!bad) bad = check_value(llm, addr);
    if (!bad) bad = check_value(llm, name);
    if (bad)
        return bad;
    char norm[LLM_PROVIDER_MAX + 1] = "";
    if (provider && *provider) {
        int rc = sonde_llm_provider_normalize(provider, norm, sizeof norm);
        if (rc)
            return rc;
    }

    int rc = SONDE_OK;
    pthread_mutex_lock(&llm->lock);
    *out = sonde_map_find(&llm->routes, hash, key_match, &k);
    if (!*out) {
        if (llm->routes.count >= llm->routes.max) {
            rc = SONDE_ELIMIT;
        } else if (!(*out = route_new(llm, &k, hash, norm))) {
            rc = SONDE_ENOMEM;
        } else if ((rc = sonde_internal_map_put(&llm->routes, *out))) {
            free(*out);
            *out = NULL;
        }
    }
    pthread_mutex_unlock(&llm->lock);
    return rc;
}

sonde_gauge *llm_route_streams(llm_route *r)
{
    sonde_gauge *g = __atomic_load_n(&r->streams, __ATOMIC_ACQUIRE);
    if (g || !r->llm->fam[F_STREAMS])
        return g;
    const char *v[1] = {r->norm};
    g = sonde_gauge_with(r->llm->fam[F_STREAMS], v);
    __atomic_store_n(&r->streams, g, __ATOMIC_RELEASE);
    return g;
}
