/*
 * histogram.c - the histogram hot path. A child owns bound_count + 2 cells:
 * one non-cumulative integer count per bucket (the last is +Inf), then the
 * sum (a double).
 * Observing finds the bucket (linear scan for short lists, binary search
 * beyond) and adds to the calling thread's own cells. The count is not
 * stored: it is the sum of the buckets, so a scrape always sees +Inf equal
 * to _count and cumulative buckets that never decrease; the sum never
 * decreases either (cells.h). Exemplars (exemplar.h) belong to the bucket's
 * cell: an observation reads the thread's exemplar context once, and only
 * when its current span is sampled takes the out-of-line path that stores
 * one.
 */
#include <math.h>

#include "exemplar.h"
#include "internal.h"

static inline size_t bucket_index(const sonde_family *f, double v)
{
    const double *b = f->bounds;
    size_t n = f->bound_count;
    if (n <= 16) {
        size_t i = 0;
        while (i < n && v > b[i])
            i++;
        return i;
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
        sonde_cells_add(c->cell + (uint32_t)b, n, c->cell + (uint32_t)f->bound_count + 1, v * (double)n);
        return b;
    }
    sonde_cell_add_u64(&cells[b], n);
    sonde_cell_add_f64(&cells[f->bound_count + 1], v * (double)n);
    return b;
}

/* Out of line, so that the plain observation is the same code as without exemplars. */
static __attribute__((noinline)) void observe_with_exemplar(const sonde_child *c, double v, uint64_t n)
{
    size_t b = observe_cells(c, v, n);
    sonde_exemplar_auto(c->cell + (uint32_t)b, v);
}

void sonde_histogram_observe(sonde_histogram *hist, double v)
{
    sonde_child *c = (sonde_child *)hist;
    if (__builtin_expect(c == NULL || isnan(v), 0))
        return;
    if (__builtin_expect(sonde_exemplar_ctx != NULL, 0))
        observe_with_exemplar(c, v, 1);
    else
        observe_cells(c, v, 1);
}

void sonde_histogram_observe_n(sonde_histogram *hist, double v, uint64_t n)
{
    sonde_child *c = (sonde_child *)hist;
    if (c == NULL || n == 0 || isnan(v))
        return;
    if (__builtin_expect(sonde_exemplar_ctx != NULL, 0))
        observe_with_exemplar(c, v, n);
    else
        observe_cells(c, v, n);
}

void sonde_histogram_read(const sonde_histogram *hist, uint64_t *count, double *sum, uint64_t *counts)
{
    const sonde_child *c = (const sonde_child *)hist;
    uint64_t total = 0;
    double s = 0.0;
    if (c) {
        size_t n = c->fam->bound_count;
        for (size_t i = 0; i <= n; i++) {
            uint64_t k = sonde_cells_sum_u64(c->cell + (uint32_t)i);
            total += k;
            if (counts)
                counts[i] = k;
        }
        s = sonde_cells_sum_f64(c->cell + (uint32_t)n + 1);
    }
    if (count)
        *count = total;
    if (sum)
        *sum = s;
}
