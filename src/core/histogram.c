/*
 * histogram.c - the histogram hot path. A child owns bound_count + 3 cells:
 * the sum (doubles, in two halves that the value picks between), then one
 * non-cumulative integer count per bucket (the last is +Inf); c->cell names
 * the first bucket (internal.h).
 * Observing finds the bucket (a table lookup and one compare when the bounds
 * fit the family's table, internal.h; else a branch-free count for short
 * lists, binary search beyond) and adds to the calling thread's own cells.
 * The common case (classic buckets with a table, the thread's private cells
 * present, no sampled span) is a straight leaf path; everything else goes
 * out of line. The count is not stored: it is the sum of the buckets, so a
 * scrape always sees +Inf equal to _count and cumulative buckets that never
 * decrease; the sum never decreases either (cells.h). Exemplars (exemplar.h) belong to the bucket's
 * cell: an observation reads the thread's exemplar context once, and only
 * when its current span is sampled takes the out-of-line path that stores
 * one.
 * A histogram with native buckets (native.c) also observes into them; a
 * native-only one has no classic cells at all, and a straight path of its own
 * (one call out of line, no count of repeats).
 */
#include <math.h>
#include <stddef.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "exemplar.h"
#include "internal.h"

/* The bucket of v (not NaN) by the family's table (internal.h; at is its f->buckets.at):
 * v clamped to the table's cells (maxsd and minsd on x86-64), then one slot: the bounds
 * below the cell, plus one when v is above the cell's bound. */
static inline size_t bucket_by_table(const sonde_family *f, uintptr_t at, double v)
{
#if defined(__x86_64__) && defined(__GNUC__)
    /* maxsd and minsd with the ends as memory operands: the two loads go in parallel, and
     * the bucket's address (which the next observation's adds may wait for) is ready sooner
     * than after one 16-byte load and a shuffle (measured on an Intel Xeon guest, with the
     * order of the adds below: histogram_observe_ns 3.03 -> 2.73 ns, interleaved medians) */
    double in = v;
    __asm__("maxsd %1, %0\n\tminsd %2, %0" : "+x"(in) : "m"(f->buckets.min), "m"(f->buckets.max));
#else
    double in = v < f->buckets.min ? f->buckets.min : v;
    in = in > f->buckets.max ? f->buckets.max : in;
#endif
    const sonde_bucket_slot *s =
        (const sonde_bucket_slot *)(at + (uintptr_t)sonde_bucket_cell(in) * sizeof *s);
    size_t i = s->below;
#if defined(__x86_64__) && defined(__GNUC__)
    /* the compare's carry (bound < v) added to i: one adc where the compiler writes seta,
     * movzbl and add */
    __asm__("ucomisd %1, %2\n\tadc $0, %0" : "+r"(i) : "x"(v), "x"(s->bound) : "cc");
    return i;
#else
    return i + (v > s->bound);
#endif
}

/* The bucket of v: the number of bounds below it. By the table when the family has one;
 * else a short list (internal.h: padded with +Inf to
 * SONDE_BOUNDS_SCAN bounds) is counted with no branch: random values make the exit of a
 * linear scan a mispredicted branch on nearly every observation. With SSE2 (every x86-64),
 * two-wide compares whose all-ones lanes are subtracted from a counter (six for up to 11
 * bounds, eight beyond; the branch between them is the same for every observation of a
 * histogram, so it is predicted); elsewhere a
 * branch-free binary search over the 16 slots (the last one always +Inf, so at most 15
 * bounds). Longer lists take an ordinary binary search. */
static inline size_t bucket_index(const sonde_family *f, double v)
{
    if (f->buckets.at)
        return bucket_by_table(f, f->buckets.at, v);
    const double *b = f->bounds;
    size_t n = f->bound_count;
    if (n < SONDE_BOUNDS_SCAN) {
#ifdef __SSE2__
        __m128d x = _mm_set1_pd(v);
        __m128i below = _mm_setzero_si128();
        for (int i = 0; i < 12; i += 2)
            below = _mm_sub_epi64(below, _mm_castpd_si128(_mm_cmpgt_pd(x, _mm_loadu_pd(b + i))));
        if (n >= 12) /* the last four slots only matter past 11 bounds (the default list) */
            for (int i = 12; i < SONDE_BOUNDS_SCAN; i += 2)
                below = _mm_sub_epi64(below, _mm_castpd_si128(_mm_cmpgt_pd(x, _mm_loadu_pd(b + i))));
        below = _mm_add_epi64(below, _mm_unpackhi_epi64(below, below));
        return (size_t)_mm_cvtsi128_si64(below);
#else
        size_t i = v > b[7] ? 8 : 0;
        i += v > b[i + 3] ? 4 : 0;
        i += v > b[i + 1] ? 2 : 0;
        i += v > b[i] ? 1 : 0;
        return i;
#endif
    }
    size_t lo = 0, hi = n; /* first bound >= v */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v > b[mid])
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Count n observations of v in its bucket and the sum; returns the bucket. */
static inline size_t observe_cells(const sonde_child *c, double v, uint64_t n)
{
    const sonde_family *f = c->fam;
    size_t b = bucket_index(f, v);
    sonde_cell *cells = sonde_cell_private(c->cell);
    if (__builtin_expect(cells == NULL, 0)) {
        sonde_cells_add(c->cell + (uint32_t)b, n, c->cell - 1 - (uint32_t)sonde_sum_half(v), v * (double)n);
        return b;
    }
    sonde_cell_add_u64(&cells[b], n);
    sonde_cell_add_f64(&cells[-1 - (ptrdiff_t)sonde_sum_half(v)], v * (double)n);
    return b;
}

/* Every observation the straight path of sonde_histogram_observe does not take: native
 * buckets, a thread's first update of the series (no private cell yet), an exemplar to
 * attach, bounds without a table. Out of line, so that the straight path stays a leaf. */
static __attribute__((noinline)) void observe_general(sonde_child *c, double v, uint64_t n)
{
    const sonde_native_cfg *nc = c->fam->native;
    if (nc != NULL) {
        sonde_native_observe(c, c->v.native, nc, v, n);
        if (nc->only)
            return;
    }
    size_t b = observe_cells(c, v, n);
    sonde_exemplar_auto(c->cell + (uint32_t)b, v);
}

/* One observation into a histogram without a bucket table: the straight path of a native-only
 * histogram (no classic cells, no exemplars), else the general one. */
static __attribute__((noinline)) void observe_without_table(sonde_child *c, double v)
{
    const sonde_native_cfg *nc = c->fam->native;
    if (nc != NULL && nc->only)
        sonde_native_observe(c, c->v.native, nc, v, 1);
    else
        observe_general(c, v, 1);
}

/* The straight path: a classic-only histogram (its table set), the thread's private cells
 * there, no sampled span on the thread: the table lookup, then two plain adds. */
void sonde_histogram_observe(sonde_histogram *hist, double v)
{
    sonde_child *c = (sonde_child *)hist;
    if (__builtin_expect(c == NULL || isnan(v), 0))
        return;
    const sonde_family *f = c->fam;
    uintptr_t at = f->buckets.at; /* 0: no table (one load, reused for the lookup) */
    if (__builtin_expect(at == 0, 0)) {
        observe_without_table(c, v);
        return;
    }
    sonde_cell *cells;
    if (__builtin_expect((cells = sonde_cell_fast(c->cell)) == NULL, 0)) { /* or an exemplar due */
        observe_general(c, v, 1);
        return;
    }
    /* The sum first: its address is known at once, so its add does not queue behind the
     * bucket's, whose address comes last (the table lookup). */
    sonde_cell_add_f64(&cells[(ptrdiff_t)sonde_sum_half(v) - 2], v);
    sonde_cell_bump_u64(&cells[bucket_by_table(f, at, v)]);
}

void sonde_histogram_observe_n(sonde_histogram *hist, double v, uint64_t n)
{
    sonde_child *c = (sonde_child *)hist;
    if (c == NULL || n == 0 || isnan(v))
        return;
    observe_general(c, v, n);
}

void sonde_histogram_read(const sonde_histogram *hist, uint64_t *count, double *sum, uint64_t *counts)
{
    const sonde_child *c = (const sonde_child *)hist;
    uint64_t total = 0;
    double s = 0.0;
    if (c && c->fam->native && c->fam->native->only) {
        sonde_native_snap snap = {0};
        sonde_native_snapshot((sonde_child *)c, &snap);
        total = snap.count;
        s = snap.sum;
        if (counts)
            counts[0] = total;
        sonde_native_snap_free(&snap);
    } else if (c) {
        size_t n = c->fam->bound_count;
        for (size_t i = 0; i <= n; i++) {
            uint64_t k = sonde_cells_sum_u64(c->cell + (uint32_t)i);
            total += k;
            if (counts)
                counts[i] = k;
        }
        s = sonde_hist_sum(c);
    }
    if (count)
        *count = total;
    if (sum)
        *sum = s;
}
