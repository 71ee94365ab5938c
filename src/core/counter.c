/*
 * counter.c - the counter hot path. An increment adds to the calling
 * thread's cell (cells.h): in a private arena no lock, no atomic
 * read-modify-write, no shared cache line. A counter has two cells: whole
 * increments go to an integer cell (an integer add is the shortest
 * dependency chain, and counts stay exact), fractional adds to a double
 * cell in the mirror half of the ids (cells.h), whose chunk an arena only
 * gets once a thread adds a fraction. The value is the sum of both over all
 * arenas, which never decreases.
 */
#include <math.h>

#include "internal.h"

void sonde_counter_inc(sonde_counter *counter)
{
    sonde_child *c = (sonde_child *)counter;
    if (__builtin_expect(c == NULL, 0))
        return;
    sonde_cell *cell = sonde_cell_private(c->cell);
    if (__builtin_expect(cell != NULL, 1))
        sonde_cell_add_u64(cell, 1);
    else
        sonde_cells_add(c->cell, 1, 0, 0);
}

int sonde_counter_add(sonde_counter *counter, double v)
{
    sonde_child *c = (sonde_child *)counter;
    if (!c)
        return SONDE_OK; /* a NULL series is a no-op */
    if (!(v >= 0) || isinf(v))
        return SONDE_ERANGE;
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
