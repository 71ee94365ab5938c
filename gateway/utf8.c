/*
 * utf8.c - making text safe for JSON and label values. Messages built with
 * snprintf() can hold bytes a client sent (a percent-decoded URL) and can be
 * cut inside a multi-byte character; jansson refuses such strings and sonde
 * refuses them as label values. gw_utf8_fix() rewrites, in place, every byte
 * that is not part of a well-formed UTF-8 sequence as '?', so the text keeps
 * its length and everything valid in it. The validation itself is the
 * library's one (sonde_utf8_valid_prefix). gw_echo() bounds what of a
 * request field may appear in an error message or a log line.
 */
#include <string.h>

#include "gateway.h"

void gw_utf8_fix(char *s)
{
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        i += sonde_utf8_valid_prefix(s + i, len - i);
        if (i < len) s[i++] = '?';
    }
}

const char *gw_echo(const char *field, gw_echo_buf *buf)
{
    size_t len = strnlen(field, GW_ECHO_MAX + 1);
    size_t keep = len;
    if (len > GW_ECHO_MAX) { /* cut before a continuation byte: never inside a character */
        keep = GW_ECHO_MAX;
        for (int i = 0; i < 3 && keep > 0 && ((unsigned char)field[keep] & 0xc0) == 0x80; i++)
            keep--;
    }
    memcpy(buf->s, field, keep);
    memcpy(buf->s + keep, len > GW_ECHO_MAX ? "..." : "", len > GW_ECHO_MAX ? 4 : 1);
    gw_utf8_fix(buf->s);
    return buf->s;
}
