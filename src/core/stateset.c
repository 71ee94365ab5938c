/*
 * stateset.c - statesets and infos. A stateset child keeps one bit per
 * state in an atomic word; an info child is a constant series of value 1
 * whose label values are the information.
 */
#include <string.h>

#include "internal.h"

static int state_index(const sonde_family *f, const char *state)
{
    for (size_t i = 0; state && i < f->state_count; i++)
        if (strcmp(f->states[i], state) == 0)
            return (int)i;
    return -1;
}

int sonde_stateset_set(sonde_stateset *s, const char *state)
{
    sonde_child *c = (sonde_child *)s;
    if (!c)
        return SONDE_EINVAL;
    int i = state_index(c->fam, state);
    if (i < 0)
        return SONDE_ENOENT;
    atomic_store_explicit(&c->v.states, 1ull << i, memory_order_relaxed);
    return SONDE_OK;
}

int sonde_stateset_set_state(sonde_stateset *s, const char *state, int value)
{
    sonde_child *c = (sonde_child *)s;
    if (!c)
        return SONDE_EINVAL;
    int i = state_index(c->fam, state);
    if (i < 0)
        return SONDE_ENOENT;
    if (value)
        atomic_fetch_or_explicit(&c->v.states, 1ull << i, memory_order_relaxed);
    else
        atomic_fetch_and_explicit(&c->v.states, ~(1ull << i), memory_order_relaxed);
    return SONDE_OK;
}

int sonde_info_set(sonde_metric *m, const char *const *values)
{
    sonde_family *f = (sonde_family *)m;
    if (!f)
        return SONDE_OK; /* disabled registry */
    if (f->type != SONDE_INFO)
        return SONDE_ETYPE;
    void *child;
    return sonde_metric_child(m, values, &child);
}
