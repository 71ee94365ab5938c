/*
 * bench_otlp.c - BENCH otlp_metrics_encode_ms: the registry of the
 * expose_text_ms workload (shared/bench/WORKLOADS.md: 100,000 children of a
 * counter with labels method, path, status and 10,000 children of a
 * default-bucket histogram with labels method, path, observed with the Go
 * peer's values) exported by a metric reader: encoded as one OTLP
 * ExportMetricsServiceRequest and handed to an exporter that gzips it with
 * the OTLP transport's compressor, as the transport does before its POST,
 * and discards it; best of 5. Also prints the export without compression
 * (otlp_metrics_encode_raw_ms: the default, OTEL_EXPORTER_OTLP_COMPRESSION
 * unset) and the sizes (information).
 *
 * Usage: bench-otlp [WORKLOAD]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sonde/sonde.h>

#include "workload_registry.h"
#include "otlp_internal.h"

/* The exporter: gzip the request as the transport does before a POST (or not), keep nothing. */
typedef struct sink {
    int gzip;
    size_t raw, zipped, points;
} sink;

static int gzip_and_discard(void *ud, const void *request, size_t len, size_t points,
                            uint64_t deadline_ns, size_t *rejected)
{
    sink *k = ud;
    (void)deadline_ns;
    (void)rejected;
    k->raw = len;
    k->points = points;
    if (!k->gzip)
        return SONDE_OK;
    char *z;
    if (sonde_otlp_gzip(request, len, &z, &k->zipped))
        return SONDE_EIO;
    free(z);
    return SONDE_OK;
}

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
    sonde_registry *reg = workload_registry_new();
    if (!reg)
        return 1;
    sonde_metric_reader_opts ro;
    sonde_metric_reader_opts_init(&ro);
    ro.registry = reg;
    ro.read_env = 0;
    ro.service_name = "bench";
    ro.interval_ms = 86400000; /* exports only when asked */
    sink k = {0};
    ro.exporter = (sonde_metric_exporter){gzip_and_discard, NULL, &k};
    sonde_metric_reader *r;
    if (sonde_metric_reader_new(&ro, &r) || !r)
        return 1;
    double best = 1e9, best_raw = 1e9;
    for (int round = 0; round < 5; round++) {
        k.gzip = 1;
        double t0 = now_s();
        if (sonde_metric_reader_export(r, -1))
            return 1;
        double t1 = now_s();
        k.gzip = 0;
        if (sonde_metric_reader_export(r, -1))
            return 1;
        double t2 = now_s();
        if (t1 - t0 < best)
            best = t1 - t0;
        if (t2 - t1 < best_raw)
            best_raw = t2 - t1;
    }
    printf("BENCH otlp_metrics_encode_ms %.2f\n", best * 1e3);
    printf("BENCH otlp_metrics_encode_raw_ms %.2f\n", best_raw * 1e3); /* no compression (the default) */
    printf("BENCH otlp_metrics_bytes %zu\n", k.raw);
    printf("BENCH otlp_metrics_gzip_bytes %zu\n", k.zipped);
    fprintf(stderr, "(%zu data points)\n", k.points);
    sonde_metric_reader_free(r, 0);
    sonde_registry_free(reg);
    return 0;
}
