/*
 * hash.h - the library's one string hash: SipHash-1-3 (Aumasson and
 * Bernstein's keyed hash with one compression and three finalisation
 * rounds, the variant CPython and Rust's HashMap use) under a random
 * 128-bit key, inline because hot paths hash their key on every lookup: a
 * core child by its label values, an HTTP route by its name, an LLM route or
 * series by its tuple.
 *
 * Every map (map.h) draws its own key from getrandom() when it is created,
 * so nobody outside the process can compute which strings collide: label
 * values chosen by a client cannot pile up in one probe chain.
 *
 * The hash is streamed: a key is fed as a sequence of strings and integers.
 * Each string is fed followed by a NUL byte, which a C string cannot
 * contain, so the byte stream of a tuple is injective ("a","bc" and "ab","c"
 * differ) and SipHash sees one message: up to 7 bytes wait in `tail` until a
 * whole little-endian word is compressed.
 */
#ifndef SONDE_HASH_H
#define SONDE_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct sonde_hash_key {
    uint64_t k0, k1;
} sonde_hash_key;

/* A fresh random key (getrandom; the clock, the address of k and the pid if that fails). */
void sonde_hash_key_init(sonde_hash_key *k);

typedef struct sonde_hasher {
    uint64_t v0, v1, v2, v3;
    uint64_t tail; /* the (len & 7) bytes not compressed yet, little-endian */
    uint64_t len;  /* bytes fed so far */
} sonde_hasher;

#define SONDE_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static inline void sonde_sip_round(sonde_hasher *h)
{
    h->v0 += h->v1;
    h->v1 = SONDE_ROTL(h->v1, 13);
    h->v1 ^= h->v0;
    h->v0 = SONDE_ROTL(h->v0, 32);
    h->v2 += h->v3;
    h->v3 = SONDE_ROTL(h->v3, 16);
    h->v3 ^= h->v2;
    h->v0 += h->v3;
    h->v3 = SONDE_ROTL(h->v3, 21);
    h->v3 ^= h->v0;
    h->v2 += h->v1;
    h->v1 = SONDE_ROTL(h->v1, 17);
    h->v1 ^= h->v2;
    h->v2 = SONDE_ROTL(h->v2, 32);
}

static inline void sonde_sip_compress(sonde_hasher *h, uint64_t m)
{
    h->v3 ^= m;
    sonde_sip_round(h);
    h->v0 ^= m;
}

static inline void sonde_hasher_init(sonde_hasher *h, const sonde_hash_key *k)
{
    h->v0 = k->k0 ^ 0x736f6d6570736575ull;
    h->v1 = k->k1 ^ 0x646f72616e646f6dull;
    h->v2 = k->k0 ^ 0x6c7967656e657261ull;
    h->v3 = k->k1 ^ 0x7465646279746573ull;
    h->tail = 0;
    h->len = 0;
}

/* Feed the bytes s[0..n). */
static inline void sonde_hasher_bytes(sonde_hasher *h, const char *s, size_t n)
{
    unsigned have = (unsigned)(h->len & 7);
    h->len += n;
    if (have) {
        size_t take = 8 - have;
        if (take > n)
            take = n;
        for (size_t b = 0; b < take; b++)
            h->tail |= (uint64_t)(unsigned char)s[b] << (8 * (have + b));
        if (have + take < 8)
            return;
        sonde_sip_compress(h, h->tail);
        h->tail = 0;
        s += take;
        n -= take;
    }
    for (; n >= 8; s += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        sonde_sip_compress(h, w);
    }
    for (size_t b = 0; b < n; b++) /* a loop beats a variable-size memcpy */
        h->tail |= (uint64_t)(unsigned char)s[b] << (8 * b);
}

/* Feed a string of length n and its terminating NUL. */
static inline void sonde_hasher_str(sonde_hasher *h, const char *s, size_t n)
{
    sonde_hasher_bytes(h, s, n);
    if ((++h->len & 7) == 0) { /* the NUL byte is 0: it only completes the word */
        sonde_sip_compress(h, h->tail);
        h->tail = 0;
    }
}

/* Feed an integer as 8 bytes. */
static inline void sonde_hasher_u64(sonde_hasher *h, uint64_t v)
{
    char b[8];
    memcpy(b, &v, 8);
    sonde_hasher_bytes(h, b, 8);
}

/* The hash of everything fed. */
static inline uint64_t sonde_hasher_end(sonde_hasher *h)
{
    uint64_t b = h->tail | h->len << 56;
    sonde_sip_compress(h, b);
    h->v2 ^= 0xff;
    sonde_sip_round(h);
    sonde_sip_round(h);
    sonde_sip_round(h);
    return h->v0 ^ h->v1 ^ h->v2 ^ h->v3;
}

#endif
