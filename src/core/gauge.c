/*
 * gauge.c - the gauge hot path. A gauge's value is global (the last set
 * wins), so it lives in one atomic word of the child: set is a store, add a
 * compare-and-swap loop on the double's bits.
 */
#include "internal.h"

static inline void gauge_add(sonde_gauge *gauge, double delta)
{
    sonde_child *c = (sonde_child *)gauge;
    if (__builtin_expect(c == NULL, 0))
        return;
    uint64_t old = atomic_load_explicit(&c->v.bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&c->v.bits, &old,
                                                  sonde_double_to_bits(sonde_bits_to_double(old) + delta),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

void sonde_gauge_set(sonde_gauge *gauge, double v)
{
    sonde_child *c = (sonde_child *)gauge;
    if (c)
        atomic_store_explicit(&c->v.bits, sonde_double_to_bits(v), memory_order_relaxed);
}

void sonde_gauge_inc(sonde_gauge *g)
{
    gauge_add(g, 1.0);
}

void sonde_gauge_dec(sonde_gauge *g)
{
    gauge_add(g, -1.0);
}

void sonde_gauge_add(sonde_gauge *g, double v)
{
    gauge_add(g, v);
}

void sonde_gauge_sub(sonde_gauge *g, double v)
{
    gauge_add(g, -v);
}

void sonde_gauge_set_to_current_time(sonde_gauge *g)
{
    sonde_gauge_set(g, sonde_wall_seconds());
}

double sonde_gauge_value(const sonde_gauge *gauge)
{
    const sonde_child *c = (const sonde_child *)gauge;
    if (!c)
        return 0.0;
    if (c->fam->fn)
        return c->fam->fn(c->fam->fn_ud);
    return sonde_bits_to_double(atomic_load_explicit(&c->v.bits, memory_order_relaxed));
}
