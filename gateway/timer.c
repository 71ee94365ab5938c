/*
 * timer.c - one thread that runs callbacks at deadlines, so simulated waits
 * cost a heap entry instead of a sleeping thread. A binary min-heap ordered
 * by deadline (ties by insertion order) under one mutex; the thread sleeps on
 * a condition variable until the earliest deadline or a new earlier entry.
 * Callbacks run on the timer thread without the lock held and must be short
 * (format a chunk, queue it, schedule the next one).
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

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static entry *heap;
static size_t len, cap;
static uint64_t seq;
static int running;
static pthread_t thread;

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

static void swap(size_t i, size_t j)
{
    entry t = heap[i];
    heap[i] = heap[j];
    heap[j] = t;
}

static void sift_up(size_t i)
{
    while (i > 0 && before(&heap[i], &heap[(i - 1) / 2])) {
        swap(i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void sift_down(size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < len && before(&heap[l], &heap[m])) m = l;
        if (r < len && before(&heap[r], &heap[m])) m = r;
        if (m == i) return;
        swap(i, m);
        i = m;
    }
}

int gw_timer_after(uint64_t delay_ns, gw_timer_fn fn, void *arg)
{
    pthread_mutex_lock(&mu);
    if (len == cap) {
        size_t ncap = cap ? cap * 2 : 256;
        entry *n = realloc(heap, ncap * sizeof *n);
        if (!n) {
            pthread_mutex_unlock(&mu);
            return -1;
        }
        heap = n;
        cap = ncap;
    }
    heap[len] = (entry){gw_now_ns() + delay_ns, seq++, fn, arg};
    sift_up(len++);
    if (heap[0].seq == seq - 1) pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    return 0;
}

/* Take the earliest entry off the heap and run it without the lock; mu held on entry and exit. */
static void run_first(void)
{
    entry e = heap[0];
    heap[0] = heap[--len];
    sift_down(0);
    pthread_mutex_unlock(&mu);
    e.fn(e.arg);
    pthread_mutex_lock(&mu);
}

static void *run(void *unused)
{
    pthread_mutex_lock(&mu);
    while (running) {
        if (len == 0) {
            pthread_cond_wait(&cv, &mu);
            continue;
        }
        uint64_t now = gw_now_ns();
        if (heap[0].at > now) {
            struct timespec ts = {(time_t)(heap[0].at / 1000000000u),
                                  (long)(heap[0].at % 1000000000u)};
            pthread_cond_timedwait(&cv, &mu, &ts);
            continue;
        }
        run_first();
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

int gw_timer_start(void)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&cv, &a);
    pthread_condattr_destroy(&a);
    running = 1;
    return pthread_create(&thread, NULL, run, NULL) == 0 ? 0 : -1;
}

/* Stop the thread, then run what is still pending at once, in order, so
 * that every call it drives can end (at shutdown their clients are gone, so
 * each ends as cancelled instead of scheduling more). */
void gw_timer_stop(void)
{
    pthread_mutex_lock(&mu);
    running = 0;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(thread, NULL);
    pthread_mutex_lock(&mu);
    for (long guard = 0; len > 0 && guard < 100000000; guard++)
        run_first();
    pthread_mutex_unlock(&mu);
    free(heap);
    heap = NULL;
    len = cap = 0;
}
