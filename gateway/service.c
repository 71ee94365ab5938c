/*
 * service.c - the HTTP side: libmicrohttpd daemons, the life of a request,
 * and the two ways to answer it.
 *
 * MHD runs with its own polling threads (epoll, a thread pool), never a
 * thread per connection: one daemon per listening address, by default
 * 127.0.0.1 and ::1 (loopback only, on one port), else --address. A request's body is gathered up to the configured
 * limit; past it the request is answered 413 at once without reading the
 * rest: when its Content-Length says so, before any of the body, else (a
 * chunked body) as soon as the running total passes the limit. Then the
 * request is handed to openai_api.c; when no answer is ready on return, the
 * connection is suspended under the request's mutex, and whoever answers
 * later (a timer or the curl thread) resumes it. The first answer wins; a
 * later one is dropped, which is how shutdown answers waiting requests.
 *
 * Every request is timed by the HTTP middleware (sonde/http.h) with its
 * route normalised to the known paths; with a tracer the middleware also
 * opens its SERVER span, continuing the client's traceparent, whose context
 * the request keeps as the parent of its call's spans. When the request ends
 * its access-log line is written inside that span (access.c), then the
 * middleware records it and ends the span. /metrics, /health and /ready are the
 * embedded server's (sonde/server.h): answered through sonde_server_handle()
 * on the API port (/metrics there behind the API keys, when there are keys),
 * or by the server itself on --metrics-port. /ready is true
 * while every upstream is reachable (main.c probes them). Every live request
 * is on a list so shutdown can end them all and resume every suspended
 * connection, which MHD demands before it stops. All of this state is the
 * gateway's gw_service; MHD hands the gateway to the callbacks as their cls.
 *
 * Hang-ups: MHD does not poll a suspended connection, so a request that
 * waits (for its whole answer, or a stream for its next chunk) has its
 * socket watched by the hang-up watcher (hangup.c) from the moment it first
 * waits until it ends. A client that hangs up meanwhile, or one the proxy
 * drops for not reading (gw_req_abort), is marked gone and its connection
 * resumed only to be closed: the access handler refuses it, a stream's reader
 * ends with an error. The request is then recorded with status 499 and the
 * producer, woken, ends the call as cancelled.
 *
 * A tapped request (gw_req_tap) has no connection: it stands for a client
 * request (its parent) when the gateway itself consumes an upstream call's
 * answer (the Responses API translating chat completions). The same reply and
 * stream calls hand the answer to the tap's callbacks instead; whether the
 * client is gone, and its stream backlog, are the parent's.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <sched.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "gateway.h"
#include "sonde/http_mhd.h"
#include "hangup.h"
#include "service.h"

struct gw_req {
    gateway *gw;
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
    gw_hangup_entry *watch;     /* the hang-up watcher's entry, from the first wait on */
    int fd;                     /* the connection's socket, -1 when unknown */
    int ended;                  /* MHD is done with the connection (on_completed) */
    int aborted;                /* gw_req_abort: hung up while waiting, or dropped */
    sonde_http_token tok;
    gw_req *parent;             /* a tapped request: its answer goes to tap, not to a client */
    const gw_tap *tap;
    void *tap_ud;
    gw_access access;           /* its access-log line (access.c) */
    char hdr_name[GW_REPLY_HEADERS][48]; /* gw_reply_header(): added to the answer */
    char hdr_value[GW_REPLY_HEADERS][64];
    int nhdrs;
    sonde_span_context trace;   /* the context of its SERVER span (the middleware's) */
};

struct gw_service {
    struct MHD_Daemon *api[2]; /* the API daemons: one per address */
    int napi;
    sonde_server *ops;
    sonde_console *console;    /* /console/ (NULL with --no-console), served through ops */
    sonde_alert_webhook *alert_webhook; /* the console's alert notices (--alert-webhook) */
    int ops_separate;
    pthread_mutex_t live_mu;
    gw_req *live;
    atomic_int stopping;
    gw_hangup *hangups;
};

void gw_req_ref(gw_req *r)
{
    atomic_fetch_add(&r->refs, 1);
}

void gw_req_unref(gw_req *r)
{
    if (atomic_fetch_sub(&r->refs, 1) != 1) return;
    if (r->tap) {
        r->tap->release(r->tap_ud);
        gw_req_unref(r->parent);
    }
    pthread_mutex_destroy(&r->mu);
    gw_stream_free(r->stream);
    free(r->body);
    free(r->resp);
    free(r);
}

static void req_release(void *ud)
{
    gw_req_unref(ud);
}

static void on_hangup(void *ud)
{
    gw_req_abort(ud);
}

gw_req *gw_req_tap(gw_req *parent, const gw_tap *tap, void *ud)
{
    gw_req *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->gw = parent->gw;
    atomic_init(&r->refs, 1);
    pthread_mutex_init(&r->mu, NULL);
    r->fd = -1;
    gw_req_ref(parent);
    r->parent = parent;
    r->tap = tap;
    r->tap_ud = ud;
    return r;
}

void gw_req_abort(gw_req *r)
{
    if (r->parent) {
        gw_req_abort(r->parent);
        return;
    }
    pthread_mutex_lock(&r->mu);
    /* a whole answer already handed to MHD is not aborted: a client that read it and closed
     * its connection before MHD reported the request completed was served (it was counted
     * 499 under load); one that did not read it all fails MHD's send, which keeps the status */
    if (r->gone || (r->queued && !r->streaming)) {
        pthread_mutex_unlock(&r->mu);
        return;
    }
    r->gone = r->aborted = 1;
    /* a client that is still there (dropped for not reading) has its connection shut
     * down, so MHD closes it now instead of when its send buffer drains; never after
     * on_completed, when the descriptor may already be another connection's */
    if (!r->ended && r->fd >= 0) shutdown(r->fd, SHUT_RDWR);
    if (r->waiting) { /* the access handler runs again and refuses the connection */
        r->waiting = 0;
        MHD_resume_connection(r->conn);
    }
    gw_stream *s = r->streaming ? r->stream : NULL;
    pthread_mutex_unlock(&r->mu);
    if (s) gw_stream_hangup(s);
    gw_proxy_wake(r->gw->proxy);
}

/* From now until the request ends, a hang-up of its client is noticed; r->mu held. */
static void watch_hangup(gw_req *r)
{
    if (r->watch || !r->gw->svc->hangups) return;
    if (r->fd < 0) return;
    gw_req_ref(r); /* the watch's reference, released by the watcher (req_release) */
    r->watch = gw_hangup_watch(r->gw->svc->hangups, r->fd, r);
    if (!r->watch) gw_req_unref(r); /* never the last: the caller holds one */
}

void gw_req_set_trace(gw_req *r, const sonde_span_context *ctx)
{
    r->trace = *ctx;
}

void gw_req_trace_context(const gw_req *r, sonde_span_context *out)
{
    if (r->parent && !sonde_span_context_valid(&r->trace)) { /* a tapped request belongs to
                                                                 its client's request */
        gw_req_trace_context(r->parent, out);
        return;
    }
    *out = r->trace; /* set before the request is dispatched, never changed after */
}

void gw_req_note(gw_req *r, const char *model, const gw_key *key, long input_tokens,
                 long output_tokens)
{
    if (r->parent) {
        gw_req_note(r->parent, model, key, input_tokens, output_tokens);
        return;
    }
    pthread_mutex_lock(&r->mu);
    gw_access_note(&r->access, model, key, input_tokens, output_tokens);
    pthread_mutex_unlock(&r->mu);
}

int gw_req_answer_here(const gw_req *r)
{
    return r->tap && r->tap->caller_waits;
}

int gw_req_gone(const gw_req *r)
{
    if (r->parent) return gw_req_gone(r->parent);
    gw_req *m = (gw_req *)r;
    pthread_mutex_lock(&m->mu);
    int g = m->gone;
    pthread_mutex_unlock(&m->mu);
    return g;
}

/* Mark the answer ready and resume the connection if it waits; r->mu held. */
/* The answer is ready; 1 when it resumed a parked connection (the caller is not the
 * service thread, which sends it once it runs). */
static int set_ready(gw_req *r)
{
    r->ready = 1;
    if (!r->waiting) return 0;
    r->waiting = 0;
    MHD_resume_connection(r->conn);
    return 1;
}

void gw_reply_json(gw_req *r, unsigned status, char *body, int retry_after)
{
    pthread_mutex_lock(&r->mu);
    if (r->ready) {
        pthread_mutex_unlock(&r->mu);
        free(body);
        return;
    }
    if (r->tap) {
        r->ready = 1;
        pthread_mutex_unlock(&r->mu);
        r->tap->reply(r->tap_ud, status, body, retry_after);
        return;
    }
    r->status = status;
    r->resp = body;
    r->retry_after = retry_after;
    int resumed = set_ready(r);
    pthread_mutex_unlock(&r->mu);
    /* the service thread sends it: let it have this core before the caller goes on
     * (an agent run stores its response next, a proxy worker takes its next call) */
    if (resumed) sched_yield();
}

void gw_reply_value(gw_req *r, unsigned status, json_t *body)
{
    if (r->tap && r->tap->reply_value) {
        pthread_mutex_lock(&r->mu);
        int first = !r->ready;
        r->ready = 1;
        pthread_mutex_unlock(&r->mu);
        if (first) r->tap->reply_value(r->tap_ud, status, body);
        else json_decref(body);
        return;
    }
    gw_reply_json(r, status, body ? gw_json_dumps(body) : NULL, -1);
    json_decref(body);
}

static void reply_error_v(gw_req *r, unsigned status, const char *type, const char *code,
                          const char *param, int retry_after, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (status >= 400 && status < 500 && code && strncmp(code, "upstream_", 9) != 0)
        gw_meter_refusal(&r->gw->meter, code);
    gw_utf8_fix(msg); /* a client's bytes, or a character cut at the end, would fail json_pack */
    json_t *e = json_pack("{s:{s:s, s:s, s:o, s:o}}", "error", "message", msg, "type", type,
                          "code", code ? json_string(code) : json_null(), "param",
                          param ? json_string(param) : json_null());
    char *body = e ? gw_json_dumps(e) : NULL;
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

void gw_reply_error_param(gw_req *r, unsigned status, const char *type, const char *code,
                          const char *param, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    reply_error_v(r, status, type, code, param, -1, fmt, ap);
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
    if (r->tap) {
        pthread_mutex_lock(&r->mu);
        int first = !r->ready;
        r->ready = r->streaming = 1;
        pthread_mutex_unlock(&r->mu);
        if (first) r->tap->stream_start(r->tap_ud);
        return;
    }
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
    if (r->tap) {
        pthread_mutex_lock(&r->mu);
        int on = r->streaming && !r->ended;
        pthread_mutex_unlock(&r->mu);
        return on ? r->tap->stream_data(r->tap_ud, data, len) : -1;
    }
    pthread_mutex_lock(&r->mu);
    gw_stream *s = r->streaming ? r->stream : NULL;
    if (s) r->resp_bytes += len;
    pthread_mutex_unlock(&r->mu);
    return s ? gw_stream_append(s, data, len) : -1;
}

int gw_stream_sse(gw_req *r, const char *type, const char *data, size_t len)
{
    size_t tl = type ? strlen(type) : 0, lines = 1;
    for (size_t i = 0; i < len; i++) lines += data[i] == '\n';
    size_t n = (tl ? 8 + tl : 0) + lines * 7 + len + 1; /* "event: T\n", "data: L\n"..., "\n" */
    char *ev = malloc(n), *o = ev;
    if (!ev) return -1;
    if (tl) {
        memcpy(o, "event: ", 7);
        memcpy(o + 7, type, tl);
        o[7 + tl] = '\n';
        o += 8 + tl;
    }
    for (size_t i = 0, start = 0; i <= len; i++) {
        if (i < len && data[i] != '\n') continue;
        memcpy(o, "data: ", 6);
        memcpy(o + 6, data + start, i - start);
        o += 6 + (i - start);
        *o++ = '\n';
        start = i + 1;
    }
    *o++ = '\n';
    int rc = gw_stream_write(r, ev, (size_t)(o - ev)); /* one append: events never interleave */
    free(ev);
    return rc;
}

int gw_stream_event(gw_req *r, json_t *j)
{
    char *s = gw_json_dumps(j);
    if (!s) return -1;
    int rc = gw_stream_sse(r, NULL, s, strlen(s));
    free(s);
    return rc;
}

uint64_t gw_stream_unread_ns(gw_req *r, uint64_t now_ns)
{
    if (r->parent) return gw_stream_unread_ns(r->parent, now_ns);
    pthread_mutex_lock(&r->mu);
    gw_stream *s = r->streaming ? r->stream : NULL;
    pthread_mutex_unlock(&r->mu);
    return s ? gw_stream_stalled_ns(s, now_ns) : 0;
}

size_t gw_stream_backlog(gw_req *r)
{
    if (r->parent) return gw_stream_backlog(r->parent);
    pthread_mutex_lock(&r->mu);
    gw_stream *s = r->streaming ? r->stream : NULL;
    pthread_mutex_unlock(&r->mu);
    return s ? gw_stream_pending(s) : 0;
}

void gw_stream_finish(gw_req *r)
{
    gw_stream_write(r, "data: [DONE]\n\n", 14);
    if (r->tap) {
        pthread_mutex_lock(&r->mu);
        int first = r->streaming && !r->ended;
        r->ended = 1;
        pthread_mutex_unlock(&r->mu);
        if (first) r->tap->stream_end(r->tap_ud);
        return;
    }
    pthread_mutex_lock(&r->mu);
    gw_stream *s = r->streaming ? r->stream : NULL;
    pthread_mutex_unlock(&r->mu);
    if (s) gw_stream_end(s);
}

void gw_stream_end_events(gw_req *r)
{
    pthread_mutex_lock(&r->mu);
    gw_stream *s = r->streaming ? r->stream : NULL;
    pthread_mutex_unlock(&r->mu);
    if (s) gw_stream_end(s);
}

const char *gw_req_arg(gw_req *r, const char *name)
{
    return r->conn ? MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name) : NULL;
}

const char *gw_req_header(gw_req *r, const char *name)
{
    return r->conn ? MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name) : NULL;
}

/* ---- queueing answers ----------------------------------------------------- */

void gw_reply_header(gw_req *r, const char *name, const char *value)
{
    if (r->tap || strlen(name) >= sizeof r->hdr_name[0] || strlen(value) >= sizeof r->hdr_value[0])
        return;
    pthread_mutex_lock(&r->mu);
    if (!r->ready && r->nhdrs < GW_REPLY_HEADERS) {
        snprintf(r->hdr_name[r->nhdrs], sizeof r->hdr_name[0], "%s", name);
        snprintf(r->hdr_value[r->nhdrs], sizeof r->hdr_value[0], "%s", value);
        r->nhdrs++;
    }
    pthread_mutex_unlock(&r->mu);
}

/* The headers gw_reply_header() added; r->mu held. */
static void add_headers(struct MHD_Response *resp, const gw_req *r)
{
    for (int i = 0; i < r->nhdrs; i++) MHD_add_response_header(resp, r->hdr_name[i], r->hdr_value[i]);
}

static enum MHD_Result queue_buffer(gw_req *r, unsigned status, const char *type,
                                    char *body, size_t len, int retry_after)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", type);
    add_headers(resp, r);
    if (retry_after >= 0) {
        char ra[24];
        snprintf(ra, sizeof ra, "%d", retry_after);
        MHD_add_response_header(resp, "Retry-After", ra);
    }
    enum MHD_Result rc = MHD_queue_response(r->conn, status, resp);
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
        add_headers(resp, r);
        watch_hangup(r); /* the stream parks the connection whenever it runs dry */
        enum MHD_Result rc = MHD_queue_response(r->conn, 200, resp);
        MHD_destroy_response(resp);
        sonde_http_stream_begin(r->gw->meter.http, &r->tok);
        return rc;
    }
    char *body = r->resp;
    r->resp = NULL;
    if (!body) return MHD_NO; /* gw_json_dumps() ran out of memory: close the connection */
    r->resp_bytes = strlen(body);
    return queue_buffer(r, r->status, "application/json", body, r->resp_bytes,
                        r->retry_after);
}

/* /metrics, /health, /ready, /console/...: answered on the spot by the embedded server's
 * handler (the console's API reads the query string, which MHD strips from url). */
static enum MHD_Result serve_ops(sonde_server *ops, struct MHD_Connection *c, const char *method,
                                 const char *url, unsigned *status, size_t *bytes)
{
    char target[8192];
    if (strncmp(url, "/console", 8) == 0) {
        if (!sonde_http_mhd_request_target(c, url, target, sizeof target)) {
            static const char too_long[] = "request target too long\n";
            struct MHD_Response *r = MHD_create_response_from_buffer(
                sizeof too_long - 1, (void *)too_long, MHD_RESPMEM_PERSISTENT);
            if (!r) return MHD_NO;
            *status = 414;
            *bytes = sizeof too_long - 1;
            enum MHD_Result rc = MHD_queue_response(c, 414, r);
            MHD_destroy_response(r);
            return rc;
        }
        url = target;
    }
    sonde_server_request rq = {
        .method = method, .path = url,
        .accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept"),
        .accept_encoding = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept-Encoding"),
        .authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"),
        .last_event_id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID"),
        .if_none_match = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-None-Match")};
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

static int is_ops(const gw_service *sv, const char *url)
{
    return !strcmp(url, "/metrics") || !strcmp(url, "/health") || !strcmp(url, "/ready") ||
           (sv->console && strncmp(url, "/console", 8) == 0 && (!url[8] || url[8] == '/'));
}

static const char *route_of(const char *url)
{
    static const char *const routes[] = {"/v1/chat/completions", "/v1/completions",
        "/v1/embeddings", "/v1/models", "/v1/responses", "/metrics", "/health", "/ready", NULL};
    for (const char *const *p = routes; *p; p++)
        if (strcmp(url, *p) == 0) return *p;
    if (strncmp(url, "/v1/models/", 11) == 0) return "/v1/models/{model}";
    if (strncmp(url, "/console", 8) == 0 && (!url[8] || url[8] == '/')) return "/console";
    if (strncmp(url, "/v1/responses/", 14) == 0)
        return strchr(url + 14, '/') ? "/v1/responses/{id}/{action}" : "/v1/responses/{id}";
    return "other";
}

static void live_add(gw_service *sv, gw_req *r)
{
    pthread_mutex_lock(&sv->live_mu);
    r->next = sv->live;
    if (sv->live) sv->live->prev = r;
    sv->live = r;
    pthread_mutex_unlock(&sv->live_mu);
}

static void live_remove(gw_service *sv, gw_req *r)
{
    pthread_mutex_lock(&sv->live_mu);
    if (r->prev) r->prev->next = r->next;
    else sv->live = r->next;
    if (r->next) r->next->prev = r->prev;
    pthread_mutex_unlock(&sv->live_mu);
}

/* The API key a request presents: Authorization: Bearer (RFC 7235: 1*SP after the
 * scheme), else x-api-key; NULL for none. */
static const char *bearer_of(struct MHD_Connection *conn)
{
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (auth && strncasecmp(auth, "Bearer", 6) == 0 && (auth[6] == ' ' || auth[6] == '\t')) {
        auth += 6;
        while (*auth == ' ' || *auth == '\t') auth++;
        return auth;
    }
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "x-api-key");
}

/* Whether the request's Content-Length says its body is larger than max (an
 * unparsable or overflowing length counts as larger). */
static int declared_too_large(struct MHD_Connection *conn, size_t max)
{
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if (!cl) return 0;
    size_t n = 0;
    for (const char *p = cl; *p; p++) {
        if (*p < '0' || *p > '9' || n > (SIZE_MAX - 9) / 10) return 1;
        n = n * 10 + (size_t)(*p - '0');
    }
    return n > max;
}

/* A chunked body whose running total passed the limit. libmicrohttpd (0.9.75)
 * cannot queue an answer in the middle of a body, so the 413 is written
 * straight to the socket (nothing else was sent on it yet) and the connection
 * closed: the rest of the body is never read. */
static enum MHD_Result refuse_mid_body(gateway *gw, gw_req *r, struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    char body[256], msg[512];
    int bl = snprintf(body, sizeof body, "{\"error\":{\"message\":\"The request body exceeds %zu "
                      "bytes\",\"type\":\"invalid_request_error\",\"code\":\"request_too_large\","
                      "\"param\":null}}", gw->cfg->max_body);
    int ml = snprintf(msg, sizeof msg, "HTTP/1.1 413 Content Too Large\r\nConnection: close\r\n"
                      "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", bl, body);
    if (ci && send(ci->connect_fd, msg, (size_t)ml, MSG_NOSIGNAL | MSG_DONTWAIT) == ml) {
        pthread_mutex_lock(&r->mu);
        r->ready = r->queued = 1;
        r->status = 413;
        r->resp_bytes = (size_t)bl;
        pthread_mutex_unlock(&r->mu);
    }
    gw_meter_refusal(&gw->meter, "request_too_large");
    return MHD_NO;
}

/* Start answering a complete request (or one refused for its size): the ops
 * endpoints, 503 while stopping, else the OpenAI routes. */
static enum MHD_Result dispatch(gateway *gw, gw_req *r, struct MHD_Connection *conn,
                                const char *method, const char *url)
{
    gw_service *sv = gw->svc;
    const char *key = bearer_of(conn);
    if (!sv->ops_separate && is_ops(sv, url)) {
        if (r->too_large) {
            gw_reply_error(r, 413, "invalid_request_error", "request_too_large", -1,
                           "The request body exceeds %zu bytes", gw->cfg->max_body);
            return MHD_YES;
        }
        /* /metrics and the console on the API port are behind the API's keys, when there
         * are keys */
        if ((strcmp(url, "/metrics") == 0 || strncmp(url, "/console", 8) == 0) &&
            gw->cfg->nkeys > 0 && !gw_key_find(gw->cfg, key)) {
            gw_reply_error(r, 401, "invalid_request_error", key ? "invalid_api_key" : "missing_api_key",
                           -1, "/metrics on the API port needs an API key (or use --metrics-port)");
            return MHD_YES;
        }
        size_t bytes = 0;
        enum MHD_Result rc = serve_ops(sv->ops, conn, method, url, &r->status, &bytes);
        pthread_mutex_lock(&r->mu);
        r->ready = r->queued = 1;
        r->resp_bytes = bytes;
        pthread_mutex_unlock(&r->mu);
        return rc;
    }
    if (atomic_load(&sv->stopping))
        gw_reply_error(r, 503, "server_error", "shutting_down", 1, "The gateway is shutting down");
    else
        gw_openai_handle(gw, r, method, url, r->body ? r->body : "", r->len, r->too_large, key);
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls)
{
    gateway *gw = cls;
    gw_service *sv = gw->svc;
    gw_req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r) return MHD_NO;
        r->gw = gw;
        atomic_init(&r->refs, 1);
        pthread_mutex_init(&r->mu, NULL);
        r->conn = conn;
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn,
                                                                     MHD_CONNECTION_INFO_CONNECTION_FD);
        r->fd = ci ? ci->connect_fd : -1;
        const char *route = route_of(url);
        r->tok = sonde_http_begin_traced(gw->meter.http, method, route, SONDE_HTTP_SIZE_UNKNOWN,
                                         MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                                     "traceparent"),
                                         MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                                     "tracestate"));
        sonde_span_get_context(sonde_http_span(&r->tok), &r->trace); /* zeroes without one */
        gw_access_begin(&r->access, method, route);
        r->retry_after = -1;
        *con_cls = r;
        live_add(sv, r);
        if (!declared_too_large(conn, gw->cfg->max_body)) return MHD_YES;
        r->too_large = 1; /* answered now: none of the body is read */
    } else if (*upload_size) {
        if (!r->too_large) {
            if (r->len + *upload_size > gw->cfg->max_body) {
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
        if (!r->too_large || r->dispatched) return MHD_YES;
        r->dispatched = 1;
        return refuse_mid_body(gw, r, conn);
    }
    if (!r->dispatched) {
        r->dispatched = 1;
        if (dispatch(gw, r, conn, method, url) != MHD_YES) return MHD_NO;
    }
    pthread_mutex_lock(&r->mu);
    enum MHD_Result rc = MHD_YES;
    if (r->gone) rc = MHD_NO; /* the client hung up while it waited: close */
    else if (r->ready && !r->queued) rc = queue_ready(r);
    else if (!r->ready && !r->waiting) {
        r->waiting = 1;
        watch_hangup(r);
        MHD_suspend_connection(conn);
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    gateway *gw = cls;
    gw_req *r = *con_cls;
    if (!r) return;
    *con_cls = NULL;
    live_remove(gw->svc, r);
    pthread_mutex_lock(&r->mu);
    r->gone |= toe != MHD_REQUEST_TERMINATED_COMPLETED_OK;
    r->ended = 1;
    if (r->stream) gw_stream_close(r->stream);
    r->ready = 1; /* nothing may resume this connection any more */
    r->waiting = 0;
    int gone = r->gone;
    /* 499: the client went away (or was dropped) before its answer ended: it hung up
     * (or was dropped) while it waited, a stream was cut, or nothing was queued. A whole
     * answer queued before the connection failed keeps its status (e.g. a 413 sent before
     * the body, after which the unread body ends the connection) */
    unsigned status = !r->queued || r->aborted || (r->streaming && gone) ? 499 : r->status;
    size_t bytes = r->resp_bytes;
    gw_hangup_entry *watch = r->watch;
    r->watch = NULL;
    pthread_mutex_unlock(&r->mu);
    gw_hangup_unwatch(gw->svc->hangups, watch); /* before MHD closes the socket */
    if (gone) gw_proxy_wake(gw->proxy);
    r->tok.request_size = r->len;
    pthread_mutex_lock(&r->mu); /* a call may still note its tokens (it ends after a hang-up) */
    gw_access acc = r->access;
    pthread_mutex_unlock(&r->mu);
    gw_access_log(gw->access, &acc, sonde_http_span(&r->tok), status, r->len, bytes);
    sonde_http_end(gw->meter.http, &r->tok, (int)status, bytes);
    gw_req_unref(r);
}

/* One API daemon on the literal address addr (IPv4 or IPv6) and port. */
static struct MHD_Daemon *start_daemon(gateway *gw, const char *addr, int port)
{
    const gw_config *cfg = gw->cfg;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        flags |= MHD_USE_IPv6;
    } else {
        fprintf(stderr, "sonde-gateway: bad listen address '%s'\n", addr);
        return NULL;
    }
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, gw},
        {MHD_OPTION_THREAD_POOL_SIZE, cfg->threads, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, (intptr_t)cfg->max_connections, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, 120, NULL},
        {MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096, NULL},
        {MHD_OPTION_SOCK_ADDR, 0, (void *)&ss},
        {MHD_OPTION_END, 0, NULL},
    };
    return MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, gw, MHD_OPTION_ARRAY,
                            opts, MHD_OPTION_END);
}

static int ready_check(void *ud)
{
    gateway *gw = ud;
    return atomic_load(&gw->ready) && !atomic_load(&gw->svc->stopping);
}

int gw_service_start(gateway *gw)
{
    const gw_config *cfg = gw->cfg;
    gw_service *sv = calloc(1, sizeof *sv);
    if (!sv) return -1;
    pthread_mutex_init(&sv->live_mu, NULL);
    gw->svc = sv;
    sonde_config sc = *sonde_registry_config(gw->reg);
    sc.owned_ = NULL;
    sc.metrics_path = "/metrics";
    sc.listen_addr = cfg->address && *cfg->address ? cfg->address : "127.0.0.1";
    sc.port = cfg->metrics_port ? cfg->metrics_port : SONDE_DEFAULT_PORT;
    sonde_server_opts so;
    sonde_server_opts_init(&so);
    so.registry = gw->reg;
    so.config = &sc;
    so.max_connections = 256;
    char err[256] = "";
    if (cfg->console) {
        sonde_console_opts co;
        sonde_console_opts_init(&co);
        co.registry = gw->reg;
        co.tracer = gw->tracer;
        co.logger = gw->access;
        co.interval_ms = cfg->console_interval_ms;
        co.retention_s = cfg->console_retention_s;
        co.max_bytes = (size_t)cfg->console_max_bytes;
        co.rules_path = cfg->alert_rules;
        co.alertmanager_url = cfg->alertmanager_url;
        if (cfg->alert_webhook) {
            sonde_alert_webhook_opts wo;
            sonde_alert_webhook_opts_init(&wo);
            wo.url = cfg->alert_webhook;
            if (sonde_alert_webhook_new(&wo, &sv->alert_webhook) != SONDE_OK) {
                fprintf(stderr, "sonde-gateway: --alert-webhook %s: cannot start the sender\n",
                        cfg->alert_webhook);
                return -1;
            }
            co.notify = sonde_alert_webhook_notify;
            co.notify_ud = sv->alert_webhook;
        }
        if (sonde_console_new(&co, &sv->console, err, sizeof err) != SONDE_OK ||
            sonde_console_start(sv->console) != SONDE_OK) {
            fprintf(stderr, "sonde-gateway: console: %s\n", *err ? err : "cannot start");
            return -1;
        }
        so.console = sv->console;
    }
    if (sonde_server_new(&so, err, sizeof err, &sv->ops) != SONDE_OK ||
        sonde_server_ready_add(sv->ops, "upstreams", ready_check, gw) != SONDE_OK) {
        fprintf(stderr, "sonde-gateway: metrics server: %s\n", err);
        return -1;
    }
    sv->ops_separate = cfg->metrics_port && cfg->metrics_port != cfg->port;
    if (sv->ops_separate && sonde_server_start(sv->ops) != SONDE_OK) {
        fprintf(stderr, "sonde-gateway: %s\n", sonde_server_errmsg(sv->ops));
        return -1;
    }
    sv->hangups = gw_hangup_new(on_hangup, req_release);
    if (!sv->hangups) {
        fprintf(stderr, "sonde-gateway: cannot start the hang-up watcher\n");
        return -1;
    }
    if (cfg->address && *cfg->address) {
        sv->api[0] = start_daemon(gw, cfg->address, cfg->port);
        sv->napi = sv->api[0] != NULL;
        return sv->napi ? 0 : -1;
    }
    /* the default: loopback only, IPv4 and (where the host has it) IPv6, on one port */
    if (!(sv->api[0] = start_daemon(gw, "127.0.0.1", cfg->port))) return -1;
    sv->napi = 1;
    if ((sv->api[1] = start_daemon(gw, "::1", gw_service_port(gw)))) sv->napi = 2;
    return 0;
}

int gw_service_port(const gateway *gw)
{
    struct MHD_Daemon *d = gw->svc ? gw->svc->api[0] : NULL;
    const union MHD_DaemonInfo *i = d ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    return i ? i->port : 0;
}

int gw_service_urls(const gateway *gw, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = 0;
    for (int i = 0; gw->svc && i < gw->svc->napi; i++) {
        const union MHD_DaemonInfo *di = MHD_get_daemon_info(gw->svc->api[i],
                                                             MHD_DAEMON_INFO_LISTEN_FD);
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        char host[INET6_ADDRSTRLEN] = "?";
        int port = 0;
        if (!di || getsockname(di->listen_fd, (struct sockaddr *)&ss, &sl) != 0) return -1;
        if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
            port = ntohs(in6->sin6_port);
        } else {
            struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &in4->sin_addr, host, sizeof host);
            port = ntohs(in4->sin_port);
        }
        int n = snprintf(buf + off, len - off, ss.ss_family == AF_INET6 ? "%shttp://[%s]:%d"
                                                                        : "%shttp://%s:%d",
                         i ? " " : "", host, port);
        if (n < 0 || (size_t)n >= len - off) return -1;
        off += (size_t)n;
    }
    return off ? 0 : -1;
}

int gw_service_metrics_port(const gateway *gw)
{
    return gw->svc && gw->svc->ops_separate ? sonde_server_port(gw->svc->ops)
                                            : gw_service_port(gw);
}

/* End every live request (answer 503 / end its stream) so that no
 * connection stays suspended, which MHD_stop_daemon() requires. Requests
 * arriving meanwhile are answered 503 at once and never suspend, so a pass
 * finding every request answered and every stream ended is final. */
void gw_service_stop(gateway *gw)
{
    gw_service *sv = gw->svc;
    if (!sv) return;
    atomic_store(&sv->stopping, 1);
    MHD_socket quiesced[2] = {MHD_INVALID_SOCKET, MHD_INVALID_SOCKET};
    for (int i = 0; i < sv->napi; i++) quiesced[i] = MHD_quiesce_daemon(sv->api[i]);
    for (;;) {
        int open = 0;
        pthread_mutex_lock(&sv->live_mu);
        for (gw_req *r = sv->live; r; r = r->next) {
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
        pthread_mutex_unlock(&sv->live_mu);
        if (!open) break;
    }
    for (int i = 0; i < sv->napi; i++) {
        MHD_stop_daemon(sv->api[i]);
        if (quiesced[i] != MHD_INVALID_SOCKET) close(quiesced[i]); /* ours after quiescing */
    }
    gw_hangup_free(sv->hangups); /* every request has ended: nothing is watched */
    sonde_server_free(sv->ops);
    sonde_console_free(sv->console); /* after the server that answered with it */
    sonde_alert_webhook_free(sv->alert_webhook); /* after the console that notified it */
    pthread_mutex_destroy(&sv->live_mu);
    free(sv);
    gw->svc = NULL;
}
