/*
 * encode_metrics.c - a registry as an OTLP ExportMetricsServiceRequest
 * (opentelemetry-proto v1, metrics/v1/metrics.proto), written with the
 * protobuf writer of src/trace/pb.c straight from the families, the way the
 * text exposition reads them (expose.c: a snapshot of the family array, each
 * family's children walked without its lock, cells summed without a lock),
 * then the custom collectors through a sink (emit.c). It lives with the
 * other OTLP encoders (and pb.c) but reads the core's data model
 * (internal.h) as the text exposition does: both are part of libsonde.
 *
 * One ResourceMetrics (the reader's resource), one ScopeMetrics, one Metric
 * per family (these containers, megabytes for a large registry, are written
 * with pb.c's large slots: their bodies never move), named as Prometheus
 * names its samples (counters "foo_total", infos "foo_info", the others
 * "foo": the OpenTelemetry Prometheus compatibility rule, names unaltered),
 * HELP as description, the unit in
 * OpenTelemetry's notation (seconds -> s, bytes -> By, ratio -> 1, a_per_b
 * -> a/b), and the Prometheus type in metadata "prometheus.type". Mapping:
 *   counter   Sum, monotonic, cumulative, start = the series' creation
 *   gauge     Gauge
 *   histogram Histogram, cumulative: explicit bounds, per-bucket counts (not
 *             cumulative: the cells hold them so), sum, count
 *             with native buckets (native.h): ExponentialHistogram, cumulative:
 *             scale = schema, zero count and threshold, positive and negative
 *             buckets as offset + dense counts (Prometheus' bucket i is
 *             OpenTelemetry's i - 1: (base^(i-1), base^i] against
 *             (base^k, base^(k+1)]); the classic buckets of a mixed one are left
 *             out (a Metric has one kind of data). Buckets sparse enough that the
 *             dense counts would pass 4096 per side are merged (scale lowered)
 *             until they fit.
 *   summary   Summary: quantile values, sum, count
 *   info      Sum, not monotonic, cumulative, value 1
 *   stateset  Sum, not monotonic, cumulative, a point per state with the
 *             attribute <family name>=<state>, value 0 or 1
 *   untyped   Gauge (collectors only)
 * Global labels and then the series' labels become the point's attributes.
 * Series of collectors have no creation time: their start is the reader's.
 *
 * Exemplars: the latest exemplar the core keeps per counter and per classic
 * bucket (exemplar.h), read through sonde_exemplar_load as both expositions
 * read it, goes on the point as an Exemplar {time_unix_nano, as_double,
 * span_id, trace_id; no filtered_attributes: the core keeps none}: a
 * counter's on its NumberDataPoint, a histogram's (one per bucket holding
 * one, lowest bucket first) on its HistogramDataPoint, or on the
 * ExponentialHistogramDataPoint of a histogram with classic and native
 * buckets (a native-only one keeps no exemplars). Function counters have no
 * cells, so no exemplars, nor do gauges, infos, statesets and summaries.
 */
#include <stdlib.h>
#include <string.h>

#include "exemplar.h"
#include "internal.h"
#include "render.h"
#include "trace_internal.h"

/* field numbers of metrics.proto */
enum {
    RM_RESOURCE = 1, RM_SCOPE_METRICS = 2, SM_SCOPE = 1, SM_METRICS = 2,
    M_NAME = 1, M_DESCRIPTION = 2, M_UNIT = 3, M_GAUGE = 5, M_SUM = 7, M_HISTOGRAM = 9,
    M_EXP_HISTOGRAM = 10, M_SUMMARY = 11, M_METADATA = 12,
    DATA_POINTS = 1, TEMPORALITY = 2, MONOTONIC = 3, CUMULATIVE = 2,
    NDP_START = 2, NDP_TIME = 3, NDP_DOUBLE = 4, NDP_EXEMPLARS = 5, NDP_ATTRS = 7,
    HDP_START = 2, HDP_TIME = 3, HDP_COUNT = 4, HDP_SUM = 5, HDP_BUCKETS = 6, HDP_BOUNDS = 7,
    HDP_EXEMPLARS = 8, HDP_ATTRS = 9,
    SDP_START = 2, SDP_TIME = 3, SDP_COUNT = 4, SDP_SUM = 5, SDP_QUANTILES = 6, SDP_ATTRS = 7,
    Q_QUANTILE = 1, Q_VALUE = 2,
    EDP_ATTRS = 1, EDP_START = 2, EDP_TIME = 3, EDP_COUNT = 4, EDP_SUM = 5, EDP_SCALE = 6,
    EDP_ZERO_COUNT = 7, EDP_POSITIVE = 8, EDP_NEGATIVE = 9, EDP_EXEMPLARS = 11,
    EDP_ZERO_THRESHOLD = 14,
    B_OFFSET = 1, B_COUNTS = 2,
    EX_TIME = 2, EX_DOUBLE = 3, EX_SPAN_ID = 4, EX_TRACE_ID = 5
};

/* An Exemplar's body: time (1 + 8), as_double (1 + 8), span_id (2 + 8), trace_id (2 + 16). */
#define EXEMPLAR_BODY 46

#define EXP_DENSE_MAX 4096 /* dense bucket counts per side */

typedef struct encoder {
    pb_buf b;
    const sonde_registry *reg;
    uint64_t now_ns, start_ns; /* export time; start of series without a creation time */
    size_t points;
    size_t global_len[SONDE_MAX_GLOBAL_LABELS][2]; /* name and value lengths */
    size_t global_size;                            /* the bytes of their attributes */
    /* the collector family open in the sink */
    sonde_type type;
    size_t metric, data; /* marks; metric 0 = none open */
    sonde_native_snap snap; /* a native series' buckets (arrays reused) */
    uint64_t dense[EXP_DENSE_MAX];
} encoder;

/* Sizes of the messages written sized beforehand (no length slot to patch: the bulk of a
 * request is number points and their attributes). Every field number here is below 16: a
 * tag is one byte. */
static size_t field_size(size_t body) { return 1 + sonde_pb_varint_size(body) + body; }

/* The body of a KeyValue{key, AnyValue{string_value}}. */
static size_t kv_size(size_t kn, size_t vn) { return field_size(kn) + field_size(field_size(vn)); }

static void str_attr(pb_buf *b, uint32_t field, const char *key, size_t kn, const char *v, size_t vn)
{
    sonde_pb_header(b, field, kv_size(kn, vn));
    sonde_pb_bytes(b, 1, key, kn);
    sonde_pb_header(b, 2, field_size(vn));
    sonde_pb_bytes(b, 1, v, vn);
}

/* The global labels, then the child's (values back to back in its blob, their lengths in
 * vlen); returns nothing, see attrs_size for the bytes. */
static void child_attrs(encoder *e, uint32_t field, const sonde_family *f, const size_t *name_len,
                        const sonde_child *c, const size_t *vlen)
{
    const sonde_config *cfg = &e->reg->cfg;
    for (size_t i = 0; i < cfg->global_label_count; i++)
        str_attr(&e->b, field, cfg->global_labels[i].name, e->global_len[i][0],
                 cfg->global_labels[i].value, e->global_len[i][1]);
    const char *p = c->blob;
    for (size_t i = 0; i < f->label_count; i++) {
        str_attr(&e->b, field, f->label_names[i], name_len[i], p, vlen[i]);
        p += vlen[i] + 1;
    }
}

/* The child's value lengths into vlen; returns the bytes child_attrs writes. */
static size_t attrs_size(const encoder *e, const sonde_family *f, const size_t *name_len,
                         const sonde_child *c, size_t *vlen)
{
    size_t n = e->global_size;
    const char *p = c->blob;
    for (size_t i = 0; i < f->label_count; i++) {
        vlen[i] = strlen(p);
        n += field_size(kv_size(name_len[i], vlen[i]));
        p += vlen[i] + 1;
    }
    return n;
}

/* OpenTelemetry's unit of a Prometheus unit (the compatibility spec's rules). */
static void write_unit(pb_buf *b, const char *unit)
{
    static const char *const words[][2] = {
        {"seconds", "s"}, {"milliseconds", "ms"}, {"microseconds", "us"}, {"nanoseconds", "ns"},
        {"minutes", "min"}, {"hours", "h"}, {"days", "d"}, {"bytes", "By"},
        {"kilobytes", "kBy"}, {"megabytes", "MBy"}, {"gigabytes", "GBy"}, {"bits", "bit"},
        {"meters", "m"}, {"volts", "V"}, {"amperes", "A"}, {"joules", "J"}, {"watts", "W"},
        {"second", "s"}, {"minute", "min"}, {"hour", "h"}, {"day", "d"}, {"byte", "By"},
        {"grams", "g"}, {"celsius", "Cel"}, {"hertz", "Hz"}, {"percent", "%"}, {"ratio", "1"}};
    char out[256];
    size_t n = 0;
    const char *per = strstr(unit, "_per_");
    for (int part = 0; part < (per ? 2 : 1) && n < sizeof out - 1; part++) {
        const char *s = part ? per + 5 : unit;
        size_t len = part || !per ? strlen(s) : (size_t)(per - unit);
        if (part)
            out[n++] = '/';
        const char *w = NULL;
        for (size_t i = 0; i < sizeof words / sizeof words[0] && !w; i++)
            if (strlen(words[i][0]) == len && memcmp(words[i][0], s, len) == 0)
                w = words[i][1];
        if (w)
            len = strlen(w);
        else
            w = s;
        if (len > sizeof out - 1 - n)
            len = sizeof out - 1 - n;
        memcpy(out + n, w, len);
        n += len;
    }
    sonde_pb_bytes(b, M_UNIT, out, n);
}

/* Open a Metric and its data message; returns the data mark (*metric the Metric's). */
static size_t open_metric(encoder *e, const char *name, const char *suffix, const char *help,
                          sonde_type type, const char *unit, int native, size_t *metric)
{
    pb_buf *b = &e->b;
    *metric = sonde_pb_open_large(b, SM_METRICS);
    char stack[256];
    size_t n = strlen(name), s = strlen(suffix);
    char *full = n + s <= sizeof stack ? stack : malloc(n + s); /* names have no length limit */
    if (!full) {
        b->failed = 1;
        full = stack;
        n = s = 0;
    }
    memcpy(full, name, n);
    memcpy(full + n, suffix, s);
    sonde_pb_bytes(b, M_NAME, full, n + s);
    if (full != stack)
        free(full);
    if (help && *help)
        sonde_pb_string(b, M_DESCRIPTION, help);
    if (unit && *unit)
        write_unit(b, unit);
    const char *pt = sonde_type_name(type);
    sonde_pb_key_value(b, M_METADATA, "prometheus.type", SONDE_ATTR_STRING, pt, 0, 0, 0);
    uint32_t field = type == SONDE_GAUGE || type == SONDE_UNTYPED ? M_GAUGE
                     : type == SONDE_HISTOGRAM && native         ? M_EXP_HISTOGRAM
                     : type == SONDE_HISTOGRAM                   ? M_HISTOGRAM
                     : type == SONDE_SUMMARY                     ? M_SUMMARY
                                                                 : M_SUM;
    return sonde_pb_open_large(b, field);
}

static void close_metric(encoder *e, sonde_type type, size_t data, size_t metric)
{
    pb_buf *b = &e->b;
    if (type == SONDE_COUNTER || type == SONDE_INFO || type == SONDE_STATESET ||
        type == SONDE_HISTOGRAM)
        sonde_pb_varint(b, TEMPORALITY, CUMULATIVE);
    if (type == SONDE_COUNTER)
        sonde_pb_varint(b, MONOTONIC, 1);
    sonde_pb_close_large(b, data);
    sonde_pb_close_large(b, metric);
}

static uint64_t created_ns(const encoder *e, const sonde_child *c)
{
    return c && c->created > 0 ? (uint64_t)(c->created * 1e9) : e->start_ns;
}

static void exemplar_msg(pb_buf *b, uint32_t field, const sonde_exemplar *ex)
{
    sonde_pb_header(b, field, EXEMPLAR_BODY);
    sonde_pb_fixed64(b, EX_TIME, ex->unix_ns);
    sonde_pb_double(b, EX_DOUBLE, ex->value);
    sonde_pb_bytes(b, EX_SPAN_ID, ex->span_id, 8);
    sonde_pb_bytes(b, EX_TRACE_ID, ex->trace_id, 16);
}

/* The exemplars of classic buckets 0..bound_count of child c, as field of the open point. */
static void bucket_exemplars(pb_buf *b, uint32_t field, const sonde_family *f, const sonde_child *c)
{
    sonde_exemplar ex;
    for (uint32_t i = 0; i <= f->bound_count; i++)
        if (sonde_exemplar_load(c->cell + i, &ex))
            exemplar_msg(b, field, &ex);
}

/* A NumberDataPoint; a state's attribute (name=state) after the labels when state is set;
 * ex (or NULL) its exemplar. */
static void number_point(encoder *e, const sonde_family *f, const size_t *name_len,
                         const sonde_child *c, const char *state, double v, int with_start,
                         const sonde_exemplar *ex)
{
    pb_buf *b = &e->b;
    size_t vlen[SONDE_MAX_LABELS];
    size_t fn = 0, sn = 0;
    size_t size = (with_start ? 9 : 0) + 9 + 9 + attrs_size(e, f, name_len, c, vlen) +
                  (ex ? field_size(EXEMPLAR_BODY) : 0);
    if (state) {
        fn = strlen(f->name);
        sn = strlen(state);
        size += field_size(kv_size(fn, sn));
    }
    sonde_pb_header(b, DATA_POINTS, size);
    if (with_start)
        sonde_pb_fixed64(b, NDP_START, created_ns(e, c));
    sonde_pb_fixed64(b, NDP_TIME, e->now_ns);
    sonde_pb_double(b, NDP_DOUBLE, v);
    if (ex)
        exemplar_msg(b, NDP_EXEMPLARS, ex);
    child_attrs(e, NDP_ATTRS, f, name_len, c, vlen);
    if (state)
        str_attr(b, NDP_ATTRS, f->name, fn, state, sn);
    e->points++;
}

static void histogram_point(encoder *e, const sonde_family *f, const size_t *name_len,
                            const sonde_child *c, uint64_t *counts)
{
    pb_buf *b = &e->b;
    uint64_t total = 0;
    for (uint32_t i = 0; i <= f->bound_count; i++)
        total += counts[i] = sonde_cells_sum_u64(c->cell + i);
    double sum = sonde_hist_sum(c);
    size_t m = sonde_pb_open(b, DATA_POINTS);
    sonde_pb_fixed64(b, HDP_START, created_ns(e, c));
    sonde_pb_fixed64(b, HDP_TIME, e->now_ns);
    sonde_pb_fixed64(b, HDP_COUNT, total);
    sonde_pb_double(b, HDP_SUM, sum);
    sonde_pb_packed_fixed64(b, HDP_BUCKETS, counts, f->bound_count + 1);
    sonde_pb_packed_double(b, HDP_BOUNDS, f->bounds, f->bound_count);
    size_t vlen[SONDE_MAX_LABELS];
    attrs_size(e, f, name_len, c, vlen);
    child_attrs(e, HDP_ATTRS, f, name_len, c, vlen);
    bucket_exemplars(b, HDP_EXEMPLARS, f, c);
    sonde_pb_close(b, m);
    e->points++;
}

static uint32_t zigzag32(int32_t v) { return ((uint32_t)v << 1) ^ (uint32_t)(v >> 31); }

/* OpenTelemetry's index of Prometheus' bucket i, r scale steps lower: floor((i - 1) / 2^r). */
static int64_t otel_index(int32_t i, int r)
{
    int64_t k = (int64_t)i - 1;
    return k >= 0 ? k >> r : -((-k + (1ll << r) - 1) >> r);
}

/* The scale steps needed for the dense counts of bk[0..n) to fit EXP_DENSE_MAX. */
static int steps_needed(const sonde_native_bucket *bk, size_t n, int schema)
{
    int r = 0;
    while (n && schema - r > SONDE_NATIVE_SCHEMA_MIN &&
           otel_index(bk[n - 1].index, r) - otel_index(bk[0].index, r) + 1 > EXP_DENSE_MAX)
        r++;
    return r;
}

/* Buckets { sint32 offset = 1; repeated uint64 bucket_counts = 2 (packed) }. */
static void exp_buckets(encoder *e, uint32_t field, const sonde_native_bucket *bk, size_t n, int r)
{
    if (!n)
        return;
    int64_t lo = otel_index(bk[0].index, r), hi = otel_index(bk[n - 1].index, r);
    if (hi - lo + 1 > EXP_DENSE_MAX) /* only at schema -4, where no double needs that many */
        hi = lo + EXP_DENSE_MAX - 1;
    memset(e->dense, 0, (size_t)(hi - lo + 1) * sizeof e->dense[0]);
    for (size_t i = 0; i < n; i++) {
        int64_t k = otel_index(bk[i].index, r);
        e->dense[(k > hi ? hi : k) - lo] += bk[i].count;
    }
    size_t m = sonde_pb_open(&e->b, field);
    sonde_pb_varint(&e->b, B_OFFSET, zigzag32((int32_t)lo));
    sonde_pb_packed_varint(&e->b, B_COUNTS, e->dense, (size_t)(hi - lo + 1));
    sonde_pb_close(&e->b, m);
}

static void exp_histogram_point(encoder *e, const sonde_family *f, const size_t *name_len,
                                sonde_child *c)
{
    pb_buf *b = &e->b;
    sonde_native_snap *s = &e->snap;
    if (sonde_native_snapshot(c, s) != SONDE_OK) {
        b->failed = 1; /* out of memory: the whole request fails, as any other */
        return;
    }
    int rp = steps_needed(s->pos, s->pos_n, s->schema), rn = steps_needed(s->neg, s->neg_n, s->schema);
    int r = rp > rn ? rp : rn;
    size_t m = sonde_pb_open(b, DATA_POINTS);
    sonde_pb_fixed64(b, EDP_START, created_ns(e, c));
    sonde_pb_fixed64(b, EDP_TIME, e->now_ns);
    sonde_pb_fixed64(b, EDP_COUNT, s->count);
    sonde_pb_double(b, EDP_SUM, s->sum);
    sonde_pb_varint(b, EDP_SCALE, zigzag32(s->schema - r));
    sonde_pb_fixed64(b, EDP_ZERO_COUNT, s->zero_count);
    exp_buckets(e, EDP_POSITIVE, s->pos, s->pos_n, r);
    exp_buckets(e, EDP_NEGATIVE, s->neg, s->neg_n, r);
    sonde_pb_double(b, EDP_ZERO_THRESHOLD, s->zero_threshold);
    size_t vlen[SONDE_MAX_LABELS];
    attrs_size(e, f, name_len, c, vlen);
    child_attrs(e, EDP_ATTRS, f, name_len, c, vlen);
    if (!f->native->only) /* the classic buckets' exemplars */
        bucket_exemplars(b, EDP_EXEMPLARS, f, c);
    sonde_pb_close(b, m);
    e->points++;
}

static void summary_point(encoder *e, const sonde_family *f, const size_t *name_len,
                          sonde_child *c)
{
    pb_buf *b = &e->b;
    double q[SONDE_MAX_QUANTILES], sum;
    uint64_t count;
    sonde_summary_snapshot(c, q, &count, &sum);
    size_t m = sonde_pb_open(b, DATA_POINTS);
    sonde_pb_fixed64(b, SDP_START, created_ns(e, c));
    sonde_pb_fixed64(b, SDP_TIME, e->now_ns);
    sonde_pb_fixed64(b, SDP_COUNT, count);
    sonde_pb_double(b, SDP_SUM, sum);
    for (size_t i = 0; i < f->quantile_count; i++) {
        size_t qm = sonde_pb_open(b, SDP_QUANTILES);
        sonde_pb_double(b, Q_QUANTILE, f->quantiles[i].quantile);
        sonde_pb_double(b, Q_VALUE, q[i]);
        sonde_pb_close(b, qm);
    }
    size_t vlen[SONDE_MAX_LABELS];
    attrs_size(e, f, name_len, c, vlen);
    child_attrs(e, SDP_ATTRS, f, name_len, c, vlen);
    sonde_pb_close(b, m);
    e->points++;
}

/* The points of one child; fn_value is the value of a function family. */
static void encode_child(encoder *e, const sonde_family *f, const size_t *name_len, sonde_child *c,
                         const double *fn_value, uint64_t *counts)
{
    switch (f->type) {
    case SONDE_COUNTER: {
        sonde_exemplar ex;
        int has_ex = !fn_value && sonde_exemplar_load(c->cell, &ex);
        number_point(e, f, name_len, c, NULL,
                     fn_value ? *fn_value : sonde_counter_cells_value(c->cell), 1,
                     has_ex ? &ex : NULL);
        break;
    }
    case SONDE_GAUGE:
        number_point(e, f, name_len, c, NULL,
                     fn_value ? *fn_value : sonde_gauge_value((sonde_gauge *)c), 0, NULL);
        break;
    case SONDE_HISTOGRAM:
        if (f->native)
            exp_histogram_point(e, f, name_len, c);
        else
            histogram_point(e, f, name_len, c, counts);
        break;
    case SONDE_SUMMARY:
        summary_point(e, f, name_len, c);
        break;
    case SONDE_INFO:
        number_point(e, f, name_len, c, NULL, 1, 1, NULL);
        break;
    case SONDE_STATESET: {
        uint64_t bits = atomic_load_explicit(&c->v.states, memory_order_relaxed);
        for (size_t i = 0; i < f->state_count; i++)
            number_point(e, f, name_len, c, f->states[i], (double)((bits >> i) & 1), 1, NULL);
        break;
    }
    default:
        break;
    }
}

static const char *type_suffix(sonde_type t)
{
    return t == SONDE_COUNTER ? "_total" : t == SONDE_INFO ? "_info" : "";
}

static void encode_family(encoder *e, sonde_family *f, uint64_t *counts)
{
    size_t name_len[SONDE_MAX_LABELS];
    for (size_t i = 0; i < f->label_count; i++)
        name_len[i] = strlen(f->label_names[i]);
    size_t metric, data;
    if (f->fn) { /* one child; fn runs under this family's lock so that unregister waits */
        double v = 0;
        pthread_mutex_lock(&f->lock);
        int live = !f->unregistered;
        if (live)
            v = f->fn(f->fn_ud);
        pthread_mutex_unlock(&f->lock);
        if (live) {
            data = open_metric(e, f->name, type_suffix(f->type), f->help, f->type, f->unit,
                               f->native != NULL, &metric);
            encode_child(e, f, name_len, f->solo, &v, counts);
            close_metric(e, f->type, data, metric);
        }
        return;
    }
    sonde_family_walk w;
    sonde_family_walk_begin(f, &w);
    sonde_child *c = sonde_family_walk_next(&w);
    if (c) {
        data = open_metric(e, f->name, type_suffix(f->type), f->help, f->type, f->unit,
                               f->native != NULL, &metric);
        for (; c && !e->b.failed; c = sonde_family_walk_next(&w))
            encode_child(e, f, name_len, c, NULL, counts);
        close_metric(e, f->type, data, metric);
    }
    sonde_family_walk_end(f);
}

/* ---- collectors, through the emitter's sink --------------------------- */

static void sink_close(encoder *e)
{
    if (e->metric)
        close_metric(e, e->type, e->data, e->metric);
    e->metric = 0;
}

static void sink_family(void *ud, const char *name, const char *help, sonde_type type,
                        const char *unit)
{
    encoder *e = ud;
    sink_close(e);
    e->type = type;
    e->data = open_metric(e, name, type_suffix(type), help, type, unit, 0, &e->metric);
}

static void sink_sample(void *ud, const char *suffix, const sonde_label *labels, size_t n,
                        double value)
{
    encoder *e = ud;
    if (!e->metric || (suffix && strcmp(suffix, "_created") == 0))
        return; /* a counter's _created: its start time is the reader's */
    pb_buf *b = &e->b;
    size_t m = sonde_pb_open(b, DATA_POINTS);
    if (e->type == SONDE_COUNTER || e->type == SONDE_INFO)
        sonde_pb_fixed64(b, NDP_START, e->start_ns);
    sonde_pb_fixed64(b, NDP_TIME, e->now_ns);
    sonde_pb_double(b, NDP_DOUBLE, value);
    const sonde_config *cfg = &e->reg->cfg;
    for (size_t i = 0; i < cfg->global_label_count; i++)
        str_attr(b, NDP_ATTRS, cfg->global_labels[i].name, e->global_len[i][0],
                 cfg->global_labels[i].value, e->global_len[i][1]);
    for (size_t i = 0; i < n; i++)
        str_attr(b, NDP_ATTRS, labels[i].name, strlen(labels[i].name), labels[i].value,
                 strlen(labels[i].value));
    sonde_pb_close(b, m);
    e->points++;
}

int sonde_metrics_encode_otlp_res(sonde_registry *reg, const trace_resource *res, uint64_t now_ns,
                                  uint64_t start_ns, sonde_buf *out, size_t *points)
{
    *points = 0;
    out->len = 0;
    encoder *e = calloc(1, sizeof *e);
    uint64_t *counts = malloc((SONDE_MAX_BUCKETS + 1) * sizeof *counts);
    if (!e || !counts) {
        free(e);
        free(counts);
        return SONDE_ENOMEM;
    }
    e->reg = reg;
    e->b = *out; /* written in place: a kept buffer is neither grown nor faulted in again */
    for (size_t i = 0; i < reg->cfg.global_label_count && i < SONDE_MAX_GLOBAL_LABELS; i++) {
        e->global_len[i][0] = strlen(reg->cfg.global_labels[i].name);
        e->global_len[i][1] = strlen(reg->cfg.global_labels[i].value);
        e->global_size += field_size(kv_size(e->global_len[i][0], e->global_len[i][1]));
    }
    e->now_ns = now_ns;
    e->start_ns = start_ns;
    pb_buf *b = &e->b;
    size_t rm = sonde_pb_open_large(b, 1); /* ExportMetricsServiceRequest.resource_metrics */
    sonde_pb_resource(b, res->attrs, res->count);
    size_t sm = sonde_pb_open_large(b, RM_SCOPE_METRICS);
    size_t sc = sonde_pb_open(b, SM_SCOPE);
    sonde_pb_string(b, 1, res->scope_name);
    sonde_pb_string(b, 2, res->scope_version);
    sonde_pb_close(b, sc);
    sonde_family **fams = NULL;
    size_t n = 0;
    int rc = SONDE_OK;
    if (reg->enabled && (rc = sonde_registry_snapshot(reg, &fams, &n)) == SONDE_OK) {
        for (size_t i = 0; i < n && !b->failed; i++)
            encode_family(e, fams[i], counts);
        sonde_render_sink sink = {sink_family, sink_sample, e};
        rc = sonde_collectors_to_sink(reg, fams, n, &sink);
        sink_close(e);
        sonde_families_release(fams, n);
    }
    sonde_pb_close_large(b, sm);
    sonde_pb_close_large(b, rm);
    free(counts);
    sonde_native_snap_free(&e->snap);
    if (rc == SONDE_OK && b->failed)
        rc = SONDE_ENOMEM;
    if (rc == SONDE_OK)
        *points = e->points;
    *out = *b;
    free(e);
    return rc;
}
