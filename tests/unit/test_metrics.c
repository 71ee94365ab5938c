/*
 * test_metrics.c - every public function of metrics.h, one area per test:
 * the hot path of each type with its refusals, bucket generators and
 * presets, summaries over a sliding window (driven by a fake clock, so
 * window expiry is exact), statesets, infos, timers, child lookup, removal,
 * the cardinality limit, scrape-time values, custom collectors and their
 * emitter's validation, the by-name layer, disabled registries, NULL
 * handles, and the default registry. Values are checked through the read
 * functions and, where the exposition is the only observer, through
 * sonde_expose_alloc().
 */
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "ebr.h"
#include "internal.h"
#include "sonde/sonde.h"

/* ---- helpers ---------------------------------------------------------- */

static struct {
    uint64_t mono_ns, wall_ns;
} clk;

static uint64_t fake_mono(void *ud) { return ((__typeof__(clk) *)ud)->mono_ns; }
static uint64_t fake_wall(void *ud) { return ((__typeof__(clk) *)ud)->wall_ns; }

static void use_fake_clock(void)
{
    clk.mono_ns = 1000000000000ull;
    clk.wall_ns = 1700000000000000000ull;
    sonde_set_clock(fake_mono, fake_wall, &clk);
}

static sonde_registry *new_reg_limit(size_t limit)
{
    sonde_registry *r = NULL;
    sonde_config c;
    sonde_config_init(&c);
    c.process_metrics = 0;
    if (limit)
        c.cardinality_limit = limit;
    if (sonde_registry_new(&c, &r) != SONDE_OK)
        abort();
    return r;
}

static sonde_registry *new_reg(void) { return new_reg_limit(0); }

static char *text(sonde_registry *r) { return sonde_expose_alloc(r, SONDE_FORMAT_TEXT, NULL); }

static sonde_metric *reg_labelled(sonde_registry *r, sonde_type t, const char *name,
                                  const char *const *labels, size_t n)
{
    sonde_metric_opts o = {.type = t, .name = name, .label_names = labels, .label_count = n};
    sonde_metric *m = NULL;
    CHECK_EQ_INT(sonde_register(r, &o, &m), SONDE_OK);
    return m;
}

/* ---- counters and gauges --------------------------------------------- */

TEST(counter_inc_add_and_refusals)
{
    sonde_registry *r = new_reg();
    sonde_counter *c;
    CHECK_EQ_INT(sonde_counter_new(r, "c_total", "help", &c), SONDE_OK);
    CHECK(c != NULL);
    CHECK_EQ_DBL(sonde_counter_value(c), 0);
    sonde_counter_inc(c);
    sonde_counter_inc(c);
    CHECK_EQ_INT(sonde_counter_add(c, 0.5), SONDE_OK);
    CHECK_EQ_INT(sonde_counter_add(c, 0), SONDE_OK);
    CHECK_EQ_DBL(sonde_counter_value(c), 2.5);
    const double bad[] = {-1, -0.0001, -INFINITY, INFINITY, NAN};
    for (size_t i = 0; i < 5; i++)
        CHECK_EQ_INT(sonde_counter_add(c, bad[i]), SONDE_ERANGE);
    CHECK_EQ_DBL(sonde_counter_value(c), 2.5);
    CHECK_EQ_INT(sonde_counter_add(c, 1e15), SONDE_OK);
    CHECK_EQ_DBL(sonde_counter_value(c), 1e15 + 2.5);
    /* the shorthand refuses as sonde_register does, with *out NULL */
    CHECK_EQ_INT(sonde_counter_new(r, "bad-name", NULL, &c), SONDE_ENAME);
    CHECK(c == NULL);
    sonde_counter *again = (sonde_counter *)&again;
    CHECK_EQ_INT(sonde_counter_new(r, "c", NULL, &again), SONDE_EEXIST); /* family of c_total */
    CHECK(again == NULL);
    CHECK_EQ_INT(sonde_counter_new(r, "d", NULL, NULL), SONDE_EINVAL);
    CHECK(sonde_registry_find(r, "d") == NULL);
    sonde_registry_free(r);
}

/* A counter's fractional cell mirrors its integer cell (cells.h): whole and fractional adds
 * from this thread and from other threads all count, and a removed counter's cells (both)
 * read zero when a new series reuses them. */
static void *add_fractions(void *p)
{
    for (int i = 0; i < 1000; i++) {
        sonde_counter_inc(p);
        sonde_counter_add(p, 0.25);
    }
    return NULL;
}

TEST(counter_fraction_cells)
{
    sonde_registry *r = new_reg();
    static const char *const names[] = {"k"};
    sonde_metric *m;
    sonde_metric_opts o = {.type = SONDE_COUNTER, .name = "frac_total", .label_names = names, .label_count = 1};
    CHECK_EQ_INT(sonde_register(r, &o, &m), SONDE_OK);
    sonde_counter *a = sonde_counter_with(m, (const char *[]){"a"});
    sonde_counter_add(a, 2);
    sonde_counter_add(a, 0.5);
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, add_fractions, a);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    CHECK_EQ_DBL(sonde_counter_value(a), 2.5 + 3 * 1000 * 1.25);
    CHECK_EQ_INT(sonde_metric_remove(m, (const char *[]){"a"}), SONDE_OK);
    sonde_ebr_reclaim(); /* no reader: a's cells are recycled now */
    sonde_counter *b = sonde_counter_with(m, (const char *[]){"b"});
    CHECK_EQ_DBL(sonde_counter_value(b), 0);
    sonde_counter_add(b, 1.25);
    CHECK_EQ_DBL(sonde_counter_value(b), 1.25);
    sonde_registry_free(r);
}

TEST(gauge_operations)
{
    use_fake_clock();
    sonde_registry *r = new_reg();
    sonde_gauge *g;
    CHECK_EQ_INT(sonde_gauge_new(r, "g", NULL, &g), SONDE_OK);
    CHECK(g != NULL);
    CHECK_EQ_DBL(sonde_gauge_value(g), 0);
    sonde_gauge_set(g, 10);
    sonde_gauge_inc(g);
    sonde_gauge_inc(g);
    sonde_gauge_dec(g);
    CHECK_EQ_DBL(sonde_gauge_value(g), 11);
    sonde_gauge_add(g, 2.25);
    sonde_gauge_sub(g, 20);
    CHECK_EQ_DBL(sonde_gauge_value(g), -6.75);
    sonde_gauge_add(g, -0.25);
    CHECK_EQ_DBL(sonde_gauge_value(g), -7);
    sonde_gauge_set(g, -INFINITY);
    CHECK_EQ_DBL(sonde_gauge_value(g), -INFINITY);
    sonde_gauge_set(g, NAN);
    CHECK(isnan(sonde_gauge_value(g)));
    clk.wall_ns = 1700000000250000000ull;
    sonde_gauge_set_to_current_time(g);
    CHECK_EQ_DBL(sonde_gauge_value(g), 1700000000.25);
    CHECK_EQ_DBL(sonde_wall_seconds(), 1700000000.25);
    CHECK_EQ_INT(sonde_now_ns(), 1000000000000ull);
    sonde_registry_free(r);
    sonde_set_clock(NULL, NULL, NULL);
    CHECK(sonde_wall_seconds() > 1.5e9 && sonde_wall_seconds() != 1700000000.25);
}

/* ---- histograms and buckets ------------------------------------------ */

TEST(histogram_observe_and_boundaries)
{
    sonde_registry *r = new_reg();
    static const double b[] = {1, 2, 5};
    sonde_histogram *h;
    CHECK_EQ_INT(sonde_histogram_new(r, "h", NULL, (sonde_buckets){b, 3}, &h), SONDE_OK);
    CHECK(h != NULL);
    const double obs[] = {1, 0.5, -3, -INFINITY, 1.0000001, 2, 5, 5.0000001, 1e300, INFINITY, NAN};
    for (size_t i = 0; i < sizeof obs / sizeof *obs; i++)
        sonde_histogram_observe(h, obs[i]);
    uint64_t count = 0, counts[4] = {9, 9, 9, 9};
    double sum = 0;
    sonde_histogram_read(h, &count, &sum, counts);
    CHECK_EQ_INT(count, 10); /* the NaN is dropped */
    CHECK_EQ_INT(counts[0], 4); /* 1, 0.5, -3, -Inf: a value equal to a bound is in that bucket */
    CHECK_EQ_INT(counts[1], 2); /* 1.0000001, 2 */
    CHECK_EQ_INT(counts[2], 1); /* 5 */
    CHECK_EQ_INT(counts[3], 3); /* 5.0000001, 1e300, +Inf */
    CHECK(isnan(sum));          /* -Inf + +Inf */
    sonde_histogram_read(h, &count, NULL, NULL);
    CHECK_EQ_INT(count, 10);

    static const double b2[] = {0.1, 0.2};
    sonde_histogram *h2;
    CHECK_EQ_INT(sonde_histogram_new(r, "h2", NULL, (sonde_buckets){b2, 2}, &h2), SONDE_OK);
    sonde_histogram_observe(h2, 0.1);
    sonde_histogram_observe(h2, 0.2);
    sonde_histogram_observe(h2, 0.30000000000000004);
    sonde_histogram_read(h2, &count, &sum, counts);
    CHECK_EQ_INT(counts[0], 1);
    CHECK_EQ_INT(counts[1], 1);
    CHECK_EQ_INT(counts[2], 1);
    CHECK_EQ_DBL(sum, 0.1 + 0.2 + 0.30000000000000004);

    /* many buckets (the binary search path): every integer lands on its own bound */
    double lin[100];
    CHECK_EQ_INT(sonde_buckets_linear(0, 1, 100, lin), SONDE_OK);
    sonde_histogram *big;
    CHECK_EQ_INT(sonde_histogram_new(r, "big", NULL, (sonde_buckets){lin, 100}, &big), SONDE_OK);
    for (int i = 0; i < 100; i++)
        sonde_histogram_observe(big, i);
    sonde_histogram_observe(big, 99.5);
    sonde_histogram_observe(big, 41.5);
    uint64_t many[101];
    sonde_histogram_read(big, &count, &sum, many);
    CHECK_EQ_INT(count, 102);
    for (int i = 0; i < 100; i++)
        CHECK_EQ_INT(many[i], i == 42 ? 2 : 1);
    CHECK_EQ_INT(many[100], 1);

    /* every list length around the branch-free search (fewer than 16 bounds, padded with
     * +Inf) and the binary search beyond: a value on a bound, just above it, below all of
     * them and +Inf each land in their own bucket */
    for (int n = 1; n <= 18; n++) {
        double bn[18];
        char name[16];
        snprintf(name, sizeof name, "len%d", n);
        CHECK_EQ_INT(sonde_buckets_linear(0, 1, (size_t)n, bn), SONDE_OK);
        sonde_histogram *hl;
        CHECK_EQ_INT(sonde_histogram_new(r, name, NULL, (sonde_buckets){bn, (size_t)n}, &hl), SONDE_OK);
        for (int i = 0; i < n; i++) {
            sonde_histogram_observe(hl, i);        /* bucket i */
            sonde_histogram_observe(hl, i + 0.5);  /* bucket i + 1 */
        }
        sonde_histogram_observe(hl, -0.0);     /* bucket 0: not above the bound 0 */
        sonde_histogram_observe(hl, -1e300);   /* bucket 0 */
        sonde_histogram_observe(hl, INFINITY); /* +Inf */
        uint64_t got[19];
        sonde_histogram_read(hl, &count, NULL, got);
        CHECK_EQ_INT(count, 2 * n + 3);
        CHECK_EQ_INT(got[0], 3);
        for (int i = 1; i < n; i++)
            CHECK_EQ_INT(got[i], 2);
        CHECK_EQ_INT(got[n], 2);
    }

    /* n observations in one step: the same counts and sum as n calls */
    sonde_histogram *hn;
    CHECK_EQ_INT(sonde_histogram_new(r, "hn", NULL, (sonde_buckets){b, 3}, &hn), SONDE_OK);
    sonde_histogram_observe_n(hn, 2, 5);
    sonde_histogram_observe_n(hn, 7.5, 2);
    sonde_histogram_observe_n(hn, 1, 0);     /* nothing */
    sonde_histogram_observe_n(hn, NAN, 3);   /* refused */
    sonde_histogram_observe_n(NULL, 1, 3);   /* no-op */
    sonde_histogram_read(hn, &count, &sum, counts);
    CHECK_EQ_INT(count, 7);
    CHECK_EQ_INT(counts[0], 0);
    CHECK_EQ_INT(counts[1], 5);
    CHECK_EQ_INT(counts[2], 0);
    CHECK_EQ_INT(counts[3], 2);
    CHECK_EQ_DBL(sum, 25);

    /* NULL handle reads zeros */
    count = 5;
    sum = 5;
    sonde_histogram_read(NULL, &count, &sum, NULL);
    CHECK_EQ_INT(count, 0);
    CHECK_EQ_DBL(sum, 0);
    sonde_registry_free(r);
}

/* The bucket lookup table (buckets.c) against the definition, the bounds below a value: bound
 * lists that fit a table (the presets, a full 256-cell table, a +0 bound, random spacings
 * that fit) and lists that fall back to the search (a negative or -0 bound, two bounds in
 * one cell, too wide a range), each probed on, just beside and between its bounds, at the
 * special values and at random values of every magnitude. */
static int bucket_of(const double *b, size_t n, double v)
{
    int k = 0;
    while ((size_t)k < n && v > b[k])
        k++;
    return k;
}

static uint64_t lcg_next(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 11;
}

static void check_buckets_against_definition(sonde_registry *r, const double *b, size_t n, int table)
{
    static int id;
    char name[32];
    snprintf(name, sizeof name, "bt%d", id++);
    sonde_bucket_table t;
    CHECK_EQ_INT(sonde_bucket_table_build(b, n, &t), SONDE_OK);
    CHECK_EQ_INT(t.slots != NULL, table);
    CHECK_EQ_INT(t.at != 0, table);
    free(t.slots);
    sonde_histogram *h;
    CHECK_EQ_INT(sonde_histogram_new(r, name, NULL, (sonde_buckets){b, n}, &h), SONDE_OK);
    uint64_t *want = calloc(n + 1, sizeof *want), *got = calloc(n + 1, sizeof *got);
    static const double special[] = {0.0, -0.0, 1, -1, INFINITY, -INFINITY, DBL_MAX, -DBL_MAX, 5e-324,
                                     -5e-324, DBL_MIN, 1e-300, 1e300, 0.5, 3};
    uint64_t seed = 42 + n, count = 0;
    for (size_t i = 0; i < sizeof special / sizeof *special; i++, count++) {
        sonde_histogram_observe(h, special[i]);
        want[bucket_of(b, n, special[i])]++;
    }
    for (size_t i = 0; i < n; i++) {
        const double probes[] = {b[i], nextafter(b[i], INFINITY), nextafter(b[i], -INFINITY), b[i] * 1.1,
                                 b[i] / 1.1, -b[i], i + 1 < n ? (b[i] + b[i + 1]) / 2 : b[i] * 2};
        for (size_t p = 0; p < sizeof probes / sizeof *probes; p++, count++) {
            sonde_histogram_observe(h, probes[p]);
            want[bucket_of(b, n, probes[p])]++;
        }
    }
    for (int i = 0; i < 2000; i++, count++) { /* random bits: every exponent and sign */
        uint64_t bits = lcg_next(&seed) << 11 ^ lcg_next(&seed);
        double v;
        memcpy(&v, &bits, sizeof v);
        if (isnan(v))
            v = 1.0 / (i + 1);
        sonde_histogram_observe(h, v);
        want[bucket_of(b, n, v)]++;
    }
    uint64_t total = 0;
    sonde_histogram_read(h, &total, NULL, got);
    CHECK_EQ_INT(total, count);
    for (size_t i = 0; i <= n; i++)
        if (got[i] != want[i]) {
            fprintf(stderr, "%s: bucket %zu of %zu: %llu, want %llu\n", name, i, n, (unsigned long long)got[i],
                    (unsigned long long)want[i]);
            CHECK(got[i] == want[i]);
        }
    free(want);
    free(got);
}

TEST(histogram_bucket_table)
{
    sonde_registry *r = new_reg();
    const sonde_buckets presets[] = {SONDE_BUCKETS_DEFAULT, SONDE_BUCKETS_SIZE, SONDE_BUCKETS_LLM_TOKENS,
                                     SONDE_BUCKETS_LLM_DURATION, SONDE_BUCKETS_LLM_TTFT, SONDE_BUCKETS_LLM_TPOT,
                                     SONDE_BUCKETS_LONG_DURATION, SONDE_BUCKETS_THROUGHPUT};
    for (size_t i = 0; i < sizeof presets / sizeof *presets; i++)
        check_buckets_against_definition(r, presets[i].bounds, presets[i].count, 1);
    static const double small[] = {1, 2, 5}, zero[] = {0.0, 1e-308, 3e-308}, one[] = {7};
    check_buckets_against_definition(r, small, 3, 1);
    check_buckets_against_definition(r, zero, 3, 1);
    check_buckets_against_definition(r, one, 1, 1);
    double full[257]; /* one bound in each of 256 consecutive cells (four per power of two) */
    for (int i = 0; i < 257; i++)
        full[i] = 1.1 * pow(2, i / 4.0);
    check_buckets_against_definition(r, full, 256, 1);
    check_buckets_against_definition(r, full, 257, 0); /* 257 cells */
    static const double negative[] = {-1, 0, 1}, neg_zero[] = {-0.0, 1}, close[] = {8, 9, 10},
                        wide[] = {1e-10, 1e10};
    check_buckets_against_definition(r, negative, 3, 0);
    check_buckets_against_definition(r, neg_zero, 2, 0);
    check_buckets_against_definition(r, close, 3, 0);
    check_buckets_against_definition(r, wide, 2, 0);
    uint64_t seed = 7;
    int fits = 0, falls_back = 0;
    for (int l = 0; l < 40; l++) { /* random ratios between 1.05 and 3 */
        double rnd[24];
        size_t n = 1 + lcg_next(&seed) % 24;
        rnd[0] = ldexp(1 + (double)(lcg_next(&seed) % 1000) / 1000, (int)(lcg_next(&seed) % 80) - 40);
        for (size_t i = 1; i < n; i++)
            rnd[i] = rnd[i - 1] * (1.05 + (double)(lcg_next(&seed) % 1950) / 1000);
        sonde_bucket_table t;
        CHECK_EQ_INT(sonde_bucket_table_build(rnd, n, &t), SONDE_OK);
        int table = t.slots != NULL;
        free(t.slots);
        fits += table;
        falls_back += !table;
        check_buckets_against_definition(r, rnd, n, table);
    }
    CHECK(fits > 5 && falls_back > 5); /* both paths taken */
    sonde_registry_free(r);
}

TEST(histogram_bucket_options)
{
    static const double lat[] = {0.5, 1};
    sonde_config c;
    sonde_config_init(&c);
    c.process_metrics = 0;
    c.latency_buckets = (sonde_buckets){lat, 2};
    sonde_registry *r;
    CHECK_EQ_INT(sonde_registry_new(&c, &r), SONDE_OK);
    /* {NULL,0} takes the registry's latency buckets */
    sonde_histogram *h;
    CHECK_EQ_INT(sonde_histogram_new(r, "dflt", NULL, (sonde_buckets){0}, &h), SONDE_OK);
    sonde_histogram_observe(h, 0.7);
    uint64_t counts[3];
    sonde_histogram_read(h, NULL, NULL, counts);
    CHECK_EQ_INT(counts[0], 0);
    CHECK_EQ_INT(counts[1], 1);
    CHECK_EQ_INT(counts[2], 0);
    /* a trailing +Inf is tolerated (implied anyway) */
    static const double inf[] = {1, 2, INFINITY};
    CHECK_EQ_INT(sonde_histogram_new(r, "with_inf", NULL, (sonde_buckets){inf, 3}, &h), SONDE_OK);
    CHECK(h != NULL);
    char *t = text(r);
    CHECK_CONTAINS(t, "with_inf_bucket{le=\"2\"} 0\nwith_inf_bucket{le=\"+Inf\"} 0\nwith_inf_sum 0\n");
    CHECK(!strstr(t, "le=\"+Inf\"} 0\nwith_inf_bucket{le=\"+Inf\"}"));
    free(t);
    /* refusals */
    static const double unsorted[] = {1, 3, 2}, dup[] = {1, 1}, nan_b[] = {1, NAN},
                        neg_inf[] = {-INFINITY, 1}, only_inf[] = {INFINITY};
    static double many[1001];
    for (int i = 0; i < 1001; i++)
        many[i] = i;
    const sonde_buckets bad[] = {{unsorted, 3}, {dup, 2}, {nan_b, 2}, {neg_inf, 2},
                                 {only_inf, 1}, {NULL, 3}, {many, 1001}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sonde_metric_opts o = {.type = SONDE_HISTOGRAM, .name = "bad_buckets", .buckets = bad[i]};
        sonde_metric *m = NULL;
        CHECK_EQ_INT(sonde_register(r, &o, &m), SONDE_EINVAL);
        CHECK(m == NULL);
    }
    CHECK(sonde_registry_find(r, "bad_buckets") == NULL);
    sonde_histogram *ok;
    CHECK_EQ_INT(sonde_histogram_new(r, "ok_1000", NULL, (sonde_buckets){many, 1000}, &ok), SONDE_OK);
    CHECK(ok != NULL);
    sonde_registry_free(r);
}

TEST(bucket_generators)
{
    double out[8];
    CHECK_EQ_INT(sonde_buckets_linear(-1, 0.5, 4, out), SONDE_OK);
    CHECK_EQ_DBL(out[0], -1);
    CHECK_EQ_DBL(out[1], -0.5);
    CHECK_EQ_DBL(out[2], 0);
    CHECK_EQ_DBL(out[3], 0.5);
    CHECK_EQ_INT(sonde_buckets_exponential(0.25, 4, 5, out), SONDE_OK);
    CHECK_EQ_DBL(out[0], 0.25);
    CHECK_EQ_DBL(out[1], 1);
    CHECK_EQ_DBL(out[2], 4);
    CHECK_EQ_DBL(out[3], 16);
    CHECK_EQ_DBL(out[4], 64);
    CHECK_EQ_INT(sonde_buckets_linear(5, 1, 1, out), SONDE_OK);
    CHECK_EQ_DBL(out[0], 5);

    out[0] = 42;
    CHECK_EQ_INT(sonde_buckets_linear(0, 1, 0, out), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_buckets_linear(0, 0, 3, out), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_buckets_linear(0, -1, 3, out), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_buckets_linear(0, NAN, 3, out), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_buckets_linear(0, INFINITY, 3, out), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_buckets_linear(NAN, 1, 3, out), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_buckets_linear(-INFINITY, 1, 3, out), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_buckets_linear(0, 1, 3, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_buckets_linear(0, 1, 100000, out), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_buckets_exponential(0, 2, 3, out), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_buckets_exponential(-1, 2, 3, out), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_buckets_exponential(1, 1, 3, out), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_buckets_exponential(1, 0.5, 3, out), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_buckets_exponential(1, NAN, 3, out), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_buckets_exponential(INFINITY, 2, 3, out), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_buckets_exponential(1, 2, 0, out), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_buckets_exponential(1e300, 1e10, 5, out), SONDE_EINVAL); /* overflows */
    CHECK_EQ_INT(sonde_buckets_exponential(1, 2, 3, NULL), SONDE_EINVAL);
    /* linear buckets whose steps vanish in rounding are not strictly increasing: refused */
    double tiny[3];
    if (sonde_buckets_linear(1e20, 1, 3, tiny) == SONDE_OK) {
        sonde_registry *r = new_reg();
        sonde_histogram *h = (sonde_histogram *)&h;
        CHECK_EQ_INT(sonde_histogram_new(r, "tiny", NULL, (sonde_buckets){tiny, 3}, &h), SONDE_EINVAL);
        CHECK(h == NULL);
        sonde_registry_free(r);
    }
}

static int bounds_equal(sonde_buckets b, const double *want, size_t n)
{
    if (b.count != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (b.bounds[i] != want[i])
            return 0;
    return 1;
}

TEST(bucket_presets)
{
    static const double dflt[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    static const double size[] = {100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000};
    static const double tokens[] = {1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576,
                                    4194304, 16777216, 67108864};
    static const double dur[] = {0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24,
                                 20.48, 40.96, 81.92};
    static const double ttft[] = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75,
                                  1, 2.5, 5, 7.5, 10};
    static const double tpot[] = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5};
    CHECK(bounds_equal(SONDE_BUCKETS_DEFAULT, dflt, 11));
    CHECK(bounds_equal(SONDE_BUCKETS_SIZE, size, 8));
    CHECK(bounds_equal(SONDE_BUCKETS_LLM_TOKENS, tokens, 14));
    CHECK(bounds_equal(SONDE_BUCKETS_LLM_DURATION, dur, 14));
    CHECK(bounds_equal(SONDE_BUCKETS_LLM_TTFT, ttft, 16));
    CHECK(bounds_equal(SONDE_BUCKETS_LLM_TPOT, tpot, 13));
    static const double longd[] = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200,
                                   1800, 3600};
    static const double tput[] = {1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};
    CHECK(bounds_equal(SONDE_BUCKETS_LONG_DURATION, longd, 15));
    CHECK(bounds_equal(SONDE_BUCKETS_THROUGHPUT, tput, 13));
    /* the rendered le values are exact */
    sonde_registry *r = new_reg();
    sonde_histogram *d;
    CHECK_EQ_INT(sonde_histogram_new(r, "d", NULL, SONDE_BUCKETS_LLM_DURATION, &d), SONDE_OK);
    char *t = text(r);
    CHECK_CONTAINS(t, "d_bucket{le=\"0.16\"} 0\nd_bucket{le=\"0.32\"} 0\n");
    CHECK_CONTAINS(t, "d_bucket{le=\"81.92\"} 0\nd_bucket{le=\"+Inf\"} 0\n");
    free(t);
    /* an agent run of 25 minutes lands in the 1800 s bucket, 40 tokens/s in 50 */
    sonde_histogram *run, *tps;
    CHECK_EQ_INT(sonde_histogram_new(r, "run_seconds", NULL, SONDE_BUCKETS_LONG_DURATION, &run),
                 SONDE_OK);
    CHECK_EQ_INT(sonde_histogram_new(r, "tps", NULL, SONDE_BUCKETS_THROUGHPUT, &tps), SONDE_OK);
    sonde_histogram_observe(run, 1500);
    sonde_histogram_observe(tps, 40);
    t = text(r);
    CHECK_CONTAINS(t, "run_seconds_bucket{le=\"1200\"} 0\nrun_seconds_bucket{le=\"1800\"} 1\n"
                      "run_seconds_bucket{le=\"3600\"} 1\n");
    CHECK_CONTAINS(t, "tps_bucket{le=\"25\"} 0\ntps_bucket{le=\"50\"} 1\n");
    free(t);
    sonde_registry_free(r);
}

/* ---- summaries --------------------------------------------------------- */

/* A permutation of 1..n (deterministic LCG shuffle). */
static void shuffled(double *v, int n)
{
    for (int i = 0; i < n; i++)
        v[i] = i + 1;
    uint64_t s = 12345;
    for (int i = n - 1; i > 0; i--) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        int j = (int)((s >> 33) % (uint64_t)(i + 1));
        double t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

TEST(summary_quantiles_within_targets)
{
    use_fake_clock();
    sonde_registry *r = new_reg();
    static const sonde_quantile targets[] = {{0.5, 0.05}, {0.9, 0.01}, {0.99, 0.001}, {0.1, 0.02}};
    sonde_metric_opts o = {.type = SONDE_SUMMARY, .name = "s", .quantiles = targets, .quantile_count = 4};
    sonde_metric *m;
    CHECK_EQ_INT(sonde_register(r, &o, &m), SONDE_OK);
    sonde_summary *s = sonde_summary_of(m);
    CHECK(s != NULL);
    CHECK(isnan(sonde_summary_quantile(s, 0.5)));
    enum { N = 20000 };
    static double v[N];
    shuffled(v, N);
    for (int i = 0; i < N; i++)
        sonde_summary_observe(s, v[i]);
    sonde_summary_observe(s, NAN); /* refused */
    uint64_t count;
    double sum;
    sonde_summary_read(s, &count, &sum);
    CHECK_EQ_INT(count, N);
    CHECK_EQ_DBL(sum, (double)N * (N + 1) / 2);
    for (size_t i = 0; i < 4; i++) {
        /* value k has rank k: the estimate's rank must be within error * N (+1 for rounding) */
        double est = sonde_summary_quantile(s, targets[i].quantile);
        double want = targets[i].quantile * N, slack = targets[i].error * N + 1;
        if (!(fabs(est - want) <= slack))
            fprintf(stderr, "q=%g: estimate %g, want %g +- %g\n", targets[i].quantile, est, want, slack);
        CHECK(fabs(est - want) <= slack);
    }
    CHECK(isnan(sonde_summary_quantile(s, 1.5)));
    CHECK(isnan(sonde_summary_quantile(s, -0.1)));
    CHECK(isnan(sonde_summary_quantile(s, NAN)));
    sonde_registry_free(r);
    sonde_set_clock(NULL, NULL, NULL);
}

TEST(summary_sliding_window)
{
    use_fake_clock();
    sonde_registry *r = new_reg();
    /* 10 s window in 5 slices of 2 s */
    sonde_metric_opts o = {.type = SONDE_SUMMARY, .name = "w", .max_age_seconds = 10, .age_buckets = 5};
    sonde_metric *m;
    CHECK_EQ_INT(sonde_register(r, &o, &m), SONDE_OK);
    sonde_summary *s = sonde_summary_of(m);
    uint64_t t0 = clk.mono_ns;
    for (int i = 0; i < 10; i++)
        sonde_summary_observe(s, 1);
    clk.mono_ns = t0 + 5000000000ull;
    for (int i = 0; i < 10; i++)
        sonde_summary_observe(s, 100);
    CHECK_EQ_DBL(sonde_summary_quantile(s, 0.25), 1);
    CHECK_EQ_DBL(sonde_summary_quantile(s, 0.75), 100);
    clk.mono_ns = t0 + 9999999999ull; /* the first values are just inside the window */
    CHECK_EQ_DBL(sonde_summary_quantile(s, 0.25), 1);
    clk.mono_ns = t0 + 10000000000ull; /* now they are out */
    CHECK_EQ_DBL(sonde_summary_quantile(s, 0.25), 100);
    CHECK_EQ_DBL(sonde_summary_quantile(s, 0), 100);
    clk.mono_ns = t0 + 16000000000ull; /* and the later ones too */
    CHECK(isnan(sonde_summary_quantile(s, 0.5)));
    char *t = text(r);
    CHECK_CONTAINS(t, "w{quantile=\"0.5\"} NaN\nw{quantile=\"0.9\"} NaN\nw{quantile=\"0.99\"} NaN\n"
                      "w_sum 1010\nw_count 20\n");
    free(t);
    /* a long idle time (a year) rotates once, not once per slice */
    clk.mono_ns += 365ull * 86400 * 1000000000ull;
    sonde_summary_observe(s, 7);
    CHECK_EQ_DBL(sonde_summary_quantile(s, 0.5), 7);
    uint64_t count;
    sonde_summary_read(s, &count, NULL);
    CHECK_EQ_INT(count, 21);
    sonde_registry_free(r);
    sonde_set_clock(NULL, NULL, NULL);
}

TEST(summary_refusals)
{
    sonde_registry *r = new_reg();
    const sonde_quantile bad_q[][1] = {{{1.5, 0.01}}, {{-0.1, 0.01}}, {{NAN, 0.01}},
                                       {{0.5, 0}}, {{0.5, 1}}, {{0.5, NAN}}};
    for (size_t i = 0; i < sizeof bad_q / sizeof *bad_q; i++) {
        sonde_metric_opts o = {.type = SONDE_SUMMARY, .name = "bad", .quantiles = bad_q[i], .quantile_count = 1};
        sonde_metric *m = NULL;
        CHECK_EQ_INT(sonde_register(r, &o, &m), SONDE_EINVAL);
    }
    sonde_metric_opts o = {.type = SONDE_SUMMARY, .name = "bad", .quantile_count = 2};
    sonde_metric *m = NULL;
    CHECK_EQ_INT(sonde_register(r, &o, &m), SONDE_EINVAL);
    const double bad_age[] = {-1, NAN, INFINITY, 1e300};
    for (size_t i = 0; i < 4; i++) {
        sonde_metric_opts a = {.type = SONDE_SUMMARY, .name = "bad", .max_age_seconds = bad_age[i]};
        CHECK_EQ_INT(sonde_register(r, &a, &m), SONDE_EINVAL);
    }
    sonde_metric_opts b = {.type = SONDE_SUMMARY, .name = "bad", .age_buckets = -1};
    CHECK_EQ_INT(sonde_register(r, &b, &m), SONDE_EINVAL);
    /* far more quantiles than anyone needs are refused rather than overflow the render */
    static sonde_quantile many[100];
    for (int i = 0; i < 100; i++)
        many[i] = (sonde_quantile){i / 100.0, 0.001};
    sonde_metric_opts c = {.type = SONDE_SUMMARY, .name = "many", .quantiles = many, .quantile_count = 100};
    int rc = sonde_register(r, &c, &m);
    if (rc == SONDE_OK) { /* accepted: then it must render every quantile */
        sonde_summary_observe(sonde_summary_of(m), 1);
        char *t = text(r);
        CHECK_CONTAINS(t, "many{quantile=\"0.99\"} 1\n");
        free(t);
    } else {
        CHECK_EQ_INT(rc, SONDE_EINVAL);
    }
    CHECK(sonde_registry_find(r, "bad") == NULL);
    sonde_registry_free(r);
}

/* ---- statesets, infos, timers ----------------------------------------- */

TEST(stateset)
{
    sonde_registry *r = new_reg();
    static const char *const states[] = {"a", "b", "c"};
    static const char *const labels[] = {"pod"};
    sonde_metric_opts o = {.type = SONDE_STATESET, .name = "st", .states = states, .state_count = 3,
                           .label_names = labels, .label_count = 1};
    sonde_metric *m;
    CHECK_EQ_INT(sonde_register(r, &o, &m), SONDE_OK);
    sonde_stateset *s = sonde_stateset_with(m, (const char *[]){"p1"});
    CHECK(s != NULL);
    CHECK_EQ_INT(sonde_stateset_set(s, "b"), SONDE_OK);
    CHECK_EQ_INT(sonde_stateset_set(s, "zz"), SONDE_ENOENT);
    CHECK_EQ_INT(sonde_stateset_set(s, NULL), SONDE_EINVAL);
    char *t = sonde_expose_alloc(r, SONDE_FORMAT_OPENMETRICS, NULL);
    CHECK_CONTAINS(t, "# TYPE st stateset\nst{pod=\"p1\",st=\"a\"} 0\nst{pod=\"p1\",st=\"b\"} 1\nst{pod=\"p1\",st=\"c\"} 0\n");
    free(t);
    CHECK_EQ_INT(sonde_stateset_set_state(s, "c", 1), SONDE_OK);
    CHECK_EQ_INT(sonde_stateset_set_state(s, "b", 0), SONDE_OK);
    CHECK_EQ_INT(sonde_stateset_set_state(s, "a", 7), SONDE_OK);
    CHECK_EQ_INT(sonde_stateset_set_state(s, "nope", 1), SONDE_ENOENT);
    t = text(r);
    CHECK_CONTAINS(t, "# TYPE st gauge\nst{pod=\"p1\",st=\"a\"} 1\nst{pod=\"p1\",st=\"b\"} 0\nst{pod=\"p1\",st=\"c\"} 1\n");
    free(t);
    CHECK_EQ_INT(sonde_stateset_set(NULL, "a"), SONDE_OK);
    CHECK_EQ_INT(sonde_stateset_set_state(NULL, "a", 1), SONDE_OK);
    /* refusals */
    sonde_metric_opts bad = {.type = SONDE_STATESET, .name = "nostates"};
    CHECK_EQ_INT(sonde_register(r, &bad, &m), SONDE_EINVAL);
    static const char *const dup[] = {"x", "x"};
    bad.states = dup;
    bad.state_count = 2;
    CHECK_EQ_INT(sonde_register(r, &bad, &m), SONDE_EINVAL);
    static const char *many[65];
    static char names[65][8];
    for (int i = 0; i < 65; i++) {
        snprintf(names[i], sizeof names[i], "s%d", i);
        many[i] = names[i];
    }
    bad.states = many;
    bad.state_count = 65;
    CHECK_EQ_INT(sonde_register(r, &bad, &m), SONDE_EINVAL);
    bad.state_count = 64; /* 64 states fit one bit each */
    CHECK_EQ_INT(sonde_register(r, &bad, &m), SONDE_OK);
    s = sonde_stateset_with(m, NULL);
    CHECK_EQ_INT(sonde_stateset_set(s, "s63"), SONDE_OK);
    t = text(r);
    CHECK_CONTAINS(t, "nostates{nostates=\"s62\"} 0\nnostates{nostates=\"s63\"} 1\n");
    free(t);
    sonde_registry_free(r);
}

TEST(info)
{
    sonde_registry *r = new_reg();
    static const char *const labels[] = {"version", "commit"};
    sonde_metric *m = reg_labelled(r, SONDE_INFO, "build_info", labels, 2);
    CHECK_EQ_INT(sonde_metric_type(m), SONDE_INFO);
    CHECK_EQ_INT(sonde_info_set(m, (const char *[]){"1.0", "abc"}), SONDE_OK);
    CHECK_EQ_INT(sonde_info_set(m, (const char *[]){"1.0", "abc"}), SONDE_OK);
    CHECK_EQ_INT(sonde_metric_child_count(m), 1);
    CHECK_EQ_INT(sonde_info_set(m, (const char *[]){"1.0", "\xff"}), SONDE_EUTF8);
    CHECK_EQ_INT(sonde_info_set(m, NULL), SONDE_ELABELS);
    CHECK_EQ_INT(sonde_info_set(NULL, NULL), SONDE_OK);
    sonde_metric *g = reg_labelled(r, SONDE_GAUGE, "not_info", NULL, 0);
    CHECK_EQ_INT(sonde_info_set(g, NULL), SONDE_ETYPE);
    char *t = text(r);
    CHECK_CONTAINS(t, "# TYPE build_info gauge\nbuild_info{version=\"1.0\",commit=\"abc\"} 1\n");
    free(t);
    t = sonde_expose_alloc(r, SONDE_FORMAT_OPENMETRICS, NULL);
    CHECK_CONTAINS(t, "# TYPE build info\nbuild_info{version=\"1.0\",commit=\"abc\"} 1\n");
    free(t);
    sonde_registry_free(r);
}

TEST(timers)
{
    use_fake_clock();
    sonde_registry *r = new_reg();
    static const double b[] = {1, 2};
    sonde_histogram *h;
    CHECK_EQ_INT(sonde_histogram_new(r, "t_seconds", NULL, (sonde_buckets){b, 2}, &h), SONDE_OK);
    sonde_timer t = sonde_timer_histogram(h);
    clk.mono_ns += 1500000000ull;
    CHECK_EQ_DBL(sonde_timer_stop(&t), 1.5);
    clk.mono_ns += 1000000000ull;
    CHECK_EQ_DBL(sonde_timer_stop(&t), 2.5); /* returns the time, observes nothing */
    uint64_t count, counts[3];
    double sum;
    sonde_histogram_read(h, &count, &sum, counts);
    CHECK_EQ_INT(count, 1);
    CHECK_EQ_DBL(sum, 1.5);
    CHECK_EQ_INT(counts[1], 1);

    sonde_metric_opts o = {.type = SONDE_SUMMARY, .name = "ts"};
    sonde_metric *m;
    CHECK_EQ_INT(sonde_register(r, &o, &m), SONDE_OK);
    t = sonde_timer_summary(sonde_summary_of(m));
    clk.mono_ns += 250000000ull;
    CHECK_EQ_DBL(sonde_timer_stop(&t), 0.25);
    sonde_summary_read(sonde_summary_of(m), &count, &sum);
    CHECK_EQ_INT(count, 1);
    CHECK_EQ_DBL(sum, 0.25);
    CHECK_EQ_DBL(sonde_summary_quantile(sonde_summary_of(m), 0.5), 0.25);

    /* a clock that goes backwards gives 0, not a huge number */
    t = sonde_timer_histogram(h);
    clk.mono_ns -= 5000000000ull;
    CHECK_EQ_DBL(sonde_timer_stop(&t), 0);
    /* NULL targets time without observing */
    t = sonde_timer_histogram(NULL);
    clk.mono_ns += 3000000000ull;
    CHECK_EQ_DBL(sonde_timer_stop(&t), 3);
    CHECK_EQ_DBL(sonde_timer_stop(NULL), 0);
    sonde_histogram_read(h, &count, &sum, NULL);
    CHECK_EQ_INT(count, 2);
    CHECK_EQ_DBL(sum, 1.5);
    sonde_registry_free(r);
    sonde_set_clock(NULL, NULL, NULL);
}

/* ---- children, removal, limits ----------------------------------------- */

TEST(children_lookup)
{
    sonde_registry *r = new_reg();
    static const char *const labels[] = {"a", "b"};
    sonde_metric *m = reg_labelled(r, SONDE_COUNTER, "req_total", labels, 2);
    CHECK_EQ_INT(sonde_metric_label_count(m), 2);
    CHECK_EQ_STR(sonde_metric_name(m), "req");
    CHECK_EQ_INT(sonde_metric_type(m), SONDE_COUNTER);
    sonde_counter *c1 = sonde_counter_with(m, (const char *[]){"x", "y"});
    sonde_counter *c2 = sonde_counter_with(m, (const char *[]){"x", "y"});
    char a[] = "x", b[] = "y"; /* other memory, same values */
    sonde_counter *c3 = sonde_counter_with(m, (const char *[]){a, b});
    CHECK(c1 != NULL && c1 == c2 && c1 == c3);
    CHECK(sonde_counter_with(m, (const char *[]){"y", "x"}) != c1);
    sonde_counter *ab_c = sonde_counter_with(m, (const char *[]){"ab", "c"});
    sonde_counter *a_bc = sonde_counter_with(m, (const char *[]){"a", "bc"});
    CHECK(ab_c != a_bc);
    CHECK_EQ_INT(sonde_metric_child_count(m), 4);
    sonde_counter_inc(c1);
    sonde_counter_add(ab_c, 5);
    CHECK_EQ_DBL(sonde_counter_value(c3), 1);
    CHECK_EQ_DBL(sonde_counter_value(a_bc), 0);
    /* many children: the table grows and every handle stays the same */
    sonde_counter *h[300];
    char buf[32];
    for (int i = 0; i < 300; i++) {
        snprintf(buf, sizeof buf, "v%d", i);
        h[i] = sonde_counter_with(m, (const char *[]){buf, "z"});
        sonde_counter_add(h[i], i);
    }
    for (int i = 0; i < 300; i++) {
        snprintf(buf, sizeof buf, "v%d", i);
        CHECK(sonde_counter_with(m, (const char *[]){buf, "z"}) == h[i]);
        CHECK_EQ_DBL(sonde_counter_value(h[i]), i);
    }
    CHECK_EQ_INT(sonde_metric_child_count(m), 304);
    /* unlabelled families have their child built in */
    sonde_metric *u = reg_labelled(r, SONDE_GAUGE, "u", NULL, 0);
    CHECK(sonde_gauge_of(u) != NULL);
    CHECK(sonde_gauge_with(u, NULL) == sonde_gauge_of(u));
    CHECK(sonde_counter_of(u) == NULL);
    CHECK(sonde_counter_of(m) == NULL); /* labelled: no built-in child */
    CHECK_EQ_INT(sonde_metric_child_count(u), 1);
    sonde_metric *hs = reg_labelled(r, SONDE_HISTOGRAM, "hs", NULL, 0);
    CHECK(sonde_histogram_of(hs) != NULL && sonde_histogram_of(hs) == sonde_histogram_with(hs, NULL));
    CHECK(sonde_summary_of(hs) == NULL);
    CHECK(sonde_registry_find(r, "req") == m);
    CHECK(sonde_registry_find(r, "req_total") == m);
    CHECK(sonde_registry_find(r, "nope") == NULL);
    CHECK(sonde_registry_find(r, NULL) == NULL);
    CHECK(sonde_registry_find(NULL, "req") == NULL);
    sonde_registry_free(r);
}

/* A lookup packs the label values with loads that may pass their end within a page
 * (family.c): every length around those loads' widths, at every position, and values that end
 * just before an unmapped page or start a page, find the same child as a copy elsewhere;
 * tuples longer than the lookup's inline buffer go through the heap. */
TEST(children_lookup_packed_keys)
{
    sonde_registry *r = new_reg();
    static const char *const labels[] = {"a", "b", "c"};
    sonde_metric *m = reg_labelled(r, SONDE_COUNTER, "pk_total", labels, 3);
    long page = sysconf(_SC_PAGESIZE);
    char *map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(map != MAP_FAILED);
    CHECK_EQ_INT(mprotect(map + page, (size_t)page, PROT_NONE), 0);
    size_t made = 0;
    for (int pos = 0; pos < 3; pos++)
        for (size_t len = 0; len <= 40; len++) {
            char v[48];
            for (size_t i = 0; i < len; i++)
                v[i] = (char)('a' + (i + len + (size_t)pos) % 26);
            v[len] = '\0';
            const char *t[3] = {"x", "yy", "zzz"};
            t[pos] = v;
            sonde_counter *c = sonde_counter_with(m, t);
            CHECK(c != NULL);
            made++;
            char *end = map + page - (len + 1); /* its NUL is the last byte before PROT_NONE */
            memcpy(end, v, len + 1);
            t[pos] = end;
            CHECK(sonde_counter_with(m, t) == c);
            memcpy(map, v, len + 1); /* at the start of a page */
            t[pos] = map;
            CHECK(sonde_counter_with(m, t) == c);
            sonde_counter_inc(c);
        }
    CHECK_EQ_INT(sonde_metric_child_count(m), made);
    /* a missing value is refused wherever it is */
    void *child = (void *)1;
    CHECK_EQ_INT(sonde_metric_child(m, (const char *[]){"x", "yy", NULL}, &child), SONDE_ELABELS);
    CHECK(child == NULL);
    CHECK(sonde_counter_with(m, (const char *[]){NULL, "yy", "zzz"}) == NULL);
    CHECK_EQ_INT(sonde_metric_child_count(m), made);
    munmap(map, (size_t)page * 2);

    /* twelve values of 200 bytes: a tuple longer than the inline buffer */
    static const char *const many[] = {"l0", "l1", "l2", "l3", "l4", "l5", "l6", "l7", "l8", "l9", "l10", "l11"};
    sonde_metric *w = reg_labelled(r, SONDE_GAUGE, "wide", many, 12);
    char vals[12][201];
    const char *tv[12];
    for (int i = 0; i < 12; i++) {
        memset(vals[i], 'A' + i, 200);
        vals[i][200] = '\0';
        tv[i] = vals[i];
    }
    sonde_gauge *g = sonde_gauge_with(w, tv);
    CHECK(g != NULL);
    sonde_gauge_set(g, 7);
    CHECK(sonde_gauge_with(w, tv) == g);
    vals[11][199] = 'z'; /* differs only in its last byte */
    sonde_gauge *g2 = sonde_gauge_with(w, tv);
    CHECK(g2 != NULL && g2 != g);
    CHECK_EQ_INT(sonde_metric_child_count(w), 2);
    CHECK_EQ_INT(sonde_metric_remove(w, tv), SONDE_OK);
    CHECK_EQ_INT(sonde_metric_remove(w, tv), SONDE_ENOENT);
    vals[11][199] = 'L';
    CHECK(sonde_gauge_with(w, tv) == g);
    CHECK_EQ_DBL(sonde_gauge_value(g), 7);
    sonde_registry_free(r);
}

TEST(remove_clear_unregister)
{
    sonde_registry *r = new_reg();
    static const char *const labels[] = {"k"};
    sonde_metric *m = reg_labelled(r, SONDE_COUNTER, "rm_total", labels, 1);
    sonde_counter_add(sonde_counter_with(m, (const char *[]){"a"}), 3);
    sonde_counter_add(sonde_counter_with(m, (const char *[]){"b"}), 4);
    sonde_counter_add(sonde_counter_with(m, (const char *[]){"c"}), 5);
    CHECK_EQ_INT(sonde_metric_remove(m, (const char *[]){"b"}), SONDE_OK);
    CHECK_EQ_INT(sonde_metric_remove(m, (const char *[]){"b"}), SONDE_ENOENT);
    CHECK_EQ_INT(sonde_metric_remove(m, NULL), SONDE_ELABELS);
    CHECK_EQ_INT(sonde_metric_remove(NULL, NULL), SONDE_OK);
    CHECK_EQ_INT(sonde_metric_child_count(m), 2);
    char *t = text(r);
    CHECK_CONTAINS(t, "rm_total{k=\"a\"} 3\nrm_total{k=\"c\"} 5\n");
    free(t);
    /* a removed tuple comes back from zero */
    sonde_counter *b = sonde_counter_with(m, (const char *[]){"b"});
    CHECK_EQ_DBL(sonde_counter_value(b), 0);
    sonde_counter_inc(b);
    t = text(r);
    CHECK_CONTAINS(t, "rm_total{k=\"a\"} 3\nrm_total{k=\"c\"} 5\nrm_total{k=\"b\"} 1\n");
    free(t);
    CHECK_EQ_INT(sonde_metric_clear(m), SONDE_OK);
    CHECK_EQ_INT(sonde_metric_child_count(m), 0);
    t = text(r);
    CHECK(!strstr(t, "rm_total"));
    free(t);
    CHECK_EQ_INT(sonde_metric_clear(NULL), SONDE_OK);
    CHECK_EQ_DBL(sonde_counter_value(sonde_counter_with(m, (const char *[]){"a"})), 0);
    /* the built-in child of an unlabelled family stays */
    sonde_metric *u = reg_labelled(r, SONDE_GAUGE, "u", NULL, 0);
    sonde_gauge_set(sonde_gauge_of(u), 3);
    CHECK_EQ_INT(sonde_metric_remove(u, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_metric_clear(u), SONDE_OK);
    CHECK_EQ_DBL(sonde_gauge_value(sonde_gauge_of(u)), 3);
    /* unregister */
    CHECK_EQ_INT(sonde_unregister(m), SONDE_OK);
    CHECK(sonde_registry_find(r, "rm") == NULL);
    CHECK_EQ_INT(sonde_unregister(NULL), SONDE_OK);
    sonde_metric *rej = sonde_registry_find(r, "sonde_cardinality_rejections_total");
    CHECK(rej != NULL);
    /* the registry owns it: families cache their child of it */
    CHECK_EQ_INT(sonde_unregister(rej), SONDE_EBUSY);
    CHECK_EQ_INT(sonde_metric_clear(rej), SONDE_EBUSY);
    CHECK_EQ_INT(sonde_metric_remove(rej, (const char *[]){"rm"}), SONDE_EBUSY);
    t = text(r);
    CHECK_EQ_STR(t, "# TYPE u gauge\nu 3\n");
    free(t);
    sonde_registry_free(r);
    sonde_registry_free(NULL);
}

TEST(cardinality_limit)
{
    sonde_registry *r = new_reg_limit(3);
    static const char *const labels[] = {"user"};
    sonde_metric *m = reg_labelled(r, SONDE_COUNTER, "lim_total", labels, 1);
    const char *users[] = {"u1", "u2", "u3", "u4", "u5"};
    for (int i = 0; i < 3; i++)
        sonde_counter_add(sonde_counter_with(m, (const char *[]){users[i]}), i + 1);
    void *c = NULL;
    CHECK_EQ_INT(sonde_metric_child(m, (const char *[]){"u4"}, &c), SONDE_ELIMIT);
    CHECK(c != NULL); /* the no-op child: updates are dropped, nothing crashes */
    sonde_counter_add(c, 100);
    sonde_counter *c5 = sonde_counter_with(m, (const char *[]){"u5"});
    CHECK(c5 != NULL);
    sonde_counter_inc(c5);
    /* existing tuples are still found */
    void *old = NULL;
    CHECK_EQ_INT(sonde_metric_child(m, (const char *[]){"u2"}, &old), SONDE_OK);
    sonde_counter_inc(old);
    CHECK_EQ_INT(sonde_metric_child_count(m), 3);
    char *t = text(r);
    CHECK_EQ_STR(t, "# TYPE lim_total counter\n"
                    "lim_total{user=\"u1\"} 1\nlim_total{user=\"u2\"} 3\nlim_total{user=\"u3\"} 3\n"
                    "# HELP sonde_cardinality_rejections_total Label tuples refused because a family "
                    "reached its cardinality limit.\n"
                    "# TYPE sonde_cardinality_rejections_total counter\n"
                    "sonde_cardinality_rejections_total{metric=\"lim\"} 2\n");
    free(t);
    /* by name: also lands on the no-op child, and counts */
    CHECK_EQ_INT(sonde_inc(r, "lim_total", (const sonde_label[]){{"user", "u9"}}, 1), SONDE_OK);
    /* a per-family limit overrides the registry's */
    sonde_metric_opts o = {.type = SONDE_GAUGE, .name = "one", .label_names = labels, .label_count = 1,
                           .cardinality_limit = 1};
    sonde_metric *one;
    CHECK_EQ_INT(sonde_register(r, &o, &one), SONDE_OK);
    CHECK(sonde_gauge_with(one, (const char *[]){"a"}) != NULL);
    CHECK_EQ_INT(sonde_metric_child(one, (const char *[]){"b"}, &c), SONDE_ELIMIT);
    /* removing a child makes room again */
    CHECK_EQ_INT(sonde_metric_remove(m, (const char *[]){"u1"}), SONDE_OK);
    CHECK_EQ_INT(sonde_metric_child(m, (const char *[]){"u4"}, &c), SONDE_OK);
    t = text(r);
    CHECK_CONTAINS(t, "sonde_cardinality_rejections_total{metric=\"lim\"} 3\n"
                      "sonde_cardinality_rejections_total{metric=\"one\"} 1\n");
    CHECK_CONTAINS(t, "lim_total{user=\"u2\"} 3\nlim_total{user=\"u3\"} 3\nlim_total{user=\"u4\"} 0\n");
    free(t);
    /* unregistering a family drops its rejection series */
    CHECK_EQ_INT(sonde_unregister(one), SONDE_OK);
    t = text(r);
    CHECK(!strstr(t, "metric=\"one\""));
    free(t);
    sonde_registry_free(r);
}

/* ---- scrape-time values and collectors -------------------------------- */

static double read_double(void *ud) { return *(double *)ud; }

static sonde_counter *watched;
static double read_counter(void *ud) { return sonde_counter_value(watched) * 2; }

TEST(callback_metrics)
{
    sonde_registry *r = new_reg();
    double v = 7.5;
    sonde_metric_opts o = {.type = SONDE_GAUGE, .name = "cb_gauge", .help = "h"};
    sonde_metric *m;
    CHECK_EQ_INT(sonde_register_func(r, &o, read_double, &v, &m), SONDE_OK);
    double total = 3;
    sonde_metric_opts oc = {.type = SONDE_COUNTER, .name = "cb_total"};
    sonde_metric *mc;
    CHECK_EQ_INT(sonde_register_func(r, &oc, read_double, &total, &mc), SONDE_OK);
    char *t = text(r);
    CHECK_CONTAINS(t, "# TYPE cb_total counter\ncb_total 3\n");
    CHECK_CONTAINS(t, "# HELP cb_gauge h\n# TYPE cb_gauge gauge\ncb_gauge 7.5\n");
    free(t);
    v = -1;
    total = 4;
    t = sonde_expose_alloc(r, SONDE_FORMAT_OPENMETRICS, NULL);
    CHECK_CONTAINS(t, "# TYPE cb counter\ncb_total 4\n# HELP"); /* no _created for computed counters */
    CHECK_CONTAINS(t, "cb_gauge -1\n");
    free(t);
    /* computed families have no children to update */
    CHECK(sonde_gauge_of(m) == NULL);
    void *c;
    CHECK_EQ_INT(sonde_metric_child(m, NULL, &c), SONDE_ETYPE);
    CHECK_EQ_INT(sonde_set(r, "cb_gauge", NULL, 0, 1), SONDE_ETYPE);
    /* refusals */
    static const char *const labels[] = {"a"};
    sonde_metric_opts bad = {.type = SONDE_GAUGE, .name = "x", .label_names = labels, .label_count = 1};
    CHECK_EQ_INT(sonde_register_func(r, &bad, read_double, &v, &m), SONDE_EINVAL);
    sonde_metric_opts hist = {.type = SONDE_HISTOGRAM, .name = "x"};
    CHECK_EQ_INT(sonde_register_func(r, &hist, read_double, &v, &m), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_register_func(r, &o, NULL, &v, &m), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_register_func(r, &o, read_double, &v, &m), SONDE_EEXIST);
    CHECK_EQ_INT(sonde_register_func(NULL, &o, read_double, &v, &m), SONDE_EINVAL);
    /* a callback may read other metrics of the registry */
    CHECK_EQ_INT(sonde_counter_new(r, "watched_total", NULL, &watched), SONDE_OK);
    sonde_counter_add(watched, 21);
    sonde_metric_opts w = {.type = SONDE_GAUGE, .name = "twice_watched"};
    CHECK_EQ_INT(sonde_register_func(r, &w, read_counter, NULL, &m), SONDE_OK);
    t = text(r);
    CHECK_CONTAINS(t, "twice_watched 42\n");
    free(t);
    sonde_registry_free(r);
}

static int emit_ok(sonde_emitter *e, void *ud)
{
    int *calls = ud;
    (*calls)++;
    CHECK_EQ_INT(sonde_emit_family(e, "coll_jobs", "Jobs \\ done\n.", SONDE_COUNTER, NULL), SONDE_OK);
    CHECK_EQ_INT(sonde_emit_sample(e, NULL, (const sonde_label[]){{"q", "a\"b"}}, 1, 5), SONDE_OK);
    CHECK_EQ_INT(sonde_emit_sample(e, "_created", (const sonde_label[]){{"q", "a\"b"}}, 1, 1000), SONDE_OK);
    CHECK_EQ_INT(sonde_emit_family(e, "coll_temp_celsius", NULL, SONDE_GAUGE, "celsius"), SONDE_OK);
    CHECK_EQ_INT(sonde_emit_sample(e, NULL, NULL, 0, -3.5), SONDE_OK);
    return 0;
}

static int emit_bad(sonde_emitter *e, void *ud)
{
    (void)ud;
    /* a sample before any family */
    CHECK_EQ_INT(sonde_emit_sample(e, NULL, NULL, 0, 1), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_emit_family(e, "bad-name", NULL, SONDE_GAUGE, NULL), SONDE_ENAME);
    CHECK_EQ_INT(sonde_emit_family(e, "__reserved", NULL, SONDE_GAUGE, NULL), SONDE_ENAME);
    CHECK_EQ_INT(sonde_emit_family(e, NULL, NULL, SONDE_GAUGE, NULL), SONDE_ENAME);
    CHECK_EQ_INT(sonde_emit_family(e, "h", "\xff", SONDE_GAUGE, NULL), SONDE_EUTF8);
    CHECK_EQ_INT(sonde_emit_family(e, "h", NULL, SONDE_HISTOGRAM, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_emit_family(e, "h", NULL, (sonde_type)42, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_emit_family(e, "h_bytes", NULL, SONDE_GAUGE, "seconds"), SONDE_ENAME);
    /* a registered family's name is taken: the collector cannot write it again */
    CHECK_EQ_INT(sonde_emit_family(e, "zzz_registered", NULL, SONDE_GAUGE, NULL), SONDE_EEXIST);
    /* so is a family an earlier collector (emit_ok) wrote in this scrape */
    CHECK_EQ_INT(sonde_emit_family(e, "coll_jobs", NULL, SONDE_COUNTER, NULL), SONDE_EEXIST);
    CHECK_EQ_INT(sonde_emit_family(e, "coll_jobs_total", NULL, SONDE_COUNTER, NULL), SONDE_EEXIST);
    /* after a refused family, samples are refused too */
    CHECK_EQ_INT(sonde_emit_sample(e, NULL, NULL, 0, 1), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_emit_family(e, "coll_ok", NULL, SONDE_GAUGE, NULL), SONDE_OK);
    CHECK_EQ_INT(sonde_emit_sample(e, NULL, (const sonde_label[]){{"9x", "v"}}, 1, 1), SONDE_ENAME);
    CHECK_EQ_INT(sonde_emit_sample(e, NULL, (const sonde_label[]){{"__x", "v"}}, 1, 1), SONDE_ENAME);
    CHECK_EQ_INT(sonde_emit_sample(e, NULL, (const sonde_label[]){{"x", "\xc3"}}, 1, 1), SONDE_EUTF8);
    char long_value[SONDE_LABEL_VALUE_MAX + 2];
    memset(long_value, 'v', sizeof long_value - 1);
    long_value[sizeof long_value - 1] = '\0';
    CHECK_EQ_INT(sonde_emit_sample(e, NULL, (const sonde_label[]){{"x", long_value}}, 1, 1), SONDE_ETOOLONG);
    CHECK(sonde_emit_sample(e, NULL, (const sonde_label[]){{"x", NULL}}, 1, 1) < 0);
    CHECK_EQ_INT(sonde_emit_sample(e, NULL, (const sonde_label[]){{"x", "1"}, {"x", "2"}}, 2, 1), SONDE_ENAME);
    CHECK_EQ_INT(sonde_emit_sample(e, NULL, (const sonde_label[]){{"service", "1"}}, 1, 1), SONDE_ENAME);
    CHECK_EQ_INT(sonde_emit_sample(e, NULL, NULL, 1, 1), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_emit_sample(e, "_bucket", NULL, 0, 1), SONDE_ENAME);
    CHECK_EQ_INT(sonde_emit_sample(e, "_total", NULL, 0, 1), SONDE_ENAME); /* not on a gauge */
    CHECK_EQ_INT(sonde_emit_sample(e, NULL, (const sonde_label[]){{"x", "fine"}}, 1, 2), SONDE_OK);
    CHECK_EQ_INT(sonde_emit_family(NULL, "x", NULL, SONDE_GAUGE, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_emit_sample(NULL, NULL, NULL, 0, 1), SONDE_EINVAL);
    /* a counter family named with _total gets one _total, as registration does */
    CHECK_EQ_INT(sonde_emit_family(e, "coll_done_total", NULL, SONDE_COUNTER, NULL), SONDE_OK);
    CHECK_EQ_INT(sonde_emit_sample(e, NULL, NULL, 0, 9), SONDE_OK);
    return 1; /* a failure report keeps what was emitted */
}

TEST(collectors)
{
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    static const sonde_label g[] = {{"service", "s"}};
    cfg.global_labels = g;
    cfg.global_label_count = 1;
    sonde_registry *r;
    CHECK_EQ_INT(sonde_registry_new(&cfg, &r), SONDE_OK);
    int calls = 0;
    sonde_collector *c1, *c2;
    CHECK_EQ_INT(sonde_collector_add(r, "ok", emit_ok, &calls, &c1), SONDE_OK);
    CHECK_EQ_INT(sonde_collector_add(r, "bad", emit_bad, NULL, &c2), SONDE_OK);
    CHECK(c1 && c2);
    sonde_gauge *zzz;
    CHECK_EQ_INT(sonde_gauge_new(r, "zzz_registered", NULL, &zzz), SONDE_OK);
    sonde_gauge_set(zzz, 1);
    char *t = text(r);
    CHECK_EQ_INT(calls, 1);
    CHECK_EQ_STR(t, "# TYPE zzz_registered gauge\nzzz_registered{service=\"s\"} 1\n"
                    "# HELP coll_jobs_total Jobs \\\\ done\\n.\n# TYPE coll_jobs_total counter\n"
                    "coll_jobs_total{service=\"s\",q=\"a\\\"b\"} 5\n"
                    "# TYPE coll_temp_celsius gauge\ncoll_temp_celsius{service=\"s\"} -3.5\n"
                    "# TYPE coll_ok gauge\ncoll_ok{service=\"s\",x=\"fine\"} 2\n"
                    "# TYPE coll_done_total counter\ncoll_done_total{service=\"s\"} 9\n");
    free(t);
    t = sonde_expose_alloc(r, SONDE_FORMAT_OPENMETRICS, NULL);
    /* the first scrape counted emit_bad's refused values of coll_ok (the NULL one is not a
     * value); their family sorts first, its _created stamps are the wall clock's */
    CHECK_CONTAINS(t, "\nsonde_label_rejections_total{service=\"s\",metric=\"coll_ok\",reason=\"invalid_utf8\"} 1\n");
    CHECK_CONTAINS(t, "\nsonde_label_rejections_total{service=\"s\",metric=\"coll_ok\",reason=\"too_long\"} 1\n");
    CHECK(strstr(t, "# TYPE zzz_registered") != NULL);
    CHECK_EQ_STR(strstr(t, "# TYPE zzz_registered"), "# TYPE zzz_registered gauge\nzzz_registered{service=\"s\"} 1\n"
                    "# HELP coll_jobs Jobs \\\\ done\\n.\n# TYPE coll_jobs counter\n"
                    "coll_jobs_total{service=\"s\",q=\"a\\\"b\"} 5\n"
                    "coll_jobs_created{service=\"s\",q=\"a\\\"b\"} 1000\n"
                    "# TYPE coll_temp_celsius gauge\n# UNIT coll_temp_celsius celsius\n"
                    "coll_temp_celsius{service=\"s\"} -3.5\n"
                    "# TYPE coll_ok gauge\ncoll_ok{service=\"s\",x=\"fine\"} 2\n"
                    "# TYPE coll_done counter\ncoll_done_total{service=\"s\"} 9\n# EOF\n");
    free(t);
    CHECK_EQ_INT(calls, 2);
    CHECK_EQ_INT(sonde_collector_remove(r, c1), SONDE_OK);
    CHECK_EQ_INT(sonde_collector_remove(r, c2), SONDE_OK);
    CHECK_EQ_INT(sonde_collector_remove(r, NULL), SONDE_OK);
    CHECK_EQ_INT(sonde_collector_add(r, "x", NULL, NULL, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_collector_add(NULL, "x", emit_ok, NULL, NULL), SONDE_EINVAL);
    t = text(r);
    CHECK_EQ_INT(calls, 2);
    CHECK(strstr(t, "# TYPE zzz_registered") != NULL);
    CHECK_EQ_STR(strstr(t, "# TYPE zzz_registered"), "# TYPE zzz_registered gauge\nzzz_registered{service=\"s\"} 1\n");
    CHECK_CONTAINS(t, "\nsonde_label_rejections_total{service=\"s\",metric=\"coll_ok\",reason=\"too_long\"} 2\n");
    free(t);
    /* a collector added without keeping its handle is freed with the registry */
    CHECK_EQ_INT(sonde_collector_add(r, NULL, emit_ok, &calls, NULL), SONDE_OK);
    sonde_registry_free(r);
}

/* A collector whose label values break the registry's limits: what each emit returned. */
typedef struct refusing_run {
    int utf8, too_long, created, null_value, kept;
} refusing_run;

static int emit_refused_values(sonde_emitter *e, void *ud)
{
    refusing_run *run = ud;
    CHECK_EQ_INT(sonde_emit_family(e, "batch_jobs_total", NULL, SONDE_COUNTER, NULL), SONDE_OK);
    run->kept = sonde_emit_sample(e, NULL, (const sonde_label[]){{"queue", "ok"}}, 1, 1);
    run->utf8 = sonde_emit_sample(e, NULL, (const sonde_label[]){{"queue", "bad\xff"}}, 1, 2);
    run->too_long = sonde_emit_sample(e, NULL, (const sonde_label[]){{"queue", "ninebytes"}}, 1, 3);
    /* refused in text 0.0.4 too, where _created samples are not written */
    run->created = sonde_emit_sample(e, "_created", (const sonde_label[]){{"queue", "ninebytes"}}, 1, 4);
    /* a missing value is a caller's bug, not a refused value: not counted */
    run->null_value = sonde_emit_sample(e, NULL, (const sonde_label[]){{"queue", NULL}}, 1, 5);
    return 0;
}

TEST(collector_refused_values_counted)
{
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    cfg.label_value_max = 8;
    sonde_registry *r;
    CHECK_EQ_INT(sonde_registry_new(&cfg, &r), SONDE_OK);
    refusing_run run = {0};
    CHECK_EQ_INT(sonde_collector_add(r, "refusing", emit_refused_values, &run, NULL), SONDE_OK);
    sonde_metric *rej = sonde_registry_find(r, "sonde_label_rejections_total");
    CHECK(rej != NULL);
    for (int scrape = 1; scrape <= 2; scrape++) {
        char *t = text(r);
        CHECK_EQ_INT(run.kept, SONDE_OK);
        CHECK_EQ_INT(run.utf8, SONDE_EUTF8);
        CHECK_EQ_INT(run.too_long, SONDE_ETOOLONG);
        CHECK_EQ_INT(run.created, SONDE_ETOOLONG);
        CHECK_EQ_INT(run.null_value, SONDE_EUTF8);
        /* nothing refused reached the output: the family holds the one valid sample */
        CHECK(t && strstr(t, "# TYPE batch_jobs_total counter\nbatch_jobs_total{queue=\"ok\"} 1\n"));
        CHECK(t && !strstr(t, "bad") && !strstr(t, "ninebytes"));
        /* each refusal of each run counted under the family's name, by reason; the first
         * scrape renders the registered families before the collectors run */
        CHECK_EQ_DBL(sonde_counter_value(sonde_counter_with(rej, (const char *[]){"batch_jobs", "invalid_utf8"})),
                     scrape);
        CHECK_EQ_DBL(sonde_counter_value(sonde_counter_with(rej, (const char *[]){"batch_jobs", "too_long"})),
                     2 * scrape);
        if (scrape == 2)
            CHECK_CONTAINS(t, "sonde_label_rejections_total{metric=\"batch_jobs\",reason=\"too_long\"} 2\n");
        free(t);
    }
    CHECK_EQ_INT(sonde_metric_child_count(rej), 2); /* no reason for the NULL value */
    sonde_registry_free(r);
}

/* ---- by name ------------------------------------------------------------ */

TEST(by_name)
{
    use_fake_clock();
    sonde_registry *r = new_reg();
    static const char *const labels[] = {"method", "code"};
    sonde_metric *c = reg_labelled(r, SONDE_COUNTER, "http_total", labels, 2);
    sonde_metric *g = reg_labelled(r, SONDE_GAUGE, "inflight", labels, 2);
    sonde_metric *h = reg_labelled(r, SONDE_HISTOGRAM, "lat_seconds", labels, 2);
    sonde_metric *s = reg_labelled(r, SONDE_SUMMARY, "size_bytes", NULL, 0);
    const sonde_label ab[] = {{"method", "GET"}, {"code", "200"}};
    const sonde_label ba[] = {{"code", "200"}, {"method", "GET"}};
    CHECK_EQ_INT(sonde_inc(r, "http_total", ab, 2), SONDE_OK);
    CHECK_EQ_INT(sonde_inc(r, "http", ba, 2), SONDE_OK);
    CHECK_EQ_INT(sonde_add(r, "http_total", ba, 2, 2.5), SONDE_OK);
    CHECK_EQ_INT(sonde_add(r, "http_total", ba, 2, -1), SONDE_ERANGE);
    CHECK_EQ_DBL(sonde_counter_value(sonde_counter_with(c, (const char *[]){"GET", "200"})), 4.5);
    CHECK_EQ_INT(sonde_metric_child_count(c), 1);

    CHECK_EQ_INT(sonde_set(r, "inflight", ba, 2, 10), SONDE_OK);
    CHECK_EQ_INT(sonde_inc(r, "inflight", ab, 2), SONDE_OK);
    CHECK_EQ_INT(sonde_add(r, "inflight", ab, 2, -4), SONDE_OK); /* gauges go down */
    CHECK_EQ_DBL(sonde_gauge_value(sonde_gauge_with(g, (const char *[]){"GET", "200"})), 7);

    CHECK_EQ_INT(sonde_observe(r, "lat_seconds", ba, 2, 0.3), SONDE_OK);
    CHECK_EQ_INT(sonde_observe(r, "size_bytes", NULL, 0, 42), SONDE_OK);
    sonde_timer t;
    CHECK_EQ_INT(sonde_timer_start(r, "lat_seconds", ab, 2, &t), SONDE_OK);
    clk.mono_ns += 2000000000ull;
    CHECK_EQ_DBL(sonde_timer_stop(&t), 2);
    CHECK_EQ_INT(sonde_timer_start(r, "size_bytes", NULL, 0, &t), SONDE_OK);
    clk.mono_ns += 500000000ull;
    sonde_timer_stop(&t);
    uint64_t count;
    double sum;
    sonde_histogram_read(sonde_histogram_with(h, (const char *[]){"GET", "200"}), &count, &sum, NULL);
    CHECK_EQ_INT(count, 2);
    CHECK_EQ_DBL(sum, 2.3);
    sonde_summary_read(sonde_summary_of(s), &count, &sum);
    CHECK_EQ_INT(count, 2);
    CHECK_EQ_DBL(sum, 42.5);

    /* errors */
    CHECK_EQ_INT(sonde_inc(r, "missing", NULL, 0), SONDE_ENOENT);
    CHECK_EQ_INT(sonde_set(r, "http_total", ab, 2, 1), SONDE_ETYPE);
    CHECK_EQ_INT(sonde_observe(r, "inflight", ab, 2, 1), SONDE_ETYPE);
    CHECK_EQ_INT(sonde_inc(r, "lat_seconds", ab, 2), SONDE_ETYPE);
    CHECK_EQ_INT(sonde_timer_start(r, "http_total", ab, 2, &t), SONDE_ETYPE);
    CHECK_EQ_DBL(sonde_timer_stop(&t), sonde_timer_stop(&t)); /* a harmless timer */
    CHECK_EQ_INT(sonde_timer_start(r, "missing", NULL, 0, &t), SONDE_ENOENT);
    CHECK_EQ_INT(sonde_timer_start(r, "lat_seconds", ab, 2, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_inc(r, "http_total", ab, 1), SONDE_ELABELS);
    CHECK_EQ_INT(sonde_inc(r, "http_total", NULL, 0), SONDE_ELABELS);
    CHECK_EQ_INT(sonde_inc(r, "http_total", (const sonde_label[]){{"method", "GET"}, {"path", "/"}}, 2), SONDE_ELABELS);
    CHECK_EQ_INT(sonde_inc(r, "http_total", (const sonde_label[]){{"method", "GET"}, {"method", "PUT"}}, 2), SONDE_ELABELS);
    CHECK_EQ_INT(sonde_inc(r, "http_total", (const sonde_label[]){{"method", "GET"}, {NULL, "x"}}, 2), SONDE_ELABELS);
    CHECK_EQ_INT(sonde_inc(r, "http_total", (const sonde_label[]){{"method", "\xff"}, {"code", "1"}}, 2), SONDE_EUTF8);
    CHECK_EQ_INT(sonde_inc(r, "http_total", NULL, 2), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_inc(NULL, "http_total", ab, 2), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_inc(r, NULL, ab, 2), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_metric_child_count(c), 1);
    CHECK_EQ_DBL(sonde_counter_value(sonde_counter_with(c, (const char *[]){"GET", "200"})), 4.5);
    sonde_registry_free(r);
    sonde_set_clock(NULL, NULL, NULL);
}

/* ---- disabled registries, NULL handles, the default registry ------------ */

static int never_called(sonde_emitter *e, void *ud)
{
    (void)e;
    *(int *)ud = 1;
    return 0;
}

TEST(disabled_registry)
{
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.enabled = 0;
    sonde_registry *r;
    CHECK_EQ_INT(sonde_registry_new(&cfg, &r), SONDE_OK);
    CHECK_EQ_INT(sonde_registry_enabled(r), 0);
    CHECK_EQ_INT(sonde_registry_config(r)->enabled, 0);
    sonde_metric_opts o = {.type = SONDE_COUNTER, .name = "c_total"};
    sonde_metric *m = (sonde_metric *)&o;
    CHECK_EQ_INT(sonde_register(r, &o, &m), SONDE_OK);
    CHECK(m == NULL);
    sonde_counter *c;
    CHECK_EQ_INT(sonde_counter_new(r, "x", NULL, &c), SONDE_OK);
    CHECK(c == NULL);
    sonde_counter_inc(c);
    CHECK_EQ_INT(sonde_counter_add(c, 1), SONDE_OK);
    sonde_histogram *h = (sonde_histogram *)&h;
    CHECK_EQ_INT(sonde_histogram_new(r, "h", NULL, SONDE_BUCKETS_DEFAULT, &h), SONDE_OK);
    CHECK(h == NULL);
    sonde_histogram_observe(h, 1);
    sonde_gauge *g = (sonde_gauge *)&g;
    CHECK_EQ_INT(sonde_gauge_new(r, "g", NULL, &g), SONDE_OK);
    CHECK(g == NULL);
    sonde_gauge_set(g, 1);
    CHECK(sonde_counter_with(m, (const char *[]){"a"}) == NULL);
    CHECK_EQ_INT(sonde_inc(r, "c_total", NULL, 0), SONDE_OK);
    CHECK_EQ_INT(sonde_set(r, "anything", NULL, 0, 1), SONDE_OK);
    CHECK_EQ_INT(sonde_observe(r, "anything", NULL, 0, 1), SONDE_OK);
    sonde_timer t;
    CHECK_EQ_INT(sonde_timer_start(r, "anything", NULL, 0, &t), SONDE_OK);
    sonde_timer_stop(&t);
    CHECK_EQ_INT(sonde_info_set(m, NULL), SONDE_OK);
    CHECK(sonde_registry_find(r, "c_total") == NULL);
    double v = 1;
    sonde_metric_opts f = {.type = SONDE_GAUGE, .name = "f"};
    CHECK_EQ_INT(sonde_register_func(r, &f, read_double, &v, &m), SONDE_OK);
    int called = 0;
    sonde_collector *col = (sonde_collector *)&called;
    CHECK_EQ_INT(sonde_collector_add(r, "x", never_called, &called, &col), SONDE_OK);
    char *t1 = text(r), *t2 = sonde_expose_alloc(r, SONDE_FORMAT_OPENMETRICS, NULL);
    CHECK_EQ_STR(t1, "");
    CHECK_EQ_STR(t2, "# EOF\n");
    CHECK_EQ_INT(called, 0);
    free(t1);
    free(t2);
    sonde_registry_free(r);
}

TEST(null_handles)
{
    sonde_counter_inc(NULL);
    CHECK_EQ_INT(sonde_counter_add(NULL, 1), SONDE_OK);
    CHECK_EQ_INT(sonde_counter_add(NULL, -1), SONDE_OK); /* a NULL series checks nothing */
    CHECK_EQ_DBL(sonde_counter_value(NULL), 0);
    sonde_gauge_set(NULL, 1);
    sonde_gauge_inc(NULL);
    sonde_gauge_dec(NULL);
    sonde_gauge_add(NULL, 1);
    sonde_gauge_sub(NULL, 1);
    sonde_gauge_set_to_current_time(NULL);
    CHECK_EQ_DBL(sonde_gauge_value(NULL), 0);
    sonde_histogram_observe(NULL, 1);
    sonde_summary_observe(NULL, 1);
    CHECK(isnan(sonde_summary_quantile(NULL, 0.5)));
    uint64_t n = 9;
    double s = 9;
    sonde_summary_read(NULL, &n, &s);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_DBL(s, 0);
    CHECK(sonde_counter_with(NULL, NULL) == NULL);
    CHECK(sonde_gauge_with(NULL, NULL) == NULL);
    CHECK(sonde_histogram_with(NULL, NULL) == NULL);
    CHECK(sonde_summary_with(NULL, NULL) == NULL);
    CHECK(sonde_stateset_with(NULL, NULL) == NULL);
    CHECK(sonde_counter_of(NULL) == NULL);
    CHECK(sonde_gauge_of(NULL) == NULL);
    CHECK(sonde_histogram_of(NULL) == NULL);
    CHECK(sonde_summary_of(NULL) == NULL);
    CHECK(sonde_metric_name(NULL) == NULL);
    CHECK_EQ_INT(sonde_metric_label_count(NULL), 0);
    CHECK_EQ_INT(sonde_metric_child_count(NULL), 0);
    CHECK_EQ_INT(sonde_metric_type(NULL), SONDE_UNTYPED);
    CHECK_EQ_INT(sonde_registry_enabled(NULL), 0);
    CHECK(sonde_registry_config(NULL) == NULL);
    sonde_counter *c = (sonde_counter *)&c;
    sonde_gauge *g = (sonde_gauge *)&g;
    sonde_histogram *h = (sonde_histogram *)&h;
    CHECK_EQ_INT(sonde_counter_new(NULL, "x", NULL, &c), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_gauge_new(NULL, "x", NULL, &g), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_histogram_new(NULL, "x", NULL, SONDE_BUCKETS_DEFAULT, &h), SONDE_EINVAL);
    CHECK(c == NULL && g == NULL && h == NULL);
    CHECK_EQ_INT(sonde_registry_new(NULL, NULL), SONDE_EINVAL);
}

TEST(registry_config_is_a_copy)
{
    char name[] = "service", value[] = "api", path[] = "/m";
    sonde_label g[] = {{name, value}};
    double lat[] = {1, 2};
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.global_labels = g;
    cfg.global_label_count = 1;
    cfg.metrics_path = path;
    cfg.latency_buckets = (sonde_buckets){lat, 2};
    cfg.process_metrics = 0;
    sonde_registry *r;
    CHECK_EQ_INT(sonde_registry_new(&cfg, &r), SONDE_OK);
    memset(name, 'x', 3);
    memset(value, 'y', 3);
    path[1] = 'z';
    lat[0] = 1.5;
    const sonde_config *c = sonde_registry_config(r);
    CHECK_EQ_STR(c->metrics_path, "/m");
    CHECK_EQ_STR(c->global_labels[0].name, "service");
    CHECK_EQ_STR(c->global_labels[0].value, "api");
    CHECK_EQ_DBL(c->latency_buckets.bounds[0], 1);
    sonde_gauge *gauge;
    CHECK_EQ_INT(sonde_gauge_new(r, "g", NULL, &gauge), SONDE_OK);
    sonde_gauge_set(gauge, 1);
    char *t = text(r);
    CHECK_EQ_STR(t, "# TYPE g gauge\ng{service=\"api\"} 1\n");
    free(t);
    sonde_registry_free(r);
    /* invalid configs are refused */
    cfg.metrics_path = "no-slash";
    r = (sonde_registry *)1;
    CHECK_EQ_INT(sonde_registry_new(&cfg, &r), SONDE_ECONFIG);
    CHECK(r == NULL);
}

/* The default registry is process-wide state, so each scenario runs in a child process. */
static int in_child(int (*fn)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        _exit(fn());
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

static int default_from_env(void)
{
    setenv("SONDE_SERVICE_NAME", "svc", 1);
    sonde_registry *r = sonde_default_registry();
    if (!r || r != sonde_default_registry())
        return 1;
    if (sonde_init(NULL) != SONDE_EBUSY)
        return 2;
    sonde_counter *d;
    if (sonde_counter_new(r, "d_total", NULL, &d) != SONDE_OK)
        return 7;
    sonde_counter_inc(d);
    char *t = text(r);
    int rc = !strstr(t, "d_total{service=\"svc\"} 1\n") ? 3
             : !strstr(t, "process_cpu_seconds_total{service=\"svc\"}") ? 4
             : !strstr(t, "process_resident_memory_bytes{") ? 5
             : !strstr(t, "process_start_time_seconds{") ? 6
             : !strstr(t, "process_open_fds{") ? 7
             : 0;
    free(t);
    return rc;
}

static int default_from_init(void)
{
    sonde_config bad;
    sonde_config_init(&bad);
    bad.port = -5;
    if (sonde_init(&bad) != SONDE_ECONFIG) /* refused, and nothing is initialised yet */
        return 1;
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    static const sonde_label g[] = {{"env", "test"}};
    cfg.global_labels = g;
    cfg.global_label_count = 1;
    if (sonde_init(&cfg) != SONDE_OK)
        return 2;
    if (sonde_init(&cfg) != SONDE_EBUSY)
        return 3;
    sonde_registry *r = sonde_default_registry();
    if (sonde_registry_config(r)->global_label_count != 1)
        return 4;
    char *t = text(r);
    int rc = strcmp(t, "") != 0 ? 5 : 0; /* no process metrics, nothing registered */
    free(t);
    return rc;
}

static int default_bad_env(void)
{
    /* a malformed environment is never guessed: the lazy default falls back to the defaults */
    setenv("SONDE_METRICS_PORT", "eighty", 1);
    setenv("SONDE_SERVICE_NAME", "svc", 1);
    sonde_registry *r = sonde_default_registry();
    if (!r)
        return 1;
    if (sonde_registry_config(r)->port != SONDE_DEFAULT_PORT)
        return 2;
    if (sonde_registry_config(r)->global_label_count != 0)
        return 3;
    return sonde_init(NULL) == SONDE_EBUSY ? 0 : 4;
}

TEST(default_registry)
{
    CHECK_EQ_INT(in_child(default_from_env), 0);
    CHECK_EQ_INT(in_child(default_from_init), 0);
    CHECK_EQ_INT(in_child(default_bad_env), 0);
}

static int visit_names(const sonde_metric *m, void *ud)
{
    char *out = ud;
    strcat(out, sonde_metric_name(m));
    strcat(out, ";");
    return strcmp(sonde_metric_name(m), "stop_here") == 0 ? 7 : 0;
}

TEST(family_accessors_and_foreach)
{
    sonde_registry *r;
    CHECK_EQ_INT(sonde_registry_new(NULL, &r), SONDE_OK);
    static const char *const names[] = {"model", "route"};
    sonde_metric *h, *c;
    sonde_metric_opts ho = {.type = SONDE_HISTOGRAM, .name = "lat_seconds", .help = "Latency.",
                            .unit = "seconds", .label_names = names, .label_count = 2,
                            .buckets = SONDE_BUCKETS_LLM_TPOT};
    sonde_metric_opts co = {.type = SONDE_COUNTER, .name = "b_total"};
    CHECK_EQ_INT(sonde_register(r, &ho, &h), SONDE_OK);
    CHECK_EQ_INT(sonde_register(r, &co, &c), SONDE_OK);
    CHECK_EQ_STR(sonde_metric_help(h), "Latency.");
    CHECK_EQ_STR(sonde_metric_help(c), "");
    CHECK_EQ_STR(sonde_metric_unit(h), "seconds");
    CHECK(sonde_metric_unit(c) == NULL);
    CHECK_EQ_STR(sonde_metric_label_name(h, 1), "route");
    CHECK(sonde_metric_label_name(h, 2) == NULL);
    CHECK(sonde_metric_label_name(NULL, 0) == NULL);
    sonde_buckets b = sonde_metric_buckets(h);
    CHECK_EQ_INT(b.count, SONDE_BUCKETS_LLM_TPOT.count);
    CHECK_EQ_DBL(b.bounds[b.count - 1], 2.5);
    CHECK_EQ_INT(sonde_metric_buckets(c).count, 0);
    char seen[256] = "";
    CHECK_EQ_INT(sonde_registry_foreach(r, visit_names, seen), 0);
    CHECK_EQ_STR(seen, "b;lat_seconds;sonde_cardinality_rejections;sonde_label_rejections;");
    sonde_metric *stop;
    sonde_metric_opts so = {.type = SONDE_GAUGE, .name = "stop_here"};
    CHECK_EQ_INT(sonde_register(r, &so, &stop), SONDE_OK);
    seen[0] = '\0';
    CHECK_EQ_INT(sonde_registry_foreach(r, visit_names, seen), 7);
    CHECK_EQ_STR(seen, "b;lat_seconds;sonde_cardinality_rejections;sonde_label_rejections;stop_here;");
    CHECK_EQ_INT(sonde_registry_foreach(r, NULL, NULL), SONDE_EINVAL);
    sonde_registry_free(r);
}

TEST(strerror_and_version)
{
    const char *seen[19];
    for (int code = 0; code >= -18; code--) {
        const char *s = sonde_strerror(code);
        CHECK(s != NULL && *s);
        CHECK(strcmp(s, "unknown error") != 0);
        seen[-code] = s;
        for (int j = 0; j < -code; j++)
            CHECK(strcmp(seen[j], s) != 0);
    }
    CHECK_EQ_STR(sonde_strerror(-999), "unknown error");
    CHECK_EQ_STR(sonde_strerror(5), "unknown error");
    CHECK_EQ_STR(sonde_version(), SONDE_VERSION_STRING);
}

int main(void)
{
    alarm(120); /* a deadlock fails the test instead of hanging CI */
    RUN(counter_inc_add_and_refusals);
    RUN(counter_fraction_cells);
    RUN(gauge_operations);
    RUN(histogram_observe_and_boundaries);
    RUN(histogram_bucket_table);
    RUN(histogram_bucket_options);
    RUN(bucket_generators);
    RUN(bucket_presets);
    RUN(summary_quantiles_within_targets);
    RUN(summary_sliding_window);
    RUN(summary_refusals);
    RUN(stateset);
    RUN(info);
    RUN(timers);
    RUN(children_lookup);
    RUN(children_lookup_packed_keys);
    RUN(remove_clear_unregister);
    RUN(cardinality_limit);
    RUN(callback_metrics);
    RUN(collectors);
    RUN(collector_refused_values_counted);
    RUN(by_name);
    RUN(disabled_registry);
    RUN(null_handles);
    RUN(registry_config_is_a_copy);
    RUN(default_registry);
    RUN(family_accessors_and_foreach);
    RUN(strerror_and_version);
    return check_report();
}
