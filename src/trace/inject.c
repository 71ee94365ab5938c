/*
 * inject.c - the W3C headers of an outgoing request from a span context:
 * "traceparent: ..." and "tracestate: ..." lines for any HTTP client
 * (libcurl takes them as they are), so that libsonde itself needs no HTTP
 * client. The traceparent is sonde_traceparent_format()'s; the tracestate
 * is the context's, which parsing and span starts keep a valid W3C list,
 * and is checked again here (printable ASCII, bounded) because a context
 * is a plain struct a caller may have filled by hand: nothing may smuggle a
 * line break into the caller's request.
 */
#include <string.h>

#include "sonde/error.h"
#include "sonde/trace.h"

static int printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

int sonde_trace_headers_fill(const sonde_span_context *ctx, sonde_trace_headers *out)
{
    static const char tp[] = "traceparent: ", ts[] = "tracestate: ";
    if (!out)
        return SONDE_EINVAL;
    out->traceparent[0] = '\0';
    out->tracestate[0] = '\0';
    if (!sonde_span_context_valid(ctx))
        return SONDE_EINVAL;
    memcpy(out->traceparent, tp, sizeof tp - 1);
    if (sonde_traceparent_format(ctx, out->traceparent + sizeof tp - 1) != SONDE_OK) {
        out->traceparent[0] = '\0';
        return SONDE_EINVAL;
    }
    size_t n = strnlen(ctx->tracestate, SONDE_TRACESTATE_MAX + 1);
    if (n > 0 && n <= SONDE_TRACESTATE_MAX && printable(ctx->tracestate, n)) {
        memcpy(out->tracestate, ts, sizeof ts - 1);
        memcpy(out->tracestate + sizeof ts - 1, ctx->tracestate, n);
        out->tracestate[sizeof ts - 1 + n] = '\0';
    }
    return SONDE_OK;
}
