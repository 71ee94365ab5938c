/*
 * test_monotonic.c - counters and histogram sums never read lower, whatever
 * threads start, exit or race with a scrape, and end as exact as cells.h
 * promises.
 *
 * The cell pool is capped at 2 private and 2 shared arenas (whatever the
 * machine), so that the short-lived threads exercise all three paths: a
 * fresh private arena, a private arena given back by a thread that exited
 * (and kept with its values), and the shared stripes updated with atomic
 * read-modify-writes. Rounds of five threads add fractional values that
 * round differently in every order (0.1, 1e-9 and 1e16, mixed), count whole
 * increments and observe the same mix into a histogram, then stay alive and
 * then exit while nothing else is written: a value that moved at a thread's
 * exit, or between two reads without updates (say, a summation order that
 * changed), reads lower about half the time. Two scrapers read the values both
 * through the API (exact doubles) and through the text exposition
 * (shortest round-trip text) and assert that no counter, _sum, _count or
 * bucket ever reads lower than its previous read. After joining:
 * integer counts are exact, and each fractional total is within the bound
 * of cells.h, |read - exact| <= (n + A - 1) * 2^-53 * exact, with n the
 * number of adds and A the number of arenas.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "cells.h"
#include "check.h"
#include "sonde/sonde.h"

enum { ROUNDS = 30, BATCH = 5, ITER = 2000, SCRAPERS = 2, QUIET_SCRAPES = 3 };

static const double mix[3] = {0.1, 1e-9, 1e16};
static const double bounds[] = {1e-6, 1, 1e15};

static sonde_registry *reg;
static sonde_counter *frac, *tenth, *ints;
static sonde_histogram *hist;
static atomic_long adds_of[3], tenths, incs; /* what the writers did, for the exact totals */
static atomic_int writing, violations, scrapes, rounds;
static pthread_barrier_t added, may_exit;

/* One writer's work: n rounds of the mix, tallied when done. */
static void write_rounds(int n, int offset)
{
    long mine[3] = {0, 0, 0};
    for (int i = 0; i < n; i++) {
        int k = (i + offset) % 3;
        sonde_counter_add(frac, mix[k]);
        sonde_histogram_observe(hist, mix[k]);
        sonde_counter_add(tenth, 0.1);
        sonde_counter_inc(ints);
        mine[k]++;
    }
    for (int k = 0; k < 3; k++)
        atomic_fetch_add(&adds_of[k], mine[k]);
    atomic_fetch_add(&tenths, n);
    atomic_fetch_add(&incs, n);
}

static void *short_lived(void *arg)
{
    write_rounds(ITER, (int)(intptr_t)arg);
    pthread_barrier_wait(&added);
    pthread_barrier_wait(&may_exit);
    return NULL; /* a private arena goes back to the pool, with its values */
}

/* Let the scrapers read a few times while nothing is written. */
static void quiet(void)
{
    int from = atomic_load(&rounds);
    while (atomic_load(&rounds) < from + QUIET_SCRAPES)
        sched_yield();
}

/* Rounds of BATCH threads that write, stay alive (quiet), exit (quiet): the values must not
 * move when a thread exits, nor between two reads with no update. */
static void *driver(void *arg)
{
    (void)arg;
    for (int r = 0; r < ROUNDS; r++) {
        pthread_t t[BATCH];
        for (int i = 0; i < BATCH; i++)
            if (pthread_create(&t[i], NULL, short_lived, (void *)(intptr_t)(r + i)))
                abort();
        pthread_barrier_wait(&added);
        quiet();
        pthread_barrier_wait(&may_exit);
        for (int i = 0; i < BATCH; i++)
            pthread_join(t[i], NULL);
        quiet();
    }
    atomic_store(&writing, 0);
    return NULL;
}

/* The last values a scraper saw. */
typedef struct seen {
    double frac, tenth, ints, sum, count, bucket[4];
    double text_frac, text_sum;
} seen;

static void not_lower(double now, double *last, const char *what)
{
    if (now < *last && atomic_fetch_add(&violations, 1) < 5)
        fprintf(stderr, "%s went down: %.17g after %.17g\n", what, now, *last);
    *last = now;
}

/* The value of the sample line that starts with prefix (a name and a space), or -1. */
static double sample(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, prefix, n) == 0)
            return strtod(p + n, NULL);
    return -1;
}

static void *scraper(void *arg)
{
    (void)arg;
    seen last = {0};
    atomic_fetch_add(&scrapes, 1);
    while (atomic_load(&writing)) {
        uint64_t count, counts[4];
        double sum;
        not_lower(sonde_counter_value(frac), &last.frac, "frac_total");
        not_lower(sonde_counter_value(tenth), &last.tenth, "tenth_total");
        not_lower(sonde_counter_value(ints), &last.ints, "ints_total");
        sonde_histogram_read(hist, &count, &sum, counts);
        not_lower(sum, &last.sum, "h_sum");
        not_lower((double)count, &last.count, "h_count");
        for (int i = 0; i < 4; i++)
            not_lower((double)counts[i], &last.bucket[i], "h bucket");
        char *text = sonde_expose_alloc(reg, SONDE_FORMAT_TEXT, NULL);
        if (text) {
            not_lower(sample(text, "frac_total "), &last.text_frac, "frac_total (text)");
            not_lower(sample(text, "h_sum "), &last.text_sum, "h_sum (text)");
            free(text);
        }
        atomic_fetch_add(&rounds, 1);
    }
    return NULL;
}

/* |got - exact| within the bound of cells.h for n adds summed over the pool's arenas. */
static void check_bound(double got, long double exact, long n, const char *what)
{
    unsigned arenas;
    sonde_cells_stats(&arenas, NULL);
    long double bound = (long double)(n + arenas - 1) * 0x1p-53L * exact;
    long double err = fabsl((long double)got - exact);
    if (err > bound)
        fprintf(stderr, "%s: %.17g is %Lg from %.21Lg (bound %Lg)\n", what, got, err, exact, bound);
    CHECK(err <= bound);
}

TEST(never_lower_and_within_bound)
{
    pthread_t s[SCRAPERS], d;
    pthread_barrier_init(&added, NULL, BATCH + 1);
    pthread_barrier_init(&may_exit, NULL, BATCH + 1);
    atomic_store(&writing, 1);
    for (int i = 0; i < SCRAPERS; i++)
        CHECK(pthread_create(&s[i], NULL, scraper, NULL) == 0);
    while (atomic_load(&scrapes) < SCRAPERS)
        sched_yield();
    CHECK(pthread_create(&d, NULL, driver, NULL) == 0);
    pthread_join(d, NULL);
    for (int i = 0; i < SCRAPERS; i++)
        pthread_join(s[i], NULL);
    pthread_barrier_destroy(&added);
    pthread_barrier_destroy(&may_exit);
    CHECK_EQ_INT(atomic_load(&violations), 0);
    CHECK(atomic_load(&rounds) >= 2 * ROUNDS * QUIET_SCRAPES); /* they raced with every round */

    unsigned arenas;
    sonde_cells_stats(&arenas, NULL);
    CHECK(arenas <= 4); /* the cap: however many threads came and went */
    long n = atomic_load(&incs);
    CHECK_EQ_INT(n, ROUNDS * BATCH * ITER);
    CHECK_EQ_DBL(sonde_counter_value(ints), (double)n); /* integers: exact */
    uint64_t count, counts[4];
    double sum;
    sonde_histogram_read(hist, &count, &sum, counts);
    CHECK_EQ_INT(count, n);
    CHECK_EQ_INT(counts[0], atomic_load(&adds_of[1])); /* 1e-9 <= 1e-6 */
    CHECK_EQ_INT(counts[1], atomic_load(&adds_of[0])); /* 0.1 <= 1 */
    CHECK_EQ_INT(counts[2], 0);
    CHECK_EQ_INT(counts[3], atomic_load(&adds_of[2])); /* 1e16 > 1e15 */

    long double exact_mix = 0;
    for (int k = 0; k < 3; k++)
        exact_mix += (long double)atomic_load(&adds_of[k]) * (long double)mix[k];
    check_bound(sonde_counter_value(frac), exact_mix, n, "frac_total");
    check_bound(sum, exact_mix, n, "h_sum");
    check_bound(sonde_counter_value(tenth), (long double)atomic_load(&tenths) * (long double)0.1, n, "tenth_total");
}

int main(void)
{
    CHECK(sonde_cells_set_pool(2, 2) == SONDE_OK); /* before any update of the process */
    if (sonde_registry_new(NULL, &reg))
        return 1;
    if (sonde_counter_new(reg, "frac_total", "mixed fractional adds", &frac) ||
        sonde_counter_new(reg, "tenth_total", "adds of 0.1", &tenth) ||
        sonde_counter_new(reg, "ints_total", "whole increments", &ints) ||
        sonde_histogram_new(reg, "h", "mixed observations", (sonde_buckets){bounds, 3}, &hist))
        return 1;
    RUN(never_lower_and_within_bound);
    sonde_registry_free(reg);
    return check_report();
}
