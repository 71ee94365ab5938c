/*
 * negotiate.c - choosing the exposition format from an HTTP Accept header.
 *
 * Each comma-separated media range is matched against the formats sonde
 * renders: application/openmetrics-text (versions 1.0.0 and 0.0.1, or
 * none) -> OpenMetrics; text/plain (version 0.0.4 or none) and the
 * wildcards text/any and any/any -> text 0.0.4;
 * application/vnd.google.protobuf with proto=io.prometheus.client.MetricFamily and
 * encoding=delimited (both required, as Prometheus sends them with native histograms on)
 * -> protobuf. The highest q-value wins, the earlier range on a
 * tie; q=0 excludes. Without any match, text 0.0.4 is the answer, as
 * Prometheus expects.
 *
 * q-values are read by sonde_internal_parse_qvalue(), the RFC 9110 grammar ("0",
 * "0.5", "1.000", at most three decimals) by hand: no strtod, so no locale
 * can turn "0.5" into 0 and no "nan" or "0x1p-1" slips through.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

int sonde_internal_parse_qvalue(const char *s, size_t len, double *q)
{
    if (len == 0 || (s[0] != '0' && s[0] != '1') || (len > 1 && s[1] != '.') || len > 5)
        return 0;
    unsigned thousandths = 0, scale = 100;
    for (size_t i = 2; i < len; i++, scale /= 10) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        thousandths += (unsigned)(s[i] - '0') * scale;
    }
    if (s[0] == '1' && thousandths)
        return 0;
    *q = s[0] == '1' ? 1.0 : thousandths / 1000.0;
    return 1;
}

static int token_is(const char *p, size_t n, const char *lit)
{
    return strlen(lit) == n && sonde_internal_ascii_ncasecmp(p, lit, n) == 0;
}

/* Parse one media range [p, end): returns the format it names (or -1) and its q. */
static int parse_range(const char *p, const char *end, double *q)
{
    p = skip_ws(p, end);
    if (p >= end)
        return -1;
    const char *semi = memchr(p, ';', (size_t)(end - p));
    const char *type_end = semi ? semi : end;
    while (type_end > p && (type_end[-1] == ' ' || type_end[-1] == '\t'))
        type_end--;
    size_t tlen = (size_t)(type_end - p);
    int format = -1;
    if (token_is(p, tlen, "application/openmetrics-text"))
        format = SONDE_FORMAT_OPENMETRICS;
    else if (token_is(p, tlen, "text/plain") || token_is(p, tlen, "text/*") ||
             token_is(p, tlen, "*/*"))
        format = SONDE_FORMAT_TEXT;
    else if (token_is(p, tlen, "application/vnd.google.protobuf"))
        format = SONDE_FORMAT_PROTOBUF;
    int proto_ok = 0, delimited = 0;
    *q = 1.0;
    while (semi && format >= 0) {
        const char *param = skip_ws(semi + 1, end);
        semi = memchr(param, ';', (size_t)(end - param));
        const char *pend = semi ? semi : end;
        const char *eq = memchr(param, '=', (size_t)(pend - param));
        if (!eq)
            continue;
        const char *val = skip_ws(eq + 1, pend);
        size_t vlen = (size_t)(pend - val);
        while (vlen && (val[vlen - 1] == ' ' || val[vlen - 1] == '\t'))
            vlen--;
        size_t klen = (size_t)(eq - param);
        while (klen && (param[klen - 1] == ' ' || param[klen - 1] == '\t'))
            klen--;
        if (token_is(param, klen, "q")) {
            if (!sonde_internal_parse_qvalue(val, vlen, q))
                return -1;
        } else if (token_is(param, klen, "version")) {
            if (format == SONDE_FORMAT_OPENMETRICS && !token_is(val, vlen, "1.0.0") &&
                !token_is(val, vlen, "0.0.1"))
                return -1;
            if (format == SONDE_FORMAT_TEXT && token_is(p, tlen, "text/plain") &&
                !token_is(val, vlen, "0.0.4"))
                return -1;
        } else if (token_is(param, klen, "proto")) { /* a message name is case-sensitive */
            proto_ok = vlen == 33 && memcmp(val, "io.prometheus.client.MetricFamily", 33) == 0;
        } else if (token_is(param, klen, "encoding")) {
            delimited = token_is(val, vlen, "delimited");
        }
    }
    if (format == SONDE_FORMAT_PROTOBUF && !(proto_ok && delimited))
        return -1;
    return format;
}

sonde_format sonde_format_negotiate(const char *accept)
{
    if (!accept)
        return SONDE_FORMAT_TEXT;
    const char *p = accept, *end = accept + strlen(accept);
    int best = SONDE_FORMAT_TEXT;
    double best_q = 0;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *range_end = comma ? comma : end;
        double q;
        int f = parse_range(p, range_end, &q);
        if (f >= 0 && q > best_q) {
            best = f;
            best_q = q;
        }
        p = comma ? comma + 1 : end;
    }
    return (sonde_format)best;
}

const char *sonde_format_content_type(sonde_format format)
{
    if (format == SONDE_FORMAT_PROTOBUF)
        return "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";
    if (format == SONDE_FORMAT_OPENMETRICS)
        return "application/openmetrics-text; version=1.0.0; charset=utf-8";
    return "text/plain; version=0.0.4; charset=utf-8";
}
