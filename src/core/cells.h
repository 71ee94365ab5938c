/*
 * cells.h - value cells: the storage behind counters and histograms.
 *
 * Design. Every counter child owns one cell id for its integer increments
 * and, implicitly, the cell SONDE_CELLS_FRACTION ids above it for its
 * fractional adds; every histogram child owns a contiguous range (one count
 * per bucket, then the sum). Ids are handed out below SONDE_CELLS_FRACTION
 * only, so the upper half of the id space mirrors the lower half: a counter
 * that only ever counts whole increments (the common case) never has the
 * chunk of its fraction cell allocated in an arena, which halves its cost
 * per arena. A cell id names a 64-bit word in *each arena*,
 * holding an integer or a double's bits (the caller knows which). A series'
 * value is the sum of its cell over all arenas.
 *
 * Arenas form a bounded pool that is never freed nor folded:
 *  - up to one *private* arena per CPU. A thread takes a free private arena
 *    the first time it updates a cell and gives it back when it exits; while
 *    it holds it, it is the only writer, so an update is a plain load and
 *    store (relaxed atomics: no lock prefix, no shared cache line) and two
 *    threads on one counter scale. The next thread that takes the arena
 *    keeps adding to the same words, so nothing is ever folded or lost.
 *  - once every private arena is held, further threads are spread over up to
 *    one *shared* arena per CPU (stripes) and update with atomic
 *    read-modify-writes: fetch_add for integers, a compare-and-swap loop for
 *    doubles.
 * So the memory of a series and the work of a scrape are bounded by
 * 2 x CPUs copies, whatever the number of threads that ever touched it.
 *
 * Monotonic by construction. Arenas are only appended to a fixed array, and
 * a scrape sums a cell over arenas in index order. Each arena's word only
 * grows (counters only add non-negative values, and so do histograms as
 * long as observations are not negative; in round-to-nearest
 * fl(a + b) >= a when b >= 0), and fl(a + b) is non-decreasing in a and b,
 * so the sum of non-decreasing terms taken in a fixed order never reads
 * lower than a previous read; a new arena adds a term 0 at the end. Integer
 * cells are summed as uint64_t: exact (modulo 2^64). A double cell's error
 * is that of recursive summation: with n adds into the busiest arena and A
 * arenas, |read - exact| <= (n + A - 1) * 2^-53 * (sum of the added values)
 * (first order), the same as one double accumulator of n + A values (a
 * histogram's sum, two cells per arena: n + 2A - 1).
 *
 * Why this and not another. Fixed point in 64 bits cannot hold both 1e-9
 * and 1e16 adds; a per-series high-water mark hides a lower read but costs a
 * shared write per scrape and still rests on an unstable sum; per-CPU cells
 * in restartable sequences need per-architecture assembly and an atomic add
 * anyway for the thread that migrates. The pool keeps the plain-store fast
 * path of per-thread cells (the same counter_inc instructions as before),
 * bounds memory by the CPU count, and needs no folding, which is what made a
 * value move at a thread's exit.
 *
 * An arena is a fixed directory of SONDE_DIR_SIZE chunk pointers; a chunk of
 * SONDE_CHUNK_CELLS cells is allocated the first time a writer of the arena
 * touches an id in it and published with a release store, so scrapers walk
 * any arena without a lock. A range never crosses a chunk.
 *
 * Ids of removed series are recycled through the epoch-based reclamation of
 * ebr.h: a range is zeroed in every arena and reused only once every reader
 * that could still hold the series has left its read section.
 */
#ifndef SONDE_CELLS_H
#define SONDE_CELLS_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "core_iface.h"

#define SONDE_CHUNK_BITS 12
#define SONDE_CHUNK_CELLS (1u << SONDE_CHUNK_BITS)
#define SONDE_DIR_SIZE (1u << 14) /* at most 2^26 cells in the process */
#define SONDE_MAX_ARENAS_EACH 128  /* private arenas, and shared ones, at most this many each */
/* A counter's fractional cell is its cell id plus this; ids are allocated below it (2^25). */
#define SONDE_CELLS_FRACTION (SONDE_DIR_SIZE / 2 * SONDE_CHUNK_CELLS)

typedef _Atomic(uint64_t) sonde_cell;

typedef struct sonde_arena {
    _Atomic(sonde_cell *) dir[SONDE_DIR_SIZE];
    int shared;                     /* several writers: atomic read-modify-writes */
    struct sonde_arena *next_free;  /* private arenas: the pool's free stack */
} sonde_arena;

/* The calling thread's private arena is sonde_tls_private, and sonde_tls_fast while the
 * thread has no exemplar context (core_iface.h declares both). */

/* Cell id in arena a (NULL: none), or NULL when a has no chunk for it yet. */
static inline sonde_cell *sonde_cell_in(sonde_arena *a, uint32_t id)
{
    if (__builtin_expect(a != NULL, 1)) {
        sonde_cell *chunk = atomic_load_explicit(&a->dir[id >> SONDE_CHUNK_BITS], memory_order_relaxed);
        if (__builtin_expect(chunk != NULL, 1))
            return chunk + (id & (SONDE_CHUNK_CELLS - 1));
    }
    return NULL;
}

/* The calling thread's private copy of cell id, or NULL when it has none (no private arena,
 * or the chunk is not there yet): then update through sonde_cells_add(). */
static inline sonde_cell *sonde_cell_private(uint32_t id) { return sonde_cell_in(sonde_tls_private, id); }

/* The same, and NULL too while the thread has an exemplar context: the fast paths of counters
 * and histograms, which then go out of line to attach the exemplar. One TLS load for both. */
static inline sonde_cell *sonde_cell_fast(uint32_t id) { return sonde_cell_in(sonde_tls_fast, id); }

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

/* Adds to a private cell: a plain load and store (its holder is the only writer). (One addq
 * to memory was measured too: slower, 3.0 against 1.7 ns an increment of one counter in a
 * loop, the load and store pair forwards faster.) */
static inline void sonde_cell_add_u64(sonde_cell *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n, memory_order_relaxed);
}

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define SONDE_CELL_ADD_ASM 0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define SONDE_CELL_ADD_ASM 0
#endif
#endif
#if !defined(SONDE_CELL_ADD_ASM) && defined(__x86_64__) && defined(__GNUC__)
#define SONDE_CELL_ADD_ASM 1
#endif

/* GCC moves a relaxed atomic double through a general register, two more moves on the chain
 * of adds to one cell (the sum of a histogram: the chain that bounds its observe rate); clang
 * adds straight from memory. So GCC builds on x86-64 and AArch64, where an aligned 8-byte
 * load or store is single-copy atomic, add through a volatile double: the same one load and
 * one store, the same guarantees to a concurrent reader (sonde_cells_sum_f64), which is what
 * the relaxed atomics compile to there anyway. ThreadSanitizer builds keep the atomics, which
 * it checks. */
#if SONDE_CELL_ADD_ASM
/* x86-64 (no sanitizer): the add reads the cell from memory and the store writes it back, two
 * instructions (GCC's volatile add is three); with the bucket table's clamp (histogram.c) the
 * three-instruction form measured three to four times slower (16-26 against 4-6 ns). */
static inline void sonde_cell_add_f64(sonde_cell *c, double v)
{
    __asm__("addsd %0, %1\n\tmovsd %1, %0" : "+m"(*(double *)c), "+x"(v));
}
#elif defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__) && \
    (defined(__x86_64__) || defined(__aarch64__))
static inline void sonde_cell_add_f64(sonde_cell *c, double v)
{
    *(volatile double *)c += v;
}
#else
static inline void sonde_cell_add_f64(sonde_cell *c, double v)
{
    double cur = sonde_bits_to_double(atomic_load_explicit(c, memory_order_relaxed));
    atomic_store_explicit(c, sonde_double_to_bits(cur + v), memory_order_relaxed);
}
#endif

/* Adds 1 to a private cell whose neighbours take the next adds (a histogram's buckets, picked
 * by the value): on x86-64 one addq to memory, three instructions fewer than the load, add
 * and store of sonde_cell_add_u64 (4.4 -> 4.0 ns a histogram observation, median of
 * interleaved runs). A chain of adds to one and the same cell (a counter in a loop) is
 * faster as the load and store pair, so counters keep sonde_cell_add_u64. */
#if SONDE_CELL_ADD_ASM
static inline void sonde_cell_bump_u64(sonde_cell *c)
{
    __asm__("addq $1, %0" : "+m"(*(uint64_t *)c));
}
#else
static inline void sonde_cell_bump_u64(sonde_cell *c)
{
    sonde_cell_add_u64(c, 1);
}
#endif

/* Which of a histogram sum's two cells v adds to (internal.h): bit 0 of its mantissa xor bit
 * 50 (the second bit below the leading one), so that successive unequal values, measured
 * times as much as small integers, alternate at random between the two. An add to one
 * double in memory waits for the previous one through store-to-load forwarding (3.5 ns a
 * link on an AMD EPYC host, most of an observation); two cells halve the chain
 * (histogram_observe_ns 3.6 -> 2.9 ns, interleaved medians). Native histograms keep one sum
 * cell: their observation is not bound by that chain (measured: two cells made it slower). */
static inline uint32_t sonde_sum_half(double v)
{
    uint64_t bits = sonde_double_to_bits(v);
    return (uint32_t)((bits ^ (bits >> 50)) & 1);
}

/* The general update, when sonde_cell_private() gave NULL: takes an arena for the thread
 * if it has none, creates the chunks if needed, then adds n to the integer cell int_id and,
 * when float_id is not 0, v to the double cell float_id: with plain stores in a private
 * arena, atomic read-modify-writes in a shared one. SONDE_ENOMEM when no arena or chunk
 * could be allocated (nothing added). */
int sonde_cells_add(uint32_t int_id, uint64_t n, uint32_t float_id, double v);

/* Allocate count contiguous cell ids (count <= SONDE_CHUNK_CELLS), zero in every arena.
 * Returns 0 and sets *base, or SONDE_ENOMEM / SONDE_EINVAL. */
int sonde_cells_alloc(uint32_t count, uint32_t *base);

/* Give a range back; it is reused once no reader can hold its series any more (ebr.h), with
 * it and its mirror SONDE_CELLS_FRACTION above zeroed. */
void sonde_cells_release(uint32_t base, uint32_t count);

/* Zero a range in every arena now, for its owner's own reuse (native histograms after a
 * reset): a writer racing with it may keep its add or lose it. */
void sonde_cells_zero(uint32_t base, uint32_t count);

/* A cell summed over every arena in the pool's fixed order. Lock-free; any thread. */
uint64_t sonde_cells_sum_u64(uint32_t id);
double sonde_cells_sum_f64(uint32_t id);

/* Internal, for tests: cap the pool before any cell is updated (0 keeps the CPU count);
 * SONDE_EINVAL once an arena exists. */
int sonde_cells_set_pool(unsigned private_max, unsigned shared_max);

/* Internal, for tests and benchmarks: arenas in the pool and bytes of chunks they hold. */
void sonde_cells_stats(unsigned *arenas, size_t *chunk_bytes);

#endif
