/*
 * push_dest.c - a push destination's credentials and headers, prepared once
 * at creation for the Pushgateway client and the remote-write sender. The
 * caller's strings are copied, so they may go away after creation; a bearer
 * token becomes an Authorization header (refused if it could inject a
 * header), basic credentials go to libcurl at each request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "push_internal.h"

int sonde_push_http_url(const char *u)
{
    if (!u || !(strncasecmp(u, "http://", 7) == 0 || strncasecmp(u, "https://", 8) == 0) ||
        strlen(u) >= 4096)
        return 0;
    for (const unsigned char *p = (const unsigned char *)u; *p; p++)
        if (*p <= 32 || *p == 127)
            return 0;
    return 1;
}

static int dup_opt(const char *s, const char **out)
{
    *out = NULL;
    if (!s)
        return 0;
    char *d = strdup(s);
    *out = d;
    return d ? 0 : -1;
}

void sonde_push_dest_free(push_dest *d)
{
    free((char *)d->auth.basic_user);
    free((char *)d->auth.basic_password);
    free((char *)d->auth.ca_file);
    curl_slist_free_all(d->headers);
    memset(d, 0, sizeof *d);
}

static int append(push_dest *d, const char *line)
{
    struct curl_slist *n = curl_slist_append(d->headers, line);
    if (!n)
        return -1;
    d->headers = n;
    return 0;
}

int sonde_push_dest_init(push_dest *d, const sonde_push_auth *auth, const char *content_type,
                         const char *const *extra)
{
    memset(d, 0, sizeof *d);
    sonde_push_auth none = {0};
    if (!auth)
        auth = &none;
    if (auth->bearer_token && (strpbrk(auth->bearer_token, "\r\n") || !auth->bearer_token[0]))
        return SONDE_ECONFIG;
    char line[128];
    snprintf(line, sizeof line, "Content-Type: %s", content_type);
    if (dup_opt(auth->basic_user, &d->auth.basic_user) ||
        dup_opt(auth->basic_password, &d->auth.basic_password) ||
        dup_opt(auth->ca_file, &d->auth.ca_file) || append(d, line))
        goto nomem;
    d->auth.insecure = auth->insecure_skip_verify != 0;
    for (size_t i = 0; extra && extra[i]; i++)
        if (append(d, extra[i]))
            goto nomem;
    if (auth->bearer_token) {
        size_t n = strlen(auth->bearer_token) + 32;
        char *b = malloc(n);
        if (!b)
            goto nomem;
        snprintf(b, n, "Authorization: Bearer %s", auth->bearer_token);
        int bad = append(d, b);
        free(b);
        if (bad)
            goto nomem;
    }
    return SONDE_OK;
nomem:
    sonde_push_dest_free(d);
    return SONDE_ENOMEM;
}
