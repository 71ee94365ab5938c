/*
 * server_internal.h - the private state of a sonde_server, shared by the
 * files of src/server: server.c (lifecycle, options, the listening socket),
 * handle.c (routing and the metrics endpoint), probes.c (/health and
 * /ready), auth.c (credentials), body.c (response bodies, gzip) and mhd.c
 * (the libmicrohttpd glue).
 */
#ifndef SONDE_SERVER_INTERNAL_H
#define SONDE_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "sonde/sonde.h"

struct MHD_Daemon;

typedef struct ready_check {
    char name[64];
    sonde_ready_fn fn;
    void *ud;
} ready_check;

struct sonde_server {
    sonde_registry *reg;
    char *metrics_path;
    char *listen_addr; /* NULL = all interfaces */
    int port;          /* configured */
    int enabled;
    unsigned max_connections, connection_timeout, max_scrapes, threads;
    size_t max_request_size;
    int gzip;
    char *basic_expected;  /* base64("user:password"), or NULL */
    char *bearer_expected; /* the token, or NULL */
    char *tls_cert, *tls_key;
    sonde_console *console; /* /console/..., not owned; NULL: none */
    uint64_t started_ns;   /* creation time, for /health uptime */

    atomic_uint scrapes;   /* renders in flight */

    pthread_mutex_t lock;  /* ready checks */
    ready_check checks[SONDE_SERVER_MAX_READY_CHECKS];
    size_t check_count;

    struct MHD_Daemon *daemon;
    int listen_fd;
    int bound_port;
    char errmsg[256];
};

/* A growing response body, optionally gzip'd as it is written (body.c). */
typedef struct body_buf {
    char *data;
    size_t len, cap;
    int gzip;
    void *zs; /* z_stream when gzip */
    int failed;
} body_buf;

int body_init(body_buf *b, int gzip);
/* sonde_write_fn: append (compressing when gzip). */
int body_write(void *ud, const char *data, size_t len);
/* Finish the stream; SONDE_OK or SONDE_ENOMEM. The data stays in b->data, NUL-terminated. */
int body_finish(body_buf *b);
void body_discard(body_buf *b);

/* Whether an Accept-Encoding value allows gzip (q > 0 for gzip, x-gzip or *). */
int server_accepts_gzip(const char *accept_encoding);

/* auth.c: whether the Authorization value is accepted. */
int server_auth_ok(const sonde_server *s, const char *authorization);

/* probes.c: fill the /health and /ready responses (JSON bodies). */
int server_health(sonde_server *s, sonde_server_response *resp);
int server_ready(sonde_server *s, sonde_server_response *resp);

/* handle.c: add a header to a response (dropped past SONDE_SERVER_MAX_HEADERS). */
void server_header(sonde_server_response *resp, const char *name, const char *value);

/* mhd.c: start / stop the libmicrohttpd daemon on s->listen_fd. */
int server_mhd_start(sonde_server *s);
void server_mhd_stop(sonde_server *s);

#endif
