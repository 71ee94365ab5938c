/*
 * registry_fixture.h - the registry most unit tests start from: the default
 * configuration without process metrics, whose series (CPU time, memory,
 * open files) would change between two expositions a test compares; and
 * new_family(), a family registered on it with the help text "Test.". A
 * failed creation is a failed CHECK and a NULL registry or family, which
 * every sonde call takes as a no-op, so the test reports and goes on.
 */
#ifndef SONDE_REGISTRY_FIXTURE_H
#define SONDE_REGISTRY_FIXTURE_H

#include "check.h"
#include "sonde/sonde.h"

static inline sonde_registry *new_reg(void)
{
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    sonde_registry *r = NULL;
    CHECK_EQ_INT(sonde_registry_new(&cfg, &r), SONDE_OK);
    return r;
}

/* bounds/nb: a histogram's buckets (NULL, 0 for the defaults or another type) */
static inline sonde_metric *new_family(sonde_registry *r, sonde_type type, const char *name,
                                       const char *const *labels, size_t n, const double *bounds,
                                       size_t nb)
{
    sonde_metric_opts o = {0};
    o.type = type;
    o.name = name;
    o.help = "Test.";
    o.label_names = labels;
    o.label_count = n;
    o.buckets.bounds = bounds;
    o.buckets.count = nb;
    sonde_metric *m = NULL;
    CHECK_EQ_INT(sonde_register(r, &o, &m), SONDE_OK);
    return m;
}

#endif
