/*
 * batch.c - the batch processor shared by spans and log records: a bounded
 * lock-free queue (Dmitry Vyukov's array queue, per-cell sequence numbers)
 * fed by any thread, drained by one export thread.
 *
 * batch_push never blocks and never allocates: one compare-and-swap claims a
 * cell, a full queue returns -1 at once (the caller drops and counts). When
 * the queue holds a batch's worth and the thread sleeps (a flag it sets
 * before waiting and checks the queue after), the pusher that clears the
 * flag wakes it, but only with pthread_mutex_trylock: a busy mutex means the
 * thread is awake anyway or not yet waiting, and the flag goes back up for
 * the next push. The thread otherwise wakes every
 * schedule delay (OTEL_BSP_SCHEDULE_DELAY), and on flush requests: it takes
 * up to batch_max items at a time and hands them to deliver() with a
 * deadline of now + the export timeout.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trace_internal.h"

static void deadline_ts(uint64_t ns_from_now, struct timespec *ts)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    uint64_t ns = (uint64_t)ts->tv_nsec + ns_from_now % 1000000000ull;
    ts->tv_sec += (time_t)(ns_from_now / 1000000000ull + ns / 1000000000ull);
    ts->tv_nsec = (long)(ns % 1000000000ull);
}

static uint64_t queued(sonde_batch *b)
{
    uint64_t h = atomic_load_explicit(&b->head, memory_order_relaxed);
    uint64_t t = atomic_load_explicit(&b->tail, memory_order_relaxed);
    return h > t ? h - t : 0;
}

/* The cell of a position: a mask, not a division, for a queue of a power of two. */
static inline batch_cell *cell_at(sonde_batch *b, uint64_t pos)
{
    return &b->cells[b->mask ? pos & b->mask : pos % b->cap];
}

int sonde_batch_push(sonde_batch *b, void *item)
{
    if (atomic_load_explicit(&b->stopping, memory_order_relaxed)) {
        atomic_fetch_add_explicit(&b->dropped_shutdown, 1, memory_order_relaxed);
        return -2;
    }
    uint64_t pos = atomic_load_explicit(&b->head, memory_order_relaxed);
    batch_cell *c;
    for (;;) {
        c = cell_at(b, pos);
        uint64_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
        int64_t dif = (int64_t)(seq - pos);
        if (dif == 0) {
            if (atomic_compare_exchange_weak_explicit(&b->head, &pos, pos + 1,
                                                      memory_order_relaxed, memory_order_relaxed))
                break;
        } else if (dif < 0) {
            atomic_fetch_add_explicit(&b->dropped_full, 1, memory_order_relaxed);
            return -1;
        } else {
            pos = atomic_load_explicit(&b->head, memory_order_relaxed);
        }
    }
    c->item = item;
    atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
    /* Wake the thread for a full batch, only when it sleeps: no shared writes otherwise.
     * One pusher takes the flag (the others, until the thread has woken, see it clear and
     * do not pile on the mutex); one that cannot take the mutex puts the flag back for the
     * next push to try again. */
    if (atomic_load_explicit(&b->sleeping, memory_order_relaxed) &&
        pos + 1 - atomic_load_explicit(&b->tail, memory_order_relaxed) >= b->batch_max &&
        atomic_exchange_explicit(&b->sleeping, 0, memory_order_relaxed)) {
        if (pthread_mutex_trylock(&b->mu) == 0) {
            pthread_cond_signal(&b->wake);
            pthread_mutex_unlock(&b->mu);
        } else {
            atomic_store_explicit(&b->sleeping, 1, memory_order_relaxed);
        }
    }
    return 0;
}

/* One consumer: take up to max items. */
static size_t take(sonde_batch *b, void **items, size_t max)
{
    size_t n = 0;
    uint64_t pos = atomic_load_explicit(&b->tail, memory_order_relaxed);
    while (n < max) {
        batch_cell *c = cell_at(b, pos);
        uint64_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
        if (seq != pos + 1)
            break; /* empty, or the cell is still being written */
        items[n++] = c->item;
        atomic_store_explicit(&c->seq, pos + b->cap, memory_order_release);
        pos++;
    }
    atomic_store_explicit(&b->tail, pos, memory_order_relaxed);
    return n;
}

static void *run(void *arg)
{
    sonde_batch *b = arg;
    void **items = b->items;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        if (!atomic_load(&b->stopping) && b->flush_asked == b->flush_done &&
            queued(b) < b->batch_max) {
            struct timespec ts;
            deadline_ts(b->delay_ns, &ts);
            atomic_store(&b->sleeping, 1);
            if (queued(b) < b->batch_max) /* a push between the check and the flag */
                pthread_cond_timedwait(&b->wake, &b->mu, &ts);
        }
        atomic_store(&b->sleeping, 0); /* also one a pusher put back while this was awake */
        if (atomic_load(&b->stopping))
            break; /* batch_stop flushed first; what is left is dropped there */
        uint64_t asked = b->flush_asked;
        pthread_mutex_unlock(&b->mu);
        /* Everything queued now goes, in batches: the delay has passed, a batch is full,
         * or a flush asks for it. */
        uint64_t target = atomic_load(&b->head);
        size_t n;
        while (atomic_load_explicit(&b->tail, memory_order_relaxed) < target &&
               (n = take(b, items, b->batch_max)) > 0)
            b->ops.deliver(b->ops.ud, items, n, sonde_now_ns() + b->timeout_ns);
        pthread_mutex_lock(&b->mu);
        b->flush_done = asked;
        pthread_cond_broadcast(&b->flushed);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

void *sonde_batch_owner_alloc(size_t size)
{
    size_t rounded = (size + 63) / 64 * 64;
    void *p = aligned_alloc(64, rounded);
    if (p)
        memset(p, 0, rounded);
    return p;
}

int sonde_batch_start(sonde_batch *b, size_t queue, size_t batch_max, uint64_t delay_ns,
                      uint64_t timeout_ns, batch_ops ops)
{
    b->cap = queue ? queue : 1;
    b->mask = (b->cap & (b->cap - 1)) == 0 ? b->cap - 1 : 0;
    b->batch_max = batch_max ? (batch_max < b->cap ? batch_max : b->cap) : 1;
    b->delay_ns = delay_ns;
    b->timeout_ns = timeout_ns;
    b->ops = ops;
    b->cells = malloc(b->cap * sizeof *b->cells);
    b->items = malloc(b->batch_max * sizeof *b->items);
    if (!b->cells || !b->items) {
        free(b->cells);
        free(b->items);
        return SONDE_ENOMEM;
    }
    for (uint64_t i = 0; i < b->cap; i++)
        atomic_init(&b->cells[i].seq, i);
    atomic_init(&b->head, 0);
    atomic_init(&b->tail, 0);
    atomic_init(&b->dropped_full, 0);
    atomic_init(&b->dropped_shutdown, 0);
    atomic_init(&b->stopping, 0);
    atomic_init(&b->sleeping, 0);
    b->flush_asked = b->flush_done = 0;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->wake, &ca);
    pthread_cond_init(&b->flushed, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&b->mu, NULL);
    if (pthread_create(&b->thread, NULL, run, b) != 0) {
        pthread_mutex_destroy(&b->mu);
        pthread_cond_destroy(&b->wake);
        pthread_cond_destroy(&b->flushed);
        free(b->cells);
        free(b->items);
        b->cells = NULL;
        return SONDE_EIO;
    }
    b->running = 1;
    return SONDE_OK;
}

int sonde_batch_flush(sonde_batch *b, uint64_t timeout_ns)
{
    struct timespec ts;
    deadline_ts(timeout_ns, &ts);
    pthread_mutex_lock(&b->mu);
    uint64_t want = ++b->flush_asked;
    pthread_cond_signal(&b->wake);
    int rc = 0;
    while (b->flush_done < want && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&b->flushed, &b->mu, &ts);
    int ok = b->flush_done >= want;
    pthread_mutex_unlock(&b->mu);
    return ok ? SONDE_OK : SONDE_ETRUNC;
}

void sonde_batch_stop(sonde_batch *b, uint64_t timeout_ns)
{
    if (!b->running)
        return;
    sonde_batch_flush(b, timeout_ns);
    pthread_mutex_lock(&b->mu);
    atomic_store(&b->stopping, 1);
    /* What arrives from now on is refused; what the flush left (its deadline passed) is
     * dropped and counted, not exported. */
    pthread_cond_signal(&b->wake);
    pthread_mutex_unlock(&b->mu);
    pthread_join(b->thread, NULL);
    b->running = 0;
    void *items[64];
    size_t n;
    while ((n = take(b, items, 64)) > 0) {
        atomic_fetch_add(&b->dropped_shutdown, n);
        b->ops.drop(b->ops.ud, items, n);
    }
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->wake);
    pthread_cond_destroy(&b->flushed);
    free(b->cells);
    free(b->items);
    b->cells = NULL;
}
