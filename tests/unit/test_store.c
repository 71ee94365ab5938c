/*
 * test_store.c - the storage, cache and queue helpers (sonde/store.h): the
 * options and their closed name lists, lookups (an unregistered name is
 * refused, stores nothing and is counted), database queries with exact
 * durations from a fake clock, the pool gauges, caches, queues with their
 * depth and waits, and family sharing between stores. Read back through the
 * text exposition, which is what a scraper sees.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "registry_fixture.h"
#include "sonde/sonde.h"

static uint64_t fake_ns;
static uint64_t fake_mono(void *ud)
{
    return fake_ns;
}

static char *text(sonde_registry *r)
{
    return sonde_expose_alloc(r, SONDE_FORMAT_TEXT, NULL);
}

static const char *const ops[] = {"select", "insert", "update"};
static const char *const tables[] = {"users", "orders"};
static const char *const caches[] = {"sessions", "pages"};
static const char *const queues[] = {"email", "render"};

static sonde_store_opts all_parts(sonde_registry *reg)
{
    sonde_store_opts o = {.registry = reg,
                          .operations = ops,
                          .operation_count = 3,
                          .tables = tables,
                          .table_count = 2,
                          .caches = caches,
                          .cache_count = 2,
                          .queues = queues,
                          .queue_count = 2};
    return o;
}

TEST(options_refused)
{
    sonde_registry *reg = new_reg();
    sonde_store *s = (sonde_store *)1;
    CHECK_EQ_INT(sonde_store_new(NULL, &s), SONDE_EINVAL);
    CHECK(s == NULL);
    sonde_store_opts o = {.registry = reg};
    CHECK_EQ_INT(sonde_store_new(&o, &s), SONDE_EINVAL); /* no part */
    o.operations = ops;
    o.operation_count = 3;
    CHECK_EQ_INT(sonde_store_new(&o, &s), SONDE_EINVAL); /* operations without tables */
    o = (sonde_store_opts){.registry = reg, .tables = tables, .table_count = 2};
    CHECK_EQ_INT(sonde_store_new(&o, &s), SONDE_EINVAL); /* tables without operations */

    const char *dup[] = {"a", "b", "a"};
    const char *empty[] = {"a", ""};
    const char *ctrl[] = {"a\nb"};
    const char *notutf8[] = {"caf\xc3"};
    const char *nul[] = {NULL};
    char longname[SONDE_STORE_NAME_MAX + 2];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    const char *toolong[] = {longname};
    struct {
        const char *const *names;
        size_t n;
        int rc;
    } bad[] = {{dup, 3, SONDE_EINVAL},   {empty, 2, SONDE_EINVAL},     {ctrl, 1, SONDE_EINVAL},
               {notutf8, 1, SONDE_EUTF8}, {toolong, 1, SONDE_ETOOLONG}, {nul, 1, SONDE_EINVAL},
               {NULL, 2, SONDE_EINVAL}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o = (sonde_store_opts){.registry = reg, .caches = bad[i].names, .cache_count = bad[i].n};
        CHECK_EQ_INT(sonde_store_new(&o, &s), bad[i].rc);
        CHECK(s == NULL);
    }
    /* at most SONDE_STORE_NAMES_MAX names */
    static char names[SONDE_STORE_NAMES_MAX + 1][8];
    const char *many[SONDE_STORE_NAMES_MAX + 1];
    for (int i = 0; i <= SONDE_STORE_NAMES_MAX; i++) {
        snprintf(names[i], sizeof names[i], "q%d", i);
        many[i] = names[i];
    }
    o = (sonde_store_opts){.registry = reg, .queues = many, .queue_count = SONDE_STORE_NAMES_MAX + 1};
    CHECK_EQ_INT(sonde_store_new(&o, &s), SONDE_EINVAL);
    /* a name of exactly the maximum is fine; so are UTF-8 names */
    longname[SONDE_STORE_NAME_MAX] = '\0';
    const char *ok[] = {longname, "caf\xc3\xa9"};
    o = (sonde_store_opts){.registry = reg, .caches = ok, .cache_count = 2, .prefix = "bad-prefix"};
    CHECK_EQ_INT(sonde_store_new(&o, &s), SONDE_ENAME);
    o.prefix = NULL;
    CHECK_EQ_INT(sonde_store_new(&o, &s), SONDE_OK);
    sonde_store_free(s);
    o.queues = many;
    o.queue_count = SONDE_STORE_NAMES_MAX;
    CHECK_EQ_INT(sonde_store_new(&o, &s), SONDE_OK);
    sonde_store_free(s);
    sonde_registry_free(reg);
}

TEST(unregistered_names)
{
    sonde_registry *reg = new_reg();
    sonde_store_opts o = all_parts(reg);
    sonde_store *s;
    CHECK_EQ_INT(sonde_store_new(&o, &s), SONDE_OK);
    sonde_db_query *q = (sonde_db_query *)1;
    CHECK_EQ_INT(sonde_store_query(s, "drop", "users", &q), SONDE_EUNLISTED);
    CHECK(q == NULL);
    CHECK_EQ_INT(sonde_store_query(s, "select", "secrets", &q), SONDE_EUNLISTED);
    CHECK_EQ_INT(sonde_store_query(s, "SELECT", "users", &q), SONDE_EUNLISTED); /* exact */
    sonde_cache *c = (sonde_cache *)1;
    CHECK_EQ_INT(sonde_store_cache(s, "user:42", &c), SONDE_EUNLISTED);
    CHECK(c == NULL);
    sonde_queue *wq = (sonde_queue *)1;
    CHECK_EQ_INT(sonde_store_queue(s, "nope", &wq), SONDE_EUNLISTED);
    CHECK(wq == NULL);
    CHECK_EQ_INT(sonde_store_query(s, NULL, "users", &q), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_store_query(s, "select", "users", NULL), SONDE_EINVAL);
    CHECK_EQ_STR(sonde_strerror(SONDE_EUNLISTED),
                 "label value not in the closed set registered up front");
    char *t = text(reg);
    CHECK_CONTAINS(t, "sonde_label_rejections_total{metric=\"db_queries\",reason=\"unregistered\"} 3\n");
    CHECK_CONTAINS(t, "sonde_label_rejections_total{metric=\"cache_hits\",reason=\"unregistered\"} 1\n");
    CHECK_CONTAINS(t, "sonde_label_rejections_total{metric=\"queue_jobs\",reason=\"unregistered\"} 1\n");
    /* nothing of the refused values was stored */
    CHECK(!strstr(t, "drop") && !strstr(t, "secrets") && !strstr(t, "user:42") &&
          !strstr(t, "nope"));
    CHECK(!strstr(t, "db_queries_total{")); /* no query recorded, no series made */
    free(t);
    sonde_store_free(s);
    sonde_registry_free(reg);
}

TEST(queries)
{
    sonde_registry *reg = new_reg();
    sonde_store_opts o = all_parts(reg);
    static const double b[] = {0.01, 0.1, 1};
    o.query_buckets = (sonde_buckets){b, 3};
    sonde_store *s;
    CHECK_EQ_INT(sonde_store_new(&o, &s), SONDE_OK);
    sonde_db_query *sel, *ins, *again;
    CHECK_EQ_INT(sonde_store_query(s, "select", "users", &sel), SONDE_OK);
    CHECK_EQ_INT(sonde_store_query(s, "insert", "orders", &ins), SONDE_OK);
    CHECK_EQ_INT(sonde_store_query(s, "select", "users", &again), SONDE_OK);
    CHECK(sel && ins && sel != ins && again == sel); /* one handle per pair, kept */

    fake_ns = 1000000000ull;
    sonde_set_clock(fake_mono, NULL, NULL);
    for (int i = 0; i < 3; i++) {
        sonde_db_call c = sonde_db_begin(sel);
        fake_ns += 5000000; /* 5 ms */
        sonde_db_end(&c, SONDE_STORE_OK);
        sonde_db_end(&c, SONDE_STORE_ERROR); /* second end: no-op */
    }
    sonde_db_call c = sonde_db_begin(ins);
    fake_ns += 250000000; /* 250 ms */
    sonde_db_end(&c, SONDE_STORE_ERROR);
    sonde_db_observe(ins, SONDE_STORE_TIMEOUT, 2.0);
    sonde_db_observe(ins, 42, 0.5);        /* out of range: error */
    sonde_db_observe(ins, SONDE_STORE_CANCELLED, NAN); /* counted, not observed */
    sonde_db_observe(ins, SONDE_STORE_CANCELLED, -1);  /* likewise */
    sonde_set_clock(NULL, NULL, NULL);
    sonde_db_end(NULL, SONDE_STORE_OK);

    char *t = text(reg);
    CHECK_CONTAINS(t, "# TYPE db_queries_total counter\n");
    CHECK_CONTAINS(t, "db_queries_total{operation=\"select\",table=\"users\",status=\"ok\"} 3\n");
    CHECK(!strstr(t, "db_queries_total{operation=\"select\",table=\"users\",status=\"error\"}"));
    CHECK_CONTAINS(t, "db_queries_total{operation=\"insert\",table=\"orders\",status=\"error\"} 2\n");
    CHECK_CONTAINS(t, "db_queries_total{operation=\"insert\",table=\"orders\",status=\"timeout\"} 1\n");
    CHECK_CONTAINS(t, "db_queries_total{operation=\"insert\",table=\"orders\",status=\"cancelled\"} 2\n");
    CHECK_CONTAINS(t, "db_query_duration_seconds_bucket{operation=\"select\",table=\"users\",le=\"0.01\"} 3\n");
    CHECK_CONTAINS(t, "db_query_duration_seconds_sum{operation=\"select\",table=\"users\"} 0.015\n");
    CHECK_CONTAINS(t, "db_query_duration_seconds_count{operation=\"select\",table=\"users\"} 3\n");
    CHECK_CONTAINS(t, "db_query_duration_seconds_bucket{operation=\"insert\",table=\"orders\",le=\"1\"} 2\n");
    CHECK_CONTAINS(t, "db_query_duration_seconds_sum{operation=\"insert\",table=\"orders\"} 2.75\n");
    CHECK_CONTAINS(t, "db_query_duration_seconds_count{operation=\"insert\",table=\"orders\"} 3\n");
    CHECK(!strstr(t, "operation=\"update\"")); /* a pair never looked up has no series */
    CHECK(!strstr(t, "db_connections_current{")); /* no pool reported */
    free(t);
    sonde_store_free(s);
    sonde_registry_free(reg);
}

TEST(connections)
{
    sonde_registry *reg = new_reg();
    sonde_store_opts o = {.registry = reg, .operations = ops, .operation_count = 1,
                          .tables = tables, .table_count = 1, .prefix = "app"};
    sonde_store *s;
    CHECK_EQ_INT(sonde_store_new(&o, &s), SONDE_OK);
    sonde_store_connections_set(s, 3, 1, 10);
    sonde_store_connections_set(s, 2, 2, -1); /* max as it was */
    sonde_store_connections_set(s, -1, 4, -1);
    char *t = text(reg);
    CHECK_CONTAINS(t, "app_db_connections_current{state=\"idle\"} 2\n");
    CHECK_CONTAINS(t, "app_db_connections_current{state=\"in_use\"} 4\n");
    CHECK_CONTAINS(t, "app_db_connections_current{state=\"max\"} 10\n");
    free(t);
    sonde_store_free(s);
    /* a store without a database part ignores the pool */
    o = (sonde_store_opts){.registry = reg, .caches = caches, .cache_count = 1, .prefix = "solo"};
    CHECK_EQ_INT(sonde_store_new(&o, &s), SONDE_OK);
    sonde_store_connections_set(s, 1, 1, 1);
    sonde_db_query *q = (sonde_db_query *)1;
    CHECK_EQ_INT(sonde_store_query(s, "select", "users", &q), SONDE_EUNLISTED);
    CHECK(q == NULL);
    t = text(reg);
    CHECK(!strstr(t, "solo_db_"));
    free(t);
    sonde_store_free(s);
    sonde_registry_free(reg);
}

TEST(cache_counts)
{
    sonde_registry *reg = new_reg();
    sonde_store_opts o = {.registry = reg, .caches = caches, .cache_count = 2};
    sonde_store *s;
    CHECK_EQ_INT(sonde_store_new(&o, &s), SONDE_OK);
    char *t = text(reg); /* every listed cache shows its zeros from the start */
    CHECK_CONTAINS(t, "cache_hits_total{cache=\"sessions\"} 0\n");
    CHECK_CONTAINS(t, "cache_misses_total{cache=\"pages\"} 0\n");
    CHECK_CONTAINS(t, "cache_evictions_total{cache=\"pages\"} 0\n");
    CHECK(!strstr(t, "cache_size_items{") && !strstr(t, "cache_size_bytes{"));
    free(t);
    sonde_cache *sess, *pages;
    CHECK_EQ_INT(sonde_store_cache(s, "sessions", &sess), SONDE_OK);
    CHECK_EQ_INT(sonde_store_cache(s, "pages", &pages), SONDE_OK);
    CHECK(sess && pages && sess != pages);
    for (int i = 0; i < 7; i++)
        sonde_cache_hit(sess);
    sonde_cache_miss(sess);
    sonde_cache_miss(sess);
    sonde_cache_evicted(pages, 5);
    sonde_cache_evicted(pages, 0);
    sonde_cache_size_set(sess, 120, -1); /* bytes unknown: no bytes series */
    sonde_cache_size_set(pages, 40, 1 << 20);
    sonde_cache_size_set(pages, -1, 3 << 20);
    t = text(reg);
    CHECK_CONTAINS(t, "cache_hits_total{cache=\"sessions\"} 7\n");
    CHECK_CONTAINS(t, "cache_misses_total{cache=\"sessions\"} 2\n");
    CHECK_CONTAINS(t, "cache_evictions_total{cache=\"pages\"} 5\n");
    CHECK_CONTAINS(t, "# TYPE cache_size_items gauge\n");
    CHECK_CONTAINS(t, "cache_size_items{cache=\"sessions\"} 120\n");
    CHECK_CONTAINS(t, "cache_size_items{cache=\"pages\"} 40\n");
    CHECK_CONTAINS(t, "cache_size_bytes{cache=\"pages\"} 3145728\n");
    CHECK(!strstr(t, "cache_size_bytes{cache=\"sessions\"}"));
    CHECK(!strstr(t, "db_") && !strstr(t, "queue_")); /* only the parts named */
    free(t);
    sonde_store_free(s);
    sonde_registry_free(reg);
}

TEST(queue_jobs)
{
    sonde_registry *reg = new_reg();
    static const double b[] = {0.1, 1, 10};
    sonde_store_opts o = {.registry = reg, .queues = queues, .queue_count = 2,
                          .wait_buckets = {b, 3}};
    sonde_store *s;
    CHECK_EQ_INT(sonde_store_new(&o, &s), SONDE_OK);
    sonde_queue *email, *render;
    CHECK_EQ_INT(sonde_store_queue(s, "email", &email), SONDE_OK);
    CHECK_EQ_INT(sonde_store_queue(s, "render", &render), SONDE_OK);
    fake_ns = 7000000000ull;
    sonde_set_clock(fake_mono, NULL, NULL);
    sonde_queue_job jobs[4];
    for (int i = 0; i < 4; i++)
        jobs[i] = sonde_queue_enqueue(email);
    char *t = text(reg);
    CHECK_CONTAINS(t, "queue_depth{queue=\"email\"} 4\n");
    CHECK_CONTAINS(t, "queue_depth{queue=\"render\"} 0\n");
    free(t);
    fake_ns += 500000000; /* 0.5 s */
    sonde_queue_start(&jobs[0]);
    sonde_queue_start(&jobs[0]); /* second start: no-op */
    fake_ns += 1500000000;       /* 2 s after enqueue */
    sonde_queue_start(&jobs[1]);
    sonde_queue_end(&jobs[0], SONDE_STORE_OK);
    sonde_queue_end(&jobs[0], SONDE_STORE_ERROR); /* second end: no-op */
    sonde_queue_end(&jobs[1], SONDE_STORE_TIMEOUT);
    sonde_queue_end(&jobs[2], SONDE_STORE_CANCELLED); /* still waiting: leaves, no wait */
    sonde_set_clock(NULL, NULL, NULL);
    sonde_queue_observe(render, SONDE_STORE_OK, 0.05);
    sonde_queue_observe(render, SONDE_STORE_OK, NAN); /* counted, not observed */
    t = text(reg);
    CHECK_CONTAINS(t, "queue_depth{queue=\"email\"} 1\n");
    CHECK_CONTAINS(t, "queue_wait_seconds_bucket{queue=\"email\",le=\"1\"} 1\n");
    CHECK_CONTAINS(t, "queue_wait_seconds_bucket{queue=\"email\",le=\"10\"} 2\n");
    CHECK_CONTAINS(t, "queue_wait_seconds_sum{queue=\"email\"} 2.5\n");
    CHECK_CONTAINS(t, "queue_wait_seconds_count{queue=\"email\"} 2\n");
    CHECK_CONTAINS(t, "queue_jobs_total{queue=\"email\",status=\"ok\"} 1\n");
    CHECK_CONTAINS(t, "queue_jobs_total{queue=\"email\",status=\"timeout\"} 1\n");
    CHECK_CONTAINS(t, "queue_jobs_total{queue=\"email\",status=\"cancelled\"} 1\n");
    CHECK(!strstr(t, "queue_jobs_total{queue=\"email\",status=\"error\"}"));
    CHECK_CONTAINS(t, "queue_jobs_total{queue=\"render\",status=\"ok\"} 2\n");
    CHECK_CONTAINS(t, "queue_wait_seconds_count{queue=\"render\"} 1\n");
    CHECK_CONTAINS(t, "queue_depth{queue=\"render\"} 0\n"); /* observe leaves the depth */
    free(t);
    sonde_queue_depth_set(render, 17);
    sonde_queue_end(&jobs[3], SONDE_STORE_OK); /* ended unstarted */
    t = text(reg);
    CHECK_CONTAINS(t, "queue_depth{queue=\"render\"} 17\n");
    CHECK_CONTAINS(t, "queue_depth{queue=\"email\"} 0\n");
    CHECK_CONTAINS(t, "queue_jobs_total{queue=\"email\",status=\"ok\"} 2\n");
    free(t);
    sonde_store_free(s);
    sonde_registry_free(reg);
}

TEST(status_names)
{
    CHECK_EQ_STR(sonde_store_status_name(SONDE_STORE_OK), "ok");
    CHECK_EQ_STR(sonde_store_status_name(SONDE_STORE_ERROR), "error");
    CHECK_EQ_STR(sonde_store_status_name(SONDE_STORE_TIMEOUT), "timeout");
    CHECK_EQ_STR(sonde_store_status_name(SONDE_STORE_CANCELLED), "cancelled");
    CHECK_EQ_STR(sonde_store_status_name(SONDE_STORE_STATUS_COUNT), "error");
    CHECK_EQ_STR(sonde_store_status_name(-1), "error");
}

TEST(shared_families)
{
    sonde_registry *reg = new_reg();
    sonde_store_opts o = {.registry = reg, .caches = caches, .cache_count = 1, .prefix = "svc"};
    sonde_store *a, *b;
    CHECK_EQ_INT(sonde_store_new(&o, &a), SONDE_OK);
    CHECK_EQ_INT(sonde_store_new(&o, &b), SONDE_OK); /* a reload: same families */
    sonde_cache *ca, *cb;
    CHECK_EQ_INT(sonde_store_cache(a, "sessions", &ca), SONDE_OK);
    CHECK_EQ_INT(sonde_store_cache(b, "sessions", &cb), SONDE_OK);
    sonde_cache_hit(ca);
    sonde_cache_hit(cb);
    sonde_store_free(a);
    char *t = text(reg);
    CHECK_CONTAINS(t, "svc_cache_hits_total{cache=\"sessions\"} 2\n");
    free(t);
    /* while a store owns its families they cannot be unregistered behind its back */
    CHECK_EQ_INT(sonde_unregister(sonde_registry_find(reg, "svc_cache_hits_total")), SONDE_EBUSY);
    sonde_store_free(b);
    /* a family of that name with another shape is refused */
    sonde_counter *not_gauge;
    CHECK_EQ_INT(sonde_counter_new(reg, "x_queue_depth", "not a gauge", &not_gauge), SONDE_OK);
    o = (sonde_store_opts){.registry = reg, .queues = queues, .queue_count = 1, .prefix = "x"};
    CHECK_EQ_INT(sonde_store_new(&o, &a), SONDE_ETYPE);
    CHECK(a == NULL);
    sonde_registry_free(reg);
}

TEST(null_store_is_off)
{
    sonde_db_query *q = (sonde_db_query *)1;
    CHECK_EQ_INT(sonde_store_query(NULL, "select", "users", &q), SONDE_OK);
    CHECK(q == NULL);
    sonde_db_call c = sonde_db_begin(q);
    sonde_db_end(&c, SONDE_STORE_OK);
    sonde_queue_job j = sonde_queue_enqueue(NULL);
    sonde_queue_start(&j);
    sonde_queue_end(&j, SONDE_STORE_OK);
    CHECK(j.queue_ == NULL);
}

int main(void)
{
    RUN(options_refused);
    RUN(unregistered_names);
    RUN(queries);
    RUN(connections);
    RUN(cache_counts);
    RUN(queue_jobs);
    RUN(status_names);
    RUN(shared_families);
    RUN(null_store_is_off);
    return check_report();
}
