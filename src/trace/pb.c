/*
 * pb.c - a protobuf writer for the messages sonde only writes (OTLP traces
 * and logs, remote write): varints, fixed64, doubles, length-delimited
 * fields. Nested messages reserve a five-byte length slot and shrink it on
 * close (one memmove of the body), so a message is written in one pass
 * without sizing it first; a writer that knows a message's size up front
 * (remote write's many small ones) writes its header directly instead, or
 * reserves the whole message (sonde_buf_reserve) and fills it with the
 * inline sonde_pb_put_* helpers. Out of memory marks the buffer failed;
 * pb_finish reports it.
 * Why not protobuf-c: it needs the whole message built as C structs first
 * (one allocation per span, attribute and value) and then packs them; this
 * writes the bytes straight from the spans (docs/tracing.md has the numbers).
 */
#include <stdlib.h>
#include <string.h>

#include "trace_internal.h"

static void raw_varint(pb_buf *b, uint64_t v)
{
    if (sonde_buf_reserve(b, 10))
        return;
    while (v >= 0x80) {
        b->p[b->len++] = (char)(v | 0x80);
        v >>= 7;
    }
    b->p[b->len++] = (char)v;
}

static void tag(pb_buf *b, uint32_t field, int wire) { raw_varint(b, (uint64_t)field << 3 | (uint64_t)wire); }

void sonde_pb_varint(pb_buf *b, uint32_t field, uint64_t v)
{
    tag(b, field, 0);
    raw_varint(b, v);
}

void sonde_pb_fixed64(pb_buf *b, uint32_t field, uint64_t v)
{
    tag(b, field, 1);
    if (sonde_buf_reserve(b, 8))
        return;
    for (int i = 0; i < 8; i++)
        b->p[b->len++] = (char)(v >> (8 * i));
}

void sonde_pb_fixed32(pb_buf *b, uint32_t field, uint32_t v)
{
    tag(b, field, 5);
    if (sonde_buf_reserve(b, 4))
        return;
    for (int i = 0; i < 4; i++)
        b->p[b->len++] = (char)(v >> (8 * i));
}

void sonde_pb_double(pb_buf *b, uint32_t field, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    sonde_pb_fixed64(b, field, u);
}

void sonde_pb_bytes(pb_buf *b, uint32_t field, const void *p, size_t n)
{
    tag(b, field, 2);
    raw_varint(b, n);
    if (sonde_buf_reserve(b, n))
        return;
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

void sonde_pb_string(pb_buf *b, uint32_t field, const char *s) { sonde_pb_bytes(b, field, s, strlen(s)); }

size_t sonde_pb_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

void sonde_pb_header(pb_buf *b, uint32_t field, size_t len)
{
    tag(b, field, 2);
    raw_varint(b, len);
}

size_t sonde_pb_open(pb_buf *b, uint32_t field)
{
    tag(b, field, 2);
    if (sonde_buf_reserve(b, 5))
        return 0;
    b->len += 5;
    return b->len;
}

void sonde_pb_close(pb_buf *b, size_t mark)
{
    if (b->failed)
        return;
    size_t body = b->len - mark;
    if (body > UINT32_MAX) { /* more than the five-byte slot holds (and than OTLP allows) */
        b->failed = 1;
        return;
    }
    uint8_t v[5];
    size_t n = 0;
    uint64_t x = body;
    while (x >= 0x80) {
        v[n++] = (uint8_t)(x | 0x80);
        x >>= 7;
    }
    v[n++] = (uint8_t)x;
    size_t slot = mark - 5;
    memcpy(b->p + slot, v, n);
    if (n < 5) {
        memmove(b->p + slot + n, b->p + mark, body);
        b->len -= 5 - n;
    }
}

/* KeyValue { string key = 1; AnyValue value = 2; }
 * AnyValue { string string_value = 1; bool bool_value = 2; int64 int_value = 3;
 *            double double_value = 4; } */
void sonde_pb_key_value(pb_buf *b, uint32_t field, const char *key, int type, const char *s, int64_t i,
                  double d, int bo)
{
    size_t kv = sonde_pb_open(b, field);
    sonde_pb_string(b, 1, key);
    size_t av = sonde_pb_open(b, 2);
    switch (type) {
    case SONDE_ATTR_STRING:
        sonde_pb_string(b, 1, s);
        break;
    case SONDE_ATTR_BOOL:
        sonde_pb_varint(b, 2, bo != 0);
        break;
    case SONDE_ATTR_INT:
        sonde_pb_varint(b, 3, (uint64_t)i);
        break;
    default:
        sonde_pb_double(b, 4, d);
        break;
    }
    sonde_pb_close(b, av);
    sonde_pb_close(b, kv);
}

int sonde_pb_finish(pb_buf *b, char **out, size_t *len)
{
    if (b->failed) {
        free(b->p);
        *out = NULL;
        *len = 0;
        return SONDE_ENOMEM;
    }
    if (!b->p) { /* an empty message */
        b->p = malloc(1);
        if (!b->p)
            return SONDE_ENOMEM;
    }
    *out = b->p;
    *len = b->len;
    return SONDE_OK;
}
