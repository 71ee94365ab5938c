/*
 * fuzz_otlp.c - libsonde-otlp's parsers of untrusted text: the headers of
 * OTEL_EXPORTER_OTLP_HEADERS / sonde_otlp_opts.headers as the transport
 * turns them into HTTP header lines (names must be tokens, values free of CR
 * and LF), a receiver's answer (the partial success of an Export*Service
 * response) and its Retry-After. The first input byte picks the parser.
 * Checks: no crash, leak or over-read; a refused header list is
 * SONDE_ECONFIG with no transport; a partial success's message is within its
 * buffer; a Retry-After is -1 or a bounded non-negative wait.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "otlp_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size)
        return 0;
    uint8_t which = data[0] % 3;
    data++, size--;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    if (which == 0) {
        sonde_otlp_opts o;
        sonde_otlp_opts_init(&o);
        o.read_env = 0;
        o.endpoint = "http://127.0.0.1:4318";
        o.headers = s;
        sonde_otlp *t = NULL;
        int rc = sonde_otlp_new(&o, &t);
        if ((rc == SONDE_OK) != (t != NULL) || (rc != SONDE_OK && rc != SONDE_ECONFIG &&
                                               rc != SONDE_ENOMEM && rc != SONDE_EIO))
            abort();
        if (t) {
            for (int k = 0; k < OTLP_SIGNALS; k++)
                for (struct curl_slist *h = t->dest[k].headers; h; h = h->next)
                    if (strpbrk(h->data, "\r\n") || !strchr(h->data, ':'))
                        abort();
        }
        sonde_otlp_free(t);
    } else if (which == 1) {
        int64_t rejected;
        char msg[64];
        memset(msg, 'x', sizeof msg);
        int r = sonde_otlp_partial_success((const char *)data, size, &rejected, msg, sizeof msg);
        if (r < -1 || r > 1 || !memchr(msg, '\0', sizeof msg))
            abort();
    } else {
        long ms = sonde_otlp_retry_after_ms(s);
        if (ms < -1)
            abort();
    }
    free(s);
    return 0;
}
