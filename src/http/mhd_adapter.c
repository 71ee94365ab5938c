/*
 * mhd_adapter.c - wiring the HTTP middleware into a libmicrohttpd daemon.
 *
 * Per connection (MHD_OPTION_NOTIFY_CONNECTION) the adapter allocates one
 * small context holding the token of the request in progress: HTTP/1.1
 * requests on a connection are sequential, so one token per connection is
 * enough and nothing is allocated per request. The URI log callback starts
 * the token (route, clock, in-flight gauge); the wrapped access handler
 * learns the method and counts the body bytes the service consumes; the
 * completion callback reads the status MHD queued and ends the token. A
 * request MHD answers by itself (a malformed one) never reaches completion:
 * its token is ended when the connection closes. The service's own
 * callbacks of those three kinds are chained.
 *
 * With a tracer, the request's span starts at the first call of the access
 * handler, the first moment its headers (traceparent, tracestate) can be
 * read, and is the thread's current span while the service's handler runs
 * (so its NULL-parent spans, logs and exemplars belong to the request).
 */
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"
#include "sonde/http_mhd.h"

#define CTX_MAGIC 0x736f6e6465686d64ull /* "sondehmd" */

typedef struct conn_ctx {
    uint64_t magic;
    sonde_http_token tok;
    int method_known;
    size_t body_bytes;
    size_t resp_size;
    void *user_socket_ctx; /* the service's own socket_context */
} conn_ctx;

struct sonde_http_mhd {
    sonde_http *h;
    struct MHD_Daemon *daemon;
    MHD_AccessHandlerCallback dh;
    void *dh_cls;
    void *(*uri_log)(void *, const char *, struct MHD_Connection *);
    void *uri_log_cls;
    MHD_RequestCompletedCallback completed;
    void *completed_cls;
    MHD_NotifyConnectionCallback notify;
    void *notify_cls;
};

static conn_ctx *ctx_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    conn_ctx *x = ci ? ci->socket_context : NULL;
    return x && x->magic == CTX_MAGIC ? x : NULL;
}

static unsigned queued_status(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);
    return ci ? ci->http_status : 0;
}

static void finish(sonde_http_mhd *a, conn_ctx *x, unsigned status)
{
    x->tok.request_size = x->body_bytes;
    sonde_http_end(a->h, &x->tok, (int)status,
                   x->resp_size ? x->resp_size - 1 : SONDE_HTTP_SIZE_UNKNOWN);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    sonde_http_mhd *a = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        conn_ctx *x = calloc(1, sizeof *x);
        if (x)
            x->magic = CTX_MAGIC;
        *socket_context = x;
        if (a->notify)
            a->notify(a->notify_cls, c, x ? &x->user_socket_ctx : socket_context, toe);
        return;
    }
    conn_ctx *x = *socket_context;
    if (a->notify)
        a->notify(a->notify_cls, c, x ? &x->user_socket_ctx : socket_context, toe);
    if (x) {
        if (x->tok.active_)
            finish(a, x, queued_status(c));
        x->magic = 0;
        free(x);
        *socket_context = NULL;
    }
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    sonde_http_mhd *a = cls;
    conn_ctx *x = ctx_of(c);
    if (x) {
        if (x->tok.active_)
            finish(a, x, 0);
        memset(&x->tok, 0, sizeof x->tok);
        x->tok.method_ = HTTP_OTHER;
        x->method_known = 0;
        x->body_bytes = 0;
        x->resp_size = 0;
        http_begin_path(a->h, &x->tok, uri);
    }
    return a->uri_log ? a->uri_log(a->uri_log_cls, uri, c) : NULL;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **con_cls)
{
    sonde_http_mhd *a = cls;
    conn_ctx *x = ctx_of(c);
    size_t before = *upload_data_size;
    if (x && !x->method_known) {
        http_set_method(&x->tok, method);
        x->method_known = 1;
        if (a->h->tracer && x->tok.active_)
            http_span_start(a->h, &x->tok, method,
                            MHD_lookup_connection_value(c, MHD_HEADER_KIND, "traceparent"),
                            MHD_lookup_connection_value(c, MHD_HEADER_KIND, "tracestate"));
    }
    sonde_span *span = x ? x->tok.span_ : NULL, *prev = NULL;
    if (span)
        prev = sonde_span_enter(span);
    enum MHD_Result rc =
        a->dh(a->dh_cls, c, url, method, version, upload_data, upload_data_size, con_cls);
    if (span)
        sonde_span_exit(prev);
    if (x && before >= *upload_data_size)
        x->body_bytes += before - *upload_data_size;
    return rc;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    sonde_http_mhd *a = cls;
    if (a->completed)
        a->completed(a->completed_cls, c, con_cls, toe);
    conn_ctx *x = ctx_of(c);
    if (x && x->tok.active_)
        finish(a, x, queued_status(c));
}

int sonde_http_mhd_start(sonde_http *h, unsigned int flags, uint16_t port,
                         MHD_AccessHandlerCallback dh, void *dh_cls,
                         const struct MHD_OptionItem *options, sonde_http_mhd **out)
{
    if (!out)
        return SONDE_EINVAL;
    *out = NULL;
    if (!dh)
        return SONDE_EINVAL;
    size_t n = 0;
    while (options && options[n].option != MHD_OPTION_END)
        if (options[n++].option == MHD_OPTION_ARRAY)
            return SONDE_EINVAL;
    sonde_http_mhd *a = calloc(1, sizeof *a);
    struct MHD_OptionItem *opts = calloc(n + 4, sizeof *opts);
    if (!a || !opts) {
        free(a);
        free(opts);
        return SONDE_ENOMEM;
    }
    a->h = h;
    a->dh = dh;
    a->dh_cls = dh_cls;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const struct MHD_OptionItem *o = &options[i];
        if (h && o->option == MHD_OPTION_URI_LOG_CALLBACK) {
            a->uri_log = (void *(*)(void *, const char *, struct MHD_Connection *))o->value;
            a->uri_log_cls = o->ptr_value;
        } else if (h && o->option == MHD_OPTION_NOTIFY_COMPLETED) {
            a->completed = (MHD_RequestCompletedCallback)o->value;
            a->completed_cls = o->ptr_value;
        } else if (h && o->option == MHD_OPTION_NOTIFY_CONNECTION) {
            a->notify = (MHD_NotifyConnectionCallback)o->value;
            a->notify_cls = o->ptr_value;
        } else {
            opts[k++] = *o;
        }
    }
    if (h) {
        opts[k++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, a};
        opts[k++] = (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, a};
        opts[k++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, a};
    }
    opts[k] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    *out = a; /* before the daemon's threads exist: handlers may read it at once */
    a->daemon = h ? MHD_start_daemon(flags, port, NULL, NULL, on_access, a, MHD_OPTION_ARRAY,
                                     opts, MHD_OPTION_END)
                  : MHD_start_daemon(flags, port, NULL, NULL, dh, dh_cls, MHD_OPTION_ARRAY,
                                     opts, MHD_OPTION_END);
    free(opts);
    if (!a->daemon) {
        *out = NULL;
        free(a);
        return SONDE_EIO;
    }
    return SONDE_OK;
}

struct MHD_Daemon *sonde_http_mhd_daemon(const sonde_http_mhd *a)
{
    return a ? a->daemon : NULL;
}

void sonde_http_mhd_stop(sonde_http_mhd *a)
{
    if (!a)
        return;
    MHD_stop_daemon(a->daemon);
    free(a);
}

enum MHD_Result sonde_http_mhd_respond(sonde_http_mhd *a, struct MHD_Connection *c,
                                       unsigned int status, struct MHD_Response *r,
                                       size_t body_size)
{
    conn_ctx *x = a && a->h ? ctx_of(c) : NULL;
    if (x)
        x->resp_size = body_size + 1; /* 0 = not given */
    return MHD_queue_response(c, status, r);
}

void sonde_http_mhd_stream_begin(sonde_http_mhd *a, struct MHD_Connection *c)
{
    conn_ctx *x = a && a->h ? ctx_of(c) : NULL;
    if (x)
        sonde_http_stream_begin(a->h, &x->tok);
}

/* ---- the request target, query string included ----------------------- */

typedef struct target_buf {
    char *p;
    size_t len, cap;
    int overflow;
} target_buf;

static void target_put(target_buf *t, const char *s, int encode)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s && !t->overflow; s++) {
        unsigned char ch = (unsigned char)*s;
        int plain = !encode || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == '~';
        size_t need = plain ? 1 : 3;
        if (t->len + need >= t->cap) {
            t->overflow = 1;
            return;
        }
        if (plain) {
            t->p[t->len++] = (char)ch;
        } else {
            t->p[t->len++] = '%';
            t->p[t->len++] = hex[ch >> 4];
            t->p[t->len++] = hex[ch & 15];
        }
    }
}

static enum MHD_Result target_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    (void)kind;
    target_buf *t = cls;
    target_put(t, t->p[t->len - 1] == '?' ? "" : "&", 0);
    target_put(t, key ? key : "", 1);
    if (value) {
        target_put(t, "=", 0);
        target_put(t, value, 1);
    }
    return t->overflow ? MHD_NO : MHD_YES;
}

size_t sonde_http_mhd_request_target(struct MHD_Connection *c, const char *url, char *buf,
                                     size_t cap)
{
    if (!url || !buf || !cap)
        return 0;
    target_buf t = {buf, 0, cap, 0};
    target_put(&t, url, 0);
    if (c && !t.overflow) {
        target_put(&t, "?", 0);
        if (!t.overflow) {
            MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, target_arg, &t);
            if (t.p[t.len - 1] == '?')
                t.len--; /* no arguments */
        }
    }
    if (t.overflow) {
        buf[0] = '\0';
        return 0;
    }
    buf[t.len] = '\0';
    return t.len;
}
