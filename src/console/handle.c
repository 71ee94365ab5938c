/*
 * handle.c - one request under /console/ in, one whole response out.
 *
 * Order: a NULL argument is SONDE_EINVAL; a method other than GET or HEAD
 * gets 405 with Allow; the path (before "?") picks the API endpoint when it
 * starts with /console/api/ (the query string parsed first: 400 when it is
 * malformed), else the embedded pages (serve_page). Authentication is the
 * caller's (the embedded server and the gateway apply their metrics path's
 * rules before calling here).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_internal.h"
#include "console_obs.h"

#define API_PREFIX "/console/api/"

/* The API endpoints by name; a name matches "name" exactly or "name/<rest>". fn_req: an
 * endpoint that also reads the request's Last-Event-ID (the log tail's reconnects). */
static const struct {
    const char *name;
    console_api_fn fn;
    int (*fn_req)(sonde_console *c, const char *sub, const console_params *p,
                  const char *last_event_id, sonde_server_response *resp);
} api_table[] = {
    {"status", console_api_status, NULL},
    {"families", console_api_families, NULL},
    {"series", console_api_series, NULL},
    {"query", console_api_query, NULL},
    {"overview", console_api_overview, NULL},
    {"traces", console_api_traces, NULL},
    {"logs", NULL, console_api_logs},
    {"alerts", console_api_alerts, NULL},
};

static int serve_api(sonde_console *c, const sonde_server_request *req, size_t path_len,
                     const char *query, sonde_server_response *resp)
{
    const char *path = req->path;
    const char *name = path + strlen(API_PREFIX);
    size_t name_len = path_len - strlen(API_PREFIX);
    for (size_t i = 0; i < sizeof api_table / sizeof api_table[0]; i++) {
        size_t n = strlen(api_table[i].name);
        if (name_len < n || memcmp(name, api_table[i].name, n) != 0 ||
            (name_len > n && name[n] != '/'))
            continue;
        console_params *p = malloc(sizeof *p);
        if (!p)
            return SONDE_ENOMEM;
        char err[128];
        int rc = console_params_parse(query, p, err, sizeof err);
        if (rc == SONDE_OK) {
            char sub[256];
            size_t sub_len = name_len - n;
            if (sub_len >= sizeof sub) {
                rc = console_respond_error(resp, 404, "no such API path");
            } else {
                memcpy(sub, name + n, sub_len);
                sub[sub_len] = '\0';
                rc = api_table[i].fn ? api_table[i].fn(c, sub, p, resp)
                                     : api_table[i].fn_req(c, sub, p, req->last_event_id, resp);
            }
        } else {
            rc = console_respond_error(resp, 400, err);
        }
        free(p);
        return rc;
    }
    return console_respond_error(resp, 404, "no such API endpoint");
}

/* The embedded pages (h-cui's asset table); 404 until they exist. */
static int serve_page(sonde_console *c, const char *path, size_t path_len,
                      sonde_server_response *resp)
{
    (void)c, (void)path, (void)path_len;
    return console_respond_error(resp, 404, "no such page");
}

static int answer(sonde_console *c, const sonde_server_request *req, sonde_server_response *resp)
{
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        console_header(resp, "Allow", "GET, HEAD");
        return console_respond_error(resp, 405, "method not allowed");
    }
    const char *q = strchr(req->path, '?');
    size_t path_len = q ? (size_t)(q - req->path) : strlen(req->path);
    if (path_len >= strlen(API_PREFIX) && memcmp(req->path, API_PREFIX, strlen(API_PREFIX)) == 0)
        return serve_api(c, req, path_len, q ? q + 1 : NULL, resp);
    return serve_page(c, req->path, path_len, resp);
}

int sonde_console_handle(sonde_console *c, const sonde_server_request *req,
                         sonde_server_response *resp)
{
    if (resp)
        memset(resp, 0, sizeof *resp);
    if (!c || !req || !req->method || !req->path || !resp)
        return SONDE_EINVAL;
    int rc = answer(c, req, resp);
    if (rc) { /* out of memory: nothing half-filled (headers included) */
        sonde_server_response_free(resp);
        memset(resp, 0, sizeof *resp);
    }
    return rc;
}
