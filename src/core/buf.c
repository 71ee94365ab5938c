/*
 * buf.c - the library's one growable byte buffer, for the encoders that build
 * a whole message in memory before handing it on (the protobuf writer of
 * OTLP, the JSON log lines). Capacity doubles; running out of memory marks
 * the buffer failed, after which every write is skipped, so an encoder
 * checks once at the end instead of after every field.
 */
#include <stdint.h>
#include <stdlib.h>

#include "core_iface.h"

int sonde_buf_reserve(sonde_buf *b, size_t more)
{
    if (b->failed)
        return -1;
    if (more <= b->cap - b->len)
        return 0;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap - b->len < more) {
        if (cap > SIZE_MAX / 2) {
            b->failed = 1;
            return -1;
        }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) {
        b->failed = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}
