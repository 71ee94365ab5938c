/*
 * counter.c - the counter hot path. An increment adds to the calling
 * thread's cell (cells.h): in a private arena no lock, no atomic
 * read-modify-write, no shared cache line. A counter has two cells: whole
 * increments go to an integer cell (an integer add is the shortest
 * dependency chain, and counts stay exact), fractional adds to a double
 * cell in the mirror half of the ids (cells.h), whose chunk an arena only
 * gets once a thread adds a fraction. The value is the sum of both over all
 * arenas, which never decreases. An increment reads one thread-local,
 * sonde_tls_fast (core_iface.h): the thread's private arena while no sampled
 * span is its current one, NULL otherwise, so the out-of-line path (no
 * private cell yet, or an exemplar to store) costs the plain path no load.
 */
#include <math.h>

#include "exemplar.h"
#include "internal.h"

static inline void inc_cells(const sonde_child *c)
{
    sonde_cell *cell = sonde_cell_private(c->cell);
    if (__builtin_expect(cell != NULL, 1))
        sonde_cell_add_u64(cell, 1);
    else
        sonde_cells_add(c->cell, 1, 0, 0);
}

/* Out of line, so that the plain increment stays a leaf that keeps nothing across a call. */
static __attribute__((noinline)) void inc_with_exemplar(const sonde_child *c)
{
    inc_cells(c);
    sonde_exemplar_auto(c->cell, 1);
}

/* Every increment the plain path does not take: an exemplar to attach, or no private cell. */
static __attribute__((noinline)) void inc_general(const sonde_child *c)
{
    if (sonde_exemplar_ctx != NULL)
        inc_with_exemplar(c);
    else
        inc_cells(c);
}

void sonde_counter_inc(sonde_counter *counter)
{
    sonde_child *c = (sonde_child *)counter;
    if (__builtin_expect(c == NULL, 0))
        return;
    sonde_cell *cell = sonde_cell_fast(c->cell); /* NULL also while an exemplar is due */
    if (__builtin_expect(cell != NULL, 1))
        sonde_cell_add_u64(cell, 1);
    else
        inc_general(c);
}

/* v >= 0 and finite: whole values to the integer cell, others to the double cell. */
static inline int add_cells(const sonde_child *c, double v)
{
    int whole = v < 9007199254740992.0 && v == (double)(uint64_t)v;
    uint32_t id = whole ? c->cell : c->cell + SONDE_CELLS_FRACTION;
    sonde_cell *cell = sonde_cell_private(id);
    if (!cell)
        return whole ? sonde_cells_add(id, (uint64_t)v, 0, 0) : sonde_cells_add(c->cell, 0, id, v);
    if (whole)
        sonde_cell_add_u64(cell, (uint64_t)v);
    else
        sonde_cell_add_f64(cell, v);
    return SONDE_OK;
}

static __attribute__((noinline)) int add_with_exemplar(const sonde_child *c, double v)
{
    int rc = add_cells(c, v);
    if (rc == SONDE_OK)
        sonde_exemplar_auto(c->cell, v);
    return rc;
}

int sonde_counter_add(sonde_counter *counter, double v)
{
    sonde_child *c = (sonde_child *)counter;
    if (!c)
        return SONDE_OK; /* a NULL series is a no-op */
    if (!(v >= 0) || isinf(v))
        return SONDE_ERANGE;
    if (__builtin_expect(sonde_exemplar_ctx != NULL, 0))
        return add_with_exemplar(c, v);
    return add_cells(c, v);
}

double sonde_counter_value(const sonde_counter *counter)
{
    const sonde_child *c = (const sonde_child *)counter;
    if (!c)
        return 0.0;
    if (c->fam->fn)
        return c->fam->fn(c->fam->fn_ud);
    return sonde_counter_cells_value(c->cell);
}

double sonde_counter_cells_value(uint32_t cell)
{
    return (double)sonde_cells_sum_u64(cell) + sonde_cells_sum_f64(cell + SONDE_CELLS_FRACTION);
}
