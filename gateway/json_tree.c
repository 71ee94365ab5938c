/*
 * json_tree.c - a deep copy and a compact dump of a JSON value, for the
 * gateway's hot paths (gateway.h: gw_json_clone, gw_json_dumps).
 *
 * jansson's json_deep_copy() and json_dumps() guard against reference loops:
 * for every object and array they format the container's address with
 * snprintf() into a key of a hash table of the containers in progress, which
 * costs more than copying or writing a small container itself (and
 * json_dumps() hands the text over in small pieces through a callback). The
 * gateway's values are trees (parsed requests and answers, or built by the
 * gateway, never made to contain themselves), so these walk them without that
 * bookkeeping. The copy has the same values and key order and shares nothing
 * but jansson's immortal true/false/null, so its reference counts are its
 * owner's alone. The dump writes exactly what json_dumps(v, JSON_COMPACT)
 * writes: keys in insertion order, the same string escapes (", \ and the
 * control characters, as \b \f \n \r \t or \u00XX; everything else as
 * it is), integers in decimal, and reals as jansson itself formats them (one
 * json_dumps() of the bare real, so the precision and the locale handling are
 * its own). Depth is bounded by what made the value (requests are parsed with
 * max_json_depth).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

json_t *gw_json_clone(const json_t *v)
{
    if (!v) return NULL;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        json_t *o = json_object();
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)v, k, e) {
            if (!o || json_object_set_new_nocheck(o, k, gw_json_clone(e)) != 0) {
                json_decref(o);
                return NULL;
            }
        }
        return o;
    }
    case JSON_ARRAY: {
        json_t *a = json_array();
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
            if (!a || json_array_append_new(a, gw_json_clone(e)) != 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    case JSON_STRING:
        return json_stringn_nocheck(json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return json_integer(json_integer_value(v));
    case JSON_REAL:
        return json_real(json_real_value(v));
    case JSON_TRUE:
        return json_true();
    case JSON_FALSE:
        return json_false();
    case JSON_NULL:
        return json_null();
    }
    return NULL;
}

/* The text being written: a growable buffer that fails for good once out of memory. */
typedef struct text {
    char *p;
    size_t len, cap;
    int failed;
} text;

static char *room(text *t, size_t n)
{
    if (t->failed) return NULL;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 1024;
        while (t->len + n + 1 > cap) cap *= 2;
        char *g = realloc(t->p, cap);
        if (!g) {
            t->failed = 1;
            return NULL;
        }
        t->p = g;
        t->cap = cap;
    }
    char *at = t->p + t->len;
    t->len += n;
    return at;
}

static void put(text *t, const char *s, size_t n)
{
    char *at = room(t, n);
    if (at) memcpy(at, s, n);
}

static void put_string(text *t, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    put(t, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        put(t, s + start, i - start);
        start = i + 1;
        char esc[6] = {'\\', 0};
        size_t len = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            len = 6;
        }
        put(t, esc, len);
    }
    put(t, s + start, n - start);
    put(t, "\"", 1);
}

static void put_integer(text *t, json_int_t v)
{
    char b[24], *e = b + sizeof b, *o = e;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do *--o = (char)('0' + u % 10); while ((u /= 10) != 0);
    if (v < 0) *--o = '-';
    put(t, o, (size_t)(e - o));
}

static void dump(text *t, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        put(t, "{", 1);
        const char *k;
        json_t *e;
        int first = 1;
        json_object_foreach((json_t *)v, k, e) {
            if (!first) put(t, ",", 1);
            first = 0;
            put_string(t, k, strlen(k));
            put(t, ":", 1);
            dump(t, e);
        }
        put(t, "}", 1);
        return;
    }
    case JSON_ARRAY: {
        put(t, "[", 1);
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
            if (i) put(t, ",", 1);
            dump(t, e);
        }
        put(t, "]", 1);
        return;
    }
    case JSON_STRING:
        put_string(t, json_string_value(v), json_string_length(v));
        return;
    case JSON_INTEGER:
        put_integer(t, json_integer_value(v));
        return;
    case JSON_REAL: {
        char *r = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        if (r) put(t, r, strlen(r));
        else t->failed = 1;
        free(r);
        return;
    }
    case JSON_TRUE:
        put(t, "true", 4);
        return;
    case JSON_FALSE:
        put(t, "false", 5);
        return;
    case JSON_NULL:
        put(t, "null", 4);
        return;
    }
}

char *gw_json_dumps(const json_t *v)
{
    if (!json_is_object(v) && !json_is_array(v)) return NULL; /* as json_dumps() */
    text t = {0};
    dump(&t, v);
    if (t.failed || !t.p) {
        free(t.p);
        return NULL;
    }
    t.p[t.len] = 0;
    return t.p;
}
