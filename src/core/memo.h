/*
 * memo.h - each thread's memo of the children it last looked up, so that a
 * thread that asks for the same label values again (a handler counting the
 * same route and status request after request) finds the child without
 * hashing the values or probing the family's map.
 *
 * A thread has a small direct-mapped table (SONDE_MEMO_SLOTS entries,
 * allocated at its first lookup, freed at its exit); each family has a
 * fixed slot in it. An entry holds a family generation, the child found,
 * and a copy of the label values the child was found by, each in a 32-byte
 * cell of its own with a mask of the bytes past its end (so up to
 * SONDE_MEMO_LABELS values of up to 31 bytes).
 * A lookup that finds its family's current generation in the entry compares
 * the values it is given with the copies, two 16-byte compares a value
 * where the build may read past a string's end within its page (words.h),
 * strcmp() elsewhere, and returns the child: no hash, no map, and no read
 * section either, because it reads nothing but the family and the thread's
 * own memory. A lookup the memo does not answer fills the entry with what
 * it finds, except while its family rests: one that keeps missing (a thread
 * going round several children) skips the copies for a while
 * (sonde_memo_admit), so that such lookups cost little more than without a
 * memo.
 *
 * Why a child it returns is live: every family takes a generation from one
 * process-wide counter when it is created, and a new one each time a child
 * leaves its map (remove, clear, the family's destruction), stored with
 * release order after the child's tombstone. A lookup that fills an entry
 * reads the generation (acquire) before it probes the map: when it read the
 * new value it cannot find the removed child, and when it read an older one
 * the entry stops matching as soon as the new value is seen. Generations are
 * never reused, so an entry can never match another family, nor a family
 * created later at the same address. A removal that races with a lookup is
 * the caller's bug already (metrics.h: a removed child's handle dies with
 * it); a removal that happened before the lookup (in the C11 sense) is
 * always seen. Children handed out past the cardinality limit (the overflow
 * child) are never memoised: a later lookup must get a real child once
 * there is room.
 */
#ifndef SONDE_MEMO_H
#define SONDE_MEMO_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <stddef.h>

#include "words.h"

#define SONDE_MEMO_SLOTS 8  /* entries per thread, a power of two */
#define SONDE_MEMO_LABELS 4 /* label values an entry holds */
#define SONDE_MEMO_VALUE 32 /* bytes of a value's cell: values up to 31 bytes */
#define SONDE_MEMO_COLD 2   /* fills of a family in a row never hit before it rests */
#define SONDE_MEMO_QUIET 64 /* misses a resting family makes without a fill */

struct sonde_child;

/* One label value: its bytes and NUL (then anything), and 0xff at each byte past the NUL. */
typedef struct sonde_memo_value {
    _Alignas(16) char bytes[SONDE_MEMO_VALUE];
    unsigned char skip[SONDE_MEMO_VALUE];
} sonde_memo_value;

typedef struct sonde_memo_entry {
    uint64_t gen; /* the family's generation it was filled at; 0: empty (never a generation) */
    struct sonde_child *child;
    uint64_t quiet_gen; /* the family resting from fills (sonde_memo_admit) */
    uint16_t quiet;     /* its misses left without a fill */
    uint8_t hit;        /* a lookup was answered since the fill */
    uint8_t cold;       /* the family's fills in a row that no lookup used */
    sonde_memo_value value[SONDE_MEMO_LABELS];
} sonde_memo_entry;

typedef struct sonde_memo {
    sonde_memo_entry entry[SONDE_MEMO_SLOTS];
} sonde_memo;

/* The calling thread's memo, or NULL before its first lookup (memo.c). */
extern __thread sonde_memo *sonde_tls_memo __attribute__((tls_model("initial-exec")));

/* A new generation for a family (never 0, never handed out twice). */
uint64_t sonde_memo_generation(void);

/* 32 zero bytes, then 32 bytes 0xff: the skip of a value of n bytes is the 32 bytes at
 * 31 - n. */
extern const unsigned char sonde_memo_skips[2 * SONDE_MEMO_VALUE];

#if defined(__SSE2__)
/* Copy a value of n < 32 bytes, loaded as lo and hi (its NUL among them), into cell. */
static inline void sonde_memo_set(sonde_memo_value *cell, size_t n, __m128i lo, __m128i hi)
{
    const unsigned char *skip = sonde_memo_skips + SONDE_MEMO_VALUE - 1 - n;
    _mm_store_si128((__m128i *)cell->bytes, lo);
    _mm_store_si128((__m128i *)(cell->bytes + 16), hi);
    _mm_store_si128((__m128i *)cell->skip, _mm_loadu_si128((const __m128i *)skip));
    _mm_store_si128((__m128i *)(cell->skip + 16), _mm_loadu_si128((const __m128i *)(skip + 16)));
}
#endif

/* Where a family of generation gen has its entry in every thread's memo: the byte offset
 * of the entry (families in turn get distinct slots). */
static inline unsigned sonde_memo_at(uint64_t gen)
{
    return (unsigned)(gen & (SONDE_MEMO_SLOTS - 1)) * (unsigned)sizeof(sonde_memo_entry);
}

/* The entry at byte offset at for a thread about to fill it (allocating its memo), or NULL
 * without memory. */
sonde_memo_entry *sonde_memo_entry_for_fill(unsigned at);

#if SONDE_WORDS_OVERREAD && defined(__SSE2__)
/* Whether value v equals the copy in cell: its 32 bytes compared with the copy's, the bytes
 * past the copy's NUL set by skip, so that every byte is set when they are equal. The loads
 * may pass v's end within its page (words.h); a value whose 32 bytes could cross a page (or
 * NULL: v - 1 wraps to a page's end, as in family.c) is compared with strcmp(), which stops
 * at v's NUL or at the copy's (within its 32 bytes), so where a value sits never costs a hit. */
static inline int sonde_memo_same(const char *v, const sonde_memo_value *cell)
{
    if (__builtin_expect((((uintptr_t)v - 1) & 4095) >= 4096 - SONDE_MEMO_VALUE, 0))
        return v != NULL && strcmp(v, cell->bytes) == 0;
    __asm__("" : "+r"(v));
    __m128i lo = _mm_loadu_si128((const __m128i *)v), hi = _mm_loadu_si128((const __m128i *)(v + 16));
    __m128i eq_lo = _mm_or_si128(_mm_cmpeq_epi8(lo, _mm_load_si128((const __m128i *)cell->bytes)),
                                 _mm_load_si128((const __m128i *)cell->skip));
    __m128i eq_hi = _mm_or_si128(_mm_cmpeq_epi8(hi, _mm_load_si128((const __m128i *)(cell->bytes + 16))),
                                 _mm_load_si128((const __m128i *)(cell->skip + 16)));
    return _mm_movemask_epi8(_mm_and_si128(eq_lo, eq_hi)) == 0xffff;
}
#else
static inline int sonde_memo_same(const char *v, const sonde_memo_value *cell)
{
    return v != NULL && strcmp(v, cell->bytes) == 0;
}
#endif

/* The child the calling thread last found at the entry at byte offset at (sonde_memo_at) for
 * values, when the entry holds the family's current generation gen (read by the caller from
 * the family) and the values equal the entry's; else NULL. n is the family's label count:
 * an entry is only filled for 1 <= n <= SONDE_MEMO_LABELS, so the generation tells that too
 * (the compares are written out for those four counts). */
static inline struct sonde_child *sonde_memo_find(unsigned at, uint64_t gen, size_t n,
                                                  const char *const *values)
{
    const char *m = (const char *)sonde_tls_memo;
    if (__builtin_expect(m == NULL, 0))
        return NULL;
    sonde_memo_entry *e = (sonde_memo_entry *)(m + at);
    if (e->gen != gen || !values)
        return NULL;
    _Static_assert(SONDE_MEMO_LABELS == 4, "the compares below are written out for 4 values");
    if (!sonde_memo_same(values[0], &e->value[0]))
        return NULL;
    if (n > 1) {
        if (!sonde_memo_same(values[1], &e->value[1]))
            return NULL;
        if (n > 2) {
            if (!sonde_memo_same(values[2], &e->value[2]))
                return NULL;
            if (n > 3 && !sonde_memo_same(values[3], &e->value[3]))
                return NULL;
        }
    }
    e->hit = 1;
    return e->child;
}

/* On a lookup of the family of generation gen that the memo did not answer, e being the
 * family's entry: whether to fill e with the child the lookup finds (then e is emptied
 * first). A family whose last SONDE_MEMO_COLD fills in a row were never used before its next
 * miss (a thread going round several of its children) rests for SONDE_MEMO_QUIET misses with
 * its entry empty: its lookups then cost one compare of the generation, rather than values
 * compared and copied each time for nothing. */
static inline int sonde_memo_admit(sonde_memo_entry *e, uint64_t gen)
{
    if (e->gen == gen) { /* the family's own entry: other values came */
        e->cold = e->hit ? 0 : e->cold + 1;
        if (e->cold >= SONDE_MEMO_COLD) {
            e->gen = 0;
            e->quiet_gen = gen;
            e->quiet = SONDE_MEMO_QUIET;
            e->cold = 0;
            return 0;
        }
    } else if (e->quiet_gen == gen && e->quiet) {
        e->quiet--;
        return 0;
    } else { /* empty, rested, or another family's */
        e->cold = 0;
    }
    e->gen = 0;
    e->hit = 0;
    return 1;
}

#endif
