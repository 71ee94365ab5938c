/*
 * encode_remote_write.c - a registry as a Prometheus remote write 1.0 WriteRequest
 * (sonde/push.h): WriteRequest{repeated TimeSeries timeseries = 1},
 * TimeSeries{repeated Label labels = 1; repeated Sample samples = 2},
 * Label{string name = 1; string value = 2}, Sample{double value = 1;
 * int64 timestamp = 2}. One sample per series, all at one timestamp. A
 * native histogram is one series named after its family carrying a
 * TimeSeries.histograms (= 4) Histogram instead of samples; a histogram with
 * classic buckets too also sends its _bucket/_sum/_count series.
 *
 * It sits with the other protobuf encoders, next to pb.c, whose writer it
 * uses. It walks the families as the exposition does (expose.c: a snapshot
 * of the family array, each child list walked without a lock, cells summed
 * without a lock). The label order is worked out once per family: the names
 * of a series of the family (__name__, its labels, the global labels, the
 * external labels, le / quantile / the stateset's label) sorted by byte
 * order, each slot saying where its value comes from and holding its name
 * field encoded once; every series of the family then only fills in values.
 * Each TimeSeries, Label and Sample is sized before it is written (they are
 * small and many): a series takes one reservation of the buffer and is
 * written straight into it with pb.c's inline helpers, no length slot
 * patched, no body moved. Series are named as the text format names them; a label
 * with an empty value is left out, as Prometheus treats it as absent.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "native_pb.h"
#include "render.h"
#include "sonde/push.h"
#include "trace_internal.h"

enum { FROM_NAME, FROM_CHILD, FROM_GLOBAL, FROM_EXTRA, FROM_EXTRA_LABEL };

typedef struct slot {
    const char *name;
    int from;
    size_t index;
    size_t key_at, key_len; /* its name field (Label.name), encoded once per family */
    const char *value;      /* the current series' value */
    size_t value_len;
} slot;

typedef struct rw_family {
    slot *slots;
    size_t n;
    pb_buf keys;  /* the slots' encoded name fields */
    const char *values[SONDE_MAX_LABELS + 1]; /* the current child's label values */
    size_t lengths[SONDE_MAX_LABELS + 1];
    const sonde_label *global, *extra;
    char series_name[300]; /* the family name, then the suffix */
    size_t base_len;
    int64_t ts;
    size_t sample_body; /* Sample{value, timestamp}: the same size for every series */
    pb_buf *b;
    size_t samples;
    sonde_native_snap snap; /* a native histogram's buckets, reused across its children */
    size_t *bound_lens;     /* a histogram's bound texts, measured once */
} rw_family;

static int by_name(const void *a, const void *b)
{
    return strcmp(((const slot *)a)->name, ((const slot *)b)->name);
}

static int taken(const slot *s, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s[i].name, name) == 0)
            return 1;
    return 0;
}

/* The sorted label slots of f's series, with their name fields encoded; extra_label: "le",
 * "quantile", a stateset's name or NULL. */
static int family_slots(rw_family *w, const sonde_family *f, const sonde_config *cfg,
                        const sonde_label *extra, size_t extra_count, const char *extra_label)
{
    size_t cap = 2 + f->label_count + cfg->global_label_count + extra_count;
    slot *s = malloc(cap * sizeof *s);
    if (!s)
        return SONDE_ENOMEM;
    size_t n = 0;
    s[n++] = (slot){"__name__", FROM_NAME, 0, 0, 0, NULL, 0};
    for (size_t i = 0; i < f->label_count; i++)
        s[n++] = (slot){f->label_names[i], FROM_CHILD, i, 0, 0, NULL, 0};
    if (extra_label)
        s[n++] = (slot){extra_label, FROM_EXTRA_LABEL, 0, 0, 0, NULL, 0};
    for (size_t i = 0; i < cfg->global_label_count; i++)
        if (!taken(s, n, cfg->global_labels[i].name))
            s[n++] = (slot){cfg->global_labels[i].name, FROM_GLOBAL, i, 0, 0, NULL, 0};
    for (size_t i = 0; i < extra_count; i++) /* a series' own label wins */
        if (!taken(s, n, extra[i].name))
            s[n++] = (slot){extra[i].name, FROM_EXTRA, i, 0, 0, NULL, 0};
    qsort(s, n, sizeof *s, by_name);
    for (size_t i = 0; i < n; i++) {
        s[i].key_at = w->keys.len;
        sonde_pb_string(&w->keys, 1, s[i].name);
        s[i].key_len = w->keys.len - s[i].key_at;
    }
    w->slots = s;
    w->n = n;
    w->global = cfg->global_labels;
    w->extra = extra;
    return w->keys.failed ? SONDE_ENOMEM : SONDE_OK;
}

/* A length-delimited field of n bytes: its size with the tag (field numbers below 16). */
static size_t field_size(size_t n) { return 1 + sonde_pb_varint_size(n) + n; }

/* The current series' labels (the family's name + suffix of sl bytes, xvalue of xlen bytes
 * for the extra label slot) into the slots; returns the size of their Label fields. */
static size_t fill_labels(rw_family *w, const char *suffix, size_t sl, const char *xvalue, size_t xlen)
{
    memcpy(w->series_name + w->base_len, suffix, sl + 1);
    size_t name_len = w->base_len + sl, size = 0;
    for (size_t i = 0; i < w->n; i++) {
        slot *s = &w->slots[i];
        switch (s->from) {
        case FROM_NAME: s->value = w->series_name, s->value_len = name_len; break;
        case FROM_CHILD: s->value = w->values[s->index], s->value_len = w->lengths[s->index]; break;
        case FROM_GLOBAL: s->value = w->global[s->index].value, s->value_len = strlen(s->value); break;
        case FROM_EXTRA: s->value = w->extra[s->index].value, s->value_len = strlen(s->value); break;
        default: s->value = xvalue, s->value_len = xlen; break;
        }
        if (s->value_len) /* an empty value is no label (Prometheus drops it too) */
            size += field_size(s->key_len + field_size(s->value_len));
    }
    return size;
}

/* The Label fields fill_labels sized, written at p (the room reserved); returns the end. */
static char *put_labels(const rw_family *w, char *p)
{
    for (size_t i = 0; i < w->n; i++) {
        const slot *s = &w->slots[i];
        if (!s->value_len)
            continue;
        *p++ = 1 << 3 | 2;
        p = sonde_pb_put_varint(p, s->key_len + field_size(s->value_len));
        p = sonde_pb_put_raw(p, w->keys.p + s->key_at, s->key_len);
        p = sonde_pb_put_bytes(p, 2, s->value, s->value_len);
    }
    return p;
}

/* One TimeSeries: the family's name + suffix (sl bytes), xvalue (xlen bytes) for the extra
 * label slot. Sizes are added up first, so every message is written with its length at once. */
static void series_len(rw_family *w, const char *suffix, size_t sl, const char *xvalue, size_t xlen,
                       double v)
{
    pb_buf *b = w->b;
    size_t body = field_size(w->sample_body) + fill_labels(w, suffix, sl, xvalue, xlen);
    /* the whole TimeSeries in one reservation */
    if (sonde_buf_reserve(b, field_size(body)))
        return;
    char *p = b->p + b->len, *start = p;
    *p++ = 1 << 3 | 2;
    p = sonde_pb_put_varint(p, body);
    p = put_labels(w, p);
    *p++ = 2 << 3 | 2;
    p = sonde_pb_put_varint(p, w->sample_body);
    *p++ = 1 << 3 | 1; /* Sample.value: fixed64 */
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    for (int i = 0; i < 8; i++)
        *p++ = (char)(bits >> (8 * i));
    *p++ = 2 << 3 | 0; /* Sample.timestamp: varint */
    p = sonde_pb_put_varint(p, (uint64_t)w->ts);
    b->len += (size_t)(p - start);
    w->samples++;
}

/* series_len of C strings (xvalue may be NULL); inline, so a literal suffix is measured
 * at compile time. */
static inline void series(rw_family *w, const char *suffix, const char *xvalue, double v)
{
    series_len(w, suffix, strlen(suffix), xvalue, xvalue ? strlen(xvalue) : 0, v);
}

/* A native histogram: one TimeSeries named after the family holding a Histogram
 * (TimeSeries.histograms = 4) with integer counts, its buckets as spans and packed deltas
 * (native_pb.c, as the protobuf exposition writes them). The reset hint stays UNKNOWN:
 * the receiver detects resets of a counter histogram itself. */
static void native_series(rw_family *w, const sonde_native_snap *s)
{
    pb_buf *b = w->b;
    size_t labels = fill_labels(w, "", 0, NULL, 0);
    size_t ts = sonde_pb_open(b, 1);
    if (sonde_buf_reserve(b, labels))
        return;
    b->len += (size_t)(put_labels(w, b->p + b->len) - (b->p + b->len));
    size_t h = sonde_pb_open(b, 4);
    sonde_pb_varint(b, 1, s->count);
    sonde_pb_double(b, 3, s->sum);
    sonde_pb_varint(b, 4, sonde_pb_zigzag(s->schema));
    sonde_pb_double(b, 5, s->zero_threshold);
    sonde_pb_varint(b, 6, s->zero_count);
    sonde_native_pb_side(b, s->neg, s->neg_n, 8, 9, 1);
    sonde_native_pb_side(b, s->pos, s->pos_n, 11, 12, 1);
    sonde_pb_varint(b, 15, (uint64_t)w->ts);
    sonde_pb_close(b, h);
    sonde_pb_close(b, ts);
    w->samples++;
}

static void child_series(rw_family *w, const sonde_family *f, sonde_child *c, double fn_value)
{
    const char *p = c->blob;
    for (size_t i = 0; i < f->label_count; i++) {
        w->values[i] = p;
        w->lengths[i] = strlen(p);
        p += w->lengths[i] + 1;
    }
    switch (f->type) {
    case SONDE_COUNTER:
        series(w, "_total", NULL, f->fn ? fn_value : sonde_counter_cells_value(c->cell));
        break;
    case SONDE_GAUGE:
        series(w, "", NULL, f->fn ? fn_value : sonde_gauge_value((sonde_gauge *)c));
        break;
    case SONDE_HISTOGRAM: {
        if (f->native) {
            if (sonde_native_snapshot(c, &w->snap) != SONDE_OK) {
                w->b->failed = 1;
                break;
            }
            native_series(w, &w->snap);
            if (f->native->only)
                break;
        }
        double cumulative = 0;
        for (uint32_t i = 0; i < f->bound_count; i++) {
            cumulative += (double)sonde_cells_sum_u64(c->cell + i);
            series_len(w, "_bucket", 7, f->bound_text[i], w->bound_lens[i], cumulative);
        }
        cumulative += (double)sonde_cells_sum_u64(c->cell + (uint32_t)f->bound_count);
        series(w, "_bucket", "+Inf", cumulative);
        series(w, "_sum", NULL, sonde_hist_sum(c));
        series(w, "_count", NULL, cumulative);
        break;
    }
    case SONDE_SUMMARY: {
        double q[SONDE_MAX_QUANTILES];
        uint64_t count;
        double sum;
        sonde_summary_snapshot(c, q, &count, &sum);
        for (size_t i = 0; i < f->quantile_count; i++) {
            char qtext[32];
            sonde_format_double(f->quantiles[i].quantile, qtext);
            series(w, "", qtext, q[i]);
        }
        series(w, "_sum", NULL, sum);
        series(w, "_count", NULL, (double)count);
        break;
    }
    case SONDE_INFO:
        series(w, "_info", NULL, 1);
        break;
    case SONDE_STATESET: {
        uint64_t bits = atomic_load_explicit(&c->v.states, memory_order_relaxed);
        for (size_t i = 0; i < f->state_count; i++)
            series(w, "", f->states[i], (double)((bits >> i) & 1));
        break;
    }
    default:
        series(w, "", NULL, fn_value);
        break;
    }
}

static int encode_family(pb_buf *b, sonde_family *f, const sonde_config *cfg,
                         const sonde_label *extra, size_t extra_count, int64_t ts, size_t *samples)
{
    rw_family w = {.b = b, .ts = ts};
    w.sample_body = 9 + 1 + sonde_pb_varint_size((uint64_t)ts);
    const char *xl = f->type == SONDE_HISTOGRAM ? "le"
                     : f->type == SONDE_SUMMARY ? "quantile"
                     : f->type == SONDE_STATESET ? f->name
                                                 : NULL;
    size_t nl = strlen(f->name);
    if (nl + 8 > sizeof w.series_name || f->label_count > SONDE_MAX_LABELS)
        return SONDE_OK; /* cannot happen: names are bounded at registration */
    memcpy(w.series_name, f->name, nl);
    w.base_len = nl;
    int rc = family_slots(&w, f, cfg, extra, extra_count, xl);
    if (rc == SONDE_OK && f->type == SONDE_HISTOGRAM && f->bound_count) {
        if ((w.bound_lens = malloc(f->bound_count * sizeof *w.bound_lens)))
            for (size_t i = 0; i < f->bound_count; i++)
                w.bound_lens[i] = strlen(f->bound_text[i]);
        else
            rc = SONDE_ENOMEM;
    }
    if (rc) {
        free(w.slots);
        free(w.keys.p);
        return rc;
    }
    if (f->fn) { /* one child; fn runs under the family's lock so that unregister waits */
        double v = 0;
        pthread_mutex_lock(&f->lock);
        int live = !f->unregistered;
        if (live)
            v = f->fn(f->fn_ud);
        pthread_mutex_unlock(&f->lock);
        if (live)
            child_series(&w, f, f->solo, v);
    } else {
        sonde_family_walk walk;
        sonde_family_walk_begin(f, &walk);
        for (sonde_child *c; (c = sonde_family_walk_next(&walk)) && !b->failed;)
            child_series(&w, f, c, 0);
        sonde_family_walk_end(f);
    }
    free(w.slots);
    free(w.keys.p);
    free(w.bound_lens);
    sonde_native_snap_free(&w.snap);
    *samples += w.samples;
    return SONDE_OK;
}

/* ---- custom collectors (process_*, sonde_spans_*, the host's own) ---------------------
 * A collector emits through the exposition's emitter, which validates and renders text
 * 0.0.4 lines. They are rendered into memory exactly as a scrape would render them (global
 * labels included, families already registered refused), then each sample line is read
 * back: name{k="v",...} value, values unescaped in place. */

/* The rendering's write callback: into a sonde_buf, NUL-terminated. */
static int sink_write(void *ud, const char *data, size_t n)
{
    sonde_buf *t = ud;
    if (sonde_buf_reserve(t, n + 1))
        return 1;
    memcpy(t->p + t->len, data, n);
    t->len += n;
    t->p[t->len] = '\0';
    return 0;
}

/* One TimeSeries of labels sorted by name (empty values left out). */
static void loose_series(pb_buf *b, const sonde_label *l, size_t n, double v, int64_t ts,
                         size_t sample_body)
{
    size_t body = field_size(sample_body);
    for (size_t i = 0; i < n; i++)
        if (l[i].value[0])
            body += field_size(field_size(strlen(l[i].name)) + field_size(strlen(l[i].value)));
    sonde_pb_header(b, 1, body);
    for (size_t i = 0; i < n; i++) {
        if (!l[i].value[0])
            continue;
        sonde_pb_header(b, 1, field_size(strlen(l[i].name)) + field_size(strlen(l[i].value)));
        sonde_pb_string(b, 1, l[i].name);
        sonde_pb_string(b, 2, l[i].value);
    }
    sonde_pb_header(b, 2, sample_body);
    sonde_pb_double(b, 1, v);
    sonde_pb_varint(b, 2, (uint64_t)ts);
}

static int by_label_name(const void *a, const void *b)
{
    return strcmp(((const sonde_label *)a)->name, ((const sonde_label *)b)->name);
}

/* Read one rendered value back, unescaping in place; returns the end (after the quote). */
static char *unescape(char *p)
{
    char *w = p;
    for (; *p && *p != '"'; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            *w++ = *p == 'n' ? '\n' : *p;
        } else {
            *w++ = *p;
        }
    }
    if (*p == '"')
        p++;
    *w = '\0';
    return p;
}

/* The sample lines of the collectors' text into b. */
static int parse_lines(pb_buf *b, char *text, const sonde_label *extra, size_t extra_count,
                       int64_t ts, size_t *samples)
{
    size_t cap = 2 + SONDE_MAX_LABELS + SONDE_MAX_GLOBAL_LABELS + extra_count;
    sonde_label *l = malloc(cap * sizeof *l);
    if (!l)
        return SONDE_ENOMEM;
    size_t sample_body = 9 + 1 + sonde_pb_varint_size((uint64_t)ts);
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (line[0] == '#' || !line[0])
            continue;
        size_t n = 0;
        char *p = line + strcspn(line, "{ ");
        int labelled = *p == '{';
        if (!*p)
            continue;
        *p++ = '\0';
        l[n++] = (sonde_label){"__name__", line};
        int whole = 1;
        while (labelled && *p && *p != '}' && whole) {
            char *name = p, *eq = strchr(p, '=');
            if (!eq || eq[1] != '"' || n + extra_count + 1 >= cap) {
                whole = 0; /* not a line the emitter writes: left out, never half read */
                break;
            }
            *eq = '\0';
            char *value = eq + 2;
            p = unescape(value);
            l[n++] = (sonde_label){name, value};
            if (*p == ',')
                p++;
        }
        if (!whole || (labelled && *p++ != '}'))
            continue;
        while (*p == ' ')
            p++;
        char *end;
        double v = sonde_strtod(p, &end);
        if (end == p)
            continue;
        size_t own = n;
        for (size_t i = 0; i < extra_count; i++) { /* a series' own label wins */
            int dup = 0;
            for (size_t j = 0; j < own && !dup; j++)
                dup = strcmp(l[j].name, extra[i].name) == 0;
            if (!dup)
                l[n++] = extra[i];
        }
        qsort(l, n, sizeof *l, by_label_name);
        loose_series(b, l, n, v, ts, sample_body);
        (*samples)++;
    }
    free(l);
    return SONDE_OK;
}

static int encode_collectors(pb_buf *b, sonde_registry *reg, sonde_family **fams, size_t count,
                             const sonde_label *extra, size_t extra_count, int64_t ts,
                             size_t *samples)
{
    sonde_render *r = calloc(1, sizeof *r);
    if (!r)
        return SONDE_ENOMEM;
    sonde_buf t = {0};
    r->out.write = sink_write;
    r->out.ud = &t;
    r->global = reg->global_text;
    r->global_len = r->global ? strlen(r->global) : 0;
    r->fams = fams;
    r->fam_count = count;
    sonde_render_collectors(r, reg);
    sonde_out_flush(&r->out);
    int rc = t.failed || r->scratch_err ? SONDE_ENOMEM : SONDE_OK;
    free(r->scratch);
    free(r);
    if (rc == SONDE_OK && t.p)
        rc = parse_lines(b, t.p, extra, extra_count, ts, samples);
    free(t.p);
    return rc;
}

int sonde_remote_write_encode(sonde_registry *reg, const sonde_label *extra, size_t extra_count,
                              int64_t timestamp_ms, char **out, size_t *len, size_t *samples)
{
    if (samples)
        *samples = 0;
    if (!reg || !out || !len || (extra_count && !extra))
        return SONDE_EINVAL;
    *out = NULL;
    *len = 0;
    for (size_t i = 0; i < extra_count; i++)
        if (!extra[i].name || !sonde_valid_label_name(extra[i].name) ||
            strncmp(extra[i].name, "__", 2) == 0 || !extra[i].value ||
            !sonde_valid_utf8(extra[i].value, strlen(extra[i].value)))
            return SONDE_EINVAL;
    pb_buf b = {0};
    size_t n = 0;
    int rc = SONDE_OK;
    /* As large as the last encoding, and a little more: a registry keeps its size from one
     * send to the next, and growing a buffer of megabytes by doubling copies it and touches
     * twice its pages. */
    size_t last = atomic_load_explicit(&reg->remote_write_bytes, memory_order_relaxed);
    if (last && sonde_buf_reserve(&b, last + last / 16))
        return SONDE_ENOMEM;
    if (reg->enabled) {
        sonde_family **fams;
        size_t count;
        if ((rc = sonde_registry_snapshot(reg, &fams, &count)) != SONDE_OK)
            return rc;
        for (size_t i = 0; i < count && rc == SONDE_OK && !b.failed; i++)
            rc = encode_family(&b, fams[i], &reg->cfg, extra, extra_count, timestamp_ms, &n);
        if (rc == SONDE_OK && !b.failed)
            rc = encode_collectors(&b, reg, fams, count, extra, extra_count, timestamp_ms, &n);
        sonde_families_release(fams, count);
    }
    if (rc != SONDE_OK) {
        free(b.p);
        return rc;
    }
    atomic_store_explicit(&reg->remote_write_bytes, b.len, memory_order_relaxed);
    rc = sonde_pb_finish(&b, out, len);
    if (rc == SONDE_OK && samples)
        *samples = n;
    return rc;
}
