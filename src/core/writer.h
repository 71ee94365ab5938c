/*
 * writer.h - the buffered output of the exposition: a 64 KiB buffer in
 * front of the caller's write callback, plus the escaping rules of the text
 * formats. Escaping scans for the rare characters and copies runs between
 * them in one memcpy, so ordinary label values cost a scan and a copy.
 */
#ifndef SONDE_WRITER_H
#define SONDE_WRITER_H

#include <string.h>

#include "internal.h"

#define SONDE_OUT_CAP 65536

typedef struct sonde_out {
    sonde_write_fn write;
    void *ud;
    int err;
    size_t len;
    char buf[SONDE_OUT_CAP];
} sonde_out;

void sonde_out_flush(sonde_out *o);

static inline void sonde_out_mem(sonde_out *o, const char *p, size_t n)
{
    if (__builtin_expect(o->len + n > SONDE_OUT_CAP, 0)) {
        sonde_out_flush(o);
        if (n > SONDE_OUT_CAP) {
            if (!o->err && o->write(o->ud, p, n))
                o->err = SONDE_EWRITE;
            return;
        }
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
}

static inline void sonde_out_str(sonde_out *o, const char *s)
{
    sonde_out_mem(o, s, strlen(s));
}

static inline void sonde_out_char(sonde_out *o, char c)
{
    if (__builtin_expect(o->len == SONDE_OUT_CAP, 0))
        sonde_out_flush(o);
    o->buf[o->len++] = c;
}

void sonde_out_double(sonde_out *o, double v);

/* Label value: \ " and newline escaped. */
void sonde_out_label_value(sonde_out *o, const char *s, size_t len);
/* HELP text: \ and newline escaped, and " too when quote is set (OpenMetrics). */
void sonde_out_help(sonde_out *o, const char *s, int quote);

#endif
