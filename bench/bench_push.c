/*
 * bench_push.c - BENCH remote_write_encode_ms: the expose_text_ms registry of
 * bench_core.c (100,000 counter children of three labels, 10,000 histogram
 * children of two labels with the default buckets), encoded into one remote
 * write 1.0 WriteRequest and snappy-compressed as the sender sends it, best
 * of 5. Compare with client_golang's expose_text_ms in the same sitting.
 */
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <sonde/push.h>
#include <sonde/sonde.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
    static double values[1024];
    uint32_t x = 12345;
    for (int i = 0; i < 1024; i++) { /* the same values as bench_core.c and the Go peer */
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
    double best = 1e9;
    size_t raw = 0, compressed = 0, samples = 0;
    for (int r = 0; r < 5; r++) {
        double start = now_s();
        char *pb;
        size_t len;
        if (sonde_remote_write_encode(reg, NULL, 0, 1700000000000, &pb, &len, &samples))
            return 1;
        size_t zl = snappy_max_compressed_length(len);
        char *z = malloc(zl);
        if (!z || snappy_compress(pb, len, z, &zl) != SNAPPY_OK)
            return 1;
        double ms = (now_s() - start) * 1e3;
        if (ms < best)
            best = ms;
        raw = len;
        compressed = zl;
        free(pb);
        free(z);
    }
    printf("BENCH remote_write_encode_ms %.2f\n", best);
    printf("BENCH remote_write_encode_bytes %zu\n", compressed);
    fprintf(stderr, "remote_write_encode: %zu samples, %zu bytes protobuf, %zu snappy\n", samples, raw,
            compressed);
    sonde_registry_free(reg);
    return 0;
}
