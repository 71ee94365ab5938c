/*
 * cells.c - the arena pool, cell id allocation and id recycling. See cells.h
 * for the design.
 *
 * One mutex (pool_lock) guards the free stack of private arenas, the
 * creation of arenas and the id allocator. Updates never take it: a thread
 * takes it once when it first updates a cell (to take an arena) and once
 * when it exits (to give a private arena back). Scrapes never take it:
 * arenas live in an append-only array published by a release store of its
 * length, and are never freed.
 */
#include "cells.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "ebr.h"
#include "exemplar.h"
#include "sonde/error.h"

__thread sonde_arena *sonde_tls_private __attribute__((tls_model("initial-exec")));
__thread sonde_arena *sonde_tls_fast __attribute__((tls_model("initial-exec")));
static __thread sonde_arena *tls_arena;  /* private or shared */
static __thread int tls_exited;          /* the arena was given back: no private arena any more */

typedef struct free_range {
    struct free_range *next;
    uint32_t base, count;
} free_range;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static pthread_key_t arena_key;
static unsigned private_max, shared_max; /* 0 until the first arena: the CPU count */
static unsigned private_count, next_stripe;
static sonde_arena *free_private;          /* private arenas no thread holds */
static sonde_arena *stripes[SONDE_MAX_ARENAS_EACH];
static sonde_arena *arenas[2 * SONDE_MAX_ARENAS_EACH]; /* the summation order */
static _Atomic(unsigned) arena_count;
static _Atomic(size_t) chunk_bytes;
static uint32_t next_id = 1;               /* id 0 is never handed out */
static free_range *free_ranges;            /* recycled ranges, exact-size reuse */

/* pthread key destructor: the exiting thread's private arena goes back to the pool with its
 * values, for the next thread to keep adding to. */
static void arena_give_back(void *p)
{
    sonde_arena *a = p;
    pthread_mutex_lock(&pool_lock);
    a->next_free = free_private;
    free_private = a;
    pthread_mutex_unlock(&pool_lock);
    sonde_tls_private = sonde_tls_fast = tls_arena = NULL;
    tls_exited = 1;
}

static void pool_init(void)
{
    pthread_key_create(&arena_key, arena_give_back);
}

static unsigned cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > SONDE_MAX_ARENAS_EACH ? SONDE_MAX_ARENAS_EACH : (unsigned)n;
}

/* A new arena, appended to the summation order. Lock held. */
static sonde_arena *arena_new(int shared)
{
    sonde_arena *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->shared = shared;
    unsigned n = atomic_load_explicit(&arena_count, memory_order_relaxed);
    arenas[n] = a;
    atomic_store_explicit(&arena_count, n + 1, memory_order_release);
    return a;
}

/* A shared stripe, round robin. Lock held. */
static sonde_arena *stripe_locked(void)
{
    unsigned s = next_stripe++ % shared_max;
    return stripes[s] ? stripes[s] : (stripes[s] = arena_new(1));
}

/* The arena of a thread that has none: a free private one, a new private one while fewer
 * than private_max exist, else a shared stripe. A private arena is given back at thread
 * exit by the key's destructor; a thread past its destructor only uses stripes. */
static sonde_arena *arena_take(void)
{
    pthread_once(&pool_once, pool_init);
    sonde_arena *a = NULL;
    pthread_mutex_lock(&pool_lock);
    if (!private_max)
        private_max = shared_max = cpu_count();
    if (!tls_exited) {
        if (free_private) {
            a = free_private;
            free_private = a->next_free;
        } else if (private_count < private_max && (a = arena_new(0))) {
            private_count++;
        }
    }
    if (!a)
        a = stripe_locked();
    pthread_mutex_unlock(&pool_lock);
    if (a && !a->shared && pthread_setspecific(arena_key, a)) {
        pthread_mutex_lock(&pool_lock); /* it could not be given back at exit: hold a stripe */
        a->next_free = free_private;
        free_private = a;
        a = stripe_locked();
        pthread_mutex_unlock(&pool_lock);
    }
    return a;
}

/* The chunk of arena a holding id, created if needed; NULL when out of memory. A shared
 * arena's writers create chunks under the pool lock, so that racing threads never allocate
 * the same chunk twice. */
static sonde_cell *chunk_of(sonde_arena *a, uint32_t id)
{
    uint32_t d = id >> SONDE_CHUNK_BITS;
    if (d >= SONDE_DIR_SIZE)
        return NULL;
    sonde_cell *chunk = atomic_load_explicit(&a->dir[d], memory_order_acquire);
    if (chunk)
        return chunk;
    if (a->shared)
        pthread_mutex_lock(&pool_lock);
    chunk = atomic_load_explicit(&a->dir[d], memory_order_acquire);
    if (!chunk && (chunk = calloc(SONDE_CHUNK_CELLS, sizeof *chunk))) {
        atomic_store_explicit(&a->dir[d], chunk, memory_order_release);
        atomic_fetch_add_explicit(&chunk_bytes, SONDE_CHUNK_CELLS * sizeof *chunk, memory_order_relaxed);
    }
    if (a->shared)
        pthread_mutex_unlock(&pool_lock);
    return chunk;
}

int sonde_cells_add(uint32_t int_id, uint64_t n, uint32_t float_id, double v)
{
    sonde_arena *a = tls_arena;
    if (!a) {
        if (!(a = tls_arena = arena_take()))
            return SONDE_ENOMEM;
        if (!a->shared) {
            sonde_tls_private = a;
            sonde_exemplar_ctx_set(sonde_exemplar_ctx); /* sonde_tls_fast follows */
        }
    }
    sonde_cell *chunk = chunk_of(a, int_id), *fchunk = chunk;
    if (float_id && (float_id >> SONDE_CHUNK_BITS) != (int_id >> SONDE_CHUNK_BITS))
        fchunk = chunk_of(a, float_id); /* a counter's fraction, in the mirror half */
    if (!chunk || !fchunk)
        return SONDE_ENOMEM;
    sonde_cell *ci = chunk + (int_id & (SONDE_CHUNK_CELLS - 1));
    sonde_cell *cf = fchunk + (float_id & (SONDE_CHUNK_CELLS - 1));
    if (!a->shared) {
        sonde_cell_add_u64(ci, n);
        if (float_id)
            sonde_cell_add_f64(cf, v);
        return SONDE_OK;
    }
    if (n)
        atomic_fetch_add_explicit(ci, n, memory_order_relaxed);
    if (float_id) {
        uint64_t old = atomic_load_explicit(cf, memory_order_relaxed);
        while (!atomic_compare_exchange_weak_explicit(cf, &old, sonde_double_to_bits(sonde_bits_to_double(old) + v),
                                                      memory_order_relaxed, memory_order_relaxed))
            ;
    }
    return SONDE_OK;
}

/* Zero [base, base + count) and its mirror SONDE_CELLS_FRACTION above (a counter's
 * fraction) in every arena. Lock held. */
static void zero_locked(uint32_t first, uint32_t count)
{
    unsigned n = atomic_load_explicit(&arena_count, memory_order_relaxed);
    for (uint32_t base = first; base < SONDE_CELLS_FRACTION * 2; base += SONDE_CELLS_FRACTION) {
        uint32_t d = base >> SONDE_CHUNK_BITS, off = base & (SONDE_CHUNK_CELLS - 1);
        for (unsigned i = 0; i < n; i++) {
            sonde_cell *chunk = atomic_load_explicit(&arenas[i]->dir[d], memory_order_acquire);
            if (chunk)
                for (uint32_t k = 0; k < count; k++)
                    atomic_store_explicit(&chunk[off + k], 0, memory_order_relaxed);
        }
    }
}

void sonde_cells_zero(uint32_t base, uint32_t count)
{
    pthread_mutex_lock(&pool_lock);
    zero_locked(base, count);
    pthread_mutex_unlock(&pool_lock);
}

/* Reclamation callback of a released range: zero it and its mirror everywhere, then offer it
 * for reuse. */
static void range_recycle(void *p)
{
    free_range *r = p;
    sonde_exemplars_clear(r->base, r->count); /* the next series must not show this one's */
    pthread_mutex_lock(&pool_lock);
    zero_locked(r->base, r->count);
    r->next = free_ranges;
    free_ranges = r;
    pthread_mutex_unlock(&pool_lock);
}

/* A recycled range of exactly count cells, or 0. Lock held. */
static int take_free_range(uint32_t count, uint32_t *base)
{
    for (free_range **pp = &free_ranges; *pp; pp = &(*pp)->next) {
        if ((*pp)->count == count) {
            free_range *r = *pp;
            *pp = r->next;
            *base = r->base;
            free(r);
            return 1;
        }
    }
    return 0;
}

int sonde_cells_alloc(uint32_t count, uint32_t *base)
{
    if (count == 0 || count > SONDE_CHUNK_CELLS)
        return SONDE_EINVAL;
    pthread_mutex_lock(&pool_lock);
    if (take_free_range(count, base)) {
        pthread_mutex_unlock(&pool_lock);
        return SONDE_OK;
    }
    uint32_t id = next_id;
    uint32_t off = id & (SONDE_CHUNK_CELLS - 1);
    if (off + count > SONDE_CHUNK_CELLS)
        id += SONDE_CHUNK_CELLS - off; /* a range never crosses a chunk */
    if ((uint64_t)id + count > SONDE_CELLS_FRACTION) { /* the upper half mirrors the lower */
        pthread_mutex_unlock(&pool_lock);
        return SONDE_ENOMEM;
    }
    next_id = id + count;
    pthread_mutex_unlock(&pool_lock);
    *base = id;
    return SONDE_OK;
}

void sonde_cells_release(uint32_t base, uint32_t count)
{
    if (!count)
        return;
    free_range *r = malloc(sizeof *r);
    if (!r)
        return; /* without memory the ids are simply not reused */
    r->base = base;
    r->count = count;
    sonde_defer(range_recycle, r);
}

/* The words of cell id in every arena, in the pool's order, passed to body. */
#define FOR_EACH_COPY(id, word, body)                                                          \
    do {                                                                                       \
        uint32_t d_ = (id) >> SONDE_CHUNK_BITS, off_ = (id) & (SONDE_CHUNK_CELLS - 1);         \
        unsigned n_ = atomic_load_explicit(&arena_count, memory_order_acquire);                \
        for (unsigned i_ = 0; i_ < n_; i_++) {                                                 \
            sonde_cell *chunk_ = atomic_load_explicit(&arenas[i_]->dir[d_], memory_order_acquire); \
            if (chunk_) {                                                                      \
                uint64_t word = atomic_load_explicit(&chunk_[off_], memory_order_relaxed);     \
                body;                                                                          \
            }                                                                                  \
        }                                                                                      \
    } while (0)

uint64_t sonde_cells_sum_u64(uint32_t id)
{
    uint64_t sum = 0;
    FOR_EACH_COPY(id, w, sum += w);
    return sum;
}

double sonde_cells_sum_f64(uint32_t id)
{
    double sum = 0;
    FOR_EACH_COPY(id, w, sum += sonde_bits_to_double(w));
    return sum;
}

int sonde_cells_set_pool(unsigned private_cap, unsigned shared_cap)
{
    int rc = SONDE_OK;
    pthread_mutex_lock(&pool_lock);
    if (atomic_load_explicit(&arena_count, memory_order_relaxed) ||
        private_cap > SONDE_MAX_ARENAS_EACH || shared_cap > SONDE_MAX_ARENAS_EACH) {
        rc = SONDE_EINVAL;
    } else {
        private_max = private_cap ? private_cap : cpu_count();
        shared_max = shared_cap ? shared_cap : cpu_count();
    }
    pthread_mutex_unlock(&pool_lock);
    return rc;
}

void sonde_cells_stats(unsigned *count, size_t *bytes)
{
    if (count)
        *count = atomic_load_explicit(&arena_count, memory_order_acquire);
    if (bytes)
        *bytes = atomic_load_explicit(&chunk_bytes, memory_order_relaxed);
}
