/*
 * ebr.c - epoch-based reclamation (see ebr.h for the protocol).
 *
 * One mutex (ebr_lock) guards the list of reader records and the FIFO of
 * retired items; retired items are appended in the order of their tags, so
 * the ones no reader can hold are always a prefix. Readers never take the
 * lock, except once per thread to register their record (and once at exit,
 * from a pthread key destructor, to unlink it).
 */
#include "ebr.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/membarrier.h>
#include <sys/syscall.h>
#endif

__thread sonde_ebr_thread sonde_ebr_self __attribute__((tls_model("initial-exec")));
_Atomic(uint64_t) sonde_ebr_epoch = 1; /* 0 means "outside" in a record */
static int sonde_ebr_asymmetric; /* decided once, before any thread is listed */
void (*sonde_ebr_test_hook)(const void *held);

typedef struct retired {
    struct retired *next;
    uint64_t tag; /* the epoch when it was retired */
    void (*free_fn)(void *);
    void *ptr;
} retired;

static pthread_mutex_t ebr_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_key_t record_key;
static sonde_ebr_thread *records;            /* registered threads, doubly linked */
static _Atomic(unsigned) anonymous_readers; /* readers without a record */
static retired *head, *tail;
static _Atomic(size_t) pending;
static unsigned retired_since_scan;

/* A scan costs a membarrier (an interrupt of every CPU that runs one of our threads), so
 * sonde_defer() scans once every SCAN_EVERY retirements; callers that retire something big
 * call sonde_ebr_reclaim() themselves. */
#define SCAN_EVERY 32

/* pthread key destructor: unlink the exiting thread's record. */
static void record_unlink(void *p)
{
    sonde_ebr_thread *t = p;
    pthread_mutex_lock(&ebr_lock);
    if (t->prev)
        t->prev->next = t->next;
    else
        records = t->next;
    if (t->next)
        t->next->prev = t->prev;
    pthread_mutex_unlock(&ebr_lock);
    t->state = SONDE_EBR_EXITED;
}

/* Once per process, before any record exists and before any reclamation: the key, and
 * whether the asymmetric fence is available (registered). */
static void ebr_init(void)
{
    pthread_key_create(&record_key, record_unlink);
#if defined(__linux__) && defined(SYS_membarrier)
    long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    sonde_ebr_asymmetric = cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
                           syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
#endif
}

/* The reclaimer's half of the fence of sonde_ebr_enter(); 0, or -1 when it failed (it was
 * registered, so it should not: then nothing is reclaimed). */
static int reclaimer_fence(void)
{
    atomic_thread_fence(memory_order_seq_cst);
#if defined(__linux__) && defined(SYS_membarrier)
    if (sonde_ebr_asymmetric)
        return syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0 ? 0 : -1;
#endif
    return 0;
}

void sonde_ebr_enter_slow(sonde_ebr_thread *t)
{
    if (t->state == SONDE_EBR_FENCED) { /* sonde_ebr_enter() with a fence of its own */
        atomic_store_explicit(&t->epoch, atomic_load_explicit(&sonde_ebr_epoch, memory_order_acquire),
                              memory_order_relaxed);
        atomic_thread_fence(memory_order_seq_cst);
        return;
    }
    if (t->state == SONDE_EBR_UNREGISTERED) {
        pthread_once(&init_once, ebr_init);
        if (pthread_setspecific(record_key, t) == 0) {
            pthread_mutex_lock(&ebr_lock);
            t->prev = NULL;
            t->next = records;
            if (records)
                records->prev = t;
            records = t;
            pthread_mutex_unlock(&ebr_lock);
            t->state = sonde_ebr_asymmetric ? SONDE_EBR_REGISTERED : SONDE_EBR_FENCED;
            t->depth = 0;
            sonde_ebr_enter();
            return;
        }
        t->state = SONDE_EBR_EXITED; /* no destructor to unlink it: read anonymously */
    }
    atomic_fetch_add_explicit(&anonymous_readers, 1, memory_order_seq_cst);
}

void sonde_ebr_leave_slow(sonde_ebr_thread *t)
{
    if (t->state == SONDE_EBR_FENCED)
        atomic_store_explicit(&t->epoch, 0, memory_order_release);
    else
        atomic_fetch_sub_explicit(&anonymous_readers, 1, memory_order_release);
}

/* The oldest epoch a reader in a section announced (the current epoch when none is), or 0
 * when nothing may be reclaimed now: an anonymous reader, or a fence that failed. Lock held. */
static uint64_t oldest_reader_locked(void)
{
    if (reclaimer_fence() || atomic_load_explicit(&anonymous_readers, memory_order_acquire))
        return 0;
    uint64_t oldest = atomic_load_explicit(&sonde_ebr_epoch, memory_order_seq_cst);
    for (sonde_ebr_thread *t = records; t; t = t->next) {
        uint64_t e = atomic_load_explicit(&t->epoch, memory_order_acquire);
        if (e && e < oldest)
            oldest = e;
    }
    return oldest;
}

/* Detach the prefix of retired items that no reader can hold. Lock held. */
static retired *detach_reclaimable_locked(void)
{
    uint64_t oldest = oldest_reader_locked();
    retired_since_scan = 0;
    retired *first = head, *last = NULL;
    size_t n = 0;
    for (retired *r = head; r && r->tag < oldest; r = r->next) {
        last = r;
        n++;
    }
    if (!last)
        return NULL;
    head = last->next;
    if (!head)
        tail = NULL;
    last->next = NULL;
    atomic_fetch_sub_explicit(&pending, n, memory_order_relaxed);
    return first;
}

static void run_callbacks(retired *r)
{
    while (r) {
        retired *next = r->next;
        r->free_fn(r->ptr);
        free(r);
        r = next;
    }
}

void sonde_ebr_reclaim(void)
{
    if (!atomic_load_explicit(&pending, memory_order_relaxed))
        return;
    pthread_once(&init_once, ebr_init);
    pthread_mutex_lock(&ebr_lock);
    retired *ready = detach_reclaimable_locked();
    pthread_mutex_unlock(&ebr_lock);
    run_callbacks(ready);
}

/* No memory to queue ptr: free it at once if no reader can hold it, else leak it rather than
 * risk a use after free. No waiting: the caller may hold a lock that a reader waits for. */
static void reclaim_now(void (*free_fn)(void *), void *ptr)
{
    uint64_t tag = atomic_fetch_add_explicit(&sonde_ebr_epoch, 1, memory_order_seq_cst);
    pthread_mutex_lock(&ebr_lock);
    int clear = oldest_reader_locked() > tag;
    pthread_mutex_unlock(&ebr_lock);
    if (clear)
        free_fn(ptr);
}

void sonde_defer(void (*free_fn)(void *), void *ptr)
{
    if (!ptr)
        return;
    pthread_once(&init_once, ebr_init);
    retired *r = malloc(sizeof *r);
    if (!r) {
        reclaim_now(free_fn, ptr);
        return;
    }
    r->next = NULL;
    r->free_fn = free_fn;
    r->ptr = ptr;
    pthread_mutex_lock(&ebr_lock);
    r->tag = atomic_fetch_add_explicit(&sonde_ebr_epoch, 1, memory_order_seq_cst);
    if (tail)
        tail->next = r;
    else
        head = r;
    tail = r;
    atomic_fetch_add_explicit(&pending, 1, memory_order_relaxed);
    retired *ready = NULL;
    if (++retired_since_scan >= SCAN_EVERY)
        ready = detach_reclaimable_locked();
    pthread_mutex_unlock(&ebr_lock);
    run_callbacks(ready);
}

void sonde_defer_free(void *ptr)
{
    sonde_defer(free, ptr);
}

size_t sonde_ebr_pending(void)
{
    return atomic_load_explicit(&pending, memory_order_relaxed);
}
