/*
 * counter.c - the counter hot path. An increment adds to the calling
 * thread's own cell (cells.h): no lock, no atomic read-modify-write, no
 * shared cache line. The value is the sum of all threads' cells.
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
        sonde_cell_add(cell, 1.0);
}

int sonde_counter_add(sonde_counter *counter, double v)
{
    sonde_child *c = (sonde_child *)counter;
    if (!(v >= 0) || isinf(v))
        return SONDE_ERANGE;
    if (!c)
        return SONDE_OK;
    sonde_cell *cell = sonde_cell_local(c->cell);
    if (!cell)
        return SONDE_ENOMEM;
    sonde_cell_add(cell, v);
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
    double v = sonde_cells_sum(c->cell);
    sonde_cells_unlock();
    return v;
}
