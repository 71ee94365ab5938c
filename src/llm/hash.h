/*
 * hash.h - the hash and equality of the string tuples that key routes and
 * series, inline because every begin and end hashes its tuple.
 *
 * Each string is read eight bytes at a time; each word costs one xor and
 * one multiply by an odd constant (a bijection of the state, so a
 * difference in a word is never cancelled by the multiply itself). The
 * string's length is folded into its last (possibly empty) word, so
 * ("a","bc") and ("ab","c") differ. llm_hash_end() then mixes the high bits
 * into the low ones that index a map (the murmur3 finaliser). NULL hashes
 * and compares as "", which is also how an absent label value is exposed.
 */
#ifndef SONDE_LLM_HASH_H
#define SONDE_LLM_HASH_H

#include <stdint.h>
#include <string.h>

#define LLM_HASH_K 0x9E3779B97F4A7C15ull

static inline uint64_t llm_hash_str(uint64_t h, const char *s)
{
    if (!s)
        s = "";
    size_t len = strlen(s), j = 0;
    for (; j + 8 <= len; j += 8) {
        uint64_t w;
        memcpy(&w, s + j, 8);
        h = (h ^ w) * LLM_HASH_K;
    }
    uint64_t w = 0;
    memcpy(&w, s + j, len - j);
    return (h ^ w ^ ((uint64_t)len << 56)) * LLM_HASH_K;
}

static inline uint64_t llm_hash_int(uint64_t h, uint64_t v)
{
    return (h ^ v) * LLM_HASH_K;
}

static inline uint64_t llm_hash_end(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ull;
    return h ^ (h >> 33);
}

static inline int llm_str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

#endif
