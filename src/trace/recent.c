/*
 * recent.c - finished spans kept in memory for a console, as OpenCensus'
 * tracez did: a ring of the latest spans, and per span name (the first
 * SONDE_RECENT_NAMES names seen) its slowest and its latest erroring spans.
 * Fixed-size summaries only, allocated once: filled by the export thread
 * under a mutex that only readers (sonde_tracer_recent) share. A span is
 * summarised only where it stays: the latest ring keeps the end of a batch,
 * a name keeps a span that is slower than its fastest kept one, or erring.
 *
 * For a trace view, the latest RECENT_DETAILS_MAX spans (at most the ring's
 * size) are also kept whole in fixed slots (recent_detail): at most
 * RECENT_DETAIL_ATTRS attributes, RECENT_DETAIL_EVENTS events with
 * RECENT_DETAIL_EVENT_ATTRS attributes between them and RECENT_DETAIL_ARENA
 * bytes of strings (values cut at RECENT_DETAIL_VALUE bytes); what does not
 * fit is counted as dropped. About 2.6 KiB a slot (the span object and its
 * arrays), 512 slots at most: 1.3 MiB, 670 KiB with the default 256 spans.
 */
#include <stdlib.h>
#include <string.h>

#include "recent.h"

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

#define RECENT_DETAILS_MAX 512

int sonde_recent_init(recent_spans *r, size_t cap)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    r->cap = cap;
    r->detail_cap = cap < RECENT_DETAILS_MAX ? cap : RECENT_DETAILS_MAX;
    if (cap && (!(r->latest = calloc(cap, sizeof *r->latest)) ||
                !(r->details = calloc(r->detail_cap, sizeof *r->details)))) {
        free(r->latest);
        pthread_mutex_destroy(&r->mu);
        return SONDE_ENOMEM;
    }
    return SONDE_OK;
}

void sonde_recent_destroy(recent_spans *r)
{
    free(r->details);
    free(r->latest);
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

/* ---- whole spans for the trace view ------------------------------------------- */

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

static void detail_copy(recent_detail *d, const sonde_span *s)
{
    sonde_span *c = &d->span;
    memset(c, 0, sizeof *c);
    c->ctx = s->ctx;
    memcpy(c->parent_id, s->parent_id, 8);
    c->has_parent = s->has_parent;
    c->recording = 1;
    c->kind = s->kind;
    c->status = s->status;
    c->start_ns = s->start_ns;
    c->end_ns = s->end_ns;
    c->arena = d->arena;
    c->attrs = d->attrs;
    c->events = d->events;
    c->ev_attrs = d->ev_attrs;
    d->arena[0] = '\0';
    arena_writer w = {d->arena, 1};
    c->name = arena_put(&w, span_str(s, s->name), SONDE_SPAN_SUMMARY_NAME - 1);
    c->status_msg = arena_put(&w, span_str(s, s->status_msg), RECENT_DETAIL_VALUE);
    c->dropped_attrs = s->dropped_attrs;
    for (uint32_t i = 0; i < s->attr_count; i++) {
        if (c->attr_count < RECENT_DETAIL_ATTRS && attr_copy(&w, s, &s->attrs[i], &d->attrs[c->attr_count]))
            c->attr_count++;
        else
            c->dropped_attrs++;
    }
    c->dropped_events = s->dropped_events;
    for (uint32_t i = 0; i < s->event_count; i++) {
        const span_event *e = &s->events[i];
        span_event *o = &d->events[c->event_count];
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
                attr_copy(&w, s, &s->ev_attrs[e->first_attr + k], &d->ev_attrs[c->ev_attr_count])) {
                c->ev_attr_count++;
                o->attr_count++;
            } else {
                o->dropped_attrs++;
            }
        }
    }
    c->arena_len = c->arena_cap = w.len;
}

size_t sonde_recent_trace(recent_spans *r, const uint8_t trace_id[16], sonde_span_visit_fn fn,
                          void *ud)
{
    size_t n = 0;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->detail_count; i++) {
        const recent_detail *d = &r->details[(r->detail_next + r->detail_cap - 1 - i) % r->detail_cap];
        if (memcmp(d->span.ctx.trace_id, trace_id, 16) == 0) {
            fn(ud, &d->span);
            n++;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return n;
}

/* ---- summaries ------------------------------------------------------------------ */

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

void sonde_recent_add(recent_spans *r, const sonde_span *const *spans, size_t n)
{
    if (!r->cap)
        return;
    /* Of a batch longer than the ring only its last cap spans can stay in it: the others
     * are only weighed against the per-name slots, and summarised only when they stay. */
    size_t first_latest = n > r->cap ? n - r->cap : 0;
    size_t first_detail = n > r->detail_cap ? n - r->detail_cap : 0;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < n; i++) {
        const sonde_span *sp = spans[i];
        if (i >= first_latest) {
            summarize(sp, &r->latest[r->next]);
            r->next = (r->next + 1) % r->cap;
            if (r->count < r->cap)
                r->count++;
        }
        if (i >= first_detail) {
            detail_copy(&r->details[r->detail_next], sp);
            r->detail_next = (r->detail_next + 1) % r->detail_cap;
            if (r->detail_count < r->detail_cap)
                r->detail_count++;
        }
        recent_name *slot = name_slot(r, span_str(sp, sp->name));
        if (!slot)
            continue;
        uint64_t d = sp->end_ns - sp->start_ns;
        if (slot->slow_count < SONDE_RECENT_PER_NAME) {
            summarize(sp, &slot->slow[slot->slow_count++]);
            slot->slow_min = fastest(slot);
        } else if (d > duration(&slot->slow[slot->slow_min])) {
            summarize(sp, &slot->slow[slot->slow_min]);
            slot->slow_min = fastest(slot);
        }
        if (sp->status == SONDE_STATUS_ERROR) {
            summarize(sp, &slot->err[slot->err_next]);
            slot->err_next = (slot->err_next + 1) % SONDE_RECENT_PER_NAME;
            if (slot->err_count < SONDE_RECENT_PER_NAME)
                slot->err_count++;
        }
    }
    pthread_mutex_unlock(&r->mu);
}

size_t sonde_recent_read(recent_spans *r, sonde_recent_kind kind, sonde_span_summary *out, size_t max)
{
    size_t w = 0;
    pthread_mutex_lock(&r->mu);
    if (kind == SONDE_RECENT_LATEST) {
        for (size_t i = 0; i < r->count && w < max; i++)
            out[w++] = r->latest[(r->next + r->cap - 1 - i) % r->cap];
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
