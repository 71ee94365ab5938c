/*
 * fuzz_protobuf.c - the protobuf exposition on random registries. The input
 * builds up to six families (counter, gauge, summary, info, stateset,
 * classic, native-only and mixed histograms with fuzzed native options:
 * bucket factor, zero threshold, bucket limit, zero-bucket widening), with
 * fuzzed label values and fuzzed observations (NaN, infinities, negative
 * zero, subnormals, huge values that force resolution reductions). The
 * render is then read back by a strict decoder written here:
 *  - the stream is a sequence of varint lengths and MetricFamily messages
 *    that exactly fill it; every tag, varint and length is well formed and
 *    in bounds; only the fields metrics.proto defines appear, each with its
 *    wire type;
 *  - each family's name is one the input registered (with _total / _info
 *    for counters and infos) or one of the registry's own rejection
 *    counters, its type the one it was registered with;
 *  - every native histogram has a schema in -4..8, spans that cover exactly
 *    as many buckets as it has deltas, no bucket count below zero, and a
 *    zero bucket plus buckets that add up to its sample count;
 *  - classic buckets are cumulative (never decreasing, at most the count).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "internal.h"
#include "sonde/sonde.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FAMILIES 6

static void fail(const char *why)
{
    fprintf(stderr, "fuzz_protobuf: %s\n", why);
    abort();
}

typedef struct reader {
    const uint8_t *p, *end;
} reader;

static uint64_t rd_varint(reader *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (r->p >= r->end)
            fail("truncated varint");
        uint8_t c = *r->p++;
        if (shift == 63 && c > 1)
            fail("varint overflow");
        v |= (uint64_t)(c & 0x7f) << shift;
        if (c < 0x80)
            return v;
    }
    fail("varint too long");
    return 0;
}

/* One field: its number and wire type; a length-delimited one's body in *sub. */
static int rd_field(reader *r, uint32_t *field, int *wire, reader *sub, uint64_t *value)
{
    if (r->p >= r->end)
        return 0;
    uint64_t key = rd_varint(r);
    *field = (uint32_t)(key >> 3);
    *wire = (int)(key & 7);
    switch (*wire) {
    case 0:
        *value = rd_varint(r);
        break;
    case 1:
        if (r->end - r->p < 8)
            fail("truncated fixed64");
        memcpy(value, r->p, 8);
        r->p += 8;
        break;
    case 2: {
        uint64_t n = rd_varint(r);
        if (n > (uint64_t)(r->end - r->p))
            fail("length past the end");
        sub->p = r->p;
        sub->end = r->p + n;
        r->p += n;
        break;
    }
    default:
        fail("unexpected wire type");
    }
    return 1;
}

static int64_t unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

static void expect_wire(int got, int want)
{
    if (got != want)
        fail("field with the wrong wire type");
}

/* Gauge, Untyped { double value = 1; }, Counter { value = 1; Exemplar = 2; Timestamp = 3; } */
static void check_value_msg(reader m, int counter)
{
    uint32_t f;
    int w;
    reader sub;
    uint64_t v;
    while (rd_field(&m, &f, &w, &sub, &v)) {
        if (f == 1)
            expect_wire(w, 1);
        else if (counter && (f == 2 || f == 3))
            expect_wire(w, 2);
        else
            fail("unknown field in a value message");
    }
}

static uint64_t check_native_side(reader *spans, size_t nspans, const uint64_t *deltas, size_t ndeltas)
{
    uint64_t covered = 0, total = 0;
    for (size_t i = 0; i < nspans; i++) {
        uint32_t f;
        int w;
        reader sub;
        uint64_t v;
        while (rd_field(&spans[i], &f, &w, &sub, &v)) {
            expect_wire(w, 0);
            if (f == 2)
                covered += v;
            else if (f != 1)
                fail("unknown BucketSpan field");
        }
    }
    if (covered != ndeltas)
        fail("spans do not cover the deltas");
    int64_t count = 0;
    for (size_t i = 0; i < ndeltas; i++) {
        count += unzigzag(deltas[i]);
        if (count < 0)
            fail("negative bucket count");
        total += (uint64_t)count;
    }
    return total;
}

#define MAX_PARTS 4096

static void check_histogram(reader h)
{
    uint32_t f;
    int w;
    reader sub;
    uint64_t v, count = 0, zero = 0, prev_cum = 0;
    int native = 0;
    static reader pos_spans[MAX_PARTS], neg_spans[MAX_PARTS];
    static uint64_t pos_d[MAX_PARTS], neg_d[MAX_PARTS];
    size_t nps = 0, nns = 0, npd = 0, nnd = 0;
    while (rd_field(&h, &f, &w, &sub, &v)) {
        switch (f) {
        case 1: expect_wire(w, 0); count = v; break;
        case 2: case 6: expect_wire(w, 1); break;
        case 3: { /* Bucket */
            expect_wire(w, 2);
            uint32_t bf;
            int bw;
            reader bs;
            uint64_t bv, cum = 0;
            while (rd_field(&sub, &bf, &bw, &bs, &bv))
                if (bf == 1)
                    cum = bv;
            if (cum < prev_cum || cum > count)
                fail("classic buckets not cumulative");
            prev_cum = cum;
            break;
        }
        case 5:
            expect_wire(w, 0);
            native = 1;
            if (unzigzag(v) < -4 || unzigzag(v) > 8)
                fail("schema out of range");
            break;
        case 7: expect_wire(w, 0); zero = v; break;
        case 9: expect_wire(w, 2); if (nns == MAX_PARTS) fail("too many spans"); neg_spans[nns++] = sub; break;
        case 12: expect_wire(w, 2); if (nps == MAX_PARTS) fail("too many spans"); pos_spans[nps++] = sub; break;
        case 10: expect_wire(w, 0); if (nnd == MAX_PARTS) fail("too many deltas"); neg_d[nnd++] = v; break;
        case 13: expect_wire(w, 0); if (npd == MAX_PARTS) fail("too many deltas"); pos_d[npd++] = v; break;
        case 15: expect_wire(w, 2); break;
        default: fail("unknown Histogram field");
        }
    }
    if (native) {
        uint64_t total = zero + check_native_side(pos_spans, nps, pos_d, npd) +
                         check_native_side(neg_spans, nns, neg_d, nnd);
        if (total != count)
            fail("native buckets do not add up to the count");
    }
}

static void check_metric(reader m, uint64_t type)
{
    uint32_t f;
    int w;
    reader sub;
    uint64_t v;
    while (rd_field(&m, &f, &w, &sub, &v)) {
        expect_wire(w, 2);
        if (f == 7) {
            if (type != 4)
                fail("histogram in a family of another type");
            check_histogram(sub);
        } else if (f == 2 || f == 3 || f == 5) {
            check_value_msg(sub, f == 3);
        } else if (f != 1 && f != 4) {
            fail("unknown Metric field");
        }
    }
}

static void check_stream(const uint8_t *p, size_t n, char names[][72], const int *types, size_t nfam)
{
    reader r = {p, p + n};
    while (r.p < r.end) {
        uint64_t len = rd_varint(&r);
        if (len > (uint64_t)(r.end - r.p))
            fail("family length past the end");
        reader fam = {r.p, r.p + len}, sub;
        r.p += len;
        uint32_t f;
        int w;
        uint64_t v, type = 0;
        char name[80] = "";
        reader metrics[64];
        size_t nm = 0;
        while (rd_field(&fam, &f, &w, &sub, &v)) {
            if (f == 1 || f == 2) {
                expect_wire(w, 2);
                if (f == 1 && (size_t)(sub.end - sub.p) < sizeof name)
                    memcpy(name, sub.p, (size_t)(sub.end - sub.p));
            } else if (f == 3) {
                expect_wire(w, 0);
                type = v;
            } else if (f == 4) {
                expect_wire(w, 2);
                if (nm < 64)
                    metrics[nm++] = sub;
            } else {
                fail("unknown MetricFamily field");
            }
        }
        size_t i = 0;
        while (i < nfam && strcmp(names[i], name) != 0)
            i++;
        if (i == nfam)
            fail("a family the input did not register");
        if ((int)type != types[i])
            fail("family type differs");
        for (size_t k = 0; k < nm; k++)
            check_metric(metrics[k], type);
    }
}

static int write_buf(void *ud, const char *data, size_t len)
{
    sonde_buf *b = ud;
    if (sonde_buf_reserve(b, len))
        return 1;
    memcpy(b->p + b->len, data, len);
    b->len += len;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size};
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    sonde_registry *reg;
    if (sonde_registry_new(&cfg, &reg))
        return 0;
    char names[MAX_FAMILIES + 2][72] = {"sonde_label_rejections_total", "sonde_cardinality_rejections_total"};
    int types[MAX_FAMILIES + 2] = {0, 0}; /* the registry's own counters (bad label values) */
    size_t nfam = 2;
    static const char *const label[] = {"l"};
    static const char *const states[] = {"a", "b"};
    unsigned families = 1 + fuzz_below(&in, MAX_FAMILIES);
    for (unsigned i = 0; i < families; i++) {
        unsigned kind = fuzz_below(&in, 8);
        char name[64];
        snprintf(name, sizeof name, "f%u", i);
        sonde_native_opts no = {0};
        sonde_metric_opts o = {.name = name, .help = "h", .label_names = label, .label_count = 1};
        int pb_type;
        switch (kind) {
        case 0: o.type = SONDE_COUNTER; pb_type = 0; break;
        case 1: o.type = SONDE_GAUGE; pb_type = 1; break;
        case 2: o.type = SONDE_SUMMARY; pb_type = 2; break;
        case 3: o.type = SONDE_INFO; pb_type = 1; break;
        case 4: o.type = SONDE_STATESET; o.states = states; o.state_count = 2; o.label_count = 0; pb_type = 1; break;
        default:
            o.type = SONDE_HISTOGRAM;
            pb_type = 4;
            if (kind >= 6) {
                no.bucket_factor = 1 + fuzz_byte(&in) / 16.0 + 0.0001;
                no.zero_threshold = fuzz_byte(&in) % 3 == 0 ? -1 : fuzz_byte(&in) / 1000.0;
                no.max_buckets = fuzz_byte(&in);
                no.max_zero_threshold = fuzz_byte(&in) % 2 ? fuzz_byte(&in) / 100.0 : 0;
                no.native_only = kind == 6;
                o.native = &no;
            }
        }
        sonde_metric *m;
        if (sonde_register(reg, &o, &m) != SONDE_OK || !m)
            continue;
        snprintf(names[nfam], sizeof names[nfam], "%s%s", name,
                 o.type == SONDE_COUNTER ? "_total" : o.type == SONDE_INFO ? "_info" : "");
        types[nfam++] = pb_type;
        unsigned children = 1 + fuzz_below(&in, 3);
        for (unsigned c = 0; c < children; c++) {
            char value[16];
            fuzz_string(&in, value, sizeof value);
            const char *vals[] = {value};
            void *child;
            if (sonde_metric_child(m, o.label_count ? vals : NULL, &child) != SONDE_OK)
                continue;
            unsigned updates = fuzz_below(&in, 16);
            for (unsigned u = 0; u < updates; u++) {
                double v = fuzz_byte(&in) & 1 ? fuzz_double(&in) : (double)(int8_t)fuzz_byte(&in) / 8;
                switch (o.type) {
                case SONDE_COUNTER: sonde_counter_add(child, v); break;
                case SONDE_GAUGE: sonde_gauge_set(child, v); break;
                case SONDE_SUMMARY: sonde_summary_observe(child, v); break;
                case SONDE_HISTOGRAM: sonde_histogram_observe(child, v); break;
                case SONDE_STATESET: sonde_stateset_set(child, v > 0 ? "a" : "b"); break;
                default: break;
                }
            }
        }
        if (o.type == SONDE_INFO)
            sonde_info_set(m, (const char *[]){"x"});
    }
    sonde_buf out = {0};
    if (sonde_expose(reg, SONDE_FORMAT_PROTOBUF, write_buf, &out) == SONDE_OK)
        check_stream((const uint8_t *)out.p, out.len, names, types, nfam);
    free(out.p);
    sonde_registry_free(reg);
    return 0;
}
