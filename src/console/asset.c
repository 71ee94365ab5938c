/*
 * asset.c - finding and answering the embedded console assets (asset.h).
 * The table is small (a dozen entries): a linear search by name. Every
 * answer carries the console's CSP, nosniff, the ETag and
 * "Cache-Control: no-cache" (the browser revalidates and gets a 304 while
 * the library is the same build), plus Vary: Accept-Encoding.
 */
#include <stdlib.h>
#include <string.h>

#include <sonde/sonde.h>

#include "../server/server_internal.h"
#include "asset.h"

const char console_csp[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const console_asset *console_asset_find(const char *path)
{
    static const char prefix[] = "/console", assets[] = "/assets/";
    if (!path || strncmp(path, prefix, sizeof prefix - 1) != 0) return NULL;
    const char *rest = path + sizeof prefix - 1;
    size_t n = strcspn(rest, "?");
    const char *name;
    size_t len;
    if (n == 0 || (n == 1 && rest[0] == '/') ||
        (n == sizeof "/index.html" - 1 && strncmp(rest, "/index.html", n) == 0)) {
        name = "index.html";
        len = sizeof "index.html" - 1;
    } else if (n > sizeof assets - 1 && strncmp(rest, assets, sizeof assets - 1) == 0) {
        name = rest + sizeof assets - 1;
        len = n - (sizeof assets - 1);
        if (len == sizeof "index.html" - 1 && strncmp(name, "index.html", len) == 0) return NULL;
    } else {
        return NULL;
    }
    for (size_t i = 0; i < console_asset_count; i++)
        if (strlen(console_assets[i].name) == len && memcmp(console_assets[i].name, name, len) == 0)
            return &console_assets[i];
    return NULL;
}

/* Whether an If-None-Match value (a list of entity tags, or "*") names etag; weak
 * tags (W/"...") match too, as RFC 9110 asks for this comparison. */
static int etag_matches(const char *inm, const char *etag)
{
    if (!inm) return 0;
    size_t el = strlen(etag);
    for (const char *p = inm; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        if (*p == '*') return 1;
        if (p[0] == 'W' && p[1] == '/') p += 2;
        size_t n = strcspn(p, ",");
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
        if (n == el && memcmp(p, etag, el) == 0) return 1;
        p += strcspn(p, ",");
    }
    return 0;
}

int console_asset_respond(const console_asset *a, const char *accept_encoding,
                          const char *if_none_match, sonde_server_response *resp)
{
    memset(resp, 0, sizeof *resp);
    int not_modified = etag_matches(if_none_match, a->etag);
    int gz = !not_modified && server_accepts_gzip(accept_encoding);
    const unsigned char *src = not_modified ? (const unsigned char *)"" : gz ? a->gzip : a->body;
    size_t len = not_modified ? 0 : gz ? a->gzip_len : a->body_len;
    char *body = malloc(len + 1);
    if (!body) return SONDE_ENOMEM;
    memcpy(body, src, len);
    body[len] = 0;
    resp->status = not_modified ? 304 : 200;
    resp->body = body;
    resp->body_len = len;
    server_header(resp, "Content-Type", a->content_type);
    server_header(resp, "Content-Security-Policy", console_csp);
    server_header(resp, "X-Content-Type-Options", "nosniff");
    server_header(resp, "Cache-Control", "no-cache");
    server_header(resp, "ETag", a->etag);
    server_header(resp, "Vary", "Accept-Encoding");
    if (gz) server_header(resp, "Content-Encoding", "gzip");
    return SONDE_OK;
}
