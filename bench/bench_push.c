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

#include "workload_registry.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
    sonde_registry *reg = workload_registry_new();
    if (!reg)
        return 1;
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
