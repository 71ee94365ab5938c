/*
 * byname.c - the by-name convenience layer: update a registered metric by
 * its name and a label map in any order. Each call finds the family (under
 * the registry lock), orders the label values after the family's label
 * names, and goes through the ordinary child lookup; it costs a lookup per
 * call, which is the price of not keeping handles. Each call is one epoch
 * read section (ebr.h) from the lookup of the family to the update of the
 * child, so a concurrent unregister or removal never frees what it uses.
 */
#include <string.h>

#include "internal.h"

static int resolve(sonde_registry *reg, const char *name, const sonde_label *labels, size_t n,
                   sonde_type type, void **child)
{
    *child = NULL;
    if (!reg || !name || (n && !labels))
        return SONDE_EINVAL;
    if (!reg->enabled)
        return SONDE_OK;
    sonde_family *f = (sonde_family *)sonde_registry_find(reg, name);
    if (!f)
        return SONDE_ENOENT;
    if (f->type != type)
        return SONDE_ETYPE;
    if (n != f->label_count || f->fn)
        return f->fn ? SONDE_ETYPE : SONDE_ELABELS;
    const char *values[SONDE_MAX_LABELS];
    for (size_t i = 0; i < f->label_count; i++) {
        values[i] = NULL;
        for (size_t j = 0; j < n; j++) {
            if (labels[j].name && strcmp(labels[j].name, f->label_names[i]) == 0) {
                if (values[i])
                    return SONDE_ELABELS; /* the same label twice */
                values[i] = labels[j].value;
            }
        }
        if (!values[i])
            return SONDE_ELABELS;
    }
    int rc = sonde_metric_child((sonde_metric *)f, values, child);
    return rc == SONDE_ELIMIT ? SONDE_OK : rc; /* the no-op child takes it, as with handles */
}

int sonde_inc(sonde_registry *reg, const char *name, const sonde_label *labels, size_t n)
{
    return sonde_add(reg, name, labels, n, 1.0);
}

static int add_in_section(sonde_registry *reg, const char *name, const sonde_label *labels, size_t n,
                          double v)
{
    void *c;
    int rc = resolve(reg, name, labels, n, SONDE_COUNTER, &c);
    if (rc == SONDE_ETYPE && (rc = resolve(reg, name, labels, n, SONDE_GAUGE, &c)) == SONDE_OK) {
        sonde_gauge_add(c, v);
        return SONDE_OK;
    }
    return rc ? rc : sonde_counter_add(c, v);
}

int sonde_add(sonde_registry *reg, const char *name, const sonde_label *labels, size_t n, double v)
{
    sonde_ebr_enter();
    int rc = add_in_section(reg, name, labels, n, v);
    sonde_ebr_leave();
    return rc;
}

int sonde_set(sonde_registry *reg, const char *name, const sonde_label *labels, size_t n, double v)
{
    void *c;
    sonde_ebr_enter();
    int rc = resolve(reg, name, labels, n, SONDE_GAUGE, &c);
    if (!rc)
        sonde_gauge_set(c, v);
    sonde_ebr_leave();
    return rc;
}

static int observe_in_section(sonde_registry *reg, const char *name, const sonde_label *labels,
                              size_t n, double v)
{
    void *c;
    int rc = resolve(reg, name, labels, n, SONDE_HISTOGRAM, &c);
    if (rc == SONDE_ETYPE && (rc = resolve(reg, name, labels, n, SONDE_SUMMARY, &c)) == SONDE_OK) {
        sonde_summary_observe(c, v);
        return SONDE_OK;
    }
    if (!rc)
        sonde_histogram_observe(c, v);
    return rc;
}

int sonde_observe(sonde_registry *reg, const char *name, const sonde_label *labels, size_t n,
                  double v)
{
    sonde_ebr_enter();
    int rc = observe_in_section(reg, name, labels, n, v);
    sonde_ebr_leave();
    return rc;
}

/* The timer keeps the child as a handle: valid until the child is removed. */
static int timer_in_section(sonde_registry *reg, const char *name, const sonde_label *labels,
                            size_t n, sonde_timer *out)
{
    void *c;
    int rc = resolve(reg, name, labels, n, SONDE_HISTOGRAM, &c);
    if (!rc) {
        *out = sonde_timer_histogram(c);
        return SONDE_OK;
    }
    if (rc == SONDE_ETYPE && (rc = resolve(reg, name, labels, n, SONDE_SUMMARY, &c)) == SONDE_OK) {
        *out = sonde_timer_summary(c);
        return SONDE_OK;
    }
    *out = sonde_timer_histogram(NULL);
    return rc;
}

int sonde_timer_start(sonde_registry *reg, const char *name, const sonde_label *labels, size_t n,
                      sonde_timer *out)
{
    if (!out)
        return SONDE_EINVAL;
    sonde_ebr_enter();
    int rc = timer_in_section(reg, name, labels, n, out);
    sonde_ebr_leave();
    return rc;
}
