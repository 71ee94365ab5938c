/*
 * cells.h - per-thread value cells: the storage behind counters and histograms.
 *
 * Design. Every counter child owns two cell ids (integer increments, then
 * fractional adds) and every histogram child a contiguous range (one count
 * per bucket, then the sum). A cell id names a 64-bit word in *each thread's
 * own arena*, holding either an integer or a double's bits (the last
 * float_count cells of a range are doubles; a per-chunk bitmap remembers
 * which). A thread that updates a series writes only its private copy, with
 * a plain load and store (relaxed atomics, so no lock prefix and no shared
 * cache line); integer cells keep the common increment to an integer add. Two threads on one counter therefore
 * scale instead of colliding. A scrape adds up the copies of all live arenas
 * plus the "retired" arena into which exiting threads fold their values.
 *
 * An arena is a fixed directory of SONDE_DIR_SIZE chunk pointers; a chunk of
 * SONDE_CHUNK_CELLS cells is allocated the first time the owning thread
 * touches an id in it and published with a release store, so scrapers can
 * walk any arena without stopping its owner. A range never crosses a chunk.
 *
 * Ids of removed series are quarantined for a grace period (SONDE_GRACE_NS)
 * before reuse, so that a lookup racing with the removal never writes into a
 * new series; on reuse the cells are zeroed in every arena. The same
 * quarantine defers freeing memory that lock-free readers may still hold
 * (children, old hash tables): see sonde_defer_free().
 */
#ifndef SONDE_CELLS_H
#define SONDE_CELLS_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define SONDE_CHUNK_BITS 12
#define SONDE_CHUNK_CELLS (1u << SONDE_CHUNK_BITS)
#define SONDE_DIR_SIZE (1u << 14) /* at most 2^26 cells in the process */
#define SONDE_GRACE_NS (10ull * 1000000000ull)

typedef _Atomic(uint64_t) sonde_cell;

typedef struct sonde_arena {
    _Atomic(sonde_cell *) dir[SONDE_DIR_SIZE];
    struct sonde_arena *next, *prev;
} sonde_arena;

extern __thread sonde_arena *sonde_tls_arena __attribute__((tls_model("initial-exec")));

/* Creates the thread's arena and/or the chunk holding id. NULL when out of memory. */
sonde_cell *sonde_cell_slow(uint32_t id);

/* The calling thread's own copy of cell id. */
static inline sonde_cell *sonde_cell_local(uint32_t id)
{
    sonde_arena *a = sonde_tls_arena;
    if (__builtin_expect(a != NULL, 1)) {
        sonde_cell *chunk = atomic_load_explicit(&a->dir[id >> SONDE_CHUNK_BITS], memory_order_relaxed);
        if (__builtin_expect(chunk != NULL, 1))
            return chunk + (id & (SONDE_CHUNK_CELLS - 1));
    }
    return sonde_cell_slow(id);
}

static inline double sonde_bits_to_double(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static inline uint64_t sonde_double_to_bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

/* Owner-only adds: a plain load and store; only the owning thread writes its cells. */
static inline void sonde_cell_add_u64(sonde_cell *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n, memory_order_relaxed);
}

static inline void sonde_cell_add_f64(sonde_cell *c, double v)
{
    double cur = sonde_bits_to_double(atomic_load_explicit(c, memory_order_relaxed));
    atomic_store_explicit(c, sonde_double_to_bits(cur + v), memory_order_relaxed);
}

/* Allocate count contiguous cell ids (count <= SONDE_CHUNK_CELLS), zeroed everywhere, the
 * last float_count of them doubles. Returns 0 and sets *base, or SONDE_ENOMEM. */
int sonde_cells_alloc(uint32_t count, uint32_t float_count, uint32_t *base);

/* Quarantine a range for reuse after the grace period. */
void sonde_cells_release(uint32_t base, uint32_t count);

/* Free ptr with free() (or with free_fn) after the grace period; lock-free readers may
 * still hold it. Without memory for the record, ptr leaks rather than risk a use after
 * free: objects that are retired on paths that cannot fail embed a sonde_retire instead. */
void sonde_defer_free(void *ptr);
void sonde_defer(void (*free_fn)(void *), void *ptr);

/* A retirement record inside the object it retires (as the kernel's rcu_head): retiring
 * with it never allocates, so it cannot fail. free_fn(ptr) frees the record with the
 * object; nothing touches the record afterwards. */
typedef struct sonde_retire {
    struct sonde_retire *next;
    uint64_t due_ns;
    void *ptr;       /* memory to free, or NULL */
    void (*free_fn)(void *);
    uint32_t base;   /* cell range to recycle when count > 0 */
    uint32_t count;
    int heap;        /* the record was allocated apart from ptr (sonde_defer) */
} sonde_retire;
void sonde_defer_embedded(sonde_retire *record, void (*free_fn)(void *), void *ptr);

/* Scrape side: hold the arena list stable while reading, then sum a cell over all arenas. */
void sonde_cells_lock(void);
void sonde_cells_unlock(void);
uint64_t sonde_cells_sum_u64(uint32_t id); /* caller holds sonde_cells_lock() */
double sonde_cells_sum_f64(uint32_t id);   /* caller holds sonde_cells_lock() */

#endif
