/*
 * native.h - native (sparse, exponential) histograms: the private model
 * shared by native.c (storage, hot path, snapshots) and the renderers.
 *
 * Bucket i of schema s (-4..8) holds (2^((i-1) 2^-s), 2^(i 2^-s)]; a zero
 * bucket holds |v| <= zero_threshold. See native.c for the storage design.
 */
#ifndef SONDE_NATIVE_H
#define SONDE_NATIVE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define SONDE_NATIVE_SCHEMA_MIN (-4)
#define SONDE_NATIVE_SCHEMA_MAX 8
#define SONDE_NATIVE_DEFAULT_ZERO 2.938735877055719e-39 /* 2^-128, as client_golang */
#define SONDE_NATIVE_DEFAULT_MAX_BUCKETS 160
#define SONDE_NATIVE_WINDOW_MIN 136  /* >= the 132 finite buckets of schema -4 */
#define SONDE_NATIVE_WINDOW_MAX 1024
#define SONDE_NATIVE_GENS 13         /* schemas 8 .. -4 */
#define SONDE_NATIVE_UNANCHORED INT32_MAX

/* A family's native options, validated and fixed at registration. */
typedef struct sonde_native_cfg {
    int schema;
    double zero_threshold;
    uint32_t max_buckets;  /* exposed buckets, both sides */
    uint32_t window;       /* buckets held per side in one generation */
    double max_zero_threshold;
    uint64_t min_reset_ns; /* 0: never reset */
    int only;              /* no classic buckets */
} sonde_native_cfg;

/* One generation: a cell range at one schema. Cells: [0] zero bucket, [1..W] positive
 * window, [W+1..2W] negative window, [2W+1] +Inf, [2W+2] -Inf, [2W+3] sum. */
typedef struct sonde_native_gen {
    uint32_t cell;
    int schema;
    _Atomic(int32_t) pos_lo, neg_lo; /* first index of each window; UNANCHORED until set once */
} sonde_native_gen;

typedef struct sonde_native_state {
    _Atomic(sonde_native_gen *) cur;
    pthread_mutex_t lock; /* new generations, resets, and the scrape's copy of the list */
    unsigned bank, count; /* gens[bank][0..count) are live */
    uint64_t reset_ns;    /* monotonic time of the last reset (or creation) */
    sonde_native_gen gens[2][SONDE_NATIVE_GENS];
} sonde_native_state;

/* A scrape's view of one series. Buckets sorted by index, counts > 0. */
typedef struct sonde_native_bucket {
    int32_t index;
    uint64_t count;
} sonde_native_bucket;

typedef struct sonde_native_snap {
    int schema;
    double zero_threshold;
    uint64_t zero_count, count;
    double sum;
    sonde_native_bucket *pos, *neg; /* owned by the snapshot (sonde_native_snap_free) */
    size_t pos_n, neg_n, cap_pos, cap_neg;
    int failed;
} sonde_native_snap;

struct sonde_child;
struct sonde_family;

/* Options -> cfg: SONDE_EINVAL on a bad option. */
int sonde_native_cfg_init(sonde_native_cfg *cfg, const struct sonde_native_opts *o);
/* cells per generation of a family */
static inline uint32_t sonde_native_gen_cells(const sonde_native_cfg *cfg) { return 2 * cfg->window + 4; }

int sonde_native_state_new(struct sonde_child *c);
void sonde_native_state_free(struct sonde_child *c);


/* Read the series: buckets at one schema, the exposition's bucket limit applied (zero
 * bucket widened up to max_zero_threshold, then the schema lowered). Reuses snap's arrays;
 * SONDE_ENOMEM (snap->failed) when they could not grow. */
int sonde_native_snapshot(struct sonde_child *c, sonde_native_snap *snap);
void sonde_native_snap_free(sonde_native_snap *snap);

/* The upper bound of bucket i at schema s. */
double sonde_native_upper_bound(int32_t index, int schema);
/* The schema of a bucket factor (> 1): the lowest in -4..8 whose 2^(2^-s) is <= factor
 * (8 when none is), as client_golang picks it: 1.1 -> 3. */
int sonde_native_schema_for_factor(double factor);

/* ---- the hot path (inline: histogram.c; the tests use the index) ------ */

#include <math.h>

#include "cells.h"

/* native.c's bound tables (see there), filled by sonde_native_cfg_init before any use */
/* The index tables of native.c (schemas 1 to SONDE_NATIVE_SCHEMA_MAX): mbound[s][i] the
 * mantissa of the bound 2^(i/2^s), 1 <= i < 2^s, and past those all ones, so that the hot
 * path's compare with the next bound needs no range check; below[s][j] the bounds below
 * j << SONDE_NATIVE_SLOT_SHIFT, for the top mantissa bits j (one shift for every schema). */
#define SONDE_NATIVE_SLOT_BITS (SONDE_NATIVE_SCHEMA_MAX + 1)
#define SONDE_NATIVE_SLOT_SHIFT (52 - SONDE_NATIVE_SLOT_BITS)
extern uint64_t sonde_native_mbound[SONDE_NATIVE_SCHEMA_MAX + 1][(1 << SONDE_NATIVE_SCHEMA_MAX) + 1];
extern uint16_t sonde_native_below[SONDE_NATIVE_SCHEMA_MAX + 1][1 << SONDE_NATIVE_SLOT_BITS];

/* ceil(key / 2^k): the index at a schema k steps lower. */
static inline int32_t sonde_native_index_down(int32_t key, int k)
{
    return (int32_t)(((int64_t)key + ((INT64_C(1) << k) - 1)) >> k); /* arithmetic shift */
}

/* The bucket index of a > 0 (finite) at schema s (native.c explains the method). */
static inline int32_t sonde_native_index(double a, int s)
{
    uint64_t bits = sonde_double_to_bits(a);
    int e = (int)(bits >> 52), scaled = 0;
    if (__builtin_expect(e == 0, 0)) { /* subnormal: scale into the normal range */
        bits = sonde_double_to_bits(a * 0x1p64);
        e = (int)(bits >> 52);
        scaled = 64;
    }
    int exp = e - 1022 - scaled; /* a = frac 2^exp, frac in [0.5, 1) */
    uint64_t m = bits & ((UINT64_C(1) << 52) - 1);
    if (s <= 0)
        return sonde_native_index_down(exp - (m == 0), -s);
    uint32_t c = sonde_native_below[s][m >> SONDE_NATIVE_SLOT_SHIFT];
    c += sonde_native_mbound[s][c + 1] < m;
    return (int32_t)((m != 0) + c) + (exp - 1) * (int32_t)(1u << s);
}

static inline void sonde_native_add(uint32_t base, uint32_t slot, uint32_t sum_slot, uint64_t n, double v)
{
    sonde_cell *cells = sonde_cell_private(base);
    if (__builtin_expect(cells == NULL, 0)) {
        sonde_cells_add(base + slot, n, base + sum_slot, v);
        return;
    }
    sonde_cell_add_u64(&cells[slot], n);
    sonde_cell_add_f64(&cells[sum_slot], v);
}

/* The cell slot of v in g, or 0 with *outside set when v's bucket is outside g's window. */
static inline uint32_t sonde_native_slot(const sonde_native_gen *g, const sonde_native_cfg *cfg, double v,
                                         int *outside)
{
    double a = fabs(v);
    uint32_t w = cfg->window;
    if (a <= cfg->zero_threshold)
        return 0;
    if (__builtin_expect(isinf(a), 0))
        return 2 * w + 1 + (v < 0);
    int32_t key = sonde_native_index(a, g->schema);
    int32_t lo = atomic_load_explicit(v > 0 ? &g->pos_lo : &g->neg_lo, memory_order_relaxed);
    uint64_t off = (uint64_t)((int64_t)key - lo);
    if (__builtin_expect(off >= w, 0)) {
        *outside = 1;
        return 0;
    }
    return 1 + (uint32_t)off + (v < 0 ? w : 0);
}

/* The rare path: a value outside the current window (new generation, reset). */
void sonde_native_observe_slow(struct sonde_child *c, double v, uint64_t n);

/* n observations of v (not NaN) into state ns of a family with cfg. */
static inline void sonde_native_observe(struct sonde_child *c, sonde_native_state *ns, const sonde_native_cfg *cfg,
                                        double v, uint64_t n)
{
    sonde_native_gen *g = atomic_load_explicit(&ns->cur, memory_order_acquire);
    int outside = 0;
    uint32_t slot = sonde_native_slot(g, cfg, v, &outside);
    if (__builtin_expect(outside, 0)) {
        sonde_native_observe_slow(c, v, n);
        return;
    }
    sonde_native_add(g->cell, slot, 2 * cfg->window + 3, n, n == 1 ? v : v * (double)n);
}

#endif
