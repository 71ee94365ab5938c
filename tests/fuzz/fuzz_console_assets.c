/*
 * fuzz_console_assets.c - the console's page requests (src/console/asset.c): the
 * request path, If-None-Match and Accept-Encoding come from the input (three
 * NUL-terminated strings; the path gets the "/console" prefix half the time) and go
 * through sonde_console_handle(). Checks: a path that is not the API's answers 200
 * (an embedded asset, whose bytes are the gzip or the file and whose ETag is set),
 * 304 (empty, only when the If-None-Match names that ETag or "*") or 404; what
 * console_asset_find() returns is always a table entry.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/console/asset.h"
#include "fuzz_input.h"
#include "sonde/console.h"
#include "sonde/sonde.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *header(const sonde_server_response *r, const char *name)
{
    for (size_t i = 0; i < r->header_count; i++)
        if (strcmp(r->headers[i].name, name) == 0) return r->headers[i].value;
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sonde_console *c;
    if (!c) {
        sonde_console_opts o;
        sonde_console_opts_init(&o);
        o.max_bytes = 1 << 20;
        if (sonde_console_new(&o, &c, NULL, 0)) abort();
    }
    fuzz_input in = {data, size};
    int prefixed = fuzz_byte(&in) & 1;
    char path[1100], inm[512], ae[256];
    size_t k = prefixed ? (size_t)snprintf(path, sizeof path, "/console") : 0;
    fuzz_string(&in, path + k, sizeof path - k);
    fuzz_string(&in, inm, sizeof inm);
    fuzz_string(&in, ae, sizeof ae);
    if (strncmp(path, "/console/api/", 13) == 0) return 0; /* fuzz_console_query's */

    const console_asset *a = console_asset_find(path);
    if (a && (a < console_assets || a >= console_assets + console_asset_count)) abort();
    sonde_server_request req = {.method = "GET", .path = path, .if_none_match = inm,
                                .accept_encoding = ae};
    sonde_server_response r;
    if (sonde_console_handle(c, &req, &r) != SONDE_OK) return 0; /* out of memory */
    if (r.status == 200) {
        const char *etag = header(&r, "ETag");
        if (!a || !etag || strcmp(etag, a->etag) != 0) abort();
        int gz = header(&r, "Content-Encoding") != NULL;
        if (r.body_len != (gz ? a->gzip_len : a->body_len) ||
            memcmp(r.body, gz ? a->gzip : a->body, r.body_len) != 0)
            abort();
    } else if (r.status == 304) {
        if (!a || r.body_len != 0 || (!strstr(inm, a->etag) && !strchr(inm, '*'))) abort();
    } else if (r.status != 404 || a) {
        abort();
    }
    sonde_server_response_free(&r);
    return 0;
}
