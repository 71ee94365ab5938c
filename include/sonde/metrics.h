/*
 * sonde/metrics.h - registries, metric families, children and the hot path.
 *
 * A registry holds metric families (sonde_metric). A family has a name, help,
 * optional unit, zero or more label names, and one child per tuple of label
 * values. Look a child up once with sonde_counter_with() & co. and keep the
 * handle: updating through it is a few nanoseconds and never locks. A family
 * without labels has its single child built in (sonde_counter_of()).
 *
 * Past a family's cardinality limit, new label tuples get the family's no-op
 * child (updates to it are dropped) and sonde_cardinality_rejections_total
 * {metric="<name>"} rises; nothing recorded before is lost.
 *
 * Lifetime: a child handle stays valid until its child is removed, its family
 * cleared or unregistered, or its registry freed. Using a handle after that is
 * a caller bug (like a use-after-free). A NULL handle is always a no-op that
 * reports success (the conventions are in sonde/sonde.h): a disabled registry
 * hands out NULL families and series.
 * Families that a module keeps handles of (the HTTP middleware's, an LLM
 * module's, the registry's sonde_cardinality_rejections_total and
 * sonde_label_rejections_total) are owned:
 * clearing them, removing their children or unregistering them is refused
 * with SONDE_EBUSY, so the module's cached handles never dangle. An LLM
 * module gives its families up when it is freed; HTTP families stay owned.
 *
 * Thread safety: every function may be called from any thread at any time,
 * concurrently with scrapes.
 */
#ifndef SONDE_METRICS_H
#define SONDE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "export.h"
#include "config.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sonde_registry sonde_registry;
typedef struct sonde_metric sonde_metric;       /* a family of any type */
typedef struct sonde_counter sonde_counter;     /* one counter series */
typedef struct sonde_gauge sonde_gauge;         /* one gauge series */
typedef struct sonde_histogram sonde_histogram; /* one histogram series */
typedef struct sonde_summary sonde_summary;     /* one summary series */
typedef struct sonde_stateset sonde_stateset;   /* one stateset series */

typedef enum sonde_type {
    SONDE_COUNTER = 0,
    SONDE_GAUGE,
    SONDE_HISTOGRAM,
    SONDE_SUMMARY,
    SONDE_INFO,     /* constant series of string labels, value 1 */
    SONDE_STATESET, /* a set of named boolean states */
    SONDE_UNTYPED   /* only from custom collectors */
} sonde_type;

/* One summary quantile target, e.g. {0.99, 0.001}. */
typedef struct sonde_quantile {
    double quantile; /* in [0, 1] */
    double error;    /* allowed rank error, in (0, 1) */
} sonde_quantile;

/*
 * Native (sparse, exponential) histogram options, after client_golang's. Bucket i of
 * schema s holds (2^((i-1) 2^-s), 2^(i 2^-s)]; |v| <= zero_threshold counts in the zero
 * bucket; negative values have buckets of their own. Only the protobuf exposition carries
 * the buckets (sonde_format_negotiate picks it when Prometheus asks for it); the text
 * formats show a native-only histogram as its _count, _sum and +Inf bucket. Zero-
 * initialise, then fill.
 */
typedef struct sonde_native_opts {
    double bucket_factor;      /* > 1: the schema is the lowest in -4..8 whose bucket growth
                                  2^(2^-s) is <= it (1.1 -> schema 3, 2 -> 0); 0 = 1.1 */
    double zero_threshold;     /* 0 = 2^-128 (client_golang's default); < 0: only exact zeros */
    uint32_t max_buckets;      /* most buckets exposed, both sides (<= 1024); past it the zero
                                  bucket widens up to max_zero_threshold, then the schema
                                  halves (pairs merged); 0 = 160. Memory: 2 x max(this, 136)
                                  cells per generation of a series */
    double max_zero_threshold; /* 0 = the zero bucket never widens */
    double min_reset_seconds;  /* when a value falls outside the buckets held and this long
                                  has passed since the last reset, the series resets instead
                                  of halving its resolution; 0 = never reset */
    int native_only;           /* 1: no classic buckets (opts.buckets is ignored) */
} sonde_native_opts;

/* Options for registering a family. Zero-initialise, then fill. */
typedef struct sonde_metric_opts {
    sonde_type type;
    const char *name;                /* [a-zA-Z_:][a-zA-Z0-9_:]*, not starting with "__" */
    const char *help;                /* any UTF-8 text; NULL = "" */
    const char *unit;                /* OpenMetrics unit, must be a suffix of name; NULL = none */
    const char *const *label_names;  /* [a-zA-Z_][a-zA-Z0-9_]*, no "__" prefix, no duplicates */
    size_t label_count;
    sonde_buckets buckets;           /* histograms: bounds; {NULL,0} = registry latency default */
    const sonde_quantile *quantiles; /* summaries: targets (at most 64); NULL = 0.5/0.05, 0.9/0.01,
                                        0.99/0.001 */
    size_t quantile_count;
    double max_age_seconds;          /* summaries: sliding window, at most 1e9 s; 0 = 600 s */
    int age_buckets;                 /* summaries: window slices; 0 = 5 */
    const char *const *states;       /* statesets: state names (label values) */
    size_t state_count;
    size_t cardinality_limit;        /* 0 = registry default */
    const sonde_native_opts *native; /* histograms: native buckets too (or only); NULL = classic
                                        buckets only */
} sonde_metric_opts;

/* ---- registries ------------------------------------------------------- */

/*
 * Create a private registry configured by cfg (NULL = defaults). Private
 * registries do not include process metrics unless cfg->process_metrics is
 * set. Returns SONDE_OK, SONDE_EINVAL, SONDE_ECONFIG or SONDE_ENOMEM.
 */
SONDE_API int sonde_registry_new(const sonde_config *cfg, sonde_registry **out);

/* Free a registry, its families and children. Handles become invalid. */
SONDE_API void sonde_registry_free(sonde_registry *reg);

/*
 * The process-wide default registry. Created on first use from the
 * environment (sonde_config_from_env over the defaults, process metrics on),
 * unless sonde_init() configured it first. Never NULL.
 */
SONDE_API sonde_registry *sonde_default_registry(void);

/*
 * Configure the default registry explicitly (NULL = defaults + environment).
 * Must be called before the default registry is first used; afterwards it
 * returns SONDE_EBUSY.
 */
SONDE_API int sonde_init(const sonde_config *cfg);

/* Whether metrics are enabled for this registry (0 or 1). */
SONDE_API int sonde_registry_enabled(const sonde_registry *reg);

/* The configuration the registry was created with (owned by the registry). */
SONDE_API const sonde_config *sonde_registry_config(const sonde_registry *reg);

/* ---- families --------------------------------------------------------- */

/*
 * Register a family. Validates every name (SONDE_ENAME), refuses a name
 * already registered (SONDE_EEXIST) and bad buckets/quantiles (SONDE_EINVAL).
 * On a disabled registry it succeeds with *out NULL (a NULL family is a no-op).
 */
SONDE_API int sonde_register(sonde_registry *reg, const sonde_metric_opts *opts, sonde_metric **out);

/*
 * Register an unlabelled family and store its series in *out: the shorthand of
 * sonde_register() + sonde_counter_of() & co., with sonde_register()'s codes.
 * *out is NULL on error, and also on a disabled registry (SONDE_OK: a NULL
 * series is a no-op).
 */
SONDE_API int sonde_counter_new(sonde_registry *reg, const char *name, const char *help,
                                sonde_counter **out);
SONDE_API int sonde_gauge_new(sonde_registry *reg, const char *name, const char *help,
                              sonde_gauge **out);
SONDE_API int sonde_histogram_new(sonde_registry *reg, const char *name, const char *help,
                                  sonde_buckets buckets, sonde_histogram **out);

/* Unregister and free a family with all its children (a scrape still rendering it holds
 * it until it is done; a scrape-time value's fn is not called once this returns).
 * SONDE_ENOENT when it is no longer registered, SONDE_EBUSY when a module owns it (the
 * registry's own rejections family included: see Lifetime above). */
SONDE_API int sonde_unregister(sonde_metric *m);

/* Look a family up by name; NULL when absent. */
SONDE_API sonde_metric *sonde_registry_find(sonde_registry *reg, const char *name);

/* Family accessors. */
SONDE_API sonde_type sonde_metric_type(const sonde_metric *m);
/* The OpenMetrics name of a type: "counter", "gauge", "histogram", "summary", "info",
 * "stateset"; "unknown" for SONDE_UNTYPED and any value outside the enum. Static storage. */
SONDE_API const char *sonde_type_name(sonde_type t);
SONDE_API const char *sonde_metric_name(const sonde_metric *m);
SONDE_API size_t sonde_metric_label_count(const sonde_metric *m);
SONDE_API size_t sonde_metric_child_count(const sonde_metric *m); /* exposed children */
SONDE_API const char *sonde_metric_help(const sonde_metric *m);               /* "" when none */
SONDE_API const char *sonde_metric_unit(const sonde_metric *m);               /* NULL when none */
SONDE_API const char *sonde_metric_label_name(const sonde_metric *m, size_t i); /* NULL past the end */
SONDE_API sonde_buckets sonde_metric_buckets(const sonde_metric *m);           /* histograms, else {0} */

/*
 * Call fn for every registered family in name order (for metric references,
 * --list-metrics flags, admin pages). The registry is locked meanwhile: fn
 * must not register or unregister. A non-zero return from fn stops the walk
 * and is returned.
 */
typedef int (*sonde_metric_visit_fn)(const sonde_metric *m, void *ud);
SONDE_API int sonde_registry_foreach(sonde_registry *reg, sonde_metric_visit_fn fn, void *ud);

/*
 * Find or create the child for values[0..label_count) (values may be NULL for
 * an unlabelled family) and store it in *child. Values must be valid UTF-8
 * (SONDE_EUTF8). Past the cardinality limit *child is the no-op child and the
 * return is SONDE_ELIMIT. The typed wrappers below return the child or NULL.
 */
SONDE_API int sonde_metric_child(sonde_metric *m, const char *const *values, void **child);

SONDE_API sonde_counter *sonde_counter_with(sonde_metric *m, const char *const *values);
SONDE_API sonde_gauge *sonde_gauge_with(sonde_metric *m, const char *const *values);
SONDE_API sonde_histogram *sonde_histogram_with(sonde_metric *m, const char *const *values);
SONDE_API sonde_summary *sonde_summary_with(sonde_metric *m, const char *const *values);
SONDE_API sonde_stateset *sonde_stateset_with(sonde_metric *m, const char *const *values);

/* The built-in child of an unlabelled family (NULL for labelled families). */
SONDE_API sonde_counter *sonde_counter_of(sonde_metric *m);
SONDE_API sonde_gauge *sonde_gauge_of(sonde_metric *m);
SONDE_API sonde_histogram *sonde_histogram_of(sonde_metric *m);
SONDE_API sonde_summary *sonde_summary_of(sonde_metric *m);

/* Remove one child (SONDE_ENOENT when absent, SONDE_EINVAL for an unlabelled family,
 * SONDE_ELABELS for missing values) or every child of a family (an unlabelled family
 * keeps its built-in child). Both: SONDE_EBUSY when a module owns the family (see
 * Lifetime above). */
SONDE_API int sonde_metric_remove(sonde_metric *m, const char *const *values);
SONDE_API int sonde_metric_clear(sonde_metric *m);

/* ---- hot path --------------------------------------------------------- */

/* Add 1. */
SONDE_API void sonde_counter_inc(sonde_counter *c);
/* Adds v >= 0; a negative or NaN v is refused with SONDE_ERANGE and changes nothing. */
SONDE_API int sonde_counter_add(sonde_counter *c, double v);
SONDE_API double sonde_counter_value(const sonde_counter *c);

/* Gauges: set, add or subtract (inc/dec: by 1), and read the value. */
SONDE_API void sonde_gauge_set(sonde_gauge *g, double v);
SONDE_API void sonde_gauge_inc(sonde_gauge *g);
SONDE_API void sonde_gauge_dec(sonde_gauge *g);
SONDE_API void sonde_gauge_add(sonde_gauge *g, double v);
SONDE_API void sonde_gauge_sub(sonde_gauge *g, double v);
SONDE_API void sonde_gauge_set_to_current_time(sonde_gauge *g); /* seconds since the epoch */
SONDE_API double sonde_gauge_value(const sonde_gauge *g);

/* NaN observations are refused (dropped); +-Inf count in the +Inf classic bucket and in
 * the native bucket past the largest finite one. */
SONDE_API void sonde_histogram_observe(sonde_histogram *h, double v);
/* n observations of the same value in one O(1) step (bucket += n, sum += n * v). */
SONDE_API void sonde_histogram_observe_n(sonde_histogram *h, double v, uint64_t n);
/* Snapshot: count and sum, and if counts != NULL, per-bucket (non-cumulative) counts for
 * every bound plus +Inf (bucket_count + 1 entries; a native-only histogram has one, its
 * count). */
SONDE_API void sonde_histogram_read(const sonde_histogram *h, uint64_t *count, double *sum, uint64_t *counts);

/* ---- exemplars -------------------------------------------------------- */
/*
 * An exemplar ties a sample to a trace: the trace and span id of a sampled
 * span, the value recorded and the wall time. Each counter series and each
 * histogram bucket keeps one, the latest (a new one replaces it). The
 * OpenMetrics exposition writes it after the counter's _total sample and
 * after the bucket's _bucket sample,
 *   foo_bucket{le="0.5"} 7 # {trace_id="4bf9...4736",span_id="00f0...02b7"} 0.43 1700000000.123
 * (the value lies in its bucket by construction; the labels take 63 of the
 * 128 characters OpenMetrics allows); the protobuf exposition carries them on
 * counters and classic buckets too; text 0.0.4 never writes exemplars.
 *
 * Automatic: sonde_counter_inc, sonde_counter_add, sonde_histogram_observe
 * and sonde_histogram_observe_n (and what is built on them: timers, the
 * by-name calls, the HTTP middleware, the LLM trackers) attach one when the
 * calling thread's current span (sonde_span_enter(), sonde/trace.h) is
 * sampled. Without a sampled current span the update costs one thread-local
 * read more than without exemplars.
 *
 * Explicit, for event-driven code that keeps a span context in its own state
 * rather than making it current: the _exemplar forms below record like their
 * plain forms and attach ctx's trace and span id when ctx is valid and
 * sampled (SONDE_TRACE_FLAG_SAMPLED). An invalid or unsampled ctx records
 * without an exemplar; a NULL ctx behaves as the plain form (the current
 * span, if sampled, still applies). Code holding a sonde_span * gets its
 * context with sonde_span_get_context().
 *
 * Memory: exemplar storage is allocated the first time a series gets one,
 * in blocks shared by neighbouring series (48 bytes per cell), and never
 * exceeds one exemplar per bucket or counter series; a removed series' ones
 * are cleared before its storage is reused. A scrape never reads a torn
 * exemplar (a per-exemplar sequence lock; writers never wait: of two racing
 * writers of one bucket, one keeps its exemplar).
 */
typedef struct sonde_span_context sonde_span_context; /* sonde/trace.h */

SONDE_API void sonde_histogram_observe_exemplar(sonde_histogram *h, double v,
                                                const sonde_span_context *ctx);
/* sonde_counter_add with an exemplar of value v (SONDE_ERANGE as sonde_counter_add). */
SONDE_API int sonde_counter_add_exemplar(sonde_counter *c, double v, const sonde_span_context *ctx);

/* Observe v into the summary's window; NaN observations are refused (dropped). */
SONDE_API void sonde_summary_observe(sonde_summary *s, double v);
/* Current estimate of quantile q over the window (NaN when empty); count and sum over all time. */
SONDE_API double sonde_summary_quantile(sonde_summary *s, double q);
SONDE_API void sonde_summary_read(sonde_summary *s, uint64_t *count, double *sum);

/* Statesets: set one state true, the others false (SONDE_ENOENT for an unknown state,
 * SONDE_EINVAL for a NULL one), or set any state individually. */
SONDE_API int sonde_stateset_set(sonde_stateset *s, const char *state);
SONDE_API int sonde_stateset_set_state(sonde_stateset *s, const char *state, int value);

/*
 * Info: register (if needed) an info family and set its series for the given
 * label values. Info families are registered with type SONDE_INFO; the name
 * excludes the "_info" suffix that the exposition adds.
 */
SONDE_API int sonde_info_set(sonde_metric *m, const char *const *values);

/* ---- histogram buckets ------------------------------------------------ */

extern SONDE_API const sonde_buckets SONDE_BUCKETS_DEFAULT;       /* Prometheus 0.005 .. 10 */
extern SONDE_API const sonde_buckets SONDE_BUCKETS_SIZE;          /* 100 .. 1e9 bytes, factor 10 */
extern SONDE_API const sonde_buckets SONDE_BUCKETS_LLM_TOKENS;    /* GenAI token usage, 1 .. 67108864 */
extern SONDE_API const sonde_buckets SONDE_BUCKETS_LLM_DURATION;  /* GenAI operation duration 0.01 .. 81.92 */
extern SONDE_API const sonde_buckets SONDE_BUCKETS_LLM_TTFT;      /* GenAI time to first token 0.001 .. 10 */
extern SONDE_API const sonde_buckets SONDE_BUCKETS_LLM_TPOT;      /* GenAI time per output token 0.01 .. 2.5 */
/* Workflows, agent runs, batch jobs: 0.1 0.25 0.5 1 2.5 5 10 30 60 120 300 600 1200 1800 3600 s */
extern SONDE_API const sonde_buckets SONDE_BUCKETS_LONG_DURATION;
/* Throughput (tokens or items per second): 1 2.5 5 10 25 50 100 250 500 1000 2500 5000 10000 */
extern SONDE_API const sonde_buckets SONDE_BUCKETS_THROUGHPUT;

/* Fill out[0..count) with start, start+width, ...; SONDE_EINVAL unless count >= 1, width > 0. */
SONDE_API int sonde_buckets_linear(double start, double width, size_t count, double *out);
/* Fill out[0..count) with start, start*factor, ...; needs start > 0, factor > 1, count >= 1. */
SONDE_API int sonde_buckets_exponential(double start, double factor, size_t count, double *out);

/* ---- timers ----------------------------------------------------------- */

/* A running timer: plain struct, no allocation. */
typedef struct sonde_timer {
    uint64_t start_ns;
    void *target;
    int kind;
} sonde_timer;

/* Start a timer now that observes into h or s when stopped (NULL: stopping is a no-op). */
SONDE_API sonde_timer sonde_timer_histogram(sonde_histogram *h);
SONDE_API sonde_timer sonde_timer_summary(sonde_summary *s);
/* Observe the seconds elapsed since the timer started into its target; returns them. */
SONDE_API double sonde_timer_stop(sonde_timer *t);

/* Monotonic nanoseconds from the library's clock (CLOCK_MONOTONIC unless replaced). */
SONDE_API uint64_t sonde_now_ns(void);
/* Wall-clock seconds since the epoch from the library's clock. */
SONDE_API double sonde_wall_seconds(void);

/* Replace the clocks for tests (NULL restores the system clocks). Not for production. */
typedef uint64_t (*sonde_clock_fn)(void *ud);
SONDE_API void sonde_set_clock(sonde_clock_fn monotonic_ns, sonde_clock_fn wall_ns, void *ud);

/* ---- by name ---------------------------------------------------------- */
/*
 * For code that keeps no handles: the metric is looked up by name and its
 * child by a label map (any order). SONDE_ENOENT for an unknown name,
 * SONDE_ETYPE when the metric has another type, SONDE_ELABELS when the label
 * names do not match the family's.
 */
SONDE_API int sonde_inc(sonde_registry *reg, const char *name, const sonde_label *labels, size_t n);
SONDE_API int sonde_add(sonde_registry *reg, const char *name, const sonde_label *labels, size_t n, double v);
SONDE_API int sonde_set(sonde_registry *reg, const char *name, const sonde_label *labels, size_t n, double v);
SONDE_API int sonde_observe(sonde_registry *reg, const char *name, const sonde_label *labels, size_t n,
                            double v);
SONDE_API int sonde_timer_start(sonde_registry *reg, const char *name, const sonde_label *labels, size_t n,
                                sonde_timer *out);
/* sonde_add and sonde_observe with an exemplar from ctx (see "exemplars" above; a gauge or
 * a summary takes the value and ignores ctx). */
SONDE_API int sonde_add_exemplar(sonde_registry *reg, const char *name, const sonde_label *labels,
                                 size_t n, double v, const sonde_span_context *ctx);
SONDE_API int sonde_observe_exemplar(sonde_registry *reg, const char *name, const sonde_label *labels,
                                     size_t n, double v, const sonde_span_context *ctx);

/* ---- scrape-time values ---------------------------------------------- */

typedef struct sonde_collector sonde_collector;
typedef struct sonde_emitter sonde_emitter;

/* A value computed at scrape time for an unlabelled gauge or counter. It runs with no
 * registry-wide lock held, only its own family's: it may read, update or register other
 * metrics, but not use its own family (unregister it, count its children); concurrent
 * scrapes call it one at a time. */
typedef double (*sonde_value_fn)(void *ud);
/* opts->type must be SONDE_GAUGE or SONDE_COUNTER, without labels. */
SONDE_API int sonde_register_func(sonde_registry *reg, const sonde_metric_opts *opts, sonde_value_fn fn,
                                  void *ud, sonde_metric **out);

/*
 * A custom collector runs at every scrape and emits whole families through the
 * emitter: sonde_emit_family() opens a family, sonde_emit_sample() adds a
 * series to it. Names and values are validated; invalid ones make the emit
 * call fail and are left out of the output. Return non-zero to report a
 * failure (the families already emitted stay). Collector families are
 * exposed after the registered families, in collector registration order.
 * Collectors emit counters, gauges, infos and untyped families; a name that
 * a registered family or an earlier collector family of the same scrape
 * already uses is refused with SONDE_EEXIST. Collectors run with no registry
 * lock held, so they may use the registry (find, register, update) while
 * registrations and updates go on; one scrape's collectors run at a time and
 * a collector must not add or remove collectors. sonde_collector_remove waits
 * for a collector run in progress, so ud may be freed once it returns.
 *
 * sonde_collector_add(): name only labels the collector (may be NULL); out may
 * be NULL for a collector that stays as long as the registry (else it receives
 * the handle for sonde_collector_remove(), NULL on a disabled registry).
 * SONDE_EINVAL for a NULL reg or fn, SONDE_ENOMEM.
 */
typedef int (*sonde_collect_fn)(sonde_emitter *e, void *ud);
SONDE_API int sonde_collector_add(sonde_registry *reg, const char *name, sonde_collect_fn fn, void *ud,
                                  sonde_collector **out);
/* Remove and free a collector of reg: SONDE_EINVAL (NULL reg), SONDE_ENOENT (not reg's);
 * a NULL collector (what a disabled registry hands out) is a no-op. */
SONDE_API int sonde_collector_remove(sonde_registry *reg, sonde_collector *c);

/*
 * Open a family in a collector: SONDE_ENAME (invalid name), SONDE_EUTF8
 * (help), SONDE_EINVAL (a type collectors cannot emit), SONDE_EEXIST (a
 * registered family has that name).
 */
SONDE_API int sonde_emit_family(sonde_emitter *e, const char *name, const char *help, sonde_type type,
                                const char *unit);
/* suffix: NULL for the sample named after the family, or e.g. "_total" / "_bucket" / "_sum".
 * Label values must be UTF-8 (SONDE_EUTF8) and at most the registry's label_value_max
 * bytes long (SONDE_ETOOLONG); such a sample is left out and, like a value refused at series
 * creation, counted in sonde_label_rejections_total{metric=<family>,reason="invalid_utf8"|
 * "too_long"} (the family's name without a counter's _total), once per collector run that
 * emits it. */
SONDE_API int sonde_emit_sample(sonde_emitter *e, const char *suffix, const sonde_label *labels, size_t n,
                                double value);

#ifdef __cplusplus
}
#endif
#endif
