/*
 * pb.c - a protobuf writer for the messages sonde only writes (OTLP traces,
 * logs and metrics, remote write, the Prometheus protobuf exposition):
 * varints, fixed64, doubles, length-delimited fields, packed repeated
 * scalars. Nested messages reserve a one-byte length slot and, on close,
 * fill it in place when the body is shorter than 128 bytes (most label
 * pairs, values, attributes) or move the body up to make room for the longer
 * length (nesting closes in LIFO order, so the only marks inside a moved
 * body are already closed), so a message is written in one pass without
 * sizing it first. Containers the caller knows to be large (the OTLP metrics
 * request's resource, scope and metrics, many megabytes) open with a
 * five-byte slot instead and close with a padded varint (continuation bits
 * on the first four bytes: valid protobuf, read as any varint), so their
 * body never moves. A writer that knows a message's size up front writes its
 * header directly (sonde_pb_header), or reserves the whole message
 * (sonde_buf_reserve) and fills it with the inline sonde_pb_put_* helpers of
 * pb.h. Out of memory marks the buffer failed; pb_finish reports it.
 * Why not protobuf-c: it needs the whole message built as C structs first
 * (one allocation per span, attribute and value) and then packs them; this
 * writes the bytes straight from the spans (docs/tracing.md has the numbers).
 */
#include <stdlib.h>
#include <string.h>

#include "trace_internal.h"

/* sonde_buf_reserve's answer, without the call when there is room (every field asks). */
static inline int room(pb_buf *b, size_t more)
{
    return !b->failed && more <= b->cap - b->len ? 0 : sonde_buf_reserve(b, more);
}

static void raw_varint(pb_buf *b, uint64_t v)
{
    if (room(b, 10))
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
    if (room(b, 8))
        return;
    for (int i = 0; i < 8; i++)
        b->p[b->len++] = (char)(v >> (8 * i));
}

void sonde_pb_fixed32(pb_buf *b, uint32_t field, uint32_t v)
{
    tag(b, field, 5);
    if (room(b, 4))
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
    if (room(b, n))
        return;
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

void sonde_pb_string(pb_buf *b, uint32_t field, const char *s) { sonde_pb_bytes(b, field, s, strlen(s)); }

void sonde_pb_header(pb_buf *b, uint32_t field, size_t len)
{
    tag(b, field, 2);
    raw_varint(b, len);
}

void sonde_pb_packed_varint(pb_buf *b, uint32_t field, const uint64_t *v, size_t n)
{
    size_t size = 0;
    for (size_t k = 0; k < n; k++)
        size += sonde_pb_varint_size(v[k]);
    tag(b, field, 2);
    raw_varint(b, size);
    for (size_t k = 0; k < n; k++)
        raw_varint(b, v[k]);
}

void sonde_pb_packed_fixed64(pb_buf *b, uint32_t field, const uint64_t *v, size_t n)
{
    tag(b, field, 2);
    raw_varint(b, (uint64_t)n * 8);
    if (room(b, n * 8))
        return;
    for (size_t k = 0; k < n; k++)
        for (int i = 0; i < 8; i++)
            b->p[b->len++] = (char)(v[k] >> (8 * i));
}

void sonde_pb_packed_double(pb_buf *b, uint32_t field, const double *v, size_t n)
{
    tag(b, field, 2);
    raw_varint(b, (uint64_t)n * 8);
    if (room(b, n * 8))
        return;
    for (size_t k = 0; k < n; k++) {
        uint64_t u;
        memcpy(&u, &v[k], 8);
        for (int i = 0; i < 8; i++)
            b->p[b->len++] = (char)(u >> (8 * i));
    }
}

size_t sonde_pb_open(pb_buf *b, uint32_t field)
{
    tag(b, field, 2);
    if (room(b, 1))
        return 0;
    b->len += 1; /* a one-byte length slot: most messages are shorter than 128 bytes */
    return b->len;
}

void sonde_pb_close(pb_buf *b, size_t mark)
{
    if (b->failed)
        return;
    size_t body = b->len - mark;
    if (body > UINT32_MAX) { /* more than OTLP allows */
        b->failed = 1;
        return;
    }
    if (body < 0x80) { /* the common case: the length fits its slot, nothing moves */
        b->p[mark - 1] = (char)body;
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
    if (room(b, n - 1))
        return;
    memmove(b->p + mark + n - 1, b->p + mark, body); /* make room for the longer length */
    memcpy(b->p + mark - 1, v, n);
    b->len += n - 1;
}

size_t sonde_pb_open_large(pb_buf *b, uint32_t field)
{
    tag(b, field, 2);
    if (room(b, 5))
        return 0;
    b->len += 5;
    return b->len;
}

void sonde_pb_close_large(pb_buf *b, size_t mark)
{
    if (b->failed)
        return;
    size_t body = b->len - mark;
    if (body >> 35) { /* more than five varint bytes hold */
        b->failed = 1;
        return;
    }
    uint64_t x = body;
    for (size_t i = 0; i < 4; i++, x >>= 7)
        b->p[mark - 5 + i] = (char)((x & 0x7f) | 0x80);
    b->p[mark - 1] = (char)x;
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
