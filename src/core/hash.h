/*
 * hash.h - the library's one string hash, keyed with a random 128-bit key
 * per map, inline because hot paths hash their key on every lookup: a core
 * child by its label values, an HTTP route by its name, an LLM route or
 * series by its tuple.
 *
 * The construction is wyhash's / rapidhash's (written here from their
 * published design): every step folds up to 16 input bytes into the state
 * with one "mum", the 64x64 -> 128-bit multiply whose halves are xored, of
 * (input ^ secret) by (input ^ state). Every map draws its key from
 * getrandom() when it is created (hash.c) and the secrets come from the key,
 * so nobody outside the process can tell which strings collide: label values
 * that a client chooses cannot pile up in one probe chain, and a
 * multiplication by zero (input equal to a secret) cannot be aimed at.
 * SipHash-1-3 was measured too: twice the cost of this on the three label
 * values of the labeled_inc benchmark, which hashes on every call.
 *
 * The hash is streamed: a key is fed as a sequence of strings and integers.
 * Each step mixes in the string's length, so the tuples ("a","bc") and
 * ("ab","c") differ. A string of up to 16 bytes is folded as two words: its
 * bytes 0..7 and 8..15, zero past its end, read little-endian; longer ones 16
 * bytes at a time. sonde_hasher_cstr() hashes a NUL-terminated string and
 * measures it in the same pass, so a lookup by C strings (label values) needs
 * no strlen() before it hashes; sonde_hasher_loaded() is its second half, for
 * a caller that loaded the string's first 16 bytes itself (the child lookup,
 * which copies them too, family.c). On x86-64 the multiply is one mulq in
 * inline assembly: GCC may otherwise spill the 128-bit product to the stack,
 * on the chain of dependent multiplies.
 *
 * The reads of a short string may pass its end within its page (words.h);
 * where the build does not allow that, and when the string sits at the end
 * of a page, its bytes are copied into a zeroed buffer: the same words, the
 * same hash.
 */
#ifndef SONDE_HASH_H
#define SONDE_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef __x86_64__
#include <emmintrin.h>
#endif

#include "words.h"

typedef struct sonde_hash_key {
    uint64_t k0, k1;
} sonde_hash_key;

/* A fresh random key (getrandom; the clock, an address and the pid if that fails). */
void sonde_hash_key_init(sonde_hash_key *k);

typedef struct sonde_hasher {
    uint64_t state;
    uint64_t secret0, secret1; /* from the key */
    uint64_t len;              /* bytes fed so far */
} sonde_hasher;

static inline uint64_t sonde_mum(uint64_t a, uint64_t b)
{
#if defined(__x86_64__) && defined(__GNUC__)
    /* one mulq, its halves in registers: GCC may spill a __uint128_t product to the stack */
    uint64_t lo, hi;
    __asm__("mulq %3" : "=a"(lo), "=d"(hi) : "a"(a), "rm"(b) : "cc");
    return lo ^ hi;
#else
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
#endif
}

/* The two words of a string of n <= 16 bytes: bytes 0..7 and 8..15, zero past the end. */
static inline void sonde_short_words(const char *s, size_t n, uint64_t *a, uint64_t *b)
{
#if SONDE_WORDS_OVERREAD
    if (__builtin_expect(sonde_words_page_safe(s, 16), 1)) {
        *a = sonde_low_bytes(sonde_read64_past(s), n);
        *b = n > 8 ? sonde_low_bytes(sonde_read64_past(s + 8), n - 8) : 0;
        return;
    }
#endif
    char buf[16] = {0};
    memcpy(buf, s, n);
    *a = sonde_read64(buf);
    *b = sonde_read64(buf + 8);
}

static inline void sonde_hasher_init(sonde_hasher *h, const sonde_hash_key *k)
{
    h->secret0 = k->k1 ^ 0xa0761d6478bd642full;
    h->secret1 = (k->k1 << 32 | k->k1 >> 32) ^ 0xe7037ed1a0b428dbull;
    h->state = k->k0; /* the first fold multiplies it in */
    h->len = 0;
}

/* Fold the 16 bytes (a, b) of a piece of n bytes into the state. */
static inline void sonde_hasher_fold(sonde_hasher *h, uint64_t a, uint64_t b, uint64_t n)
{
    h->state = sonde_mum(a ^ h->secret0, b ^ h->state ^ n);
    h->len += n;
}

/* Feed the string s[0..n). */
static inline void sonde_hasher_str(sonde_hasher *h, const char *s, size_t n)
{
    uint64_t a, b;
    if (__builtin_expect(n <= 16, 1)) {
        sonde_short_words(s, n, &a, &b);
    } else {
        const char *p = s;
        size_t left = n;
        for (; left > 16; p += 16, left -= 16)
            h->state = sonde_mum(sonde_read64(p) ^ h->secret1, sonde_read64(p + 8) ^ h->state);
        a = sonde_read64(p + left - 16); /* the last 16 bytes, overlapping the blocks before */
        b = sonde_read64(p + left - 8);
    }
    sonde_hasher_fold(h, a, b, n);
}

#if SONDE_WORDS_OVERREAD && defined(__x86_64__)
/* sonde_hasher_str(h, s, n) for a caller that has already loaded the 16 bytes at s (which may
 * pass its end, words.h) into lo: a string of up to 16 bytes is folded from the register. */
static inline void sonde_hasher_loaded(sonde_hasher *h, const char *s, size_t n, __m128i lo)
{
    /* 16 - n bytes into this, 16 bytes: n bytes of ones, then zeros */
    static const unsigned char keep[32] = {255, 255, 255, 255, 255, 255, 255, 255,
                                           255, 255, 255, 255, 255, 255, 255, 255};
    if (__builtin_expect(n <= 16, 1)) {
        __m128i kept = _mm_and_si128(lo, _mm_loadu_si128((const __m128i *)(keep + 16 - n)));
        sonde_hasher_fold(h, (uint64_t)_mm_cvtsi128_si64(kept),
                          (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(kept, kept)), n);
    } else {
        sonde_hasher_str(h, s, n);
    }
}
#endif

/* Feed the NUL-terminated string s (the same as sonde_hasher_str(h, s, strlen(s))) and
 * return its length: a string of up to 31 bytes is measured from the words it is read in. */
static inline size_t sonde_hasher_cstr(sonde_hasher *h, const char *s)
{
    size_t n;
#if SONDE_WORDS_OVERREAD && defined(__x86_64__)
    /* Up to 16 bytes (label values mostly are), whatever the length, in one path: the first
     * zero of 32 bytes found with two compares, the bytes past it masked off. */
    if (__builtin_expect(sonde_words_page_safe(s, 32), 1)) {
        const char *p = s;
        __asm__("" : "+r"(p)); /* the loads may pass the string's end (words.h) */
        __m128i lo = _mm_loadu_si128((const __m128i *)p), hi = _mm_loadu_si128((const __m128i *)(p + 16));
        __m128i zero = _mm_setzero_si128();
        unsigned z = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(lo, zero)) |
                     (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(hi, zero)) << 16;
        if (__builtin_expect(z != 0, 1)) {
            n = (size_t)__builtin_ctz(z);
            sonde_hasher_loaded(h, s, n, lo);
            return n;
        }
    }
#elif SONDE_WORDS_OVERREAD
    if (__builtin_expect(sonde_words_page_safe(s, 32), 1)) {
        uint64_t a = sonde_read64_past(s), z = sonde_zero_bytes(a);
        if (z) {
            n = sonde_first_marked(z);
            sonde_hasher_fold(h, sonde_low_bytes(a, n), 0, n);
            return n;
        }
        uint64_t b = sonde_read64_past(s + 8);
        if ((z = sonde_zero_bytes(b))) {
            n = 8 + sonde_first_marked(z);
            sonde_hasher_fold(h, a, sonde_low_bytes(b, n - 8), n);
            return n;
        }
        for (size_t at = 16; at < 32; at += 8)
            if ((z = sonde_zero_bytes(sonde_read64_past(s + at)))) {
                n = at + sonde_first_marked(z);
                sonde_hasher_str(h, s, n);
                return n;
            }
    }
#endif
    n = strlen(s);
    sonde_hasher_str(h, s, n);
    return n;
}

/* Feed an integer. */
static inline void sonde_hasher_u64(sonde_hasher *h, uint64_t v)
{
    h->state = sonde_mum(v ^ h->secret1, h->state ^ h->secret0);
    h->len += 8;
}

/* The hash of everything fed. */
static inline uint64_t sonde_hasher_end(const sonde_hasher *h)
{
    return sonde_mum(h->state ^ h->secret1, h->len ^ h->secret0);
}

#endif
