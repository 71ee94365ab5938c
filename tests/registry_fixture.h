/*
 * registry_fixture.h - the registry most unit tests start from: the default
 * configuration without process metrics, whose series (CPU time, memory,
 * open files) would change between two expositions a test compares. A
 * failed creation is a failed CHECK and a NULL registry, which every sonde
 * call takes as a no-op, so the test reports and goes on.
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

#endif
