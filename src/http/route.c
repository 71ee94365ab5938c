/*
 * route.c - from a raw request path to a bounded route label.
 *
 * The query and fragment are dropped first. Registered templates come next,
 * in registration order: a template matches a path with the same number of
 * segments whose literal segments are equal, "{name}" standing for any
 * non-empty segment; the route is then the template's own text. Otherwise
 * every segment is kept or replaced by ":id" when it looks like an
 * identifier (see is_id()). A path that does not start with '/' or whose
 * route would not fit HTTP_ROUTE_MAX becomes "OTHER".
 *
 * Templates are published with release stores into a fixed array, so the
 * request path reads them without a lock.
 */
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_uuid(const char *s, size_t n)
{
    if (n != 36)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!is_hex(s[i])) {
            return 0;
        }
    }
    return 1;
}

/* Does a segment look like an identifier rather than a fixed part of the route? */
static int is_id(const char *s, size_t n)
{
    size_t digits = 0, hex = 0, letters = 0, b64 = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f)
            return 1; /* not printable ASCII: never a label value of its own */
        digits += c >= '0' && c <= '9';
        hex += is_hex((char)c);
        letters += (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        b64 += (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               c == '-' || c == '_' || c == '+' || c == '=';
    }
    if (digits == n)
        return 1;
    if (is_uuid(s, n))
        return 1;
    if (hex == n && (n >= 16 || (n >= 8 && digits > 0)))
        return 1;
    if (b64 == n && n >= 16 && digits > 0 && letters > 0)
        return 1;
    return 0;
}

static int template_match(const http_template *t, const char *path, size_t plen)
{
    const char *a = t->text, *p = path, *pend = path + plen;
    /* both start with '/': walk segment by segment */
    while (*a && p < pend) {
        a++;
        p++;
        const char *ae = strchr(a, '/');
        size_t al = ae ? (size_t)(ae - a) : strlen(a);
        const char *pe = p;
        while (pe < pend && *pe != '/')
            pe++;
        size_t pl = (size_t)(pe - p);
        int param = al >= 2 && a[0] == '{' && a[al - 1] == '}';
        if (param ? pl == 0 : (al != pl || memcmp(a, p, al) != 0))
            return 0;
        a += al;
        p = pe;
    }
    return !*a && p == pend;
}

static size_t put(char *out, size_t at, const char *s, size_t n)
{
    if (at + n >= HTTP_ROUTE_MAX)
        return HTTP_ROUTE_MAX;
    memcpy(out + at, s, n);
    return at + n;
}

size_t http_normalise(sonde_http *h, const char *path, char *out)
{
    size_t plen = strcspn(path, "?#");
    if (plen == 0 || path[0] != '/') {
        memcpy(out, "OTHER", 6);
        return 5;
    }
    size_t nt = atomic_load_explicit(&h->template_count, memory_order_acquire);
    for (size_t i = 0; i < nt; i++) {
        const http_template *t = atomic_load_explicit(&h->templates[i], memory_order_acquire);
        if (t && template_match(t, path, plen)) {
            size_t n = strlen(t->text);
            memcpy(out, t->text, n + 1);
            return n;
        }
    }
    size_t at = 0;
    const char *p = path, *end = path + plen;
    while (p < end && at < HTTP_ROUTE_MAX) {
        p++; /* the '/' */
        const char *e = p;
        while (e < end && *e != '/')
            e++;
        size_t n = (size_t)(e - p);
        at = put(out, at, "/", 1);
        if (n && at < HTTP_ROUTE_MAX)
            at = is_id(p, n) ? put(out, at, ":id", 3) : put(out, at, p, n);
        p = e;
    }
    if (at >= HTTP_ROUTE_MAX) {
        memcpy(out, "OTHER", 6);
        return 5;
    }
    out[at] = '\0';
    return at;
}

int sonde_http_route_add(sonde_http *h, const char *tmpl)
{
    if (!h)
        return SONDE_OK; /* instrumentation off */
    if (!tmpl || tmpl[0] != '/')
        return SONDE_EINVAL;
    size_t n = strlen(tmpl);
    if (n >= HTTP_ROUTE_MAX)
        return SONDE_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)tmpl[i] <= 0x20 || (unsigned char)tmpl[i] >= 0x7f || tmpl[i] == '?' ||
            tmpl[i] == '#') /* a path ends at either */
            return SONDE_EINVAL;
    }
    http_template *t = malloc(sizeof *t);
    if (!t || !(t->text = strdup(tmpl))) {
        free(t);
        return SONDE_ENOMEM;
    }
    int rc = SONDE_OK;
    pthread_mutex_lock(&h->lock);
    size_t i = atomic_load_explicit(&h->template_count, memory_order_relaxed);
    if (i == HTTP_TEMPLATES_MAX) {
        rc = SONDE_ELIMIT;
    } else {
        atomic_store_explicit(&h->templates[i], t, memory_order_release);
        atomic_store_explicit(&h->template_count, i + 1, memory_order_release);
    }
    pthread_mutex_unlock(&h->lock);
    if (rc) {
        free(t->text);
        free(t);
    }
    return rc;
}

void http_templates_free(sonde_http *h)
{
    for (size_t i = 0; i < HTTP_TEMPLATES_MAX; i++) {
        http_template *t = atomic_load(&h->templates[i]);
        if (t) {
            free(t->text);
            free(t);
        }
    }
}

size_t sonde_http_route(sonde_http *h, const char *path, char *buf, size_t cap)
{
    if (!h || !path || !buf)
        return 0;
    char tmp[HTTP_ROUTE_MAX];
    size_t n = http_normalise(h, path, tmp);
    if (n + 1 > cap)
        return 0;
    memcpy(buf, tmp, n + 1);
    return n;
}
