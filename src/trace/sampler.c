/*
 * sampler.c - the OpenTelemetry samplers. The ratio is decided from the trace
 * id alone so that every service of a trace decides alike: the last 8 bytes
 * of the id read big-endian as x, sampled when x < ratio * 2^64. These are
 * the bytes that W3C Trace Context Level 2 declares random and that newer
 * OpenTelemetry SDKs compare (the Go SDK 1.1 instead took bytes 0..7 shifted
 * right by one: with random ids both sample the same fraction, but only one
 * rule per deployment agrees trace by trace; docs/tracing.md says which).
 */
#include <math.h>

#include "trace_internal.h"

static int ratio_decide(double ratio, const uint8_t trace_id[16])
{
    if (!(ratio > 0))
        return 0;
    if (ratio >= 1)
        return 1;
    uint64_t x = 0;
    for (int i = 8; i < 16; i++)
        x = x << 8 | trace_id[i];
    /* ratio * 2^64 as an integer bound: ldexp is exact, the cast truncates below 2^64. */
    uint64_t bound = (uint64_t)ldexp(ratio, 64);
    return x < bound;
}

int sonde_sampler_decide(sonde_sampler_kind kind, double ratio, const sonde_span_context *parent,
                         const uint8_t trace_id[16])
{
    if (!trace_id)
        return 0;
    if (kind == SONDE_SAMPLER_ALWAYS_ON || kind == SONDE_SAMPLER_ALWAYS_OFF)
        return kind == SONDE_SAMPLER_ALWAYS_ON; /* no parent to look at */
    int has_parent = sonde_span_context_valid(parent);
    switch (kind) {
    case SONDE_SAMPLER_TRACEIDRATIO:
        return ratio_decide(ratio, trace_id);
    case SONDE_SAMPLER_PARENTBASED_ALWAYS_OFF:
        return has_parent ? (parent->flags & SONDE_TRACE_FLAG_SAMPLED) != 0 : 0;
    case SONDE_SAMPLER_PARENTBASED_TRACEIDRATIO:
        return has_parent ? (parent->flags & SONDE_TRACE_FLAG_SAMPLED) != 0
                          : ratio_decide(ratio, trace_id);
    case SONDE_SAMPLER_UNSET:
    case SONDE_SAMPLER_PARENTBASED_ALWAYS_ON:
    default:
        return has_parent ? (parent->flags & SONDE_TRACE_FLAG_SAMPLED) != 0 : 1;
    }
}
