/*
 * sonde/console.h - the embedded console: a live dashboard, a metrics
 * explorer, traces, logs and alerts served by the process itself under
 * /console/ (libsonde-http). docs/console.md describes the pages and the API.
 *
 * A sonde_console holds:
 *   - the history: a sampler thread (sonde_console_start) snapshots chosen
 *     series of the registry every interval_ms into rings that keep
 *     retention_s of points, within a hard bound of max_bytes. Recorded: the
 *     families of the GenAI overview (requests, errors, TTFT, TPOT, tokens,
 *     cost, in-flight, rate-limit rejections, the HTTP server families), the
 *     families named in opts, and every series a user opens through the API
 *     (from then on). Past max_bytes the least recently viewed series go first,
 *     counted (status "evicted_total", sonde_console_history_evicted_total);
 *   - the JSON API under /console/api/ (status, families, series, query,
 *     overview; traces, logs, alerts) and the pages (static assets embedded
 *     at build time).
 *
 * Mounting: set sonde_server_opts.console and the embedded server answers
 * /console/... with the same auth and bind rules as its metrics path; a
 * service with its own HTTP server calls sonde_console_handle() itself.
 *
 * Thread safety: sonde_console_handle() may be called from any number of
 * threads at once, also while the sampler runs. new/start/free one at a time.
 */
#ifndef SONDE_CONSOLE_H
#define SONDE_CONSOLE_H

#include <stddef.h>

#include "alert.h"
#include "export.h"
#include "log.h"
#include "metrics.h"
#include "server.h"
#include "trace.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sonde_console sonde_console;

/* Options of sonde_console_new(); fill with sonde_console_opts_init(). Strings and the
 * families array are copied. */
typedef struct sonde_console_opts {
    sonde_registry *registry;    /* NULL = the default registry */
    sonde_tracer *tracer;        /* NULL: the Traces page and API say tracing is off */
    sonde_logger *logger;        /* NULL: the Logs page and API say logging is off */
    long interval_ms;            /* history sample interval, default 5000 (>= 100) */
    long retention_s;            /* history kept, default 3600 (at most 1000000 points) */
    size_t max_bytes;            /* hard bound on history memory, default 32 MiB (>= 64 KiB) */
    const char *const *families; /* families recorded from the start besides the GenAI
                                    overview's (at most 256) */
    size_t family_count;
    /* --- alerts: rules evaluated on the history by the sampler thread (docs/console.md) --- */
    const char *rules_path;       /* alert rules file (JSON, read by sonde_console_new: a bad
                                     file is SONDE_ECONFIG with the rule and field in err);
                                     NULL = the built-in defaults (deploy/rules' thresholds) */
    sonde_console_notify_fn notify; /* called (sonde/alert.h) when a rule starts firing and
                                     when it resolves, on the sampler thread; may be NULL.
                                     sonde_alert_webhook_notify (libsonde-otlp) posts it */
    void *notify_ud;
    const char *alertmanager_url; /* shown as a link on the Alerts page when set */
} sonde_console_opts;

/* Fill *o with the defaults above (everything else NULL / 0). */
SONDE_API void sonde_console_opts_init(sonde_console_opts *o);

/*
 * Create a console in *out (the sampler is not running yet). SONDE_ECONFIG with a
 * message in err (may be NULL) for an option out of range, a bad family name or a bad
 * alert rules file (the rule and field named), SONDE_EIO (with a message) when the rules
 * file cannot be read, SONDE_EINVAL for a NULL o or out, SONDE_ENOMEM. *out is NULL on
 * error.
 */
SONDE_API int sonde_console_new(const sonde_console_opts *o, sonde_console **out, char *err,
                                size_t errlen);

/* Start the sampler thread (history and alert evaluation): SONDE_OK, SONDE_EBUSY when it
 * runs already, SONDE_EIO when the thread cannot be created, SONDE_EINVAL for NULL. */
SONDE_API int sonde_console_start(sonde_console *c);

/* Stop the sampler (if running) and free everything. NULL is a no-op. */
SONDE_API void sonde_console_free(sonde_console *c);

/*
 * Answer one request under /console/ (pages and API) as a whole response, like
 * sonde_server_handle(): SONDE_OK with *resp filled for every HTTP outcome (404 for
 * unknown paths, 405 for methods other than GET and HEAD, 400 for bad parameters),
 * SONDE_EINVAL (NULL console, request, method or path) or SONDE_ENOMEM with *resp
 * empty. The request's path includes the "?query". No authentication is done here:
 * the caller applies its metrics path's rules. Release with sonde_server_response_free().
 */
SONDE_API int sonde_console_handle(sonde_console *c, const sonde_server_request *req,
                                   sonde_server_response *resp);

#ifdef __cplusplus
}
#endif
#endif
