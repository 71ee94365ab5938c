/*
 * bench_otlp.c - BENCH otlp_metrics_encode_ms: the registry of the
 * expose_text_ms workload (shared/bench/WORKLOADS.md: 100,000 children of a
 * counter with labels method, path, status and 10,000 children of a
 * default-bucket histogram with labels method, path, observed with the Go
 * peer's values) encoded as one OTLP ExportMetricsServiceRequest by a metric
 * reader and gzipped by the OTLP transport's compressor, as an export does
 * before its POST; best of 5. Also prints the encoding alone
 * (otlp_metrics_encode_raw_ms: an export with the default compression, none)
 * and the sizes (information).
 *
 * Usage: bench-otlp [WORKLOAD]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sonde/sonde.h>

#include "otlp_internal.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : NULL;
    if (only && strncmp(only, "otlp_metrics_", 13) != 0)
        return 0;
    double values[1024];
    uint32_t x = 12345;
    for (int i = 0; i < 1024; i++) { /* the same values as the Go peer */
        x = x * 1664525u + 1013904223u;
        values[i] = (double)(x % 12000) / 1000.0;
    }
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    cfg.cardinality_limit = 1000000;
    sonde_registry *reg;
    if (sonde_registry_new(&cfg, &reg))
        return 1;
    static const char *const lnames[] = {"method", "path", "status"};
    static const char *const hnames[] = {"method", "path"};
    sonde_metric *ec, *eh;
    sonde_metric_opts co = {.type = SONDE_COUNTER, .name = "http_requests_total", .help = "Total HTTP requests",
                            .label_names = lnames, .label_count = 3};
    sonde_metric_opts ho = {.type = SONDE_HISTOGRAM, .name = "http_request_duration_seconds",
                            .help = "HTTP request latency", .label_names = hnames, .label_count = 2,
                            .buckets = SONDE_BUCKETS_DEFAULT};
    if (sonde_register(reg, &co, &ec) || sonde_register(reg, &ho, &eh))
        return 1;
    char path[64];
    for (int i = 0; i < 100000; i++) {
        snprintf(path, sizeof path, "/api/v1/items/%d", i);
        sonde_counter_add(sonde_counter_with(ec, (const char *[]){"GET", path, "200"}), i);
    }
    for (int i = 0; i < 10000; i++) {
        snprintf(path, sizeof path, "/api/v1/items/%d", i);
        sonde_histogram_observe(sonde_histogram_with(eh, (const char *[]){"GET", path}), values[i & 1023]);
    }
    sonde_metric_reader_opts ro;
    sonde_metric_reader_opts_init(&ro);
    ro.registry = reg;
    ro.read_env = 0;
    ro.service_name = "bench";
    sonde_metric_reader *r;
    if (sonde_metric_reader_new(&ro, &r) || !r)
        return 1;
    double best = 1e9, best_raw = 1e9;
    size_t raw = 0, zipped = 0, points = 0;
    for (int round = 0; round < 5; round++) {
        double t0 = now_s();
        char *body, *z;
        size_t len, zlen;
        if (sonde_metric_reader_encode(r, &body, &len, &points))
            return 1;
        double t1 = now_s();
        if (sonde_otlp_gzip(body, len, &z, &zlen))
            return 1;
        if (t1 - t0 < best_raw)
            best_raw = t1 - t0;
        double ms = (now_s() - t0) * 1e3;
        if (ms < best)
            best = ms;
        raw = len;
        zipped = zlen;
        free(body);
        free(z);
    }
    printf("BENCH otlp_metrics_encode_ms %.2f\n", best);
    printf("BENCH otlp_metrics_encode_raw_ms %.2f\n", best_raw * 1e3); /* no compression (the default) */
    printf("BENCH otlp_metrics_bytes %zu\n", raw);
    printf("BENCH otlp_metrics_gzip_bytes %zu\n", zipped);
    fprintf(stderr, "(%zu data points)\n", points);
    sonde_metric_reader_free(r, 0);
    sonde_registry_free(reg);
    return 0;
}
