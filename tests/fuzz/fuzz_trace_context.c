/*
 * fuzz_trace_context.c - the W3C Trace Context parsers on arbitrary bytes:
 * the input is split at its first NUL into a traceparent and a tracestate.
 * Checks: no crash or over-read; a parsed context is valid, writes back as a
 * 55-byte version-00 header that parses to the same ids and sampled flag; its
 * tracestate is within SONDE_TRACESTATE_MAX, has at most 32 members, and
 * parses again to itself (the normalised form is a fixed point); a refused
 * header leaves zero ids and flags and an empty tracestate.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sonde/sonde.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 2);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = s[size + 1] = '\0';
    const char *traceparent = s, *tracestate = s + strlen(s) + 1;
    if (tracestate > s + size)
        tracestate = NULL;
    sonde_span_context c;
    int rc = sonde_traceparent_parse(traceparent, tracestate, &c);
    if (rc != SONDE_OK) {
        static const sonde_span_context zero;
        if (memcmp(&c, &zero, offsetof(sonde_span_context, tracestate)) != 0 || c.tracestate[0])
            abort();
        free(s);
        return 0;
    }
    if (!sonde_span_context_valid(&c) || c.remote != 1)
        abort();
    size_t tl = strlen(c.tracestate);
    if (tl > SONDE_TRACESTATE_MAX)
        abort();
    size_t members = tl ? 1 : 0;
    for (size_t i = 0; i < tl; i++)
        members += c.tracestate[i] == ',';
    if (members > SONDE_TRACESTATE_MAX_MEMBERS)
        abort();
    char out[SONDE_TRACEPARENT_LEN + 1];
    if (sonde_traceparent_format(&c, out) != SONDE_OK || strlen(out) != SONDE_TRACEPARENT_LEN)
        abort();
    sonde_span_context again;
    if (sonde_traceparent_parse(out, c.tracestate, &again) != SONDE_OK)
        abort();
    if (memcmp(again.trace_id, c.trace_id, 16) || memcmp(again.span_id, c.span_id, 8) ||
        again.flags != (c.flags & SONDE_TRACE_FLAG_SAMPLED) || strcmp(again.tracestate, c.tracestate))
        abort();
    free(s);
    return 0;
}
