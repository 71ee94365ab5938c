/*
 * http_internal.h - private parts shared by the files of src/http: route.c
 * (path normalisation and templates), routes.c (the interned route table),
 * middleware.c (begin/end), span.c (the request's span), rpc.c, websocket.c
 * and mhd_adapter.c. Their families are registered through the core's
 * sonde_internal_family_shared() (core_iface.h), shared with the storage helpers.
 */
#ifndef SONDE_HTTP_INTERNAL_H
#define SONDE_HTTP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "core_iface.h"
#include "map.h"
#include "sonde/http.h"
#include "sonde/sonde.h"

#define HTTP_ROUTE_MAX 256 /* bytes of a route, NUL included */
#define HTTP_TEMPLATES_MAX 64
#define HTTP_STATUS_SLOTS 8

enum {
    HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PUT, HTTP_DELETE, HTTP_PATCH,
    HTTP_OPTIONS, HTTP_CONNECT, HTTP_TRACE, HTTP_OTHER, HTTP_METHODS
};
extern const char *const http_method_names[HTTP_METHODS];

/* The children of one (route, method): created on the first request, kept. */
typedef struct route_method {
    sonde_histogram *duration, *req_size, *resp_size;
    struct {
        atomic_int status; /* 0 free, -1 being filled, else the status + 1 */
        sonde_counter *counter;
    } slots[HTTP_STATUS_SLOTS];
} route_method;

typedef struct http_route {
    uint64_t hash; /* first: map.h compares it before anything else */
    _Atomic(route_method *) methods[HTTP_METHODS];
    char name[];
} http_route;

typedef struct http_template {
    char *text;
} http_template;

struct sonde_http {
    sonde_registry *reg;
    sonde_tracer *tracer; /* NULL: no spans */
    sonde_metric *requests, *duration, *req_size, *resp_size;
    sonde_gauge *in_flight, *streaming;

    _Atomic(http_template *) templates[HTTP_TEMPLATES_MAX];
    atomic_size_t template_count;

    sonde_map routes;     /* interned routes (insert-only), at most the route limit */
    http_route *overflow; /* "OTHER" */
    pthread_mutex_t lock; /* inserts into the table, templates, route_method creation */
};

/* route.c: normalise path into out (HTTP_ROUTE_MAX bytes); returns the length. */
size_t http_normalise(sonde_http *h, const char *path, char *out);
void http_templates_free(sonde_http *h);

/* routes.c (status in 0..999) */
int http_routes_init(sonde_http *h, size_t limit);
void http_routes_free(sonde_http *h);
http_route *http_route_intern(sonde_http *h, const char *name, size_t len);
route_method *http_route_method(sonde_http *h, http_route *r, int method);
sonde_counter *http_status_counter(sonde_http *h, http_route *r, route_method *rm, int method,
                                   int status);

/* middleware.c: the two halves of begin, for the libmicrohttpd adapter. */
void http_begin_path(sonde_http *h, sonde_http_token *t, const char *path);
void http_set_method(sonde_http_token *t, const char *method);

/* span.c, with a tracer only: the request's SERVER span, started after the route and
 * method are known (method: as received, for http.request.method_original), and ended
 * with the status (< 100: no response). */
void http_span_start(sonde_http *h, sonde_http_token *t, const char *method,
                     const char *traceparent, const char *tracestate);
void http_span_end(sonde_http_token *t, int status);

#endif
