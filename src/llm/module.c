/*
 * module.c - creating and freeing an LLM module: options, the family
 * registration (families.c), the route and series caches (map.h) bounded by
 * the cardinality limit, and the count of calls still open, which is the
 * sum of the routes' open counts (kept per route so that begins of
 * different routes do not share one contended counter). Each module gets a
 * process-unique id, which the per-thread route memo (route.c) checks.
 */
#include <stdlib.h>
#include <string.h>

#include "llm_internal.h"

#define PREFIX_MAX 200

static void llm_destroy(sonde_llm *llm)
{
    llm_families_release(llm);
    sonde_internal_map_destroy(&llm->routes, free);
    sonde_internal_map_destroy(&llm->series, free);
    sonde_llm_prices_free(llm->prices);
    pthread_mutex_destroy(&llm->lock);
    free(llm);
}

int sonde_llm_new(sonde_registry *reg, const sonde_llm_opts *opts, sonde_llm **out)
{
    if (!out)
        return SONDE_EINVAL;
    *out = NULL;
    if (!reg)
        return SONDE_EINVAL;
    sonde_llm_opts o = {0};
    if (opts)
        o = *opts;
    if (o.roles & ~(SONDE_LLM_CLIENT | SONDE_LLM_SERVER))
        return SONDE_EINVAL;
    if (o.prefix && *o.prefix &&
        (strlen(o.prefix) > PREFIX_MAX || !sonde_valid_metric_name(o.prefix)))
        return SONDE_ENAME;
    size_t limit = o.cardinality_limit;
    if (!limit)
        limit = sonde_registry_config(reg)->cardinality_limit;
    if (!limit)
        limit = SONDE_DEFAULT_CARDINALITY_LIMIT;

    sonde_llm *llm = calloc(1, sizeof *llm);
    if (!llm)
        return SONDE_ENOMEM;
    static _Atomic uint64_t next_id = 1;
    pthread_mutex_init(&llm->lock, NULL);
    llm->id = atomic_fetch_add(&next_id, 1);
    llm->reg = reg;
    llm->roles = o.roles ? o.roles : SONDE_LLM_CLIENT | SONDE_LLM_SERVER;
    llm->legacy = o.legacy_system_label != 0;
    llm->native = o.native_histograms != 0;
    llm->limit = limit;
    llm->tracer = o.tracer;
    llm->capture = o.tracer && (o.capture_message_content > 0 ||
                                (o.capture_message_content == 0 && llm_capture_from_env()));
    int rc = SONDE_ENOMEM;
    if (o.prices && (rc = llm_prices_copy(o.prices, &llm->prices)))
        goto fail;
    rc = SONDE_ENOMEM;
    if (sonde_internal_map_init(&llm->routes, limit, SONDE_MAP_PRESIZED) ||
        sonde_internal_map_init(&llm->series, limit, SONDE_MAP_PRESIZED))
        goto fail;
    if ((rc = llm_families_register(llm, o.prefix, limit)))
        goto fail;
    *out = llm;
    return SONDE_OK;
fail:
    llm_destroy(llm);
    return rc;
}

static void add_open(void *entry, void *ud)
{
    const llm_route *r = entry;
    *(size_t *)ud += (size_t)__atomic_load_n(&r->open, __ATOMIC_ACQUIRE);
}

size_t sonde_llm_open_calls(const sonde_llm *llm)
{
    if (!llm)
        return 0;
    size_t open = 0;
    sonde_internal_map_foreach(&llm->routes, add_open, &open);
    return open;
}

size_t sonde_llm_free(sonde_llm *llm)
{
    if (!llm)
        return 0;
    size_t open = sonde_llm_open_calls(llm);
    llm_destroy(llm);
    return open;
}
