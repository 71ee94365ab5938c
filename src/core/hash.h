/*
 * hash.h - the library's one string hash, inline because hot paths hash
 * their key on every lookup: a core child by its label values, an HTTP route
 * by its name, an LLM route or series by its tuple.
 *
 * A string is read eight bytes at a time; each word costs one xor and one
 * multiply by an odd constant (a bijection of the state, so a difference in
 * a word is never cancelled by the multiply itself). The string's length is
 * folded into its last (possibly empty) word, so the tuples ("a","bc") and
 * ("ab","c") differ. A multiply only carries differences upwards, so
 * sonde_hash_end() mixes the high bits into the low ones that index a table
 * (the murmur3 finaliser); every hash is finished with it.
 */
#ifndef SONDE_HASH_H
#define SONDE_HASH_H

#include <stdint.h>
#include <string.h>

#define SONDE_HASH_K 0x9E3779B97F4A7C15ull

/* Fold s[0..len) into h. */
static inline uint64_t sonde_hash_bytes(uint64_t h, const char *s, size_t len)
{
    size_t j = 0;
    for (; j + 8 <= len; j += 8) {
        uint64_t w;
        memcpy(&w, s + j, 8);
        h = (h ^ w) * SONDE_HASH_K;
    }
    uint64_t tail = (uint64_t)len << 56; /* tail bytes: a loop beats a variable-size memcpy */
    for (size_t b = 0; j + b < len; b++)
        tail ^= (uint64_t)(unsigned char)s[j + b] << (8 * b);
    return (h ^ tail) * SONDE_HASH_K;
}

/* Fold an integer into h. */
static inline uint64_t sonde_hash_u64(uint64_t h, uint64_t v)
{
    return (h ^ v) * SONDE_HASH_K;
}

/* The finished hash of state h. */
static inline uint64_t sonde_hash_end(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ull;
    return h ^ (h >> 33);
}

#endif
