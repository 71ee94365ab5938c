/*
 * json.c - writing JSON text for the log lines: strings escaped (control
 * characters as \u00XX, invalid UTF-8 as U+FFFD), numbers through the
 * library's locale-free formatter (NaN and infinities, which JSON lacks, as
 * the strings "NaN", "+Inf", "-Inf").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace_internal.h"

/* Room for more bytes and the terminating NUL. */
static int grow(sonde_json_buf *b, size_t more) { return sonde_buf_reserve(b, more + 1); }

void sonde_json_raw(sonde_json_buf *b, const char *s, size_t n)
{
    if (grow(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void sonde_json_string(sonde_json_buf *b, const char *s)
{
    size_t n = strlen(s);
    char *clean = malloc(3 * n + 1);
    if (!clean) {
        b->failed = 1;
        return;
    }
    size_t m = sonde_utf8_sanitize(s, n, 0, clean);
    if (grow(b, 6 * m + 2)) {
        free(clean);
        return;
    }
    char *w = b->p + b->len;
    *w++ = '"';
    for (size_t i = 0; i < m; i++) {
        unsigned char c = (unsigned char)clean[i];
        if (c == '"' || c == '\\') {
            *w++ = '\\';
            *w++ = (char)c;
        } else if (c == '\n') {
            *w++ = '\\', *w++ = 'n';
        } else if (c == '\r') {
            *w++ = '\\', *w++ = 'r';
        } else if (c == '\t') {
            *w++ = '\\', *w++ = 't';
        } else if (c < 0x20 || c == 0x7f) {
            static const char hex[] = "0123456789abcdef";
            *w++ = '\\', *w++ = 'u', *w++ = '0', *w++ = '0';
            *w++ = hex[c >> 4], *w++ = hex[c & 15];
        } else {
            *w++ = (char)c;
        }
    }
    *w++ = '"';
    b->len = (size_t)(w - b->p);
    b->p[b->len] = '\0';
    free(clean);
}

void sonde_json_attr_value(sonde_json_buf *b, const sonde_attr *a)
{
    char num[40];
    switch (a->type) {
    case SONDE_ATTR_STRING:
        sonde_json_string(b, a->v.s ? a->v.s : "");
        break;
    case SONDE_ATTR_INT: {
        int n = snprintf(num, sizeof num, "%lld", (long long)a->v.i); /* %lld: no locale */
        sonde_json_raw(b, num, (size_t)n);
        break;
    }
    case SONDE_ATTR_DOUBLE: {
        size_t n = sonde_format_double(a->v.d, num);
        if (num[0] == 'N' || num[1] == 'I') {
            sonde_json_string(b, num);
        } else {
            sonde_json_raw(b, num, n);
        }
        break;
    }
    default:
        sonde_json_raw(b, a->v.b ? "true" : "false", a->v.b ? 4 : 5);
        break;
    }
}

void sonde_internal_json_string(sonde_buf *b, const char *s) { sonde_json_string(b, s); }
