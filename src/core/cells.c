/*
 * cells.c - per-thread arenas, cell id allocation and the grace-period
 * quarantine. See cells.h for the design.
 *
 * One mutex (cells_lock) guards the arena list, the retired arena, the id
 * allocator and the quarantine. Updates never take it; a thread takes it
 * once when it creates its arena and once when it exits (to fold its values
 * into the retired arena), and scrapes take it while they read cells.
 */
#include "cells.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "sonde/error.h"

__thread sonde_arena *sonde_tls_arena __attribute__((tls_model("initial-exec")));

typedef struct deferred {
    struct deferred *next;
    uint64_t due_ns;
    void *ptr;       /* memory to free, or NULL */
    void (*free_fn)(void *);
    uint32_t base;   /* cell range to recycle when count > 0 */
    uint32_t count;
} deferred;

typedef struct free_range {
    struct free_range *next;
    uint32_t base, count;
} free_range;

static pthread_mutex_t cells_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t arena_key;
static sonde_arena *live_arenas;   /* doubly linked */
static sonde_arena retired;        /* values of threads that exited */
static uint32_t next_id = 1;       /* id 0 is never handed out */
static free_range *free_ranges;    /* recycled ranges, exact-size reuse */
static deferred *quarantine_head, *quarantine_tail;

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void fold_cell_into_retired(uint32_t id, double v)
{
    sonde_cell *chunk = atomic_load_explicit(&retired.dir[id >> SONDE_CHUNK_BITS], memory_order_relaxed);
    if (!chunk) {
        chunk = calloc(SONDE_CHUNK_CELLS, sizeof *chunk);
        if (!chunk)
            return; /* out of memory at thread exit: nothing better to do */
        atomic_store_explicit(&retired.dir[id >> SONDE_CHUNK_BITS], chunk, memory_order_release);
    }
    sonde_cell_add(&chunk[id & (SONDE_CHUNK_CELLS - 1)], v);
}

/* pthread key destructor: fold the exiting thread's values into the retired arena. */
static void arena_exit(void *p)
{
    sonde_arena *a = p;
    pthread_mutex_lock(&cells_lock);
    for (uint32_t d = 0; d < SONDE_DIR_SIZE; d++) {
        sonde_cell *chunk = atomic_load_explicit(&a->dir[d], memory_order_relaxed);
        if (!chunk)
            continue;
        for (uint32_t i = 0; i < SONDE_CHUNK_CELLS; i++) {
            double v = sonde_bits_to_double(atomic_load_explicit(&chunk[i], memory_order_relaxed));
            if (v != 0.0)
                fold_cell_into_retired((d << SONDE_CHUNK_BITS) | i, v);
        }
        free(chunk);
    }
    if (a->prev)
        a->prev->next = a->next;
    else
        live_arenas = a->next;
    if (a->next)
        a->next->prev = a->prev;
    pthread_mutex_unlock(&cells_lock);
    if (sonde_tls_arena == a)
        sonde_tls_arena = NULL;
    free(a);
}

static void make_key(void)
{
    pthread_key_create(&arena_key, arena_exit);
}

sonde_cell *sonde_cell_slow(uint32_t id)
{
    sonde_arena *a = sonde_tls_arena;
    if (!a) {
        pthread_once(&key_once, make_key);
        a = calloc(1, sizeof *a);
        if (!a)
            return NULL;
        pthread_mutex_lock(&cells_lock);
        a->next = live_arenas;
        if (live_arenas)
            live_arenas->prev = a;
        live_arenas = a;
        pthread_mutex_unlock(&cells_lock);
        pthread_setspecific(arena_key, a);
        sonde_tls_arena = a;
    }
    uint32_t d = id >> SONDE_CHUNK_BITS;
    if (d >= SONDE_DIR_SIZE)
        return NULL;
    sonde_cell *chunk = atomic_load_explicit(&a->dir[d], memory_order_relaxed);
    if (!chunk) {
        chunk = calloc(SONDE_CHUNK_CELLS, sizeof *chunk);
        if (!chunk)
            return NULL;
        atomic_store_explicit(&a->dir[d], chunk, memory_order_release);
    }
    return chunk + (id & (SONDE_CHUNK_CELLS - 1));
}

static void zero_range_everywhere(uint32_t base, uint32_t count)
{
    uint32_t d = base >> SONDE_CHUNK_BITS, off = base & (SONDE_CHUNK_CELLS - 1);
    for (sonde_arena *a = live_arenas;; a = a->next) {
        sonde_arena *arena = a ? a : &retired;
        sonde_cell *chunk = atomic_load_explicit(&arena->dir[d], memory_order_acquire);
        if (chunk)
            for (uint32_t i = 0; i < count; i++)
                atomic_store_explicit(&chunk[off + i], 0, memory_order_relaxed);
        if (!a)
            break;
    }
}

/* Move quarantined entries whose grace period is over to the free lists. Lock held. */
static void reclaim_locked(uint64_t now)
{
    while (quarantine_head && quarantine_head->due_ns <= now) {
        deferred *q = quarantine_head;
        quarantine_head = q->next;
        if (!quarantine_head)
            quarantine_tail = NULL;
        q->free_fn(q->ptr);
        if (q->count) {
            free_range *r = malloc(sizeof *r);
            if (r) { /* without memory the ids are simply not reused */
                zero_range_everywhere(q->base, q->count);
                r->base = q->base;
                r->count = q->count;
                r->next = free_ranges;
                free_ranges = r;
            }
        }
        free(q);
    }
}

int sonde_cells_alloc(uint32_t count, uint32_t *base)
{
    if (count == 0 || count > SONDE_CHUNK_CELLS)
        return SONDE_EINVAL;
    pthread_mutex_lock(&cells_lock);
    reclaim_locked(monotonic_ns());
    for (free_range **pp = &free_ranges; *pp; pp = &(*pp)->next) {
        if ((*pp)->count == count) {
            free_range *r = *pp;
            *pp = r->next;
            *base = r->base;
            pthread_mutex_unlock(&cells_lock);
            free(r);
            return SONDE_OK;
        }
    }
    uint32_t id = next_id;
    uint32_t off = id & (SONDE_CHUNK_CELLS - 1);
    if (off + count > SONDE_CHUNK_CELLS)
        id += SONDE_CHUNK_CELLS - off; /* a range never crosses a chunk */
    if ((uint64_t)id + count > (uint64_t)SONDE_DIR_SIZE * SONDE_CHUNK_CELLS) {
        pthread_mutex_unlock(&cells_lock);
        return SONDE_ENOMEM;
    }
    next_id = id + count;
    pthread_mutex_unlock(&cells_lock);
    *base = id;
    return SONDE_OK;
}

static void quarantine(void (*free_fn)(void *), void *ptr, uint32_t base, uint32_t count)
{
    deferred *q = malloc(sizeof *q);
    if (!q)
        return; /* the memory and ids leak rather than risk a use after free */
    q->next = NULL;
    q->ptr = ptr;
    q->free_fn = free_fn;
    q->base = base;
    q->count = count;
    uint64_t now = monotonic_ns();
    q->due_ns = now + SONDE_GRACE_NS;
    pthread_mutex_lock(&cells_lock);
    if (quarantine_tail)
        quarantine_tail->next = q;
    else
        quarantine_head = q;
    quarantine_tail = q;
    reclaim_locked(now);
    pthread_mutex_unlock(&cells_lock);
}

void sonde_cells_release(uint32_t base, uint32_t count)
{
    if (count)
        quarantine(free, NULL, base, count);
}

void sonde_defer_free(void *ptr)
{
    if (ptr)
        quarantine(free, ptr, 0, 0);
}

void sonde_defer(void (*free_fn)(void *), void *ptr)
{
    if (ptr)
        quarantine(free_fn, ptr, 0, 0);
}

void sonde_cells_lock(void)
{
    pthread_mutex_lock(&cells_lock);
}

void sonde_cells_unlock(void)
{
    pthread_mutex_unlock(&cells_lock);
}

double sonde_cells_sum(uint32_t id)
{
    uint32_t d = id >> SONDE_CHUNK_BITS, off = id & (SONDE_CHUNK_CELLS - 1);
    double sum = 0.0;
    sonde_cell *chunk = atomic_load_explicit(&retired.dir[d], memory_order_acquire);
    if (chunk)
        sum += sonde_bits_to_double(atomic_load_explicit(&chunk[off], memory_order_relaxed));
    for (sonde_arena *a = live_arenas; a; a = a->next) {
        chunk = atomic_load_explicit(&a->dir[d], memory_order_acquire);
        if (chunk)
            sum += sonde_bits_to_double(atomic_load_explicit(&chunk[off], memory_order_relaxed));
    }
    return sum;
}
