/*
 * fuzz_resource_attrs.c - the "k=v,k=v" percent-encoded lists of
 * OTEL_RESOURCE_ATTRIBUTES and OTEL_EXPORTER_OTLP_HEADERS
 * (sonde_internal_kv_parse), then a tracer built on them, on arbitrary
 * bytes. Checks: no crash, leak or over-read; a list is taken whole or not
 * at all; what is taken has non-empty keys, valid UTF-8 without NUL, at most
 * 128 entries, no duplicate key; the tracer starts and encodes a span.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core_iface.h"
#include "sonde/sonde.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    sonde_attr *attrs = NULL;
    size_t n = 0;
    int rc = sonde_internal_kv_parse(s, &attrs, &n);
    if (rc != SONDE_OK && (attrs || n))
        abort();
    if (n > 128)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (!attrs[i].key[0] || !sonde_valid_utf8(attrs[i].key, strlen(attrs[i].key)) ||
            !sonde_valid_utf8(attrs[i].v.s, strlen(attrs[i].v.s)))
            abort();
        for (size_t j = 0; j < i; j++)
            if (strcmp(attrs[i].key, attrs[j].key) == 0)
                abort();
    }
    sonde_internal_attrs_free(attrs, n);
    if (size < 512) { /* a whole tracer for the short inputs: the resource path */
        sonde_tracer_opts o;
        sonde_tracer_opts_init(&o);
        o.read_env = 0;
        o.resource_attributes = s;
        o.service_name = s;
        sonde_tracer *t;
        if (sonde_tracer_new(&o, &t) != SONDE_OK || !t)
            abort();
        sonde_span *sp = sonde_span_start(t, s, SONDE_SPAN_INTERNAL, NULL);
        sonde_span_set_str(sp, s, s);
        const sonde_span *one[1] = {sp};
        char *body;
        size_t len;
        if (sonde_trace_encode_otlp(one, 1, &body, &len) != SONDE_OK || len == 0)
            abort();
        free(body);
        sonde_span_end(sp);
        sonde_tracer_free(t, 0);
    }
    free(s);
    return 0;
}
