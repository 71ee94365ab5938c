/*
 * utf8.c - copying text from outside into spans and log records: valid UTF-8
 * goes through, every byte that does not start a valid sequence becomes
 * U+FFFD, and the copy may stop after a number of characters (the attribute
 * value length limit counts characters, so a cut never splits one).
 */
#include <string.h>

#include "sonde/util.h"
#include "trace_internal.h"

/*
 * Length of the valid UTF-8 sequence at s (of n bytes left), or 0. The
 * project's one validator decides validity; the lead byte gives the length of
 * the first sequence of the valid prefix it finds.
 */
static size_t seq_len(const unsigned char *s, size_t n)
{
    if (!sonde_utf8_valid_prefix((const char *)s, n < 4 ? n : 4))
        return 0;
    return s[0] < 0x80 ? 1 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
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
