/*
 * test_concurrency.c - updates from several threads while others scrape.
 *
 * Four writers hammer an unlabelled counter, a histogram, a gauge (inc then
 * dec, so it stays in [0, writers]), labelled children they create as they
 * go, and a by-name counter; a churn thread creates and removes children of
 * another family; short-lived threads update and exit mid-way, so their
 * values must stay in the totals without loss or double counting.
 * Two scrapers render the text format over and over and parse every scrape:
 * cumulative buckets never decrease, +Inf equals _count, and no counter,
 * bucket or count goes backwards between two scrapes of the same scraper.
 * After joining, every total is exact. Sized to take well under a second
 * plain, a few seconds under TSan.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "check.h"
#include "sonde/sonde.h"

enum { WRITERS = 4, ITER = 100000, CHILDREN = 50, SHORT_THREADS = 16, SHORT_ITER = 500, SCRAPERS = 2 };

static sonde_registry *reg;
static sonde_counter *ops;
static sonde_histogram *hist;
static sonde_gauge *busy;
static sonde_metric *per_child, *churn;
static atomic_int writers_done;
static atomic_int scrape_errors;
static atomic_int scrapes;

static const double bounds[] = {1, 2, 5};

static void *writer(void *arg)
{
    int id = (int)(intptr_t)arg;
    char label[32];
    sonde_counter *mine[CHILDREN];
    while (atomic_load(&scrapes) < SCRAPERS) /* start once scraping is under way */
        sched_yield();
    for (int i = 0; i < CHILDREN; i++) {
        snprintf(label, sizeof label, "w%d-%d", id, i);
        mine[i] = NULL;
    }
    for (int i = 0; i < ITER; i++) {
        sonde_gauge_inc(busy);
        sonde_counter_inc(ops);
        sonde_histogram_observe(hist, i % 7); /* 0..6: buckets 1 -> 2, 2 -> 1, 5 -> 3, +Inf -> 1 per 7 */
        int k = i % CHILDREN;
        if (!mine[k]) { /* children appear while scrapes run */
            snprintf(label, sizeof label, "w%d-%d", id, k);
            mine[k] = sonde_counter_with(per_child, (const char *[]){label});
        }
        sonde_counter_inc(mine[k]);
        if (i % 100 == 0) {
            const sonde_label l[] = {{"writer", id % 2 ? "odd" : "even"}};
            if (sonde_inc(reg, "byname_total", l, 1) != SONDE_OK)
                atomic_fetch_add(&scrape_errors, 1);
        }
        sonde_gauge_dec(busy);
    }
    return NULL;
}

static void *short_lived(void *arg)
{
    (void)arg;
    for (int i = 0; i < SHORT_ITER; i++) {
        sonde_counter_inc(ops);
        sonde_histogram_observe(hist, 100);
    }
    return NULL; /* its private arena goes back to the pool, values included */
}

static void *spawner(void *arg)
{
    (void)arg;
    for (int i = 0; i < SHORT_THREADS; i++) {
        pthread_t t;
        pthread_create(&t, NULL, short_lived, NULL);
        pthread_join(t, NULL);
    }
    return NULL;
}

static void *churner(void *arg)
{
    (void)arg;
    char label[32];
    for (int i = 0; !atomic_load(&writers_done) || i < 200; i++) {
        snprintf(label, sizeof label, "c%d", i % 20);
        sonde_counter_inc(sonde_counter_with(churn, (const char *[]){label}));
        if (i % 3 == 0)
            sonde_metric_remove(churn, (const char *[]){label});
        if (i % 97 == 0)
            sonde_metric_clear(churn);
    }
    return NULL;
}

/* What one scraper saw last, to check that nothing goes backwards. */
typedef struct seen {
    double ops, count, buckets[4], per_child[WRITERS][CHILDREN], byname[2];
} seen;

static double value_of(const char *line)
{
    const char *sp = strrchr(line, ' ');
    return sp ? strtod(sp + 1, NULL) : NAN;
}

static void fail(const char *why, const char *line)
{
    if (atomic_fetch_add(&scrape_errors, 1) < 5)
        fprintf(stderr, "scrape: %s: %s\n", why, line);
}

static void check_scrape(char *text, seen *last)
{
    double cumulative[4] = {-1, -1, -1, -1}, count = -1, prev_bucket = 0;
    int nb = 0;
    for (char *save, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        double v = value_of(line);
        if (strncmp(line, "ops_total ", 10) == 0) {
            if (v < last->ops)
                fail("counter went backwards", line);
            last->ops = v;
        } else if (strncmp(line, "h_bucket{", 9) == 0) {
            if (nb >= 4 || v < prev_bucket)
                fail("cumulative bucket decreased", line);
            else
                cumulative[nb++] = v;
            prev_bucket = v;
        } else if (strncmp(line, "h_count ", 8) == 0) {
            count = v;
        } else if (strncmp(line, "busy ", 5) == 0) {
            if (!(v >= 0 && v <= WRITERS))
                fail("gauge out of range", line);
        } else if (strncmp(line, "per_child_total{id=\"w", 21) == 0) {
            int w, c;
            if (sscanf(line + 21, "%d-%d", &w, &c) != 2 || w < 0 || w >= WRITERS || c < 0 || c >= CHILDREN) {
                fail("unexpected series", line);
                continue;
            }
            if (v < last->per_child[w][c])
                fail("labelled counter went backwards", line);
            last->per_child[w][c] = v;
        } else if (strncmp(line, "byname_total{writer=\"", 21) == 0) {
            int odd = line[21] == 'o';
            if (v < last->byname[odd])
                fail("by-name counter went backwards", line);
            last->byname[odd] = v;
        }
    }
    if (nb != 4 || count < 0) {
        fail("histogram incomplete", "");
        return;
    }
    if (cumulative[3] != count)
        fail("+Inf bucket differs from _count", "");
    if (count < last->count)
        fail("histogram count went backwards", "");
    for (int i = 0; i < 4; i++) {
        if (cumulative[i] < last->buckets[i])
            fail("bucket went backwards between scrapes", "");
        last->buckets[i] = cumulative[i];
    }
    last->count = count;
}

static void *scraper(void *arg)
{
    (void)arg;
    seen *last = calloc(1, sizeof *last);
    do {
        char *t = sonde_expose_alloc(reg, SONDE_FORMAT_TEXT, NULL);
        if (!t) {
            fail("expose failed", "");
            break;
        }
        check_scrape(t, last);
        free(t);
        atomic_fetch_add(&scrapes, 1);
    } while (!atomic_load(&writers_done));
    free(last);
    return NULL;
}

static double sample(const char *text, const char *prefix)
{
    const char *p = strstr(text, prefix);
    return p ? strtod(p + strlen(prefix), NULL) : NAN;
}

TEST(hammer_while_scraping)
{
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    CHECK_EQ_INT(sonde_registry_new(&cfg, &reg), SONDE_OK);
    CHECK_EQ_INT(sonde_counter_new(reg, "ops_total", NULL, &ops), SONDE_OK);
    CHECK_EQ_INT(sonde_histogram_new(reg, "h", NULL, (sonde_buckets){bounds, 3}, &hist), SONDE_OK);
    CHECK_EQ_INT(sonde_gauge_new(reg, "busy", NULL, &busy), SONDE_OK);
    static const char *const id[] = {"id"}, *const writer_l[] = {"writer"};
    sonde_metric_opts o = {.type = SONDE_COUNTER, .name = "per_child_total", .label_names = id, .label_count = 1};
    CHECK_EQ_INT(sonde_register(reg, &o, &per_child), SONDE_OK);
    sonde_metric_opts b = {.type = SONDE_COUNTER, .name = "byname_total", .label_names = writer_l, .label_count = 1};
    sonde_metric *byname;
    CHECK_EQ_INT(sonde_register(reg, &b, &byname), SONDE_OK);
    sonde_metric_opts ch = {.type = SONDE_COUNTER, .name = "churn_total", .label_names = id, .label_count = 1};
    CHECK_EQ_INT(sonde_register(reg, &ch, &churn), SONDE_OK);

    pthread_t w[WRITERS], s[SCRAPERS], sp, cr;
    for (int i = 0; i < SCRAPERS; i++)
        pthread_create(&s[i], NULL, scraper, NULL);
    pthread_create(&cr, NULL, churner, NULL);
    pthread_create(&sp, NULL, spawner, NULL);
    for (int i = 0; i < WRITERS; i++)
        pthread_create(&w[i], NULL, writer, (void *)(intptr_t)i);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(w[i], NULL);
    pthread_join(sp, NULL);
    atomic_store(&writers_done, 1);
    for (int i = 0; i < SCRAPERS; i++)
        pthread_join(s[i], NULL);
    pthread_join(cr, NULL);

    CHECK_EQ_INT(atomic_load(&scrape_errors), 0);
    CHECK(atomic_load(&scrapes) >= SCRAPERS);
    printf("%d scrapes checked\n", atomic_load(&scrapes));
    /* exact totals, the values of the exited threads included */
    const double total = (double)WRITERS * ITER + (double)SHORT_THREADS * SHORT_ITER;
    CHECK_EQ_DBL(sonde_counter_value(ops), total);
    uint64_t count, counts[4];
    double sum;
    sonde_histogram_read(hist, &count, &sum, counts);
    CHECK_EQ_INT(count, (uint64_t)total);
    const uint64_t sevens = ITER / 7, rest = ITER % 7; /* i % 7 over ITER iterations */
    uint64_t per_value[7];
    for (int v = 0; v < 7; v++)
        per_value[v] = WRITERS * (sevens + ((uint64_t)v < rest));
    CHECK_EQ_INT(counts[0], per_value[0] + per_value[1]);
    CHECK_EQ_INT(counts[1], per_value[2]);
    CHECK_EQ_INT(counts[2], per_value[3] + per_value[4] + per_value[5]);
    CHECK_EQ_INT(counts[3], per_value[6] + SHORT_THREADS * SHORT_ITER);
    double want_sum = 100.0 * SHORT_THREADS * SHORT_ITER;
    for (int v = 0; v < 7; v++)
        want_sum += v * (double)per_value[v];
    CHECK_EQ_DBL(sum, want_sum);
    CHECK_EQ_DBL(sonde_gauge_value(busy), 0);
    CHECK_EQ_INT(sonde_metric_child_count(per_child), WRITERS * CHILDREN);
    char label[32];
    for (int i = 0; i < WRITERS; i++)
        for (int c = 0; c < CHILDREN; c++) {
            snprintf(label, sizeof label, "w%d-%d", i, c);
            CHECK_EQ_DBL(sonde_counter_value(sonde_counter_with(per_child, (const char *[]){label})),
                         ITER / CHILDREN);
        }
    char *t = sonde_expose_alloc(reg, SONDE_FORMAT_TEXT, NULL);
    const double byname_each = (double)(WRITERS / 2) * ((ITER + 99) / 100);
    CHECK_EQ_DBL(sample(t, "byname_total{writer=\"even\"} "), byname_each);
    CHECK_EQ_DBL(sample(t, "byname_total{writer=\"odd\"} "), byname_each);
    CHECK_EQ_DBL(sample(t, "\nops_total "), total);
    CHECK_EQ_DBL(sample(t, "\nh_count "), total);
    free(t);
    sonde_registry_free(reg);
}

int main(void)
{
    RUN(hammer_while_scraping);
    return check_report();
}
