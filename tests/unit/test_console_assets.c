/*
 * test_console_assets.c - the console's embedded pages (src/console/asset.c and the
 * generated table): served through sonde_console_handle() under /console/, gzip'd when
 * asked (and inflating back to the same bytes), 304 for a matching If-None-Match, the
 * CSP and nosniff on every page answer, 404 for anything not in the table; and the
 * table is whole: every asset the page or a module refers to is in it.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <sonde/console.h>
#include <sonde/sonde.h>

#include "../../src/console/asset.h"
#include "check.h"

static sonde_console *console;

static const char *header(const sonde_server_response *r, const char *name)
{
    for (size_t i = 0; i < r->header_count; i++)
        if (strcasecmp(r->headers[i].name, name) == 0) return r->headers[i].value;
    return NULL;
}

static int get(const char *path, const char *ae, const char *inm, sonde_server_response *r)
{
    sonde_server_request q = {.method = "GET", .path = path, .accept_encoding = ae,
                              .if_none_match = inm};
    CHECK_EQ_INT(sonde_console_handle(console, &q, r), SONDE_OK);
    return r->status;
}

TEST(index_plain_gzip_and_etag)
{
    sonde_server_response plain, gz, again;
    CHECK_EQ_INT(get("/console/", NULL, NULL, &plain), 200);
    CHECK(strstr(plain.body, "/console/assets/app.js") != NULL);
    CHECK_EQ_STR(header(&plain, "Content-Type"), "text/html; charset=utf-8");
    CHECK(header(&plain, "Content-Encoding") == NULL);
    const char *csp = header(&plain, "Content-Security-Policy");
    CHECK(csp && strstr(csp, "script-src 'self'") && strstr(csp, "style-src 'self'") &&
          !strstr(csp, "unsafe-inline"));
    CHECK_EQ_STR(header(&plain, "X-Content-Type-Options"), "nosniff");
    const char *etag = header(&plain, "ETag");
    CHECK(etag && etag[0] == '"');

    CHECK_EQ_INT(get("/console/index.html?x=1", "br, gzip;q=0.8", NULL, &gz), 200);
    CHECK_EQ_STR(header(&gz, "Content-Encoding"), "gzip");
    CHECK(gz.body_len < plain.body_len);
    char *out = malloc(plain.body_len + 16);
    z_stream z = {0};
    CHECK_EQ_INT(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (unsigned char *)gz.body;
    z.avail_in = (uInt)gz.body_len;
    z.next_out = (unsigned char *)out;
    z.avail_out = (uInt)plain.body_len + 16;
    CHECK_EQ_INT(inflate(&z, Z_FINISH), Z_STREAM_END);
    CHECK_EQ_INT(z.total_out, plain.body_len);
    CHECK(memcmp(out, plain.body, plain.body_len) == 0);
    inflateEnd(&z);
    free(out);

    CHECK_EQ_INT(get("/console/", "gzip", etag, &again), 304);
    CHECK_EQ_INT(again.body_len, 0);
    sonde_server_response_free(&again);
    CHECK_EQ_INT(get("/console/", NULL, "\"0000000000000000\", W/\"x\"", &again), 200);
    sonde_server_response_free(&again);
    char list[128];
    snprintf(list, sizeof list, "\"nope\", W/%s", etag);
    CHECK_EQ_INT(get("/console/", NULL, list, &again), 304);
    sonde_server_response_free(&again);
    sonde_server_response_free(&plain);
    sonde_server_response_free(&gz);
}

TEST(assets_and_misses)
{
    sonde_server_response r;
    CHECK_EQ_INT(get("/console/assets/app.js", NULL, NULL, &r), 200);
    CHECK_EQ_STR(header(&r, "Content-Type"), "text/javascript; charset=utf-8");
    sonde_server_response_free(&r);
    CHECK_EQ_INT(get("/console/assets/dygraph.min.js", NULL, NULL, &r), 200);
    CHECK(strstr(r.body, "sourceMappingURL") == NULL); /* the maps are not embedded */
    sonde_server_response_free(&r);
    CHECK_EQ_INT(get("/console/assets/app.css", NULL, NULL, &r), 200);
    CHECK_EQ_STR(header(&r, "Content-Type"), "text/css; charset=utf-8");
    sonde_server_response_free(&r);
    static const char *const misses[] = {"/console/assets/", "/console/assets/nope.js",
        "/console/assets/../asset.c", "/console/assets/index.html", "/console/app.js",
        "/console/assets/app.js/", "/consolex/", "/console/assets/app.jsx"};
    for (size_t i = 0; i < sizeof misses / sizeof *misses; i++) {
        CHECK_EQ_INT(get(misses[i], NULL, NULL, &r), 404);
        sonde_server_response_free(&r);
    }
    CHECK(console_asset_find(NULL) == NULL);
}

/* Every "/console/assets/NAME" of the page and every "./NAME" a module imports is served. */
TEST(table_is_whole)
{
    size_t refs = 0;
    for (size_t i = 0; i < console_asset_count; i++) {
        const console_asset *a = &console_assets[i];
        CHECK(a->gzip_len > 0 && a->body_len > 0);
        const char *p = (const char *)a->body;
        const char *pat = strcmp(a->name, "index.html") == 0 ? "/console/assets/" : "from './";
        if (!strstr(a->name, ".html") && !strstr(a->name, ".js")) continue;
        if (strstr(a->name, "dygraph")) continue;
        while ((p = strstr(p, pat))) {
            p += strlen(pat);
            size_t n = strcspn(p, "\"'");
            char path[128];
            snprintf(path, sizeof path, "/console/assets/%.*s", (int)n, p);
            const console_asset *t = console_asset_find(path);
            if (!t) fprintf(stderr, "%s refers to %s, which is not embedded\n", a->name, path);
            CHECK(t != NULL);
            refs++;
        }
    }
    CHECK(refs >= 12); /* the page's 4 assets and the modules' imports */
}

int main(void)
{
    sonde_console_opts o;
    sonde_console_opts_init(&o);
    char err[128];
    if (sonde_console_new(&o, &console, err, sizeof err) != SONDE_OK) {
        fprintf(stderr, "console: %s\n", err);
        return 1;
    }
    RUN(index_plain_gzip_and_etag);
    RUN(assets_and_misses);
    RUN(table_is_whole);
    sonde_console_free(console);
    return check_report();
}
