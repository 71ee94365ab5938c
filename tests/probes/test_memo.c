/*
 * test_memo.c - the per-thread lookup memo (src/core/memo.h): a repeated
 * lookup is answered without reading the family's map, and never with a
 * child that is gone or with the wrong one.
 *
 * Linked, like test_hash_flood, to a copy of the core compiled with
 * SONDE_COUNT_PROBES (map.h), so "answered by the memo" is a count of zero
 * map probes, not a timing. The cases: values equal by content but not by
 * pointer, a buffer changed in place, prefixes of one another, lengths
 * around the 32-byte cell, values at the end of a page, more labels than an
 * entry holds, more families than slots, a thread going round several
 * children (the family rests from fills, then the memo answers again), the
 * overflow child past the cardinality limit, and a memo filled before its child was removed, its
 * family cleared, or the family unregistered and registered again (in this
 * thread and, across a barrier, in others).
 */
#include <pthread.h>
#include <stdlib.h>

#include "check.h"
#include "internal.h"
#include "registry_fixture.h"
#include "memo.h"

static sonde_metric *family(sonde_registry *r, const char *name, size_t labels)
{
    static const char *const names[] = {"a", "b", "c", "d", "e"};
    sonde_metric_opts o = {.type = SONDE_COUNTER, .name = name, .help = "h", .label_names = names,
                           .label_count = labels};
    sonde_metric *m = NULL;
    CHECK_EQ_INT(sonde_register(r, &o, &m), SONDE_OK);
    return m;
}

static uint64_t probes(void)
{
    return atomic_load(&sonde_map_probes);
}

TEST(hit_reads_no_map)
{
    sonde_registry *r = new_reg();
    sonde_metric *m = family(r, "hit_total", 3);
    sonde_counter *c = sonde_counter_with(m, (const char *[]){"GET", "/api/v1/items/42", "200"});
    CHECK(c != NULL);
    uint64_t before = probes();
    for (int i = 0; i < 1000; i++) {
        char path[32], status[8]; /* equal by content, a new pointer each time */
        snprintf(path, sizeof path, "/api/v1/items/%d", 42);
        snprintf(status, sizeof status, "%d", 200);
        CHECK(sonde_counter_with(m, (const char *[]){"GET", path, status}) == c);
        void *child = NULL;
        CHECK_EQ_INT(sonde_metric_child(m, (const char *[]){"GET", path, status}, &child), SONDE_OK);
        CHECK(child == c);
    }
    CHECK_EQ_INT(probes() - before, 0);
    /* a histogram family too */
    static const char *const hl[] = {"route"};
    sonde_metric_opts ho = {.type = SONDE_HISTOGRAM, .name = "hit_seconds", .help = "h", .label_names = hl,
                            .label_count = 1, .buckets = SONDE_BUCKETS_DEFAULT};
    sonde_metric *hm;
    CHECK_EQ_INT(sonde_register(r, &ho, &hm), SONDE_OK);
    sonde_histogram *h = sonde_histogram_with(hm, (const char *[]){"/x"});
    before = probes();
    CHECK(sonde_histogram_with(hm, (const char *[]){"/x"}) == h);
    CHECK(sonde_counter_with(hm, (const char *[]){"/x"}) == NULL); /* the type still counts */
    CHECK_EQ_INT(probes() - before, 0);
    /* five labels: more than an entry holds, every lookup probes (and finds the child) */
    sonde_metric *wide = family(r, "wide_total", 5);
    const char *five[] = {"1", "2", "3", "4", "5"};
    sonde_counter *w = sonde_counter_with(wide, five);
    before = probes();
    CHECK(sonde_counter_with(wide, five) == w);
    CHECK(probes() - before >= 1);
    CHECK_EQ_INT(sonde_metric_child_count(wide), 1);
    sonde_registry_free(r);
}

TEST(content_not_pointer)
{
    sonde_registry *r = new_reg();
    sonde_metric *m = family(r, "content_total", 1);
    char v[8] = "aaa";
    sonde_counter *a = sonde_counter_with(m, (const char *[]){v});
    v[2] = 'b'; /* the same pointer, other values */
    sonde_counter *b = sonde_counter_with(m, (const char *[]){v});
    CHECK(a && b && a != b);
    v[3] = 'c'; /* "aabc": a longer value whose first bytes are the memo's */
    v[4] = 0;
    sonde_counter *longer = sonde_counter_with(m, (const char *[]){v});
    v[2] = 0; /* "aa": a prefix */
    sonde_counter *prefix = sonde_counter_with(m, (const char *[]){v});
    v[0] = 0; /* "" */
    sonde_counter *empty = sonde_counter_with(m, (const char *[]){v});
    CHECK(longer && prefix && empty && longer != b && prefix != longer && empty != prefix);
    CHECK_EQ_INT(sonde_metric_child_count(m), 5);
    const char *order[] = {"aaa", "aab", "aabc", "aa", "", "aabc", "aa", "aab", "aaa", ""};
    sonde_counter *want[] = {a, b, longer, prefix, empty, longer, prefix, b, a, empty};
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 10; i++)
            CHECK(sonde_counter_with(m, (const char *[]){order[i]}) == want[i]);
    /* missing values are refused, whatever the memo holds */
    void *child = (void *)1;
    CHECK_EQ_INT(sonde_metric_child(m, NULL, &child), SONDE_ELABELS);
    CHECK(child == NULL);
    CHECK_EQ_INT(sonde_metric_child(m, (const char *[]){NULL}, &child), SONDE_ELABELS);
    CHECK_EQ_INT(sonde_metric_child_count(m), 5);
    sonde_registry_free(r);
}

/* Lengths around an entry's 32-byte cell (31 fits, 32 does not), in a family that allows them. */
TEST(value_lengths)
{
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    cfg.label_value_max = 64;
    sonde_registry *r;
    CHECK_EQ_INT(sonde_registry_new(&cfg, &r), SONDE_OK);
    sonde_metric *m = family(r, "len_total", 2);
    char v[48];
    for (size_t len = 28; len <= 40; len++) {
        memset(v, 'x', len);
        v[len] = 0;
        sonde_counter *c = sonde_counter_with(m, (const char *[]){"k", v});
        CHECK(c != NULL);
        uint64_t before = probes();
        CHECK(sonde_counter_with(m, (const char *[]){"k", v}) == c);
        if (len < 32)
            CHECK_EQ_INT(probes() - before, 0);
        else
            CHECK(probes() - before >= 1);
        v[len - 1] = 'y'; /* differs in its last byte only */
        CHECK(sonde_counter_with(m, (const char *[]){"k", v}) != c);
    }
    CHECK_EQ_INT(sonde_metric_child_count(m), 2 * 13);
    sonde_registry_free(r);
}

/* Values that end a page, or begin one: found, the right ones, and by the memo. */
TEST(page_ends)
{
    sonde_registry *r = new_reg();
    sonde_metric *m = family(r, "page_total", 2);
    char *pages = aligned_alloc(4096, 8192);
    CHECK(pages != NULL);
    memset(pages, 'p', 8192);
    char *end = pages + 4096 - 3, *start = pages + 4096; /* "v1" and its NUL end page 0 */
    memcpy(end, "v1", 3);
    memcpy(start, "v2", 3);
    sonde_counter *c1 = sonde_counter_with(m, (const char *[]){end, start});
    sonde_counter *c2 = sonde_counter_with(m, (const char *[]){start, end});
    CHECK(c1 && c2 && c1 != c2);
    for (int i = 0; i < 3; i++) {
        CHECK(sonde_counter_with(m, (const char *[]){end, start}) == c1);
        CHECK(sonde_counter_with(m, (const char *[]){"v1", "v2"}) == c1);
        CHECK(sonde_counter_with(m, (const char *[]){start, end}) == c2);
    }
    CHECK_EQ_INT(sonde_metric_child_count(m), 2);
    /* the memo answers for them too (in a family of their own: the one above, going round
     * its children, rests): where a value sits never costs a hit */
    sonde_metric *m2 = family(r, "page2_total", 2);
    sonde_counter *c3 = sonde_counter_with(m2, (const char *[]){end, start});
    uint64_t before = probes();
    CHECK(c3 != NULL && sonde_counter_with(m2, (const char *[]){end, start}) == c3);
    CHECK(sonde_counter_with(m2, (const char *[]){"v1", "v2"}) == c3);
    CHECK_EQ_INT(probes() - before, 0);
    free(pages);
    sonde_registry_free(r);
}

/* More families than a memo has slots, looked up in turn: each gets its own child. */
TEST(slot_sharing)
{
    sonde_registry *r = new_reg();
    enum { N = 3 * SONDE_MEMO_SLOTS };
    sonde_metric *m[N];
    sonde_counter *c[N];
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "slot%d_total", i);
        m[i] = family(r, name, 1);
        c[i] = sonde_counter_with(m[i], (const char *[]){"same"});
    }
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < N; i++)
            sonde_counter_inc(sonde_counter_with(m[i], (const char *[]){"same"}));
    for (int i = 0; i < N; i++) {
        CHECK(sonde_counter_with(m[i], (const char *[]){"same"}) == c[i]);
        CHECK_EQ_DBL(sonde_counter_value(c[i]), 3);
        CHECK_EQ_INT(sonde_metric_child_count(m[i]), 1);
    }
    sonde_registry_free(r);
}

/* A thread going round several children of one family: every lookup right, the family rests
 * from fills (memo.h), and once one tuple repeats, the memo answers again. */
TEST(rest_and_return)
{
    sonde_registry *r = new_reg();
    sonde_metric *m = family(r, "round_total", 2);
    const char *keys[] = {"a", "b", "c"};
    sonde_counter *c[3];
    for (int i = 0; i < 3; i++)
        c[i] = sonde_counter_with(m, (const char *[]){"k", keys[i]});
    for (int i = 0; i < 3 * 4 * SONDE_MEMO_QUIET; i++)
        sonde_counter_inc(sonde_counter_with(m, (const char *[]){"k", keys[i % 3]}));
    for (int i = 0; i < 3; i++)
        CHECK_EQ_DBL(sonde_counter_value(c[i]), 4 * SONDE_MEMO_QUIET);
    for (int i = 0; i < SONDE_MEMO_QUIET + SONDE_MEMO_COLD + 1; i++) /* the rest ends */
        CHECK(sonde_counter_with(m, (const char *[]){"k", "b"}) == c[1]);
    uint64_t before = probes();
    for (int i = 0; i < 100; i++)
        CHECK(sonde_counter_with(m, (const char *[]){"k", "b"}) == c[1]);
    CHECK_EQ_INT(probes() - before, 0);
    CHECK_EQ_INT(sonde_metric_child_count(m), 3);
    sonde_registry_free(r);
}

/* A memo filled before its child left: the next lookup makes a new child. */
TEST(after_remove_clear_unregister)
{
    sonde_registry *r = new_reg();
    sonde_metric *m = family(r, "gone_total", 2);
    const char *x[] = {"x", "1"}, *y[] = {"y", "1"};
    sonde_counter_add(sonde_counter_with(m, x), 5);
    sonde_counter_add(sonde_counter_with(m, x), 1); /* a memo hit */
    CHECK_EQ_INT(sonde_metric_remove(m, x), SONDE_OK);
    CHECK_EQ_INT(sonde_metric_child_count(m), 0);
    sonde_counter *again = sonde_counter_with(m, x);
    CHECK_EQ_INT(sonde_metric_child_count(m), 1); /* a new child, not the memo's */
    CHECK_EQ_DBL(sonde_counter_value(again), 0);
    /* removing another child renews the family too: the memo's child is found again */
    sonde_counter_inc(sonde_counter_with(m, y));
    sonde_counter_inc(sonde_counter_with(m, x));
    CHECK_EQ_INT(sonde_metric_remove(m, y), SONDE_OK);
    CHECK(sonde_counter_with(m, x) == again);
    CHECK_EQ_DBL(sonde_counter_value(again), 1);
    /* clear */
    sonde_counter_add(sonde_counter_with(m, x), 7);
    CHECK_EQ_INT(sonde_metric_clear(m), SONDE_OK);
    sonde_counter *cleared = sonde_counter_with(m, x);
    CHECK_EQ_INT(sonde_metric_child_count(m), 1);
    CHECK_EQ_DBL(sonde_counter_value(cleared), 0);
    /* unregistered and registered again (maybe at the same address): a new family */
    sonde_counter_add(sonde_counter_with(m, x), 9);
    CHECK_EQ_INT(sonde_unregister(m), SONDE_OK);
    sonde_metric *m2 = family(r, "gone_total", 2);
    sonde_counter *fresh = sonde_counter_with(m2, x);
    CHECK_EQ_INT(sonde_metric_child_count(m2), 1);
    CHECK_EQ_DBL(sonde_counter_value(fresh), 0);
    sonde_registry_free(r);
}

/* The overflow child past the limit is not remembered: once there is room, a real child. */
TEST(overflow_not_remembered)
{
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    cfg.cardinality_limit = 1;
    sonde_registry *r;
    CHECK_EQ_INT(sonde_registry_new(&cfg, &r), SONDE_OK);
    sonde_metric *m = family(r, "over_total", 1);
    void *a = NULL, *b = NULL, *b2 = NULL;
    CHECK_EQ_INT(sonde_metric_child(m, (const char *[]){"a"}, &a), SONDE_OK);
    CHECK_EQ_INT(sonde_metric_child(m, (const char *[]){"b"}, &b), SONDE_ELIMIT);
    CHECK_EQ_INT(sonde_metric_child(m, (const char *[]){"b"}, &b2), SONDE_ELIMIT);
    CHECK(b != NULL && b == b2);
    CHECK_EQ_INT(sonde_metric_remove(m, (const char *[]){"a"}), SONDE_OK);
    CHECK_EQ_INT(sonde_metric_child(m, (const char *[]){"b"}, &b2), SONDE_OK);
    CHECK(b2 != b);
    CHECK_EQ_INT(sonde_metric_child_count(m), 1);
    sonde_registry_free(r);
}

/* Threads fill their memos, the main thread removes the child (a barrier orders it before
 * their next lookup), and they must all find the one new child. */
enum { THREADS = 3, ROUNDS = 20 };
typedef struct shared {
    sonde_metric *m;
    pthread_barrier_t step;
    sonde_counter *found[THREADS];
} shared;

typedef struct worker_arg {
    shared *s;
    int id;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *a = p;
    const char *v[] = {"w", "1"};
    for (int round = 0; round < ROUNDS; round++) {
        sonde_counter *c = sonde_counter_with(a->s->m, v);
        sonde_counter_inc(sonde_counter_with(a->s->m, v)); /* a memo hit */
        a->s->found[a->id] = c;
        pthread_barrier_wait(&a->s->step); /* found */
        pthread_barrier_wait(&a->s->step); /* checked and removed */
    }
    return NULL;
}

TEST(threads_see_removal)
{
    sonde_registry *r = new_reg();
    shared s = {.m = family(r, "threads_total", 2)};
    pthread_barrier_init(&s.step, NULL, THREADS + 1);
    pthread_t t[THREADS];
    worker_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (worker_arg){&s, i};
        pthread_create(&t[i], NULL, worker, &args[i]);
    }
    for (int round = 0; round < ROUNDS; round++) {
        pthread_barrier_wait(&s.step);
        CHECK_EQ_INT(sonde_metric_child_count(s.m), 1);
        for (int i = 1; i < THREADS; i++)
            CHECK(s.found[i] == s.found[0]);
        CHECK_EQ_DBL(sonde_counter_value(s.found[0]), THREADS);
        if (round % 2)
            CHECK_EQ_INT(sonde_metric_remove(s.m, (const char *[]){"w", "1"}), SONDE_OK);
        else
            CHECK_EQ_INT(sonde_metric_clear(s.m), SONDE_OK);
        pthread_barrier_wait(&s.step);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&s.step);
    sonde_registry_free(r);
}

int main(void)
{
    RUN(hit_reads_no_map);
    RUN(content_not_pointer);
    RUN(value_lengths);
    RUN(page_ends);
    RUN(slot_sharing);
    RUN(rest_and_return);
    RUN(after_remove_clear_unregister);
    RUN(overflow_not_remembered);
    RUN(threads_see_removal);
    return check_report();
}
