/*
 * writer.c - flushing, number formatting and escaping for the exposition.
 * See writer.h.
 */
#include "writer.h"

void sonde_out_flush(sonde_out *o)
{
    if (o->len && !o->err && o->write(o->ud, o->buf, o->len))
        o->err = SONDE_EWRITE;
    o->len = 0;
}

void sonde_out_double(sonde_out *o, double v)
{
    if (o->len + 32 > SONDE_OUT_CAP)
        sonde_out_flush(o);
    o->len += sonde_format_double(v, o->buf + o->len);
}

static void out_escaped(sonde_out *o, const char *s, size_t len, int quote)
{
    const char *end = s + len, *run = s;
    for (const char *p = s; p < end; p++) {
        char c = *p;
        if (c != '\\' && c != '\n' && !(quote && c == '"'))
            continue;
        sonde_out_mem(o, run, (size_t)(p - run));
        sonde_out_mem(o, c == '\n' ? "\\n" : c == '"' ? "\\\"" : "\\\\", 2);
        run = p + 1;
    }
    sonde_out_mem(o, run, (size_t)(end - run));
}

void sonde_out_label_value(sonde_out *o, const char *s, size_t len)
{
    out_escaped(o, s, len, 1);
}

void sonde_out_help(sonde_out *o, const char *s, int quote)
{
    out_escaped(o, s, strlen(s), quote);
}

size_t sonde_escape_label_value(const char *s, char *out)
{
    char *p = out;
    for (; *s; s++) {
        if (*s == '\\' || *s == '"' || *s == '\n') {
            *p++ = '\\';
            *p++ = *s == '\n' ? 'n' : *s;
        } else {
            *p++ = *s;
        }
    }
    return (size_t)(p - out);
}
