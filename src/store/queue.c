/*
 * queue.c - work-queue metrics on a queue handle: queue_depth{queue}
 * (enqueue raises it, start or an end while waiting lowers it),
 * queue_wait_seconds{queue} (enqueue to start) and
 * queue_jobs_total{queue,status} (end). The job token carries its state
 * (waiting, running) so that each step counts once whatever order the host
 * calls them in: a second start, or an end after an end, does nothing.
 */
#include <stdlib.h>

#include "store_internal.h"

enum { JOB_DONE = 0, JOB_WAITING = 1, JOB_RUNNING = 2 };

int store_queues_init(sonde_store *s)
{
    if (!(s->queues = calloc(s->queue_names.n, sizeof *s->queues)))
        return SONDE_ENOMEM;
    for (size_t i = 0; i < s->queue_names.n; i++) {
        sonde_queue *q = &s->queues[i];
        const char *v[1] = {s->queue_names.v[i]};
        q->store = s;
        q->name = v[0];
        int rc = store_child(s->depth, v, (void **)&q->depth);
        if (!rc)
            rc = store_child(s->wait, v, (void **)&q->wait);
        if (rc)
            return rc;
    }
    return SONDE_OK;
}

sonde_queue_job sonde_queue_enqueue(sonde_queue *q)
{
    sonde_queue_job j = {0, q, q ? JOB_WAITING : JOB_DONE};
    if (q) {
        sonde_gauge_inc(q->depth);
        j.enqueued_ns = sonde_now_ns();
    }
    return j;
}

void sonde_queue_start(sonde_queue_job *j)
{
    if (!j || !j->queue_ || j->state_ != JOB_WAITING)
        return;
    uint64_t now = sonde_now_ns();
    sonde_gauge_dec(j->queue_->depth);
    sonde_histogram_observe(j->queue_->wait,
                            now > j->enqueued_ns ? (double)(now - j->enqueued_ns) / 1e9 : 0.0);
    j->state_ = JOB_RUNNING;
}

static void count_job(sonde_queue *q, int status)
{
    const char *names[1] = {q->name};
    sonde_counter_inc(store_status_counter(q->status, q->store->jobs, names, 1, status));
}

void sonde_queue_end(sonde_queue_job *j, int status)
{
    if (!j || !j->queue_ || j->state_ == JOB_DONE)
        return;
    if (j->state_ == JOB_WAITING)
        sonde_gauge_dec(j->queue_->depth);
    count_job(j->queue_, status);
    j->state_ = JOB_DONE;
    j->queue_ = NULL;
}

void sonde_queue_observe(sonde_queue *q, int status, double wait_seconds)
{
    if (!q)
        return;
    count_job(q, status);
    if (wait_seconds >= 0) /* false for NaN too */
        sonde_histogram_observe(q->wait, wait_seconds);
}

void sonde_queue_depth_set(sonde_queue *q, int64_t depth)
{
    if (q)
        sonde_gauge_set(q->depth, (double)depth);
}
