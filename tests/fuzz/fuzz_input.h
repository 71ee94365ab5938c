/*
 * fuzz_input.h - reading structured choices out of a fuzz input: bytes,
 * bounded integers, doubles and NUL-terminated strings, each consumed from
 * the front. A drained input reads as zeros and empty strings, so every
 * input, however short, is a complete scenario.
 */
#ifndef SONDE_FUZZ_INPUT_H
#define SONDE_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct fuzz_input {
    const uint8_t *p;
    size_t left;
} fuzz_input;

static inline uint8_t fuzz_byte(fuzz_input *in)
{
    if (!in->left)
        return 0;
    in->left--;
    return *in->p++;
}

/* 0..n-1 (n >= 1) */
static inline unsigned fuzz_below(fuzz_input *in, unsigned n)
{
    return fuzz_byte(in) % n;
}

static inline double fuzz_double(fuzz_input *in)
{
    uint8_t b[8] = {0};
    for (int i = 0; i < 8; i++)
        b[i] = fuzz_byte(in);
    double v;
    memcpy(&v, b, sizeof v);
    return v;
}

/* Up to cap-1 bytes into out, NUL-terminated: a length byte, then that many bytes (a NUL in
 * the input ends the string early, as C would see it). Returns the length. */
static inline size_t fuzz_string(fuzz_input *in, char *out, size_t cap)
{
    size_t want = fuzz_byte(in), n = 0;
    while (n < want && n + 1 < cap && in->left) {
        char c = (char)fuzz_byte(in);
        if (!c)
            break;
        out[n++] = c;
    }
    out[n] = '\0';
    return n;
}

/* A name drawn mostly from the characters metric and label names allow, sometimes others,
 * so that both valid and invalid names are common. */
static inline size_t fuzz_name(fuzz_input *in, char *out, size_t cap)
{
    static const char alphabet[] = "abz_:AZ09_a__le";
    size_t want = 1 + fuzz_below(in, 12), n = 0;
    while (n < want && n + 1 < cap) {
        uint8_t b = fuzz_byte(in);
        out[n++] = b < 240 ? alphabet[b % (sizeof alphabet - 1)] : (char)(b - 200);
    }
    out[n] = '\0';
    return n;
}

#endif
