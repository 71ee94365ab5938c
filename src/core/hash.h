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
 * ("ab","c") differ; strings of up to 16 bytes are read with at most four
 * overlapping 4-byte loads (no loop, never past the end), longer ones 16
 * bytes at a time.
 */
#ifndef SONDE_HASH_H
#define SONDE_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

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
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t sonde_read32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline uint64_t sonde_read64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
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
        if (n >= 4) {
            size_t mid = (n >> 3) << 2; /* 0 for 4..7 bytes, 4 for 8..16 */
            a = sonde_read32(s) << 32 | sonde_read32(s + mid);
            b = sonde_read32(s + n - 4) << 32 | sonde_read32(s + n - 4 - mid);
        } else if (n > 0) {
            a = (uint64_t)(unsigned char)s[0] << 16 | (uint64_t)(unsigned char)s[n >> 1] << 8 |
                (unsigned char)s[n - 1];
            b = 0;
        } else {
            a = b = 0;
        }
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
