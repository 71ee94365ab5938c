/*
 * sonde/server.h - the embedded exposition server: /metrics, /health, /ready.
 *
 * A sonde_server answers three endpoints:
 *   GET|HEAD <metrics path>  the registry, in the format the Accept header
 *                            asks for (sonde_format_negotiate), gzip'd when
 *                            Accept-Encoding allows it;
 *   GET|HEAD /health         liveness: 200 {"status":"ok","uptime":<s>,"version":"..."};
 *   GET|HEAD /ready          readiness: 200 when every registered check passes,
 *                            503 otherwise; each check is named in the JSON body.
 * Other paths get 404, other methods on these paths 405 with "Allow: GET, HEAD".
 *
 * Two ways to serve them:
 *   1. sonde_server_start() runs libmicrohttpd on its own threads, bound to the
 *      config's listen_addr:port (default all interfaces, port 9464);
 *   2. a service with its own HTTP server calls sonde_server_handle() from its
 *      request handler and sends the response it fills.
 *
 * Protection is opt-in and off by default: HTTP basic auth or a bearer token on
 * the metrics path (compared in constant time), TLS (libmicrohttpd with GnuTLS),
 * and a bind address. Limits against hostile clients: a connection limit, an
 * idle timeout per connection, a request size limit, and a limit on scrapes
 * rendered at once (503 beyond it).
 *
 * Thread safety: every function may be called from any thread; one
 * sonde_server_start/stop/free at a time per server.
 */
#ifndef SONDE_SERVER_H
#define SONDE_SERVER_H

#include <stddef.h>

#include "export.h"
#include "config.h"
#include "metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sonde_server sonde_server;
typedef struct sonde_console sonde_console; /* sonde/console.h */

/* A readiness check: return non-zero when ready, 0 when not. Called on every
 * GET /ready, from a server thread; keep it quick. */
typedef int (*sonde_ready_fn)(void *ud);

#define SONDE_SERVER_MAX_READY_CHECKS 32

/* Options for sonde_server_new(). Fill with sonde_server_opts_init(); strings
 * are copied, so they may go away after sonde_server_new() returns. */
typedef struct sonde_server_opts {
    sonde_registry *registry;      /* what the metrics path renders; NULL = default registry */
    const sonde_config *config;    /* enabled, listen_addr, port, metrics_path;
                                      NULL = the registry's own config */
    unsigned max_connections;      /* open connections at once. Default 64 */
    unsigned connection_timeout;   /* seconds a connection may stay idle. Default 10 */
    size_t max_request_size;       /* request line + headers + body, bytes. Default 16384 */
    unsigned max_scrapes;          /* metrics renders at once; more get 503. Default 4 */
    unsigned threads;              /* server threads. Default 2 */
    int gzip;                      /* compress when the client accepts gzip. Default 1 */
    const char *basic_user;        /* basic auth on the metrics path when both are set */
    const char *basic_password;
    const char *bearer_token;      /* "Authorization: Bearer <token>" on the metrics path */
    const char *tls_cert_pem;      /* PEM text (not a file name) of the certificate chain */
    const char *tls_key_pem;       /* PEM text of the private key; both or neither */
    sonde_console *console;        /* answers /console/... (sonde/console.h) with the metrics
                                      path's auth; NULL = no console. Not owned: free it
                                      after the server */
} sonde_server_opts;

/* Fill *opts with the defaults above (everything else NULL / off). */
SONDE_API void sonde_server_opts_init(sonde_server_opts *opts);

/*
 * Create a server (no socket yet) in *out; opts NULL = the defaults. Validates
 * the options: SONDE_ECONFIG with a message in errbuf (may be NULL) for a bad
 * config (port, path, address, half of a credential pair, TLS without GnuTLS
 * support); SONDE_EINVAL for a NULL out; SONDE_ENOMEM. *out is NULL on error.
 */
SONDE_API int sonde_server_new(const sonde_server_opts *opts, char *errbuf, size_t errlen,
                               sonde_server **out);

/*
 * Bind and start serving on the server's own threads. SONDE_EDISABLED when the
 * config has enabled = 0 (nothing is started), SONDE_EBUSY when the port is in
 * use or the server is already running, SONDE_ECONFIG when the address cannot
 * be bound (not local, not an IP literal), SONDE_EIO for other socket failures.
 * sonde_server_errmsg() then says which address and why. Port 0 binds a free
 * port; sonde_server_port() tells which.
 */
SONDE_API int sonde_server_start(sonde_server *s);

/* Stop serving and close the socket (in-flight responses are cut). No-op when stopped. */
SONDE_API void sonde_server_stop(sonde_server *s);

/* Stop if running and free the server. NULL is a no-op. */
SONDE_API void sonde_server_free(sonde_server *s);

/* The port the running server is bound to; 0 when stopped. */
SONDE_API int sonde_server_port(const sonde_server *s);

/* The message of the last failed start (or "" when none). Never NULL. */
SONDE_API const char *sonde_server_errmsg(const sonde_server *s);

/*
 * Register a readiness check under a name (1..63 printable ASCII characters,
 * unique). SONDE_EINVAL for a bad name or fn, SONDE_EEXIST for a duplicate,
 * SONDE_ELIMIT past SONDE_SERVER_MAX_READY_CHECKS.
 */
SONDE_API int sonde_server_ready_add(sonde_server *s, const char *name, sonde_ready_fn fn, void *ud);

/* ---- serving from the service's own HTTP server ----------------------- */

/* What sonde_server_handle() needs from a request. Header values may be NULL (absent). */
typedef struct sonde_server_request {
    const char *method;          /* "GET", "HEAD", ... */
    const char *path;            /* the request target; a "?query" is ignored */
    const char *accept;          /* Accept */
    const char *accept_encoding; /* Accept-Encoding */
    const char *authorization;   /* Authorization */
    const char *last_event_id;   /* Last-Event-ID (an EventSource reconnecting: the
                                    console's log tail); may be NULL */
} sonde_server_request;

typedef struct sonde_server_header {
    const char *name;
    const char *value;
} sonde_server_header;

#define SONDE_SERVER_MAX_HEADERS 6

/*
 * A response to send: status, headers (static strings; Content-Length is not
 * among them: it is body_len) and a malloc'd body (NUL-terminated, the NUL not
 * counted in body_len). For HEAD the body is still
 * filled so that Content-Length is right; send the headers only. Release with
 * sonde_server_response_free().
 */
typedef struct sonde_server_response {
    int status;
    sonde_server_header headers[SONDE_SERVER_MAX_HEADERS];
    size_t header_count;
    char *body;
    size_t body_len;
} sonde_server_response;

/*
 * Answer one request as the embedded server would (routing, negotiation,
 * gzip, auth, scrape limit). Returns SONDE_OK with *resp filled (every HTTP
 * outcome, 4xx and 5xx included), or SONDE_EINVAL (NULL server, request,
 * method or path) / SONDE_ENOMEM with *resp empty.
 */
SONDE_API int sonde_server_handle(sonde_server *s, const sonde_server_request *req,
                                  sonde_server_response *resp);

/* Free the body of a response filled by sonde_server_handle(); safe to call twice. */
SONDE_API void sonde_server_response_free(sonde_server_response *resp);

#ifdef __cplusplus
}
#endif
#endif
