/*
 * stateset.c - statesets and infos. A stateset child keeps one bit per
 * state in an atomic word; an info child is a constant series of value 1
 * whose label values are the information.
 */
#include <string.h>

#include "internal.h"

/* The child behind s and the bit of state in it; SONDE_ENOENT for an unknown state. */
static int state_bit(sonde_stateset *s, const char *state, sonde_child **child, uint64_t *bit)
{
    sonde_child *c = (sonde_child *)s;
    *child = NULL;
    if (!c)
        return SONDE_OK; /* a NULL series is a no-op */
    if (!state)
        return SONDE_EINVAL;
    for (size_t i = 0; i < c->fam->state_count; i++) {
        if (strcmp(c->fam->states[i], state) == 0) {
            *child = c;
            *bit = 1ull << i;
            return SONDE_OK;
        }
    }
    return SONDE_ENOENT;
}

int sonde_stateset_set(sonde_stateset *s, const char *state)
{
    sonde_child *c;
    uint64_t bit;
    int rc = state_bit(s, state, &c, &bit);
    if (!rc && c)
        atomic_store_explicit(&c->v.states, bit, memory_order_relaxed);
    return rc;
}

int sonde_stateset_set_state(sonde_stateset *s, const char *state, int value)
{
    sonde_child *c;
    uint64_t bit;
    int rc = state_bit(s, state, &c, &bit);
    if (rc || !c)
        return rc;
    if (value)
        atomic_fetch_or_explicit(&c->v.states, bit, memory_order_relaxed);
    else
        atomic_fetch_and_explicit(&c->v.states, ~bit, memory_order_relaxed);
    return rc;
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
