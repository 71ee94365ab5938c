/*
 * sonde/http.h - HTTP, RPC and WebSocket instrumentation.
 *
 * HTTP middleware, framework-agnostic: call sonde_http_begin() when a request
 * starts and sonde_http_end() when its response is done. The token between
 * the two is a small struct on the caller's side; nothing is allocated per
 * request. It records, with an optional prefix P ("P_" before each name):
 *
 *   http_requests_total{method,route,status}          counter
 *   http_request_duration_seconds{method,route}       histogram (latency buckets)
 *   http_request_size_bytes{method,route}             histogram (size buckets)
 *   http_response_size_bytes{method,route}            histogram (size buckets)
 *   http_requests_in_flight                           gauge
 *   http_responses_streaming                          gauge (SSE, chunked: still streaming)
 *
 * method is one of GET HEAD POST PUT DELETE PATCH OPTIONS CONNECT TRACE, any
 * other method is OTHER. route is the path normalised to keep cardinality
 * bounded: the query string is dropped; a path matching a registered
 * template (sonde_http_route_add("/v1/items/{id}")) is recorded as that
 * template; otherwise each segment that looks like an identifier becomes
 * ":id" (digits only; a UUID; 16+ hex digits, or 8+ hex digits with a
 * digit among them; 16+ characters of base64/base64url with both letters
 * and digits; anything outside printable ASCII). Paths not starting with
 * '/' and routes longer than 255 bytes become "OTHER", and so does every
 * new route once route_limit distinct routes exist.
 *
 * For services on libmicrohttpd, sonde/http_mhd.h wires all of this with one
 * call. RPC (gRPC-style) and WebSocket helpers are below.
 *
 * Tracing. With a tracer in sonde_http_opts, every request is also a SERVER
 * span named "{method} {route}" ("HTTP {route}" for a method outside the
 * list above) with http.request.method (the list's name, or "_OTHER" plus
 * http.request.method_original), http.route and, at end,
 * http.response.status_code; a 5xx ends it with status ERROR and error.type
 * the status code. sonde_http_begin_traced() continues the caller's trace
 * from its traceparent / tracestate headers (an absent or invalid header
 * starts a new trace; the request goes on either way); sonde_http_span()
 * gives the request's span to code that wants its context or adds
 * attributes. Without a tracer nothing of this runs and sonde_http_begin()
 * costs what it did.
 *
 * Thread safety: every function may be called from any thread. A NULL
 * sonde_http / sonde_rpc / sonde_ws makes every call a no-op, so a service
 * can turn instrumentation off by not creating them.
 */
#ifndef SONDE_HTTP_H
#define SONDE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "export.h"
#include "metrics.h"
#include "trace.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sonde_http sonde_http;

typedef struct sonde_http_opts {
    sonde_registry *registry;        /* NULL = the default registry */
    const char *prefix;              /* NULL or "" = none; "svc" -> svc_http_requests_total */
    sonde_buckets duration_buckets;  /* {NULL, 0} = the registry's latency buckets */
    sonde_buckets size_buckets;      /* {NULL, 0} = the registry's size buckets */
    size_t route_limit;              /* distinct routes; 0 = the registry's cardinality
                                        limit (at most 100000) */
    sonde_tracer *tracer;            /* NULL = no spans; else a SERVER span per request
                                        (see "Tracing" above). Must outlive the sonde_http */
} sonde_http_opts;

/*
 * Register the six families (or reuse them when another sonde_http with the
 * same prefix registered them already) and create the route table. NULL opts
 * = defaults. SONDE_ENAME for a bad prefix, SONDE_ETYPE / SONDE_ELABELS when
 * a family of that name exists with another shape, SONDE_ENOMEM.
 */
SONDE_API int sonde_http_new(const sonde_http_opts *opts, sonde_http **out);

/* Free the middleware (its families and series stay in the registry). */
SONDE_API void sonde_http_free(sonde_http *h);

/*
 * Register a route template: '/'-separated segments where "{name}" matches
 * any one non-empty segment, e.g. "/v1/items/{id}". Templates are tried in
 * registration order before the heuristics. At most 64; SONDE_EINVAL for a
 * template not starting with '/', longer than 255 bytes, with non-printable
 * characters or with '?' or '#' (they end a path), SONDE_ELIMIT past 64. A
 * NULL h is a no-op (SONDE_OK).
 */
SONDE_API int sonde_http_route_add(sonde_http *h, const char *tmpl);

/*
 * Normalise a path the way sonde_http_begin() does into buf (NUL-terminated,
 * cap >= 256 always suffices). Returns the route's length, or 0 when cap is
 * too small or h is NULL.
 */
SONDE_API size_t sonde_http_route(sonde_http *h, const char *path, char *buf, size_t cap);

/* A request in progress. Plain data: copy it, keep it in your request context (and end
 * one copy only: with a tracer it holds the request's span). */
typedef struct sonde_http_token {
    uint64_t start_ns;
    const void *route_;   /* private */
    size_t request_size;
    uint8_t method_;      /* private */
    uint8_t streaming_;   /* private */
    uint8_t active_;      /* private */
    sonde_span *span_;    /* private: the request's span (NULL without a tracer) */
} sonde_http_token;

/* A size not known (e.g. a chunked body): that observation is skipped. */
#define SONDE_HTTP_SIZE_UNKNOWN ((size_t)-1)

/* A request starts: method as received, the raw path (query included or not). */
SONDE_API sonde_http_token sonde_http_begin(sonde_http *h, const char *method, const char *path,
                                            size_t request_size);

/*
 * sonde_http_begin() that continues an incoming trace: traceparent and
 * tracestate are the request's header values (NULL when absent). With a
 * tracer, the request's SERVER span is the child of that remote context, or
 * the root of a new trace when traceparent is absent or invalid (never an
 * error: the request is measured all the same). Without a tracer, exactly
 * sonde_http_begin(). sonde_http_begin() with a tracer starts a new trace.
 */
SONDE_API sonde_http_token sonde_http_begin_traced(sonde_http *h, const char *method,
                                                   const char *path, size_t request_size,
                                                   const char *traceparent,
                                                   const char *tracestate);

/*
 * The request's span (sampled or not; it ends with sonde_http_end()), or NULL
 * without a tracer, for a NULL or ended token. Its context
 * (sonde_span_get_context) is the parent to give the request's own spans in
 * event-driven code, and what sonde_trace_headers_fill() writes into the
 * outgoing requests made on its behalf. Valid until sonde_http_end().
 */
SONDE_API sonde_span *sonde_http_span(const sonde_http_token *t);

/* The response starts streaming (SSE, chunked): http_responses_streaming rises until end. */
SONDE_API void sonde_http_stream_begin(sonde_http *h, sonde_http_token *t);

/* The stream is over before the request ends (sonde_http_end() does this too). */
SONDE_API void sonde_http_stream_end(sonde_http *h, sonde_http_token *t);

/* The request is done: records everything (and ends its span with the status). A second
 * end on the same token is a no-op. */
SONDE_API void sonde_http_end(sonde_http *h, sonde_http_token *t, int status, size_t response_size);

/* ---- RPC (gRPC-style) ---------------------------------------------------
 *   rpc_requests_total{method,code}              counter
 *   rpc_request_duration_seconds{method}         histogram (latency buckets)
 * A unary call is one begin/end (or one sonde_rpc_observe()); a streaming
 * call is recorded the same way, once, when the stream ends, with the whole
 * stream's duration and final code.
 */
typedef struct sonde_rpc sonde_rpc;
typedef struct sonde_rpc_method sonde_rpc_method;

typedef enum sonde_rpc_code {
    SONDE_RPC_OK = 0,
    SONDE_RPC_CANCELLED,
    SONDE_RPC_UNKNOWN,
    SONDE_RPC_INVALID_ARGUMENT,
    SONDE_RPC_DEADLINE_EXCEEDED,
    SONDE_RPC_NOT_FOUND,
    SONDE_RPC_ALREADY_EXISTS,
    SONDE_RPC_PERMISSION_DENIED,
    SONDE_RPC_RESOURCE_EXHAUSTED,
    SONDE_RPC_FAILED_PRECONDITION,
    SONDE_RPC_ABORTED,
    SONDE_RPC_OUT_OF_RANGE,
    SONDE_RPC_UNIMPLEMENTED,
    SONDE_RPC_INTERNAL,
    SONDE_RPC_UNAVAILABLE,
    SONDE_RPC_DATA_LOSS,
    SONDE_RPC_UNAUTHENTICATED,
    SONDE_RPC_CODE_COUNT
} sonde_rpc_code;

/* "OK", "CANCELLED", ... as gRPC spells them; "UNKNOWN" for an out-of-range code. */
SONDE_API const char *sonde_rpc_code_name(int code);
/* The code of a name (case-insensitive), or SONDE_EINVAL. */
SONDE_API int sonde_rpc_code_parse(const char *name);

typedef struct sonde_rpc_opts {
    sonde_registry *registry;        /* NULL = the default registry */
    const char *prefix;              /* NULL or "" = none */
    sonde_buckets duration_buckets;  /* {NULL, 0} = the registry's latency buckets */
} sonde_rpc_opts;

/*
 * Register the RPC families (or reuse them, as sonde_http_new() does); NULL
 * opts = defaults. Errors as for sonde_http_new().
 */
SONDE_API int sonde_rpc_new(const sonde_rpc_opts *opts, sonde_rpc **out);
/* Free r and its method handles (its families and series stay in the registry). */
SONDE_API void sonde_rpc_free(sonde_rpc *r);

/*
 * The handle of one RPC method ("pkg.Service/Method"), created on first use
 * and kept by the sonde_rpc until sonde_rpc_free(): look it up once, keep it.
 * NULL when r is NULL, the name is not UTF-8 or memory runs out.
 */
SONDE_API sonde_rpc_method *sonde_rpc_method_get(sonde_rpc *r, const char *name);

typedef struct sonde_rpc_call {
    uint64_t start_ns;
    sonde_rpc_method *method_; /* private */
} sonde_rpc_call;

/* Start timing a call of m (a NULL m gives a call whose end is a no-op). */
SONDE_API sonde_rpc_call sonde_rpc_begin(sonde_rpc_method *m);
/* Records the call with its final code; a second end is a no-op. */
SONDE_API void sonde_rpc_end(sonde_rpc_call *c, int code);
/* Record a call timed by the caller. */
SONDE_API void sonde_rpc_observe(sonde_rpc_method *m, int code, double seconds);

/* ---- WebSocket ----------------------------------------------------------
 *   websocket_connections_total                   counter (opened)
 *   websocket_connections_active                  gauge (open now; "websocket_connections"
 *                                                 is the counter's family name)
 *   websocket_messages_received_total{type}       counter
 *   websocket_messages_sent_total{type}           counter
 * type: text, binary, ping, pong, close.
 */
typedef struct sonde_ws sonde_ws;

typedef enum sonde_ws_type {
    SONDE_WS_TEXT = 0,
    SONDE_WS_BINARY,
    SONDE_WS_PING,
    SONDE_WS_PONG,
    SONDE_WS_CLOSE,
    SONDE_WS_TYPE_COUNT
} sonde_ws_type;

/* registry NULL = default; prefix NULL or "" = none. */
SONDE_API int sonde_ws_new(sonde_registry *registry, const char *prefix, sonde_ws **out);
SONDE_API void sonde_ws_free(sonde_ws *w);
SONDE_API void sonde_ws_open(sonde_ws *w);
SONDE_API void sonde_ws_close(sonde_ws *w);
/* An out-of-range type is ignored. */
SONDE_API void sonde_ws_received(sonde_ws *w, sonde_ws_type type);
SONDE_API void sonde_ws_sent(sonde_ws *w, sonde_ws_type type);

#ifdef __cplusplus
}
#endif
#endif
