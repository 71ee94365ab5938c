/*
 * pb.h - the protobuf writer (pb.c): the messages sonde only writes (OTLP
 * traces, logs and metrics; remote write; the Prometheus protobuf exposition
 * of src/core/expose_pb.c) are encoded by hand into a sonde_buf. Field numbers
 * and wire types are the caller's; repeated scalars are written unpacked, or
 * packed with sonde_pb_packed_*.
 */
#ifndef SONDE_PB_H
#define SONDE_PB_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core_iface.h"

typedef sonde_buf pb_buf; /* the core's growable buffer (core_iface.h) */

void sonde_pb_varint(pb_buf *b, uint32_t field, uint64_t v);
void sonde_pb_fixed64(pb_buf *b, uint32_t field, uint64_t v);
void sonde_pb_fixed32(pb_buf *b, uint32_t field, uint32_t v);
void sonde_pb_double(pb_buf *b, uint32_t field, double v);
void sonde_pb_bytes(pb_buf *b, uint32_t field, const void *p, size_t n);
void sonde_pb_string(pb_buf *b, uint32_t field, const char *s);
/* A nested message whose size is known up front: its tag and length (the caller then
 * writes exactly len bytes of fields, no slot to patch); the size of a varint. */
void sonde_pb_header(pb_buf *b, uint32_t field, size_t len);
static inline size_t sonde_pb_varint_size(uint64_t v)
{
    return ((size_t)(63 - __builtin_clzll(v | 1)) * 9 + 73) / 64; /* 7 bits a byte, no loop */
}
/* The hot path of a writer that sized its message: it reserves the room
 * (sonde_buf_reserve), fills it with these helpers, which return where they stopped, and
 * adds what it wrote to b->len. */
static inline char *sonde_pb_put_varint(char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (char)v;
    return p;
}
/* A length-delimited field's tag and length (field numbers below 16), then n bytes. */
/* n bytes to p: short ones (label names and values mostly are) with two overlapping loads and
 * stores of 8, 4 or 1 bytes, inline, instead of a call to memcpy. */
static inline char *sonde_pb_put_raw(char *p, const void *data, size_t n)
{
    const char *d = data;
    if (n > 16) {
        memcpy(p, d, n);
    } else if (n >= 8) {
        uint64_t a, z;
        memcpy(&a, d, 8);
        memcpy(&z, d + n - 8, 8);
        memcpy(p, &a, 8);
        memcpy(p + n - 8, &z, 8);
    } else if (n >= 4) {
        uint32_t a, z;
        memcpy(&a, d, 4);
        memcpy(&z, d + n - 4, 4);
        memcpy(p, &a, 4);
        memcpy(p + n - 4, &z, 4);
    } else if (n) {
        p[0] = d[0];
        p[n / 2] = d[n / 2];
        p[n - 1] = d[n - 1];
    }
    return p + n;
}
static inline char *sonde_pb_put_bytes(char *p, uint32_t field, const void *data, size_t n)
{
    *p++ = (char)(field << 3 | 2);
    p = sonde_pb_put_varint(p, n);
    return sonde_pb_put_raw(p, data, n);
}
/* A packed repeated uint64 (varints) / fixed64 / double field of n values. */
void sonde_pb_packed_varint(pb_buf *b, uint32_t field, const uint64_t *v, size_t n);
void sonde_pb_packed_fixed64(pb_buf *b, uint32_t field, const uint64_t *v, size_t n);
void sonde_pb_packed_double(pb_buf *b, uint32_t field, const double *v, size_t n);
/* Nested messages: open returns a mark, close patches the length in (a one-byte slot is
 * reserved; a body of 128 bytes or more is moved up to make room). Close in LIFO order. */
size_t sonde_pb_open(pb_buf *b, uint32_t field);
void sonde_pb_close(pb_buf *b, size_t mark);
/* The same for a container known to be large: a five-byte slot, closed with a padded
 * varint, so the body never moves (five bytes where a small one would take one or two). */
size_t sonde_pb_open_large(pb_buf *b, uint32_t field);
void sonde_pb_close_large(pb_buf *b, size_t mark);

#endif
