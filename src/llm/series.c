/*
 * series.c - finding or creating the series of a call at end (see
 * llm_internal.h), and resolving every child handle such an end updates.
 *
 * The lookup first tries the series its route ended with last (most calls
 * of a route end alike), then hashes (route, status, response model, error
 * type, finish reason) and probes the lock-free series map. A new tuple is validated,
 * copied and priced once under the module lock. Its children are resolved
 * on first use (a call that streams nothing never creates the chunk
 * timings' series, an error without tokens no token series), then kept.
 * When the map is full the caller's transient series is used instead:
 * slower (one core lookup per family), but nothing is lost that the
 * families' own cardinality limits would keep.
 *
 * The service families' model label is the request model, or the response
 * model when the request named none. The price is the response model's,
 * else the request model's.
 */
#include <stdlib.h>
#include <string.h>

#include "llm_internal.h"

static uint64_t key_hash(const struct sonde_llm *llm, const llm_series_key *k)
{
    sonde_hasher h;
    sonde_map_hasher(&llm->series, &h);
    sonde_hasher_u64(&h, (uint64_t)(uintptr_t)k->route);
    sonde_hasher_u64(&h, (uint64_t)k->status);
    llm_hash_str(&h, k->resp_model);
    llm_hash_str(&h, k->error_type);
    llm_hash_str(&h, k->finish);
    return sonde_hasher_end(&h);
}

static int key_match(const void *entry, const void *key)
{
    const llm_series_key *a = &((const llm_series *)entry)->key, *b = key;
    return a->route == b->route && a->status == b->status &&
           llm_str_eq(a->resp_model, b->resp_model) && llm_str_eq(a->error_type, b->error_type) &&
           llm_str_eq(a->finish, b->finish);
}

/* Family and label values of a slot; returns the family index or -1 for none. */
static int slot_labels(const llm_series *s, int slot, const char **v)
{
    const llm_route *r = s->key.route;
    const struct sonde_llm *llm = s->llm;
    const char *resp = s->key.resp_model;
    const char *model = *r->model ? r->model : (resp ? resp : "");
    switch (slot) {
    case S_CLIENT_DURATION:
    case S_SERVER_DURATION:
        llm_genai_values(llm, r, resp, s->key.error_type, v);
        return slot == S_CLIENT_DURATION ? F_CLIENT_DURATION : F_SERVER_DURATION;
    case S_TOKEN_IN:
    case S_TOKEN_OUT:
        llm_genai_values(llm, r, resp, slot == S_TOKEN_IN ? "input" : "output", v);
        return F_TOKEN_USAGE;
    case S_TTFT: llm_genai_values(llm, r, resp, NULL, v); return F_TTFT;
    case S_TPOT: llm_genai_values(llm, r, resp, NULL, v); return F_TPOT;
    case S_TTFC: llm_genai_values(llm, r, resp, NULL, v); return F_TTFC;
    case S_TPOC: llm_genai_values(llm, r, resp, NULL, v); return F_TPOC;
    case S_NAME_TOTAL:
    case S_NAME_DURATION:
        v[0] = r->name;
        v[1] = llm_status_name(s->key.status);
        if (r->kind == KIND_TOOL)
            return slot == S_NAME_TOTAL ? F_TOOL_TOTAL : F_TOOL_DURATION;
        if (r->kind == KIND_PIPELINE)
            return slot == S_NAME_TOTAL ? F_PIPELINE_TOTAL : F_PIPELINE_DURATION;
        return slot == S_NAME_TOTAL ? F_AGENT_TOTAL : F_AGENT_DURATION;
    }
    v[0] = r->norm;
    v[1] = model;
    switch (slot) {
    case S_CALLS: v[2] = llm_status_name(s->key.status); return F_CALLS;
    case S_LATENCY: return F_LATENCY;
    case S_TOKENS_IN: v[2] = "input"; return F_TOKENS;
    case S_TOKENS_OUT: v[2] = "output"; return F_TOKENS;
    case S_COST: v[2] = s->currency; return s->currency ? F_COST : -1;
    case S_FINISH: v[2] = s->key.finish; return s->key.finish && *s->key.finish ? F_FINISH : -1;
    default: return -1;
    }
}

void *llm_series_resolve(llm_series *s, int slot)
{
    const char *v[10];
    int f = slot_labels(s, slot, v);
    sonde_metric *m = f >= 0 ? s->llm->fam[f] : NULL;
    void *child = NULL;
    if (!m || (sonde_metric_child(m, v, &child) != SONDE_OK && !child))
        return NULL;
    __atomic_store_n(&s->child[slot], child, __ATOMIC_RELEASE);
    return child;
}

/* The series' price: the response model's, else the request model's. */
static void fill_price(struct sonde_llm *llm, llm_series *s)
{
    s->llm = llm;
    const llm_route *r = s->key.route;
    double in, out;
    if (r->kind == KIND_MODEL && llm->fam[F_COST] &&
        (sonde_llm_prices_find(llm->prices, s->key.resp_model, &in, &out, &s->currency) ==
             SONDE_OK ||
         sonde_llm_prices_find(llm->prices, r->model, &in, &out, &s->currency) == SONDE_OK)) {
        s->price_in = in / 1e6;
        s->price_out = out / 1e6;
    }
}

static const char *put(char **p, const char *s)
{
    const char *start = *p;
    size_t n = s ? strlen(s) : 0;
    memcpy(*p, s ? s : "", n + 1);
    *p += n + 1;
    return start;
}

static llm_series *series_new(struct sonde_llm *llm, const llm_series_key *k, uint64_t hash)
{
    size_t size = 3 + (k->resp_model ? strlen(k->resp_model) : 0) +
                  (k->error_type ? strlen(k->error_type) : 0) + (k->finish ? strlen(k->finish) : 0);
    llm_series *s = calloc(1, sizeof *s + size);
    if (!s)
        return NULL;
    s->hash = hash;
    s->key = *k;
    char *p = s->blob;
    s->key.resp_model = put(&p, k->resp_model);
    s->key.error_type = put(&p, k->error_type);
    s->key.finish = put(&p, k->finish);
    fill_price(llm, s);
    return s;
}

int llm_label_value_check(const struct sonde_llm *llm, const char *s)
{
    if (!s)
        return SONDE_OK;
    const sonde_config *cfg = sonde_registry_config(llm->reg);
    size_t max = cfg && cfg->label_value_max ? cfg->label_value_max : SONDE_LABEL_VALUE_MAX;
    size_t len = max < SIZE_MAX / 2 ? strnlen(s, max + 1) : strlen(s);
    if (len > max)
        return SONDE_ETOOLONG;
    return sonde_valid_utf8(s, len) ? SONDE_OK : SONDE_EUTF8;
}

int llm_series_get(struct sonde_llm *llm, const llm_series_key *key, llm_series *tmp,
                   llm_series **out)
{
    llm_route *r = (llm_route *)key->route;
    llm_series *last = __atomic_load_n(&r->last, __ATOMIC_ACQUIRE);
    if (last && key_match(last, key)) {
        *out = last;
        return SONDE_OK;
    }
    uint64_t hash = key_hash(llm, key);
    int rc0;
    *out = sonde_map_find(&llm->series, hash, key_match, key);
    if (*out) {
        __atomic_store_n(&r->last, *out, __ATOMIC_RELEASE);
        return SONDE_OK;
    }
    if ((rc0 = llm_label_value_check(llm, key->resp_model)) ||
        (rc0 = llm_label_value_check(llm, key->error_type)) ||
        (rc0 = llm_label_value_check(llm, key->finish)))
        return rc0;

    int rc = SONDE_OK, full = 0;
    pthread_mutex_lock(&llm->lock);
    *out = sonde_map_find(&llm->series, hash, key_match, key);
    if (!*out) {
        if (llm->series.count >= llm->series.max) {
            full = 1;
        } else if (!(*out = series_new(llm, key, hash))) {
            rc = SONDE_ENOMEM;
        } else if ((rc = sonde_internal_map_put(&llm->series, *out))) {
            free(*out);
            *out = NULL;
        }
    }
    pthread_mutex_unlock(&llm->lock);
    if (full) {
        memset(tmp, 0, sizeof *tmp);
        tmp->key = *key;
        fill_price(llm, tmp);
        *out = tmp;
    }
    return rc;
}
