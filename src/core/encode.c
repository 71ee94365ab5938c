/*
 * encode.c - base64 and the constant-time comparison of secrets, shared by
 * the embedded server (basic auth, bearer tokens) and the programs built on
 * the library (sonde-gateway's API keys and base64 embeddings), so there is
 * one of each. The comparison walks the whole expected secret whatever the
 * input, so its time says nothing about how much of a guess was right
 * (only the expected length may leak, as with any comparison).
 */
#include <stdlib.h>

#include "internal.h"

char *sonde_base64(const void *data, size_t len)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (!data || len > (SIZE_MAX - 1) / 4 * 3 - 2)
        return NULL;
    char *out = malloc((len + 2) / 3 * 4 + 1);
    if (!out)
        return NULL;
    const unsigned char *u = data;
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        unsigned v = (unsigned)u[i] << 16 | (unsigned)u[i + 1] << 8 | u[i + 2];
        out[o++] = tab[v >> 18];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = tab[(v >> 6) & 63];
        out[o++] = tab[v & 63];
    }
    if (i < len) {
        unsigned v = (unsigned)u[i] << 16 | (i + 1 < len ? (unsigned)u[i + 1] << 8 : 0);
        out[o++] = tab[v >> 18];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return out;
}

int sonde_secret_equal(const char *got, size_t got_len, const char *want, size_t want_len)
{
    if (!got || !want)
        return 0;
    volatile unsigned char diff = got_len != want_len;
    for (size_t i = 0; i < want_len; i++) {
        unsigned char g = got_len ? (unsigned char)got[i < got_len ? i : 0] : 0;
        diff |= (unsigned char)(g ^ (unsigned char)want[i]);
    }
    return diff == 0;
}
