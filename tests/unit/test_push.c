/*
 * test_push.c - the pieces of sonde/push.h that need no server:
 *  - the Pushgateway grouping-key path: plain values percent-encoded, values with
 *    '/' and empty values (the job too) as base64url with "@base64", invalid names
 *    and non-UTF-8 refused, a short buffer reported;
 *  - the remote-write WriteRequest, decoded back here by a small protobuf reader
 *    (and snappy round-tripped): every series of a counter, a gauge, a histogram
 *    (cumulative buckets, +Inf, _sum, _count), a summary, a labelled family with hostile
 *    UTF-8 values, a custom collector's series (escapes, an empty value), labels sorted by name, external and global
 *    labels, a series' own label winning over an external one, an empty value left
 *    out, one timestamp;
 *  - native histograms as prompb Histograms (spans and packed deltas rebuilt into
 *    buckets): a native-only one as one series, a mixed one with its classic series;
 *  - the SONDE_* environment: a malformed variable names itself and starts nothing;
 *    the OTEL_* one starts the OTLP metrics exporter through the same call (an
 *    endpoint, OTEL_METRICS_EXPORTER=otlp), not when nothing asks or it is named off.
 */
#include <snappy-c.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sonde/otlp.h"
#include "sonde/push.h"
#include "sonde/sonde.h"

TEST(grouping_key_path)
{
    char buf[512];
    sonde_label g[] = {{"instance", "host-1"}, {"path", "/var/tmp"}, {"empty", ""},
                       {"utf", "caf\xc3\xa9 x"}};
    int n = sonde_pushgateway_path("batch", g, 4, buf, sizeof buf);
    CHECK(n > 0);
    CHECK_EQ_STR(buf, "/metrics/job/batch/instance/host-1/path@base64/L3Zhci90bXA=/empty@base64/="
                      "/utf/caf%C3%A9%20x");
    CHECK_EQ_INT(n, strlen(buf));
    /* a job with '/' is base64url too: "a/b?>" -> YS9iPz4= in base64, YS9iPz4= has no +/ */
    CHECK(sonde_pushgateway_path("a/b?>>", NULL, 0, buf, sizeof buf) > 0);
    CHECK_EQ_STR(buf, "/metrics/job@base64/YS9iPz4-");
    CHECK(sonde_pushgateway_path("", NULL, 0, buf, sizeof buf) > 0);
    CHECK_EQ_STR(buf, "/metrics/job@base64/=");
    /* base64url alphabet: bytes that give '+' and '/' in base64 */
    CHECK(sonde_pushgateway_path("/\xfb\xff", NULL, 0, buf, sizeof buf) == SONDE_EUTF8);
    sonde_label s[] = {{"k", "/\xc3\xbf\xc3\xbe"}};
    CHECK(sonde_pushgateway_path("j", s, 1, buf, sizeof buf) > 0);
    CHECK_EQ_STR(buf, "/metrics/job/j/k@base64/L8O_w74=");
    sonde_label bad[] = {{"9x", "v"}};
    CHECK_EQ_INT(sonde_pushgateway_path("j", bad, 1, buf, sizeof buf), SONDE_EINVAL);
    sonde_label jobdup[] = {{"job", "v"}};
    CHECK_EQ_INT(sonde_pushgateway_path("j", jobdup, 1, buf, sizeof buf), SONDE_EINVAL);
    sonde_label badutf[] = {{"k", "\xff"}};
    CHECK_EQ_INT(sonde_pushgateway_path("j", badutf, 1, buf, sizeof buf), SONDE_EUTF8);
    CHECK_EQ_INT(sonde_pushgateway_path("batch", g, 4, buf, 20), SONDE_ETRUNC);
    CHECK_EQ_INT(sonde_pushgateway_path(NULL, NULL, 0, buf, sizeof buf), SONDE_EINVAL);

    sonde_pushgateway_opts po;
    sonde_pushgateway_opts_init(&po);
    po.url = "http://127.0.0.1:9/base/";
    po.job = "j";
    po.grouping = g;
    po.grouping_count = 1;
    sonde_pushgateway *pg = NULL;
    CHECK_EQ_INT(sonde_pushgateway_new(&po, &pg), SONDE_OK);
    CHECK_EQ_STR(sonde_pushgateway_url(pg), "http://127.0.0.1:9/base/metrics/job/j/instance/host-1");
    sonde_pushgateway_free(pg);
    po.url = "ftp://x";
    CHECK_EQ_INT(sonde_pushgateway_new(&po, &pg), SONDE_ECONFIG);
    po.url = "http://x";
    po.grouping = bad;
    CHECK_EQ_INT(sonde_pushgateway_new(&po, &pg), SONDE_ECONFIG);
}

/* ---- a protobuf reader for the test ---- */

typedef struct rd {
    const unsigned char *p, *end;
    int bad;
} rd;

static uint64_t varint(rd *r)
{
    uint64_t v = 0;
    for (int s = 0; s < 64 && r->p < r->end; s += 7) {
        unsigned char c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << s;
        if (!(c & 0x80))
            return v;
    }
    r->bad = 1;
    return 0;
}

/* The next field: its number, wire type, and for wire type 2 a sub-reader. */
static int field(rd *r, int *wt, rd *sub, uint64_t *v)
{
    if (r->p >= r->end || r->bad)
        return 0;
    uint64_t key = varint(r);
    *wt = (int)(key & 7);
    if (*wt == 2) {
        uint64_t n = varint(r);
        if (n > (uint64_t)(r->end - r->p)) {
            r->bad = 1;
            return 0;
        }
        *sub = (rd){r->p, r->p + n, 0};
        r->p += n;
    } else if (*wt == 1) {
        if (r->end - r->p < 8) {
            r->bad = 1;
            return 0;
        }
        memcpy(v, r->p, 8);
        r->p += 8;
    } else if (*wt == 0) {
        *v = varint(r);
    } else {
        r->bad = 1;
        return 0;
    }
    return (int)(key >> 3);
}

#define MAXS 128
typedef struct series {
    char text[1040]; /* name{k="v",...} in received order */
    double value;
    int64_t ts;
    int sorted;
} series;

static size_t decode(const char *buf, size_t len, series *out, int *ok)
{
    rd r = {(const unsigned char *)buf, (const unsigned char *)buf + len, 0};
    size_t n = 0;
    int wt, f;
    rd ts;
    uint64_t v;
    *ok = 1;
    while ((f = field(&r, &wt, &ts, &v))) {
        if (f != 1 || wt != 2 || n == MAXS) {
            *ok = 0;
            break;
        }
        series *s = &out[n++];
        memset(s, 0, sizeof *s);
        s->sorted = 1;
        char prev[256] = "", name[256] = "";
        char labels[768] = "";
        rd sub;
        int samples = 0;
        while ((f = field(&ts, &wt, &sub, &v))) {
            if (f == 1 && wt == 2) {
                char k[256] = "", val[512] = "";
                rd lr;
                while ((f = field(&sub, &wt, &lr, &v))) {
                    size_t l = (size_t)(lr.end - lr.p);
                    if (f == 1 && l < sizeof k)
                        memcpy(k, lr.p, l), k[l] = '\0';
                    else if (f == 2 && l < sizeof val)
                        memcpy(val, lr.p, l), val[l] = '\0';
                }
                if (strcmp(prev, k) >= 0)
                    s->sorted = 0;
                strcpy(prev, k);
                if (strcmp(k, "__name__") == 0) {
                    strcpy(name, val);
                } else {
                    size_t at = strlen(labels);
                    snprintf(labels + at, sizeof labels - at, "%s%s=\"%s\"", at ? "," : "", k, val);
                }
            } else if (f == 2 && wt == 2) {
                samples++;
                rd none;
                while ((f = field(&sub, &wt, &none, &v))) {
                    if (f == 1 && wt == 1)
                        memcpy(&s->value, &v, 8);
                    else if (f == 2 && wt == 0)
                        s->ts = (int64_t)v;
                }
            }
        }
        if (samples != 1)
            *ok = 0;
        snprintf(s->text, sizeof s->text, "%s{%s}", name, labels);
    }
    if (r.bad)
        *ok = 0;
    return n;
}

static const series *find(const series *s, size_t n, const char *text)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s[i].text, text) == 0)
            return &s[i];
    fprintf(stderr, "no series %s\n", text);
    return NULL;
}

#define HAS(text, v)                                  \
    do {                                              \
        const series *h_ = find(got, n, text);        \
        CHECK(h_ != NULL);                            \
        if (h_)                                       \
            CHECK_EQ_DBL(h_->value, v);               \
    } while (0)

static int collect(sonde_emitter *e, void *ud)
{
    (void)ud;
    sonde_emit_family(e, "coll_events_total", "Events.", SONDE_COUNTER, NULL);
    sonde_label l[] = {{"kind", "a\\b\"c\nd,}{="}, {"Big", ""}};
    sonde_emit_sample(e, NULL, l, 2, 11);
    sonde_emit_family(e, "coll_ratio", "R.", SONDE_GAUGE, NULL);
    sonde_emit_sample(e, NULL, NULL, 0, 0.25);
    return 0;
}

TEST(write_request_round_trip)
{
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    sonde_label global[] = {{"service", "svc"}};
    cfg.global_labels = global;
    cfg.global_label_count = 1;
    sonde_registry *reg;
    CHECK_EQ_INT(sonde_registry_new(&cfg, &reg), SONDE_OK);
    sonde_counter *c;
    sonde_gauge *g;
    sonde_histogram *h;
    CHECK_EQ_INT(sonde_counter_new(reg, "jobs_total", "Jobs.", &c), SONDE_OK);
    sonde_counter_add(c, 7);
    CHECK_EQ_INT(sonde_gauge_new(reg, "temp", "T.", &g), SONDE_OK);
    sonde_gauge_set(g, -2.5);
    static const double b[] = {1, 5};
    CHECK_EQ_INT(sonde_histogram_new(reg, "lat_seconds", "L.", (sonde_buckets){b, 2}, &h), SONDE_OK);
    sonde_histogram_observe(h, 0.5);
    sonde_histogram_observe(h, 3);
    sonde_histogram_observe(h, 9);
    static const char *const ln[] = {"zone", "Alpha", "path"};
    sonde_metric *lab;
    sonde_metric_opts lo = {.type = SONDE_COUNTER, .name = "req", .help = "R.", .label_names = ln,
                            .label_count = 3};
    CHECK_EQ_INT(sonde_register(reg, &lo, &lab), SONDE_OK);
    const char *hostile = "\xe2\x80\x8b\"q\"\\n\n\xf0\x9f\x94\xa5/\xe6\x97\xa5";
    sonde_counter_add(sonde_counter_with(lab, (const char *[]){"eu", "a", hostile}), 3);
    sonde_counter_add(sonde_counter_with(lab, (const char *[]){"us", "", "/"}), 1);
    static const sonde_quantile q[] = {{0.5, 0.05}, {0.9, 0.01}};
    sonde_metric *sm;
    sonde_metric_opts so = {.type = SONDE_SUMMARY, .name = "size", .help = "S.", .quantiles = q,
                            .quantile_count = 2};
    CHECK_EQ_INT(sonde_register(reg, &so, &sm), SONDE_OK);
    sonde_summary_observe(sonde_summary_of(sm), 4);
    CHECK_EQ_INT(sonde_collector_add(reg, "test", collect, NULL, NULL), SONDE_OK);

    sonde_label ext[] = {{"cluster", "c1"}, {"zone", "ext-loses"}};
    char *pb;
    size_t len, samples;
    CHECK_EQ_INT(sonde_remote_write_encode(reg, ext, 2, 1700000000123, &pb, &len, &samples), SONDE_OK);
    /* snappy round trip, as the sender compresses it */
    size_t zl = snappy_max_compressed_length(len), back = 0;
    char *z = malloc(zl), *un = malloc(len + 1);
    CHECK(snappy_compress(pb, len, z, &zl) == SNAPPY_OK);
    CHECK(snappy_uncompressed_length(z, zl, &back) == SNAPPY_OK && back == len);
    CHECK(snappy_uncompress(z, zl, un, &back) == SNAPPY_OK && memcmp(un, pb, len) == 0);
    static series got[MAXS];
    int ok;
    size_t n = decode(pb, len, got, &ok);
    CHECK(ok);
    /* counter 1 + gauge 1 + histogram 3 buckets, sum, count + labelled 2 + summary 2
     * quantiles, sum, count + the collector's 2 */
    CHECK_EQ_INT(n, 15);
    CHECK_EQ_INT(samples, n);
    for (size_t i = 0; i < n; i++) {
        CHECK(got[i].sorted);
        CHECK_EQ_INT(got[i].ts, 1700000000123);
    }
    HAS("jobs_total{cluster=\"c1\",service=\"svc\",zone=\"ext-loses\"}", 7);
    HAS("temp{cluster=\"c1\",service=\"svc\",zone=\"ext-loses\"}", -2.5);
    HAS("lat_seconds_bucket{cluster=\"c1\",le=\"1\",service=\"svc\",zone=\"ext-loses\"}", 1);
    HAS("lat_seconds_bucket{cluster=\"c1\",le=\"5\",service=\"svc\",zone=\"ext-loses\"}", 2);
    HAS("lat_seconds_bucket{cluster=\"c1\",le=\"+Inf\",service=\"svc\",zone=\"ext-loses\"}", 3);
    HAS("lat_seconds_sum{cluster=\"c1\",service=\"svc\",zone=\"ext-loses\"}", 12.5);
    HAS("lat_seconds_count{cluster=\"c1\",service=\"svc\",zone=\"ext-loses\"}", 3);
    HAS("size{cluster=\"c1\",quantile=\"0.5\",service=\"svc\",zone=\"ext-loses\"}", 4);
    HAS("size{cluster=\"c1\",quantile=\"0.9\",service=\"svc\",zone=\"ext-loses\"}", 4);
    HAS("size_sum{cluster=\"c1\",service=\"svc\",zone=\"ext-loses\"}", 4);
    HAS("size_count{cluster=\"c1\",service=\"svc\",zone=\"ext-loses\"}", 1);
    /* the series' own zone wins over the external one; upper-case Alpha sorts before
     * __name__ (byte order), so that series starts with Alpha */
    char want[512];
    snprintf(want, sizeof want, "req_total{Alpha=\"a\",cluster=\"c1\",path=\"%s\",service=\"svc\",zone=\"eu\"}", hostile);
    HAS(want, 3);
    /* a collector's series, read back from its rendering: escapes undone, the empty
     * value left out, global and external labels added, sorted */
    HAS("coll_events_total{cluster=\"c1\",kind=\"a\\b\"c\nd,}{=\",service=\"svc\",zone=\"ext-loses\"}", 11);
    HAS("coll_ratio{cluster=\"c1\",service=\"svc\",zone=\"ext-loses\"}", 0.25);
    /* an empty value is no label */
    HAS("req_total{cluster=\"c1\",path=\"/\",service=\"svc\",zone=\"us\"}", 1);
    free(pb);
    free(z);
    free(un);

    /* invalid external labels; a disabled registry gives an empty request */
    sonde_label badext[] = {{"__x", "v"}};
    CHECK_EQ_INT(sonde_remote_write_encode(reg, badext, 1, 0, &pb, &len, NULL), SONDE_EINVAL);
    sonde_label badv[] = {{"x", "\xc3"}};
    CHECK_EQ_INT(sonde_remote_write_encode(reg, badv, 1, 0, &pb, &len, NULL), SONDE_EINVAL);
    sonde_registry_free(reg);
    cfg.enabled = 0;
    CHECK_EQ_INT(sonde_registry_new(&cfg, &reg), SONDE_OK);
    CHECK_EQ_INT(sonde_remote_write_encode(reg, NULL, 0, 0, &pb, &len, &samples), SONDE_OK);
    CHECK_EQ_INT(len, 0);
    CHECK_EQ_INT(samples, 0);
    free(pb);
    sonde_registry_free(reg);
}

/* A TimeSeries of the request as the test reads it: its name, samples, and its native
 * histogram (prompb Histogram) with the buckets rebuilt from spans and deltas. */
typedef struct rw_hist {
    char name[128];
    int samples, histograms;
    uint64_t count, zero_count;
    double sum, zero_threshold;
    int schema;
    int64_t ts;
    int32_t idx[2][64]; /* [0] negative, [1] positive: bucket indexes with counts > 0 */
    int64_t cnt[2][64];
    size_t n[2];
} rw_hist;

static int64_t unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

/* Spans then deltas of one side into h (counts accumulate over the filled buckets). */
static void hist_side(rw_hist *h, int side, const int32_t *span_off, const uint32_t *span_len,
                      size_t spans, const int64_t *deltas, size_t nd, int *ok)
{
    int32_t at = 0;
    int64_t count = 0;
    size_t d = 0;
    for (size_t s = 0; s < spans; s++) {
        at += span_off[s];
        for (uint32_t k = 0; k < span_len[s]; k++, at++) {
            if (d == nd) {
                *ok = 0;
                return;
            }
            count += deltas[d++];
            if (count < 0)
                *ok = 0;
            if (count > 0 && h->n[side] < 64) {
                h->idx[side][h->n[side]] = at;
                h->cnt[side][h->n[side]++] = count;
            }
        }
    }
    if (d != nd)
        *ok = 0;
}

static size_t decode_histograms(const char *buf, size_t len, rw_hist *out, size_t max, int *ok)
{
    rd r = {(const unsigned char *)buf, (const unsigned char *)buf + len, 0};
    size_t n = 0;
    int wt, f;
    rd ts, sub;
    uint64_t v;
    *ok = 1;
    while ((f = field(&r, &wt, &ts, &v)) && n < max) {
        rw_hist *h = &out[n++];
        memset(h, 0, sizeof *h);
        while ((f = field(&ts, &wt, &sub, &v))) {
            if (f == 1 && wt == 2) {
                char k[64] = "";
                rd lr;
                while ((f = field(&sub, &wt, &lr, &v))) {
                    size_t l = (size_t)(lr.end - lr.p);
                    if (f == 1 && l < sizeof k)
                        memcpy(k, lr.p, l), k[l] = '\0';
                    else if (f == 2 && strcmp(k, "__name__") == 0 && l < sizeof h->name)
                        memcpy(h->name, lr.p, l), h->name[l] = '\0';
                }
            } else if (f == 2) {
                h->samples++;
            } else if (f == 4 && wt == 2) {
                h->histograms++;
                int32_t off[2][16];
                uint32_t lens[2][16];
                size_t spans[2] = {0, 0}, nd[2] = {0, 0};
                int64_t deltas[2][64];
                rd hf;
                while ((f = field(&sub, &wt, &hf, &v))) {
                    int side = f >= 11;
                    switch (f) {
                    case 1: h->count = v; break;
                    case 3: memcpy(&h->sum, &v, 8); break;
                    case 4: h->schema = (int)unzigzag(v); break;
                    case 5: memcpy(&h->zero_threshold, &v, 8); break;
                    case 6: h->zero_count = v; break;
                    case 15: h->ts = (int64_t)v; break;
                    case 8:
                    case 11: {
                        rd sp;
                        uint64_t sv;
                        int swt, sf;
                        if (wt != 2 || spans[side] == 16) {
                            *ok = 0;
                            break;
                        }
                        off[side][spans[side]] = 0;
                        lens[side][spans[side]] = 0;
                        while ((sf = field(&hf, &swt, &sp, &sv)))
                            if (sf == 1)
                                off[side][spans[side]] = (int32_t)unzigzag(sv);
                            else if (sf == 2)
                                lens[side][spans[side]] = (uint32_t)sv;
                        spans[side]++;
                        break;
                    }
                    case 9:
                    case 12: /* packed sint64, as proto3 writes them */
                        if (wt != 2) {
                            *ok = 0;
                            break;
                        }
                        while (hf.p < hf.end && nd[side] < 64)
                            deltas[side][nd[side]++] = unzigzag(varint(&hf));
                        if (hf.bad || hf.p != hf.end)
                            *ok = 0;
                        break;
                    default: *ok = 0; break; /* float counts, reset hints: not written */
                    }
                }
                for (int side = 0; side < 2; side++)
                    hist_side(h, side, off[side], lens[side], spans[side], deltas[side], nd[side], ok);
            }
        }
    }
    if (r.bad)
        *ok = 0;
    return n;
}

static const rw_hist *hist_named(const rw_hist *h, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(h[i].name, name) == 0)
            return &h[i];
    fprintf(stderr, "no series %s\n", name);
    return NULL;
}

TEST(native_histograms_as_remote_write_histograms)
{
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    sonde_registry *reg;
    CHECK_EQ_INT(sonde_registry_new(&cfg, &reg), SONDE_OK);
    /* native only, schema 0: bucket i holds (2^(i-1), 2^i] */
    static const sonde_native_opts only = {.bucket_factor = 2, .native_only = 1};
    sonde_metric *m;
    sonde_metric_opts o = {.type = SONDE_HISTOGRAM, .name = "nat_seconds", .help = "N.", .native = &only};
    CHECK_EQ_INT(sonde_register(reg, &o, &m), SONDE_OK);
    sonde_histogram *h = sonde_histogram_of(m);
    const double seen[] = {0, 1, 3, 3, 100, -1.5};
    for (size_t i = 0; i < 6; i++)
        sonde_histogram_observe(h, seen[i]);
    /* native and classic buckets */
    static const sonde_native_opts both = {.bucket_factor = 2};
    static const double b[] = {1};
    sonde_metric_opts mo = {.type = SONDE_HISTOGRAM, .name = "mix_seconds", .help = "M.",
                            .buckets = {b, 1}, .native = &both};
    CHECK_EQ_INT(sonde_register(reg, &mo, &m), SONDE_OK);
    sonde_histogram_observe(sonde_histogram_of(m), 0.75);
    sonde_histogram_observe(sonde_histogram_of(m), 3);

    char *pb;
    size_t len, samples;
    CHECK_EQ_INT(sonde_remote_write_encode(reg, NULL, 0, 1700000000123, &pb, &len, &samples), SONDE_OK);
    static rw_hist got[16];
    int ok;
    size_t n = decode_histograms(pb, len, got, 16, &ok);
    CHECK(ok);
    /* nat_seconds: one histogram series; mix_seconds: one histogram series plus 2 buckets,
     * _sum, _count */
    CHECK_EQ_INT(n, 6);
    CHECK_EQ_INT(samples, 6);
    const rw_hist *nat = hist_named(got, n, "nat_seconds");
    CHECK(nat != NULL);
    CHECK(hist_named(got, n, "nat_seconds_count") == NULL && hist_named(got, n, "nat_seconds_bucket") == NULL);
    if (nat) {
        CHECK_EQ_INT(nat->samples, 0);
        CHECK_EQ_INT(nat->histograms, 1);
        CHECK_EQ_INT(nat->count, 6);
        CHECK_EQ_DBL(nat->sum, 105.5);
        CHECK_EQ_INT(nat->schema, 0);
        CHECK_EQ_INT(nat->zero_count, 1);
        CHECK(nat->zero_threshold > 0 && nat->zero_threshold < 1e-30);
        CHECK_EQ_INT(nat->ts, 1700000000123);
        /* positive: 1 in bucket 0, 3 and 3 in bucket 2, 100 in bucket 7; negative: 1.5 in 1 */
        CHECK_EQ_INT(nat->n[1], 3);
        CHECK(nat->idx[1][0] == 0 && nat->cnt[1][0] == 1);
        CHECK(nat->idx[1][1] == 2 && nat->cnt[1][1] == 2);
        CHECK(nat->idx[1][2] == 7 && nat->cnt[1][2] == 1);
        CHECK_EQ_INT(nat->n[0], 1);
        CHECK(nat->idx[0][0] == 1 && nat->cnt[0][0] == 1);
    }
    const rw_hist *mix = hist_named(got, n, "mix_seconds");
    CHECK(mix != NULL);
    if (mix) {
        CHECK_EQ_INT(mix->histograms, 1);
        CHECK_EQ_INT(mix->count, 2);
        CHECK_EQ_DBL(mix->sum, 3.75);
        CHECK_EQ_INT(mix->n[1], 2);
        CHECK(mix->idx[1][0] == 0 && mix->idx[1][1] == 2);
    }
    const rw_hist *mc = hist_named(got, n, "mix_seconds_count");
    CHECK(mc && mc->samples == 1 && mc->histograms == 0);
    free(pb);
    sonde_registry_free(reg);
}

TEST(environment)
{
    sonde_registry *reg;
    CHECK_EQ_INT(sonde_registry_new(NULL, &reg), SONDE_OK);
    sonde_exporters *ex = NULL;
    char err[256] = "";
    unsetenv("SONDE_REMOTE_WRITE_URL");
    unsetenv("SONDE_PUSHGATEWAY_URL");
    CHECK_EQ_INT(sonde_exporters_from_env(reg, NULL, &ex, err, sizeof err), SONDE_OK);
    CHECK(ex && !sonde_exporters_remote_write(ex) && !sonde_exporters_pushgateway(ex));
    sonde_exporters_free(ex, 1, 1, 0);
    setenv("SONDE_REMOTE_WRITE_URL", "http://127.0.0.1:9/api/v1/write", 1);
    setenv("SONDE_REMOTE_WRITE_INTERVAL", "soon", 1);
    CHECK_EQ_INT(sonde_exporters_from_env(reg, NULL, &ex, err, sizeof err), SONDE_ECONFIG);
    CHECK(ex == NULL);
    CHECK_CONTAINS(err, "SONDE_REMOTE_WRITE_INTERVAL");
    setenv("SONDE_REMOTE_WRITE_INTERVAL", "0.5", 1);
    setenv("SONDE_REMOTE_WRITE_EXTERNAL_LABELS", "9bad=x", 1);
    CHECK_EQ_INT(sonde_exporters_from_env(reg, NULL, &ex, err, sizeof err), SONDE_ECONFIG);
    CHECK_CONTAINS(err, "SONDE_REMOTE_WRITE_EXTERNAL_LABELS");
    setenv("SONDE_REMOTE_WRITE_EXTERNAL_LABELS", "region=eu%2Cwest", 1);
    setenv("SONDE_PUSHGATEWAY_URL", "http://127.0.0.1:9", 1);
    setenv("SONDE_PUSHGATEWAY_INSECURE_SKIP_VERIFY", "maybe", 1);
    CHECK_EQ_INT(sonde_exporters_from_env(reg, NULL, &ex, err, sizeof err), SONDE_ECONFIG);
    CHECK_CONTAINS(err, "SONDE_PUSHGATEWAY_INSECURE_SKIP_VERIFY");
    CHECK(sonde_registry_find(reg, "sonde_remote_write_samples_total") == NULL); /* nothing ran */
    unsetenv("SONDE_PUSHGATEWAY_INSECURE_SKIP_VERIFY");
    setenv("SONDE_PUSHGATEWAY_JOB", "nightly", 1);
    setenv("SONDE_PUSHGATEWAY_GROUPING", "instance=a/b", 1);
    CHECK_EQ_INT(sonde_exporters_from_env(reg, NULL, &ex, err, sizeof err), SONDE_OK);
    CHECK(sonde_exporters_remote_write(ex) != NULL);
    CHECK_EQ_STR(sonde_pushgateway_url(sonde_exporters_pushgateway(ex)),
                 "http://127.0.0.1:9/metrics/job/nightly/instance@base64/YS9i");
    CHECK(sonde_registry_find(reg, "sonde_remote_write_samples_total") != NULL);
    sonde_exporters *second = NULL; /* one sender per stats registry */
    CHECK_EQ_INT(sonde_exporters_from_env(reg, NULL, &second, err, sizeof err), SONDE_EEXIST);
    sonde_exporters_free(ex, 0, 0, 0);
    CHECK(sonde_registry_find(reg, "sonde_remote_write_samples_total") == NULL);
    unsetenv("SONDE_REMOTE_WRITE_URL");
    unsetenv("SONDE_PUSHGATEWAY_URL");

    /* OTLP metrics from the OTEL_* environment, through the same call */
    unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
    unsetenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
    unsetenv("OTEL_METRICS_EXPORTER");
    unsetenv("OTEL_SDK_DISABLED");
    CHECK_EQ_INT(sonde_exporters_from_env(reg, NULL, &ex, err, sizeof err), SONDE_OK);
    CHECK(sonde_exporters_otlp_metrics(ex) == NULL); /* nothing asks for it */
    sonde_exporters_free(ex, 0, 0, 0);
    setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://127.0.0.1:9/v1/metrics", 1);
    CHECK_EQ_INT(sonde_exporters_from_env(reg, NULL, &ex, err, sizeof err), SONDE_OK);
    CHECK(sonde_otlp_metrics_reader(sonde_exporters_otlp_metrics(ex)) != NULL);
    CHECK(!sonde_exporters_remote_write(ex) && !sonde_exporters_pushgateway(ex));
    sonde_exporters_free(ex, 0, 0, 0);
    setenv("OTEL_METRICS_EXPORTER", "none", 1); /* named off: not started, endpoint or not */
    CHECK_EQ_INT(sonde_exporters_from_env(reg, NULL, &ex, err, sizeof err), SONDE_OK);
    CHECK(sonde_exporters_otlp_metrics(ex) == NULL);
    sonde_exporters_free(ex, 0, 0, 0);
    unsetenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
    setenv("OTEL_METRICS_EXPORTER", "otlp", 1); /* asked for by name: the default endpoint */
    CHECK_EQ_INT(sonde_exporters_from_env(reg, NULL, &ex, err, sizeof err), SONDE_OK);
    CHECK(sonde_exporters_otlp_metrics(ex) != NULL);
    sonde_exporters_free(ex, 0, 0, 0);
    unsetenv("OTEL_METRICS_EXPORTER");
    sonde_registry_free(reg);
}

int main(void)
{
    RUN(grouping_key_path);
    RUN(write_request_round_trip);
    RUN(native_histograms_as_remote_write_histograms);
    RUN(environment);
    return check_report();
}
