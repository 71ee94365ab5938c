/*
 * sonde/log.h - structured logs: one JSON object per line, to stderr or a
 * file, with the trace and span id of the thread's current span; a bounded
 * ring of recent records; optional OTLP export (libsonde-otlp's
 * sonde_otlp_log_exporter) through a batch queue like the spans'.
 *
 * A line:
 *   {"time":"2026-11-30T17:42:51.123456789Z","level":"error","msg":"upstream failed",
 *    "service":"gateway","trace_id":"4bf9...","span_id":"00f0...",
 *    "fields":{"status":502,"model":"gpt-4o-mini"}}
 * time is RFC 3339 in UTC with nanoseconds; trace_id and span_id appear only
 * inside a span (sonde_span_enter); numbers are written without the locale.
 *
 * Rate limit per call site: each call site (the msg pointer, a string literal
 * at a real call site) may write SONDE_LOG_RATE_BURST records at once and
 * then rate_per_sec a second; what it drops is counted and reported as the
 * field "suppressed" of its next record. So a hot error path cannot flood.
 *
 * NULL conventions: a NULL logger is a no-op handle (sonde_log does nothing).
 */
#ifndef SONDE_LOG_H
#define SONDE_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "export.h"
#include "trace.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sonde_log_level { /* OTLP SeverityNumber of each */
    SONDE_LOG_DEBUG = 5,
    SONDE_LOG_INFO = 9,
    SONDE_LOG_WARN = 13,
    SONDE_LOG_ERROR = 17
} sonde_log_level;

#define SONDE_LOG_RATE_BURST 10

/* One finished record, as the ring and an exporter see it (valid during the call). */
typedef struct sonde_log_record {
    uint64_t unix_ns;
    sonde_log_level level;
    const char *msg;
    const char *service;
    uint8_t trace_id[16]; /* zero outside a sampled or unsampled span */
    uint8_t span_id[8];
    uint8_t trace_flags;
    const sonde_attr *fields;
    size_t field_count;
    const char *json;     /* the whole line, without its newline */
} sonde_log_record;

/* Log batches for an exporter (the contract of sonde_span_exporter). */
typedef struct sonde_log_exporter {
    int (*export_fn)(void *ud, const sonde_log_record *const *records, size_t n,
                     uint64_t deadline_ns, size_t *rejected);
    void (*shutdown_fn)(void *ud);
    void *ud;
} sonde_log_exporter;

typedef struct sonde_logger_opts {
    const char *service;        /* "service" of every line; NULL: OTEL_SERVICE_NAME, else
                                   "unknown_service" */
    int level;                  /* lowest level written; 0: SONDE_LOG_LEVEL (debug, info,
                                   warn, error), else info */
    const char *path;           /* file appended to; NULL: SONDE_LOG_FILE, else stderr.
                                   "-" is stderr, "" writes no lines (ring/export only) */
    double rate_per_sec;        /* per call site; 0: SONDE_LOG_RATE, else 10; < 0: no limit */
    long ring_size;             /* recent records kept; < 0: SONDE_LOG_RING, else 256 */
    sonde_log_exporter exporter; /* optional OTLP (or other) export, batched */
    long max_queue_size;        /* OTEL_BLRP_MAX_QUEUE_SIZE (2048) */
    long max_export_batch_size; /* OTEL_BLRP_MAX_EXPORT_BATCH_SIZE (512): the most one
                                   export gets, as for spans (docs/tracing.md) */
    long schedule_delay_ms;     /* OTEL_BLRP_SCHEDULE_DELAY (1000); sooner when the queue
                                   is 3/4 full */
    long export_timeout_ms;     /* OTEL_BLRP_EXPORT_TIMEOUT (30000) */
    int read_env;               /* 0 ignores the environment. Default 1 */
} sonde_logger_opts;

SONDE_API void sonde_logger_opts_init(sonde_logger_opts *opts);

/* SONDE_EINVAL (NULL out), SONDE_EIO (the file cannot be opened), SONDE_ENOMEM. */
SONDE_API int sonde_logger_new(const sonde_logger_opts *opts, sonde_logger **out);
/* Export what is queued (timeout_ms < 0: the export timeout), close, free. NULL: no-op. */
SONDE_API void sonde_logger_free(sonde_logger *lg, long timeout_ms);

/* Write a record (below the level or over the call site's rate: nothing, counted).
 * fields may be NULL when n is 0; keys and strings are escaped for JSON. */
SONDE_API void sonde_log(sonde_logger *lg, sonde_log_level level, const char *msg,
                         const sonde_attr *fields, size_t n);
/* Whether level would be written (cheap: skip building fields). NULL: 0. */
SONDE_API int sonde_log_enabled(const sonde_logger *lg, sonde_log_level level);

/* "debug", "info", "warn", "error" ("" for others). */
SONDE_API const char *sonde_log_level_name(sonde_log_level level);
/* Parse those names (case-insensitive, "warning" too): SONDE_OK or SONDE_EINVAL. */
SONDE_API int sonde_log_level_parse(const char *s, sonde_log_level *out);

/* Copy up to max recent lines (newest first), each NUL-terminated, into
 * out[i] of cap bytes (longer lines are cut); returns how many. NULL lg: 0. */
SONDE_API size_t sonde_log_recent(sonde_logger *lg, char **out, size_t cap, size_t max);

/* A record kept in the ring, as sonde_log_scan shows it. */
typedef struct sonde_log_entry {
    uint64_t seq;          /* 1, 2, ... per logger, in the order records were written */
    uint64_t unix_ns;
    sonde_log_level level;
    uint8_t trace_id[16];  /* zero outside a span */
    uint8_t span_id[8];
    const char *json;      /* the line without its newline (cut to 4095 bytes) */
} sonde_log_entry;

/* Return nonzero to stop the scan. Runs under the ring's lock: copy what you
 * keep, and do not log from it. */
typedef int (*sonde_log_scan_fn)(void *ud, const sonde_log_entry *e);

/* Call fn for each record still in the ring whose seq is above after_seq,
 * oldest first, until it returns nonzero. Returns the seq of the newest
 * record written so far (0: none), so a reader that tails the log asks again
 * with after_seq = what it last saw. NULL lg or fn: 0. */
SONDE_API uint64_t sonde_log_scan(sonde_logger *lg, uint64_t after_seq, sonde_log_scan_fn fn,
                                  void *ud);

typedef struct sonde_log_stats {
    uint64_t written;          /* records written (line, ring, queue) */
    uint64_t below_level;      /* skipped by the level */
    uint64_t rate_limited;     /* dropped by a call site's rate limit */
    uint64_t dropped_queue_full; /* not exported: the export queue was full */
    uint64_t exported;
    uint64_t export_failed;
} sonde_log_stats;
SONDE_API void sonde_logger_stats_get(const sonde_logger *lg, sonde_log_stats *out);

/* The OTLP ExportLogsServiceRequest of records (resource service.name = each
 * record's service) in a buffer the caller frees. As sonde_trace_encode_otlp. */
SONDE_API int sonde_log_encode_otlp(const sonde_log_record *const *records, size_t n, char **out,
                                    size_t *len);

#ifdef __cplusplus
}
#endif
#endif
