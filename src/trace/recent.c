/*
 * recent.c - finished spans kept in memory for a console, as OpenCensus'
 * tracez did: the latest spans, and per span name (the first
 * SONDE_RECENT_NAMES names seen) its slowest and its latest erroring spans.
 * Filled by the export thread under a mutex that only readers
 * (sonde_tracer_recent, sonde_tracer_trace) share.
 *
 * The latest held_cap = min(cap, RECENT_HELD_MAX) spans are held whole, for
 * a trace view, by reference: the ring keeps the span object the batch
 * processor handed over instead of giving it back to the pool, and gives
 * back the one it pushes out. A span of the usual shape costs the export
 * thread no copy: one within the detail bounds (at most RECENT_DETAIL_ATTRS
 * attributes, RECENT_DETAIL_EVENTS events with RECENT_DETAIL_EVENT_ATTRS
 * attributes between them, RECENT_DETAIL_ARENA bytes of strings, no string
 * longer than a summary's name, and buffers no larger than that). A larger
 * span is held as a bounded copy written into the object it pushes out
 * (string values cut at RECENT_DETAIL_VALUE bytes, names at a summary's
 * length, what does not fit counted as dropped), and goes back itself.
 * Either way a held span takes at most about 2.6 KiB (the object and those
 * buffers): 670 KiB for the default 256, 1.3 MiB at most, and only once
 * spans have passed.
 *
 * The spans of a batch come marked (span_mark): the export thread reads only
 * the marked ones, since a line it reads is a miss for the span's next user.
 * A span goes unmarked when it is held whole, did not fail, and its name's
 * hint (a bucket of hints, recent.h, that the span's thread reads) says it
 * is not slower than the fastest of its name's slowest: then neither its
 * name's slot nor the pool has anything to do with it. The hints are written
 * here, a name's once when its slot is made (if its bucket is free) and its
 * threshold when the slot changes; a name without one is always looked at.
 *
 * Summaries (sonde_span_summary) of the held spans are made when read. With
 * cap > RECENT_HELD_MAX, the summaries of the spans before the held ones
 * are kept in a ring of their own, written as spans leave the held ring.
 * A per-name slot keeps summaries, written only for a span that stays in it
 * (slower than the name's fastest kept one, or erring).
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "recent.h"

#define RECENT_HELD_MAX 512
#define RECENT_AHEAD 8 /* spans prefetched ahead */

static void cut_copy(char *dst, const char *src)
{
    size_t n = strnlen(src, SONDE_SPAN_SUMMARY_NAME);
    if (n >= SONDE_SPAN_SUMMARY_NAME) {
        n = SONDE_SPAN_SUMMARY_NAME - 1;
        while (n && ((unsigned char)src[n] & 0xc0) == 0x80)
            n--; /* do not split a UTF-8 sequence */
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

int sonde_recent_init(recent_spans *r, size_t cap)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    r->cap = cap;
    r->held_cap = cap < RECENT_HELD_MAX ? cap : RECENT_HELD_MAX;
    r->older_cap = cap - r->held_cap;
    if ((r->held_cap && !(r->held = calloc(r->held_cap, sizeof *r->held))) ||
        (r->older_cap && !(r->older = calloc(r->older_cap, sizeof *r->older)))) {
        free(r->held);
        pthread_mutex_destroy(&r->mu);
        return SONDE_ENOMEM;
    }
    return SONDE_OK;
}

void sonde_recent_destroy(recent_spans *r)
{
    for (size_t i = 0; i < r->held_cap; i++)
        sonde_span_free(r->held[i]); /* NULL where the ring never filled */
    free(r->held);
    free(r->older);
    pthread_mutex_destroy(&r->mu);
}

static void summarize(const sonde_span *s, sonde_span_summary *out)
{
    memcpy(out->trace_id, s->ctx.trace_id, 16);
    memcpy(out->span_id, s->ctx.span_id, 8);
    memcpy(out->parent_span_id, s->parent_id, 8);
    cut_copy(out->name, span_str(s, s->name));
    out->kind = (sonde_span_kind)s->kind;
    out->status = (sonde_status_code)s->status;
    cut_copy(out->status_message, span_str(s, s->status_msg));
    out->start_unix_ns = s->start_ns;
    out->end_unix_ns = s->end_ns;
}

/* ---- the held spans ------------------------------------------------------------ */

#define GROW(ptr, cap, want)                                                                       \
    do {                                                                                           \
        if ((cap) < (want)) {                                                                      \
            void *grown_ = realloc((ptr), (size_t)(want) * sizeof *(ptr));                         \
            if (!grown_)                                                                           \
                return -1;                                                                         \
            (ptr) = grown_;                                                                        \
            (cap) = (want);                                                                        \
        }                                                                                          \
    } while (0)

/* Give c (a span object the ring holds or a new one) the buffers of a bounded copy. */
static int copy_reserve(sonde_span *c)
{
    GROW(c->arena, c->arena_cap, RECENT_DETAIL_ARENA);
    GROW(c->attrs, c->attr_cap, RECENT_DETAIL_ATTRS);
    GROW(c->events, c->event_cap, RECENT_DETAIL_EVENTS);
    GROW(c->ev_attrs, c->ev_attr_cap, RECENT_DETAIL_EVENT_ATTRS);
    return 0;
}

typedef struct arena_writer {
    char *arena;
    uint32_t len;
} arena_writer;

/* The offset of a copy of src (cut at max bytes on a UTF-8 boundary), 0 when it does not fit
 * (offset 0 is the empty string). */
static uint32_t arena_put(arena_writer *w, const char *src, size_t max)
{
    size_t n = strnlen(src, max + 1);
    if (n > max) {
        n = max;
        while (n && ((unsigned char)src[n] & 0xc0) == 0x80)
            n--;
    }
    if (n == 0 || w->len + n + 1 > RECENT_DETAIL_ARENA)
        return 0;
    uint32_t off = w->len;
    memcpy(w->arena + off, src, n);
    w->arena[off + n] = '\0';
    w->len += (uint32_t)n + 1;
    return off;
}

/* Copy attribute a of s into *out; 0 when its strings do not fit. */
static int attr_copy(arena_writer *w, const sonde_span *s, const span_attr *a, span_attr *out)
{
    *out = *a;
    uint32_t mark = w->len;
    if (!(out->key = arena_put(w, span_str(s, a->key), RECENT_DETAIL_VALUE)))
        return 0;
    out->key_len = w->len - out->key - 1;
    if (a->type == SONDE_ATTR_STRING) {
        const char *v = span_str(s, a->v.s);
        out->v.s = 0; /* "" */
        if (v[0] && !(out->v.s = arena_put(w, v, RECENT_DETAIL_VALUE))) {
            w->len = mark;
            return 0;
        }
    }
    return 1;
}

/* The bounded copy of s into c, whose buffers copy_reserve sized. */
static void bounded_copy(sonde_span *c, const sonde_span *s)
{
    c->tracer = s->tracer;
    c->ctx = s->ctx;
    memcpy(c->parent_id, s->parent_id, 8);
    c->has_parent = s->has_parent;
    c->recording = 1;
    c->kind = s->kind;
    c->status = s->status;
    c->start_ns = s->start_ns;
    c->end_ns = s->end_ns;
    c->longest = 0;
    c->attr_count = c->event_count = c->ev_attr_count = 0;
    c->arena[0] = '\0';
    arena_writer w = {c->arena, 1};
    c->name = arena_put(&w, span_str(s, s->name), SONDE_SPAN_SUMMARY_NAME - 1);
    c->status_msg = arena_put(&w, span_str(s, s->status_msg), RECENT_DETAIL_VALUE);
    c->dropped_attrs = s->dropped_attrs;
    for (uint32_t i = 0; i < s->attr_count; i++) {
        if (c->attr_count < RECENT_DETAIL_ATTRS && attr_copy(&w, s, &s->attrs[i], &c->attrs[c->attr_count]))
            c->attr_count++;
        else
            c->dropped_attrs++;
    }
    c->dropped_events = s->dropped_events;
    for (uint32_t i = 0; i < s->event_count; i++) {
        const span_event *e = &s->events[i];
        span_event *o = &c->events[c->event_count];
        if (c->event_count == RECENT_DETAIL_EVENTS || !(o->name = arena_put(&w, span_str(s, e->name), RECENT_DETAIL_VALUE))) {
            c->dropped_events++;
            continue;
        }
        c->event_count++;
        o->unix_ns = e->unix_ns;
        o->first_attr = c->ev_attr_count;
        o->attr_count = 0;
        o->dropped_attrs = e->dropped_attrs;
        for (uint32_t k = 0; k < e->attr_count; k++) {
            if (c->ev_attr_count < RECENT_DETAIL_EVENT_ATTRS &&
                attr_copy(&w, s, &s->ev_attrs[e->first_attr + k], &c->ev_attrs[c->ev_attr_count])) {
                c->ev_attr_count++;
                o->attr_count++;
            } else {
                o->dropped_attrs++;
            }
        }
    }
    c->arena_len = w.len;
}

/* The summary ring of the spans before the held ones (none when cap <= RECENT_HELD_MAX). */
static void older_push(recent_spans *r, const sonde_span *s)
{
    if (!r->older_cap)
        return;
    summarize(s, &r->older[r->older_next]);
    r->older_next = r->older_next + 1 == r->older_cap ? 0 : r->older_next + 1;
    if (r->older_count < r->older_cap)
        r->older_count++;
}

static sonde_span *held_at(const recent_spans *r, size_t newest_first)
{
    return r->held[(r->held_next + r->held_cap - 1 - newest_first) % r->held_cap];
}

/* Hold s in the next slot; the span that held it, or NULL while the ring fills. */
static sonde_span *held_put(recent_spans *r, sonde_span *s)
{
    sonde_span *out = r->held[r->held_next];
    r->held[r->held_next] = s;
    r->held_next = r->held_next + 1 == r->held_cap ? 0 : r->held_next + 1;
    if (r->held_count < r->held_cap)
        r->held_count++;
    return out;
}

size_t sonde_recent_trace(recent_spans *r, const uint8_t trace_id[16], sonde_span_visit_fn fn,
                          void *ud)
{
    size_t n = 0;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->held_count; i++) {
        const sonde_span *s = held_at(r, i);
        if (memcmp(s->ctx.trace_id, trace_id, 16) == 0) {
            fn(ud, s);
            n++;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return n;
}

/* ---- the per-name slots ----------------------------------------------------------- */

/* Give a new slot its name's hint, when the name has one and its bucket is free. */
static void hint_assign(recent_spans *r, recent_name *slot)
{
    size_t len = strlen(slot->name);
    if (len >= RECENT_HINT_NAME)
        return;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)slot->name[i] >= 0x80)
            return; /* the span's thread only hashes ASCII names */
    uint64_t first8 = 0;
    memcpy(&first8, slot->name, len < 8 ? len : 8);
    first8 = le64toh(first8);
    recent_hint *h = &r->hints[recent_hint_bucket(first8, len)];
    if (atomic_load_explicit(&h->ready, memory_order_relaxed))
        return; /* another name's: this one is always looked at */
    memset(h->name, 0, sizeof h->name);
    memcpy(h->name, slot->name, len);
    atomic_store_explicit(&h->threshold, 0, memory_order_relaxed);
    atomic_store_explicit(&h->ready, 1, memory_order_release);
    slot->hint = h;
}

/* The slot of a span name (names longer than a summary's are compared by their cut). */
static recent_name *name_slot(recent_spans *r, const char *full)
{
    /* A batch is mostly spans of few names. A slot's name is shorter than a summary's, so a
     * name equal to it was not cut: compared before measuring. */
    if (r->last_slot && strcmp(r->last_slot->name, full) == 0)
        return r->last_slot;
    char cut[SONDE_SPAN_SUMMARY_NAME];
    const char *name = full;
    if (strnlen(full, SONDE_SPAN_SUMMARY_NAME) == SONDE_SPAN_SUMMARY_NAME) {
        cut_copy(cut, full);
        name = cut;
    }
    if (r->last_slot && strcmp(r->last_slot->name, name) == 0)
        return r->last_slot;
    for (size_t i = 0; i < r->name_count; i++)
        if (strcmp(r->names[i].name, name) == 0)
            return r->last_slot = &r->names[i];
    if (r->name_count == SONDE_RECENT_NAMES)
        return NULL;
    recent_name *n = &r->names[r->name_count++];
    strcpy(n->name, name);
    hint_assign(r, n);
    return r->last_slot = n;
}

static uint64_t duration(const sonde_span_summary *s) { return s->end_unix_ns - s->start_unix_ns; }

/* The index of the fastest of a name's slowest spans. */
static size_t fastest(const recent_name *slot)
{
    size_t min = 0;
    for (size_t k = 1; k < slot->slow_count; k++)
        if (duration(&slot->slow[k]) < duration(&slot->slow[min]))
            min = k;
    return min;
}

static void name_add(recent_spans *r, const sonde_span *sp)
{
    recent_name *slot = name_slot(r, span_str(sp, sp->name));
    if (!slot)
        return;
    uint64_t d = sp->end_ns - sp->start_ns;
    if (slot->slow_count < SONDE_RECENT_PER_NAME) {
        summarize(sp, &slot->slow[slot->slow_count++]);
        slot->slow_min = fastest(slot);
    } else if (d > duration(&slot->slow[slot->slow_min])) {
        summarize(sp, &slot->slow[slot->slow_min]);
        slot->slow_min = fastest(slot);
    }
    if (slot->hint && slot->slow_count == SONDE_RECENT_PER_NAME)
        atomic_store_explicit(&slot->hint->threshold, duration(&slot->slow[slot->slow_min]) + 1,
                              memory_order_relaxed);
    if (sp->status == SONDE_STATUS_ERROR) {
        summarize(sp, &slot->err[slot->err_next]);
        slot->err_next = (slot->err_next + 1) % SONDE_RECENT_PER_NAME;
        if (slot->err_count < SONDE_RECENT_PER_NAME)
            slot->err_count++;
    }
}

/* ---- a batch ------------------------------------------------------------------------ */

size_t sonde_recent_add(recent_spans *r, void *const *spans, size_t n, void **release)
{
    if (!r->cap) {
        memcpy(release, spans, n * sizeof *spans);
        return n;
    }
    size_t m = 0;
    /* Of a batch longer than the held ring only its last held_cap spans are held, and only
     * its last cap spans are among the latest; the held ones all leave, summarised first
     * (they are older than the batch). */
    size_t first_held = n > r->held_cap ? n - r->held_cap : 0;
    size_t first_older = n > r->cap ? n - r->cap : 0;
    int left_summarised = 0;
    pthread_mutex_lock(&r->mu);
    if (first_held && r->older_cap) {
        for (size_t i = r->held_count; i-- > 0;)
            older_push(r, held_at(r, i));
        left_summarised = 1;
    }
    for (size_t i = 0; i < n; i++) {
        sonde_span *sp = span_unmark(spans[i]);
        int look = span_looks(spans[i]);
        /* The spans looked at were written on other cores: ask for the lines read here (the
         * span's first, then its name in the arena) a few spans ahead, so the misses overlap. */
        if (i + RECENT_AHEAD < n && span_looks(spans[i + RECENT_AHEAD]))
            __builtin_prefetch(span_unmark(spans[i + RECENT_AHEAD]));
        if (i + RECENT_AHEAD / 2 < n && span_looks(spans[i + RECENT_AHEAD / 2]))
            __builtin_prefetch(span_unmark(spans[i + RECENT_AHEAD / 2])->arena);
        if (look)
            name_add(r, sp);
        if (i < first_held) {
            if (i >= first_older)
                older_push(r, sp);
            release[m++] = spans[i];
            continue;
        }
        /* When the ring is full, the span in the next slot leaves it (summarised first). */
        int full = r->held_count == r->held_cap, summarise_out = full && !left_summarised;
        if (!look || span_fits_whole(sp)) {
            if (summarise_out)
                older_push(r, r->held[r->held_next]);
            sonde_span *out = held_put(r, sp);
            if (out)
                release[m++] = out; /* held whole: nothing to trim */
            continue;
        }
        /* Too large to hold whole: a bounded copy, into the span object that leaves. */
        release[m++] = spans[i];
        sonde_span *c = full ? r->held[r->held_next] : sonde_span_alloc();
        if (c && copy_reserve(c) == 0) {
            if (summarise_out)
                older_push(r, c);
            bounded_copy(c, sp);
            held_put(r, c);
        } else if (c && !full) {
            sonde_span_free(c); /* out of memory: the span is not held */
        }
    }
    pthread_mutex_unlock(&r->mu);
    return m;
}

size_t sonde_recent_read(recent_spans *r, sonde_recent_kind kind, sonde_span_summary *out, size_t max)
{
    size_t w = 0;
    pthread_mutex_lock(&r->mu);
    if (kind == SONDE_RECENT_LATEST) {
        for (size_t i = 0; i < r->held_count && w < max; i++)
            summarize(held_at(r, i), &out[w++]);
        for (size_t i = 0; i < r->older_count && w < max; i++)
            out[w++] = r->older[(r->older_next + r->older_cap - 1 - i) % r->older_cap];
    } else {
        for (size_t i = 0; i < r->name_count; i++) {
            recent_name *slot = &r->names[i];
            if (kind == SONDE_RECENT_SLOWEST) {
                for (size_t k = 0; k < slot->slow_count && w < max; k++)
                    out[w++] = slot->slow[k];
            } else {
                for (size_t k = 0; k < slot->err_count && w < max; k++)
                    out[w++] = slot->err[(slot->err_next + SONDE_RECENT_PER_NAME - 1 - k) %
                                         SONDE_RECENT_PER_NAME];
            }
        }
    }
    pthread_mutex_unlock(&r->mu);
    return w;
}
