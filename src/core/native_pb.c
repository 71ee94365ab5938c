/*
 * native_pb.c - native histogram buckets as protobuf spans and deltas
 * (native_pb.h). A span runs while the next bucket is at most three indexes
 * on (two empty ones between are filled with a zero count, cheaper than a new
 * span, as client_golang does); each count is written as its difference from
 * the previous bucket's, the filled ones included.
 */
#include "native_pb.h"

/* Calls put(delta) for every bucket of the spans, filled ones included. */
#define FOR_EACH_DELTA(bk, n, put)                                                        \
    do {                                                                                  \
        int64_t prev_ = 0;                                                                \
        for (size_t i_ = 0; i_ < (n); i_++) {                                             \
            if (i_ > 0 && (bk)[i_].index - (bk)[i_ - 1].index <= 3)                       \
                for (int32_t k_ = (bk)[i_ - 1].index + 1; k_ < (bk)[i_].index; k_++) {    \
                    put(sonde_pb_zigzag(-prev_));                                         \
                    prev_ = 0;                                                            \
                }                                                                         \
            put(sonde_pb_zigzag((int64_t)(bk)[i_].count - prev_));                        \
            prev_ = (int64_t)(bk)[i_].count;                                              \
        }                                                                                 \
    } while (0)

void sonde_native_pb_side(pb_buf *b, const sonde_native_bucket *bk, size_t n, uint32_t span_field,
                          uint32_t delta_field, int packed)
{
    int32_t next = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && bk[j].index - bk[j - 1].index <= 3)
            j++;
        size_t m = sonde_pb_open(b, span_field);
        int32_t offset = i == 0 ? bk[i].index : bk[i].index - next;
        if (offset)
            sonde_pb_varint(b, 1, sonde_pb_zigzag(offset));
        sonde_pb_varint(b, 2, (uint64_t)(bk[j - 1].index - bk[i].index + 1));
        sonde_pb_close(b, m);
        next = bk[j - 1].index + 1;
        i = j;
    }
    if (!n)
        return;
    if (!packed) {
#define PUT_FIELD(v) sonde_pb_varint(b, delta_field, (v))
        FOR_EACH_DELTA(bk, n, PUT_FIELD);
#undef PUT_FIELD
        return;
    }
    size_t len = 0;
#define ADD_SIZE(v) (len += sonde_pb_varint_size(v))
    FOR_EACH_DELTA(bk, n, ADD_SIZE);
#undef ADD_SIZE
    sonde_pb_header(b, delta_field, len);
    if (b->failed || sonde_buf_reserve(b, len))
        return;
    char *p = b->p + b->len;
#define PUT_RAW(v) (p = sonde_pb_put_varint(p, (v)))
    FOR_EACH_DELTA(bk, n, PUT_RAW);
#undef PUT_RAW
    b->len += len;
}
