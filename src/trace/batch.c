/*
 * batch.c - the batch processor shared by spans and log records: each
 * producing thread queues into a ring of its own (single producer, single
 * consumer), registered with the processor on the thread's first push and
 * drained by one export thread. Two producers never write the same cache
 * line: a push writes its ring's cell and head, and reads the tail only when
 * the ring looks full.
 *
 * Bounds: the queue size (OTEL_BSP_MAX_QUEUE_SIZE) bounds the items queued in
 * all rings together, exactly: a thread reserves room under it `chunk` items
 * at a time (one compare-and-swap per chunk, chunk = queue/32 capped at 64),
 * and the export thread gives room back as it takes items. Room a thread has
 * reserved and not used is not free for the others (at most chunk - 1 per
 * thread; an exited thread's goes back once its ring is drained). One ring
 * holds at most ring_cap = the queue size rounded up to a power of two,
 * capped at RING_MAX, so a thread's memory stays bounded whatever the
 * variable says. A push that finds no room, or its ring full, returns -1 at
 * once and is counted (the caller drops the item); it never blocks and,
 * once the thread's ring exists, never allocates.
 *
 * A thread's rings (one per processor it feeds) are listed in a thread-local
 * list, the latest used first; at thread exit each is closed, and the export
 * thread exports what it holds and then unlinks it: no item is lost and no
 * ring leaks. A thread registering takes over a closed ring found empty
 * instead of making one, so threads that come and go reuse rings. A ring is freed by the last of its thread and its processor to
 * let go of it (a reference count of two).
 *
 * The thread paces itself: it sleeps until the schedule delay
 * (OTEL_BSP_SCHEDULE_DELAY) has passed, a flush asks, or the queue is
 * filling: a pusher that reserves room and sees wake_at items reserved (3/4
 * of the queue size, or of one ring's capacity when that is smaller), or
 * that finds no room left or its ring full, wakes it if it sleeps (a flag it
 * sets before waiting and checks the rings after). That pusher takes the
 * flag and wakes it with pthread_mutex_trylock only (a busy mutex means the
 * thread is awake anyway or not yet waiting, and the flag goes back up for
 * the next pusher). Producers thus wake it seldom, not once per batch.
 * Awake, it takes everything queued, up to batch_max items at a time, and
 * hands them to deliver() with a deadline of now + the export timeout: the
 * last batch of a wake, and every batch when batch_max is more than
 * wake_at, may be smaller than batch_max.
 *
 * Each ring counts the items it refused (written by its producer only,
 * summed by sonde_batch_dropped_full), so a full queue's drops share no
 * counter; a ring let go of by the processor adds its count to the
 * processor's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trace_internal.h"

#define RING_MAX 8192  /* items one thread's ring holds at most */
#define CHUNK_MAX 64   /* room reserved at a time */

static _Atomic uint64_t next_batch_id = 1;
TRACE_TLS batch_ring *sonde_batch_thread_rings;
static TRACE_TLS int rings_armed;          /* the exit destructor is set for this thread */
static pthread_key_t rings_key;
static pthread_once_t rings_once = PTHREAD_ONCE_INIT;

static void deadline_ts(uint64_t ns_from_now, struct timespec *ts)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    uint64_t ns = (uint64_t)ts->tv_nsec + ns_from_now % 1000000000ull;
    ts->tv_sec += (time_t)(ns_from_now / 1000000000ull + ns / 1000000000ull);
    ts->tv_nsec = (long)(ns % 1000000000ull);
}

static void ring_unref(batch_ring *r)
{
    if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1) {
        free(r->cells);
        free(r);
    }
}

/* At thread exit: close every ring; the export thread drains and unlinks those whose
 * processor still runs. */
static void rings_release(void *unused)
{
    (void)unused;
    batch_ring *r = sonde_batch_thread_rings;
    sonde_batch_thread_rings = NULL;
    rings_armed = 0; /* a push after this (a later destructor) arms it again */
    while (r) {
        batch_ring *next = r->thread_next;
        atomic_store_explicit(&r->closed, 1, memory_order_release);
        ring_unref(r);
        r = next;
    }
}

static void rings_key_create(void) { pthread_key_create(&rings_key, rings_release); }

/* This thread's ring into b, moved to the list's front; made and registered on the first
 * push. Rings of stopped processors are let go of on the way. NULL when out of memory. */
static __attribute__((noinline)) batch_ring *ring_for(sonde_batch *b)
{
    batch_ring *found = NULL;
    for (batch_ring **link = &sonde_batch_thread_rings; *link;) {
        batch_ring *r = *link;
        if (r->batch_id == b->id) {
            *link = r->thread_next;
            found = r;
            continue;
        }
        if (atomic_load_explicit(&r->detached, memory_order_acquire)) {
            *link = r->thread_next;
            ring_unref(r);
            continue;
        }
        link = &r->thread_next;
    }
    if (!found) {
        /* An exited thread's ring found empty is taken over as it is (its unused room too),
         * so threads that come and go (one per connection) do not each leave a ring behind
         * until the export thread next runs. */
        pthread_mutex_lock(&b->rings_mu);
        for (batch_ring *r = b->rings; r && !found; r = r->batch_next) {
            if (atomic_load_explicit(&r->closed, memory_order_acquire) &&
                atomic_load_explicit(&r->head, memory_order_relaxed) ==
                    atomic_load_explicit(&r->tail, memory_order_relaxed)) {
                atomic_store_explicit(&r->closed, 0, memory_order_relaxed);
                atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed); /* this thread's */
                found = r;
            }
        }
        pthread_mutex_unlock(&b->rings_mu);
    }
    if (!found) {
        found = sonde_batch_owner_alloc(sizeof *found);
        if (!found)
            return NULL;
        if (!(found->cells = malloc(b->ring_cap * sizeof *found->cells))) {
            free(found);
            return NULL;
        }
        found->mask = b->ring_cap - 1;
        found->batch_id = b->id;
        atomic_init(&found->refs, 2);
        pthread_mutex_lock(&b->rings_mu);
        found->batch_next = b->rings;
        b->rings = found;
        pthread_mutex_unlock(&b->rings_mu);
    }
    if (!rings_armed) {
        pthread_once(&rings_once, rings_key_create);
        rings_armed = pthread_setspecific(rings_key, &sonde_batch_thread_rings) == 0;
    }
    found->thread_next = sonde_batch_thread_rings;
    sonde_batch_thread_rings = found;
    return found;
}

/* Wake the export thread if it sleeps: the pusher that takes the flag signals with
 * pthread_mutex_trylock only (a busy mutex means the thread is awake anyway or not yet
 * waiting, and the flag goes back up for the next pusher). */
static void wake(sonde_batch *b)
{
    if (atomic_load_explicit(&b->sleeping, memory_order_relaxed) &&
        atomic_exchange_explicit(&b->sleeping, 0, memory_order_relaxed)) {
        if (pthread_mutex_trylock(&b->mu) == 0) {
            pthread_cond_signal(&b->wake);
            pthread_mutex_unlock(&b->mu);
        } else {
            atomic_store_explicit(&b->sleeping, 1, memory_order_relaxed);
        }
    }
}

/* Reserve room for up to a chunk of items; 0 when the bound is reached. The pusher wakes
 * the sleeping thread when wake_at items are reserved, or no room is left. */
static int reserve(sonde_batch *b, batch_ring *r)
{
    int64_t room = atomic_load_explicit(&b->room, memory_order_relaxed), take;
    do {
        if (room <= 0) {
            wake(b);
            return 0;
        }
        take = room < (int64_t)b->chunk ? room : (int64_t)b->chunk;
    } while (!atomic_compare_exchange_weak_explicit(&b->room, &room, room - take,
                                                    memory_order_relaxed, memory_order_relaxed));
    r->credit = (uint64_t)take;
    if (b->cap - (uint64_t)(room - take) >= b->wake_at)
        wake(b);
    return 1;
}

/* A refused item, counted by the ring that refused it (NULL: the thread has none). */
static __attribute__((noinline)) batch_ring *refuse(sonde_batch *b, batch_ring *r)
{
    if (r)
        atomic_store_explicit(&r->dropped,
                              atomic_load_explicit(&r->dropped, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    else
        atomic_fetch_add_explicit(&b->dropped_full, 1, memory_order_relaxed);
    return NULL;
}

batch_ring *sonde_batch_claim_slow(sonde_batch *b)
{
    if (atomic_load_explicit(&b->stopping, memory_order_relaxed)) {
        atomic_fetch_add_explicit(&b->dropped_shutdown, 1, memory_order_relaxed);
        return NULL;
    }
    batch_ring *r = sonde_batch_thread_rings;
    if (__builtin_expect(!r || r->batch_id != b->id, 0) && !(r = ring_for(b)))
        return refuse(b, NULL); /* no memory for a ring: dropped like a full queue's */
    if (__builtin_expect(r->credit == 0, 0) && !reserve(b, r))
        return refuse(b, r);
    uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    if (__builtin_expect(h - r->tail_seen > r->mask, 0)) {
        r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (h - r->tail_seen > r->mask) {
            wake(b); /* this thread's ring is full (it holds less than the bound) */
            return refuse(b, r);
        }
    }
    r->credit--;
    return r;
}

int sonde_batch_push(sonde_batch *b, void *item)
{
    batch_ring *r = sonde_batch_claim(b);
    if (!r)
        return -1;
    sonde_batch_put(r, item);
    return 0;
}

uint64_t sonde_batch_dropped_full(sonde_batch *b)
{
    pthread_mutex_lock(&b->rings_mu);
    uint64_t n = atomic_load_explicit(&b->dropped_full, memory_order_relaxed);
    for (batch_ring *r = b->rings; r; r = r->batch_next)
        n += atomic_load_explicit(&r->dropped, memory_order_relaxed);
    pthread_mutex_unlock(&b->rings_mu);
    return n;
}

/* Let go of a ring unlinked from b (under rings_mu): its count of refused items stays b's. */
static void ring_unlinked(sonde_batch *b, batch_ring *r)
{
    atomic_fetch_add_explicit(&b->dropped_full,
                              atomic_load_explicit(&r->dropped, memory_order_relaxed),
                              memory_order_relaxed);
    ring_unref(r);
}

/* Items queued in all rings (the export thread; under rings_mu). */
static uint64_t queued_locked(sonde_batch *b)
{
    uint64_t n = 0;
    for (batch_ring *r = b->rings; r; r = r->batch_next)
        n += atomic_load_explicit(&r->head, memory_order_acquire) -
             atomic_load_explicit(&r->tail, memory_order_relaxed);
    return n;
}

static uint64_t queued(sonde_batch *b)
{
    pthread_mutex_lock(&b->rings_mu);
    uint64_t n = queued_locked(b);
    pthread_mutex_unlock(&b->rings_mu);
    return n;
}

/* One consumer: take up to max items from the rings, giving their room back; a closed ring
 * found empty is unlinked, its unused reservation given back too. */
static size_t take(sonde_batch *b, void **items, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&b->rings_mu);
    for (batch_ring **link = &b->rings; *link && n < max;) {
        batch_ring *r = *link;
        int closed = atomic_load_explicit(&r->closed, memory_order_acquire);
        uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
        uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);
        uint64_t k = h - t < max - n ? h - t : max - n;
        for (uint64_t i = 0; i < k; i++)
            items[n++] = r->cells[(t + i) & r->mask];
        if (k) {
            atomic_store_explicit(&r->tail, t + k, memory_order_release);
            atomic_fetch_add_explicit(&b->room, (int64_t)k, memory_order_relaxed);
        }
        if (closed && t + k == h) {
            *link = r->batch_next;
            atomic_fetch_add_explicit(&b->room, (int64_t)r->credit, memory_order_relaxed);
            ring_unlinked(b, r);
            continue;
        }
        if (n == max && r->batch_next) {
            /* full: the next take starts with the next ring (this one goes last), so a
             * busy thread's ring cannot keep the others waiting */
            *link = r->batch_next;
            batch_ring **end = link;
            while (*end)
                end = &(*end)->batch_next;
            *end = r;
            r->batch_next = NULL;
            break;
        }
        link = &r->batch_next;
    }
    pthread_mutex_unlock(&b->rings_mu);
    return n;
}

/* Mark what every ring holds now; drained() tells when the export thread has taken it all. */
static void mark(sonde_batch *b)
{
    pthread_mutex_lock(&b->rings_mu);
    for (batch_ring *r = b->rings; r; r = r->batch_next)
        r->drain_to = atomic_load_explicit(&r->head, memory_order_acquire);
    pthread_mutex_unlock(&b->rings_mu);
}

static int drained(sonde_batch *b)
{
    int all = 1;
    pthread_mutex_lock(&b->rings_mu);
    for (batch_ring *r = b->rings; r && all; r = r->batch_next)
        all = atomic_load_explicit(&r->tail, memory_order_relaxed) >= r->drain_to;
    pthread_mutex_unlock(&b->rings_mu);
    return all;
}

static void *run(void *arg)
{
    sonde_batch *b = arg;
    void **items = b->items;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        if (!atomic_load(&b->stopping) && b->flush_asked == b->flush_done &&
            queued(b) < b->wake_at) {
            struct timespec ts;
            deadline_ts(b->delay_ns, &ts);
            atomic_store(&b->sleeping, 1);
            if (queued(b) < b->wake_at) /* a push between the check and the flag */
                pthread_cond_timedwait(&b->wake, &b->mu, &ts);
        }
        atomic_store(&b->sleeping, 0); /* also one a pusher put back while this was awake */
        if (atomic_load(&b->stopping))
            break; /* batch_stop flushed first; what is left is dropped there */
        uint64_t asked = b->flush_asked;
        pthread_mutex_unlock(&b->mu);
        /* Everything queued now goes, in batches: the delay has passed, the queue is
         * filling, or a flush asks for it. What is pushed meanwhile may go too, but does not keep
         * the loop going. */
        mark(b);
        size_t n;
        do {
            n = take(b, items, b->batch_max);
            if (n)
                b->ops.deliver(b->ops.ud, items, n, sonde_now_ns() + b->timeout_ns);
        } while (n && !drained(b));
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
    b->id = atomic_fetch_add(&next_batch_id, 1);
    b->cap = queue ? queue : 1;
    b->batch_max = batch_max ? (batch_max < b->cap ? batch_max : b->cap) : 1;
    b->ring_cap = 1;
    while (b->ring_cap < b->cap && b->ring_cap < RING_MAX)
        b->ring_cap *= 2;
    b->chunk = b->cap / 32 < 1 ? 1 : b->cap / 32 > CHUNK_MAX ? CHUNK_MAX : b->cap / 32;
    uint64_t holds = b->cap < b->ring_cap ? b->cap : b->ring_cap; /* what one thread can queue */
    b->wake_at = holds - holds / 4;
    b->delay_ns = delay_ns;
    b->timeout_ns = timeout_ns;
    b->ops = ops;
    b->items = malloc(b->batch_max * sizeof *b->items);
    if (!b->items)
        return SONDE_ENOMEM;
    b->rings = NULL;
    atomic_init(&b->room, (int64_t)b->cap);
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
    pthread_mutex_init(&b->rings_mu, NULL);
    if (pthread_create(&b->thread, NULL, run, b) != 0) {
        pthread_mutex_destroy(&b->mu);
        pthread_mutex_destroy(&b->rings_mu);
        pthread_cond_destroy(&b->wake);
        pthread_cond_destroy(&b->flushed);
        free(b->items);
        b->items = NULL;
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
    /* The rings of threads still alive: each lets go of its own on its next push to another
     * processor, or at exit. */
    pthread_mutex_lock(&b->rings_mu);
    while (b->rings) {
        batch_ring *r = b->rings;
        b->rings = r->batch_next;
        atomic_store_explicit(&r->detached, 1, memory_order_release);
        ring_unlinked(b, r);
    }
    pthread_mutex_unlock(&b->rings_mu);
    pthread_mutex_destroy(&b->mu);
    pthread_mutex_destroy(&b->rings_mu);
    pthread_cond_destroy(&b->wake);
    pthread_cond_destroy(&b->flushed);
    free(b->items);
    b->items = NULL;
}
