/*
 * span.c - the span: start, attributes, events, status, end, and the
 * thread's current span. A recording span keeps its strings NUL-terminated
 * in one arena (offsets, so the arena may grow) and its attributes and
 * events in arrays, all reused through span_pool.c. Limits are the tracer's
 * (OTEL_SPAN_*): what passes them is dropped and counted, never stored.
 * Times come from the span clock (clock.c). An unsampled span only carries
 * its context: no clock read, no arena.
 */
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "recent.h"
#include "trace_internal.h"
#include "words.h"

TRACE_TLS sonde_span *sonde_trace_current_span;

/* The thread's current span changes here only: the core's exemplar context follows it,
 * set while the span is sampled (exemplar.h reads it on every counter and histogram update). */
static inline void set_current(sonde_span *s)
{
    sonde_trace_current_span = s;
    sonde_exemplar_ctx_set(s && s->recording ? &s->ctx : NULL);
}

static int arena_reserve(sonde_span *s, size_t more)
{
    size_t need = (size_t)s->arena_len + more;
    if (need <= s->arena_cap)
        return 0;
    if (need > UINT32_MAX / 2)
        return -1;
    size_t cap = s->arena_cap ? s->arena_cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(s->arena, cap);
    if (!p)
        return -1;
    s->arena = p;
    s->arena_cap = (uint32_t)cap;
    return 0;
}

/* Store s[0..n) sanitised (and cut at max_chars characters when non-zero); the offset of
 * the stored string, or 0 (the empty string every arena starts with) when out of memory.
 * *stored (may be NULL) receives the stored length. */
static uint32_t arena_add_len(sonde_span *s, const char *str, size_t n, size_t max_chars,
                              uint32_t *stored)
{
    if (stored)
        *stored = 0;
    if (arena_reserve(s, 3 * n + 1))
        return 0;
    uint32_t off = s->arena_len;
    size_t w = sonde_utf8_sanitize(str, n, max_chars, s->arena + off);
    s->arena[off + w] = '\0';
    s->arena_len += (uint32_t)w + 1;
    if (w > s->longest)
        s->longest = (uint32_t)w; /* the recent ring holds a span whole only when short */
    if (stored)
        *stored = (uint32_t)w;
    return off;
}

/* A C string into the arena, as arena_add_len. The common case, a short ASCII string, in
 * one pass (no strlen, no separate check, no memcpy) where the build allows reads past the
 * end within a page (words.h): eight bytes at a time, then byte by byte; anything else by
 * arena_add_len. */
#define SHORT_STRING 64
#define SHORT_SLACK 32 /* the stores of arena_add_cstr may pass the string by this much */
static __attribute__((noinline)) uint32_t arena_add_cstr_words(sonde_span *s, const char *str,
                                                               size_t max_chars, uint32_t *stored)
{
    if (arena_reserve(s, SHORT_STRING + SHORT_SLACK + 1))
        return arena_add_len(s, str, strlen(str), max_chars, stored);
    uint32_t off = s->arena_len;
    char *dst = s->arena + off;
    size_t limit = max_chars && max_chars < SHORT_STRING ? max_chars : SHORT_STRING, i = 0;
#if SONDE_WORDS_OVERREAD
    while (i < limit && sonde_words_page_safe(str + i, 8)) {
        uint64_t w = sonde_read64_past(str + i), marks = sonde_zero_or_high_bytes(w);
        memcpy(dst + i, &w, 8);
        if (marks) {
            i += sonde_first_marked(marks);
            break;
        }
        i += 8;
    }
    if (i > limit)
        i = limit;
#endif
    for (; i < limit; i++) {
        unsigned char c = (unsigned char)str[i];
        if (c == 0 || c >= 0x80)
            break;
        dst[i] = (char)c;
    }
    int cut = max_chars && i == max_chars; /* the limit reached: the rest is dropped */
    if (str[i] != '\0' && !cut)
        return arena_add_len(s, str, strlen(str), max_chars, stored); /* long, or not ASCII */
    dst[i] = '\0';
    s->arena_len += (uint32_t)i + 1;
    if (stored)
        *stored = (uint32_t)i;
    return off;
}

#if SONDE_WORDS_OVERREAD && defined(__SSE2__)
#define SHORT_PATH 1
/* The most common string of all: ASCII, fewer than 32 bytes (span names, attribute keys and
 * values mostly are), its 32 bytes in one page. Its length, its 32 bytes (its NUL and what
 * follows) in v; -1 for any other string. One test (the first byte that is zero or 0x80 and
 * up is a zero) takes it, with no branch on its length. */
static inline int short_ascii(const char *str, __m128i v[2])
{
    if (!sonde_words_page_safe(str, 32))
        return -1;
    const char *p = str;
    __asm__("" : "+r"(p)); /* as sonde_read64_past: the loads may pass the string's end */
    v[0] = _mm_loadu_si128((const __m128i *)p);
    v[1] = _mm_loadu_si128((const __m128i *)(p + 16));
    __m128i zero = _mm_setzero_si128();
    unsigned zeros = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v[0], zero)) |
                     (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v[1], zero)) << 16;
    unsigned stops = zeros | (unsigned)_mm_movemask_epi8(v[0]) |
                     (unsigned)_mm_movemask_epi8(v[1]) << 16;
    if (__builtin_expect(!(zeros & stops & -stops), 0))
        return -1;
    return __builtin_ctz(stops);
}

/* A short_ascii string stored with its NUL in two 16-byte moves (SHORT_SLACK past it). */
static inline void short_store(char *dst, const __m128i v[2])
{
    _mm_storeu_si128((__m128i *)dst, v[0]);
    _mm_storeu_si128((__m128i *)(dst + 16), v[1]);
}
#else
#define SHORT_PATH 0
#endif

#if SHORT_PATH
/* The hint of a short_ascii name of n bytes (v: its 32 bytes), or NULL: the bucket its
 * first bytes pick holds it (recent.h). */
static inline const recent_hint *name_hint(const recent_spans *r, const __m128i v[2], int n)
{
    uint64_t first8 = (uint64_t)_mm_cvtsi128_si64(v[0]);
    if (n < 8)
        first8 &= (1ull << (8 * n)) - 1;
    const recent_hint *h = &r->hints[recent_hint_bucket(first8, (size_t)n)];
    if (!atomic_load_explicit(&h->ready, memory_order_acquire))
        return NULL;
    uint64_t same = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v[0], _mm_load_si128((const __m128i *)h->name))) |
                    (uint64_t)(unsigned)_mm_movemask_epi8(
                        _mm_cmpeq_epi8(v[1], _mm_load_si128((const __m128i *)(h->name + 16))))
                        << 16;
    uint64_t bytes = (2ull << n) - 1; /* the name and its NUL */
    return (same & bytes) == bytes ? h : NULL;
}
#endif

#if SHORT_PATH
/* The most common case of arena_add_cstr: a short_ascii string (its 32 bytes left in v) with
 * room in the arena, stored at its end. The string's length, or -1: nothing stored. */
static inline int arena_add_short(sonde_span *s, const char *str, __m128i v[2])
{
    uint32_t off = s->arena_len;
    int n;
    if (__builtin_expect((size_t)off + SHORT_SLACK <= s->arena_cap && (n = short_ascii(str, v)) >= 0, 1)) {
        short_store(s->arena + off, v);
        s->arena_len = off + (uint32_t)n + 1;
        return n;
    }
    return -1;
}
#endif

/* arena_add_cstr_words, and before it, inline, the most common case: a short_ascii string,
 * no limit below 32, room in the arena. */
static inline uint32_t arena_add_cstr(sonde_span *s, const char *str, size_t max_chars, uint32_t *stored)
{
#if SHORT_PATH
    uint32_t off = s->arena_len;
    __m128i v[2];
    int n;
    if (__builtin_expect(max_chars == 0 || max_chars >= 32, 1) && (n = arena_add_short(s, str, v)) >= 0) {
        if (stored)
            *stored = (uint32_t)n;
        return off;
    }
#endif
    return arena_add_cstr_words(s, str, max_chars, stored);
}

sonde_span *sonde_span_start(sonde_tracer *t, const char *name, sonde_span_kind kind,
                             const sonde_span_context *parent)
{
    if (!t || !name)
        return NULL;
    sonde_span *s = sonde_span_pool_get(&t->pool, t->sampler != SONDE_SAMPLER_ALWAYS_OFF);
    if (!s)
        return NULL;
    if (!parent && sonde_trace_current_span)
        parent = &sonde_trace_current_span->ctx;
    s->tracer = t;
    if (parent && sonde_span_context_valid(parent)) {
        memcpy(s->ctx.trace_id, parent->trace_id, 16);
        memcpy(s->parent_id, parent->span_id, 8);
        s->has_parent = 1;
        size_t tl = strnlen(parent->tracestate, SONDE_TRACESTATE_MAX);
        memcpy(s->ctx.tracestate, parent->tracestate, tl);
        s->ctx.tracestate[tl] = '\0';
    } else {
        parent = NULL;
        memset(s->parent_id, 0, 8);
        s->has_parent = 0;
        s->ctx.tracestate[0] = '\0';
    }
    sonde_trace_new_ids(parent ? NULL : s->ctx.trace_id, s->ctx.span_id);
    int sampled = t->sampler == SONDE_SAMPLER_ALWAYS_OFF ? 0 /* no call for the constant ones */
                  : t->sampler == SONDE_SAMPLER_ALWAYS_ON
                      ? 1
                      : sonde_sampler_decide(t->sampler, t->ratio, parent, s->ctx.trace_id);
    s->ctx.flags = sampled ? SONDE_TRACE_FLAG_SAMPLED : 0;
    s->ctx.remote = 0;
    s->recording = (uint8_t)sampled;
    s->prev_current = NULL;
    if (!sampled)
        return s;
    s->kind = (uint8_t)(kind >= SONDE_SPAN_INTERNAL && kind <= SONDE_SPAN_CONSUMER
                            ? kind : SONDE_SPAN_INTERNAL);
    s->status = SONDE_STATUS_UNSET;
    s->status_msg = 0;
    s->start_ns = sonde_span_clock_ns();
    s->end_ns = 0;
    s->arena_len = 0;
    if (arena_reserve(s, 1)) {
        sonde_span_pool_put_local(s);
        return NULL;
    }
    s->arena[0] = '\0';
    s->arena_len = 1;
    s->longest = 0;
    s->attr_count = s->dropped_attrs = 0; /* here, not where the span was given back */
    s->key_lens = 0;
    s->event_count = s->dropped_events = s->ev_attr_count = 0;
    s->hint = NULL;
#if SHORT_PATH
    __m128i v[2];
    int n = arena_add_short(s, name, v); /* as arena_add_cstr, keeping the bytes for the hint */
    if (__builtin_expect(n >= 0, 1)) {
        s->name = 1; /* the first string after the arena's "" */
        if (t->recent_names)
            s->hint = name_hint(t->recent, v, n);
        return s;
    }
#endif
    s->name = arena_add_cstr(s, name, 0, NULL);
    return s;
}

void sonde_span_end(sonde_span *s)
{
    if (!s)
        return;
    if (sonde_trace_current_span == s)
        set_current(s->prev_current);
    if (!s->recording) {
        sonde_span_pool_put_local(s);
        return;
    }
    /* The queue's room first: a span the full queue drops (counted by the batch) costs no
     * clock read. */
    batch_ring *r = sonde_batch_claim(&s->tracer->batch);
    if (!r) {
        sonde_span_pool_put_local(s);
        return;
    }
    uint64_t end = sonde_span_clock_ns();
    if (end < s->start_ns)
        end = s->start_ns; /* the wall clock stepped back */
    s->end_ns = end;
    /* The export thread looks at it when the recent ring or the pool must (span_mark). */
    int look = !span_fits_whole(s) || s->status == SONDE_STATUS_ERROR ||
               (s->tracer->recent_names &&
                (!s->hint || end - s->start_ns >= atomic_load_explicit(&s->hint->threshold,
                                                                      memory_order_relaxed)));
    sonde_batch_put(r, span_mark(s, look));
}

int sonde_span_is_recording(const sonde_span *s) { return s && s->recording; }

/* Drop the arena's last string, stored at off (0, the shared empty string of a failed
 * store, stays). */
static void arena_take_back(sonde_span *s, uint32_t off)
{
    if (off)
        s->arena_len = off;
}

/* The attribute whose stored key is the len bytes at key, or UINT32_MAX. Keys of a length
 * no stored key has (the usual case) are not compared at all. */
static uint32_t find_attr(const sonde_span *s, const char *key, size_t len)
{
    if (!(s->key_lens & 1ull << (len % 64)))
        return UINT32_MAX;
    for (uint32_t i = 0; i < s->attr_count; i++)
        if (s->attrs[i].key_len == len && memcmp(span_str(s, s->attrs[i].key), key, len) == 0)
            return i;
    return UINT32_MAX;
}

static __attribute__((noinline)) void set_attr(sonde_span *s, const sonde_attr *a)
{
    if (!s || !s->recording || !a || !a->key || !a->key[0])
        return;
    if (a->type < SONDE_ATTR_STRING || a->type > SONDE_ATTR_BOOL ||
        (a->type == SONDE_ATTR_STRING && !a->v.s))
        return;
    const span_limits *lim = &s->tracer->limits;
    /* The key is stored first (measured and sanitised in one pass, U+FFFD for bad bytes) and
     * compared as stored; a key the span already has, or one past the limit, is taken back. */
    uint32_t key_len, key = arena_add_cstr(s, a->key, 0, &key_len);
    uint32_t i = find_attr(s, span_str(s, key), key_len);
    if (i != UINT32_MAX) {
        arena_take_back(s, key);
    } else {
        if (s->attr_count >= lim->attrs) {
            arena_take_back(s, key);
            s->dropped_attrs++;
            return;
        }
        if (s->attr_count == s->attr_cap) {
            uint32_t cap = s->attr_cap ? s->attr_cap * 2 : 8;
            span_attr *p = realloc(s->attrs, cap * sizeof *p);
            if (!p) {
                arena_take_back(s, key);
                s->dropped_attrs++;
                return;
            }
            s->attrs = p;
            s->attr_cap = cap;
        }
        i = s->attr_count++;
        s->attrs[i].key = key;
        s->attrs[i].key_len = key_len;
        s->key_lens |= 1ull << (key_len % 64);
    }
    span_attr *dst = &s->attrs[i];
    dst->type = (uint8_t)a->type;
    switch (a->type) {
    case SONDE_ATTR_STRING:
        dst->v.s = arena_add_cstr(s, a->v.s, lim->value_len, NULL);
        break;
    case SONDE_ATTR_INT:
        dst->v.i = a->v.i;
        break;
    case SONDE_ATTR_DOUBLE:
        dst->v.d = a->v.d;
        break;
    default:
        dst->v.b = a->v.b != 0;
        break;
    }
}

/* The usual attribute, inline in sonde_span_set_str and sonde_span_set_int, with no call: a
 * short_ascii key of a length no stored key has (so it is new: nothing to compare), a
 * short_ascii value (str; NULL: the integer i) under the value length limit, room for both in
 * the arena (each store passes its string by SHORT_SLACK at most) and for the attribute in
 * its array, under the count limit. 1 stored; 0 when it does not apply (nothing stored). */
static inline int set_attr_short(sonde_span *s, const char *key, const char *str, int64_t i)
{
#if SHORT_PATH
    const span_limits *lim = &s->tracer->limits;
    uint32_t off = s->arena_len, n = s->attr_count;
    __m128i k[2], v[2];
    int kl, vl = 0;
    if (!key || n >= lim->attrs || n >= s->attr_cap || (size_t)off + 2 * SHORT_SLACK > s->arena_cap ||
        (kl = short_ascii(key, k)) <= 0 || s->key_lens & 1ull << kl)
        return 0;
    if (str && ((lim->value_len && lim->value_len < 32) || (vl = short_ascii(str, v)) < 0))
        return 0;
    short_store(s->arena + off, k);
    span_attr *a = &s->attrs[n];
    a->key = off;
    a->key_len = (uint32_t)kl;
    s->key_lens |= 1ull << kl;
    s->attr_count = n + 1;
    off += (uint32_t)kl + 1;
    if (str) {
        short_store(s->arena + off, v);
        a->type = SONDE_ATTR_STRING;
        a->v.s = off;
        off += (uint32_t)vl + 1;
    } else {
        a->type = SONDE_ATTR_INT;
        a->v.i = i;
    }
    s->arena_len = off;
    return 1;
#else
    (void)s, (void)key, (void)str, (void)i;
    return 0;
#endif
}

void sonde_span_set_str(sonde_span *s, const char *key, const char *value)
{
    if (s && s->recording && !(value && set_attr_short(s, key, value, 0))) {
        sonde_attr a = SONDE_ATTR_STR(key, value);
        set_attr(s, &a);
    }
}

void sonde_span_set_int(sonde_span *s, const char *key, int64_t value)
{
    if (s && s->recording && !set_attr_short(s, key, NULL, value)) {
        sonde_attr a = SONDE_ATTR_INT(key, value);
        set_attr(s, &a);
    }
}

void sonde_span_set_double(sonde_span *s, const char *key, double value)
{
    if (s && s->recording) {
        sonde_attr a = SONDE_ATTR_DBL(key, value);
        set_attr(s, &a);
    }
}

void sonde_span_set_bool(sonde_span *s, const char *key, int value)
{
    if (s && s->recording) {
        sonde_attr a = SONDE_ATTR_BOOL(key, value);
        set_attr(s, &a);
    }
}

void sonde_span_set_attrs(sonde_span *s, const sonde_attr *attrs, size_t n)
{
    if (!s || !s->recording || !attrs)
        return;
    for (size_t i = 0; i < n; i++)
        set_attr(s, &attrs[i]);
}

void sonde_span_add_event(sonde_span *s, const char *name, const sonde_attr *attrs, size_t n)
{
    if (!s || !s->recording || !name || (n && !attrs))
        return;
    const span_limits *lim = &s->tracer->limits;
    if (s->event_count >= lim->events) {
        s->dropped_events++;
        return;
    }
    if (s->event_count == s->event_cap) {
        uint32_t cap = s->event_cap ? s->event_cap * 2 : 4;
        span_event *p = realloc(s->events, cap * sizeof *p);
        if (!p) {
            s->dropped_events++;
            return;
        }
        s->events = p;
        s->event_cap = cap;
    }
    span_event *e = &s->events[s->event_count++];
    e->unix_ns = sonde_span_clock_ns();
    e->name = arena_add_cstr(s, name, 0, NULL);
    e->first_attr = s->ev_attr_count;
    e->attr_count = e->dropped_attrs = 0;
    for (size_t k = 0; k < n; k++) {
        const sonde_attr *a = &attrs[k];
        if (!a->key || !a->key[0] || a->type < SONDE_ATTR_STRING || a->type > SONDE_ATTR_BOOL ||
            (a->type == SONDE_ATTR_STRING && !a->v.s))
            continue;
        int dup = 0;
        for (uint32_t j = e->first_attr; j < s->ev_attr_count && !dup; j++)
            dup = strcmp(span_str(s, s->ev_attrs[j].key), a->key) == 0;
        if (dup)
            continue; /* the first value of a repeated key stands */
        if (e->attr_count >= lim->event_attrs) {
            e->dropped_attrs++;
            continue;
        }
        if (s->ev_attr_count == s->ev_attr_cap) {
            uint32_t cap = s->ev_attr_cap ? s->ev_attr_cap * 2 : 8;
            span_attr *p = realloc(s->ev_attrs, cap * sizeof *p);
            if (!p) {
                e->dropped_attrs++;
                continue;
            }
            s->ev_attrs = p;
            s->ev_attr_cap = cap;
        }
        span_attr *dst = &s->ev_attrs[s->ev_attr_count++];
        e->attr_count++;
        dst->key = arena_add_cstr(s, a->key, 0, &dst->key_len);
        dst->type = (uint8_t)a->type;
        if (a->type == SONDE_ATTR_STRING)
            dst->v.s = arena_add_cstr(s, a->v.s, lim->value_len, NULL);
        else if (a->type == SONDE_ATTR_INT)
            dst->v.i = a->v.i;
        else if (a->type == SONDE_ATTR_DOUBLE)
            dst->v.d = a->v.d;
        else
            dst->v.b = a->v.b != 0;
    }
}

void sonde_span_set_status(sonde_span *s, sonde_status_code code, const char *message)
{
    if (!s || !s->recording || s->status == SONDE_STATUS_OK)
        return;
    if (code == SONDE_STATUS_OK) {
        s->status = SONDE_STATUS_OK;
        s->status_msg = 0;
    } else if (code == SONDE_STATUS_ERROR) {
        s->status = SONDE_STATUS_ERROR;
        s->status_msg = message ? arena_add_cstr(s, message, 0, NULL) : 0;
    }
}

void sonde_span_set_name(sonde_span *s, const char *name)
{
    if (s && s->recording && name) {
        s->name = arena_add_cstr(s, name, 0, NULL);
        s->hint = NULL; /* looked at by the export thread, which finds its slot */
    }
}

int sonde_span_get_context(const sonde_span *s, sonde_span_context *out)
{
    if (!out)
        return SONDE_EINVAL;
    if (!s) {
        memset(out, 0, sizeof *out);
        return SONDE_EINVAL;
    }
    memcpy(out, &s->ctx, offsetof(sonde_span_context, tracestate));
    size_t tl = strnlen(s->ctx.tracestate, SONDE_TRACESTATE_MAX);
    memcpy(out->tracestate, s->ctx.tracestate, tl);
    out->tracestate[tl] = '\0';
    return SONDE_OK;
}

int sonde_span_traceparent(const sonde_span *s, char *buf)
{
    if (!buf)
        return SONDE_EINVAL;
    if (!s) {
        buf[0] = '\0';
        return SONDE_EINVAL;
    }
    return sonde_traceparent_format(&s->ctx, buf);
}

sonde_span *sonde_span_enter(sonde_span *s)
{
    sonde_span *prev = sonde_trace_current_span;
    set_current(s);
    if (s)
        s->prev_current = prev;
    return prev;
}

void sonde_span_exit(sonde_span *previous) { set_current(previous); }

sonde_span *sonde_span_current(void) { return sonde_trace_current_span; }

int sonde_trace_current_ids(uint8_t trace_id[16], uint8_t span_id[8])
{
    const sonde_span *s = sonde_trace_current_span;
    if (!s || !s->recording || !trace_id || !span_id)
        return 0;
    memcpy(trace_id, s->ctx.trace_id, 16);
    memcpy(span_id, s->ctx.span_id, 8);
    return 1;
}

/* ---- read-only views ---------------------------------------------------------------- */

const char *sonde_span_name(const sonde_span *s)
{
    return s && s->recording ? span_str(s, s->name) : "";
}

sonde_span_kind sonde_span_get_kind(const sonde_span *s)
{
    return s && s->recording ? (sonde_span_kind)s->kind : 0;
}

uint64_t sonde_span_start_unix_ns(const sonde_span *s) { return s && s->recording ? s->start_ns : 0; }

uint64_t sonde_span_end_unix_ns(const sonde_span *s) { return s && s->recording ? s->end_ns : 0; }

int sonde_span_parent_id(const sonde_span *s, uint8_t parent_span_id[8])
{
    if (!s || !parent_span_id)
        return 0;
    memcpy(parent_span_id, s->parent_id, 8);
    return s->has_parent;
}

sonde_status_code sonde_span_status(const sonde_span *s, const char **message)
{
    if (message)
        *message = s && s->recording ? span_str(s, s->status_msg) : "";
    return s && s->recording ? (sonde_status_code)s->status : SONDE_STATUS_UNSET;
}

size_t sonde_span_attr_count(const sonde_span *s) { return s && s->recording ? s->attr_count : 0; }

/* A stored attribute (of the span or of one of its events) as the public sonde_attr. */
static int attr_out(const sonde_span *s, const span_attr *a, sonde_attr *out)
{
    out->key = span_str(s, a->key);
    out->type = (sonde_attr_type)a->type;
    if (a->type == SONDE_ATTR_STRING)
        out->v.s = span_str(s, a->v.s);
    else if (a->type == SONDE_ATTR_INT)
        out->v.i = a->v.i;
    else if (a->type == SONDE_ATTR_DOUBLE)
        out->v.d = a->v.d;
    else
        out->v.b = a->v.b;
    return SONDE_OK;
}

int sonde_span_attr(const sonde_span *s, size_t i, sonde_attr *out)
{
    if (!out)
        return SONDE_EINVAL;
    if (!s || !s->recording || i >= s->attr_count)
        return SONDE_ENOENT;
    return attr_out(s, &s->attrs[i], out);
}

size_t sonde_span_event_count(const sonde_span *s) { return s && s->recording ? s->event_count : 0; }

int sonde_span_event(const sonde_span *s, size_t i, const char **name, uint64_t *unix_ns,
                     size_t *attr_count)
{
    if (!s || !s->recording || i >= s->event_count)
        return SONDE_ENOENT;
    const span_event *e = &s->events[i];
    if (name)
        *name = span_str(s, e->name);
    if (unix_ns)
        *unix_ns = e->unix_ns;
    if (attr_count)
        *attr_count = e->attr_count;
    return SONDE_OK;
}

int sonde_span_event_attr(const sonde_span *s, size_t i, size_t k, sonde_attr *out)
{
    if (!out)
        return SONDE_EINVAL;
    if (!s || !s->recording || i >= s->event_count || k >= s->events[i].attr_count)
        return SONDE_ENOENT;
    return attr_out(s, &s->ev_attrs[s->events[i].first_attr + k], out);
}

void sonde_span_dropped(const sonde_span *s, size_t *attrs, size_t *events)
{
    if (attrs)
        *attrs = s && s->recording ? s->dropped_attrs : 0;
    if (events)
        *events = s && s->recording ? s->dropped_events : 0;
}
