/*
 * mhd.c - the embedded server on libmicrohttpd.
 *
 * One daemon per sonde_server, with MHD's internal polling thread (a pool of
 * s->threads when more than one), on the socket server.c opened. The
 * access handler copies the headers sonde_server_handle() needs and sends
 * its response; libmicrohttpd sets Content-Length from the body and omits
 * the body for HEAD. Hostile clients meet MHD's own limits (connection
 * count, idle timeout, memory per connection, which bounds the request
 * line and headers) and ours: a request whose headers or announced body
 * (Content-Length) exceed max_request_size gets 431 or 413 before its body
 * is read; a body that grows past the limit while it is read (chunked) has
 * its connection closed, since MHD cannot queue a response then. The body
 * size is counted in the request's context pointer itself, so no request
 * allocates anything until its response.
 */
#include <microhttpd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"
#include "sonde/http_mhd.h"

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    MHD_add_response_header(r, "Connection", "close");
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

#define REFUSED ((void *)UINTPTR_MAX)

static enum MHD_Result refuse(struct MHD_Connection *c, void **ctx, unsigned status,
                              const char *text)
{
    *ctx = REFUSED;
    return send_text(c, status, text);
}

static const char *header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **ctx)
{
    sonde_server *s = cls;
    if (*ctx == REFUSED) { /* answered already: drop whatever body still arrives */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (!*ctx) {
        /* headers complete: check their size and the announced body before reading it */
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
        *ctx = (void *)(uintptr_t)1;
        if (ci && ci->header_size > s->max_request_size)
            return refuse(c, ctx, 431, "request headers too large\n");
        const char *cl = header(c, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > s->max_request_size)
            return refuse(c, ctx, 413, "request too large\n");
        return MHD_YES;
    }
    uintptr_t seen = (uintptr_t)*ctx - 1;
    if (*upload_data_size) {
        seen += *upload_data_size;
        *upload_data_size = 0;
        *ctx = (void *)(seen + 1);
        if (seen > s->max_request_size)
            return MHD_NO; /* MHD cannot answer in the middle of a body: close */
        return MHD_YES;
    }
    char target[8192]; /* the console reads the query string */
    if (s->console && strncmp(url, "/console/", 9) == 0) {
        if (!sonde_http_mhd_request_target(c, url, target, sizeof target))
            return send_text(c, 414, "request target too long\n");
        url = target;
    }
    sonde_server_request req = {
        .method = method,
        .path = url,
        .accept = header(c, "Accept"),
        .accept_encoding = header(c, "Accept-Encoding"),
        .authorization = header(c, "Authorization"),
        .last_event_id = header(c, "Last-Event-ID"),
    };
    sonde_server_response resp;
    if (sonde_server_handle(s, &req, &resp) != SONDE_OK)
        return send_text(c, 500, "out of memory\n");
    struct MHD_Response *r =
        MHD_create_response_from_buffer(resp.body_len, resp.body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        sonde_server_response_free(&resp);
        return MHD_NO;
    }
    for (size_t i = 0; i < resp.header_count; i++)
        MHD_add_response_header(r, resp.headers[i].name, resp.headers[i].value);
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)resp.status, r);
    MHD_destroy_response(r);
    return ok;
}

int server_mhd_start(sonde_server *s)
{
    unsigned threads = s->threads < s->max_connections ? s->threads : s->max_connections;
    size_t memory = s->max_request_size + 16384;
    if (memory < 32768)
        memory = 32768;
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_LISTEN_SOCKET, s->listen_fd, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, s->max_connections, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, s->connection_timeout, NULL},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)memory, NULL},
        {MHD_OPTION_STRICT_FOR_CLIENT, 1, NULL}, /* e.g. HTTP/1.1 without Host is a 400 */
        {threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, threads, NULL},
        {MHD_OPTION_END, 0, NULL},
        {MHD_OPTION_END, 0, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC;
    if (s->tls_cert) {
        flags |= MHD_USE_TLS;
        /* the thread-pool option is last before these when present */
        size_t i = threads > 1 ? 6 : 5;
        opts[i] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert};
        opts[i + 1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key};
    }
    s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_ARRAY, opts,
                                 MHD_OPTION_END);
    return s->daemon ? SONDE_OK : SONDE_EIO;
}

void server_mhd_stop(sonde_server *s)
{
    MHD_quiesce_daemon(s->daemon); /* the listening socket stays ours: server.c closes it */
    MHD_stop_daemon(s->daemon);
    s->daemon = NULL;
}
