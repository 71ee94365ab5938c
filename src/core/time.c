/*
 * time.c - the library's clocks. Monotonic nanoseconds for durations, wall
 * time for _created and set_to_current_time, and the kernel's coarse wall
 * time (its last tick: a few ns to read where the precise clock costs tens)
 * for exemplars, which Prometheus keeps to the millisecond anyway. Tests may
 * replace the clocks with fake ones through sonde_set_clock(); production
 * code never should. sonde_internal_rfc3339() writes a wall time the one
 * way the library shows it to people and parsers (log records, /health).
 */
#include <stdio.h>
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

uint64_t sonde_internal_wall_ns(void)
{
    return sonde_wall_ns();
}

size_t sonde_internal_rfc3339(uint64_t wall_ns, int frac_digits, char *out)
{
    time_t secs = (time_t)(wall_ns / 1000000000ull);
    struct tm tm;
    gmtime_r(&secs, &tm); /* UTC, no locale involved */
    int n = snprintf(out, SONDE_RFC3339_MAX, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (frac_digits > 9)
        frac_digits = 9;
    if (frac_digits > 0) {
        unsigned frac = (unsigned)(wall_ns % 1000000000ull);
        for (int i = frac_digits; i < 9; i++)
            frac /= 10;
        n += snprintf(out + n, SONDE_RFC3339_MAX - (size_t)n, ".%0*u", frac_digits, frac);
    }
    out[n++] = 'Z';
    out[n] = '\0';
    return (size_t)n;
}
