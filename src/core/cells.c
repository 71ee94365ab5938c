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
static sonde_retire *quarantine_head, *quarantine_tail;
static uint64_t *float_map[SONDE_DIR_SIZE]; /* per chunk: bit set = the cell holds a double */

static int cell_is_float(uint32_t id)
{
    const uint64_t *map = float_map[id >> SONDE_CHUNK_BITS];
    uint32_t off = id & (SONDE_CHUNK_CELLS - 1);
    return map && ((map[off >> 6] >> (off & 63)) & 1);
}

/* Record which cells of a fresh or recycled range hold doubles. Lock held. */
static int mark_range(uint32_t base, uint32_t count, uint32_t float_count)
{
    uint64_t **map = &float_map[base >> SONDE_CHUNK_BITS];
    if (!*map && !(*map = calloc(SONDE_CHUNK_CELLS / 64, sizeof(uint64_t))))
        return SONDE_ENOMEM;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t off = (base + i) & (SONDE_CHUNK_CELLS - 1);
        if (i >= count - float_count)
            (*map)[off >> 6] |= 1ull << (off & 63);
        else
            (*map)[off >> 6] &= ~(1ull << (off & 63));
    }
    return SONDE_OK;
}

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void fold_cell_into_retired(uint32_t id, uint64_t bits)
{
    sonde_cell *chunk = atomic_load_explicit(&retired.dir[id >> SONDE_CHUNK_BITS], memory_order_relaxed);
    if (!chunk) {
        chunk = calloc(SONDE_CHUNK_CELLS, sizeof *chunk);
        if (!chunk)
            return; /* out of memory at thread exit: nothing better to do */
        atomic_store_explicit(&retired.dir[id >> SONDE_CHUNK_BITS], chunk, memory_order_release);
    }
    sonde_cell *c = &chunk[id & (SONDE_CHUNK_CELLS - 1)];
    if (cell_is_float(id))
        sonde_cell_add_f64(c, sonde_bits_to_double(bits));
    else
        sonde_cell_add_u64(c, bits);
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
            uint64_t bits = atomic_load_explicit(&chunk[i], memory_order_relaxed);
            if (bits != 0) /* integer 0 and double +0.0 alike */
                fold_cell_into_retired((d << SONDE_CHUNK_BITS) | i, bits);
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
        sonde_retire *q = quarantine_head, copy = *q;
        quarantine_head = q->next;
        if (!quarantine_head)
            quarantine_tail = NULL;
        if (copy.heap)
            free(q);
        copy.free_fn(copy.ptr); /* an embedded record goes with its object */
        if (copy.count) {
            free_range *r = malloc(sizeof *r);
            if (r) { /* without memory the ids are simply not reused */
                zero_range_everywhere(copy.base, copy.count);
                r->base = copy.base;
                r->count = copy.count;
                r->next = free_ranges;
                free_ranges = r;
            }
        }
    }
}

int sonde_cells_alloc(uint32_t count, uint32_t float_count, uint32_t *base)
{
    if (count == 0 || count > SONDE_CHUNK_CELLS || float_count > count)
        return SONDE_EINVAL;
    pthread_mutex_lock(&cells_lock);
    reclaim_locked(monotonic_ns());
    for (free_range **pp = &free_ranges; *pp; pp = &(*pp)->next) {
        if ((*pp)->count == count) {
            free_range *r = *pp;
            if (mark_range(r->base, count, float_count))
                break;
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
    if ((uint64_t)id + count > (uint64_t)SONDE_DIR_SIZE * SONDE_CHUNK_CELLS ||
        mark_range(id, count, float_count)) {
        pthread_mutex_unlock(&cells_lock);
        return SONDE_ENOMEM;
    }
    next_id = id + count;
    pthread_mutex_unlock(&cells_lock);
    *base = id;
    return SONDE_OK;
}

static void enqueue(sonde_retire *q, void (*free_fn)(void *), void *ptr, uint32_t base,
                    uint32_t count)
{
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

static void quarantine(void (*free_fn)(void *), void *ptr, uint32_t base, uint32_t count)
{
    sonde_retire *q = malloc(sizeof *q);
    if (!q)
        return; /* the memory and ids leak rather than risk a use after free */
    q->heap = 1;
    enqueue(q, free_fn, ptr, base, count);
}

void sonde_defer_embedded(sonde_retire *record, void (*free_fn)(void *), void *ptr)
{
    record->heap = 0;
    enqueue(record, free_fn, ptr, 0, 0);
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

/* The raw words of cell id in the retired arena and every live arena, passed to add(). */
#define FOR_EACH_COPY(id, word, body)                                                          \
    do {                                                                                       \
        uint32_t d_ = (id) >> SONDE_CHUNK_BITS, off_ = (id) & (SONDE_CHUNK_CELLS - 1);         \
        for (sonde_arena *a_ = &retired; a_; a_ = a_ == &retired ? live_arenas : a_->next) {   \
            sonde_cell *chunk_ = atomic_load_explicit(&a_->dir[d_], memory_order_acquire);     \
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
