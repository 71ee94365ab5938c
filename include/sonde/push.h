/*
 * sonde/push.h - sending a registry out instead of waiting for a scrape:
 * the Pushgateway client (batch jobs), the Prometheus remote write 1.0
 * sender (a background thread), and starting them from the environment.
 * They live in libsonde-otlp, sonde's exporter library (pkg-config
 * sonde-otlp, CMake sonde::otlp; libcurl, zlib, libsnappy), next to the
 * OTLP transport, and share its HTTP, retry and Retry-After code.
 * sonde_remote_write_encode() alone is in libsonde (no dependency).
 * docs/export.md documents every option, variable and failure mode.
 *
 * Series are named as the text format names them: a counter "foo" is the
 * series foo_total, a histogram foo_bucket{le=...} (cumulative, +Inf
 * included), foo_sum and foo_count, a summary foo{quantile=...}, foo_sum and
 * foo_count, an info foo_info (value 1), a stateset foo{foo="state"} (0 or
 * 1), gauges and untyped values under their own name; global labels of the
 * registry are added. Custom collectors (sonde_collector_add: the process_*
 * and sonde_spans_* ones too) are sent as a scrape renders them.
 */
#ifndef SONDE_PUSH_H
#define SONDE_PUSH_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "export.h"
#include "log.h"
#include "metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- remote write encoding (libsonde) ---------------------------------- */

/*
 * One WriteRequest (uncompressed protobuf) of every series of reg, each with
 * one sample at timestamp_ms and labels sorted by name (byte order, so
 * "__name__" comes first unless a label name starts with an upper-case
 * letter): __name__, the series' labels, the registry's global labels and
 * extra[0..extra_count) (external labels; a series' own label of the same
 * name wins). *out is malloc'd (free it); *samples (may be NULL) receives the
 * number of series. SONDE_EINVAL (NULL reg/out/len, an extra label with an
 * invalid name or non-UTF-8 value), SONDE_ENOMEM; a disabled registry gives
 * an empty request.
 */
SONDE_API int sonde_remote_write_encode(sonde_registry *reg, const sonde_label *extra,
                                        size_t extra_count, int64_t timestamp_ms, char **out,
                                        size_t *len, size_t *samples);

/* ---- destinations: what both senders share ----------------------------- */

typedef struct sonde_push_auth {
    const char *basic_user;     /* HTTP basic authentication, with basic_password */
    const char *basic_password;
    const char *bearer_token;   /* "Authorization: Bearer <token>" */
    const char *ca_file;        /* PEM file of the CAs that verify an https server;
                                   NULL: the system's. */
    int insecure_skip_verify;   /* 1 accepts any certificate (self-signed ones included).
                                   Default 0: an unverifiable certificate fails the send. */
} sonde_push_auth;

/* ---- Pushgateway --------------------------------------------------------- */

typedef enum sonde_push_method {
    SONDE_PUSH_PUT = 0,  /* replace every metric of the group */
    SONDE_PUSH_POST,     /* replace only the metrics of the same names */
    SONDE_PUSH_DELETE    /* remove the group */
} sonde_push_method;

typedef struct sonde_pushgateway_opts {
    const char *url;             /* http(s)://host:port[/prefix]; "/metrics/job/..." is
                                   appended. Required. */
    const char *job;             /* the group's job. Required, non-empty. */
    const sonde_label *grouping; /* further grouping labels, in order */
    size_t grouping_count;
    sonde_push_auth auth;
    long timeout_ms;             /* per push. <= 0: 10000 */
    sonde_logger *logger;        /* failures, one record each; NULL: none */
} sonde_pushgateway_opts;

typedef struct sonde_pushgateway sonde_pushgateway;

SONDE_API void sonde_pushgateway_opts_init(sonde_pushgateway_opts *opts);
/* SONDE_EINVAL (NULL opts/out, no job), SONDE_ECONFIG (url not http(s)://, a grouping label
 * name invalid), SONDE_EUTF8 (a job or value not UTF-8), SONDE_ENOMEM, SONDE_EIO (libcurl). */
SONDE_API int sonde_pushgateway_new(const sonde_pushgateway_opts *opts, sonde_pushgateway **out);
SONDE_API void sonde_pushgateway_free(sonde_pushgateway *pg);

/* The URL pushes go to, with the grouping key encoded ("" for NULL). */
SONDE_API const char *sonde_pushgateway_url(const sonde_pushgateway *pg);

/*
 * Push reg (text format 0.0.4) with method (reg is ignored by DELETE and may be NULL
 * then). Synchronous, one attempt bounded by the timeout. SONDE_OK on a 2xx; SONDE_EIO
 * otherwise: *status (may be NULL) gets the HTTP status (0 when none came) and the logger
 * one error record with the status and the first bytes of the answer. SONDE_EINVAL (NULL
 * pg, NULL reg for PUT/POST), SONDE_ENOMEM.
 */
SONDE_API int sonde_pushgateway_push(sonde_pushgateway *pg, sonde_registry *reg,
                                     sonde_push_method method, long *status);

/*
 * The batch-job pattern, at the end of a run: on success set
 * <job>_last_success_timestamp_seconds (a gauge registered in reg on first use; the job
 * with every character outside [a-zA-Z0-9_:] made '_') to the current time and PUT reg
 * (the group becomes this run); on failure POST reg (merged by name), so the group keeps
 * the last success pushed before. Returns what sonde_pushgateway_push returns.
 */
SONDE_API int sonde_pushgateway_push_job_end(sonde_pushgateway *pg, sonde_registry *reg,
                                             int success, long *status);

/*
 * The grouping-key path "/metrics/job/<job>{/<name>/<value>}" into buf[0..cap): values
 * (the job too) that are empty or contain '/' are written in base64url with the name
 * suffixed "@base64" (an empty value as "="); others are percent-encoded. Returns the
 * length, or SONDE_ETRUNC (buf too small: the length needed is not reported), SONDE_EINVAL
 * (NULL job, an invalid label name), SONDE_EUTF8.
 */
SONDE_API int sonde_pushgateway_path(const char *job, const sonde_label *grouping,
                                     size_t grouping_count, char *buf, size_t cap);

/* ---- remote write -------------------------------------------------------- */

typedef struct sonde_remote_write_opts {
    sonde_registry *registry;   /* what is sent. Required. */
    const char *url;            /* the receiver, e.g. http://prometheus:9090/api/v1/write.
                                   Required. */
    long interval_ms;           /* between snapshots. <= 0: 15000 */
    const sonde_label *external_labels; /* added to every series */
    size_t external_label_count;
    sonde_push_auth auth;
    long timeout_ms;            /* per request. <= 0: 10000 */
    size_t max_backlog;         /* snapshots held while the receiver fails; the oldest
                                   is dropped first. 0: 60 */
    long backoff_initial_ms;    /* first wait after a retryable failure. <= 0: 500 */
    long backoff_max_ms;        /* cap of the doubling. <= 0: 30000 */
    sonde_registry *stats_registry; /* where the sonde_remote_write_* families go;
                                   NULL: registry */
    sonde_logger *logger;       /* failures and drops; NULL: none */
} sonde_remote_write_opts;

typedef struct sonde_remote_write sonde_remote_write;

SONDE_API void sonde_remote_write_opts_init(sonde_remote_write_opts *opts);
/* Start the sender's thread; the first snapshot is taken one interval later. SONDE_EINVAL
 * (NULL opts/out/registry/url), SONDE_ECONFIG (url not http(s)://, an external label
 * invalid), SONDE_EEXIST (the stats families are already in stats_registry: one sender
 * per stats registry), SONDE_ENOMEM, SONDE_EIO (libcurl, the thread). */
SONDE_API int sonde_remote_write_new(const sonde_remote_write_opts *opts,
                                     sonde_remote_write **out);
/* Take a snapshot now, queued like the periodic ones (which keep their schedule).
 * Never blocks on the network. SONDE_EINVAL for NULL. */
SONDE_API int sonde_remote_write_snapshot_now(sonde_remote_write *rw);
/* Stop: take a last snapshot, give the queue up to drain_ms to go out, then stop the
 * thread and free (what is still queued is counted as dropped). NULL: no-op. */
SONDE_API void sonde_remote_write_free(sonde_remote_write *rw, long drain_ms);

typedef struct sonde_remote_write_stats {
    uint64_t snapshots;       /* snapshots taken */
    uint64_t samples;         /* samples delivered (2xx) */
    uint64_t failed;          /* samples given up after a non-retryable answer */
    uint64_t dropped;         /* samples of snapshots dropped from a full backlog */
    uint64_t dropped_snapshots;
    uint64_t retries;         /* requests that were retries */
    uint64_t requests;        /* requests made */
    size_t queue;             /* snapshots waiting */
    double last_success;      /* unix seconds of the last 2xx, 0 before */
} sonde_remote_write_stats;
SONDE_API void sonde_remote_write_stats_get(const sonde_remote_write *rw,
                                            sonde_remote_write_stats *out);

/* ---- from the environment ------------------------------------------------ */

typedef struct sonde_exporters sonde_exporters;

/*
 * Start what the environment asks for, so a service adopts it without code:
 *   SONDE_REMOTE_WRITE_URL        remote write receiver (unset: no sender)
 *   SONDE_REMOTE_WRITE_INTERVAL   seconds between snapshots (default 15; decimals allowed)
 *   SONDE_REMOTE_WRITE_EXTERNAL_LABELS  "k=v,k=v" (values percent-decoded)
 *   SONDE_REMOTE_WRITE_BACKLOG    snapshots held while the receiver fails (default 60)
 *   SONDE_REMOTE_WRITE_TIMEOUT    ms per request (default 10000)
 *   SONDE_PUSHGATEWAY_URL         Pushgateway (unset: none)
 *   SONDE_PUSHGATEWAY_JOB         its job (default: the program's name)
 *   SONDE_PUSHGATEWAY_GROUPING    "k=v,k=v" further grouping labels
 *   SONDE_PUSH_BASIC_USER, SONDE_PUSH_BASIC_PASSWORD, SONDE_PUSH_BEARER_TOKEN,
 *   SONDE_PUSH_CA_FILE, SONDE_PUSH_INSECURE_SKIP_VERIFY (true/false): both destinations.
 * The _REMOTE_WRITE_ and _PUSHGATEWAY_ forms of the five SONDE_PUSH_* variables (e.g.
 * SONDE_REMOTE_WRITE_BEARER_TOKEN) apply to one destination and win.
 * The OTLP metrics exporter of reg starts too when the OTEL_* environment asks for it
 * (sonde_otlp_metrics_start in sonde/otlp.h: an OTEL_EXPORTER_OTLP_[METRICS_]ENDPOINT, or
 * OTEL_METRICS_EXPORTER=otlp; never with OTEL_SDK_DISABLED=true or OTEL_METRICS_EXPORTER=none),
 * with its OTEL_* settings and reg's service labels as the resource. A service that calls
 * this needs no sonde_otlp_metrics_start of its own (two would export everything twice).
 * A malformed variable is SONDE_ECONFIG with a message naming it in errbuf (may be NULL),
 * and nothing is started. *out is set even when nothing is configured (then it holds
 * nothing). logger may be NULL.
 */
SONDE_API int sonde_exporters_from_env(sonde_registry *reg, sonde_logger *logger,
                                       sonde_exporters **out, char *errbuf, size_t errlen);
/* The remote-write sender, the Pushgateway client and the OTLP metrics exporter started,
 * or NULL. */
SONDE_API sonde_remote_write *sonde_exporters_remote_write(const sonde_exporters *ex);
SONDE_API sonde_pushgateway *sonde_exporters_pushgateway(const sonde_exporters *ex);
typedef struct sonde_otlp_metrics sonde_otlp_metrics;
SONDE_API sonde_otlp_metrics *sonde_exporters_otlp_metrics(const sonde_exporters *ex);
/* Stop and free them all: with push_on_exit, first sonde_pushgateway_push_job_end(success)
 * of the registry; the remote write sender gets drain_ms, the OTLP metrics exporter its
 * last export within drain_ms (< 0: OTEL_METRIC_EXPORT_TIMEOUT). NULL: no-op. */
SONDE_API void sonde_exporters_free(sonde_exporters *ex, int push_on_exit, int success,
                                    long drain_ms);

#ifdef __cplusplus
}
#endif
#endif
