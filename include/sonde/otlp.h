/*
 * sonde/otlp.h - libsonde-otlp: the OTLP/HTTP transport (protobuf over
 * HTTP/1.1, libcurl and libdeflate) and the exporters that plug it into a tracer
 * (sonde_span_exporter) and a logger (sonde_log_exporter). pkg-config
 * sonde-otlp, CMake sonde::otlp. One transport serves every signal: traces,
 * logs and metrics (sonde_otlp_metric_exporter for a sonde_metric_reader, or
 * sonde_otlp_metrics_start, which builds both from the environment).
 *
 * Each signal's destination is resolved once, in this order: the option set
 * in code, then the environment, then the OpenTelemetry default.
 *   endpoint    traces_endpoint / logs_endpoint / metrics_endpoint, used as
 *               given; else endpoint with "/v1/traces", "/v1/logs" or
 *               "/v1/metrics" appended; else OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
 *               / _LOGS_ENDPOINT / _METRICS_ENDPOINT, as given; else
 *               OTEL_EXPORTER_OTLP_ENDPOINT (http://localhost:4318) with the
 *               signal's path appended.
 *   headers     "k=v,k=v" (values percent-decoded): OTEL_EXPORTER_OTLP_HEADERS,
 *               then the signal's _HEADERS, whose keys win.
 *   timeout     per export, retries included: OTEL_EXPORTER_OTLP_[SIGNAL_]TIMEOUT
 *               in ms (10000).
 *   compression "gzip" or "none": OTEL_EXPORTER_OTLP_[SIGNAL_]COMPRESSION (none).
 * A request is POSTed with Content-Type: application/x-protobuf. Answers
 * 429, 502, 503, 504 and connection failures (not a certificate that fails
 * verification) are retried with exponential
 * backoff (1 s doubling to 30 s) with jitter (x 0.5 .. 1.5), or after the
 * server's Retry-After, as long as the export's deadline allows; any other
 * answer drops the batch, counted, with one error record through the logger.
 * A 2xx with a partial success counts its rejected items and logs the
 * server's message.
 */
#ifndef SONDE_OTLP_H
#define SONDE_OTLP_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "export.h"
#include "log.h"
#include "metric_reader.h"
#include "trace.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sonde_otlp sonde_otlp;

typedef enum sonde_otlp_signal {
    SONDE_OTLP_TRACES = 0,
    SONDE_OTLP_LOGS,
    SONDE_OTLP_METRICS
} sonde_otlp_signal;

typedef struct sonde_otlp_opts {
    const char *endpoint;        /* base URL; /v1/<signal> is appended */
    const char *traces_endpoint; /* full URL of traces, as given */
    const char *logs_endpoint;   /* full URL of logs, as given */
    const char *metrics_endpoint;
    const char *headers;         /* "k=v,k=v", percent-encoded values */
    long timeout_ms;             /* < 0: unset */
    int compression;             /* -1 unset, 0 none, 1 gzip */
    int read_env;                /* 0 ignores the environment. Default 1 */
    sonde_logger *logger;        /* export failures and partial successes; NULL: none */
} sonde_otlp_opts;

SONDE_API void sonde_otlp_opts_init(sonde_otlp_opts *opts);

/* SONDE_EINVAL (NULL out), SONDE_ECONFIG (an endpoint that is not http(s)://, or
 * malformed headers set in code; malformed variables are ignored with a warning),
 * SONDE_ENOMEM, SONDE_EIO (libcurl failed to start). */
SONDE_API int sonde_otlp_new(const sonde_otlp_opts *opts, sonde_otlp **out);
/* Free the transport (after the tracer and logger that use it). NULL: no-op. */
SONDE_API void sonde_otlp_free(sonde_otlp *o);

/* The URL a signal goes to, as resolved ("" for NULL). */
SONDE_API const char *sonde_otlp_endpoint(const sonde_otlp *o, sonde_otlp_signal signal);

/*
 * POST one encoded Export*ServiceRequest of signal and wait, retrying, until it
 * is delivered or timeout_ms (< 0: the signal's timeout) runs out. *rejected
 * (may be NULL) receives a partial success's rejected count. SONDE_OK, or
 * SONDE_EIO (not delivered: refused, unreachable, out of time). NULL o: SONDE_EINVAL.
 */
SONDE_API int sonde_otlp_send(sonde_otlp *o, sonde_otlp_signal signal, const void *body,
                              size_t len, long timeout_ms, size_t *rejected);

/* Exporters over this transport, for sonde_tracer_opts.exporter and
 * sonde_logger_opts.exporter. SONDE_EINVAL for a NULL argument. */
SONDE_API int sonde_otlp_span_exporter(sonde_otlp *o, sonde_span_exporter *out);
SONDE_API int sonde_otlp_log_exporter(sonde_otlp *o, sonde_log_exporter *out);
/* For sonde_metric_reader_opts.exporter: POSTs each request to the metrics endpoint. */
SONDE_API int sonde_otlp_metric_exporter(sonde_otlp *o, sonde_metric_exporter *out);

/*
 * OTLP metrics with no code but this call (sonde-gateway makes it at start): a
 * transport and a periodic reader of registry, configured by the environment
 * (OTEL_EXPORTER_OTLP_[METRICS_]ENDPOINT / _HEADERS / _TIMEOUT / _COMPRESSION,
 * OTEL_METRIC_EXPORT_INTERVAL / _TIMEOUT, OTEL_SERVICE_NAME,
 * OTEL_RESOURCE_ATTRIBUTES) and the fields set here. It starts only when an
 * endpoint is configured (endpoint here, OTEL_EXPORTER_OTLP_METRICS_ENDPOINT or
 * OTEL_EXPORTER_OTLP_ENDPOINT) or OTEL_METRICS_EXPORTER names otlp, and never
 * when OTEL_SDK_DISABLED=true or OTEL_METRICS_EXPORTER names no otlp ("none",
 * "prometheus"): then SONDE_OK with *out = NULL.
 */
typedef struct sonde_otlp_metrics sonde_otlp_metrics;
typedef struct sonde_otlp_metrics_opts {
    sonde_registry *registry;     /* exported (required) */
    const sonde_config *config;   /* its labels service, version, environment (may be NULL) */
    sonde_logger *logger;         /* diagnostics; NULL: none */
    const char *endpoint;         /* the full metrics URL, used as given; NULL: environment */
    long interval_ms;             /* < 0: OTEL_METRIC_EXPORT_INTERVAL (60000) */
} sonde_otlp_metrics_opts;
SONDE_API void sonde_otlp_metrics_opts_init(sonde_otlp_metrics_opts *opts);
/* SONDE_EINVAL (NULL out or registry), SONDE_ECONFIG (a malformed endpoint set here),
 * SONDE_ENOMEM, SONDE_EIO. */
SONDE_API int sonde_otlp_metrics_start(const sonde_otlp_metrics_opts *opts, sonde_otlp_metrics **out);
/* The reader (for its counters and sonde_metric_reader_export); NULL for NULL. */
SONDE_API sonde_metric_reader *sonde_otlp_metrics_reader(sonde_otlp_metrics *m);
/* The last export within timeout_ms (< 0: OTEL_METRIC_EXPORT_TIMEOUT), then free it all.
 * Before the registry is freed. NULL: no-op. */
SONDE_API void sonde_otlp_metrics_stop(sonde_otlp_metrics *m, long timeout_ms);

typedef struct sonde_otlp_stats {
    uint64_t requests;   /* HTTP requests made, retries included */
    uint64_t retries;    /* requests that were retries */
    uint64_t delivered;  /* exports delivered (2xx) */
    uint64_t failed;     /* exports given up */
    uint64_t rejected;   /* items rejected by partial successes */
} sonde_otlp_stats;
SONDE_API void sonde_otlp_stats_get(const sonde_otlp *o, sonde_otlp_stats *out);

#ifdef __cplusplus
}
#endif
#endif
