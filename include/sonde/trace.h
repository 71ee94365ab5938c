/*
 * sonde/trace.h - OpenTelemetry traces in libsonde: spans, W3C Trace Context,
 * samplers, a batch span processor and the OTLP protobuf encoding of spans.
 * libc, libm and pthreads only; the OTLP/HTTP transport that sends what this
 * header encodes is libsonde-otlp (sonde/otlp.h). docs/tracing.md is the guide.
 *
 * Objects.
 *   sonde_tracer   one per service: resource (service.name, ...), sampler,
 *                  span limits, the batch processor (a bounded lock-free queue
 *                  per producing thread and one export thread), the ring of recent spans. Built from
 *                  sonde_tracer_opts, whose unset fields come from the OTEL_*
 *                  environment, then from the OpenTelemetry defaults.
 *   sonde_span     one operation: started by sonde_span_start(), ended once by
 *                  sonde_span_end(), after which the caller must not touch it.
 *   sonde_span_context  the propagated part of a span (trace id, span id,
 *                  flags, tracestate), a plain value: copy it into the event
 *                  state of event-driven code, pass it as the parent of the
 *                  next span, write it into a traceparent header.
 *
 * Two ways to name a parent. Event-driven code passes an explicit context
 * (sonde_span_start(t, name, kind, &ctx)); simple code makes a span the
 * thread's current one with sonde_span_enter() and starts children with a
 * NULL parent, which means "the current span of this thread, if any".
 *
 * Cost. Spans come from per-thread caches, so the hot path never calls
 * malloc once warm; an unsampled span is a non-recording span that only
 * carries its context (no clock read, attribute calls return at once).
 * sonde_span_end() never blocks and allocates only once per thread and
 * tracer (the thread's queue, on its first span): a recording span is put on
 * the ending thread's own queue, bounded with the others by the queue size; a
 * full queue drops it and counts it (sonde_spans_dropped_total{reason="queue_full"}).
 *
 * NULL conventions (sonde/sonde.h): a NULL tracer (what OTEL_SDK_DISABLED=true
 * hands out) and a NULL span are no-op handles: sonde_span_start() on a NULL
 * tracer returns NULL, every call on a NULL span does nothing.
 */
#ifndef SONDE_TRACE_H
#define SONDE_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sonde_registry sonde_registry;
typedef struct sonde_logger sonde_logger;
typedef struct sonde_tracer sonde_tracer;
typedef struct sonde_span sonde_span;

/* ---- W3C Trace Context --------------------------------------------------- */

#define SONDE_TRACE_FLAG_SAMPLED 0x01
#define SONDE_TRACEPARENT_LEN 55      /* "00-" 32 "-" 16 "-" 2 */
#define SONDE_TRACESTATE_MAX 512      /* bytes of tracestate kept (the W3C minimum) */
#define SONDE_TRACESTATE_MAX_MEMBERS 32

typedef struct sonde_span_context {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t flags;      /* SONDE_TRACE_FLAG_SAMPLED */
    uint8_t remote;     /* 1 when parsed from a header */
    char tracestate[SONDE_TRACESTATE_MAX + 1]; /* "" when none; always valid W3C list */
} sonde_span_context;

/* 1 when the trace id and the span id are not all zero. NULL: 0. */
SONDE_API int sonde_span_context_valid(const sonde_span_context *ctx);

/*
 * Parse a traceparent header (and an optional tracestate header, NULL when
 * absent) as the W3C Trace Context recommendation says: version 00 is exactly
 * 55 characters; a higher version is parsed by its first 55 characters and
 * accepted when followed by nothing or by '-' (its extra fields ignored);
 * version ff, uppercase hex, all-zero ids and any other deviation are
 * invalid. An invalid tracestate is dropped (the traceparent still stands);
 * one longer than SONDE_TRACESTATE_MAX bytes keeps its leading members that
 * fit, having first dropped members over 128 bytes.
 * Returns SONDE_OK and fills *out (remote = 1), or SONDE_EINVAL and zeroes the
 * ids, flags and tracestate of *out (an invalid context: a caller passing it to
 * sonde_span_start() starts a new trace; an invalid header never fails a request).
 */
SONDE_API int sonde_traceparent_parse(const char *traceparent, const char *tracestate,
                                      sonde_span_context *out);

/* Write ctx as a version-00 traceparent into buf[SONDE_TRACEPARENT_LEN + 1] (flags: only
 * the sampled bit). SONDE_EINVAL (NULL, invalid ctx: buf gets ""), else SONDE_OK. */
SONDE_API int sonde_traceparent_format(const sonde_span_context *ctx, char *buf);

/*
 * The W3C headers of an outgoing request, as "Name: value" lines: what a
 * client puts on the requests it makes on behalf of a span (libcurl:
 * curl_slist_append(list, h.traceparent), and h.tracestate when not empty;
 * other clients split at ": ").
 */
typedef struct sonde_trace_headers {
    char traceparent[sizeof "traceparent: " + SONDE_TRACEPARENT_LEN]; /* "traceparent: 00-..." */
    char tracestate[sizeof "tracestate: " + SONDE_TRACESTATE_MAX]; /* "tracestate: ..." or "" */
} sonde_trace_headers;

/*
 * Fill *out from ctx (a span's context: sonde_span_get_context(), or
 * sonde_http_span()'s). tracestate is "" when ctx has none. SONDE_EINVAL for
 * a NULL out, or a NULL or invalid ctx: both lines "" (send no header; the
 * callee starts its own trace). An unsampled span's context is written too
 * (flags 00), so the callee does not sample what the caller did not.
 */
SONDE_API int sonde_trace_headers_fill(const sonde_span_context *ctx, sonde_trace_headers *out);

/* Lowercase hex of a trace id (33 bytes with the NUL) or span id (17 bytes). */
SONDE_API void sonde_trace_id_hex(const uint8_t id[16], char *out);
SONDE_API void sonde_span_id_hex(const uint8_t id[8], char *out);

/* ---- samplers -------------------------------------------------------------- */

typedef enum sonde_sampler_kind {
    SONDE_SAMPLER_UNSET = 0, /* from OTEL_TRACES_SAMPLER, default parentbased_always_on */
    SONDE_SAMPLER_ALWAYS_ON,
    SONDE_SAMPLER_ALWAYS_OFF,
    SONDE_SAMPLER_TRACEIDRATIO,
    SONDE_SAMPLER_PARENTBASED_ALWAYS_ON,
    SONDE_SAMPLER_PARENTBASED_ALWAYS_OFF,
    SONDE_SAMPLER_PARENTBASED_TRACEIDRATIO
} sonde_sampler_kind;

/*
 * The sampling decision for a new span of trace_id under parent (NULL or
 * invalid: a root span). traceidratio: the last 8 bytes of the trace id, read
 * big-endian, as a 64-bit number x, sample when x < ratio * 2^64 (ratio 1:
 * always; 0: never); the rule of the W3C random trace id flag and of newer
 * SDKs, so services agree on a trace whatever their language. Parent-based
 * kinds follow the parent's sampled flag when there is a parent (remote or
 * local alike) and use their root sampler otherwise. Returns 1 to sample.
 */
SONDE_API int sonde_sampler_decide(sonde_sampler_kind kind, double ratio,
                                   const sonde_span_context *parent, const uint8_t trace_id[16]);

/* ---- attributes ---------------------------------------------------------- */

typedef enum sonde_attr_type {
    SONDE_ATTR_STRING = 1,
    SONDE_ATTR_INT,
    SONDE_ATTR_DOUBLE,
    SONDE_ATTR_BOOL
} sonde_attr_type;

/* A key/value pair: span event attributes and log record fields. */
typedef struct sonde_attr {
    const char *key;
    sonde_attr_type type;
    union {
        const char *s;
        int64_t i;
        double d;
        int b;
    } v;
} sonde_attr;

#define SONDE_ATTR_STR(k, val) ((sonde_attr){.key = (k), .type = SONDE_ATTR_STRING, .v.s = (val)})
#define SONDE_ATTR_INT(k, val) ((sonde_attr){.key = (k), .type = SONDE_ATTR_INT, .v.i = (val)})
#define SONDE_ATTR_DBL(k, val) ((sonde_attr){.key = (k), .type = SONDE_ATTR_DOUBLE, .v.d = (val)})
#define SONDE_ATTR_BOOL(k, val) ((sonde_attr){.key = (k), .type = SONDE_ATTR_BOOL, .v.b = (val)})

/* ---- the tracer ------------------------------------------------------------ */

/*
 * A batch of finished spans for an exporter, valid during the call only.
 * export_fn returns SONDE_OK (delivered; *rejected may name how many of them
 * the receiver refused: a partial success) or a negative code (the batch is
 * lost; counted as sonde_spans_dropped_total{reason="export_failed"}).
 * deadline_ns is a sonde_now_ns() time the export must finish by.
 * shutdown_fn (may be NULL) runs once when the tracer is freed.
 */
typedef struct sonde_span_exporter {
    int (*export_fn)(void *ud, const sonde_span *const *spans, size_t n, uint64_t deadline_ns,
                     size_t *rejected);
    void (*shutdown_fn)(void *ud);
    void *ud;
} sonde_span_exporter;

/*
 * Options of sonde_tracer_new(). sonde_tracer_opts_init() leaves every field
 * unset (0 / NULL / -1); unset fields take the environment's value, else the
 * OpenTelemetry default (in parentheses). Strings are copied.
 */
typedef struct sonde_tracer_opts {
    const char *service_name;    /* OTEL_SERVICE_NAME, else service.name of
                                    OTEL_RESOURCE_ATTRIBUTES, else config's label service,
                                    else "unknown_service" */
    const char *service_version; /* resource service.version (config's label version) */
    const char *deployment_environment; /* resource deployment.environment (config's label
                                    environment) */
    const struct sonde_config *config; /* the metrics' config (may be NULL): its global labels
                                    service, version and environment (SONDE_SERVICE_NAME,
                                    SONDE_SERVICE_VERSION, SONDE_ENVIRONMENT) fill the
                                    three above when nothing else does */
    const char *resource_attributes; /* "k=v,k=v" percent-encoded, like
                                    OTEL_RESOURCE_ATTRIBUTES (which is added too) */
    const char *scope_name;      /* instrumentation scope ("sonde") */
    const char *scope_version;   /* (the library's version) */
    sonde_sampler_kind sampler;  /* OTEL_TRACES_SAMPLER (parentbased_always_on) */
    double sampler_ratio;        /* < 0 unset: OTEL_TRACES_SAMPLER_ARG (1.0) */
    long attribute_count_limit;  /* OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT, OTEL_ATTRIBUTE_COUNT_LIMIT (128) */
    long attribute_value_length_limit; /* OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT,
                                    OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT (no limit), characters */
    long event_count_limit;      /* OTEL_SPAN_EVENT_COUNT_LIMIT (128) */
    long event_attribute_count_limit; /* OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT (128) */
    long schedule_delay_ms;      /* OTEL_BSP_SCHEDULE_DELAY (5000); sooner when the queue
                                    is 3/4 full (docs/tracing.md) */
    long export_timeout_ms;      /* OTEL_BSP_EXPORT_TIMEOUT (30000) */
    long max_queue_size;         /* OTEL_BSP_MAX_QUEUE_SIZE (2048) */
    long max_export_batch_size;  /* OTEL_BSP_MAX_EXPORT_BATCH_SIZE (512, at most the queue):
                                    the most one export gets; batches may be smaller */
    long recent_spans;           /* SONDE_TRACE_RECENT: spans kept in the recent ring (256);
                                    0 keeps none */
    int disabled;                /* 1: no tracer (*out = NULL). Unset (-1): OTEL_SDK_DISABLED */
    int read_env;                /* 0 ignores the environment. Default 1 */
    sonde_span_exporter exporter; /* where batches go; export_fn NULL: nowhere (the
                                    recent ring and the counters still see them) */
    sonde_registry *registry;    /* where sonde_spans_dropped_total{reason} and
                                    sonde_spans_exported_total are exposed (may be NULL) */
    sonde_logger *logger;        /* the tracer's own diagnostics (bad OTEL_* values,
                                    export failures); NULL: none */
} sonde_tracer_opts;

SONDE_API void sonde_tracer_opts_init(sonde_tracer_opts *opts);

/*
 * Create a tracer and start its export thread. opts may be NULL (all unset).
 * A malformed OTEL_* value is ignored with a warning through opts->logger (the
 * OpenTelemetry rule), and so are out-of-range option values. SONDE_OK with
 * *out = NULL when the SDK is disabled; SONDE_EINVAL (NULL out), SONDE_ENOMEM,
 * SONDE_EIO (thread).
 */
SONDE_API int sonde_tracer_new(const sonde_tracer_opts *opts, sonde_tracer **out);

/* Export what is queued and wait, at most timeout_ms, until the exporter has it.
 * SONDE_OK when everything queued before the call was handed to the exporter, else
 * SONDE_ETRUNC (deadline). NULL tracer: SONDE_OK. */
SONDE_API int sonde_tracer_flush(sonde_tracer *t, long timeout_ms);

/* Flush with the deadline (timeout_ms < 0: OTEL_BSP_EXPORT_TIMEOUT), stop the export
 * thread, drop and count what is still queued, call the exporter's shutdown, free.
 * Every span must have ended before. NULL: no-op. */
SONDE_API void sonde_tracer_free(sonde_tracer *t, long timeout_ms);

/* Counters of a tracer (all 0 for NULL). */
typedef struct sonde_tracer_stats {
    uint64_t exported;           /* spans handed to the exporter and accepted */
    uint64_t dropped_queue_full; /* sonde_spans_dropped_total{reason="queue_full"} */
    uint64_t dropped_export_failed; /* {reason="export_failed"} */
    uint64_t dropped_rejected;   /* {reason="rejected"}: partial successes */
    uint64_t dropped_shutdown;   /* {reason="shutdown"}: queued at free, or ended after */
} sonde_tracer_stats;
SONDE_API void sonde_tracer_stats_get(const sonde_tracer *t, sonde_tracer_stats *out);

/* ---- spans ------------------------------------------------------------------ */

typedef enum sonde_span_kind { /* OTLP's numbers */
    SONDE_SPAN_INTERNAL = 1,
    SONDE_SPAN_SERVER = 2,
    SONDE_SPAN_CLIENT = 3,
    SONDE_SPAN_PRODUCER = 4,
    SONDE_SPAN_CONSUMER = 5
} sonde_span_kind;

typedef enum sonde_status_code { /* OTLP's numbers */
    SONDE_STATUS_UNSET = 0,
    SONDE_STATUS_OK = 1,
    SONDE_STATUS_ERROR = 2
} sonde_status_code;

/*
 * Start a span. parent: NULL = the thread's current span (sonde_span_enter), if
 * any, else a new trace; an invalid context (all zero, what a failed
 * sonde_traceparent_parse() leaves) = a new trace; a valid one = its child.
 * The sampler decides; an unsampled span records nothing but still carries
 * its ids so that its children and outgoing headers continue the trace.
 * Returns NULL only for a NULL tracer or name, or out of memory.
 */
SONDE_API sonde_span *sonde_span_start(sonde_tracer *t, const char *name, sonde_span_kind kind,
                                       const sonde_span_context *parent);

/* End the span (now) and hand it to the processor; s is invalid afterwards. If s
 * is the thread's current span, the span it replaced becomes current again. */
SONDE_API void sonde_span_end(sonde_span *s);

/* 1 when the span records (sampled), 0 otherwise and for NULL. */
SONDE_API int sonde_span_is_recording(const sonde_span *s);

/* Attributes: a key set twice keeps the last value. Past the count limit the
 * attribute is dropped and counted (OTLP dropped_attributes_count); strings
 * longer than the value length limit are cut at that many characters; invalid
 * UTF-8 bytes become U+FFFD. */
SONDE_API void sonde_span_set_str(sonde_span *s, const char *key, const char *value);
SONDE_API void sonde_span_set_int(sonde_span *s, const char *key, int64_t value);
SONDE_API void sonde_span_set_double(sonde_span *s, const char *key, double value);
SONDE_API void sonde_span_set_bool(sonde_span *s, const char *key, int value);
SONDE_API void sonde_span_set_attrs(sonde_span *s, const sonde_attr *attrs, size_t n);

/* An event now, with attributes (attrs may be NULL when n is 0); past the event
 * limit it is dropped and counted. */
SONDE_API void sonde_span_add_event(sonde_span *s, const char *name, const sonde_attr *attrs,
                                    size_t n);

/* Status: OK is final, ERROR may be replaced by OK only, UNSET changes nothing
 * (the OpenTelemetry rules); the message (may be NULL) is kept for ERROR only. */
SONDE_API void sonde_span_set_status(sonde_span *s, sonde_status_code code, const char *message);

/* Rename the span (a name known only later, such as a route). */
SONDE_API void sonde_span_set_name(sonde_span *s, const char *name);

/* The span's context (SONDE_EINVAL and zeroes for NULL s or out). */
SONDE_API int sonde_span_get_context(const sonde_span *s, sonde_span_context *out);

/* The traceparent header of the span into buf[SONDE_TRACEPARENT_LEN + 1]: what a
 * client puts on an outgoing request (tracestate: sonde_span_get_context's). NULL
 * span: SONDE_EINVAL and "" (send no header). */
SONDE_API int sonde_span_traceparent(const sonde_span *s, char *buf);

/* Make s the thread's current span; returns the span it replaces (give it to
 * sonde_span_exit() to restore). s may be NULL (no current span). */
SONDE_API sonde_span *sonde_span_enter(sonde_span *s);
SONDE_API void sonde_span_exit(sonde_span *previous);
/* The thread's current span, or NULL. */
SONDE_API sonde_span *sonde_span_current(void);

/* Exemplars: when the thread's current span is sampled, copy its trace and
 * span ids and return 1; else 0. A thread-local read and a copy. */
SONDE_API int sonde_trace_current_ids(uint8_t trace_id[16], uint8_t span_id[8]);

/* ---- finished spans: what an exporter reads --------------------------------- */

/* Read-only views of a finished span (valid during export_fn only); NULL span:
 * "" / 0. Attribute and event indexes run from 0 to the counts. */
SONDE_API const char *sonde_span_name(const sonde_span *s);
SONDE_API sonde_span_kind sonde_span_get_kind(const sonde_span *s);
SONDE_API uint64_t sonde_span_start_unix_ns(const sonde_span *s);
SONDE_API uint64_t sonde_span_end_unix_ns(const sonde_span *s);
SONDE_API int sonde_span_parent_id(const sonde_span *s, uint8_t parent_span_id[8]); /* 0: root */
SONDE_API sonde_status_code sonde_span_status(const sonde_span *s, const char **message);
SONDE_API size_t sonde_span_attr_count(const sonde_span *s);
SONDE_API int sonde_span_attr(const sonde_span *s, size_t i, sonde_attr *out);
SONDE_API size_t sonde_span_event_count(const sonde_span *s);
/* Event i: its name, time and attribute count (any pointer may be NULL);
 * SONDE_OK, or SONDE_ENOENT past the events. */
SONDE_API int sonde_span_event(const sonde_span *s, size_t i, const char **name,
                               uint64_t *unix_ns, size_t *attr_count);
/* Attribute k of event i: SONDE_OK, SONDE_ENOENT, SONDE_EINVAL (NULL out). */
SONDE_API int sonde_span_event_attr(const sonde_span *s, size_t i, size_t k, sonde_attr *out);
/* What the limits dropped: attributes and events (either pointer may be NULL). */
SONDE_API void sonde_span_dropped(const sonde_span *s, size_t *attrs, size_t *events);

/*
 * The OTLP ExportTraceServiceRequest (protobuf, opentelemetry-proto v1) of
 * spans (all of one tracer: its resource and scope), in a buffer the caller
 * frees. SONDE_EINVAL (NULL out/len, n > 0 with NULL spans), SONDE_ENOMEM.
 */
SONDE_API int sonde_trace_encode_otlp(const sonde_span *const *spans, size_t n, char **out,
                                      size_t *len);

/* ---- recent spans (for a console) ------------------------------------------- */

#define SONDE_SPAN_SUMMARY_NAME 96
typedef struct sonde_span_summary {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t parent_span_id[8]; /* zero for a root span */
    char name[SONDE_SPAN_SUMMARY_NAME]; /* cut at a UTF-8 boundary */
    sonde_span_kind kind;
    sonde_status_code status;
    char status_message[SONDE_SPAN_SUMMARY_NAME];
    uint64_t start_unix_ns, end_unix_ns;
} sonde_span_summary;

typedef enum sonde_recent_kind {
    SONDE_RECENT_LATEST = 0, /* the last finished spans, newest first */
    SONDE_RECENT_SLOWEST,    /* per span name, its SONDE_RECENT_PER_NAME slowest */
    SONDE_RECENT_ERRORS      /* per span name, its SONDE_RECENT_PER_NAME latest errors */
} sonde_recent_kind;
#define SONDE_RECENT_PER_NAME 4   /* kept per name and kind (slowest, errors) */
#define SONDE_RECENT_NAMES 64     /* names tracked; later names are not */

/* Copy up to max summaries of the given kind into out; returns how many. Spans
 * reach the ring when the processor takes them from the queue. NULL t: 0. */
SONDE_API size_t sonde_tracer_recent(sonde_tracer *t, sonde_recent_kind kind,
                                     sonde_span_summary *out, size_t max);

/* Called with a read-only span (the accessors above work on it) during
 * sonde_tracer_trace only, under the ring's lock: copy what you keep. */
typedef void (*sonde_span_visit_fn)(void *ud, const sonde_span *span);

/* Call fn for each span of trace_id among the tracer's latest finished spans
 * kept whole (the last min(recent_spans, 512), newest first), each with at
 * most 16 attributes, 8 events with 16 attributes between them and 1 KiB of
 * strings (values cut at 256 bytes; the rest counted by sonde_span_dropped).
 * Returns how many. NULL t, trace_id or fn: 0. */
SONDE_API size_t sonde_tracer_trace(sonde_tracer *t, const uint8_t trace_id[16],
                                    sonde_span_visit_fn fn, void *ud);

#ifdef __cplusplus
}
#endif
#endif
