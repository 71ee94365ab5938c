/*
 * utf8.c - copying text from outside into spans and log records: valid UTF-8
 * goes through, every byte that does not start a valid sequence becomes
 * U+FFFD, and the copy may stop after a number of characters (the attribute
 * value length limit counts characters, so a cut never splits one).
 */
#include <string.h>

#include "trace_internal.h"

/* Length of the valid UTF-8 sequence at s (of n bytes left), or 0. */
static size_t seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned min;
    unsigned cp;
    if ((c & 0xe0) == 0xc0)
        len = 2, min = 0x80, cp = c & 0x1f;
    else if ((c & 0xf0) == 0xe0)
        len = 3, min = 0x800, cp = c & 0x0f;
    else if ((c & 0xf8) == 0xf0)
        len = 4, min = 0x10000, cp = c & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

size_t sonde_utf8_sanitize(const char *str, size_t n, size_t max_chars, char *out)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, w = 0, chars = 0;
    /* The common case is ASCII: find its run eight bytes at a time and copy it whole. */
    size_t ascii_end = max_chars && max_chars < n ? max_chars : n;
    while (i + 8 <= ascii_end) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        if (x & 0x8080808080808080ull)
            break;
        i += 8;
    }
    while (i < ascii_end && s[i] < 0x80)
        i++;
    memcpy(out, s, i);
    w = chars = i;
    while (i < n && (!max_chars || chars < max_chars)) {
        size_t len = seq_len(s + i, n - i);
        if (len) {
            for (size_t k = 0; k < len; k++)
                out[w++] = (char)s[i + k];
            i += len;
        } else {
            out[w++] = (char)0xef, out[w++] = (char)0xbf, out[w++] = (char)0xbd;
            i++;
        }
        chars++;
    }
    return w;
}
