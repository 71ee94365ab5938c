/*
 * params.c - the query string of a console request: "k=v&k=v", each key and
 * value percent-decoded ("+" is a space) into one fixed buffer inside the
 * console_params, so parsing allocates nothing and hostile input is bounded
 * by CONSOLE_QUERY_MAX and CONSOLE_MAX_PARAMS. A bad %-escape, a NUL byte or
 * invalid UTF-8 refuses the whole query (the API answers 400). Empty pairs
 * ("a=1&&b=2") are skipped; a key without "=" has the value "".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_internal.h"

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Decode s[0..n) into out (room for n + 1); the decoded length or -1. */
static long decode(const char *s, size_t n, char *out)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '+') {
            ch = ' ';
        } else if (ch == '%') {
            if (n - i < 3)
                return -1;
            int a = hexval(s[i + 1]), b = hexval(s[i + 2]);
            if (a < 0 || b < 0)
                return -1;
            ch = (char)(a * 16 + b);
            i += 2;
        }
        if (ch == '\0')
            return -1;
        out[w++] = ch;
    }
    out[w] = '\0';
    return (long)w;
}

static int fail(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
    return SONDE_EINVAL;
}

int console_params_parse(const char *query, console_params *p, char *err, size_t errlen)
{
    p->n = 0;
    if (!query)
        return SONDE_OK;
    size_t len = strlen(query);
    if (len > CONSOLE_QUERY_MAX)
        return fail(err, errlen, "query string too long");
    char *w = p->buf;
    const char *s = query, *end = query + len;
    while (s < end) {
        const char *amp = memchr(s, '&', (size_t)(end - s));
        const char *pe = amp ? amp : end;
        if (pe > s) {
            if (p->n == CONSOLE_MAX_PARAMS)
                return fail(err, errlen, "too many query parameters");
            const char *eq = memchr(s, '=', (size_t)(pe - s));
            const char *ke = eq ? eq : pe;
            long kn = decode(s, (size_t)(ke - s), w);
            if (kn < 0 || !sonde_internal_valid_utf8(w, (size_t)kn))
                return fail(err, errlen, "bad encoding in a query parameter name");
            p->key[p->n] = w;
            w += kn + 1;
            long vn = eq ? decode(eq + 1, (size_t)(pe - eq - 1), w) : (*w = '\0', 0);
            if (vn < 0 || !sonde_internal_valid_utf8(w, (size_t)vn))
                return fail(err, errlen, "bad encoding in a query parameter value");
            p->val[p->n++] = w;
            w += vn + 1;
        }
        s = pe + 1;
    }
    return SONDE_OK;
}

const char *console_param(const console_params *p, const char *key)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->key[i], key) == 0)
            return p->val[i];
    return NULL;
}

size_t console_param_all(const console_params *p, const char *key, const char **out, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < p->n && k < max; i++)
        if (strcmp(p->key[i], key) == 0)
            out[k++] = p->val[i];
    return k;
}

int console_param_long(const console_params *p, const char *key, long min, long max, long dflt,
                       long *out, char *err, size_t errlen)
{
    const char *v = console_param(p, key);
    if (!v) {
        *out = dflt;
        return SONDE_OK;
    }
    long x = 0;
    size_t i = 0;
    for (; v[i] >= '0' && v[i] <= '9' && i < 12; i++)
        x = x * 10 + (v[i] - '0');
    if (i == 0 || v[i] != '\0' || x < min || x > max) {
        if (err && errlen)
            snprintf(err, errlen, "parameter %s must be a whole number in [%ld, %ld]", key, min,
                     max);
        return SONDE_EINVAL;
    }
    *out = x;
    return SONDE_OK;
}
