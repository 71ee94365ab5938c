/*
 * handle.c - one request in, one response out: the routing shared by the
 * embedded server and services that call sonde_server_handle() themselves.
 *
 * Order of decisions: the path (before any "?query") picks the endpoint or
 * 404; a method other than GET or HEAD gets 405 with Allow; on the metrics
 * path the credentials come next (401 with WWW-Authenticate), then the limit
 * on scrapes in flight (503 with Retry-After), then the render: format from
 * Accept, gzip from Accept-Encoding, the whole body in memory so that the
 * Content-Length is exact. A failed render is a 500 with a short text body,
 * never a partial exposition. With a console (sonde_server_opts.console), paths
 * under /console/ pass the metrics path's credentials check and go to
 * sonde_console_handle().
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

static const char text_type[] = "text/plain; charset=utf-8";

void server_header(sonde_server_response *resp, const char *name, const char *value)
{
    if (resp->header_count < SONDE_SERVER_MAX_HEADERS) {
        resp->headers[resp->header_count].name = name;
        resp->headers[resp->header_count].value = value;
        resp->header_count++;
    }
}

static int respond_text(sonde_server_response *resp, int status, const char *content_type,
                        const char *text)
{
    size_t n = strlen(text);
    char *body = malloc(n + 1);
    if (!body)
        return SONDE_ENOMEM;
    memcpy(body, text, n + 1);
    resp->status = status;
    resp->body = body;
    resp->body_len = n;
    server_header(resp, "Content-Type", content_type);
    return SONDE_OK;
}

static int unauthorized(sonde_server *s, sonde_server_response *resp)
{
    server_header(resp, "WWW-Authenticate",
                  s->basic_expected ? "Basic realm=\"metrics\", charset=\"UTF-8\""
                                    : "Bearer realm=\"metrics\"");
    return respond_text(resp, 401, text_type, "unauthorized\n");
}

static int serve_metrics(sonde_server *s, const sonde_server_request *req,
                         sonde_server_response *resp)
{
    if (!server_auth_ok(s, req->authorization))
        return unauthorized(s, resp);
    if (atomic_fetch_add(&s->scrapes, 1) >= s->max_scrapes) {
        atomic_fetch_sub(&s->scrapes, 1);
        server_header(resp, "Retry-After", "1");
        return respond_text(resp, 503, text_type, "too many scrapes in flight\n");
    }
    sonde_format fmt = sonde_format_negotiate(req->accept);
    int gzip = s->gzip && server_accepts_gzip(req->accept_encoding);
    body_buf b;
    int rc = body_init(&b, gzip);
    if (!rc) {
        rc = sonde_expose(s->reg, fmt, body_write, &b);
        int frc = body_finish(&b);
        if (!rc)
            rc = frc;
    }
    atomic_fetch_sub(&s->scrapes, 1);
    if (rc) {
        body_discard(&b);
        return respond_text(resp, 500, text_type, "metrics render failed\n");
    }
    resp->status = 200;
    resp->body = b.data;
    resp->body_len = b.len;
    server_header(resp, "Content-Type", sonde_format_content_type(fmt));
    if (gzip)
        server_header(resp, "Content-Encoding", "gzip");
    server_header(resp, "Vary", "Accept, Accept-Encoding");
    return SONDE_OK;
}

static int answer(sonde_server *s, const sonde_server_request *req, sonde_server_response *resp)
{
    const char *q = strchr(req->path, '?');
    size_t plen = q ? (size_t)(q - req->path) : strlen(req->path);
    enum { EP_NONE, EP_METRICS, EP_HEALTH, EP_READY } ep = EP_NONE;
    if (plen == strlen(s->metrics_path) && !memcmp(req->path, s->metrics_path, plen))
        ep = EP_METRICS;
    else if (plen == 7 && !memcmp(req->path, "/health", 7))
        ep = EP_HEALTH;
    else if (plen == 6 && !memcmp(req->path, "/ready", 6))
        ep = EP_READY;
    if (ep == EP_NONE && s->console && plen >= 8 && !memcmp(req->path, "/console", 8) &&
        (plen == 8 || req->path[8] == '/')) {
        if (!server_auth_ok(s, req->authorization)) /* the metrics path's rules */
            return unauthorized(s, resp);
        if (plen == 8) { /* "/console": the pages live under "/console/" */
            server_header(resp, "Location", "/console/");
            return respond_text(resp, 308, text_type, "/console/\n");
        }
        return sonde_console_handle(s->console, req, resp);
    }
    if (ep == EP_NONE)
        return respond_text(resp, 404, text_type, "not found\n");
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        server_header(resp, "Allow", "GET, HEAD");
        return respond_text(resp, 405, text_type, "method not allowed\n");
    }
    if (ep == EP_METRICS)
        return serve_metrics(s, req, resp);
    if (ep == EP_HEALTH)
        return server_health(s, resp);
    return server_ready(s, resp);
}

int sonde_server_handle(sonde_server *s, const sonde_server_request *req,
                        sonde_server_response *resp)
{
    if (resp)
        memset(resp, 0, sizeof *resp);
    if (!s || !req || !resp || !req->method || !req->path)
        return SONDE_EINVAL;
    int rc = answer(s, req, resp);
    if (rc) { /* out of memory on any path: nothing half-filled (headers included) */
        sonde_server_response_free(resp);
        memset(resp, 0, sizeof *resp);
    }
    return rc;
}

void sonde_server_response_free(sonde_server_response *resp)
{
    if (!resp)
        return;
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
}
