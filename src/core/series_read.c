/*
 * series_read.c - the series of one family as values, for the console's
 * history sampler and API in libsonde-http (core_iface.h), which must not
 * see the data model. It reads the way the exposition does (expose.c): a
 * reference on the family taken under the registry lock, its children walked
 * without the family lock, cells summed without a lock, a scrape-time
 * value's fn called under the family lock. Exemplars are copied out of
 * exemplar.c's slots only when asked for.
 *
 * A native-only histogram has no classic buckets: it reads as one +Inf
 * bucket (its count) with its sum.
 */
#include <stdlib.h>
#include <string.h>

#include "exemplar.h"
#include "internal.h"

typedef struct series_reader {
    sonde_series_sample s;
    const char *values[SONDE_MAX_LABELS];
    double buckets[SONDE_MAX_BUCKETS + 1];
    uint64_t counts[SONDE_MAX_BUCKETS + 1];
    sonde_series_exemplar ex[SONDE_MAX_BUCKETS + 1];
    unsigned char present[SONDE_MAX_BUCKETS + 1];
} series_reader;

static void copy_exemplar(uint32_t cell, sonde_series_exemplar *out, unsigned char *present)
{
    sonde_exemplar e;
    *present = (unsigned char)sonde_exemplar_load(cell, &e);
    if (*present) {
        memcpy(out->trace_id, e.trace_id, sizeof out->trace_id);
        memcpy(out->span_id, e.span_id, sizeof out->span_id);
        out->value = e.value;
        out->unix_ns = e.unix_ns;
    }
}

static void read_child(series_reader *r, const sonde_family *f, sonde_child *c, int want_ex)
{
    sonde_series_sample *s = &r->s;
    s->family = f->name;
    s->type = f->type;
    s->label_names = (const char *const *)f->label_names;
    s->bounds = f->bounds;
    s->id = c;
    s->label_count = f->label_count;
    const char *p = c->blob;
    for (size_t i = 0; i < f->label_count; i++) {
        r->values[i] = p;
        p += strlen(p) + 1;
    }
    s->value = 0;
    s->buckets = NULL;
    s->bucket_count = 0;
    s->count = s->sum = 0;
    s->exemplars = want_ex ? r->ex : NULL;
    s->present = want_ex ? r->present : NULL;
    switch (f->type) {
    case SONDE_COUNTER:
        s->value = sonde_counter_cells_value(c->cell);
        if (want_ex)
            copy_exemplar(c->cell, &r->ex[0], &r->present[0]);
        break;
    case SONDE_GAUGE:
        s->value = sonde_gauge_value((sonde_gauge *)c);
        break;
    case SONDE_HISTOGRAM: {
        uint64_t count = 0;
        double sum = 0;
        sonde_histogram_read((sonde_histogram *)c, &count, &sum, r->counts);
        size_t nb = f->native && f->native->only ? 1 : f->bound_count + 1;
        for (size_t i = 0; i < nb; i++) {
            r->buckets[i] = (double)r->counts[i];
            if (want_ex) {
                if (nb > 1)
                    copy_exemplar(c->cell + (uint32_t)i, &r->ex[i], &r->present[i]);
                else
                    r->present[i] = 0;
            }
        }
        s->buckets = r->buckets;
        s->bucket_count = nb;
        s->count = (double)count;
        s->sum = sum;
        break;
    }
    case SONDE_SUMMARY: {
        uint64_t count = 0;
        double sum = 0;
        sonde_summary_read((sonde_summary *)c, &count, &sum);
        s->count = (double)count;
        s->sum = sum;
        break;
    }
    case SONDE_INFO:
        s->value = 1;
        break;
    case SONDE_STATESET:
        s->value = (double)atomic_load_explicit(&c->v.states, memory_order_relaxed);
        break;
    default:
        break;
    }
}

int sonde_internal_family_series(sonde_registry *reg, const char *name, int want_exemplars,
                                 sonde_series_fn fn, void *ud)
{
    if (!reg || !name || !fn)
        return SONDE_EINVAL;
    pthread_mutex_lock(&reg->lock);
    sonde_family *f = reg->enabled ? sonde_families_lookup(reg->fams, reg->fam_count, name) : NULL;
    if (f)
        atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&reg->lock);
    if (!f)
        return SONDE_ENOENT;
    series_reader *r = malloc(sizeof *r);
    if (!r) {
        sonde_family_release(f);
        return SONDE_ENOMEM;
    }
    r->s.label_values = r->values;
    if (f->fn) { /* one child; fn runs under the family's lock so that unregister waits */
        pthread_mutex_lock(&f->lock);
        int live = !f->unregistered;
        double v = live ? f->fn(f->fn_ud) : 0;
        pthread_mutex_unlock(&f->lock);
        if (live) {
            read_child(r, f, f->solo, 0);
            r->s.value = v;
            fn(ud, &r->s);
        }
    } else {
        sonde_family_walk w;
        sonde_family_walk_begin(f, &w);
        for (sonde_child *c = sonde_family_walk_next(&w); c; c = sonde_family_walk_next(&w)) {
            read_child(r, f, c, want_exemplars);
            if (fn(ud, &r->s))
                break;
        }
        sonde_family_walk_end(f);
    }
    free(r);
    sonde_family_release(f);
    return SONDE_OK;
}
