/*
 * fmt_double.c - shortest round-trip text for a double, fast for the common
 * cases, the same bytes whatever locale the host set ("0.25", never "0,25").
 *
 * The text is what "the first of %.15g, %.16g, %.17g that parses back to the
 * same bits" gives, computed in three tiers:
 *
 *  1. Integers below 2^53 (counter values, bucket counts): a digit loop.
 *  2. 1e-4 <= |v| < 1e15, where %g writes plain decimals: the fewest decimals
 *     k (1..19) such that m = round(|v| * 10^k) has at most 15 digits and
 *     m / 10^k == |v|. Both m (< 2^53) and 10^k (k <= 22) are exact doubles
 *     and IEEE division is correctly rounded, so the check is exactly
 *     "strtod(the decimal m*10^-k) == v", as glibc's strtod rounds correctly;
 *     |v*10^k - m| stays below 0.25, so rounding the product cannot miss m.
 *     A decimal of at most 15 digits that reads back as v is what %.15g
 *     writes (v is within half an ulp of it, far inside half a unit of its
 *     15th digit), so this tier equals the %.15g tier, digit for digit, with
 *     no printf and no strtod. Typical values (0.25, 3.953, 1700000000.5)
 *     end here.
 *  3. Anything else: snprintf %.{15,16,17}g checked with strtod, under the C
 *     locale (c_locale.c, switched for this thread only). When tier 2 applied
 *     and found nothing, %.15g cannot round-trip, so the loop starts at 16.
 */
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static size_t format_uint(uint64_t u, char *buf)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
    return n;
}

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,
                                     1e7,  1e8,  1e9,  1e10, 1e11, 1e12, 1e13,
                                     1e14, 1e15, 1e16, 1e17, 1e18, 1e19};

/* Tier 2 for a >= 1e-4 (and < 1e15): the shortest plain decimal of at most 15 digits that
 * reads back as a, written to buf; 0 when there is none. */
static size_t format_short_decimal(double a, char *buf)
{
    for (size_t k = 1; k < sizeof pow10_exact / sizeof pow10_exact[0]; k++) {
        double x = a * pow10_exact[k];
        if (x >= 1e15)
            return 0;
        double m = (double)(uint64_t)(x + 0.5);
        if (m / pow10_exact[k] != a)
            continue;
        char digits[24];
        size_t n = format_uint((uint64_t)m, digits), len = 0;
        if (n > k) { /* integer part, point, k decimals */
            memcpy(buf, digits, n - k);
            len = n - k;
            buf[len++] = '.';
            memcpy(buf + len, digits + n - k, k);
            len += k;
        } else { /* "0." then k - n zeros then the digits */
            buf[len++] = '0';
            buf[len++] = '.';
            memset(buf + len, '0', k - n);
            len += k - n;
            memcpy(buf + len, digits, n);
            len += n;
        }
        buf[len] = '\0';
        return len;
    }
    return 0;
}

size_t sonde_format_double(double v, char *buf)
{
    if (!buf)
        return 0;
    if (isnan(v)) {
        memcpy(buf, "NaN", 4);
        return 3;
    }
    if (isinf(v)) {
        memcpy(buf, v > 0 ? "+Inf" : "-Inf", 5);
        return 4;
    }
    if (v == 0) {
        if (signbit(v)) {
            memcpy(buf, "-0", 3);
            return 2;
        }
        memcpy(buf, "0", 2);
        return 1;
    }
    if (fabs(v) < 9007199254740992.0 && v == (double)(int64_t)v) {
        if (v < 0) {
            buf[0] = '-';
            return 1 + format_uint((uint64_t)(-(int64_t)v), buf + 1);
        }
        return format_uint((uint64_t)v, buf);
    }
    int first_prec = 15;
    double a = fabs(v);
    if (a >= 1e-4 && a < 1e15) {
        size_t sign = v < 0;
        buf[0] = '-';
        size_t n = format_short_decimal(a, buf + sign);
        if (n)
            return sign + n;
        first_prec = 16;
    }
    locale_t c = sonde_c_locale();
    locale_t host = c ? uselocale(c) : (locale_t)0;
    int n = 0;
    for (int prec = first_prec; prec <= 17; prec++) {
        n = snprintf(buf, 32, "%.*g", prec, v);
        if (sonde_strtod(buf, NULL) == v)
            break;
    }
    if (c)
        uselocale(host);
    return (size_t)n;
}
