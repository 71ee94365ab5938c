/*
 * sonde/http_mhd.h - the HTTP middleware wired into a libmicrohttpd service.
 *
 * Not included by sonde/sonde.h, since it needs <microhttpd.h>. One call
 * replaces MHD_start_daemon():
 *
 *   sonde_http_mhd *a;
 *   sonde_http_mhd_start(http, MHD_USE_INTERNAL_POLLING_THREAD, 8080,
 *                        my_handler, my_cls, my_options, &a);
 *   ... in my_handler: sonde_http_mhd_respond(a, connection, 200, response, body_len);
 *   sonde_http_mhd_stop(a);
 *
 * Every request is then timed from its request line (MHD's URI log callback)
 * to its completion (MHD_OPTION_NOTIFY_COMPLETED) and recorded with its
 * method, route and the status queued. The request size is the body bytes
 * the handler consumed; the response size is the one given to
 * sonde_http_mhd_respond() (responses queued with MHD_queue_response() are
 * counted without a response size). A streaming response (from a callback)
 * calls sonde_http_mhd_stream_begin() and counts as streaming until it
 * completes.
 *
 * The service's own MHD_OPTION_URI_LOG_CALLBACK, MHD_OPTION_NOTIFY_COMPLETED
 * and MHD_OPTION_NOTIFY_CONNECTION in `options` still run (the adapter
 * calls them); the socket_context a NOTIFY_CONNECTION callback receives is
 * its own, but MHD_CONNECTION_INFO_SOCKET_CONTEXT returns the adapter's.
 * With a NULL sonde_http the daemon is started exactly as MHD_start_daemon
 * would, without any hook.
 */
#ifndef SONDE_HTTP_MHD_H
#define SONDE_HTTP_MHD_H

#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>

#include "export.h"
#include "http.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sonde_http_mhd sonde_http_mhd;

/*
 * Start a daemon like MHD_start_daemon(flags, port, NULL, NULL, dh, dh_cls,
 * MHD_OPTION_ARRAY, options, MHD_OPTION_END) with the middleware h wired in.
 * options: MHD_OPTION_END-terminated, or NULL; it may not contain
 * MHD_OPTION_ARRAY itself. SONDE_EINVAL for bad arguments, SONDE_EIO when
 * libmicrohttpd does not start (port in use, bad flags), SONDE_ENOMEM.
 * *out is set before the daemon's threads start, so a handler may read the
 * variable it points to (a global, say) from the first request on; it is
 * NULL again when the start fails.
 */
SONDE_API int sonde_http_mhd_start(sonde_http *h, unsigned int flags, uint16_t port,
                                   MHD_AccessHandlerCallback dh, void *dh_cls,
                                   const struct MHD_OptionItem *options, sonde_http_mhd **out);

/* The daemon (for MHD_get_daemon_info() and the like). */
SONDE_API struct MHD_Daemon *sonde_http_mhd_daemon(const sonde_http_mhd *a);

/* Stop the daemon and free the adapter. NULL is a no-op. */
SONDE_API void sonde_http_mhd_stop(sonde_http_mhd *a);

/*
 * MHD_queue_response() that also records the response body size for the
 * current request of c. With a NULL adapter (instrumentation off) it only queues.
 */
SONDE_API enum MHD_Result sonde_http_mhd_respond(sonde_http_mhd *a, struct MHD_Connection *c,
                                                 unsigned int status, struct MHD_Response *r,
                                                 size_t body_size);

/* The current response of c streams (SSE, chunked) until its request completes. */
SONDE_API void sonde_http_mhd_stream_begin(sonde_http_mhd *a, struct MHD_Connection *c);

/*
 * The request target of c as the client sent it, for handlers that read the query string
 * (libmicrohttpd hands the path without it, the arguments decoded): url, then "?" and
 * c's GET arguments percent-encoded again in their order (nothing when there are none),
 * into buf, NUL-terminated. Returns the length, or 0 when it does not fit in cap bytes
 * (buf then holds ""), or when url or buf is NULL. A NULL c gives url alone.
 */
SONDE_API size_t sonde_http_mhd_request_target(struct MHD_Connection *c, const char *url,
                                               char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
