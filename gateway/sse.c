/*
 * sse.c - the buffer between a producer (timer or curl thread) and the MHD
 * thread that writes a server-sent-event stream to the client.
 *
 * The producer appends bytes and wakes the connection; MHD pulls them with
 * the content-reader callback. When the reader finds the buffer empty and the
 * stream not ended, it suspends the connection and returns 0 (the pattern
 * libmicrohttpd prescribes for "no data yet"), so a waiting stream costs no
 * CPU; the next append resumes it. The `suspended` flag, kept under the
 * stream's mutex, guarantees exactly one resume per suspend. Once the client
 * is gone (gw_stream_close, from the request-completed callback) appends are
 * refused, which is how producers learn to stop. A client that hangs up while
 * the connection is parked is reported by the hang-up watcher (hangup.c):
 * gw_stream_hangup() then resumes the connection and the reader ends it with
 * an error, so libmicrohttpd closes it at once. The buffer also keeps since
 * when its oldest byte has waited for the client (gw_stream_stalled_ns), which
 * is how a client that stopped reading is told from a slow upstream. The request owns the stream
 * and frees it with its last reference, so a producer holding the request can
 * always reach it, also after the connection is gone.
 */
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

struct gw_stream {
    pthread_mutex_t mu;
    char *buf;
    size_t len, off, cap;
    int ended, closed, suspended, hungup;
    uint64_t waiting_since_ns; /* data pending and not taken by the client since */
    struct MHD_Connection *conn;
};

gw_stream *gw_stream_new(void)
{
    gw_stream *s = calloc(1, sizeof *s);
    if (s) pthread_mutex_init(&s->mu, NULL);
    return s;
}

void gw_stream_free(gw_stream *s)
{
    if (!s) return;
    pthread_mutex_destroy(&s->mu);
    free(s->buf);
    free(s);
}

/* Resume the connection if the reader parked it; call with s->mu held. */
static void wake(gw_stream *s)
{
    if (s->suspended && !s->closed) {
        s->suspended = 0;
        MHD_resume_connection(s->conn);
    }
}

int gw_stream_append(gw_stream *s, const char *data, size_t len)
{
    pthread_mutex_lock(&s->mu);
    if (s->closed || s->ended) {
        pthread_mutex_unlock(&s->mu);
        return -1;
    }
    if (s->off > 0 && s->off == s->len) s->off = s->len = 0;
    if (s->len == s->off && len > 0) s->waiting_since_ns = gw_now_ns();
    if (s->len + len > s->cap) {
        if (s->off > 0) { /* compact before growing */
            memmove(s->buf, s->buf + s->off, s->len - s->off);
            s->len -= s->off;
            s->off = 0;
        }
        size_t ncap = s->cap ? s->cap : 4096;
        while (ncap < s->len + len) ncap *= 2;
        if (ncap != s->cap) {
            char *n = realloc(s->buf, ncap);
            if (!n) {
                pthread_mutex_unlock(&s->mu);
                return -1;
            }
            s->buf = n;
            s->cap = ncap;
        }
    }
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    wake(s);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

size_t gw_stream_pending(gw_stream *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->closed ? 0 : s->len - s->off;
    pthread_mutex_unlock(&s->mu);
    return n;
}

int gw_stream_ended(gw_stream *s)
{
    pthread_mutex_lock(&s->mu);
    int e = s->ended || s->closed;
    pthread_mutex_unlock(&s->mu);
    return e;
}

void gw_stream_end(gw_stream *s)
{
    pthread_mutex_lock(&s->mu);
    s->ended = 1;
    wake(s);
    pthread_mutex_unlock(&s->mu);
}

void gw_stream_close(gw_stream *s)
{
    pthread_mutex_lock(&s->mu);
    s->closed = 1;
    pthread_mutex_unlock(&s->mu);
}

void gw_stream_hangup(gw_stream *s)
{
    pthread_mutex_lock(&s->mu);
    if (!s->closed) {
        s->hungup = 1;
        if (s->suspended) { /* the reader runs once more and ends the connection */
            s->suspended = 0;
            MHD_resume_connection(s->conn);
        }
        s->closed = 1;
    }
    pthread_mutex_unlock(&s->mu);
}

uint64_t gw_stream_stalled_ns(gw_stream *s, uint64_t now_ns)
{
    pthread_mutex_lock(&s->mu);
    uint64_t d = !s->closed && s->len > s->off && now_ns > s->waiting_since_ns
                     ? now_ns - s->waiting_since_ns : 0;
    pthread_mutex_unlock(&s->mu);
    return d;
}

static ssize_t reader(void *cls, uint64_t pos, char *out, size_t max)
{
    gw_stream *s = cls;
    pthread_mutex_lock(&s->mu);
    if (s->hungup) {
        pthread_mutex_unlock(&s->mu);
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    size_t avail = s->len - s->off;
    if (avail > 0) {
        size_t n = avail < max ? avail : max;
        memcpy(out, s->buf + s->off, n);
        s->off += n;
        s->waiting_since_ns = gw_now_ns(); /* the client took some: what is left waits anew */
        pthread_mutex_unlock(&s->mu);
        return (ssize_t)n;
    }
    if (s->ended || s->closed) {
        pthread_mutex_unlock(&s->mu);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    s->suspended = 1;
    MHD_suspend_connection(s->conn);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

struct MHD_Response *gw_stream_response(gw_stream *s, struct MHD_Connection *conn)
{
    s->conn = conn;
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, reader, s, NULL);
    if (!r) return NULL;
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    return r;
}
