/*
 * values.c - creating and releasing the value storage of one child, by
 * family type: cells for counters and histograms (cells.h), a quantile
 * stream for summaries, native buckets for histograms that have them
 * (native.c), nothing extra for gauges, statesets and infos
 * (their value lives in the child itself).
 */
#include "internal.h"

int sonde_child_values_init(sonde_child *c)
{
    const sonde_family *f = c->fam;
    if (f->cells_per_child) {
        uint32_t base;
        int rc = sonde_cells_alloc(f->cells_per_child, &base);
        if (rc)
            return rc;
        c->cell = base + f->cells_lead;
    }
    if (f->type == SONDE_SUMMARY) {
        c->v.summary = sonde_summary_state_new(f);
        if (!c->v.summary) {
            sonde_child_cells_release(c);
            return SONDE_ENOMEM;
        }
    }
    if (f->native && sonde_native_state_new(c)) {
        sonde_child_cells_release(c);
        return SONDE_ENOMEM;
    }
    if (f->type == SONDE_INFO)
        atomic_store_explicit(&c->v.bits, sonde_double_to_bits(1.0), memory_order_relaxed);
    return SONDE_OK;
}

void sonde_child_cells_release(sonde_child *c)
{
    const sonde_family *f = c->fam;
    if (f->cells_per_child)
        sonde_cells_release(c->cell - f->cells_lead, f->cells_per_child);
}

void sonde_child_values_free(sonde_child *c)
{
    if (c->fam->native)
        sonde_native_state_free(c);
    if (c->fam->type == SONDE_SUMMARY && c->v.summary) {
        sonde_defer(sonde_summary_state_free, c->v.summary);
        c->v.summary = NULL;
    }
}
