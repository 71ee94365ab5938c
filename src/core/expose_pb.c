/*
 * expose_pb.c - the Prometheus protobuf exposition: one length-delimited
 * io.prometheus.client.MetricFamily per family (Content-Type
 * application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;
 * encoding=delimited), encoded by hand with the library's protobuf writer
 * (src/trace/pb.c) into one growable buffer per family, then written behind
 * its varint length through the render's output.
 *
 * Mapping (metrics.proto of client_model): counters are COUNTER families
 * named "foo_total" with created_timestamp; gauges GAUGE; summaries SUMMARY
 * (quantiles, count, sum, created_timestamp); histograms HISTOGRAM with
 * their classic buckets (cumulative, +Inf left implicit as client_golang
 * does) and, for native ones, schema, zero threshold and count, and both
 * sides as spans (offset from the previous span's end, length; gaps of up
 * to two empty buckets are filled rather than opening a span) with
 * delta-encoded counts; an empty native histogram with a zero threshold of 0
 * carries one empty span so that a reader still knows it for native. Info
 * families are GAUGE "foo_info" = 1, statesets GAUGE with the state label,
 * collector families their type (untyped: UNTYPED). Exemplars (exemplar.h)
 * go on counters and classic buckets (an explicit +Inf bucket when that one
 * has an exemplar), labelled trace_id and span_id in hex, with their
 * timestamp. The family walk and its locking are expose.c's.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../trace/pb.h"
#include "exemplar.h"
#include "native_pb.h"
#include "render.h"

enum { PB_COUNTER = 0, PB_GAUGE = 1, PB_SUMMARY = 2, PB_UNTYPED = 3, PB_HISTOGRAM = 4 };


static int pb_type(sonde_type t)
{
    switch (t) {
    case SONDE_COUNTER: return PB_COUNTER;
    case SONDE_HISTOGRAM: return PB_HISTOGRAM;
    case SONDE_SUMMARY: return PB_SUMMARY;
    case SONDE_UNTYPED: return PB_UNTYPED;
    default: return PB_GAUGE;
    }
}

static void family_header(sonde_render *r, const char *name, const char *suffix, const char *help, sonde_type t)
{
    r->pb.len = 0;
    size_t n = strlen(name), k = strlen(suffix);
    char stack[256], *full = n + k <= sizeof stack ? stack : malloc(n + k);
    if (!full) {
        r->pb.failed = 1;
        return;
    }
    memcpy(full, name, n);
    memcpy(full + n, suffix, k);
    sonde_pb_bytes(&r->pb, 1, full, n + k); /* name = 1: the family name and its suffix */
    if (full != stack)
        free(full);
    if (help && *help)
        sonde_pb_string(&r->pb, 2, help);
    sonde_pb_varint(&r->pb, 3, (uint64_t)pb_type(t));
}

/* The family's bytes into the output behind their length (the delimited framing, a
 * varint outside any message). */
static void family_flush(sonde_render *r)
{
    if (r->pb.failed)
        return;
    char len[10];
    size_t n = 0;
    uint64_t v = r->pb.len;
    while (v >= 0x80) {
        len[n++] = (char)(v | 0x80);
        v >>= 7;
    }
    len[n++] = (char)v;
    sonde_out_mem(&r->out, len, n);
    sonde_out_mem(&r->out, r->pb.p ? r->pb.p : "", r->pb.len);
    r->pb.len = 0;
}

static void label_pair(pb_buf *b, const char *name, const char *value, size_t len)
{
    size_t m = sonde_pb_open(b, 1);
    sonde_pb_string(b, 1, name);
    sonde_pb_bytes(b, 2, value, len);
    sonde_pb_close(b, m);
}

static void global_labels(sonde_render *r)
{
    for (size_t i = 0; i < r->cfg->global_label_count; i++) {
        const sonde_label *l = &r->cfg->global_labels[i];
        label_pair(&r->pb, l->name, l->value, strlen(l->value));
    }
}

static void child_labels(sonde_render *r, const sonde_family *f, const sonde_child *c)
{
    global_labels(r);
    const char *p = c->blob;
    for (size_t i = 0; i < f->label_count; i++) {
        size_t len = strlen(p);
        label_pair(&r->pb, f->label_names[i], p, len);
        p += len + 1;
    }
}

/* google.protobuf.Timestamp { int64 seconds = 1; int32 nanos = 2; } */
static void timestamp(pb_buf *b, uint32_t field, double seconds)
{
    if (!(seconds > 0) || seconds > 9e15)
        return;
    double whole = floor(seconds);
    size_t m = sonde_pb_open(b, field);
    sonde_pb_varint(b, 1, (uint64_t)whole);
    int32_t nanos = (int32_t)((seconds - whole) * 1e9);
    if (nanos > 0)
        sonde_pb_varint(b, 2, (uint64_t)(nanos > 999999999 ? 999999999 : nanos));
    sonde_pb_close(b, m);
}

/* Exemplar { repeated LabelPair label = 1; double value = 2; Timestamp timestamp = 3; } */
static void exemplar_msg(pb_buf *b, uint32_t field, uint32_t cell)
{
    sonde_exemplar ex;
    if (!sonde_exemplar_load(cell, &ex))
        return;
    static const char digits[] = "0123456789abcdef";
    char trace_hex[32], span_hex[16];
    for (int i = 0; i < 16; i++) {
        trace_hex[2 * i] = digits[ex.trace_id[i] >> 4];
        trace_hex[2 * i + 1] = digits[ex.trace_id[i] & 15];
    }
    for (int i = 0; i < 8; i++) {
        span_hex[2 * i] = digits[ex.span_id[i] >> 4];
        span_hex[2 * i + 1] = digits[ex.span_id[i] & 15];
    }
    size_t m = sonde_pb_open(b, field);
    label_pair(b, "trace_id", trace_hex, 32);
    label_pair(b, "span_id", span_hex, 16);
    sonde_pb_double(b, 2, ex.value);
    size_t t = sonde_pb_open(b, 3);
    sonde_pb_varint(b, 1, ex.unix_ns / 1000000000u);
    if (ex.unix_ns % 1000000000u)
        sonde_pb_varint(b, 2, ex.unix_ns % 1000000000u);
    sonde_pb_close(b, t);
    sonde_pb_close(b, m);
}

static void value_msg(pb_buf *b, uint32_t field, double v)
{
    size_t m = sonde_pb_open(b, field);
    sonde_pb_double(b, 1, v);
    sonde_pb_close(b, m);
}

static void histogram_msg(sonde_render *r, const sonde_family *f, sonde_child *c)
{
    pb_buf *b = &r->pb;
    double *v = r->values;
    int classic = !(f->native && f->native->only);
    size_t nb = classic ? f->bound_count : 0;
    for (uint32_t i = 0; classic && i <= nb; i++) /* classic first, then the native count */
        v[i] = (double)sonde_cells_sum_u64(c->cell + i);
    uint64_t count = 0;
    double sum = 0;
    const sonde_native_snap *s = &r->snap;
    if (f->native) {
        if (sonde_native_snapshot(c, &r->snap))
            r->scratch_err = 1;
        count = s->count;
        sum = s->sum;
    } else {
        for (uint32_t i = 0; i <= nb; i++)
            count += (uint64_t)v[i];
        sum = sonde_hist_sum(c);
    }
    size_t m = sonde_pb_open(b, 7);
    sonde_pb_varint(b, 1, count);
    sonde_pb_double(b, 2, sum);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < nb; i++) {
        cumulative += (uint64_t)v[i];
        size_t bm = sonde_pb_open(b, 3);
        sonde_pb_varint(b, 1, cumulative < count ? cumulative : count);
        sonde_pb_double(b, 2, f->bounds[i]);
        exemplar_msg(b, 3, c->cell + (uint32_t)i);
        sonde_pb_close(b, bm);
    }
    sonde_exemplar ex;
    if (classic && sonde_exemplar_load(c->cell + (uint32_t)nb, &ex)) { /* +Inf, for its exemplar */
        size_t bm = sonde_pb_open(b, 3);
        sonde_pb_varint(b, 1, count);
        sonde_pb_double(b, 2, INFINITY);
        exemplar_msg(b, 3, c->cell + (uint32_t)nb);
        sonde_pb_close(b, bm);
    }
    if (f->native) {
        sonde_pb_varint(b, 5, sonde_pb_zigzag(s->schema));
        sonde_pb_double(b, 6, s->zero_threshold);
        sonde_pb_varint(b, 7, s->zero_count);
        sonde_native_pb_side(b, s->neg, s->neg_n, 9, 10, 0);
        sonde_native_pb_side(b, s->pos, s->pos_n, 12, 13, 0);
        if (!s->pos_n && !s->neg_n && s->zero_threshold == 0 && !s->zero_count) {
            size_t sm = sonde_pb_open(b, 12); /* an empty span: still a native histogram */
            sonde_pb_close(b, sm);
        }
    }
    timestamp(b, 15, c->created);
    sonde_pb_close(b, m);
}

static void summary_msg(sonde_render *r, const sonde_family *f, sonde_child *c)
{
    pb_buf *b = &r->pb;
    double q[SONDE_MAX_QUANTILES];
    uint64_t count;
    double sum;
    sonde_summary_snapshot(c, q, &count, &sum);
    size_t m = sonde_pb_open(b, 4);
    sonde_pb_varint(b, 1, count);
    sonde_pb_double(b, 2, sum);
    for (size_t i = 0; i < f->quantile_count; i++) {
        size_t qm = sonde_pb_open(b, 3);
        sonde_pb_double(b, 1, f->quantiles[i].quantile);
        sonde_pb_double(b, 2, q[i]);
        sonde_pb_close(b, qm);
    }
    timestamp(b, 4, c->created);
    sonde_pb_close(b, m);
}

/* One Metric of a registered family; fn_value for scrape-time values. */
static void metric_msg(sonde_render *r, const sonde_family *f, sonde_child *c, double fn_value)
{
    pb_buf *b = &r->pb;
    if (f->type == SONDE_STATESET) { /* one Metric per state */
        uint64_t bits = atomic_load_explicit(&c->v.states, memory_order_relaxed);
        for (size_t i = 0; i < f->state_count; i++) {
            size_t m = sonde_pb_open(b, 4);
            child_labels(r, f, c);
            label_pair(b, f->name, f->states[i], strlen(f->states[i]));
            value_msg(b, 2, (double)((bits >> i) & 1));
            sonde_pb_close(b, m);
        }
        return;
    }
    size_t m = sonde_pb_open(b, 4);
    child_labels(r, f, c);
    switch (f->type) {
    case SONDE_COUNTER: {
        size_t cm = sonde_pb_open(b, 3);
        sonde_pb_double(b, 1, f->fn ? fn_value : sonde_counter_cells_value(c->cell));
        if (!f->fn) {
            exemplar_msg(b, 2, c->cell);
            timestamp(b, 3, c->created);
        }
        sonde_pb_close(b, cm);
        break;
    }
    case SONDE_GAUGE:
        value_msg(b, 2, f->fn ? fn_value : sonde_gauge_value((sonde_gauge *)c));
        break;
    case SONDE_HISTOGRAM:
        histogram_msg(r, f, c);
        break;
    case SONDE_SUMMARY:
        summary_msg(r, f, c);
        break;
    default: /* info */
        value_msg(b, 2, 1);
        break;
    }
    sonde_pb_close(b, m);
}

static const char *name_suffix(sonde_type t)
{
    return t == SONDE_COUNTER ? "_total" : t == SONDE_INFO ? "_info" : "";
}

void sonde_pb_render_family(sonde_render *r, sonde_family *f)
{
    if (f->fn) { /* one child; fn runs under this family's lock so that unregister waits */
        double v = 0;
        pthread_mutex_lock(&f->lock);
        int live = !f->unregistered;
        if (live)
            v = f->fn(f->fn_ud);
        pthread_mutex_unlock(&f->lock);
        if (live) {
            family_header(r, f->name, name_suffix(f->type), f->help, f->type);
            metric_msg(r, f, f->solo, v);
            family_flush(r);
        }
        return;
    }
    sonde_family_walk w;
    sonde_family_walk_begin(f, &w);
    sonde_child *c = sonde_family_walk_next(&w);
    if (c) {
        family_header(r, f->name, name_suffix(f->type), f->help, f->type);
        for (; c && !r->pb.failed; c = sonde_family_walk_next(&w))
            metric_msg(r, f, c, 0);
        family_flush(r);
    }
    sonde_family_walk_end(f);
}

/* ---- collector families (emit.c) --------------------------------------- */

void sonde_pb_family_begin(sonde_render *r, const char *name, const char *help, sonde_type type)
{
    sonde_pb_family_end(r);
    family_header(r, name, name_suffix(type), help, type);
    r->pb_type = type;
    r->pb_open = 1;
}

void sonde_pb_emit_sample(sonde_render *r, const sonde_label *labels, size_t n, double value)
{
    pb_buf *b = &r->pb;
    size_t m = sonde_pb_open(b, 4);
    global_labels(r);
    for (size_t i = 0; i < n; i++)
        label_pair(b, labels[i].name, labels[i].value, strlen(labels[i].value));
    sonde_type t = r->pb_type;
    value_msg(b, t == SONDE_COUNTER ? 3 : t == SONDE_UNTYPED ? 5 : 2, value);
    sonde_pb_close(b, m);
}

void sonde_pb_family_end(sonde_render *r)
{
    if (!r->pb_open)
        return;
    r->pb_open = 0;
    family_flush(r);
}
