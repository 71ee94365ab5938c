/*
 * body.c - response bodies built in memory, gzip'd while they are written.
 *
 * The exposition writes chunks through body_write(); without gzip they are
 * appended to a doubling buffer, with gzip they go through one zlib deflate
 * stream (gzip wrapper, windowBits 15 + 16) whose output lands in the same
 * buffer. The whole body exists before the response starts, so its
 * Content-Length is exact. Accept-Encoding parsing lives here too, since it
 * decides whether the body is compressed.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core_iface.h"
#include "server_internal.h"

static int reserve(body_buf *b, size_t extra)
{
    if (b->cap - b->len >= extra)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < extra)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d)
        return -1;
    b->data = d;
    b->cap = cap;
    return 0;
}

int body_init(body_buf *b, int gzip)
{
    memset(b, 0, sizeof *b);
    if (!gzip)
        return SONDE_OK;
    z_stream *zs = calloc(1, sizeof *zs);
    if (!zs)
        return SONDE_ENOMEM;
    if (deflateInit2(zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(zs);
        return SONDE_ENOMEM;
    }
    b->gzip = 1;
    b->zs = zs;
    return SONDE_OK;
}

static int deflate_into(body_buf *b, const char *data, size_t len, int flush)
{
    z_stream *zs = b->zs;
    zs->next_in = (Bytef *)data;
    zs->avail_in = (uInt)len;
    for (;;) {
        if (reserve(b, 16384))
            return -1;
        zs->next_out = (Bytef *)b->data + b->len;
        zs->avail_out = (uInt)(b->cap - b->len);
        int rc = deflate(zs, flush);
        b->len = b->cap - zs->avail_out;
        if (rc == Z_STREAM_END)
            return 0;
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return -1;
        if (zs->avail_in == 0 && zs->avail_out != 0)
            return flush == Z_FINISH ? -1 : 0;
    }
}

int body_write(void *ud, const char *data, size_t len)
{
    body_buf *b = ud;
    if (b->failed)
        return -1;
    if (b->gzip) {
        /* the exposition writes at most 64 KiB at a time, within uInt */
        if (deflate_into(b, data, len, Z_NO_FLUSH))
            b->failed = 1;
    } else if (reserve(b, len)) {
        b->failed = 1;
    } else {
        memcpy(b->data + b->len, data, len);
        b->len += len;
    }
    return b->failed ? -1 : 0;
}

int body_finish(body_buf *b)
{
    if (b->gzip && !b->failed) {
        if (deflate_into(b, NULL, 0, Z_FINISH))
            b->failed = 1;
    }
    if (b->gzip) {
        deflateEnd(b->zs);
        free(b->zs);
        b->zs = NULL;
    }
    if (!b->failed && reserve(b, 1) == 0)
        b->data[b->len] = '\0'; /* a courtesy for text bodies, not counted in len */
    else
        b->failed = 1;
    return b->failed ? SONDE_ENOMEM : SONDE_OK;
}

void body_discard(body_buf *b)
{
    if (b->zs) {
        deflateEnd(b->zs);
        free(b->zs);
    }
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* The first c in [p, end), or NULL. */
static const char *find(const char *p, const char *end, char c)
{
    while (p < end && *p != c)
        p++;
    return p < end ? p : NULL;
}

/* q of one coding ("gzip;q=0.5" -> 0.5); -1 when the element is not gzip / x-gzip / *. */
static double coding_q(const char *p, const char *end, int *wildcard)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    const char *t = p;
    while (p < end && *p != ';' && *p != ' ' && *p != '\t')
        p++;
    size_t n = (size_t)(p - t);
    *wildcard = n == 1 && *t == '*';
    if (!*wildcard && !(n == 4 && !sonde_internal_ascii_ncasecmp(t, "gzip", 4)) &&
        !(n == 6 && !sonde_internal_ascii_ncasecmp(t, "x-gzip", 6)))
        return -1;
    double q = 1;
    const char *semi = find(p, end, ';');
    while (semi) {
        const char *k = semi + 1;
        while (k < end && (*k == ' ' || *k == '\t'))
            k++;
        semi = find(k, end, ';');
        if (end - k >= 2 && (k[0] == 'q' || k[0] == 'Q') && k[1] == '=') {
            const char *v = k + 2, *vend = semi ? semi : end;
            while (v < vend && (*v == ' ' || *v == '\t'))
                v++;
            while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
                vend--;
            if (!sonde_internal_parse_qvalue(v, (size_t)(vend - v), &q))
                return 0;
        }
    }
    return q;
}

int server_accepts_gzip(const char *ae)
{
    if (!ae)
        return 0;
    const char *p = ae, *end = ae + strlen(ae);
    double gzip_q = -1, star_q = -1;
    while (p < end) {
        const char *comma = find(p, end, ',');
        const char *e = comma ? comma : end;
        int wildcard;
        double q = coding_q(p, e, &wildcard);
        if (q >= 0) {
            if (wildcard)
                star_q = q;
            else
                gzip_q = q;
        }
        p = comma ? comma + 1 : end;
    }
    /* an explicit gzip entry wins over the wildcard */
    return gzip_q >= 0 ? gzip_q > 0 : star_q > 0;
}
