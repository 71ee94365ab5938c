/*
 * buckets.c - histogram bucket presets and generators, and the lookup table
 * of a family's bounds (internal.h, sonde_bucket_table). The GenAI presets are
 * the advised boundaries of the OpenTelemetry GenAI semantic conventions.
 * The long-duration preset reaches an hour for workflows and agent runs
 * (roughly 1-2.5-5 steps up to a minute, then the minute marks an operator
 * reads alerts in: 2, 5, 10, 20, 30, 60 minutes); the throughput preset
 * covers 1 to 10000 units (tokens, items) per second in 1-2.5-5 steps, from a
 * slow local model to a batched embedding job.
 */
#include <math.h>
#include <stdlib.h>

#include "internal.h"

static const double default_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
static const double size_bounds[] = {100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
static const double token_bounds[] = {1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144,
                                      1048576, 4194304, 16777216, 67108864};
static const double duration_bounds[] = {0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64,
                                         1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92};
static const double ttft_bounds[] = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,
                                     0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10};
static const double tpot_bounds[] = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,
                                     0.3, 0.4, 0.5, 0.75, 1, 2.5};

static const double long_duration_bounds[] = {0.1, 0.25, 0.5, 1,   2.5, 5,    10,   30,
                                              60,  120,  300, 600, 1200, 1800, 3600};
static const double throughput_bounds[] = {1,   2.5,  5,    10,   25,   50,   100,
                                           250, 500, 1000, 2500, 5000, 10000};

#define PRESET(arr) {arr, sizeof arr / sizeof arr[0]}
const sonde_buckets SONDE_BUCKETS_DEFAULT = PRESET(default_bounds);
const sonde_buckets SONDE_BUCKETS_SIZE = PRESET(size_bounds);
const sonde_buckets SONDE_BUCKETS_LLM_TOKENS = PRESET(token_bounds);
const sonde_buckets SONDE_BUCKETS_LLM_DURATION = PRESET(duration_bounds);
const sonde_buckets SONDE_BUCKETS_LLM_TTFT = PRESET(ttft_bounds);
const sonde_buckets SONDE_BUCKETS_LLM_TPOT = PRESET(tpot_bounds);
const sonde_buckets SONDE_BUCKETS_LONG_DURATION = PRESET(long_duration_bounds);
const sonde_buckets SONDE_BUCKETS_THROUGHPUT = PRESET(throughput_bounds);

int sonde_buckets_linear(double start, double width, size_t count, double *out)
{
    if (!out || count == 0 || count > SONDE_MAX_BUCKETS || !(width > 0) || !isfinite(start) ||
        !isfinite(width))
        return SONDE_EINVAL;
    for (size_t i = 0; i < count; i++)
        out[i] = start + width * (double)i;
    return SONDE_OK;
}

int sonde_buckets_exponential(double start, double factor, size_t count, double *out)
{
    if (!out || count == 0 || count > SONDE_MAX_BUCKETS || !(start > 0) || !(factor > 1) ||
        !isfinite(start) || !isfinite(factor))
        return SONDE_EINVAL;
    double v = start;
    for (size_t i = 0; i < count; i++, v *= factor) {
        if (!isfinite(v))
            return SONDE_EINVAL;
        out[i] = v;
    }
    return SONDE_OK;
}

/* Bounds must be finite (a trailing +Inf is tolerated by the caller) and strictly increasing. */
int sonde_buckets_check(const double *bounds, size_t count)
{
    if (!bounds || count == 0 || count > SONDE_MAX_BUCKETS)
        return SONDE_EINVAL;
    for (size_t i = 0; i < count; i++) {
        if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1])))
            return SONDE_EINVAL;
    }
    return SONDE_OK;
}

/* The cells are monotonic in v for non-negative doubles (their bits order as integers), so
 * with bounds[0] >= +0 the bounds fill the cells in order. slots[k].below counts the bounds
 * in the cells before k: a value in cell k is above all of those (a lower cell holds only
 * lower doubles, and -0 < +0 never occurs as no bound is -0), below those of later cells,
 * and the one bound its cell may hold, bounds[below], is compared (slots[k].bound). Values
 * clamped to the end cells (min and max: values below bounds[0] or above bounds[n - 1], the
 * infinities, -0) compare with bounds[0] (below 0) and bounds[n - 1] (the only bound of the
 * top cell), so below never passes the last bound. One bound per cell and at most
 * SONDE_BUCKET_TABLE_MAX (256) cells: at most 4 kB a family. */
int sonde_bucket_table_build(const double *bounds, size_t n, sonde_bucket_table *t)
{
    t->slots = NULL;
    t->at = 0; /* what the hot path tests: no table */
    if (n == 0 || signbit(bounds[0]))
        return SONDE_OK;
    int64_t lo = sonde_bucket_cell(bounds[0]), top = sonde_bucket_cell(bounds[n - 1]);
    if (top - lo >= SONDE_BUCKET_TABLE_MAX)
        return SONDE_OK;
    size_t cells = (size_t)(top - lo) + 1; /* bounds increase: top >= lo */
    for (size_t i = 1; i < n; i++)
        if (sonde_bucket_cell(bounds[i]) == sonde_bucket_cell(bounds[i - 1]))
            return SONDE_OK;
    sonde_bucket_slot *slots = malloc(cells * sizeof *slots);
    if (!slots)
        return SONDE_ENOMEM;
    size_t below = 0;
    for (size_t k = 0; k < cells; k++) {
        while (below < n && sonde_bucket_cell(bounds[below]) < lo + (int64_t)k)
            below++;
        slots[k].below = below;
        slots[k].bound = bounds[below]; /* below < n: the top cell holds bounds[n - 1] */
    }
    t->slots = slots;
    t->at = (uintptr_t)slots - (uintptr_t)lo * sizeof *slots;
    /* the first double of cell lo and the last of cell top (both non-negative) */
    t->min = sonde_bits_to_double((uint64_t)lo << SONDE_BUCKET_CELL_SHIFT);
    t->max = sonde_bits_to_double(((uint64_t)top << SONDE_BUCKET_CELL_SHIFT) |
                                  (((uint64_t)1 << SONDE_BUCKET_CELL_SHIFT) - 1));
    return SONDE_OK;
}
