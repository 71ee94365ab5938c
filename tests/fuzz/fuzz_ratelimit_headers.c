/*
 * fuzz_ratelimit_headers.c - libFuzzer target for the parser of upstream
 * rate-limit headers (gateway/upstream_ratelimit.c).
 *
 * The input is an upstream's header block; each line (split at LF, as curl
 * hands them over) goes through gw_ratelimit_header() exactly as the proxy
 * does, and each line's value also through gw_parse_duration(). Whatever the
 * bytes: stored values are finite, counts whole and below 1e15, resets within
 * 0..GW_RL_RESET_MAX, a refused line changes nothing, and a duration that
 * parses prints back (gw_format_duration) to one that parses to the same
 * value within the millisecond the printing rounds to.
 * Seeds: tests/fuzz/corpus/ratelimit_headers/.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

static void check_stored(const gw_ratelimit *rl)
{
    for (int k = 0; k < GW_RL_KINDS; k++)
        for (int f = 0; f < GW_RL_FIELDS; f++) {
            if (!gw_ratelimit_has(rl, k, f)) continue;
            double v = rl->value[k][f];
            if (!isfinite(v) || v < 0) abort();
            if (f == GW_RL_RESET ? v > GW_RL_RESET_MAX : (v >= 1e15 || v != floor(v))) abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data, *end = s + size;
    gw_ratelimit rl = {0};
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t n = nl ? (size_t)(nl - s) + 1 : (size_t)(end - s);
        gw_ratelimit before = rl;
        int rc = gw_ratelimit_header(&rl, s, n);
        if (rc != 1 && memcmp(&before, &rl, sizeof rl) != 0) abort();
        check_stored(&rl);
        const char *colon = memchr(s, ':', n);
        const char *v = colon ? colon + 1 : s;
        double d = gw_parse_duration(v, n - (size_t)(v - s));
        if (d != -1) {
            if (!(d >= 0 && d <= GW_RL_RESET_MAX)) abort();
            char buf[64];
            if (gw_format_duration(d, buf, sizeof buf) != 0) abort();
            double back = gw_parse_duration(buf, strlen(buf));
            if (back < 0 || fabs(back - d) > 0.0005 + 1e-9 * d) abort();
        }
        s += n;
    }
    return 0;
}
