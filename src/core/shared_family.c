/*
 * shared_family.c - registering the families of the instrumentation helpers
 * (HTTP, RPC, WebSocket in libsonde-http; storage, caches, queues in
 * libsonde) under an optional prefix.
 *
 * Two helpers with the same prefix on one registry share their families:
 * when the name is taken, the existing family is used if its type and label
 * count match (SONDE_ETYPE / SONDE_ELABELS otherwise), so a service that
 * recreates its middleware (a reload) keeps counting into the same series.
 */
#include <stdio.h>
#include <string.h>

#include "core_iface.h"

int sonde_internal_family_shared(sonde_registry *reg, const char *prefix, sonde_type type,
                                 const char *name, const char *help, const char *const *labels,
                                 size_t label_count, sonde_buckets buckets, sonde_metric **out)
{
    char full[256];
    int n = prefix && prefix[0] ? snprintf(full, sizeof full, "%s_%s", prefix, name)
                                : snprintf(full, sizeof full, "%s", name);
    if (n < 0 || (size_t)n >= sizeof full)
        return SONDE_ENAME;
    sonde_metric_opts o;
    memset(&o, 0, sizeof o);
    o.type = type;
    o.name = full;
    o.help = help;
    o.label_names = labels;
    o.label_count = label_count;
    o.buckets = buckets;
    int rc = sonde_register(reg, &o, out);
    if (rc == SONDE_OK && *out)
        sonde_internal_metric_own(*out);
    if (rc != SONDE_EEXIST)
        return rc;
    sonde_metric *m = sonde_registry_find(reg, full);
    if (!m)
        return SONDE_EEXIST;
    if (sonde_metric_type(m) != type)
        return SONDE_ETYPE;
    if (sonde_metric_label_count(m) != label_count)
        return SONDE_ELABELS;
    sonde_internal_metric_own(m);
    *out = m;
    return SONDE_OK;
}
