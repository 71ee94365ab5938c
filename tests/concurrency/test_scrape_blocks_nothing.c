/*
 * test_scrape_blocks_nothing.c - a scrape stopped in the middle of its work
 * holds nothing that the rest of the library waits for.
 *
 * Four ways to stop a scrape mid-render, each until another thread has made
 * progress: the caller's write callback (called when the first 64 KiB of a
 * larger exposition are ready, where the embedded server gzips; and again
 * when it writes the collectors' output, while collectors are added and
 * removed), a custom collector, and a scrape-time value callback. While it is stopped, the
 * other thread registers a family, creates series, removes and clears
 * series of the very family the scrape is walking, unregisters a family the
 * scrape has yet to render, starts a thread that updates a counter and exits,
 * and runs a whole second scrape. Only then is the scrape let go; it must
 * finish with well-formed output (and, under ASan, without touching the
 * children removed under it).
 *
 * This is a test of progress, not of time: the stopped callback waits for the
 * other thread's signal. Should the scrape block it, the other thread never
 * signals; the callback then gives up after a deadlock guard of a minute and
 * the test fails (it does not hang).
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "sonde/sonde.h"

enum { CHILDREN = 3000 };

typedef struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stopped;  /* the scrape reached its stop */
    int progress; /* the other thread did everything while it was stopped */
    int gave_up;  /* the deadlock guard fired */
} gate;

static gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0};

static void gate_reset(void)
{
    g.stopped = g.progress = g.gave_up = 0;
}

/* In the scrape: announce the stop, wait for the other thread's progress. */
static void gate_stop(void)
{
    pthread_mutex_lock(&g.lock);
    g.stopped = 1;
    pthread_cond_broadcast(&g.cond);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 60;
    while (!g.progress && !g.gave_up)
        if (pthread_cond_timedwait(&g.cond, &g.lock, &until) == ETIMEDOUT)
            g.gave_up = 1;
    pthread_mutex_unlock(&g.lock);
}

static void gate_wait_stopped(void)
{
    pthread_mutex_lock(&g.lock);
    while (!g.stopped)
        pthread_cond_wait(&g.cond, &g.lock);
    pthread_mutex_unlock(&g.lock);
}

static void gate_release(void)
{
    pthread_mutex_lock(&g.lock);
    g.progress = 1;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
}

typedef struct sink {
    char *buf;
    size_t len, cap;
    int writes;
    int stop_at_first;
    const char *stop_at_text; /* stop at the write that holds this text */
} sink;

static int sink_write(void *ud, const char *data, size_t len)
{
    sink *s = ud;
    if ((s->stop_at_first && s->writes == 0) ||
        (s->stop_at_text && memmem(data, len, s->stop_at_text, strlen(s->stop_at_text))))
        gate_stop();
    s->writes++;
    if (s->len + len + 1 > s->cap) {
        s->cap = 2 * (s->len + len + 1);
        s->buf = realloc(s->buf, s->cap);
    }
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    s->buf[s->len] = '\0';
    return 0;
}

typedef struct scrape {
    sonde_registry *reg;
    sink out;
    int rc;
} scrape;

static void *scrape_thread(void *arg)
{
    scrape *s = arg;
    s->rc = sonde_expose(s->reg, SONDE_FORMAT_TEXT, sink_write, &s->out);
    return NULL;
}

static void *counting_thread(void *arg)
{
    sonde_counter_inc(arg); /* a thread's first update creates its cells, its exit folds them */
    return NULL;
}

static int quiet_collector(sonde_emitter *e, void *ud)
{
    return 0;
}

static sonde_registry *new_registry(void)
{
    sonde_registry *r;
    CHECK_EQ_INT(sonde_registry_new(NULL, &r), SONDE_OK);
    return r;
}

static sonde_metric *labelled(sonde_registry *r, sonde_type type, const char *name)
{
    static const char *const label[] = {"path"};
    sonde_metric_opts o = {.type = type, .name = name, .help = "h", .label_names = label,
                           .label_count = 1};
    sonde_metric *m = NULL;
    CHECK_EQ_INT(sonde_register(r, &o, &m), SONDE_OK);
    return m;
}

/* What another thread does while a scrape is stopped; every step must return. */
static void make_progress(sonde_registry *r, sonde_metric *walked, sonde_metric *later)
{
    sonde_metric *fresh = labelled(r, SONDE_COUNTER, "registered_during_scrape_total");
    CHECK(fresh != NULL);
    sonde_counter_inc(sonde_counter_with(fresh, (const char *[]){"/new"}));
    if (walked) {
        sonde_counter_inc(sonde_counter_with(walked, (const char *[]){"/created/during/scrape"}));
        CHECK_EQ_INT(sonde_metric_remove(walked, (const char *[]){"/items/2999"}), SONDE_OK);
        CHECK_EQ_INT(sonde_metric_clear(walked), SONDE_OK);
    }
    if (later)
        CHECK_EQ_INT(sonde_unregister(later), SONDE_OK);
    pthread_t t;
    sonde_counter *c = sonde_counter_with(fresh, (const char *[]){"/from/a/thread"});
    CHECK_EQ_INT(pthread_create(&t, NULL, counting_thread, c), 0);
    CHECK_EQ_INT(pthread_join(t, NULL), 0);
    char *second = sonde_expose_alloc(r, SONDE_FORMAT_TEXT, NULL);
    CHECK(second && strstr(second, "registered_during_scrape_total{path=\"/from/a/thread\"} 1\n"));
    free(second);
}

TEST(a_write_callback_stopped_mid_render)
{
    gate_reset();
    sonde_registry *r = new_registry();
    sonde_metric *big = labelled(r, SONDE_COUNTER, "big_total");
    sonde_metric *zlater = labelled(r, SONDE_HISTOGRAM, "zz_rendered_later");
    char path[64];
    for (int i = 0; i < CHILDREN; i++) {
        snprintf(path, sizeof path, "/items/%d", i);
        sonde_counter_add(sonde_counter_with(big, (const char *[]){path}), i);
    }
    sonde_histogram_observe(sonde_histogram_with(zlater, (const char *[]){"/h"}), 0.2);

    scrape s = {.reg = r, .out = {.stop_at_first = 1}};
    pthread_t t;
    CHECK_EQ_INT(pthread_create(&t, NULL, scrape_thread, &s), 0);
    gate_wait_stopped(); /* 64 KiB of big_total are out: the scrape is inside that family */
    make_progress(r, big, zlater);
    gate_release();
    CHECK_EQ_INT(pthread_join(t, NULL), 0);

    CHECK(!g.gave_up);
    CHECK_EQ_INT(s.rc, SONDE_OK);
    CHECK(s.out.writes >= 2); /* it was stopped with more to write */
    CHECK(s.out.len > 65536);
    /* the families of the moment the scrape began, whole, in order */
    CHECK(s.out.buf && strncmp(s.out.buf, "# HELP big_total h\n# TYPE big_total counter\n"
                                          "big_total{path=\"/items/0\"} 0\n", 70) == 0);
    CHECK(strstr(s.out.buf, "big_total{path=\"/items/2998\"} 2998\n"));
    CHECK(strstr(s.out.buf, "zz_rendered_later_count{path=\"/h\"} 1\n"));
    CHECK(!strstr(s.out.buf, "registered_during_scrape"));
    /* (whether "/created/during/scrape" shows is open: it took the place of /items/2999,
     * removed before the walk reached it) */
    /* what happened meanwhile shows in the next scrape */
    char *next = sonde_expose_alloc(r, SONDE_FORMAT_TEXT, NULL);
    CHECK(next && !strstr(next, "big_total{") && !strstr(next, "zz_rendered_later"));
    CHECK(next && strstr(next, "registered_during_scrape_total{path=\"/new\"} 1\n"));
    free(next);
    free(s.out.buf);
    sonde_registry_free(r);
}

/* A scrape shows the children a family had when it got there: one created while it is
 * stopped inside that family (and none removed) waits for the next scrape. */
TEST(a_series_created_mid_family_waits_for_the_next_scrape)
{
    gate_reset();
    sonde_registry *r = new_registry();
    sonde_metric *big = labelled(r, SONDE_COUNTER, "big_total");
    char path[64];
    for (int i = 0; i < CHILDREN; i++) {
        snprintf(path, sizeof path, "/items/%d", i);
        sonde_counter_inc(sonde_counter_with(big, (const char *[]){path}));
    }
    scrape s = {.reg = r, .out = {.stop_at_first = 1}};
    pthread_t t;
    CHECK_EQ_INT(pthread_create(&t, NULL, scrape_thread, &s), 0);
    gate_wait_stopped();
    sonde_counter_inc(sonde_counter_with(big, (const char *[]){"/created/during/scrape"}));
    gate_release();
    CHECK_EQ_INT(pthread_join(t, NULL), 0);
    CHECK(!g.gave_up);
    CHECK(s.out.buf && strstr(s.out.buf, "big_total{path=\"/items/2999\"} 1\n"));
    CHECK(s.out.buf && !strstr(s.out.buf, "/created/during/scrape"));
    char *next = sonde_expose_alloc(r, SONDE_FORMAT_TEXT, NULL);
    CHECK(next && strstr(next, "big_total{path=\"/items/2999\"} 1\n"
                               "big_total{path=\"/created/during/scrape\"} 1\n"));
    free(next);
    free(s.out.buf);
    sonde_registry_free(r);
}

static int stopping_collector(sonde_emitter *e, void *ud)
{
    gate_stop();
    CHECK_EQ_INT(sonde_emit_family(e, "collected", "h", SONDE_GAUGE, NULL), SONDE_OK);
    CHECK_EQ_INT(sonde_emit_sample(e, NULL, NULL, 0, 7), SONDE_OK);
    return 0;
}

TEST(a_collector_stopped_mid_scrape)
{
    gate_reset();
    sonde_registry *r = new_registry();
    sonde_metric *m = labelled(r, SONDE_COUNTER, "existing_total");
    sonde_counter_inc(sonde_counter_with(m, (const char *[]){"/a"}));
    CHECK_EQ_INT(sonde_collector_add(r, "stopper", stopping_collector, NULL, NULL), SONDE_OK);

    scrape s = {.reg = r};
    pthread_t t;
    CHECK_EQ_INT(pthread_create(&t, NULL, scrape_thread, &s), 0);
    gate_wait_stopped();
    /* the stopped collector holds only the collector lock (another scrape would wait for
     * its own collector turn, so none is run here) */
    sonde_metric *fresh = labelled(r, SONDE_COUNTER, "registered_during_scrape_total");
    sonde_counter_inc(sonde_counter_with(fresh, (const char *[]){"/new"}));
    sonde_counter_inc(sonde_counter_with(m, (const char *[]){"/b"}));
    CHECK_EQ_INT(sonde_metric_clear(m), SONDE_OK);
    pthread_t c;
    CHECK_EQ_INT(pthread_create(&c, NULL, counting_thread, sonde_counter_with(fresh, (const char *[]){"/t"})), 0);
    CHECK_EQ_INT(pthread_join(c, NULL), 0);
    gate_release();
    CHECK_EQ_INT(pthread_join(t, NULL), 0);

    CHECK(!g.gave_up);
    CHECK_EQ_INT(s.rc, SONDE_OK);
    CHECK(s.out.buf && strstr(s.out.buf, "existing_total{path=\"/a\"} 1\n# HELP collected h\n"
                                         "# TYPE collected gauge\ncollected 7\n"));
    free(s.out.buf);
    sonde_registry_free(r);
}

static int emitting_collector(sonde_emitter *e, void *ud)
{
    CHECK_EQ_INT(sonde_emit_family(e, "collected", "h", SONDE_GAUGE, NULL), SONDE_OK);
    CHECK_EQ_INT(sonde_emit_sample(e, NULL, NULL, 0, 7), SONDE_OK);
    return 0;
}

/* Collector output is written after the collector lock is released. */
TEST(a_write_of_collector_output_stopped)
{
    gate_reset();
    sonde_registry *r = new_registry();
    CHECK_EQ_INT(sonde_collector_add(r, "emitter", emitting_collector, NULL, NULL), SONDE_OK);
    scrape s = {.reg = r, .out = {.stop_at_text = "# HELP collected"}};
    pthread_t t;
    CHECK_EQ_INT(pthread_create(&t, NULL, scrape_thread, &s), 0);
    gate_wait_stopped();
    sonde_collector *c;
    CHECK_EQ_INT(sonde_collector_add(r, "quiet", quiet_collector, NULL, &c), SONDE_OK);
    CHECK_EQ_INT(sonde_collector_remove(r, c), SONDE_OK);
    gate_release();
    CHECK_EQ_INT(pthread_join(t, NULL), 0);
    CHECK(!g.gave_up);
    CHECK_EQ_INT(s.rc, SONDE_OK);
    CHECK(s.out.buf && strcmp(s.out.buf, "# HELP collected h\n# TYPE collected gauge\ncollected 7\n") == 0);
    free(s.out.buf);
    sonde_registry_free(r);
}

static double stopping_value(void *ud)
{
    gate_stop();
    return 42;
}

TEST(a_scrape_time_value_stopped_mid_scrape)
{
    gate_reset();
    sonde_registry *r = new_registry();
    sonde_metric *walked = labelled(r, SONDE_COUNTER, "a_walked_total");
    sonde_counter_inc(sonde_counter_with(walked, (const char *[]){"/a"}));
    sonde_metric_opts o = {.type = SONDE_GAUGE, .name = "m_value", .help = "h"};
    sonde_metric *fn;
    CHECK_EQ_INT(sonde_register_func(r, &o, stopping_value, NULL, &fn), SONDE_OK);
    sonde_metric *later = labelled(r, SONDE_GAUGE, "z_later");
    sonde_gauge_set(sonde_gauge_with(later, (const char *[]){"/z"}), 1);

    scrape s = {.reg = r};
    pthread_t t;
    CHECK_EQ_INT(pthread_create(&t, NULL, scrape_thread, &s), 0);
    gate_wait_stopped();
    sonde_metric *fresh = labelled(r, SONDE_COUNTER, "registered_during_scrape_total");
    sonde_counter_inc(sonde_counter_with(fresh, (const char *[]){"/new"}));
    CHECK_EQ_INT(sonde_metric_clear(walked), SONDE_OK);
    CHECK_EQ_INT(sonde_unregister(later), SONDE_OK);
    pthread_t c;
    CHECK_EQ_INT(pthread_create(&c, NULL, counting_thread, sonde_counter_with(fresh, (const char *[]){"/t"})), 0);
    CHECK_EQ_INT(pthread_join(c, NULL), 0);
    gate_release();
    CHECK_EQ_INT(pthread_join(t, NULL), 0);

    CHECK(!g.gave_up);
    CHECK_EQ_INT(s.rc, SONDE_OK);
    CHECK(s.out.buf && strstr(s.out.buf, "a_walked_total{path=\"/a\"} 1\n"));
    CHECK(s.out.buf && strstr(s.out.buf, "# TYPE m_value gauge\nm_value 42\n# HELP z_later h\n"));
    free(s.out.buf);
    sonde_registry_free(r);
}

int main(void)
{
    RUN(a_write_callback_stopped_mid_render);
    RUN(a_series_created_mid_family_waits_for_the_next_scrape);
    RUN(a_collector_stopped_mid_scrape);
    RUN(a_write_of_collector_output_stopped);
    RUN(a_scrape_time_value_stopped_mid_scrape);
    return check_report();
}
