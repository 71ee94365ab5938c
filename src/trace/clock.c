/*
 * clock.c - the span clock: Unix ns for span starts, ends and events,
 * without a system clock read per timestamp where the hardware allows.
 *
 * clock_gettime(CLOCK_REALTIME) through the vDSO reads the TSC behind a
 * fence and does the kernel's conversion: two per span were about half of a
 * sampled span's cost. On x86-64, when the kernel itself keeps time with the
 * TSC (its clocksource is "tsc": invariant and synchronised across CPUs, as
 * the kernel checked), a timestamp is instead one plain rdtsc extrapolated
 * from the thread's anchor, a (TSC, CLOCK_REALTIME) pair read at most
 * ANCHOR_NS ago, at the process's TSC rate. The rate is measured against
 * CLOCK_MONOTONIC_RAW (never stepped, never slewed) from one pair taken at
 * the first use, once CALIBRATE_NS have passed, and refined at every
 * anchor; a rate that moved by more than 1% (a TSC reset across a suspend)
 * starts the measure again. So a timestamp is off the wall clock by at most
 * the rate's error over ANCHOR_NS (nanoseconds) plus any slewing of
 * CLOCK_REALTIME over it, and follows a step of the wall clock within
 * ANCHOR_NS. Anywhere else (other architectures, another clocksource, /sys
 * unreadable, rdtsc disabled by prctl, the first CALIBRATE_NS) every
 * timestamp is a clock_gettime.
 */
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "trace_internal.h"

#define ANCHOR_NS 1000000ull    /* a thread re-reads the wall clock this often */
#define CALIBRATE_NS 10000000ull /* the TSC rate is first measured over this much */
#define PAIR_CLOSE_TICKS 2000ull /* a (TSC, clock) pair read closer than this is taken */
#define PAIR_TRIES 8

TRACE_TLS span_clock sonde_span_clock;

static pthread_once_t clock_once = PTHREAD_ONCE_INIT;
static int tsc_usable;
static pthread_mutex_t calib_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t calib_tsc, calib_raw;  /* the measure's first pair (under calib_mu) */
static _Atomic uint64_t tsc_mult;      /* ns per tick * 2^32; 0 = not measured yet */

static uint64_t read_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__)
static uint64_t ticks(void) { return __builtin_ia32_rdtsc(); }

/* The kernel's clocksource is the TSC, and this process may read it (PR_SET_TSC can make
 * rdtsc fault). */
static int kernel_uses_tsc(void)
{
    int tsc_mode = PR_TSC_ENABLE;
    if (prctl(PR_GET_TSC, &tsc_mode, 0, 0, 0) == 0 && tsc_mode != PR_TSC_ENABLE)
        return 0;
    FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "re");
    char name[32] = "";
    if (!f)
        return 0;
    int ok = fgets(name, sizeof name, f) && strcmp(name, "tsc\n") == 0;
    fclose(f);
    return ok;
}
#else
static uint64_t ticks(void) { return 0; }
static int kernel_uses_tsc(void) { return 0; }
#endif

/* A clock read between two TSC reads; *tsc their middle. Of a few tries, the first whose
 * TSC reads are close (not interrupted), else the closest. */
static uint64_t pair(clockid_t id, uint64_t *tsc)
{
    uint64_t best_ns = 0, best_gap = UINT64_MAX;
    for (int i = 0; i < PAIR_TRIES && best_gap > PAIR_CLOSE_TICKS; i++) {
        uint64_t a = ticks(), ns = read_ns(id), b = ticks();
        if (b >= a && b - a < best_gap) {
            best_gap = b - a;
            best_ns = ns;
            *tsc = a + (b - a) / 2;
        }
    }
    if (best_gap == UINT64_MAX) /* the TSC went back every time */
        *tsc = ticks();
    return best_ns ? best_ns : read_ns(id);
}

static void clock_init(void)
{
    tsc_usable = kernel_uses_tsc();
    if (tsc_usable)
        calib_raw = pair(CLOCK_MONOTONIC_RAW, &calib_tsc);
}

/* The TSC rate, measured or refined now; 0 while the measure is too short. */
static uint64_t measure_rate(void)
{
    uint64_t tsc, raw = pair(CLOCK_MONOTONIC_RAW, &tsc), mult = 0;
    pthread_mutex_lock(&calib_mu);
    if (raw - calib_raw >= CALIBRATE_NS && tsc > calib_tsc) {
        mult = (uint64_t)((double)(raw - calib_raw) / (double)(tsc - calib_tsc) * 4294967296.0);
        uint64_t old = atomic_load_explicit(&tsc_mult, memory_order_relaxed);
        if (old && (mult > old + old / 100 || mult < old - old / 100)) {
            calib_raw = raw; /* the TSC jumped or changed pace: measure again */
            calib_tsc = tsc;
            mult = 0;
        }
        atomic_store_explicit(&tsc_mult, mult, memory_order_relaxed);
    } else if (tsc <= calib_tsc) { /* the TSC went back (reset): measure again */
        calib_raw = raw;
        calib_tsc = tsc;
        atomic_store_explicit(&tsc_mult, 0, memory_order_relaxed);
    }
    pthread_mutex_unlock(&calib_mu);
    return mult;
}

uint64_t sonde_span_clock_anchor(void)
{
    pthread_once(&clock_once, clock_init);
    span_clock *c = &sonde_span_clock;
    if (!tsc_usable) {
        c->max_ticks = 0;
        return read_ns(CLOCK_REALTIME);
    }
    uint64_t mult = measure_rate(), tsc, ns = pair(CLOCK_REALTIME, &tsc);
    c->tsc = tsc;
    c->ns = ns;
    c->mult = mult;
    c->max_ticks = mult ? (ANCHOR_NS << 32) / mult : 0;
    return ns;
}
