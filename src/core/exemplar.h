/*
 * exemplar.h - exemplar storage of counters and histograms (internal).
 *
 * Design. An exemplar slot belongs to a cell id (cells.h): a counter's
 * exemplar is the slot of its first cell, a histogram bucket's the slot of
 * that bucket's cell. Keying by cell id keeps the series (sonde_child) and
 * its hot path as they were, and ties the exemplar's life to the cells':
 * when a removed series' range is recycled, its slots are cleared with it.
 *
 * Slots live in a side table as sparse as the cells: a fixed directory of
 * SONDE_DIR_SIZE entries (one per cell chunk), each pointing to a middle
 * table of block pointers, each block holding SONDE_EX_BLOCK slots. Middles
 * and blocks are allocated the first time an exemplar lands in their range
 * and published with a compare-and-swap, never freed: memory is bounded by
 * the cell ids in use (48 bytes per cell at most) and only paid by the
 * ranges that ever got an exemplar.
 *
 * A slot is a sequence lock: the writer moves seq from even to odd with a
 * compare-and-swap (a writer that finds it odd, or loses the race, drops its
 * exemplar: the other one is as recent, so nobody waits), stores the words,
 * then publishes the next even value; a reader copies the words between two
 * reads of seq and retries when they differ. So that a storm of writes to one
 * bucket cannot starve a scrape, a reader that failed a few times registers
 * in its block's readers_waiting, and writers of the block drop their
 * exemplars while it is not 0; the reader then gets through after at most
 * the writes already in progress (its retries are bounded all the same).
 * Every word is a relaxed atomic, so a racing read is never undefined, only
 * retried. seq counts up by 4 for ever (bit 1: the slot holds an exemplar;
 * bit 0: a write in progress), so a cleared and rewritten slot never looks
 * unchanged to a reader (no ABA).
 *
 * The automatic path: src/trace keeps sonde_exemplar_ctx, a thread-local,
 * pointing at the context of the thread's current span while that span is
 * sampled and NULL otherwise (sonde_exemplar_ctx_set, which also clears
 * sonde_tls_fast meanwhile, so the plain paths of counter_inc and
 * histogram_observe need no load of their own to notice it). The other
 * paths read it once after their update (sonde_exemplar_auto); only when it
 * is set do they call the store.
 */
#ifndef SONDE_EXEMPLAR_H
#define SONDE_EXEMPLAR_H

#include <stdint.h>

#include "core_iface.h"

/* One exemplar, as a reader copies it out. */
typedef struct sonde_exemplar {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    double value;
    uint64_t unix_ns; /* wall time of the recording */
} sonde_exemplar;

/* Record an exemplar of value v with ctx's ids in the slot of cell id (ctx valid and
 * sampled: the caller checked). Never blocks; may drop it (out of memory, a racing writer). */
void sonde_exemplar_store(uint32_t id, const sonde_span_context *ctx, double v);

/* After an update of cell id by v: attach the thread's current sampled span, if any. */
static inline void sonde_exemplar_auto(uint32_t id, double v)
{
    const sonde_span_context *ctx = sonde_exemplar_ctx;
    if (__builtin_expect(ctx != NULL, 0))
        sonde_exemplar_store(id, ctx, v);
}

/* The exemplar of cell id: 1 and *out filled, or 0 when there is none (or a writer
 * preempted in the middle of its store kept it busy through every retry). Never blocks
 * a writer; any thread. For the exposition encoders: a
 * counter child's exemplar is at its cell, a histogram child's bucket i (the +Inf one is
 * i = bound_count) at cell + i. */
int sonde_exemplar_load(uint32_t id, sonde_exemplar *out);

/* Clear the slots of ids [base, base + count): a recycled cell range (cells.c). */
void sonde_exemplars_clear(uint32_t base, uint32_t count);

#endif
