/*
 * fmt_double.c - shortest round-trip text for a double, fast for the common
 * case. Integers below 2^53 (counter values, bucket counts) are written with
 * a digit loop; anything else tries %.15g, %.16g and %.17g and keeps the
 * first that parses back to the same bits, so every value survives the trip
 * through the exposition exactly.
 */
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
    for (int prec = 15; prec <= 17; prec++) {
        int n = snprintf(buf, 32, "%.*g", prec, v);
        if (prec == 17 || strtod(buf, NULL) == v)
            return (size_t)n;
    }
    return 0; /* not reached */
}
