/*
 * test_console_history.c - the memory of the console's history (the one
 * behind sonde_console_new, src/console/history.c): a series' ring is
 * allocated a chunk at a time as it holds samples and gives chunks back as
 * they age out, so the bytes accounted follow the samples held (dense,
 * sparse, with and without exemplars); the bound holds as series grow, the
 * series viewed least recently being evicted (counted) and not coming back
 * until viewed again, and series of one view sharing what is left (each
 * keeps its latest samples); and every query reads the same over chunk boundaries
 * as a history whose samples all sit in one chunk. Samples are taken with
 * explicit times and a fake wall clock: shape only, no timing.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/console/history.h"
#include "../../src/console/query.h"
#include "check.h"
#include "registry_fixture.h"
#include "sonde/sonde.h"

#define T0 1700000000000LL /* ms */

static int64_t wall_ms = T0; /* the fake wall clock: exemplars take their time from it */

static uint64_t fake_wall(void *ud)
{
    (void)ud;
    return (uint64_t)wall_ms * 1000000ULL;
}

static void watch(console_history *h, const char *name)
{
    console_history_lock(h);
    CHECK_EQ_INT(console_history_watch(h, name, NULL, 0, 0, NULL), SONDE_OK);
    console_history_unlock(h);
}

/* What the history should have counted: itself, its families and their series. */
static size_t accounted(const console_history *h)
{
    size_t n = sizeof *h;
    for (size_t i = 0; i < h->nfams; i++) {
        n += h->fams[i]->bytes;
        for (size_t k = 0; k < h->fams[i]->nseries; k++)
            n += h->fams[i]->list[k]->bytes;
    }
    return n;
}

static hseries *series_of(console_history *h, const char *fam, const char *value)
{
    hfamily *f = console_history_find(h, fam);
    for (size_t i = 0; f && i < f->nseries; i++)
        if (f->label_count == 0 || strcmp(f->list[i]->values[0], value) == 0)
            return f->list[i];
    return NULL;
}

/* The bytes of s without its chunks: itself, label values, chunk array (and exemplars). */
static size_t base_bytes(const console_history *h, const hfamily *f, const hseries *s)
{
    size_t b = sizeof(hseries) + s->blob_len + f->label_count * sizeof(char *) +
               h->nchunks * sizeof(double *);
    if (s->ex)
        b += HISTORY_EXEMPLARS * sizeof(hexemplar) + (f->nb ? f->nb : 1) * sizeof(uint64_t);
    return b;
}

static size_t allocated_chunks(const console_history *h, const hseries *s)
{
    size_t n = 0;
    for (size_t k = 0; k < h->nchunks; k++)
        n += s->chunk[k] != NULL;
    return n;
}

TEST(bytes_follow_the_samples_held)
{
    sonde_set_clock(NULL, fake_wall, NULL);
    sonde_registry *reg = new_reg();
    static const char *const lbl[] = {"k"};
    static const double bounds[] = {1, 2};
    sonde_metric *g = new_family(reg, SONDE_GAUGE, "temp", lbl, 1, NULL, 0);
    sonde_metric *lat = new_family(reg, SONDE_HISTOGRAM, "lat_seconds", NULL, 0, bounds, 2);
    sonde_metric *cnt = new_family(reg, SONDE_COUNTER, "jobs", NULL, 0, NULL, 0);
    const char *dense[] = {"dense"}, *sparse[] = {"sparse"};
    sonde_gauge_set(sonde_gauge_with(g, dense), 1);
    sonde_gauge_set(sonde_gauge_with(g, sparse), 1);
    sonde_histogram_observe(sonde_histogram_of(lat), 1.5);
    sonde_counter_inc(sonde_counter_of(cnt));
    console_history *h = NULL;
    /* 64 samples kept: chunks of 4 rows, 16 + 1 of them */
    CHECK_EQ_INT(console_history_new(reg, 1000, 64, 1 << 20, NULL, &h), SONDE_OK);
    CHECK_EQ_INT((long)h->points, 64);
    CHECK_EQ_INT((long)h->chunk_rows, 4);
    CHECK_EQ_INT((long)h->nchunks, 17);
    watch(h, "temp"); /* sample 0 of each at T0 */
    watch(h, "lat_seconds");
    watch(h, "jobs");
    hfamily *ft = console_history_find(h, "temp"), *fl = console_history_find(h, "lat_seconds");
    hfamily *fc = console_history_find(h, "jobs");
    CHECK(ft && fl && fc);
    hseries *sd = series_of(h, "temp", "dense"), *ssp = series_of(h, "temp", "sparse");
    hseries *sl = series_of(h, "lat_seconds", NULL), *sc = series_of(h, "jobs", NULL);
    CHECK(sd && ssp && sl && sc);
    if (!ft || !fl || !fc || !sd || !ssp || !sl || !sc)
        return;
    size_t gauge_chunk = 4 * sizeof(double), hist_chunk = 4 * 4 * sizeof(double); /* 3 buckets + sum */
    /* young: one chunk each, no exemplar ring (none seen yet) */
    CHECK_EQ_INT((long)sd->nchunk, 1);
    CHECK_EQ_INT((long)sd->bytes, (long)(base_bytes(h, ft, sd) + gauge_chunk));
    CHECK_EQ_INT((long)sl->bytes, (long)(base_bytes(h, fl, sl) + hist_chunk));
    CHECK(sc->ex == NULL);
    CHECK_EQ_INT((long)h->bytes, (long)accounted(h));
    /* 63 more samples (64 rows: 16 chunks); the sparse series is there in even chunks only */
    for (int seq = 1; seq < 64; seq++) {
        int present = (seq / 4) % 2 == 0;
        if (present)
            sonde_gauge_set(sonde_gauge_with(g, sparse), seq);
        else
            sonde_metric_remove(g, sparse);
        sonde_gauge_set(sonde_gauge_with(g, dense), seq);
        console_history_sample(h, T0 + 1000 * seq);
        CHECK_EQ_INT((long)h->bytes, (long)accounted(h));
        CHECK_EQ_INT((long)sd->nchunk, (long)(seq / 4 + 1));
        CHECK_EQ_INT((long)allocated_chunks(h, sd), (long)sd->nchunk);
    }
    CHECK_EQ_INT((long)sd->nchunk, 16);
    CHECK_EQ_INT((long)ssp->nchunk, 8); /* chunks 0, 2, ..., 14 */
    CHECK_EQ_INT((long)sl->nchunk, 16);
    CHECK_EQ_INT((long)sd->bytes, (long)(base_bytes(h, ft, sd) + 16 * gauge_chunk));
    CHECK_EQ_INT((long)ssp->bytes, (long)(base_bytes(h, ft, ssp) + 8 * gauge_chunk));
    CHECK_EQ_INT((long)sl->bytes, (long)(base_bytes(h, fl, sl) + 16 * hist_chunk));
    /* past the retention: chunk 0's rows age out. The dense series reuses it (17 chunks at
     * most), the sparse one, absent there now, gives it back and takes chunk 16 */
    for (int seq = 64; seq < 72; seq++) {
        if ((seq / 4) % 2 == 0)
            sonde_gauge_set(sonde_gauge_with(g, sparse), seq);
        else
            sonde_metric_remove(g, sparse);
        console_history_sample(h, T0 + 1000 * seq);
        CHECK_EQ_INT((long)h->bytes, (long)accounted(h));
    }
    CHECK_EQ_INT((long)sd->nchunk, 17);
    CHECK_EQ_INT((long)ssp->nchunk, 8); /* chunks 2, ..., 14, 16 */
    CHECK(ssp->chunk[0] == NULL && ssp->chunk[16] != NULL);
    size_t full = h->bytes;
    for (int seq = 72; seq < 200; seq++) /* the sparse series is gone for good */
        console_history_sample(h, T0 + 1000 * seq);
    CHECK_EQ_INT((long)sd->nchunk, 17); /* never more than the ring */
    CHECK(series_of(h, "temp", "sparse") == NULL); /* absent for a whole ring: dropped */
    CHECK(h->bytes < full);
    CHECK_EQ_INT((long)h->bytes, (long)accounted(h));
    /* the exemplar ring comes with the first exemplar */
    size_t before = sc->bytes;
    sonde_span_context ctx = {.flags = SONDE_TRACE_FLAG_SAMPLED};
    memset(ctx.trace_id, 0xab, 16);
    memset(ctx.span_id, 0xcd, 8);
    sonde_counter_add_exemplar(sonde_counter_of(cnt), 2, &ctx);
    console_history_sample(h, T0 + 1000 * 200);
    CHECK(sc->ex != NULL);
    CHECK_EQ_INT((long)sc->ex_count, 1);
    CHECK_EQ_INT((long)(sc->bytes - before),
                 (long)(HISTORY_EXEMPLARS * sizeof(hexemplar) + sizeof(uint64_t)));
    CHECK_EQ_INT((long)h->bytes, (long)accounted(h));
    console_history_free(h);
    sonde_registry_free(reg);
    sonde_set_clock(NULL, NULL, NULL);
}

TEST(the_bound_holds_as_series_grow)
{
    sonde_set_clock(NULL, fake_wall, NULL);
    sonde_registry *reg = new_reg();
    static const char *const lbl[] = {"k"};
    const char *names[3] = {"fam_a", "fam_b", "fam_c"};
    for (int i = 0; i < 3; i++) {
        sonde_metric *m = new_family(reg, SONDE_GAUGE, names[i], lbl, 1, NULL, 0);
        for (int k = 0; k < 3; k++) {
            const char *v[] = {k == 0 ? "x" : k == 1 ? "y" : "z"};
            sonde_gauge_set(sonde_gauge_with(m, v), k);
        }
    }
    sonde_counter *evicted = NULL;
    CHECK_EQ_INT(sonde_counter_new(reg, "evicted", "Test.", &evicted), SONDE_OK);
    console_history *h = NULL;
    /* 1000 samples kept (chunks of 63 rows, 17 of them): room for the three families and
     * six and a half full-grown series of the nine */
    size_t full = sizeof(hseries) + 64 + 17 * sizeof(double *) + 17 * 63 * sizeof(double);
    size_t max = sizeof(console_history) + 3 * (sizeof(hfamily) + 64 + 17 * 63 * sizeof(int64_t)) +
                 6 * full + full / 2;
    CHECK_EQ_INT(console_history_new(reg, 100, 100, max, evicted, &h), SONDE_OK);
    CHECK_EQ_INT((long)h->points, 1000);
    CHECK_EQ_INT((long)h->chunk_rows, 63);
    CHECK_EQ_INT((long)h->nchunks, 17);
    for (int i = 0; i < 3; i++)
        watch(h, names[i]);
    console_history_lock(h);
    hfamily *a = console_history_find(h, "fam_a"), *b = console_history_find(h, "fam_b"),
            *c = console_history_find(h, "fam_c");
    CHECK(a && b && c);
    if (!a || !b || !c)
        return;
    /* young, the 9 fit */
    CHECK_EQ_INT((long)(a->nseries + b->nseries + c->nseries), 9);
    CHECK_EQ_INT((long)h->evicted_total, 0);
    console_history_unlock(h);
    int64_t t = T0;
    for (int i = 0; i < 1100; i++) { /* a ring and more: each series grows to full */
        console_history_sample(h, t += 100);
        CHECK(h->bytes <= max);
    }
    console_history_lock(h);
    CHECK_EQ_INT((long)h->bytes, (long)accounted(h));
    CHECK_EQ_INT((long)b->nseries, 3); /* viewed last: all kept, full-grown */
    CHECK_EQ_INT((long)c->nseries, 3);
    for (size_t i = 0; i < 3; i++)
        CHECK(b->list[i]->nchunk == h->nchunks && c->list[i]->nchunk == h->nchunks);
    CHECK(a->nseries < 3); /* viewed first: evicted first */
    size_t kept_a = a->nseries;
    size_t kept = a->nseries + b->nseries + c->nseries;
    CHECK(kept < 9);
    CHECK_EQ_INT((long)h->evicted_total, (long)(9 - kept));
    CHECK_EQ_DBL(sonde_counter_value(evicted), (double)h->evicted_total);
    /* an evicted series does not come back unviewed, though a young one would fit */
    uint64_t before = h->evicted_total;
    console_history_unlock(h);
    for (int i = 0; i < 200; i++)
        console_history_sample(h, t += 100);
    console_history_lock(h);
    CHECK_EQ_INT((long)h->evicted_total, (long)before);
    CHECK_EQ_INT((long)a->nseries, (long)kept_a);
    /* viewing fam_a again brings its series back; growing, they evict the others */
    CHECK_EQ_INT(console_history_watch(h, "fam_a", NULL, 0, 0, NULL), SONDE_OK);
    console_history_unlock(h);
    console_history_sample(h, t += 100);
    CHECK_EQ_INT((long)a->nseries, 3); /* young: room is made for them at once */
    for (int i = 0; i < 1100; i++) {
        console_history_sample(h, t += 100);
        CHECK(h->bytes <= max);
    }
    console_history_lock(h);
    CHECK_EQ_INT((long)a->nseries, 3);
    for (size_t i = 0; i < a->nseries; i++)
        CHECK_EQ_INT((long)a->list[i]->nchunk, (long)h->nchunks);
    CHECK(h->evicted_total > before);
    CHECK(b->nseries < 3); /* viewed before c: evicted first */
    CHECK_EQ_INT((long)c->nseries, 3);
    CHECK_EQ_INT((long)h->bytes, (long)accounted(h));
    CHECK_EQ_DBL(sonde_counter_value(evicted), (double)h->evicted_total);
    console_history_unlock(h);
    console_history_free(h);
    sonde_registry_free(reg);
    sonde_set_clock(NULL, NULL, NULL);
}

TEST(series_of_one_view_share_the_room)
{
    sonde_set_clock(NULL, fake_wall, NULL);
    sonde_registry *reg = new_reg();
    static const char *const lbl[] = {"k"};
    sonde_metric *m = new_family(reg, SONDE_GAUGE, "g", lbl, 1, NULL, 0);
    const char *vals[3][1] = {{"x"}, {"y"}, {"z"}};
    console_history *h = NULL;
    /* room for the family and two and a half full-grown series: three of one view */
    size_t full = sizeof(hseries) + 64 + 17 * sizeof(double *) + 17 * 63 * sizeof(double);
    size_t max = sizeof(console_history) + sizeof(hfamily) + 64 + 17 * 63 * sizeof(int64_t) +
                 2 * full + full / 2;
    CHECK_EQ_INT(console_history_new(reg, 100, 100, max, NULL, &h), SONDE_OK);
    for (int k = 0; k < 3; k++)
        sonde_gauge_set(sonde_gauge_with(m, vals[k]), 0);
    watch(h, "g");
    int64_t t = T0;
    for (int i = 1; i <= 1100; i++) {
        for (int k = 0; k < 3; k++)
            sonde_gauge_set(sonde_gauge_with(m, vals[k]), i);
        console_history_sample(h, t += 100);
        CHECK(h->bytes <= max);
    }
    console_history_lock(h);
    hfamily *f = console_history_find(h, "g");
    CHECK(f != NULL);
    if (f) { /* none evicts another: each reuses its own oldest chunk, its history shorter */
        CHECK_EQ_INT((long)f->nseries, 3);
        CHECK_EQ_INT((long)h->evicted_total, 0);
        for (size_t i = 0; i < f->nseries; i++)
            CHECK(f->list[i]->nchunk >= 1 && f->list[i]->nchunk < h->nchunks);
        CHECK_EQ_INT((long)h->bytes, (long)accounted(h));
        console_query cq;
        memset(&cq, 0, sizeof cq);
        cq.family = "g";
        cq.fn = CONSOLE_FN_VALUE;
        cq.per_series = 1;
        console_range r;
        CHECK_EQ_INT(console_query_range(h, f, &cq, 3600, &r), SONDE_OK);
        CHECK_EQ_INT((long)r.nlines, 3);
        CHECK_EQ_INT((long)r.npoints, 1000);
        for (size_t l = 0; l < r.nlines; l++) {
            const double *v = r.v + l * r.npoints;
            CHECK(isnan(v[0]));                 /* the oldest rows were given up */
            CHECK_EQ_DBL(v[r.npoints - 1], 1100); /* the latest are there */
            CHECK_EQ_DBL(v[r.npoints - 2], 1099);
        }
        console_range_free(&r);
    }
    console_history_unlock(h);
    console_history_free(h);
    sonde_registry_free(reg);
    sonde_set_clock(NULL, NULL, NULL);
}

/* The same query over history a (chunks of 4 rows, wrapped) and b (one chunk): equal. */
static void same_answer(console_history *a, console_history *b, const char *fam, console_fn fn,
                        const char *by, int per_series, long window_s, double q)
{
    console_query cq;
    memset(&cq, 0, sizeof cq);
    cq.family = fam;
    cq.fn = fn;
    cq.by = by;
    cq.per_series = per_series;
    cq.window_s = window_s;
    cq.q = q;
    if (fn == CONSOLE_FN_RATIO) {
        cq.match[0][0] = "route";
        cq.match[0][1] = "/b";
        cq.nmatch = 1;
    }
    console_range ra, rb;
    CHECK_EQ_INT(console_query_range(a, console_history_find(a, fam), &cq, 50, &ra), SONDE_OK);
    CHECK_EQ_INT(console_query_range(b, console_history_find(b, fam), &cq, 50, &rb), SONDE_OK);
    CHECK_EQ_INT((long)ra.npoints, 51); /* t = 50 s .. 100 s */
    CHECK_EQ_INT((long)ra.npoints, (long)rb.npoints);
    CHECK_EQ_INT((long)ra.nlines, (long)rb.nlines);
    CHECK_EQ_INT((long)ra.width, (long)rb.width);
    CHECK(ra.nlines > 0);
    int some = 0;
    if (ra.npoints == rb.npoints && ra.nlines == rb.nlines && ra.width == rb.width) {
        for (size_t i = 0; i < ra.npoints; i++)
            CHECK_EQ_INT(ra.t[i], rb.t[i]);
        for (size_t i = 0; i < ra.nlines * ra.npoints * ra.width; i++) {
            CHECK_EQ_DBL(ra.v[i], rb.v[i]);
            some |= !isnan(ra.v[i]);
        }
    }
    CHECK(some); /* not an answer of nothing but nulls */
    console_range_free(&ra);
    console_range_free(&rb);
}

TEST(queries_read_the_same_across_chunks)
{
    sonde_set_clock(NULL, fake_wall, NULL);
    sonde_registry *reg = new_reg();
    static const char *const rl[] = {"route"};
    static const double bounds[] = {0.1, 1};
    sonde_metric *reqs = new_family(reg, SONDE_COUNTER, "reqs", rl, 1, NULL, 0);
    sonde_metric *lat = new_family(reg, SONDE_HISTOGRAM, "lat_seconds", rl, 1, bounds, 2);
    sonde_gauge *temp = NULL;
    CHECK_EQ_INT(sonde_gauge_new(reg, "temp", "Test.", &temp), SONDE_OK);
    const char *ra[] = {"/a"}, *rb[] = {"/b"};
    sonde_counter_add(sonde_counter_with(reqs, ra), 1);
    sonde_counter_add(sonde_counter_with(reqs, rb), 1);
    sonde_histogram_observe(sonde_histogram_with(lat, ra), 0.05);
    console_history *a = NULL, *b = NULL;
    CHECK_EQ_INT(console_history_new(reg, 1000, 64, 1 << 20, NULL, &a), SONDE_OK);
    CHECK_EQ_INT(console_history_new(reg, 1000, 3200, 4 << 20, NULL, &b), SONDE_OK);
    CHECK_EQ_INT((long)a->chunk_rows, 4);
    CHECK_EQ_INT((long)b->chunk_rows, 200);
    const char *fams[] = {"reqs", "lat_seconds", "temp"};
    for (int i = 0; i < 3; i++) {
        watch(a, fams[i]);
        watch(b, fams[i]);
    }
    sonde_span_context ctx = {.flags = SONDE_TRACE_FLAG_SAMPLED};
    memset(ctx.span_id, 0xcd, 8);
    for (int i = 1; i <= 100; i++) {
        wall_ms = T0 + 1000 * i;
        if (i == 40) /* a counter reset on a chunk boundary */
            sonde_metric_remove(reqs, ra);
        if (i % 30 == 0) { /* exemplars in several chunks */
            memset(ctx.trace_id, i, 16);
            sonde_counter_add_exemplar(sonde_counter_with(reqs, ra), 1 + i % 7, &ctx);
        } else {
            sonde_counter_add(sonde_counter_with(reqs, ra), 1 + i % 7);
        }
        if ((i / 6) % 2 == 0) /* /b comes and goes across chunk boundaries */
            sonde_counter_add(sonde_counter_with(reqs, rb), 2);
        else
            sonde_metric_remove(reqs, rb);
        sonde_histogram_observe(sonde_histogram_with(lat, ra), 0.01 * (i % 150));
        sonde_histogram_observe(sonde_histogram_with(lat, rb), 0.5 + (i % 3));
        sonde_gauge_set(temp, 0.5 * i);
        console_history_sample(a, T0 + 1000 * i);
        console_history_sample(b, T0 + 1000 * i);
    }
    console_history_lock(a);
    console_history_lock(b);
    CHECK_EQ_INT((long)console_history_find(a, "reqs")->filled, 64);  /* wrapped */
    CHECK_EQ_INT((long)console_history_find(b, "reqs")->filled, 101); /* one chunk */
    hseries *a_b = series_of(a, "reqs", "/b"), *a_a = series_of(a, "reqs", "/a");
    CHECK(a_b && a_a && a_b->nchunk < a_a->nchunk); /* /b gave chunks back */
    same_answer(a, b, "reqs", CONSOLE_FN_VALUE, NULL, 1, 0, 0);
    same_answer(a, b, "reqs", CONSOLE_FN_RATE, "route", 0, 5, 0);
    same_answer(a, b, "reqs", CONSOLE_FN_RATE, NULL, 0, 10, 0);
    same_answer(a, b, "reqs", CONSOLE_FN_RATIO, NULL, 0, 5, 0);
    same_answer(a, b, "lat_seconds", CONSOLE_FN_QUANTILE, "route", 0, 5, 0.9);
    same_answer(a, b, "lat_seconds", CONSOLE_FN_HEATMAP, NULL, 0, 5, 0);
    same_answer(a, b, "lat_seconds", CONSOLE_FN_VALUE, NULL, 1, 0, 0);
    same_answer(a, b, "temp", CONSOLE_FN_VALUE, NULL, 0, 0, 0);
    /* and what they read is right: the reset at 40 s, the gauge */
    console_query cq;
    memset(&cq, 0, sizeof cq);
    cq.family = "reqs";
    cq.fn = CONSOLE_FN_RATE;
    cq.window_s = 2;
    cq.match[0][0] = "route";
    cq.match[0][1] = "/a";
    cq.nmatch = 1;
    console_range r;
    CHECK_EQ_INT(console_query_range(a, console_history_find(a, "reqs"), &cq, 60, &r), SONDE_OK);
    CHECK_EQ_INT(r.t[0], T0 + 40000);
    CHECK_EQ_DBL(r.v[0], 1 + 40 % 7);   /* 39 s -> 40 s: reset, then +(1 + 40 % 7) */
    CHECK_EQ_DBL(r.v[1], 1 + 41 % 7);   /* 40 s -> 41 s */
    console_range_free(&r);
    /* the exemplars of /a, kept at 30, 60 and 90 s (the ring keeps the 16 latest) */
    hseries *b_a = series_of(b, "reqs", "/a");
    CHECK(b_a && a_a->ex_count == 3 && b_a->ex_count == 3);
    for (size_t e = 0; b_a && e < a_a->ex_count && e < b_a->ex_count; e++) {
        CHECK_EQ_INT(a_a->ex[e].t_ms, b_a->ex[e].t_ms);
        CHECK(memcmp(&a_a->ex[e].ex, &b_a->ex[e].ex, sizeof a_a->ex[e].ex) == 0);
    }
    CHECK_EQ_INT(a_a->ex[2].t_ms, T0 + 90000);
    CHECK_EQ_INT(a_a->ex[2].ex.trace_id[0], 90);
    console_history_unlock(b);
    console_history_unlock(a);
    console_history_free(a);
    console_history_free(b);
    sonde_registry_free(reg);
    sonde_set_clock(NULL, NULL, NULL);
    wall_ms = T0;
}

int main(void)
{
    RUN(bytes_follow_the_samples_held);
    RUN(the_bound_holds_as_series_grow);
    RUN(series_of_one_view_share_the_room);
    RUN(queries_read_the_same_across_chunks);
    return check_report();
}
