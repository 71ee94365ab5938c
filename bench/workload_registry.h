/*
 * workload_registry.h - the registry of the exposition workloads of
 * shared/bench/WORKLOADS.md, shared by the benchmarks that render or encode
 * it: 100,000 children of the counter http_requests_total{method,path,status}
 * (path distinct per child) and 10,000 children of the histogram
 * http_request_duration_seconds{method,path} with the default buckets,
 * observed with the workloads' 1024 pseudo-random values in [0, 12) (the same
 * generator as the Go peer).
 */
#ifndef SONDE_BENCH_WORKLOAD_REGISTRY_H
#define SONDE_BENCH_WORKLOAD_REGISTRY_H

#include <stdint.h>
#include <stdio.h>

#include <sonde/sonde.h>

#define WORKLOAD_COUNTER_CHILDREN 100000
#define WORKLOAD_HISTOGRAM_CHILDREN 10000

static inline void workload_values(double values[1024])
{
    uint32_t x = 12345;
    for (int i = 0; i < 1024; i++) {
        x = x * 1664525u + 1013904223u;
        values[i] = (double)(x % 12000) / 1000.0;
    }
}

/* A new registry (no process metrics) holding the workload's series; NULL on failure. */
static inline sonde_registry *workload_registry_new(void)
{
    double values[1024];
    workload_values(values);
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    cfg.cardinality_limit = 1000000;
    sonde_registry *reg;
    if (sonde_registry_new(&cfg, &reg))
        return NULL;
    static const char *const lnames[] = {"method", "path", "status"};
    static const char *const hnames[] = {"method", "path"};
    sonde_metric *ec, *eh;
    sonde_metric_opts co = {.type = SONDE_COUNTER, .name = "http_requests_total", .help = "Total HTTP requests",
                            .label_names = lnames, .label_count = 3};
    sonde_metric_opts ho = {.type = SONDE_HISTOGRAM, .name = "http_request_duration_seconds",
                            .help = "HTTP request latency", .label_names = hnames, .label_count = 2,
                            .buckets = SONDE_BUCKETS_DEFAULT};
    if (sonde_register(reg, &co, &ec) || sonde_register(reg, &ho, &eh)) {
        sonde_registry_free(reg);
        return NULL;
    }
    char path[64];
    for (int i = 0; i < WORKLOAD_COUNTER_CHILDREN; i++) {
        snprintf(path, sizeof path, "/api/v1/items/%d", i);
        sonde_counter_add(sonde_counter_with(ec, (const char *[]){"GET", path, "200"}), i);
    }
    for (int i = 0; i < WORKLOAD_HISTOGRAM_CHILDREN; i++) {
        snprintf(path, sizeof path, "/api/v1/items/%d", i);
        sonde_histogram_observe(sonde_histogram_with(eh, (const char *[]){"GET", path}), values[i & 1023]);
    }
    return reg;
}

#endif
