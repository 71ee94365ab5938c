/*
 * exemplar.c - exemplar slots (the side table keyed by cell id, with a
 * sequence lock per slot) and the explicit _exemplar calls. exemplar.h
 * explains the design; the exposition writes them in expose_exemplar.c.
 *
 * The explicit calls reuse the hot paths whole: they point the thread's
 * exemplar context at the caller's span context (or at nothing, for an
 * unsampled one) for the duration of the plain call, then restore it, so
 * the bucket search and the cell update exist once.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "exemplar.h"
#include "internal.h"

__thread const sonde_span_context *sonde_exemplar_ctx __attribute__((tls_model("initial-exec")));

#define EX_BLOCK_BITS 6
#define EX_BLOCK (1u << EX_BLOCK_BITS)         /* slots per block: 3 KiB */
#define EX_MID (SONDE_CHUNK_CELLS / EX_BLOCK)  /* blocks per cell chunk */
#define EX_QUICK_TRIES 4      /* reads before a reader asks writers to step aside */
#define EX_READ_TRIES 4096    /* then, with a yield every EX_YIELD_EVERY */
#define EX_YIELD_EVERY 64

/* seq: bit 0 a write in progress, bit 1 an exemplar present, the rest a version. */
#define SEQ_BUSY 1u
#define SEQ_FULL 2u
#define SEQ_STEP 4u

typedef struct ex_slot {
    _Atomic(uint64_t) seq;
    _Atomic(uint64_t) word[5]; /* trace id (two words), span id, value bits, unix ns */
} ex_slot;

typedef struct ex_block {
    _Atomic(uint32_t) readers_waiting; /* writers of the block step aside while not 0 */
    ex_slot slot[EX_BLOCK];
} ex_block;

typedef struct ex_mid {
    _Atomic(void *) block[EX_MID];
} ex_mid;

static _Atomic(void *) ex_dir[SONDE_DIR_SIZE];

/* The table at *at; with create, a zeroed one of size bytes is made and published first
 * when there is none (the loser of a race frees its own). NULL: none, or out of memory. */
static void *table_at(_Atomic(void *) *at, size_t size, int create)
{
    void *t = atomic_load_explicit(at, memory_order_acquire);
    if (t || !create)
        return t;
    void *fresh = calloc(1, size);
    if (!fresh)
        return NULL;
    if (atomic_compare_exchange_strong_explicit(at, &t, fresh, memory_order_acq_rel, memory_order_acquire))
        return fresh;
    free(fresh);
    return t;
}

static ex_block *block_of(uint32_t id, int create)
{
    uint32_t d = id >> SONDE_CHUNK_BITS, off = id & (SONDE_CHUNK_CELLS - 1);
    if (d >= SONDE_DIR_SIZE)
        return NULL;
    ex_mid *m = table_at(&ex_dir[d], sizeof(ex_mid), create);
    return m ? table_at(&m->block[off >> EX_BLOCK_BITS], sizeof(ex_block), create) : NULL;
}

static ex_slot *slot_in(ex_block *b, uint32_t id)
{
    return &b->slot[id & (EX_BLOCK - 1)];
}

void sonde_exemplar_store(uint32_t id, const sonde_span_context *ctx, double v)
{
    ex_block *b = block_of(id, 1);
    if (!b || atomic_load_explicit(&b->readers_waiting, memory_order_relaxed))
        return; /* out of memory, or a reader starved by a storm of writes gets its turn */
    ex_slot *s = slot_in(b, id);
    uint64_t w[5];
    memcpy(w, ctx->trace_id, 16);
    memcpy(&w[2], ctx->span_id, 8);
    w[3] = sonde_double_to_bits(v);
    w[4] = sonde_wall_ns_coarse(); /* before taking the slot: the busy window stays a few stores */
    uint64_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
    if ((seq & SEQ_BUSY) ||
        !atomic_compare_exchange_strong_explicit(&s->seq, &seq, seq | SEQ_BUSY, memory_order_relaxed,
                                                 memory_order_relaxed))
        return; /* another writer is storing one just as recent */
    atomic_thread_fence(memory_order_release); /* the busy mark is seen before any word */
    for (int i = 0; i < 5; i++)
        atomic_store_explicit(&s->word[i], w[i], memory_order_relaxed);
    atomic_store_explicit(&s->seq, (seq & ~(uint64_t)3) + SEQ_STEP + SEQ_FULL, memory_order_release);
}

/* One attempt: 1 read whole, 0 empty, -1 a writer got in the way. */
static int try_read(ex_slot *s, sonde_exemplar *out)
{
    uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
    if (!(seq & (SEQ_BUSY | SEQ_FULL)))
        return 0;
    if (seq & SEQ_BUSY)
        return -1;
    uint64_t w[5];
    for (int i = 0; i < 5; i++)
        w[i] = atomic_load_explicit(&s->word[i], memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire); /* the words are read before seq again */
    if (atomic_load_explicit(&s->seq, memory_order_relaxed) != seq)
        return -1;
    memcpy(out->trace_id, w, 16);
    memcpy(out->span_id, &w[2], 8);
    out->value = sonde_bits_to_double(w[3]);
    out->unix_ns = w[4];
    return 1;
}

int sonde_exemplar_load(uint32_t id, sonde_exemplar *out)
{
    ex_block *b = block_of(id, 0);
    if (!b)
        return 0;
    ex_slot *s = slot_in(b, id);
    int rc = -1;
    for (int tries = 0; rc < 0 && tries < EX_QUICK_TRIES; tries++)
        rc = try_read(s, out);
    if (rc >= 0)
        return rc;
    /* Writers keep getting in the way: ask them to drop their exemplars meanwhile. The
     * ones already past the check finish their store, then the slot stays still. */
    atomic_fetch_add_explicit(&b->readers_waiting, 1, memory_order_seq_cst);
    for (int tries = 0; rc < 0 && tries < EX_READ_TRIES; tries++) {
        if (tries % EX_YIELD_EVERY == EX_YIELD_EVERY - 1)
            sched_yield(); /* a writer preempted while busy */
        rc = try_read(s, out);
    }
    atomic_fetch_sub_explicit(&b->readers_waiting, 1, memory_order_release);
    return rc > 0;
}

void sonde_exemplars_clear(uint32_t base, uint32_t count)
{
    for (uint32_t k = 0; k < count; k++) {
        ex_block *b = block_of(base + k, 0);
        if (!b)
            continue;
        ex_slot *s = slot_in(b, base + k);
        for (;;) {
            uint64_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
            if (!(seq & (SEQ_BUSY | SEQ_FULL)))
                break; /* empty */
            if (seq & SEQ_BUSY) {
                sched_yield(); /* only a series updated after its removal (a caller bug) gets here */
                continue;
            }
            if (atomic_compare_exchange_weak_explicit(&s->seq, &seq, seq | SEQ_BUSY, memory_order_relaxed,
                                                      memory_order_relaxed)) {
                atomic_store_explicit(&s->seq, (seq & ~(uint64_t)3) + SEQ_STEP, memory_order_release);
                break;
            }
        }
    }
}

/* ---- the explicit calls ------------------------------------------------ */

/* ctx when it names a sampled span (ids not all zero: what sonde_span_context_valid checks,
 * which lives above the core), else NULL: record without an exemplar. */
static const sonde_span_context *sampled_or_null(const sonde_span_context *ctx)
{
    if (!(ctx->flags & SONDE_TRACE_FLAG_SAMPLED))
        return NULL;
    uint64_t t[2], span;
    memcpy(t, ctx->trace_id, 16);
    memcpy(&span, ctx->span_id, 8);
    return (t[0] | t[1]) && span ? ctx : NULL;
}

void sonde_histogram_observe_exemplar(sonde_histogram *h, double v, const sonde_span_context *ctx)
{
    if (!ctx) {
        sonde_histogram_observe(h, v);
        return;
    }
    const sonde_span_context *saved = sonde_exemplar_ctx;
    sonde_exemplar_ctx_set(sampled_or_null(ctx));
    sonde_histogram_observe(h, v);
    sonde_exemplar_ctx_set(saved);
}

int sonde_counter_add_exemplar(sonde_counter *c, double v, const sonde_span_context *ctx)
{
    if (!ctx)
        return sonde_counter_add(c, v);
    const sonde_span_context *saved = sonde_exemplar_ctx;
    sonde_exemplar_ctx_set(sampled_or_null(ctx));
    int rc = sonde_counter_add(c, v);
    sonde_exemplar_ctx_set(saved);
    return rc;
}

int sonde_add_exemplar(sonde_registry *reg, const char *name, const sonde_label *labels, size_t n,
                       double v, const sonde_span_context *ctx)
{
    if (!ctx)
        return sonde_add(reg, name, labels, n, v);
    const sonde_span_context *saved = sonde_exemplar_ctx;
    sonde_exemplar_ctx_set(sampled_or_null(ctx));
    int rc = sonde_add(reg, name, labels, n, v);
    sonde_exemplar_ctx_set(saved);
    return rc;
}

int sonde_observe_exemplar(sonde_registry *reg, const char *name, const sonde_label *labels,
                           size_t n, double v, const sonde_span_context *ctx)
{
    if (!ctx)
        return sonde_observe(reg, name, labels, n, v);
    const sonde_span_context *saved = sonde_exemplar_ctx;
    sonde_exemplar_ctx_set(sampled_or_null(ctx));
    int rc = sonde_observe(reg, name, labels, n, v);
    sonde_exemplar_ctx_set(saved);
    return rc;
}
