/*
 * core_iface.h - what the modules built on the core may use of it beyond the
 * public API: src/llm (inside libsonde) and src/http, src/server (in
 * libsonde-http, a separate shared library). They include this header and
 * never internal.h, so the core's data model (families, children, cells)
 * stays free to change behind it.
 *
 * Most of it is inline or private to libsonde. A function that libsonde-http
 * calls must cross the shared-library boundary, so it is exported, under a
 * sonde_internal_ name and marked SONDE_INTERNAL: such a symbol is not API,
 * is declared in no installed header, and is only promised to the
 * libsonde-http of the same release (sonde-http.pc and the CMake package
 * require exactly that version of libsonde). Everything else of the core
 * stays hidden.
 */
#ifndef SONDE_CORE_IFACE_H
#define SONDE_CORE_IFACE_H

#include <stddef.h>

/* Exported from libsonde for libsonde-http only; not API (see above). */
#ifndef SONDE_INTERNAL
#if defined(__GNUC__) || defined(__clang__)
#define SONDE_INTERNAL __attribute__((visibility("default")))
#else
#define SONDE_INTERNAL
#endif
#endif

#include "hash.h"
#include "map.h"
#include "sonde/sonde.h"

/*
 * The one growable buffer (buf.c) of the encoders that build a message in
 * memory. Zero-initialise it; free(b.p) when done. sonde_buf_reserve() makes
 * room for more bytes past len: 0, or -1 with failed set (out of memory), after
 * which it keeps failing.
 */
typedef struct sonde_buf {
    char *p;
    size_t len, cap;
    int failed;
} sonde_buf;
int sonde_buf_reserve(sonde_buf *b, size_t more);

/* Format a message into errbuf[0..errlen) (either may be NULL/0); returns rc. */
SONDE_INTERNAL int sonde_internal_errorf(char *errbuf, size_t errlen, int rc, const char *fmt,
                                         ...) __attribute__((format(printf, 4, 5)));

/* time.c: wall_ns (ns since the epoch) as RFC 3339 in UTC, "2026-11-30T23:10:26.123Z" with
 * frac_digits (0..9) digits of the second, into out (SONDE_RFC3339_MAX bytes); returns the
 * length. Independent of the locale and the TZ environment. */
#define SONDE_RFC3339_MAX 40
SONDE_INTERNAL size_t sonde_internal_rfc3339(uint64_t wall_ns, int frac_digits, char *out);
/* sonde_wall_ns() (the wall clock sonde_set_clock() may fake) for libsonde-http. */
SONDE_INTERNAL uint64_t sonde_internal_wall_ns(void);

/* Numbers and protocol tokens whatever the host's locale (c_locale.c, negotiate.c): an
 * HTTP qvalue (RFC 9110: "0", "0.5", "1.000") of len bytes, 1 if valid; strncasecmp
 * folding ASCII letters only (SIZE_MAX: whole strings); strtod in the C locale. */
SONDE_INTERNAL int sonde_internal_parse_qvalue(const char *s, size_t len, double *q);
SONDE_INTERNAL int sonde_internal_ascii_ncasecmp(const char *a, const char *b, size_t n);
double sonde_strtod(const char *s, char **end);
/* map.c (map.h: the concurrent map of core children, HTTP routes, LLM routes and series).
 * An empty map for up to max entries, with a fresh random key; flags 0 (grow as needed)
 * or SONDE_MAP_PRESIZED (room for max entries now, the table never replaced; max below
 * 2^28). SONDE_OK or SONDE_ENOMEM. */
SONDE_INTERNAL int sonde_internal_map_init(sonde_map *m, size_t max, int flags);
/* Insert entry (its hash first); the caller holds the owner's lock and checked that no
 * equal entry is present. SONDE_ELIMIT when max entries are present, SONDE_ENOMEM. */
SONDE_INTERNAL int sonde_internal_map_put(sonde_map *m, void *entry);
/* Remove entry (present in the map); the caller holds the owner's lock. */
SONDE_INTERNAL void sonde_internal_map_remove(sonde_map *m, void *entry);
/* Call fn on every entry (concurrent puts may or may not be seen). */
SONDE_INTERNAL void sonde_internal_map_foreach(const sonde_map *m,
                                               void (*fn)(void *entry, void *ud), void *ud);
/* Free the table (deferred: readers may still probe it) and, with free_entry (may be
 * NULL), every entry at once. */
SONDE_INTERNAL void sonde_internal_map_destroy(sonde_map *m, void (*free_entry)(void *));

/* family.c: a module caches handles of family m: until it disowns m, sonde_metric_clear,
 * sonde_metric_remove and sonde_unregister refuse m with SONDE_EBUSY. Counted: several
 * modules may own one family. NULL is ignored. */
SONDE_INTERNAL void sonde_internal_metric_own(sonde_metric *m);
SONDE_INTERNAL void sonde_internal_metric_disown(sonde_metric *m);

/* family.c: count a label value refused before it reached family m (a value outside a
 * closed set the host registered: reason "unregistered") in
 * sonde_label_rejections_total{metric=<m's name>,reason}. NULL m is ignored. */
SONDE_INTERNAL void sonde_internal_label_rejected(sonde_metric *m, const char *reason);

/*
 * shared_family.c: register a family named "<prefix>_<name>" (or "<name>"), or take the one
 * registered under that name when its type and label count match (SONDE_ETYPE /
 * SONDE_ELABELS otherwise). Either way the family is owned from then on
 * (sonde_internal_metric_own): the helper caches its handles. So two middlewares (HTTP, RPC,
 * WebSocket, storage) with the same prefix on one registry share their families, and a
 * service that recreates one (a reload) keeps counting into the same series. SONDE_ENAME
 * for a name too long.
 */
SONDE_INTERNAL int sonde_internal_family_shared(sonde_registry *reg, const char *prefix,
                                                sonde_type type, const char *name,
                                                const char *help, const char *const *labels,
                                                size_t label_count, sonde_buckets buckets,
                                                sonde_metric **out);

/* src/trace/env.c, for libsonde-otlp's OTEL_EXPORTER_OTLP_HEADERS: parse "k=v,k=v" with
 * percent-decoded keys and values into an attribute list (appended to, later keys replace)
 * or leave it unchanged and return SONDE_EINVAL; free such a list. */
typedef struct sonde_attr sonde_attr;
SONDE_INTERNAL int sonde_internal_kv_parse(const char *s, sonde_attr **attrs, size_t *count);
SONDE_INTERNAL void sonde_internal_attrs_free(sonde_attr *attrs, size_t count);

/* exemplar.c (exemplar.h): the context of the calling thread's current span while that span
 * is sampled, else NULL. src/trace sets it, through sonde_exemplar_ctx_set, whenever the
 * thread's current span changes; the counter and histogram update paths read it to attach
 * exemplars. Not exported. */
extern __thread const sonde_span_context *sonde_exemplar_ctx __attribute__((tls_model("initial-exec")));

/* cells.c (cells.h): the calling thread's private arena (NULL: none yet, or it writes a
 * shared one), and sonde_tls_fast, the same arena while the thread has no exemplar context
 * and NULL while it has one: the one pointer the counter and histogram fast paths read to
 * know both that they may add with plain stores and that no exemplar is due. Not exported. */
struct sonde_arena;
extern __thread struct sonde_arena *sonde_tls_private __attribute__((tls_model("initial-exec")));
extern __thread struct sonde_arena *sonde_tls_fast __attribute__((tls_model("initial-exec")));

/* Set the calling thread's exemplar context (sampled, or NULL), keeping sonde_tls_fast true. */
static inline void sonde_exemplar_ctx_set(const sonde_span_context *ctx)
{
    sonde_exemplar_ctx = ctx;
    sonde_tls_fast = ctx ? NULL : sonde_tls_private;
}

/* iface_checks.c, for libsonde-otlp: the three checks below and sonde_strtod, exported
 * (NULL s: 0). */
SONDE_INTERNAL int sonde_internal_valid_label_name(const char *s);
SONDE_INTERNAL int sonde_internal_valid_utf8(const char *s, size_t len);
SONDE_INTERNAL double sonde_internal_strtod(const char *s, char **end);

/* For the console (libsonde-http, src/console): the one growable buffer and the JSON string
 * escaping of the log lines (src/log/json.c: control characters as \u00XX, invalid UTF-8
 * as U+FFFD), exported. */
SONDE_INTERNAL int sonde_internal_buf_reserve(sonde_buf *b, size_t more);
SONDE_INTERNAL void sonde_internal_json_string(sonde_buf *b, const char *s);

/* series_read.c, for the console's history: the series of one registered family as the
 * exposition reads them (its children walked without the family lock, cells summed). */
typedef struct sonde_series_exemplar { /* a copy of one bucket's exemplar (exemplar.h) */
    unsigned char trace_id[16];
    unsigned char span_id[8];
    double value;
    unsigned long long unix_ns;
} sonde_series_exemplar;
typedef struct sonde_series_sample {
    const char *family;          /* the family's name (counters without "_total") */
    sonde_type type;
    const char *const *label_names; /* label_count names */
    const double *bounds;        /* histograms: bucket_count - 1 upper bounds */
    const void *id;              /* the series' identity while it exists */
    const char *const *label_values; /* label_count values (names: the family's) */
    size_t label_count;
    double value;                /* counters, gauges (infos 1, statesets the bits) */
    const double *buckets;       /* histograms: bucket_count per-bucket (not cumulative)
                                    counts, the last one +Inf; else NULL */
    size_t bucket_count;
    double count, sum;           /* histograms and summaries */
    const sonde_series_exemplar *exemplars; /* with want_exemplars, else NULL: one per bucket
                                    (counters: one); present[i] non-zero where one is held */
    const unsigned char *present;
} sonde_series_sample;
/* Call fn for each series of family name (max at most; 0: all) and stop early when fn
 * returns non-zero. SONDE_OK, SONDE_ENOENT (no such family), SONDE_ENOMEM. */
typedef int (*sonde_series_fn)(void *ud, const sonde_series_sample *s);
SONDE_INTERNAL int sonde_internal_family_series(sonde_registry *reg, const char *name,
                                                int want_exemplars, sonde_series_fn fn, void *ud);

/* names.c: whether s is a valid metric name, label name; whether s[0..len) is UTF-8. */
int sonde_valid_metric_name(const char *s);
int sonde_valid_label_name(const char *s);
int sonde_valid_utf8(const char *s, size_t len);

#endif
