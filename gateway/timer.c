/*
 * timer.c - one thread that runs callbacks at deadlines, so simulated waits
 * cost a heap entry instead of a sleeping thread. A binary min-heap ordered
 * by deadline (ties by insertion order) under one mutex; the thread sleeps on
 * a condition variable until the earliest deadline or a new earlier entry.
 * Callbacks run on the timer thread without the lock held and must be short
 * (format a chunk, queue it, schedule the next one). Each gateway owns one
 * timer (gw_timer_new/free).
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "gateway.h"

typedef struct entry {
    uint64_t at, seq;
    gw_timer_fn fn;
    void *arg;
} entry;

struct gw_timer {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    entry *heap;
    size_t len, cap;
    uint64_t seq;
    int running;
    pthread_t thread;
};

uint64_t gw_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int before(const entry *a, const entry *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void swap(entry *heap, size_t i, size_t j)
{
    entry t = heap[i];
    heap[i] = heap[j];
    heap[j] = t;
}

static void sift_up(gw_timer *t, size_t i)
{
    while (i > 0 && before(&t->heap[i], &t->heap[(i - 1) / 2])) {
        swap(t->heap, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void sift_down(gw_timer *t, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < t->len && before(&t->heap[l], &t->heap[m])) m = l;
        if (r < t->len && before(&t->heap[r], &t->heap[m])) m = r;
        if (m == i) return;
        swap(t->heap, i, m);
        i = m;
    }
}

int gw_timer_after(gw_timer *t, uint64_t delay_ns, gw_timer_fn fn, void *arg)
{
    pthread_mutex_lock(&t->mu);
    if (t->len == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 256;
        entry *n = realloc(t->heap, ncap * sizeof *n);
        if (!n) {
            pthread_mutex_unlock(&t->mu);
            return -1;
        }
        t->heap = n;
        t->cap = ncap;
    }
    t->heap[t->len] = (entry){gw_now_ns() + delay_ns, t->seq++, fn, arg};
    sift_up(t, t->len++);
    if (t->heap[0].seq == t->seq - 1) pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    return 0;
}

/* Take the earliest entry off the heap and run it without the lock; mu held on entry and exit. */
static void run_first(gw_timer *t)
{
    entry e = t->heap[0];
    t->heap[0] = t->heap[--t->len];
    sift_down(t, 0);
    pthread_mutex_unlock(&t->mu);
    e.fn(e.arg);
    pthread_mutex_lock(&t->mu);
}

static void *run(void *arg)
{
    gw_timer *t = arg;
    pthread_mutex_lock(&t->mu);
    while (t->running) {
        if (t->len == 0) {
            pthread_cond_wait(&t->cv, &t->mu);
            continue;
        }
        uint64_t now = gw_now_ns();
        if (t->heap[0].at > now) {
            struct timespec ts = {(time_t)(t->heap[0].at / 1000000000u),
                                  (long)(t->heap[0].at % 1000000000u)};
            pthread_cond_timedwait(&t->cv, &t->mu, &ts);
            continue;
        }
        run_first(t);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

gw_timer *gw_timer_new(void)
{
    gw_timer *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    pthread_mutex_init(&t->mu, NULL);
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cv, &a);
    pthread_condattr_destroy(&a);
    t->running = 1;
    if (pthread_create(&t->thread, NULL, run, t) != 0) {
        pthread_cond_destroy(&t->cv);
        pthread_mutex_destroy(&t->mu);
        free(t);
        return NULL;
    }
    return t;
}

/* Stop the thread, then run what is still pending at once, in order, so
 * that every call it drives can end (at shutdown their clients are gone, so
 * each ends as cancelled instead of scheduling more). */
void gw_timer_free(gw_timer *t)
{
    if (!t) return;
    pthread_mutex_lock(&t->mu);
    t->running = 0;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    pthread_mutex_lock(&t->mu);
    for (long guard = 0; t->len > 0 && guard < 100000000; guard++)
        run_first(t);
    pthread_mutex_unlock(&t->mu);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t->heap);
    free(t);
}
