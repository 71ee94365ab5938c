/*
 * auth.c - opt-in protection of the metrics path: HTTP basic auth and bearer
 * tokens.
 *
 * The expected credential is prepared once (base64 of "user:password" for
 * basic auth, the token itself for bearer) and each request's Authorization
 * value is compared with it in time that depends only on the expected
 * length, never on where the first difference is (sonde_secret_equal, shared
 * with the programs built on the library). The scheme name is
 * case-insensitive (RFC 7235); when both kinds are configured either one is
 * accepted.
 */
#include <string.h>

#include "core_iface.h"
#include "server_internal.h"

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
        return sonde_secret_equal(cred, len, s->basic_expected, strlen(s->basic_expected));
    if (s->bearer_expected && (cred = credential(authorization, "Bearer", &len)))
        return sonde_secret_equal(cred, len, s->bearer_expected, strlen(s->bearer_expected));
    return 0;
}
