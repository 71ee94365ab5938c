/*
 * observe_n.c - n observations of one value into a histogram in one step:
 * the bucket of v gains n and the sum n * v (the counts n calls of
 * sonde_histogram_observe() would leave), in O(1). The time per output chunk
 * of a stream is recorded this way (one observation per chunk after the
 * first, each the stream's mean interval), so ending a long stream costs the
 * same as ending a short one. It writes the calling thread's own cells as
 * the core's observe does (src/core/histogram.c, cells.h).
 */
#include <math.h>

#include "internal.h"
#include "llm_internal.h"

void llm_histogram_observe_n(sonde_histogram *hist, double v, uint64_t n)
{
    sonde_child *c = (sonde_child *)hist;
    if (!c || n == 0 || isnan(v))
        return;
    const sonde_family *f = c->fam;
    size_t lo = 0, hi = f->bound_count; /* first bound >= v */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v > f->bounds[mid])
            lo = mid + 1;
        else
            hi = mid;
    }
    sonde_cell *cells = sonde_cell_local(c->cell);
    if (!cells)
        return;
    sonde_cell_add(&cells[lo], (double)n);
    sonde_cell_add(&cells[f->bound_count + 1], v * (double)n);
}
