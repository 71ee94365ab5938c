/*
 * counter.c - the counter hot path. An increment adds to the calling
 * thread's own cell (cells.h): no lock, no atomic read-modify-write, no
 * shared cache line. A counter has two cells: whole increments go to an
 * integer cell (an integer add is the shortest dependency chain), fractional
 * adds to a double cell. The value is the sum of both over all threads.
 */
#include <math.h>

#include "internal.h"

void sonde_counter_inc(sonde_counter *counter)
{
    sonde_child *c = (sonde_child *)counter;
    if (__builtin_expect(c == NULL, 0))
        return;
    sonde_cell *cell = sonde_cell_local(c->cell);
    if (__builtin_expect(cell != NULL, 1))
        sonde_cell_add_u64(cell, 1);
}

int sonde_counter_add(sonde_counter *counter, double v)
{
    sonde_child *c = (sonde_child *)counter;
    if (!c)
        return SONDE_OK; /* a NULL series is a no-op */
    if (!(v >= 0) || isinf(v))
        return SONDE_ERANGE;
    sonde_cell *cell = sonde_cell_local(c->cell);
    if (!cell)
        return SONDE_ENOMEM;
    if (v < 9007199254740992.0 && v == (double)(uint64_t)v)
        sonde_cell_add_u64(cell, (uint64_t)v);
    else
        sonde_cell_add_f64(cell + 1, v);
    return SONDE_OK;
}

double sonde_counter_value(const sonde_counter *counter)
{
    const sonde_child *c = (const sonde_child *)counter;
    if (!c)
        return 0.0;
    if (c->fam->fn)
        return c->fam->fn(c->fam->fn_ud);
    sonde_cells_lock();
    double v = sonde_counter_cells_value(c->cell);
    sonde_cells_unlock();
    return v;
}

double sonde_counter_cells_value(uint32_t cell)
{
    return (double)sonde_cells_sum_u64(cell) + sonde_cells_sum_f64(cell + 1);
}
