/*
 * response.c - reading what an OTLP/HTTP receiver answers: the partial
 * success of an Export*ServiceResponse (field 1, a message whose field 1 is
 * the rejected count and field 2 the error message; the same numbers for
 * traces, logs and metrics), and the Retry-After header. Bounded reads of
 * untrusted bytes: a malformed body is reported, never trusted.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "otlp_internal.h"

static int varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return -1;
        unsigned char c = *(*p)++;
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* Skip a field of wire type w; -1 when it runs past end. */
static int skip(const unsigned char **p, const unsigned char *end, int w)
{
    uint64_t v;
    switch (w) {
    case 0:
        return varint(p, end, &v);
    case 1:
        if (end - *p < 8)
            return -1;
        *p += 8;
        return 0;
    case 2:
        if (varint(p, end, &v) || v > (uint64_t)(end - *p))
            return -1;
        *p += v;
        return 0;
    case 5:
        if (end - *p < 4)
            return -1;
        *p += 4;
        return 0;
    }
    return -1;
}

int sonde_otlp_partial_success(const char *body, size_t len, int64_t *rejected, char *msg, size_t cap)
{
    const unsigned char *p = (const unsigned char *)body, *end = p + len;
    int found = 0;
    *rejected = 0;
    if (cap)
        msg[0] = '\0';
    while (p < end) {
        uint64_t key, n;
        if (varint(&p, end, &key))
            return -1;
        if ((key >> 3) != 1 || (key & 7) != 2) {
            if (skip(&p, end, (int)(key & 7)))
                return -1;
            continue;
        }
        if (varint(&p, end, &n) || n > (uint64_t)(end - p))
            return -1;
        const unsigned char *q = p, *qend = p + n;
        p = qend;
        found = 1;
        while (q < qend) {
            uint64_t k2, v;
            if (varint(&q, qend, &k2))
                return -1;
            if ((k2 >> 3) == 1 && (k2 & 7) == 0) {
                if (varint(&q, qend, &v))
                    return -1;
                *rejected = (int64_t)v;
            } else if ((k2 >> 3) == 2 && (k2 & 7) == 2) {
                if (varint(&q, qend, &v) || v > (uint64_t)(qend - q))
                    return -1;
                size_t m = v < cap ? (size_t)v : (cap ? cap - 1 : 0);
                if (cap) {
                    memcpy(msg, q, m);
                    msg[m] = '\0';
                }
                q += v;
            } else if (skip(&q, qend, (int)(k2 & 7))) {
                return -1;
            }
        }
    }
    return found && (*rejected > 0 || (cap && msg[0]));
}

long sonde_otlp_retry_after_ms(const char *value)
{
    if (!value)
        return -1;
    while (*value == ' ' || *value == '\t')
        value++;
    if (*value >= '0' && *value <= '9') {
        long secs = 0;
        const char *p = value;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (secs > 86400)
                return 86400000; /* bounded: the deadline cuts it anyway */
            secs = secs * 10 + (*p - '0');
        }
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        return *p ? -1 : secs * 1000;
    }
    time_t when = curl_getdate(value, NULL);
    if (when == -1)
        return -1;
    time_t now = time(NULL);
    if (when <= now)
        return 0;
    return when - now > 86400 ? 86400000 : (long)(when - now) * 1000; /* bounded as above */
}
