/*
 * expose.c - rendering registered families in Prometheus text 0.0.4 and
 * OpenMetrics 1.0 (and, through expose_pb.c, the protobuf format).
 *
 * A scrape blocks nobody: no lock is held while it formats or calls the
 * caller's write callback (where the server gzips). It takes, each for a
 * bounded step only: the registry lock to copy the family array and take a
 * reference on every family (registry.c), so registration goes on and an
 * unregistered family stays readable until the scrape lets go; and each
 * family's lock to enter and leave its child list (family.c), which it walks
 * without the lock, so series creation goes on and a removed child (with its
 * cells) stays readable until the walk ends. Values are summed from the cell
 * arenas without a lock (cells.h), so threads start and exit meanwhile.
 * Collectors run under the collector lock only (emit.c). Nothing the scrape
 * holds is in an epoch read section (ebr.h): a scrape stalled in its write
 * callback holds back no reclamation but that of the children it walks.
 *
 * Each child's labels are rendered once into a scratch buffer and reused for
 * every line of the child (a histogram writes one line per bucket). See
 * expose.h for the naming rules of each type.
 */
#include <stdlib.h>
#include <string.h>

#include "render.h"

/* ---- shared pieces (also used by emit.c) ---------------------------- */

static const char *type_name(sonde_type t, int openmetrics)
{
    if (openmetrics)
        return sonde_type_name(t);
    switch (t) { /* text 0.0.4 has no info, stateset nor unknown */
    case SONDE_COUNTER:
    case SONDE_GAUGE:
    case SONDE_HISTOGRAM:
    case SONDE_SUMMARY: return sonde_type_name(t);
    case SONDE_INFO:
    case SONDE_STATESET: return "gauge";
    default: return "untyped";
    }
}

/* Text 0.0.4 names counters and infos after their sample. */
static const char *text_suffix(sonde_type t)
{
    return t == SONDE_COUNTER ? "_total" : t == SONDE_INFO ? "_info" : "";
}

static void meta_line(sonde_render *r, const char *kind, const char *name, const char *suffix)
{
    sonde_out_mem(&r->out, kind, 7);
    sonde_out_str(&r->out, name);
    sonde_out_str(&r->out, suffix);
    sonde_out_char(&r->out, ' ');
}

void sonde_render_header(sonde_render *r, const char *name, const char *help, sonde_type type,
                         const char *unit)
{
    const char *suffix = r->openmetrics ? "" : text_suffix(type);
    if (help && *help) {
        meta_line(r, "# HELP ", name, suffix);
        sonde_out_help(&r->out, help, r->openmetrics);
        sonde_out_char(&r->out, '\n');
    }
    meta_line(r, "# TYPE ", name, suffix);
    sonde_out_str(&r->out, type_name(type, r->openmetrics));
    sonde_out_char(&r->out, '\n');
    if (r->openmetrics && unit && *unit) {
        meta_line(r, "# UNIT ", name, "");
        sonde_out_str(&r->out, unit);
        sonde_out_char(&r->out, '\n');
    }
}

/* Room for n more bytes of scratch; 0 when out of memory (noted in scratch_err). */
static int scratch_room(sonde_render *r, size_t n)
{
    if (r->scratch_len + n <= r->scratch_cap)
        return 1;
    size_t cap = r->scratch_cap ? r->scratch_cap : 256;
    while (cap < r->scratch_len + n)
        cap *= 2;
    char *s = realloc(r->scratch, cap);
    if (!s) {
        r->scratch_err = 1;
        return 0;
    }
    r->scratch = s;
    r->scratch_cap = cap;
    return 1;
}

static void scratch_put(sonde_render *r, const char *p, size_t n)
{
    if (!scratch_room(r, n))
        return;
    memcpy(r->scratch + r->scratch_len, p, n);
    r->scratch_len += n;
}

void sonde_render_labels_begin(sonde_render *r)
{
    r->scratch_len = 0;
    if (r->global)
        scratch_put(r, r->global, r->global_len);
}

void sonde_render_label(sonde_render *r, const char *name, const char *value, size_t len)
{
    if (r->scratch_len)
        scratch_put(r, ",", 1);
    scratch_put(r, name, strlen(name));
    scratch_put(r, "=\"", 2);
    const char *run = value, *end = value + len;
    for (const char *p = value; p < end; p++) {
        if (*p != '\\' && *p != '"' && *p != '\n')
            continue;
        scratch_put(r, run, (size_t)(p - run));
        scratch_put(r, *p == '\n' ? "\\n" : *p == '"' ? "\\\"" : "\\\\", 2);
        run = p + 1;
    }
    scratch_put(r, run, (size_t)(end - run));
    scratch_put(r, "\"", 1);
}

void sonde_render_sample(sonde_render *r, const char *name, const char *suffix, const char *xname,
                         const char *xvalue, double value)
{
    sonde_out *o = &r->out;
    sonde_out_str(o, name);
    if (suffix)
        sonde_out_str(o, suffix);
    if (r->scratch_len || xname) {
        sonde_out_char(o, '{');
        if (r->scratch_len) /* scratch may still be NULL: memcpy from NULL is undefined even for 0 */
            sonde_out_mem(o, r->scratch, r->scratch_len);
        if (xname) {
            if (r->scratch_len)
                sonde_out_char(o, ',');
            sonde_out_str(o, xname);
            sonde_out_mem(o, "=\"", 2);
            sonde_out_label_value(o, xvalue, strlen(xvalue));
            sonde_out_char(o, '"');
        }
        sonde_out_char(o, '}');
    }
    sonde_out_char(o, ' ');
    sonde_out_double(o, value);
    if (r->exemplar_cell)
        sonde_render_exemplar(r, r->exemplar_cell);
    sonde_out_char(o, '\n');
}

/* ---- families ------------------------------------------------------- */

/* The child's labels into scratch, as sonde_render_label() writes them, in one pass over
 * its blob: the room is reserved once (every value byte may need an escape) and each value
 * is copied and escaped byte by byte, with no strlen and no copy per run. */
static void child_labels(sonde_render *r, const sonde_family *f, const sonde_child *c)
{
    sonde_render_labels_begin(r);
    size_t n = f->label_count;
    if (!n || !scratch_room(r, r->label_len_sum + 4 * n + 2 * (size_t)c->blob_len))
        return;
    char *d = r->scratch + r->scratch_len;
    const char *p = c->blob;
    for (size_t i = 0; i < n; i++) {
        if (d != r->scratch)
            *d++ = ',';
        memcpy(d, f->label_names[i], r->label_len[i]);
        d += r->label_len[i];
        *d++ = '=';
        *d++ = '"';
        for (char ch; (ch = *p++) != '\0';) {
            if (__builtin_expect(ch == '\\' || ch == '"' || ch == '\n', 0)) {
                *d++ = '\\';
                ch = ch == '\n' ? 'n' : ch;
            }
            *d++ = ch;
        }
        *d++ = '"';
    }
    r->scratch_len = (size_t)(d - r->scratch);
}

/* A sample line of the family being rendered, written straight into the output buffer:
 * name (r->name_len bytes) suffix {labels[,le="le"]} value. As sonde_render_sample(), which
 * takes a line longer than the buffer. */
static void family_sample(sonde_render *r, const char *name, const char *suffix, size_t suffix_len,
                          const char *le, size_t le_len, double value)
{
    sonde_out *o = &r->out;
    size_t need = r->name_len + suffix_len + r->scratch_len + le_len + 48; /* 48: punctuation, value */
    if (__builtin_expect(o->len + need > SONDE_OUT_CAP, 0)) {
        sonde_out_flush(o);
        if (need > SONDE_OUT_CAP) {
            sonde_render_sample(r, name, suffix, le ? "le" : NULL, le, value);
            return;
        }
    }
    char *d = o->buf + o->len;
    memcpy(d, name, r->name_len);
    d += r->name_len;
    memcpy(d, suffix, suffix_len);
    d += suffix_len;
    if (r->scratch_len || le) {
        *d++ = '{';
        if (r->scratch_len) {
            memcpy(d, r->scratch, r->scratch_len);
            d += r->scratch_len;
        }
        if (le) {
            if (r->scratch_len)
                *d++ = ',';
            memcpy(d, "le=\"", 4);
            memcpy(d + 4, le, le_len);
            d += 4 + le_len;
            *d++ = '"';
        }
        *d++ = '}';
    }
    *d++ = ' ';
    d += sonde_format_double(value, d);
    if (__builtin_expect(r->exemplar_cell != 0, 0)) { /* OpenMetrics, a counter or a bucket */
        o->len = (size_t)(d - o->buf);
        sonde_render_exemplar(r, r->exemplar_cell);
        sonde_out_char(o, '\n');
        return;
    }
    *d++ = '\n';
    o->len = (size_t)(d - o->buf);
}

/* Measure what every line of family f repeats. */
static void family_measure(sonde_render *r, const sonde_family *f)
{
    r->name_len = strlen(f->name);
    r->label_len_sum = 0;
    for (size_t i = 0; i < f->label_count; i++)
        r->label_len_sum += r->label_len[i] = strlen(f->label_names[i]);
    for (size_t i = 0; i < f->bound_count; i++)
        r->bound_len[i] = strlen(f->bound_text[i]);
}

/* v: the bucket counts (the +Inf one last), then the sum, as read from the cells. In
 * OpenMetrics each bucket line carries the exemplar of its cell, if any. */
static void render_histogram(sonde_render *r, const sonde_family *f, const sonde_child *c, const double *v)
{
    double cumulative = 0;
    for (size_t i = 0; i < f->bound_count; i++) {
        cumulative += v[i];
        r->exemplar_cell = r->openmetrics ? c->cell + (uint32_t)i : 0;
        family_sample(r, f->name, "_bucket", 7, f->bound_text[i], r->bound_len[i], cumulative);
    }
    cumulative += v[f->bound_count];
    r->exemplar_cell = r->openmetrics ? c->cell + (uint32_t)f->bound_count : 0;
    family_sample(r, f->name, "_bucket", 7, "+Inf", 4, cumulative);
    r->exemplar_cell = 0;
    family_sample(r, f->name, "_sum", 4, NULL, 0, v[f->bound_count + 1]);
    family_sample(r, f->name, "_count", 6, NULL, 0, cumulative);
}

static void render_summary(sonde_render *r, const sonde_family *f, sonde_child *c)
{
    double q[SONDE_MAX_QUANTILES];
    uint64_t count;
    double sum;
    size_t n = f->quantile_count;
    sonde_summary_snapshot(c, q, &count, &sum);
    for (size_t i = 0; i < n; i++) {
        char qtext[32];
        sonde_format_double(f->quantiles[i].quantile, qtext);
        sonde_render_sample(r, f->name, NULL, "quantile", qtext, q[i]);
    }
    sonde_render_sample(r, f->name, "_sum", NULL, NULL, sum);
    sonde_render_sample(r, f->name, "_count", NULL, NULL, (double)count);
}

/* One child; v holds its cell values (counters, histograms) or the fn value. */
static void render_child(sonde_render *r, const sonde_family *f, sonde_child *c, const double *v)
{
    child_labels(r, f, c);
    switch (f->type) {
    case SONDE_COUNTER:
        r->exemplar_cell = r->openmetrics && !f->fn ? c->cell : 0;
        family_sample(r, f->name, "_total", 6, NULL, 0, v[0]);
        r->exemplar_cell = 0;
        break;
    case SONDE_GAUGE:
        sonde_render_sample(r, f->name, NULL, NULL, NULL,
                            f->fn ? v[0] : sonde_gauge_value((sonde_gauge *)c));
        break;
    case SONDE_HISTOGRAM:
        render_histogram(r, f, c, v);
        break;
    case SONDE_SUMMARY:
        render_summary(r, f, c);
        break;
    case SONDE_INFO:
        sonde_render_sample(r, f->name, "_info", NULL, NULL, 1);
        break;
    case SONDE_STATESET: {
        uint64_t bits = atomic_load_explicit(&c->v.states, memory_order_relaxed);
        for (size_t i = 0; i < f->state_count; i++)
            sonde_render_sample(r, f->name, NULL, f->name, f->states[i], (double)((bits >> i) & 1));
        break;
    }
    default:
        break;
    }
    if (r->openmetrics && !f->fn &&
        (f->type == SONDE_COUNTER || f->type == SONDE_HISTOGRAM || f->type == SONDE_SUMMARY))
        sonde_render_sample(r, f->name, "_created", NULL, NULL, c->created);
}

/* Read a counter's or histogram's cells into v (a native-only histogram: its count and
 * sum, as client_golang shows it in the text formats). */
static void read_cells(sonde_render *r, const sonde_family *f, sonde_child *c, double *v)
{
    if (f->native && f->native->only) {
        if (sonde_native_snapshot(c, &r->snap))
            r->scratch_err = 1;
        v[0] = (double)r->snap.count;
        v[1] = r->snap.sum;
        return;
    }
    if (f->type == SONDE_COUNTER) {
        v[0] = sonde_counter_cells_value(c->cell);
        return;
    }
    for (uint32_t i = 0; i <= f->bound_count; i++)
        v[i] = (double)sonde_cells_sum_u64(c->cell + i);
    v[f->bound_count + 1] = sonde_hist_sum(c);
}

static void render_family(sonde_render *r, sonde_family *f)
{
    if (r->protobuf) {
        sonde_pb_render_family(r, f);
        return;
    }
    if (f->fn) { /* one child; fn runs under this family's lock so that unregister waits */
        double v;
        pthread_mutex_lock(&f->lock);
        int live = !f->unregistered;
        if (live)
            v = f->fn(f->fn_ud);
        pthread_mutex_unlock(&f->lock);
        if (live) {
            family_measure(r, f);
            sonde_render_header(r, f->name, f->help, f->type, f->unit);
            render_child(r, f, f->solo, &v);
        }
        return;
    }
    family_measure(r, f);
    sonde_family_walk w;
    sonde_family_walk_begin(f, &w);
    sonde_child *c = sonde_family_walk_next(&w);
    if (c) {
        sonde_render_header(r, f->name, f->help, f->type, f->unit);
        for (; c && !r->out.err; c = sonde_family_walk_next(&w)) {
            if (f->cells_per_child || f->native)
                read_cells(r, f, c, r->values);
            render_child(r, f, c, r->values);
        }
    }
    sonde_family_walk_end(f);
}

int sonde_expose(sonde_registry *reg, sonde_format format, sonde_write_fn write, void *ud)
{
    if (!reg || !write ||
        (format != SONDE_FORMAT_TEXT && format != SONDE_FORMAT_OPENMETRICS && format != SONDE_FORMAT_PROTOBUF))
        return SONDE_EINVAL;
    sonde_render *r = calloc(1, sizeof *r);
    if (!r)
        return SONDE_ENOMEM;
    r->out.write = write;
    r->out.ud = ud;
    r->openmetrics = format == SONDE_FORMAT_OPENMETRICS;
    r->protobuf = format == SONDE_FORMAT_PROTOBUF;
    r->cfg = &reg->cfg;
    r->global = reg->global_text;
    r->global_len = r->global ? strlen(r->global) : 0;
    int rc = SONDE_OK;
    if (reg->enabled && (rc = sonde_registry_snapshot(reg, &r->fams, &r->fam_count)) == SONDE_OK) {
        for (size_t i = 0; i < r->fam_count && !r->out.err; i++)
            render_family(r, r->fams[i]);
        sonde_render_collectors(r, reg);
        sonde_families_release(r->fams, r->fam_count);
    }
    if (r->openmetrics)
        sonde_out_mem(&r->out, "# EOF\n", 6);
    sonde_out_flush(&r->out);
    if (!rc)
        rc = r->out.err ? r->out.err : r->scratch_err || r->pb.failed ? SONDE_ENOMEM : SONDE_OK;
    free(r->scratch);
    free(r->pb.p);
    sonde_native_snap_free(&r->snap);
    free(r);
    return rc;
}

/* ---- into memory ---------------------------------------------------- */

typedef struct mem_sink {
    char *buf;
    size_t cap, len;
    int grow;
} mem_sink;

static int mem_write(void *ud, const char *data, size_t len)
{
    mem_sink *m = ud;
    if (m->grow && m->len + len + 1 > m->cap) {
        size_t cap = m->cap ? m->cap : 65536;
        while (cap < m->len + len + 1)
            cap *= 2;
        char *b = realloc(m->buf, cap);
        if (!b)
            return 1;
        m->buf = b;
        m->cap = cap;
    }
    if (m->len + len <= m->cap)
        memcpy(m->buf + m->len, data, len);
    m->len += len; /* keeps counting past a fixed buffer: the size needed */
    return 0;
}

int sonde_expose_buffer(sonde_registry *reg, sonde_format format, char *buf, size_t cap, size_t *len)
{
    if (!buf && cap)
        return SONDE_EINVAL;
    mem_sink m = {buf, cap, 0, 0};
    int rc = sonde_expose(reg, format, mem_write, &m);
    if (len)
        *len = m.len;
    if (rc)
        return rc;
    if (m.len > cap)
        return SONDE_ETRUNC;
    if (m.len < cap)
        buf[m.len] = '\0';
    return SONDE_OK;
}

char *sonde_expose_alloc(sonde_registry *reg, sonde_format format, size_t *len)
{
    mem_sink m = {NULL, 0, 0, 1};
    if (sonde_expose(reg, format, mem_write, &m) || (!m.buf && !(m.buf = malloc(1)))) {
        free(m.buf);
        return NULL;
    }
    m.buf[m.len] = '\0';
    if (len)
        *len = m.len;
    return m.buf;
}
