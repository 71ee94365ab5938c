/*
 * sonde/metric_reader.h - pushing a registry out as OpenTelemetry metrics:
 * a periodic reader (OpenTelemetry's PeriodicExportingMetricReader) that,
 * every export interval, encodes the registry as one OTLP
 * ExportMetricsServiceRequest and hands it to an exporter (libsonde-otlp's
 * sonde_otlp_metric_exporter POSTs it to /v1/metrics).
 *
 * Mapping (the OpenTelemetry "Prometheus and OpenMetrics Compatibility" rules;
 * metric names as Prometheus names the samples: "foo_total" for counters,
 * "foo_info" for infos, unaltered otherwise; the Prometheus type in the
 * metric's metadata "prometheus.type"): counters are monotonic cumulative
 * Sums whose start time is the series' creation; gauges Gauges; histograms
 * cumulative Histograms (explicit bounds, per-bucket counts, sum, count);
 * summaries Summaries (quantile values, sum, count); infos non-monotonic
 * cumulative Sums of value 1; statesets non-monotonic cumulative Sums with
 * one point per state (attribute <family name>=<state>, value 0 or 1);
 * collectors' untyped values Gauges. Global labels and series labels are
 * the attributes; the family's unit becomes the metric's unit in
 * OpenTelemetry's notation (seconds -> s, bytes -> By, ratio -> 1,
 * a_per_b -> a/b); HELP the description. The resource is the tracer's
 * (service.name, service.version, deployment.environment,
 * OTEL_RESOURCE_ATTRIBUTES, telemetry.sdk.*), the scope "sonde".
 */
#ifndef SONDE_METRIC_READER_H
#define SONDE_METRIC_READER_H

#include <stddef.h>
#include <stdint.h>

#include "export.h"
#include "log.h"
#include "metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sonde_metric_reader sonde_metric_reader;

/*
 * An exporter of encoded ExportMetricsServiceRequests. export_fn gets the
 * request (valid during the call), the number of data points in it and a
 * sonde_now_ns() deadline; it returns SONDE_OK (delivered; *rejected may name
 * the points a partial success refused) or a negative code (the points are
 * counted as dropped; the next export carries the cumulative values again).
 * shutdown_fn (may be NULL) runs once when the reader is freed.
 */
typedef struct sonde_metric_exporter {
    int (*export_fn)(void *ud, const void *request, size_t len, size_t points,
                     uint64_t deadline_ns, size_t *rejected);
    void (*shutdown_fn)(void *ud);
    void *ud;
} sonde_metric_exporter;

/* Options of sonde_metric_reader_new(); sonde_metric_reader_opts_init() leaves
 * every field unset (0 / NULL / -1): the environment's value, else the
 * OpenTelemetry default (in parentheses). Strings are copied. */
typedef struct sonde_metric_reader_opts {
    sonde_registry *registry;    /* the registry exported (required); the reader's own
                                    counters are exposed on it too */
    sonde_metric_exporter exporter; /* export_fn NULL: encode only (sonde_metric_reader_encode) */
    long interval_ms;            /* OTEL_METRIC_EXPORT_INTERVAL (60000); at least 1 */
    long timeout_ms;             /* OTEL_METRIC_EXPORT_TIMEOUT (30000), per export */
    const char *service_name;    /* as sonde_tracer_opts: OTEL_SERVICE_NAME, ..., the
                                    config's label service, "unknown_service" */
    const char *service_version;
    const char *deployment_environment;
    const struct sonde_config *config; /* labels service, version, environment (may be NULL) */
    const char *resource_attributes;   /* "k=v,k=v", like OTEL_RESOURCE_ATTRIBUTES */
    const char *scope_name;      /* instrumentation scope ("sonde") */
    const char *scope_version;   /* (the library's version) */
    int disabled;                /* 1: no reader (*out = NULL). Unset (-1): OTEL_SDK_DISABLED=true
                                    or OTEL_METRICS_EXPORTER=none disable it */
    int read_env;                /* 0 ignores the environment. Default 1 */
    sonde_logger *logger;        /* diagnostics (bad OTEL_* values, failed exports); NULL: none */
} sonde_metric_reader_opts;

SONDE_API void sonde_metric_reader_opts_init(sonde_metric_reader_opts *opts);

/* Create a reader and, with an exporter, start its thread (first export one interval
 * after). SONDE_OK with *out = NULL when disabled; SONDE_EINVAL (NULL out or registry),
 * SONDE_ENOMEM, SONDE_EIO (thread). */
SONDE_API int sonde_metric_reader_new(const sonde_metric_reader_opts *opts,
                                      sonde_metric_reader **out);

/* Export the registry now, on the caller's thread, within timeout_ms (< 0: the
 * reader's timeout). SONDE_OK when delivered, else the exporter's code; SONDE_EINVAL
 * without an exporter. NULL reader: SONDE_OK. */
SONDE_API int sonde_metric_reader_export(sonde_metric_reader *r, long timeout_ms);

/* The ExportMetricsServiceRequest of the registry now, in a buffer the caller frees;
 * *points (may be NULL) receives its data point count. SONDE_EINVAL, SONDE_ENOMEM. */
SONDE_API int sonde_metric_reader_encode(sonde_metric_reader *r, char **out, size_t *len,
                                         size_t *points);

/* Stop the thread, export one last time within timeout_ms (< 0: the reader's timeout;
 * 0: no last export), call the exporter's shutdown, free. NULL: no-op. */
SONDE_API void sonde_metric_reader_free(sonde_metric_reader *r, long timeout_ms);

/* Counters of a reader (all 0 for NULL); exposed on its registry as
 * sonde_metric_exports_total{result="delivered"|"failed"},
 * sonde_metric_points_exported_total and
 * sonde_metric_points_dropped_total{reason="export_failed"|"rejected"}. */
typedef struct sonde_metric_reader_stats {
    uint64_t exports;          /* exports delivered */
    uint64_t export_failures;  /* exports that failed */
    uint64_t points_exported;  /* data points delivered and accepted */
    uint64_t points_failed;    /* points of failed exports */
    uint64_t points_rejected;  /* points refused by partial successes */
} sonde_metric_reader_stats;
SONDE_API void sonde_metric_reader_stats_get(const sonde_metric_reader *r,
                                             sonde_metric_reader_stats *out);

#ifdef __cplusplus
}
#endif
#endif
