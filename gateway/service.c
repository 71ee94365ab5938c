/*
 * service.c - the HTTP side: libmicrohttpd daemons, the life of a request,
 * and the two ways to answer it.
 *
 * MHD runs with its own polling threads (epoll, a thread pool), never a
 * thread per connection. A request's body is gathered up to the configured
 * limit (past it the rest is drained and the request answered 413). Then the
 * request is handed to openai_api.c; when no answer is ready on return, the
 * connection is suspended under the request's mutex, and whoever answers
 * later (a timer or the curl thread) resumes it. The first answer wins; a
 * later one is dropped, which is how shutdown answers waiting requests.
 *
 * Every request is timed by the HTTP middleware (sonde/http.h) with its
 * route normalised to the known paths. /metrics, /health and /ready are the
 * embedded server's (sonde/server.h): answered through sonde_server_handle()
 * on the API port, or by the server itself on --metrics-port. /ready is true
 * while every upstream is reachable (main.c probes them). Every live request
 * is on a list so shutdown can end them all and resume every suspended
 * connection, which MHD demands before it stops.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway.h"
#include "service.h"

struct gw_req {
    atomic_int refs;
    pthread_mutex_t mu;
    struct MHD_Connection *conn;
    struct gw_req *prev, *next; /* live list */
    char *body;
    size_t len, cap;
    int too_large, dispatched, waiting, ready, queued, gone, streaming;
    unsigned status;
    char *resp;
    int retry_after;
    size_t resp_bytes;
    gw_stream *stream;
    sonde_http_token tok;
};

static struct MHD_Daemon *api_daemon;
static sonde_server *ops;
static int ops_separate;
static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;
static gw_req *live;
static atomic_int ready_flag;
static atomic_int stopping;

void gw_service_set_ready(int r)
{
    atomic_store(&ready_flag, r);
}

void gw_req_ref(gw_req *r)
{
    atomic_fetch_add(&r->refs, 1);
}

void gw_req_unref(gw_req *r)
{
    if (atomic_fetch_sub(&r->refs, 1) != 1) return;
    pthread_mutex_destroy(&r->mu);
    gw_stream_free(r->stream);
    free(r->body);
    free(r->resp);
    free(r);
}

int gw_req_gone(const gw_req *r)
{
    gw_req *m = (gw_req *)r;
    pthread_mutex_lock(&m->mu);
    int g = m->gone;
    pthread_mutex_unlock(&m->mu);
    return g;
}

/* Mark the answer ready and resume the connection if it waits; r->mu held. */
static void set_ready(gw_req *r)
{
    r->ready = 1;
    if (r->waiting) {
        r->waiting = 0;
        MHD_resume_connection(r->conn);
    }
}

void gw_reply_json(gw_req *r, unsigned status, char *body, int retry_after)
{
    pthread_mutex_lock(&r->mu);
    if (r->ready) {
        pthread_mutex_unlock(&r->mu);
        free(body);
        return;
    }
    r->status = status;
    r->resp = body;
    r->retry_after = retry_after;
    set_ready(r);
    pthread_mutex_unlock(&r->mu);
}

static void reply_error_v(gw_req *r, unsigned status, const char *type, const char *code,
                          const char *param, int retry_after, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    gw_utf8_fix(msg); /* a client's bytes, or a character cut at the end, would fail json_pack */
    json_t *e = json_pack("{s:{s:s, s:s, s:o, s:o}}", "error", "message", msg, "type", type,
                          "code", code ? json_string(code) : json_null(), "param",
                          param ? json_string(param) : json_null());
    char *body = e ? json_dumps(e, JSON_COMPACT) : NULL;
    json_decref(e);
    if (!body) body = strdup("{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\"}}");
    gw_reply_json(r, status, body, retry_after);
}

void gw_reply_error(gw_req *r, unsigned status, const char *type, const char *code,
                    int retry_after, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    reply_error_v(r, status, type, code, NULL, retry_after, fmt, ap);
    va_end(ap);
}

void gw_reply_invalid(gw_req *r, const char *param, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    reply_error_v(r, 400, "invalid_request_error", "invalid_request", param, -1, fmt, ap);
    va_end(ap);
}

void gw_reply_stream(gw_req *r)
{
    gw_stream *s = gw_stream_new();
    if (!s) { /* the client still gets an answer; later writes to the stream fail */
        gw_reply_error(r, 503, "server_error", "out_of_memory", 1, "The gateway is out of memory.");
        return;
    }
    pthread_mutex_lock(&r->mu);
    if (!r->ready) {
        r->stream = s;
        s = NULL;
        r->status = 200;
        r->streaming = 1;
        set_ready(r);
    }
    pthread_mutex_unlock(&r->mu);
    gw_stream_free(s);
}

int gw_stream_write(gw_req *r, const char *data, size_t len)
{
    pthread_mutex_lock(&r->mu);
    gw_stream *s = r->streaming ? r->stream : NULL;
    if (s) r->resp_bytes += len;
    pthread_mutex_unlock(&r->mu);
    return s ? gw_stream_append(s, data, len) : -1;
}

int gw_stream_event(gw_req *r, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    if (!s) return -1;
    size_t n = strlen(s);
    char *ev = malloc(n + 9);
    if (!ev) {
        free(s);
        return -1;
    }
    memcpy(ev, "data: ", 6);
    memcpy(ev + 6, s, n);
    memcpy(ev + 6 + n, "\n\n", 2);
    int rc = gw_stream_write(r, ev, n + 8);
    free(ev);
    free(s);
    return rc;
}

size_t gw_stream_backlog(gw_req *r)
{
    pthread_mutex_lock(&r->mu);
    gw_stream *s = r->streaming ? r->stream : NULL;
    pthread_mutex_unlock(&r->mu);
    return s ? gw_stream_pending(s) : 0;
}

void gw_stream_finish(gw_req *r)
{
    gw_stream_write(r, "data: [DONE]\n\n", 14);
    pthread_mutex_lock(&r->mu);
    gw_stream *s = r->streaming ? r->stream : NULL;
    pthread_mutex_unlock(&r->mu);
    if (s) gw_stream_end(s);
}

/* ---- queueing answers ----------------------------------------------------- */

static enum MHD_Result queue_buffer(struct MHD_Connection *c, unsigned status, const char *type,
                                    char *body, size_t len, int retry_after)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", type);
    if (retry_after >= 0) {
        char ra[24];
        snprintf(ra, sizeof ra, "%d", retry_after);
        MHD_add_response_header(resp, "Retry-After", ra);
    }
    enum MHD_Result rc = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* Queue the prepared answer; r->mu held. */
static enum MHD_Result queue_ready(gw_req *r)
{
    r->queued = 1;
    if (r->streaming) {
        struct MHD_Response *resp = gw_stream_response(r->stream, r->conn);
        if (!resp) return MHD_NO;
        enum MHD_Result rc = MHD_queue_response(r->conn, 200, resp);
        MHD_destroy_response(resp);
        sonde_http_stream_begin(gw_http, &r->tok);
        return rc;
    }
    char *body = r->resp;
    r->resp = NULL;
    if (!body) return MHD_NO; /* json_dumps() ran out of memory: close the connection */
    r->resp_bytes = strlen(body);
    return queue_buffer(r->conn, r->status, "application/json", body, r->resp_bytes,
                        r->retry_after);
}

/* /metrics, /health, /ready: answered on the spot by the embedded server's handler. */
static enum MHD_Result serve_ops(struct MHD_Connection *c, const char *method, const char *url,
                                 unsigned *status, size_t *bytes)
{
    sonde_server_request rq = {
        .method = method, .path = url,
        .accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept"),
        .accept_encoding = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept-Encoding"),
        .authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization")};
    sonde_server_response rs;
    if (sonde_server_handle(ops, &rq, &rs) != SONDE_OK) return MHD_NO;
    struct MHD_Response *resp = MHD_create_response_from_buffer(rs.body_len, rs.body,
                                                                MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        sonde_server_response_free(&rs);
        return MHD_NO;
    }
    rs.body = NULL; /* MHD owns it now */
    for (size_t i = 0; i < rs.header_count; i++)
        MHD_add_response_header(resp, rs.headers[i].name, rs.headers[i].value);
    *status = (unsigned)rs.status;
    *bytes = rs.body_len;
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)rs.status, resp);
    MHD_destroy_response(resp);
    sonde_server_response_free(&rs);
    return rc;
}

static int is_ops(const char *url)
{
    return !strcmp(url, "/metrics") || !strcmp(url, "/health") || !strcmp(url, "/ready");
}

static const char *route_of(const char *url)
{
    static const char *const routes[] = {"/v1/chat/completions", "/v1/completions",
        "/v1/embeddings", "/v1/models", "/metrics", "/health", "/ready", NULL};
    for (const char *const *p = routes; *p; p++)
        if (strcmp(url, *p) == 0) return *p;
    if (strncmp(url, "/v1/models/", 11) == 0) return "/v1/models/{model}";
    return "other";
}

static void live_add(gw_req *r)
{
    pthread_mutex_lock(&live_mu);
    r->next = live;
    if (live) live->prev = r;
    live = r;
    pthread_mutex_unlock(&live_mu);
}

static void live_remove(gw_req *r)
{
    pthread_mutex_lock(&live_mu);
    if (r->prev) r->prev->next = r->next;
    else live = r->next;
    if (r->next) r->next->prev = r->prev;
    pthread_mutex_unlock(&live_mu);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls)
{
    gw_req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r) return MHD_NO;
        atomic_init(&r->refs, 1);
        pthread_mutex_init(&r->mu, NULL);
        r->conn = conn;
        r->tok = sonde_http_begin(gw_http, method, route_of(url), SONDE_HTTP_SIZE_UNKNOWN);
        r->retry_after = -1;
        *con_cls = r;
        live_add(r);
        return MHD_YES;
    }
    if (*upload_size) {
        if (!r->too_large) {
            if (r->len + *upload_size > gw_cfg->max_body) {
                r->too_large = 1;
            } else {
                if (r->len + *upload_size + 1 > r->cap) {
                    size_t ncap = r->cap ? r->cap : 4096;
                    while (ncap < r->len + *upload_size + 1) ncap *= 2;
                    char *n = realloc(r->body, ncap);
                    if (!n) return MHD_NO;
                    r->body = n;
                    r->cap = ncap;
                }
                memcpy(r->body + r->len, upload, *upload_size);
                r->len += *upload_size;
                r->body[r->len] = 0;
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (!r->dispatched) {
        r->dispatched = 1;
        if (!ops_separate && is_ops(url)) {
            size_t bytes = 0;
            enum MHD_Result rc = serve_ops(conn, method, url, &r->status, &bytes);
            pthread_mutex_lock(&r->mu);
            r->ready = r->queued = 1;
            r->resp_bytes = bytes;
            pthread_mutex_unlock(&r->mu);
            return rc;
        }
        if (atomic_load(&stopping)) {
            gw_reply_error(r, 503, "server_error", "shutting_down", 1, "The gateway is shutting down");
        } else {
            const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
            char *bearer = NULL;
            if (auth && strncasecmp(auth, "Bearer", 6) == 0 && (auth[6] == ' ' || auth[6] == '\t')) {
                bearer = (char *)auth + 6; /* RFC 7235: 1*SP after the scheme */
                while (*bearer == ' ' || *bearer == '\t') bearer++;
            }
            if (!bearer) bearer = (char *)MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                                      "x-api-key");
            gw_openai_handle(r, method, url, r->body ? r->body : "", r->len, r->too_large, bearer);
        }
    }
    pthread_mutex_lock(&r->mu);
    enum MHD_Result rc = MHD_YES;
    if (r->ready && !r->queued) rc = queue_ready(r);
    else if (!r->ready && !r->waiting) {
        r->waiting = 1;
        MHD_suspend_connection(conn);
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    gw_req *r = *con_cls;
    if (!r) return;
    *con_cls = NULL;
    live_remove(r);
    pthread_mutex_lock(&r->mu);
    r->gone = toe != MHD_REQUEST_TERMINATED_COMPLETED_OK;
    if (r->stream) gw_stream_close(r->stream);
    r->ready = 1; /* nothing may resume this connection any more */
    r->waiting = 0;
    int gone = r->gone;
    unsigned status = r->queued ? r->status : 499; /* 499: client closed before an answer */
    size_t bytes = r->resp_bytes;
    pthread_mutex_unlock(&r->mu);
    if (gone) gw_proxy_wake();
    r->tok.request_size = r->len;
    sonde_http_end(gw_http, &r->tok, (int)status, bytes);
    gw_req_unref(r);
}

static struct MHD_Daemon *start_daemon(int port, void *cls, int threads)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
    const char *addr = gw_cfg->address;
    int have_addr = 0;
    if (addr && *addr) {
        struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
            in4->sin_family = AF_INET;
            in4->sin_port = htons((uint16_t)port);
            have_addr = 1;
        } else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
            in6->sin6_family = AF_INET6;
            in6->sin6_port = htons((uint16_t)port);
            flags |= MHD_USE_IPv6;
            have_addr = 1;
        } else {
            fprintf(stderr, "sonde-gateway: bad listen address '%s'\n", addr);
            return NULL;
        }
    }
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL},
        {MHD_OPTION_THREAD_POOL_SIZE, threads, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, (intptr_t)gw_cfg->max_connections, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, 120, NULL},
        {MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096, NULL},
        {have_addr ? MHD_OPTION_SOCK_ADDR : MHD_OPTION_END, 0, (void *)&ss},
        {MHD_OPTION_END, 0, NULL},
    };
    return MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, cls, MHD_OPTION_ARRAY,
                            opts, MHD_OPTION_END);
}

static int ready_check(void *ud)
{
    return atomic_load(&ready_flag) && !atomic_load(&stopping);
}

int gw_service_start(void)
{
    sonde_config sc = *sonde_registry_config(gw_registry);
    sc.owned_ = NULL;
    sc.metrics_path = "/metrics";
    sc.listen_addr = gw_cfg->address;
    sc.port = gw_cfg->metrics_port ? gw_cfg->metrics_port : SONDE_DEFAULT_PORT;
    sonde_server_opts so;
    sonde_server_opts_init(&so);
    so.registry = gw_registry;
    so.config = &sc;
    so.max_connections = 256;
    char err[256];
    if (sonde_server_new(&so, err, sizeof err, &ops) != SONDE_OK ||
        sonde_server_ready_add(ops, "upstreams", ready_check, NULL) != SONDE_OK) {
        fprintf(stderr, "sonde-gateway: metrics server: %s\n", err);
        return -1;
    }
    ops_separate = gw_cfg->metrics_port && gw_cfg->metrics_port != gw_cfg->port;
    if (ops_separate && sonde_server_start(ops) != SONDE_OK) {
        fprintf(stderr, "sonde-gateway: %s\n", sonde_server_errmsg(ops));
        return -1;
    }
    api_daemon = start_daemon(gw_cfg->port, NULL, gw_cfg->threads);
    return api_daemon ? 0 : -1;
}

int gw_service_port(void)
{
    const union MHD_DaemonInfo *i = api_daemon ? MHD_get_daemon_info(api_daemon,
                                                                     MHD_DAEMON_INFO_BIND_PORT) : NULL;
    return i ? i->port : 0;
}

/* End every live request (answer 503 / end its stream) so that no
 * connection stays suspended, which MHD_stop_daemon() requires. Requests
 * arriving meanwhile are answered 503 at once and never suspend, so a pass
 * finding every request answered and every stream ended is final. */
void gw_service_stop(void)
{
    atomic_store(&stopping, 1);
    if (api_daemon) MHD_quiesce_daemon(api_daemon);
    for (;;) {
        int open = 0;
        pthread_mutex_lock(&live_mu);
        for (gw_req *r = live; r; r = r->next) {
            pthread_mutex_lock(&r->mu);
            gw_stream *s = r->streaming ? r->stream : NULL;
            int ready = r->ready;
            pthread_mutex_unlock(&r->mu);
            if (s && !gw_stream_ended(s)) {
                gw_stream_end(s);
                open++;
            } else if (!ready) {
                gw_reply_error(r, 503, "server_error", "shutting_down", 1,
                               "The gateway is shutting down");
                open++;
            }
        }
        pthread_mutex_unlock(&live_mu);
        if (!open) break;
    }
    if (api_daemon) MHD_stop_daemon(api_daemon);
    sonde_server_free(ops);
    api_daemon = NULL;
    ops = NULL;
}
