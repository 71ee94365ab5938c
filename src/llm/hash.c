/*
 * hash.c - the hash and equality of the string tuples that key routes and
 * series. Each string contributes its length and its bytes eight at a time,
 * so ("a","bc") and ("ab","c") differ; NULL is the same as "" everywhere,
 * which is also how an absent label value is exposed.
 */
#include <string.h>

#include "llm_internal.h"

static inline uint64_t mix(uint64_t h, uint64_t w)
{
    h ^= w * 0x9E3779B97F4A7C15ull;
    h = (h << 31) | (h >> 33);
    return h * 0xBF58476D1CE4E5B9ull;
}

uint64_t llm_hash_str(uint64_t h, const char *s)
{
    size_t len = s ? strlen(s) : 0;
    h = mix(h, len);
    size_t j = 0;
    for (; j + 8 <= len; j += 8) {
        uint64_t w;
        memcpy(&w, s + j, 8);
        h = mix(h, w);
    }
    if (j < len) {
        uint64_t w = 0;
        memcpy(&w, s + j, len - j);
        h = mix(h, w);
    }
    return h;
}

uint64_t llm_hash_int(uint64_t h, uint64_t v)
{
    return mix(h, v ^ 0x5851F42D4C957F2Dull);
}

int llm_str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

uint64_t llm_hash_end(uint64_t h)
{
    return h ^ (h >> 29);
}
