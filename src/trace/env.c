/*
 * env.c - reading the OTEL_* environment the OpenTelemetry way: an empty
 * variable is unset, a malformed one is ignored with a warning (never
 * guessed), and OTEL_RESOURCE_ATTRIBUTES ("k=v,k=v", percent-encoded) is
 * decoded whole or discarded whole. Also the attribute lists the resource is
 * kept in, and sonde_diag(), the library's way to report through a logger.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "trace_internal.h"

const char *sonde_env_get(const char *name)
{
    const char *v = getenv(name);
    return v && v[0] ? v : NULL;
}

void sonde_diag(sonde_logger *lg, sonde_log_level level, const char *msg, const sonde_attr *fields,
          size_t n)
{
    if (lg)
        sonde_log(lg, level, msg, fields, n);
}

static void warn_env(sonde_logger *lg, const char *name, const char *value)
{
    sonde_attr f[2] = {SONDE_ATTR_STR("variable", name), SONDE_ATTR_STR("value", value)};
    sonde_diag(lg, SONDE_LOG_WARN, "ignoring a malformed environment variable", f, 2);
}

int sonde_env_long(sonde_logger *lg, const char *name, long *out)
{
    const char *v = sonde_env_get(name);
    if (!v)
        return 0;
    const char *p = v;
    long x = 0;
    while (*p == ' ')
        p++;
    if (!isdigit((unsigned char)*p)) {
        warn_env(lg, name, v);
        return -1;
    }
    for (; isdigit((unsigned char)*p); p++) {
        if (x > (LONG_MAX - 9) / 10) {
            warn_env(lg, name, v);
            return -1;
        }
        x = x * 10 + (*p - '0');
    }
    while (*p == ' ')
        p++;
    if (*p) {
        warn_env(lg, name, v);
        return -1;
    }
    *out = x;
    return 1;
}

int sonde_env_bool(sonde_logger *lg, const char *name)
{
    const char *v = sonde_env_get(name);
    if (!v)
        return 0;
    if (strcasecmp(v, "true") == 0)
        return 1;
    if (strcasecmp(v, "false") != 0)
        warn_env(lg, name, v);
    return 0;
}

void sonde_attrs_free(sonde_attr *attrs, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free((char *)attrs[i].key);
        if (attrs[i].type == SONDE_ATTR_STRING)
            free((char *)attrs[i].v.s);
    }
    free(attrs);
}

static int sonde_attrs_put(sonde_attr **attrs, size_t *count, char *key, char *value)
{
    for (size_t i = 0; i < *count; i++)
        if (strcmp((*attrs)[i].key, key) == 0) {
            free(key);
            free((char *)(*attrs)[i].v.s);
            (*attrs)[i].v.s = value;
            return SONDE_OK;
        }
    if (*count >= RESOURCE_MAX_ATTRS) {
        free(key);
        free(value);
        return SONDE_ELIMIT;
    }
    sonde_attr *p = realloc(*attrs, (*count + 1) * sizeof *p);
    if (!p) {
        free(key);
        free(value);
        return SONDE_ENOMEM;
    }
    *attrs = p;
    p[(*count)++] = SONDE_ATTR_STR(key, value);
    return SONDE_OK;
}

int sonde_attrs_set(sonde_attr **attrs, size_t *count, const char *key, const char *value)
{
    size_t kn = strlen(key), vn = strlen(value);
    char *k = malloc(3 * kn + 1), *v = malloc(3 * vn + 1);
    if (!k || !v) {
        free(k);
        free(v);
        return SONDE_ENOMEM;
    }
    k[sonde_utf8_sanitize(key, kn, 0, k)] = '\0';
    v[sonde_utf8_sanitize(value, vn, 0, v)] = '\0';
    return sonde_attrs_put(attrs, count, k, v);
}

static int hex1(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decode s[0..n), trimmed of spaces, into a new string; NULL when malformed. */
static char *decode(const char *s, size_t n, size_t max)
{
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n > max)
        return NULL;
    char *out = malloc(n + 1), *w = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            int hi = i + 2 < n ? hex1(s[i + 1]) : -1;
            int lo = i + 2 < n ? hex1(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                free(out);
                return NULL;
            }
            *w++ = (char)(hi << 4 | lo);
            i += 2;
            continue;
        }
        *w++ = s[i];
    }
    *w = '\0';
    if (!sonde_valid_utf8(out, (size_t)(w - out)) || memchr(out, '\0', (size_t)(w - out))) {
        free(out);
        return NULL;
    }
    return out;
}

int sonde_resource_parse(const char *s, sonde_attr **attrs, size_t *count)
{
    sonde_attr *list = NULL;
    size_t n = 0;
    const char *p = s;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        char *k = NULL, *v = NULL;
        if (!eq || !(k = decode(p, (size_t)(eq - p), 4096)) || !k[0] ||
            !(v = decode(eq + 1, len - (size_t)(eq - p) - 1, 4096)) ||
            sonde_attrs_put(&list, &n, k, v) != SONDE_OK) {
            if (k && !v)
                free(k);
            sonde_attrs_free(list, n);
            return SONDE_EINVAL;
        }
        if (!end)
            break;
        p = end + 1;
    }
    for (size_t i = 0; i < n; i++) {
        int rc = sonde_attrs_put(attrs, count, (char *)list[i].key, (char *)list[i].v.s);
        if (rc != SONDE_OK) {
            for (size_t j = i + 1; j < n; j++) {
                free((char *)list[j].key);
                free((char *)list[j].v.s);
            }
            free(list);
            return rc;
        }
    }
    free(list);
    return SONDE_OK;
}

int sonde_internal_kv_parse(const char *s, sonde_attr **attrs, size_t *count)
{
    if (!s || !attrs || !count)
        return SONDE_EINVAL;
    return sonde_resource_parse(s, attrs, count);
}

void sonde_internal_attrs_free(sonde_attr *attrs, size_t count) { sonde_attrs_free(attrs, count); }
