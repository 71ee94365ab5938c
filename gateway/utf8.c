/*
 * utf8.c - making text safe for JSON and label values. Messages built with
 * snprintf() can hold bytes a client sent (a percent-decoded URL) and can be
 * cut inside a multi-byte character; jansson refuses such strings and sonde
 * refuses them as label values. gw_utf8_fix() rewrites, in place, every byte
 * that is not part of a well-formed UTF-8 sequence as '?', so the text keeps
 * its length and everything valid in it. The validation itself is the
 * library's one (sonde_utf8_valid_prefix).
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
