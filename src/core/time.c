/*
 * time.c - the library's clocks. Monotonic nanoseconds for durations, wall
 * time for _created and set_to_current_time, and the kernel's coarse wall
 * time (its last tick: a few ns to read where the precise clock costs tens)
 * for exemplars, which Prometheus keeps to the millisecond anyway. Tests may
 * replace the clocks with fake ones through sonde_set_clock(); production
 * code never should.
 */
#include <time.h>

#include "internal.h"

static _Atomic(sonde_clock_fn) fake_mono, fake_wall;
static void *_Atomic fake_ud;

void sonde_set_clock(sonde_clock_fn monotonic_ns, sonde_clock_fn wall_ns, void *ud)
{
    atomic_store(&fake_ud, ud);
    atomic_store(&fake_mono, monotonic_ns);
    atomic_store(&fake_wall, wall_ns);
}

uint64_t sonde_now_ns(void)
{
    sonde_clock_fn fn = atomic_load_explicit(&fake_mono, memory_order_relaxed);
    if (fn)
        return fn(atomic_load(&fake_ud));
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t sonde_wall_ns(void)
{
    sonde_clock_fn fn = atomic_load_explicit(&fake_wall, memory_order_relaxed);
    if (fn)
        return fn(atomic_load(&fake_ud));
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t sonde_wall_ns_coarse(void)
{
    sonde_clock_fn fn = atomic_load_explicit(&fake_wall, memory_order_relaxed);
    if (fn)
        return fn(atomic_load(&fake_ud));
    struct timespec ts;
#ifdef CLOCK_REALTIME_COARSE
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
#else
    clock_gettime(CLOCK_REALTIME, &ts);
#endif
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

double sonde_wall_seconds(void)
{
    uint64_t ns = sonde_wall_ns(); /* split first: the ns count itself is too big for a double */
    return (double)(ns / 1000000000u) + (double)(ns % 1000000000u) / 1e9;
}
