/*
 * test_native.c - native histograms: the bucket index at every schema against
 * an exact reference (long double powers of two), the zero bucket, negative
 * values, NaN refused, +-Inf, resolution reduction (storage and exposition),
 * zero-bucket widening, resets after the minimum reset duration, the text
 * exposition of native-only histograms, and the negotiation of the protobuf
 * format.
 */
#define _GNU_SOURCE /* memmem */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "internal.h"

/* Smallest i with a <= 2^(i 2^-s), from long double powers (exact for s <= 0). */
static int32_t reference_index(double a, int s)
{
    long double n = s >= 0 ? (long double)(1 << s) : 1.0L / (long double)(1 << -s);
    long double guess = ceill(log2l((long double)a) * n);
    int32_t i = (int32_t)guess;
    while ((long double)a > exp2l((long double)i / n))
        i++;
    while ((long double)a <= exp2l((long double)(i - 1) / n))
        i--;
    return i;
}

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

TEST(index_matches_reference_at_every_schema)
{
    int bad = 0;
    for (int s = SONDE_NATIVE_SCHEMA_MIN; s <= SONDE_NATIVE_SCHEMA_MAX; s++) {
        sonde_native_cfg cfg;
        sonde_native_opts o = {.bucket_factor = exp2(exp2(-s))};
        CHECK(sonde_native_cfg_init(&cfg, &o) == SONDE_OK); /* builds the tables */
        CHECK_EQ_INT(cfg.schema, s);
        for (int k = 0; k < 20000; k++) { /* any positive double, subnormals included */
            double a;
            do {
                uint64_t b = next_rand() & ~(UINT64_C(1) << 63);
                memcpy(&a, &b, sizeof a);
            } while (!(a > 0) || isinf(a) || isnan(a));
            if (sonde_native_index(a, s) != reference_index(a, s) && bad++ < 5)
                fprintf(stderr, "schema %d: %a -> %d, want %d\n", s, a, sonde_native_index(a, s),
                        reference_index(a, s));
        }
        int n = s > 0 ? 1 << s : 1;
        for (int32_t i = -3 * n; i <= 3 * n; i++) { /* on and next to every bound near 1 */
            double b = sonde_native_upper_bound(i, s);
            double near[] = {b, nextafter(b, 0), nextafter(b, INFINITY)};
            for (int j = 0; j < 3; j++)
                if (sonde_native_index(near[j], s) != reference_index(near[j], s) && bad++ < 5)
                    fprintf(stderr, "schema %d bound %d: %a -> %d, want %d\n", s, i, near[j],
                            sonde_native_index(near[j], s), reference_index(near[j], s));
            CHECK(sonde_native_index(b, s) == i); /* a bound closes its own bucket */
        }
        CHECK_EQ_INT(sonde_native_index(DBL_MIN / 4, s), reference_index(DBL_MIN / 4, s));
        CHECK_EQ_INT(sonde_native_index(DBL_MAX, s), reference_index(DBL_MAX, s));
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(sonde_native_index(1.0, 3), 0);
    CHECK_EQ_INT(sonde_native_index(2.0, 0), 1);
    CHECK_EQ_INT(sonde_native_index(0.2, 3), -18); /* (2^(-19/8), 2^(-18/8)] = (0.1928, 0.2102] */
    CHECK_EQ_INT(sonde_native_index(3.0, -1), 1);   /* (1, 4] */
    CHECK_EQ_INT(sonde_native_index(0.75, -2), 0);  /* (1/16, 1] */
    CHECK_EQ_INT(sonde_native_schema_for_factor(1.1), 3);
    CHECK_EQ_INT(sonde_native_schema_for_factor(2), 0);
    CHECK_EQ_INT(sonde_native_schema_for_factor(1.0001), 8);
    CHECK_EQ_INT(sonde_native_schema_for_factor(1e300), -4);
}

static sonde_metric *native_family(sonde_registry *reg, const char *name, sonde_native_opts *o)
{
    sonde_metric *m = NULL;
    sonde_metric_opts mo = {.type = SONDE_HISTOGRAM, .name = name, .help = "h", .native = o};
    CHECK(sonde_register(reg, &mo, &m) == SONDE_OK);
    return m;
}

static uint64_t snap_find(const sonde_native_bucket *b, size_t n, int32_t index)
{
    for (size_t i = 0; i < n; i++)
        if (b[i].index == index)
            return b[i].count;
    return 0;
}

TEST(zero_negative_nan_inf)
{
    sonde_registry *reg;
    CHECK(sonde_registry_new(NULL, &reg) == SONDE_OK);
    sonde_native_opts o = {.bucket_factor = 1.1, .native_only = 1};
    sonde_histogram *h = sonde_histogram_of(native_family(reg, "n_seconds", &o));
    sonde_histogram_observe(h, 0);
    sonde_histogram_observe(h, 1e-40);  /* below 2^-128: the zero bucket */
    sonde_histogram_observe(h, -1e-40);
    sonde_histogram_observe(h, 0.2);
    sonde_histogram_observe(h, 0.2);
    sonde_histogram_observe(h, -0.2);
    sonde_histogram_observe(h, NAN);    /* refused */
    sonde_histogram_observe_n(h, 3.0, 4);
    sonde_native_snap s = {0};
    CHECK(sonde_native_snapshot((sonde_child *)h, &s) == SONDE_OK);
    CHECK_EQ_INT(s.schema, 3);
    CHECK_EQ_INT(s.zero_count, 3);
    CHECK_EQ_INT(snap_find(s.pos, s.pos_n, -18), 2);
    CHECK_EQ_INT(snap_find(s.neg, s.neg_n, -18), 1);
    CHECK_EQ_INT(snap_find(s.pos, s.pos_n, sonde_native_index(3.0, 3)), 4);
    CHECK_EQ_INT(s.count, 10);
    CHECK_EQ_DBL(s.sum, 0.2 + 12.0);
    uint64_t count;
    double sum;
    sonde_histogram_read(h, &count, &sum, NULL);
    CHECK_EQ_INT(count, 10);
    sonde_histogram_observe(h, INFINITY);
    sonde_histogram_observe(h, -INFINITY);
    CHECK(sonde_native_snapshot((sonde_child *)h, &s) == SONDE_OK);
    CHECK_EQ_INT(s.count, 12);
    CHECK(isnan(s.sum)); /* +Inf + -Inf */
    CHECK_EQ_INT(snap_find(s.pos, s.pos_n, sonde_native_index(DBL_MAX, 3) + 1), 1);
    CHECK_EQ_INT(snap_find(s.neg, s.neg_n, sonde_native_index(DBL_MAX, 3) + 1), 1);
    CHECK_EQ_INT(s.schema, 3); /* infinities have cells of their own: no reduction */
    sonde_native_snap_free(&s);

    /* a zero threshold below 0 keeps only exact zeros */
    sonde_native_opts z = {.zero_threshold = -1, .native_only = 1};
    sonde_histogram *hz = sonde_histogram_of(native_family(reg, "z_seconds", &z));
    sonde_histogram_observe(hz, 0);
    sonde_histogram_observe(hz, 1e-300);
    CHECK(sonde_native_snapshot((sonde_child *)hz, &s) == SONDE_OK);
    CHECK_EQ_INT(s.zero_count, 1);
    CHECK(s.zero_threshold == 0);
    CHECK_EQ_INT(s.pos_n, 1);
    sonde_native_snap_free(&s);

    /* bad options */
    sonde_metric *m = NULL;
    sonde_native_opts bad = {.bucket_factor = 0.5};
    sonde_metric_opts mo = {.type = SONDE_HISTOGRAM, .name = "bad", .native = &bad};
    CHECK_EQ_INT(sonde_register(reg, &mo, &m), SONDE_EINVAL);
    bad = (sonde_native_opts){.max_buckets = 5000};
    CHECK_EQ_INT(sonde_register(reg, &mo, &m), SONDE_EINVAL);
    bad = (sonde_native_opts){0};
    mo.type = SONDE_COUNTER;
    CHECK_EQ_INT(sonde_register(reg, &mo, &m), SONDE_EINVAL);
    sonde_registry_free(reg);
}

TEST(reduction_keeps_every_observation)
{
    sonde_registry *reg;
    CHECK(sonde_registry_new(NULL, &reg) == SONDE_OK);
    sonde_native_opts o = {.bucket_factor = 1.0001, .native_only = 1}; /* schema 8 */
    sonde_histogram *h = sonde_histogram_of(native_family(reg, "r_seconds", &o));
    double vals[] = {1, 1.5, 0.001, 1e6, -3, -1e-9, 1e30, 7e-20};
    size_t nv = sizeof vals / sizeof vals[0];
    for (size_t i = 0; i < nv; i++)
        sonde_histogram_observe(h, vals[i]);
    sonde_native_snap s = {0};
    CHECK(sonde_native_snapshot((sonde_child *)h, &s) == SONDE_OK);
    CHECK(s.schema < 8);
    CHECK_EQ_INT(s.count, nv);
    for (size_t i = 0; i < nv; i++) { /* every value sits in its bucket at the final schema */
        double a = fabs(vals[i]);
        int32_t k = sonde_native_index(a, s.schema);
        CHECK(vals[i] > 0 ? snap_find(s.pos, s.pos_n, k) >= 1 : snap_find(s.neg, s.neg_n, k) >= 1);
    }
    CHECK(s.pos_n + s.neg_n <= 160);
    sonde_native_snap_free(&s);

    /* the exposition's limit: halving until max_buckets fit */
    sonde_native_opts lim = {.bucket_factor = 1.1, .max_buckets = 10, .native_only = 1};
    sonde_histogram *hl = sonde_histogram_of(native_family(reg, "l_seconds", &lim));
    for (int i = 1; i <= 100; i++)
        sonde_histogram_observe(hl, i * 0.01);
    CHECK(sonde_native_snapshot((sonde_child *)hl, &s) == SONDE_OK);
    CHECK(s.pos_n <= 10);
    CHECK(s.schema < 3);
    CHECK_EQ_INT(s.count, 100);
    sonde_native_snap_free(&s);

    /* widening the zero bucket first, up to max_zero_threshold */
    sonde_native_opts wz = {.bucket_factor = 1.1, .max_buckets = 10, .max_zero_threshold = 0.05,
                            .native_only = 1};
    sonde_histogram *hw = sonde_histogram_of(native_family(reg, "w_seconds", &wz));
    for (int i = 1; i <= 100; i++)
        sonde_histogram_observe(hw, i * 0.01);
    CHECK(sonde_native_snapshot((sonde_child *)hw, &s) == SONDE_OK);
    CHECK(s.zero_threshold > 0.03 && s.zero_threshold <= 0.05);
    CHECK(s.zero_count >= 3);
    CHECK_EQ_INT(s.count, 100);
    CHECK(s.pos_n <= 10);
    sonde_native_snap_free(&s);
    sonde_registry_free(reg);
}

static uint64_t fake_ns;
static uint64_t fake_mono(void *ud)
{
    (void)ud;
    return fake_ns;
}

TEST(reset_after_min_reset_duration)
{
    fake_ns = 1000000000;
    sonde_set_clock(fake_mono, NULL, NULL);
    sonde_registry *reg;
    CHECK(sonde_registry_new(NULL, &reg) == SONDE_OK);
    sonde_native_opts o = {.bucket_factor = 1.0001, .min_reset_seconds = 60, .native_only = 1};
    sonde_histogram *h = sonde_histogram_of(native_family(reg, "t_seconds", &o));
    sonde_histogram_observe(h, 1);
    sonde_histogram_observe(h, 1e10); /* too early to reset: the schema halves */
    sonde_native_snap s = {0};
    CHECK(sonde_native_snapshot((sonde_child *)h, &s) == SONDE_OK);
    CHECK_EQ_INT(s.count, 2);
    CHECK(s.schema < 8);
    fake_ns += 61000000000ull;
    sonde_histogram_observe(h, 1e-10); /* outside, and a minute has passed: reset */
    CHECK(sonde_native_snapshot((sonde_child *)h, &s) == SONDE_OK);
    CHECK_EQ_INT(s.count, 1);
    CHECK_EQ_INT(s.schema, 8);
    CHECK_EQ_INT(snap_find(s.pos, s.pos_n, sonde_native_index(1e-10, 8)), 1);
    sonde_histogram_observe(h, 2e-10);
    CHECK(sonde_native_snapshot((sonde_child *)h, &s) == SONDE_OK);
    CHECK_EQ_INT(s.count, 2);
    sonde_native_snap_free(&s);
    sonde_registry_free(reg);
    sonde_set_clock(NULL, NULL, NULL);
}

TEST(text_formats_show_native_only_as_count_sum_inf)
{
    sonde_registry *reg;
    CHECK(sonde_registry_new(NULL, &reg) == SONDE_OK);
    sonde_native_opts o = {.native_only = 1};
    sonde_histogram *h = sonde_histogram_of(native_family(reg, "only_seconds", &o));
    sonde_native_opts mixed = {0};
    sonde_metric *mm = NULL;
    sonde_metric_opts mo = {.type = SONDE_HISTOGRAM, .name = "mixed_seconds", .help = "m", .native = &mixed,
                            .buckets = {(const double[]){0.1, 1}, 2}};
    CHECK(sonde_register(reg, &mo, &mm) == SONDE_OK);
    sonde_histogram *hm = sonde_histogram_of(mm);
    sonde_histogram_observe(h, 0.5);
    sonde_histogram_observe(h, 2);
    sonde_histogram_observe(hm, 0.5);
    char *t = sonde_expose_alloc(reg, SONDE_FORMAT_TEXT, NULL);
    CHECK(t && strstr(t, "# TYPE only_seconds histogram\nonly_seconds_bucket{le=\"+Inf\"} 2\n"
                         "only_seconds_sum 2.5\nonly_seconds_count 2\n"));
    CHECK(t && strstr(t, "mixed_seconds_bucket{le=\"0.1\"} 0\nmixed_seconds_bucket{le=\"1\"} 1\n"));
    free(t);
    t = sonde_expose_alloc(reg, SONDE_FORMAT_OPENMETRICS, NULL);
    CHECK(t && strstr(t, "only_seconds_bucket{le=\"+Inf\"} 2\nonly_seconds_sum 2.5\nonly_seconds_count 2\n"
                         "only_seconds_created "));
    free(t);
    uint64_t count, counts[1];
    sonde_histogram_read(h, &count, NULL, counts);
    CHECK_EQ_INT(count, 2);
    CHECK_EQ_INT(counts[0], 2);
    size_t len = 0;
    t = sonde_expose_alloc(reg, SONDE_FORMAT_PROTOBUF, &len);
    CHECK(t && len > 20 && (unsigned char)t[1] == 0x0a); /* a length, then field 1 (name) */
    CHECK(t && memmem(t, len, "only_seconds", 12) && memmem(t, len, "mixed_seconds", 13));
    free(t);
    sonde_registry_free(reg);
}

TEST(negotiation_prefers_protobuf_only_when_asked_so)
{
    const char *native =
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,"
        "application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,"
        "text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    const char *classic = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                          "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    CHECK_EQ_INT(sonde_format_negotiate(native), SONDE_FORMAT_PROTOBUF);
    CHECK_EQ_INT(sonde_format_negotiate(classic), SONDE_FORMAT_OPENMETRICS);
    CHECK_EQ_INT(sonde_format_negotiate("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily"),
                 SONDE_FORMAT_TEXT); /* not delimited: we do not write that */
    CHECK_EQ_INT(sonde_format_negotiate("application/vnd.google.protobuf;encoding=delimited"), SONDE_FORMAT_TEXT);
    CHECK_EQ_INT(sonde_format_negotiate("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
                                        "encoding=delimited;q=0.4,text/plain;q=0.5"),
                 SONDE_FORMAT_TEXT);
    CHECK_EQ_INT(sonde_format_negotiate("*/*"), SONDE_FORMAT_TEXT);
    CHECK_EQ_STR(sonde_format_content_type(SONDE_FORMAT_PROTOBUF),
                 "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited");
}

TEST(llm_option_makes_genai_histograms_native_and_classic)
{
    for (int native = 0; native < 2; native++) {
        sonde_registry *reg;
        CHECK(sonde_registry_new(NULL, &reg) == SONDE_OK);
        sonde_llm *llm = NULL;
        sonde_llm_opts o = {.prefix = "gw", .native_histograms = native};
        CHECK(sonde_llm_new(reg, &o, &llm) == SONDE_OK);
        static const char *const genai[] = {"gen_ai_client_operation_duration_seconds", "gen_ai_client_token_usage",
                                            "gen_ai_server_time_to_first_token_seconds",
                                            "gen_ai_server_time_per_output_token_seconds",
                                            "gen_ai_server_request_duration_seconds"};
        for (size_t i = 0; i < sizeof genai / sizeof genai[0]; i++) {
            const sonde_family *f = (const sonde_family *)sonde_registry_find(reg, genai[i]);
            CHECK(f && (f->native != NULL) == native);
            CHECK(f && f->bound_count > 10); /* the classic GenAI buckets stay */
            CHECK(!f || !f->native || (f->native->schema == 3 && !f->native->only));
        }
        const sonde_family *lat = (const sonde_family *)sonde_registry_find(reg, "gw_provider_latency_seconds");
        CHECK(lat && lat->native == NULL); /* service families stay classic */
        sonde_llm_free(llm);
        sonde_registry_free(reg);
    }
}

int main(void)
{
    RUN(llm_option_makes_genai_histograms_native_and_classic);
    RUN(index_matches_reference_at_every_schema);
    RUN(zero_negative_nan_inf);
    RUN(reduction_keeps_every_observation);
    RUN(reset_after_min_reset_duration);
    RUN(text_formats_show_native_only_as_count_sum_inf);
    RUN(negotiation_prefers_protobuf_only_when_asked_so);
    return check_report();
}
