/*
 * asset.h - the console's pages, embedded in libsonde-http at build time.
 *
 * src/console/assets/ (index.html, app.css, the page modules) and Debian's
 * dygraphs are turned into a C table by embed/embed_assets.c (CMake runs it;
 * the generated assets.c lives in the build directory): each asset with its
 * content type, its bytes, their precomputed gzip and a strong ETag.
 * console_asset_find() maps a request path to an asset; console_asset_respond()
 * answers it (gzip when the client accepts it, 304 on a matching
 * If-None-Match, the console's Content-Security-Policy), for
 * sonde_console_handle() to call on every non-API path.
 */
#ifndef SONDE_CONSOLE_ASSET_H
#define SONDE_CONSOLE_ASSET_H

#include <stddef.h>

#include <sonde/server.h>

typedef struct console_asset {
    const char *name;          /* "index.html", "app.js", "dygraph.min.js", ... */
    const char *content_type;
    const unsigned char *body; /* the file (a NUL follows, not counted) */
    size_t body_len;
    const unsigned char *gzip; /* its gzip */
    size_t gzip_len;
    const char *etag;          /* quoted, e.g. "\"0123456789abcdef\"" */
} console_asset;

/* The generated table (assets.c in the build directory). */
extern const console_asset console_assets[];
extern const size_t console_asset_count;

/* The Content-Security-Policy of every page and asset (no inline script or style). */
extern const char console_csp[];

/* The asset served at path: "/console" and "/console/" (and "/console/index.html") are the
 * page, "/console/assets/NAME" the asset NAME; a "?query" is ignored. NULL: none. */
const console_asset *console_asset_find(const char *path);

/* Answer a GET or HEAD of asset a into resp (status 200 with the body, gzip'd when
 * accept_encoding allows it, or 304 without a body when if_none_match names its ETag).
 * SONDE_OK, or SONDE_ENOMEM with resp empty. */
int console_asset_respond(const console_asset *a, const char *accept_encoding,
                          const char *if_none_match, sonde_server_response *resp);

#endif
