/*
 * auth.c - opt-in protection of the metrics path: HTTP basic auth and bearer
 * tokens.
 *
 * The expected credential is prepared once (base64 of "user:password" for
 * basic auth, the token itself for bearer) and each request's Authorization
 * value is compared with it in time that depends only on the expected
 * length, never on where the first difference is. The scheme name is
 * case-insensitive (RFC 7235); when both kinds are configured either one is
 * accepted.
 */
#include <stdlib.h>
#include <string.h>

#include "core_iface.h"
#include "server_internal.h"

char *server_base64(const char *s, size_t len)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((len + 2) / 3 * 4 + 1);
    if (!out)
        return NULL;
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        unsigned v = (unsigned)u[i] << 16 | (unsigned)u[i + 1] << 8 | u[i + 2];
        out[o++] = tab[v >> 18];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = tab[(v >> 6) & 63];
        out[o++] = tab[v & 63];
    }
    if (i < len) {
        unsigned v = (unsigned)u[i] << 16 | (i + 1 < len ? (unsigned)u[i + 1] << 8 : 0);
        out[o++] = tab[v >> 18];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return out;
}

/* Equal in time independent of the contents (the expected length may leak). */
static int ct_equal(const char *got, size_t got_len, const char *want)
{
    size_t want_len = strlen(want);
    volatile unsigned char diff = got_len != want_len;
    for (size_t i = 0; i < want_len; i++) {
        unsigned char g = got_len ? (unsigned char)got[i < got_len ? i : 0] : 0;
        diff |= (unsigned char)(g ^ (unsigned char)want[i]);
    }
    return diff == 0;
}

/* If value starts with "<scheme> ", the credential after it (spaces trimmed). */
static const char *credential(const char *value, const char *scheme, size_t *len)
{
    size_t n = strlen(scheme);
    if (sonde_internal_ascii_ncasecmp(value, scheme, n) != 0 || (value[n] != ' ' && value[n] != '\t'))
        return NULL;
    const char *p = value + n;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t l = strlen(p);
    while (l && (p[l - 1] == ' ' || p[l - 1] == '\t'))
        l--;
    *len = l;
    return p;
}

int server_auth_ok(const sonde_server *s, const char *authorization)
{
    if (!s->basic_expected && !s->bearer_expected)
        return 1;
    if (!authorization)
        return 0;
    while (*authorization == ' ' || *authorization == '\t')
        authorization++;
    size_t len;
    const char *cred;
    if (s->basic_expected && (cred = credential(authorization, "Basic", &len)))
        return ct_equal(cred, len, s->basic_expected);
    if (s->bearer_expected && (cred = credential(authorization, "Bearer", &len)))
        return ct_equal(cred, len, s->bearer_expected);
    return 0;
}
