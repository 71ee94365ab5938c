/*
 * trace_internal.h - what the files of src/trace and src/log share: the span
 * object, the per-thread state (random generator, span clock, current span,
 * span cache), the generic batch processor, the protobuf writer and the
 * environment helpers. Not installed; libsonde-otlp never sees it (it uses the public
 * exporter interface and the encoders of sonde/trace.h and sonde/log.h).
 */
#ifndef SONDE_TRACE_INTERNAL_H
#define SONDE_TRACE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core_iface.h"
#include "sonde/log.h"
#include "sonde/trace.h"

/* Thread-locals of the hot path use the initial-exec model: one instruction to reach,
 * where the default model of position-independent code calls __tls_get_addr. */
#define TRACE_TLS _Thread_local __attribute__((tls_model("initial-exec")))

/* ---- the span ------------------------------------------------------------------ */

/* Strings live NUL-terminated in the span's arena and are named by offset. */
typedef struct span_attr {
    uint32_t key;      /* arena offset */
    uint32_t key_len;  /* bytes, to compare keys cheaply */
    uint8_t type;      /* sonde_attr_type */
    union {
        int64_t i;
        double d;
        int b;
        uint32_t s;    /* arena offset */
    } v;
} span_attr;

typedef struct span_event {
    uint64_t unix_ns;
    uint32_t name;     /* arena offset */
    uint32_t first_attr, attr_count, dropped_attrs; /* in the span's ev_attrs */
} span_event;

/* The export thread reads a span only when its exporter does or when the span is worth a look
 * (span_looks below): a line read on the export thread's core is a miss for the span's next
 * user, and so is any line written there (spans go back to the pool by pointer, span_pool.c).
 * The span's first cache line holds all the export thread reads of a span it looks at
 * (the recent ring's name slot and fits-whole test, the pool's trim); its user writes this
 * line too, and the next ones: the rest of the recording state, then the context, whose
 * tracestate (512 bytes) is mostly empty and untouched. */
struct sonde_span {
    /* line 0: read by the export thread */
    uint64_t start_ns, end_ns;  /* Unix ns */
    char *arena;
    uint32_t name, arena_cap;   /* name: arena offset */
    uint32_t attr_cap, event_cap, ev_attr_cap;
    uint32_t longest;           /* bytes of the longest string stored past the short paths */
    uint8_t kind, status, has_parent, recording;
    uint32_t status_msg;        /* arena offset; 0 = none (offset 0 is "") */
    /* line 1 and on: the span's own thread */
    sonde_tracer *tracer;
    uint32_t arena_len, attr_count;
    span_attr *attrs;
    uint32_t dropped_attrs, event_count, dropped_events, ev_attr_count;
    span_event *events;
    span_attr *ev_attrs;
    uint64_t key_lens;        /* bit (length % 64) set for the stored length of each key */
    sonde_span *prev_current; /* restored when this current span ends */
    const struct recent_hint *hint; /* its name's in the tracer's recent ring (recent.h), or NULL */
    uint8_t parent_id[8];
    sonde_span_context ctx;
};
_Static_assert(offsetof(struct sonde_span, status_msg) + sizeof(uint32_t) <= 64,
               "what the export thread reads of a span fits its first cache line");

static inline const char *span_str(const sonde_span *s, uint32_t off) { return s->arena + off; }

/* The bounds of a span held whole for a trace view: one that passes them is held as a copy
 * that keeps this much (recent.c). The pool keeps buffers up to larger bounds (span_pool.c),
 * so a span within these needs no trim either. */
#define RECENT_DETAIL_ATTRS 16
#define RECENT_DETAIL_EVENTS 8
#define RECENT_DETAIL_EVENT_ATTRS 16
#define RECENT_DETAIL_ARENA 1024
#define RECENT_DETAIL_VALUE 256 /* string values cut to this many bytes */

/* A span the recent ring would hold as it is (a bounded copy would keep it unchanged), in
 * buffers no larger than the copy's. */
static inline int span_fits_whole(const sonde_span *s)
{
    return s->arena_cap <= RECENT_DETAIL_ARENA && s->longest < SONDE_SPAN_SUMMARY_NAME &&
           s->attr_cap <= RECENT_DETAIL_ATTRS && s->event_cap <= RECENT_DETAIL_EVENTS &&
           s->ev_attr_cap <= RECENT_DETAIL_EVENT_ATTRS;
}

/* A finished span is queued with a mark in its pointer's low bit (spans sit on cache-line
 * starts): set when the export thread must read it for the recent ring or the pool (it may
 * be among its name's slowest, it failed, it is not held whole, its buffers need a trim, or
 * its name has no hint). An unmarked span is held by reference and given back untouched.
 * Arrays of marked pointers are void **; the exporter sees plain ones. */
static inline void *span_mark(sonde_span *s, int look)
{
    return (void *)((uintptr_t)s | (uintptr_t)(look != 0));
}
static inline sonde_span *span_unmark(const void *p) { return (sonde_span *)((uintptr_t)p & ~(uintptr_t)1); }
static inline int span_looks(const void *p) { return (int)((uintptr_t)p & 1); }

/* span_pool.c: spans from the thread's magazine, refilled from the tracer's pool or malloc.
 * A magazine is an array of span pointers: the pool holds full ones, filled by the export
 * thread, and empty ones for it to fill; a refill swaps the thread's empty magazine for a
 * full one. No span is ever linked through its own memory. */
#define SONDE_SPAN_MAG 64 /* spans a magazine holds */
typedef struct span_mag {
    struct span_mag *next; /* the pool's lists */
    uint32_t count;        /* spans held (a thread's own: see span_thread_cache) */
    sonde_span *spans[SONDE_SPAN_MAG];
} span_mag;

typedef struct span_pool {
    pthread_mutex_t mu;
    span_mag *full;         /* magazines holding spans (the top one may be partly filled) */
    span_mag *empty;        /* magazines for the export thread to fill */
    size_t count, max;      /* spans in the full magazines, and their bound */
    size_t empty_count;     /* bounded by max / SONDE_SPAN_MAG + 1: more are freed */
} span_pool;
void sonde_span_pool_init(span_pool *p, size_t max);
void sonde_span_pool_destroy(span_pool *p);

/* The thread's magazine of free spans; its fast paths are inline (the span's hot path). */
typedef struct span_thread_cache {
    span_mag *mag;   /* NULL until the thread's first refill */
    uint32_t count;  /* spans in mag (mag->count is not kept up to date: this is) */
    int armed;       /* mag exists and the thread's exit destructor frees it */
} span_thread_cache;
extern TRACE_TLS span_thread_cache sonde_span_cache;
sonde_span *sonde_span_pool_refill(span_pool *p, int recording); /* the magazine is empty */
void sonde_span_pool_put_slow(sonde_span *s);     /* reset, or free when the magazine is full */

/* Fetch the line at p into this core's cache, ready to be written (prefetchw: a hint that
 * never faults; CPUs before it execute it as a no-op). */
static inline void span_prefetchw(const void *p)
{
#if defined(__x86_64__)
    __asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
#else
    __builtin_prefetch(p, 1);
#endif
}

/* A span for a start; recording: it will most likely be sampled (the tracer's sampler is not
 * always_off), so its lines are claimed ahead (an unsampled span writes only its context). */
static inline sonde_span *sonde_span_pool_get(span_pool *p, int recording)
{
    uint32_t n = sonde_span_cache.count;
    if (__builtin_expect(n == 0, 0))
        return sonde_span_pool_refill(p, recording);
    sonde_span **spans = sonde_span_cache.mag->spans;
    sonde_span *s = spans[--n];
    sonde_span_cache.count = n;
    if (!recording)
        return s;
    /* The export thread read this span's lines on its core, so they are shared there: claim
     * for writing the lines this span is about to fill (its arena and attributes; its own
     * lines were claimed when it was the next), and the next span's, while this one is
     * recorded. */
    if (s->arena)
        span_prefetchw(s->arena);
    if (s->attrs) {
        span_prefetchw(s->attrs);
        span_prefetchw((const char *)s->attrs + 64);
    }
    if (n) {
        sonde_span *next = spans[n - 1];
        span_prefetchw(next);
        span_prefetchw((const char *)next + 64);
        span_prefetchw((const char *)next + 128);
    }
    return s;
}

/* Reset and keep in this thread's magazine (freed when it is full). An unsampled span stored
 * nothing: it goes back as the pool gave it. A thread without its magazine (armed) takes the
 * slow path too, which makes it: a thread that only ends spans begun on others (an event
 * loop's timer thread) never refilled. */
static inline void sonde_span_pool_put_local(sonde_span *s)
{
    uint32_t n = sonde_span_cache.count;
    if (__builtin_expect((s->recording | !sonde_span_cache.armed) || n >= SONDE_SPAN_MAG, 0)) {
        sonde_span_pool_put_slow(s);
        return;
    }
    sonde_span_cache.mag->spans[n] = s;
    sonde_span_cache.count = n + 1;
}
/* Return a batch of marked spans to the tracer's pool (export thread): the marked ones are
 * trimmed first (span_mark). */
void sonde_span_pool_put_batch(span_pool *p, void **spans, size_t n);
void sonde_span_free(sonde_span *s);
/* A zeroed span object on a cache line's start (NULL when out of memory). */
sonde_span *sonde_span_alloc(void);

/* ids.c: the thread's xoshiro256** generator, seeded once per thread from getrandom()
 * (sonde_trace_seed); the draws are inline, for the span's hot path. */
extern TRACE_TLS uint64_t sonde_trace_rng[4];
extern TRACE_TLS int sonde_trace_rng_seeded;
void sonde_trace_seed(void);

static inline uint64_t sonde_trace_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* One xoshiro256** step of the state in x (the caller's copy, kept in registers). */
static inline uint64_t sonde_trace_next(uint64_t x[4])
{
    uint64_t result = sonde_trace_rotl(x[1] * 5, 7) * 9, t = x[1] << 17;
    x[2] ^= x[0];
    x[3] ^= x[1];
    x[1] ^= x[2];
    x[0] ^= x[3];
    x[2] ^= t;
    x[3] = sonde_trace_rotl(x[3], 45);
    return result;
}

/* A new span id, and a new trace id unless trace_id is NULL (a child keeps its parent's):
 * random, never all zero. The thread's state is read once and written back once, before
 * the ids are stored (byte stores the compiler could not otherwise keep apart from it). */
static inline void sonde_trace_new_ids(uint8_t *trace_id, uint8_t span_id[8])
{
    if (__builtin_expect(!sonde_trace_rng_seeded, 0))
        sonde_trace_seed();
    uint64_t x[4] = {sonde_trace_rng[0], sonde_trace_rng[1], sonde_trace_rng[2],
                     sonde_trace_rng[3]};
    uint64_t a = 0, b = 0, c;
    if (trace_id) {
        do {
            a = sonde_trace_next(x);
            b = sonde_trace_next(x);
        } while (__builtin_expect(!a && !b, 0));
    }
    do
        c = sonde_trace_next(x);
    while (__builtin_expect(!c, 0));
    sonde_trace_rng[0] = x[0];
    sonde_trace_rng[1] = x[1];
    sonde_trace_rng[2] = x[2];
    sonde_trace_rng[3] = x[3];
    if (trace_id) {
        __builtin_memcpy(trace_id, &a, 8);
        __builtin_memcpy(trace_id + 8, &b, 8);
    }
    __builtin_memcpy(span_id, &c, 8);
}

/* clock.c: the span clock, Unix ns. On x86-64 with the kernel keeping time by the TSC, a
 * read is one rdtsc extrapolated from the thread's anchor (a wall clock read at most 1 ms
 * old); otherwise, and when the anchor is due, sonde_span_clock_anchor reads the wall clock. */
typedef struct span_clock {
    uint64_t tsc, ns;  /* the anchor */
    uint64_t mult;     /* ns per tick * 2^32 */
    uint64_t max_ticks; /* the anchor's reach; 0: every read anchors */
} span_clock;
extern TRACE_TLS span_clock sonde_span_clock;
uint64_t sonde_span_clock_anchor(void);

static inline uint64_t sonde_span_clock_ns(void)
{
#if defined(__x86_64__)
    const span_clock *c = &sonde_span_clock;
    if (__builtin_expect(c->max_ticks != 0, 1)) {
        uint64_t d = __builtin_ia32_rdtsc() - c->tsc; /* a TSC behind the anchor wraps: anchors */
        if (__builtin_expect(d <= c->max_ticks, 1))
            return c->ns + ((d * c->mult) >> 32);
    }
#endif
    return sonde_span_clock_anchor();
}

/* span.c: the thread's current span. */
extern TRACE_TLS sonde_span *sonde_trace_current_span;

/* ---- tracer internals the span needs -------------------------------------------- */

typedef struct span_limits {
    uint32_t attrs, value_len, events, event_attrs; /* value_len 0 = none */
} span_limits;

/* The resource and scope for the encoder. */
typedef struct trace_resource {
    sonde_attr *attrs;
    size_t count;
    char *scope_name, *scope_version;
} trace_resource;

/* resource.c: the resource and scope of a tracer or a metric reader, from the code's options,
 * OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES and the metrics' config (global labels service,
 * version, environment), plus the telemetry.sdk.* attributes. */
typedef struct resource_opts {
    const char *service_name, *service_version, *deployment_environment;
    const char *resource_attributes, *scope_name, *scope_version;
    const struct sonde_config *config;
    int read_env;
} resource_opts;
int sonde_resource_build(trace_resource *r, const resource_opts *o, sonde_logger *lg);
void sonde_resource_free(trace_resource *r);

/* ---- generic batch processor (batch.c) --------------------------------------------- */

/* deliver() gets every batch the thread takes (n >= 1, at most the batch size) and owns
 * the items afterwards; drop() gets the items still queued at shutdown. An item a full
 * queue refuses stays the pusher's (sonde_batch_claim returns NULL); the batch counts it. */
typedef struct batch_ops {
    void (*deliver)(void *ud, void **items, size_t n, uint64_t deadline_ns);
    void (*drop)(void *ud, void **items, size_t n);
    void *ud;
} batch_ops;

/* One producer thread's queue into one batch processor (batch.c): a single-producer
 * single-consumer ring. The producer's fields share a line the export thread only reads;
 * the export thread's own (tail, the list link) are on the next. */
typedef struct batch_ring {
    _Alignas(64) _Atomic uint64_t head; /* written by the producer only */
    _Atomic uint64_t dropped;           /* items it refused: the producer's, read by stats */
    uint64_t tail_seen;                 /* the producer's last read of tail */
    uint64_t credit;                    /* room reserved in the batch's bound, not yet used */
    uint64_t batch_id;                  /* the sonde_batch this ring feeds */
    uint64_t mask;                      /* capacity - 1 (a power of two) */
    void **cells;
    struct batch_ring *thread_next;     /* the producer thread's rings, most recent first */
    _Alignas(64) _Atomic uint64_t tail; /* written by the export thread only */
    struct batch_ring *batch_next;      /* the batch's rings, under rings_mu */
    uint64_t drain_to;                  /* the head when the export thread last looked */
    _Atomic int closed;   /* its thread exited: drained, then unlinked by the export thread */
    _Atomic int detached; /* its batch stopped: the thread lets go of it */
    _Atomic int refs;     /* the thread's and the batch's: the last to let go frees it */
} batch_ring;

typedef struct sonde_batch {
    uint64_t id; /* unique in the process: what a thread's ring is matched by */
    uint64_t cap, batch_max; /* cap: OTEL_BSP_MAX_QUEUE_SIZE, the bound of all rings together */
    uint64_t wake_at; /* items reserved that wake the sleeping thread: 3/4 of cap (of
                       * ring_cap when smaller) */
    uint64_t ring_cap, chunk; /* one ring's capacity; room reserved at a time */
    uint64_t delay_ns, timeout_ns;
    void **items; /* the export thread's batch */
    /* Each on its own cache line: the room left under the bound (a thread reserves `chunk`
     * of it at a time), what every push reads and is seldom written (the flags), and the
     * counters of refused items no ring counts (each ring counts its own full-queue drops;
     * a ring let go of adds its count to dropped_full, under rings_mu). */
    _Alignas(64) _Atomic int64_t room;
    _Alignas(64) _Atomic int stopping;
    _Atomic int sleeping; /* the thread waits for wake_at items or its timer */
    _Alignas(64) _Atomic uint64_t dropped_full, dropped_shutdown;
    _Alignas(64) pthread_mutex_t mu;
    pthread_cond_t wake, flushed;
    uint64_t flush_asked, flush_done; /* under mu */
    int running;
    pthread_t thread;
    batch_ops ops;
    pthread_mutex_t rings_mu; /* the list of rings: threads add, the export thread removes */
    batch_ring *rings;
} sonde_batch;

int sonde_batch_start(sonde_batch *b, size_t queue, size_t batch_max, uint64_t delay_ns,
                      uint64_t timeout_ns, batch_ops ops);
/* A zeroed object that holds a sonde_batch (its counters sit on their own cache lines, so
 * the object needs 64-byte alignment, more than malloc promises); free() releases it. */
void *sonde_batch_owner_alloc(size_t size);
/* This thread's rings, the most recently used first (batch.c). */
extern TRACE_TLS batch_ring *sonde_batch_thread_rings;
batch_ring *sonde_batch_claim_slow(sonde_batch *b);

/* Room for one item in this thread's ring, claimed: the ring, for sonde_batch_put, or NULL
 * when the queue is full or the processor stopping (the caller drops the item; the batch
 * counts it). Never blocks and, once the thread's ring exists, never allocates. Inline: the
 * usual case, the thread's last ring is b's and has room reserved; anything else (a ring to
 * find or make, room to reserve, a full ring, a stopping processor) is sonde_batch_claim_slow. */
static inline batch_ring *sonde_batch_claim(sonde_batch *b)
{
    batch_ring *r = sonde_batch_thread_rings;
    if (__builtin_expect(r && r->batch_id == b->id && r->credit &&
                             atomic_load_explicit(&r->head, memory_order_relaxed) - r->tail_seen <=
                                 r->mask &&
                             !atomic_load_explicit(&b->stopping, memory_order_relaxed),
                         1)) {
        r->credit--;
        return r;
    }
    return sonde_batch_claim_slow(b);
}

/* Queue item in the room sonde_batch_claim gave (the same thread, nothing pushed between). */
static inline void sonde_batch_put(batch_ring *r, void *item)
{
    uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    r->cells[h & r->mask] = item;
    atomic_store_explicit(&r->head, h + 1, memory_order_release);
}

/* Claim and put: 0 queued, -1 refused (the caller drops the item). */
int sonde_batch_push(sonde_batch *b, void *item);
/* Items a full queue refused, all rings together. */
uint64_t sonde_batch_dropped_full(sonde_batch *b);
int sonde_batch_flush(sonde_batch *b, uint64_t timeout_ns);
/* Flush with the deadline, stop the thread, hand what is left to drop(). */
void sonde_batch_stop(sonde_batch *b, uint64_t timeout_ns);

/* ---- the tracer (tracer.c), here so that the span's hot path reads it directly ---------- */

struct sonde_tracer {
    sonde_sampler_kind sampler;
    double ratio;
    span_limits limits;
    trace_resource res;
    span_pool pool;
    sonde_batch batch;
    struct recent_spans *recent; /* recent.h */
    int recent_names;            /* the ring keeps spans per name (its capacity is not 0) */
    void **release;              /* the export thread's: the (marked) spans a batch gives back */
    sonde_span_exporter exporter;
    sonde_logger *logger;
    sonde_registry *registry;
    sonde_collector *collector;
    long export_timeout_ms;
    _Atomic uint64_t exported, export_failed, rejected;
};

/* ---- protobuf writer (pb.c) ----------------------------------------------------------- */

#include "pb.h" /* the writer; what follows is OTLP-specific */

/* An AnyValue-bearing KeyValue (field number given) of an attribute. */
void sonde_pb_key_value(pb_buf *b, uint32_t field, const char *key, int type, const char *s, int64_t i,
                  double d, int bo);
int sonde_pb_finish(pb_buf *b, char **out, size_t *len);

/* encode_traces.c: Resource { attributes = 1 } as field 1 of the enclosing message. */
void sonde_pb_resource(pb_buf *b, const sonde_attr *attrs, size_t n);

/* encode_metrics.c: reg as an ExportMetricsServiceRequest with resource res, points at
 * now_ns (wall), series without a creation time starting at start_ns, written into out
 * from its start (its memory kept and grown; out->failed set when it could not grow);
 * *points receives the data point count. SONDE_OK, SONDE_ENOMEM. */
int sonde_metrics_encode_otlp_res(sonde_registry *reg, const trace_resource *res, uint64_t now_ns,
                                  uint64_t start_ns, sonde_buf *out, size_t *points);

/* ---- environment helpers (env.c) ----------------------------------------------------- */

/* getenv, or NULL when unset or empty (the OpenTelemetry rule: empty = unset). */
const char *sonde_env_get(const char *name);
/* A non-negative integer variable; 1 found, 0 unset, -1 malformed (warned). */
int sonde_env_long(sonde_logger *lg, const char *name, long *out);
/* true/false (case-insensitive); other values warn and read as false. */
int sonde_env_bool(sonde_logger *lg, const char *name);
/* Parse "k=v,k=v" with percent-decoding into attrs (appending, later keys replace);
 * returns SONDE_OK or SONDE_EINVAL (the whole value is then ignored). Bounded: at most
 * 128 pairs, each key and value at most 4096 bytes. */
#define RESOURCE_MAX_ATTRS 128
int sonde_resource_parse(const char *s, sonde_attr **attrs, size_t *count);
void sonde_attrs_free(sonde_attr *attrs, size_t count);
/* Append or replace one string attribute (copied). */
int sonde_attrs_set(sonde_attr **attrs, size_t *count, const char *key, const char *value);

/* Library diagnostics: sonde_log when lg is set. */
void sonde_diag(sonde_logger *lg, sonde_log_level level, const char *msg, const sonde_attr *fields,
          size_t n);

/* UTF-8 helpers (utf8.c): copy s[0..n) into out with invalid bytes as U+FFFD, at most
 * max_chars characters (0 = all); returns bytes written. out needs 3*n bytes. */
size_t sonde_utf8_sanitize(const char *s, size_t n, size_t max_chars, char *out);

/* json.c: log line text in the core's growable buffer, kept NUL-terminated. */
typedef sonde_buf sonde_json_buf;
void sonde_json_raw(sonde_json_buf *b, const char *s, size_t n);
void sonde_json_string(sonde_json_buf *b, const char *s); /* quoted, escaped, invalid UTF-8 replaced */
void sonde_json_attr_value(sonde_json_buf *b, const sonde_attr *a);

#endif
