/*
 * test_trace_threads.c - spans and logs from many threads at once (run under
 * TSan by `make test-tsan`): 4 threads end 20,000 spans each into a queue of
 * 256 while the exporter is slow, so the queue is often full. Every span is
 * accounted for exactly once (exported + dropped{queue_full} + dropped
 * {shutdown} == spans ended), the exporter never sees a span twice or a
 * span of a foreign trace, and each thread's parent/child links hold (the
 * thread's current span is per thread). Logs written from the same threads
 * are all counted. Unsampled spans begun on one thread and ended on another
 * that exits (an event loop's timer thread) are freed with that thread
 * (LeakSanitizer reports them otherwise). Each thread queues into a ring of
 * its own: short-lived threads that exit with spans still queued hand them
 * over (all exported on the next flush, the room they had reserved under
 * OTEL_BSP_MAX_QUEUE_SIZE given back, so the bound is exact again; a thread
 * that exits with its ring empty leaves it to the next thread), and a
 * thread whose tracer is freed lets go of its ring when it ends spans of
 * another tracer (LeakSanitizer reports a leaked ring otherwise). A steady
 * stream wakes the export thread as the queue fills (not only its schedule
 * delay): it is exported while it flows, in batches, nothing lost.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "sonde/sonde.h"

#define THREADS 4
#define PER_THREAD 20000

typedef struct counts {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t exported, children_ok, children_bad;
    int hold, held; /* hold: count_export waits (held) until it is cleared */
} counts;

static int slow_export(void *ud, const sonde_span *const *spans, size_t n, uint64_t deadline_ns,
                       size_t *rejected)
{
    (void)deadline_ns;
    (void)rejected;
    counts *c = ud;
    struct timespec ts = {0, 200000}; /* 0.2 ms per batch: the queue fills now and then */
    nanosleep(&ts, NULL);
    pthread_mutex_lock(&c->mu);
    c->exported += n;
    for (size_t i = 0; i < n; i++) {
        uint8_t parent[8];
        if (sonde_span_parent_id(spans[i], parent)) {
            /* children are named after their thread, their parent is that thread's root */
            const char *name = sonde_span_name(spans[i]);
            if (strncmp(name, "child-", 6) == 0)
                c->children_ok++;
            else
                c->children_bad++;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return SONDE_OK;
}

typedef struct worker {
    sonde_tracer *t;
    sonde_logger *lg;
    int index;
    size_t ended;
    int links_ok;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    w->links_ok = 1;
    for (int i = 0; i < PER_THREAD / 2; i++) {
        sonde_span *root = sonde_span_start(w->t, "root", SONDE_SPAN_SERVER, NULL);
        sonde_span *prev = sonde_span_enter(root);
        char name[32];
        snprintf(name, sizeof name, "child-%d", w->index);
        sonde_span *child = sonde_span_start(w->t, name, SONDE_SPAN_CLIENT, NULL);
        sonde_span_set_int(child, "i", i);
        sonde_span_context rc, cc;
        sonde_span_get_context(root, &rc);
        sonde_span_get_context(child, &cc);
        uint8_t parent[8];
        if (!sonde_span_parent_id(child, parent) || memcmp(parent, rc.span_id, 8) != 0 ||
            memcmp(cc.trace_id, rc.trace_id, 16) != 0)
            w->links_ok = 0;
        if (i % 1000 == 0)
            sonde_log(w->lg, SONDE_LOG_INFO, "progress", NULL, 0);
        sonde_span_end(child);
        sonde_span_exit(prev);
        sonde_span_end(root);
        w->ended += 2;
    }
    return NULL;
}

TEST(many_threads_account_for_every_span)
{
    counts c;
    memset(&c, 0, sizeof c);
    pthread_mutex_init(&c.mu, NULL);
    sonde_logger_opts lo;
    sonde_logger_opts_init(&lo);
    lo.read_env = 0;
    lo.path = "";
    lo.rate_per_sec = -1;
    sonde_logger *lg;
    CHECK_EQ_INT(sonde_logger_new(&lo, &lg), SONDE_OK);
    sonde_tracer_opts o;
    sonde_tracer_opts_init(&o);
    o.read_env = 0;
    o.max_queue_size = 256;
    o.max_export_batch_size = 64;
    o.schedule_delay_ms = 5;
    o.exporter = (sonde_span_exporter){slow_export, NULL, &c};
    sonde_tracer *t;
    CHECK_EQ_INT(sonde_tracer_new(&o, &t), SONDE_OK);
    pthread_t th[THREADS];
    worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){.t = t, .lg = lg, .index = i};
        pthread_create(&th[i], NULL, work, &w[i]);
    }
    size_t ended = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        ended += w[i].ended;
        CHECK(w[i].links_ok);
    }
    CHECK_EQ_INT(ended, (size_t)THREADS * PER_THREAD);
    CHECK_EQ_INT(sonde_tracer_flush(t, 60000), SONDE_OK);
    sonde_tracer_stats st;
    sonde_tracer_stats_get(t, &st);
    pthread_mutex_lock(&c.mu);
    CHECK_EQ_INT(st.exported, c.exported);
    CHECK_EQ_INT(c.children_bad, 0);
    pthread_mutex_unlock(&c.mu);
    CHECK_EQ_INT(st.exported + st.dropped_queue_full + st.dropped_shutdown, ended);
    sonde_tracer_free(t, 10000);
    sonde_log_stats ls;
    sonde_logger_stats_get(lg, &ls);
    CHECK_EQ_INT(ls.written, THREADS * (PER_THREAD / 2 / 1000));
    sonde_logger_free(lg, 0);
}

static void *end_all(void *arg)
{
    sonde_span **spans = arg;
    for (int i = 0; i < 100; i++) sonde_span_end(spans[i]);
    return NULL;
}

TEST(unsampled_spans_ended_by_an_exiting_thread)
{
    sonde_tracer_opts o;
    sonde_tracer_opts_init(&o);
    o.read_env = 0;
    o.sampler = SONDE_SAMPLER_ALWAYS_OFF;
    sonde_tracer *t;
    CHECK_EQ_INT(sonde_tracer_new(&o, &t), SONDE_OK);
    sonde_span *spans[100];
    for (int i = 0; i < 100; i++) spans[i] = sonde_span_start(t, "x", SONDE_SPAN_CLIENT, NULL);
    pthread_t th;
    CHECK_EQ_INT(pthread_create(&th, NULL, end_all, spans), 0); /* it only ends spans */
    pthread_join(th, NULL);
    sonde_tracer_free(t, 0);
}

static int count_export(void *ud, const sonde_span *const *spans, size_t n, uint64_t deadline_ns,
                        size_t *rejected)
{
    (void)spans, (void)deadline_ns, (void)rejected;
    counts *c = ud;
    pthread_mutex_lock(&c->mu);
    c->held = c->hold;
    pthread_cond_broadcast(&c->cv);
    while (c->hold)
        pthread_cond_wait(&c->cv, &c->mu);
    c->exported += n;
    pthread_mutex_unlock(&c->mu);
    return SONDE_OK;
}

static size_t exported_of(counts *c)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->exported;
    pthread_mutex_unlock(&c->mu);
    return n;
}

static sonde_tracer *counting_tracer(counts *c, long queue)
{
    sonde_tracer_opts o;
    sonde_tracer_opts_init(&o);
    o.read_env = 0;
    o.max_queue_size = queue;
    o.schedule_delay_ms = 3600000; /* only a full batch or a flush exports */
    o.exporter = (sonde_span_exporter){count_export, NULL, c};
    sonde_tracer *t = NULL;
    sonde_tracer_new(&o, &t);
    return t;
}

typedef struct burst {
    sonde_tracer *t;
    int n;
} burst;

static void *end_burst(void *arg)
{
    burst *b = arg;
    for (int i = 0; i < b->n; i++)
        sonde_span_end(sonde_span_start(b->t, "short", SONDE_SPAN_INTERNAL, NULL));
    return NULL;
}

/* Ends its spans and flushes: it exits with its ring empty, for the next thread to take over. */
static void *end_burst_flushed(void *arg)
{
    end_burst(arg);
    sonde_tracer_flush(((burst *)arg)->t, 10000);
    return NULL;
}

TEST(exiting_threads_hand_over_their_queue)
{
    counts c;
    memset(&c, 0, sizeof c);
    pthread_mutex_init(&c.mu, NULL);
    pthread_cond_init(&c.cv, NULL);
    /* a queue of 64: each thread reserves room 2 spans at a time */
    sonde_tracer *t = counting_tracer(&c, 64);
    CHECK(t != NULL);
    burst b = {t, 1}; /* each exits holding one span queued and one reserved */
    for (int i = 0; i < 8; i++) {
        pthread_t th[2];
        for (int k = 0; k < 2; k++)
            CHECK_EQ_INT(pthread_create(&th[k], NULL, end_burst, &b), 0);
        for (int k = 0; k < 2; k++)
            pthread_join(th[k], NULL);
    }
    CHECK_EQ_INT(sonde_tracer_flush(t, 10000), SONDE_OK);
    CHECK_EQ_INT(exported_of(&c), 16);
    /* threads one after another, each exiting with its ring empty: the next takes it over,
     * with the room it had reserved */
    b.n = 3;
    for (int i = 0; i < 4; i++) {
        pthread_t th;
        CHECK_EQ_INT(pthread_create(&th, NULL, i % 2 ? end_burst : end_burst_flushed, &b), 0);
        pthread_join(th, NULL);
    }
    CHECK_EQ_INT(sonde_tracer_flush(t, 10000), SONDE_OK);
    CHECK_EQ_INT(exported_of(&c), 16 + 12);
    /* the exited threads' rings are drained and their room given back: 64 fit again, the
     * 65th is dropped (the exporter, held in the export of one span, takes none meanwhile) */
    pthread_mutex_lock(&c.mu);
    c.hold = 1;
    pthread_mutex_unlock(&c.mu);
    b.n = 1;
    end_burst(&b);
    sonde_tracer_flush(t, 0); /* asks for the export, which is held */
    pthread_mutex_lock(&c.mu);
    while (!c.held)
        pthread_cond_wait(&c.cv, &c.mu);
    pthread_mutex_unlock(&c.mu);
    b.n = 65;
    end_burst(&b);
    sonde_tracer_stats st;
    sonde_tracer_stats_get(t, &st);
    CHECK_EQ_INT(st.dropped_queue_full, 1);
    pthread_mutex_lock(&c.mu);
    c.hold = 0;
    pthread_cond_broadcast(&c.cv);
    pthread_mutex_unlock(&c.mu);
    CHECK_EQ_INT(sonde_tracer_flush(t, 10000), SONDE_OK);
    CHECK_EQ_INT(exported_of(&c), 16 + 12 + 1 + 64);
    sonde_tracer_free(t, 10000);
}

typedef struct stream {
    pthread_mutex_t mu;
    size_t batch_max, exported, while_flowing, full_batches, oversized;
    int flowing;
} stream;

static int stream_export(void *ud, const sonde_span *const *spans, size_t n, uint64_t deadline_ns,
                         size_t *rejected)
{
    (void)spans, (void)deadline_ns, (void)rejected;
    stream *c = ud;
    pthread_mutex_lock(&c->mu);
    c->exported += n;
    c->while_flowing += c->flowing ? n : 0;
    c->full_batches += n == c->batch_max;
    c->oversized += n > c->batch_max;
    pthread_mutex_unlock(&c->mu);
    return SONDE_OK;
}

/* 2000 spans, 4 a millisecond, into a queue of 512 (woken at 384 queued: 128 spans, 32 ms of
 * the stream, to spare) exported in batches of at most batch_max. */
static void stream_through(long batch_max)
{
    stream c = {PTHREAD_MUTEX_INITIALIZER, (size_t)batch_max, 0, 0, 0, 0, 1};
    sonde_tracer_opts o;
    sonde_tracer_opts_init(&o);
    o.read_env = 0;
    o.max_queue_size = 512;
    o.max_export_batch_size = batch_max;
    o.schedule_delay_ms = 3600000;
    o.exporter = (sonde_span_exporter){stream_export, NULL, &c};
    sonde_tracer *t;
    CHECK_EQ_INT(sonde_tracer_new(&o, &t), SONDE_OK);
    enum { SPANS = 2000 };
    for (int i = 0; i < SPANS; i++) {
        sonde_span *s = sonde_span_start(t, "flow", SONDE_SPAN_INTERNAL, NULL);
        sonde_span_set_int(s, "i", i);
        sonde_span_end(s);
        if (i % 4 == 3) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
    }
    pthread_mutex_lock(&c.mu);
    c.flowing = 0;
    size_t during = c.while_flowing;
    pthread_mutex_unlock(&c.mu);
    CHECK(during >= SPANS - 512); /* what was still queued at the end: less than the queue */
    CHECK_EQ_INT(sonde_tracer_flush(t, 10000), SONDE_OK);
    sonde_tracer_stats st;
    sonde_tracer_stats_get(t, &st);
    CHECK_EQ_INT(st.dropped_queue_full, 0);
    CHECK_EQ_INT(st.exported, SPANS);
    pthread_mutex_lock(&c.mu);
    CHECK_EQ_INT(c.exported, SPANS);
    CHECK_EQ_INT(c.oversized, 0);
    if (batch_max < 384)
        CHECK(c.full_batches > 0);
    pthread_mutex_unlock(&c.mu);
    sonde_tracer_free(t, 10000);
}

/* A steady stream, slower than the exporter: the producer wakes the export thread when the
 * queue is 3/4 full (the schedule delay never comes), so it is exported while it flows, in
 * batches of at most the batch size, and none is lost; also when the batch size is the
 * queue's, which a wake never waits for. */
TEST(a_stream_is_exported_as_it_flows)
{
    stream_through(64);
    stream_through(512);
}

typedef struct two_tracers {
    sonde_tracer *first, *second;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int step; /* 1: the first's spans ended; 2: the first freed */
} two_tracers;

static void *outlive_tracer(void *arg)
{
    two_tracers *w = arg;
    end_burst(&(burst){w->first, 10});
    pthread_mutex_lock(&w->mu);
    w->step = 1;
    pthread_cond_broadcast(&w->cv);
    while (w->step < 2)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    end_burst(&(burst){w->second, 10});
    return NULL;
}

TEST(a_thread_outlives_its_tracer)
{
    counts c1, c2;
    memset(&c1, 0, sizeof c1);
    memset(&c2, 0, sizeof c2);
    pthread_mutex_init(&c1.mu, NULL);
    pthread_mutex_init(&c2.mu, NULL);
    pthread_cond_init(&c1.cv, NULL);
    pthread_cond_init(&c2.cv, NULL);
    two_tracers w = {counting_tracer(&c1, 2048), counting_tracer(&c2, 2048),
                     PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    CHECK(w.first && w.second);
    pthread_t th;
    CHECK_EQ_INT(pthread_create(&th, NULL, outlive_tracer, &w), 0);
    pthread_mutex_lock(&w.mu);
    while (w.step < 1)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    sonde_tracer_free(w.first, 10000); /* its shutdown flush exports the thread's spans */
    CHECK_EQ_INT(exported_of(&c1), 10);
    pthread_mutex_lock(&w.mu);
    w.step = 2;
    pthread_cond_broadcast(&w.cv);
    pthread_mutex_unlock(&w.mu);
    pthread_join(th, NULL);
    CHECK_EQ_INT(sonde_tracer_flush(w.second, 10000), SONDE_OK);
    CHECK_EQ_INT(exported_of(&c2), 10);
    sonde_tracer_free(w.second, 10000);
}

typedef struct mine_counts {
    pthread_mutex_t mu;
    size_t mine;
} mine_counts;

static int count_mine(void *ud, const sonde_span *const *spans, size_t n, uint64_t deadline_ns,
                      size_t *rejected)
{
    (void)deadline_ns, (void)rejected;
    mine_counts *c = ud;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < n; i++)
        c->mine += strcmp(sonde_span_name(spans[i]), "mine") == 0;
    pthread_mutex_unlock(&c->mu);
    return SONDE_OK;
}

typedef struct busy {
    sonde_tracer *t;
    _Atomic int stop;
} busy;

static void *keep_busy(void *arg)
{
    busy *b = arg;
    while (!atomic_load(&b->stop))
        sonde_span_end(sonde_span_start(b->t, "busy", SONDE_SPAN_INTERNAL, NULL));
    return NULL;
}

/* A flush returns once every thread's spans ended before it are exported, even while
 * another thread keeps its own queue full (only its own spans are then dropped). */
TEST(flush_is_not_starved_by_a_busy_thread)
{
    mine_counts c = {PTHREAD_MUTEX_INITIALIZER, 0};
    sonde_tracer_opts o;
    sonde_tracer_opts_init(&o);
    o.read_env = 0;
    /* room for all: the busy thread's own ring (8192) fills, never the bound */
    o.max_queue_size = 65536;
    o.max_export_batch_size = 16;
    o.exporter = (sonde_span_exporter){count_mine, NULL, &c};
    sonde_tracer *t;
    CHECK_EQ_INT(sonde_tracer_new(&o, &t), SONDE_OK);
    for (int i = 0; i < 5; i++) /* this thread's ring is registered first */
        sonde_span_end(sonde_span_start(t, "mine", SONDE_SPAN_INTERNAL, NULL));
    busy b = {t, 0};
    pthread_t th;
    CHECK_EQ_INT(pthread_create(&th, NULL, keep_busy, &b), 0);
    for (int round = 1; round <= 20; round++) {
        for (int i = 0; i < 5; i++)
            sonde_span_end(sonde_span_start(t, "mine", SONDE_SPAN_INTERNAL, NULL));
        CHECK_EQ_INT(sonde_tracer_flush(t, 30000), SONDE_OK);
        pthread_mutex_lock(&c.mu);
        size_t mine = c.mine;
        pthread_mutex_unlock(&c.mu);
        CHECK_EQ_INT(mine, (size_t)(round + 1) * 5);
    }
    atomic_store(&b.stop, 1);
    pthread_join(th, NULL);
    sonde_tracer_free(t, 10000);
}

int main(void)
{
    RUN(many_threads_account_for_every_span);
    RUN(unsampled_spans_ended_by_an_exiting_thread);
    RUN(exiting_threads_hand_over_their_queue);
    RUN(a_stream_is_exported_as_it_flows);
    RUN(a_thread_outlives_its_tracer);
    RUN(flush_is_not_starved_by_a_busy_thread);
    return check_report();
}
