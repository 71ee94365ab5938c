/*
 * native_pb.h - a native histogram side (positive or negative buckets) as
 * protobuf BucketSpans and delta-encoded counts, the one encoding shared by
 * the protobuf exposition (client_model, expose_pb.c) and remote write
 * (prompb, encode_remote_write.c): both carry BucketSpan{sint32 offset = 1;
 * uint32 length = 2} and sint64 deltas, at their own field numbers.
 */
#ifndef SONDE_NATIVE_PB_H
#define SONDE_NATIVE_PB_H

#include "../trace/pb.h"
#include "native.h"

static inline uint64_t sonde_pb_zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }

/* The n buckets bk (sorted by index, counts > 0) as BucketSpans at span_field (gaps of up
 * to two empty buckets are filled rather than opening a span; offsets from the previous
 * span's end), then the counts as deltas at delta_field: one packed field (prompb, proto3)
 * or one field per delta (client_model, proto2). */
void sonde_native_pb_side(pb_buf *b, const sonde_native_bucket *bk, size_t n, uint32_t span_field,
                          uint32_t delta_field, int packed);

#endif
