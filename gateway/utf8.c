/*
 * utf8.c - making text safe for JSON and label values. Messages built with
 * snprintf() can hold bytes a client sent (a percent-decoded URL) and can be
 * cut inside a multi-byte character; jansson refuses such strings and sonde
 * refuses them as label values. gw_utf8_fix() rewrites, in place, every byte
 * that is not part of a well-formed UTF-8 sequence (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF) as '?', so the text keeps
 * its length and everything valid in it.
 */
#include "gateway.h"

/* Length of the well-formed sequence at s (1..4), or 0. */
static int seq_len(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    int n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else return 0;
    if (s[1] < lo || s[1] > hi) return 0; /* also stops at the NUL */
    for (int i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf) return 0;
    return n;
}

void gw_utf8_fix(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        int n = seq_len(p);
        if (n == 0) *p++ = '?';
        else p += n;
    }
}
