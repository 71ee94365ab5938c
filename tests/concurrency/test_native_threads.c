/*
 * test_native_threads.c - native histograms under concurrent writers (more
 * threads than private arenas, so shared ones too) whose values force
 * resolution reductions while a scraper reads: every snapshot has count ==
 * zero bucket + every bucket, the count never decreases, and no bucket
 * reads lower than in the previous snapshot (the previous one merged down
 * when the schema fell meanwhile); at the end every observation is counted
 * and the sum is exact. Runs under TSan (label concurrency).
 */
#include <pthread.h>
#include <stdlib.h>

#include "check.h"
#include "internal.h"

enum { WRITERS = 3, PER_WRITER = 200000 };

static sonde_histogram *hist;
static atomic_int writers_done;

static void *writer(void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p * 7919 + 1;
    for (int i = 0; i < PER_WRITER; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        /* k / 64 for k in 0..2^20: exact sums; 1/64 .. 16384 spans far more than one window
         * of schema 8, so the series reduces while the scraper reads; negatives too */
        double v = (double)(x >> 44) / 64.0;
        if (i % 7 == 0)
            v = -v;
        sonde_histogram_observe(hist, v);
    }
    atomic_fetch_add(&writers_done, 1);
    return NULL;
}

static uint64_t bucket(const sonde_native_bucket *b, size_t n, int32_t index)
{
    for (size_t i = 0; i < n; i++)
        if (b[i].index == index)
            return b[i].count;
    return 0;
}

/* Every bucket of prev (merged down to cur's schema) is <= cur's. */
static int buckets_grew(const sonde_native_bucket *prev, size_t pn, int pschema, const sonde_native_bucket *cur,
                        size_t cn, int schema)
{
    for (size_t i = 0; i < pn; i++) {
        uint64_t merged = 0;
        int32_t at = (int32_t)(((int64_t)prev[i].index + (1 << (pschema - schema)) - 1) >> (pschema - schema));
        for (size_t j = 0; j < pn; j++) {
            int32_t k = (int32_t)(((int64_t)prev[j].index + (1 << (pschema - schema)) - 1) >> (pschema - schema));
            if (k == at)
                merged += prev[j].count;
        }
        if (bucket(cur, cn, at) < merged)
            return 0;
    }
    return 1;
}

TEST(native_scrapes_under_writers)
{
    sonde_registry *reg;
    CHECK(sonde_registry_new(NULL, &reg) == SONDE_OK);
    sonde_native_opts o = {.bucket_factor = 1.0001, .native_only = 1}; /* schema 8 */
    sonde_metric *m;
    sonde_metric_opts mo = {.type = SONDE_HISTOGRAM, .name = "t_seconds", .native = &o};
    CHECK(sonde_register(reg, &mo, &m) == SONDE_OK);
    hist = sonde_histogram_of(m);
    pthread_t t[WRITERS];
    for (int i = 0; i < WRITERS; i++)
        pthread_create(&t[i], NULL, writer, (void *)(uintptr_t)(i + 1));
    sonde_native_snap a = {0}, b = {0}, *prev = &a, *cur = &b;
    int scrapes = 0, bad_sum = 0, bad_count = 0, bad_bucket = 0;
    CHECK(sonde_native_snapshot((sonde_child *)hist, prev) == SONDE_OK);
    while (atomic_load(&writers_done) < WRITERS || scrapes < 5) {
        CHECK(sonde_native_snapshot((sonde_child *)hist, cur) == SONDE_OK);
        uint64_t total = cur->zero_count;
        for (size_t i = 0; i < cur->pos_n; i++)
            total += cur->pos[i].count;
        for (size_t i = 0; i < cur->neg_n; i++)
            total += cur->neg[i].count;
        bad_sum += total != cur->count;
        bad_count += cur->count < prev->count || cur->schema > prev->schema;
        bad_bucket += !buckets_grew(prev->pos, prev->pos_n, prev->schema, cur->pos, cur->pos_n, cur->schema) ||
                      !buckets_grew(prev->neg, prev->neg_n, prev->schema, cur->neg, cur->neg_n, cur->schema);
        sonde_native_snap *tmp = prev;
        prev = cur;
        cur = tmp;
        scrapes++;
    }
    for (int i = 0; i < WRITERS; i++)
        pthread_join(t[i], NULL);
    CHECK(sonde_native_snapshot((sonde_child *)hist, cur) == SONDE_OK);
    CHECK_EQ_INT(cur->count, (uint64_t)WRITERS * PER_WRITER);
    CHECK(cur->schema < 8); /* the values forced reductions */
    double want = 0;
    for (int w = 1; w <= WRITERS; w++) { /* the writers' values again: the sum is exact */
        uint64_t x = (uint64_t)w * 7919 + 1;
        for (int i = 0; i < PER_WRITER; i++) {
            x = x * 6364136223846793005u + 1442695040888963407u;
            double v = (double)(x >> 44) / 64.0;
            want += i % 7 == 0 ? -v : v;
        }
    }
    CHECK_EQ_DBL(cur->sum, want);
    CHECK_EQ_INT(bad_sum, 0);
    CHECK_EQ_INT(bad_count, 0);
    CHECK_EQ_INT(bad_bucket, 0);
    CHECK(scrapes >= 5);
    char *text = sonde_expose_alloc(reg, SONDE_FORMAT_TEXT, NULL);
    char want_inf[96];
    snprintf(want_inf, sizeof want_inf, "t_seconds_bucket{le=\"+Inf\"} %d\n", WRITERS * PER_WRITER);
    CHECK(text && strstr(text, want_inf));
    free(text);
    sonde_native_snap_free(&a);
    sonde_native_snap_free(&b);
    sonde_registry_free(reg);
}

int main(void)
{
    RUN(native_scrapes_under_writers);
    return check_report();
}
