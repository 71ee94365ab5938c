/*
 * metrics_driver.c - the program test_otlp_metrics.sh runs against its OTLP
 * receiver: a registry holding every instrument kind (labels with hostile
 * UTF-8 values included, a global label, a native histogram, exemplars on a
 * counter and on a histogram bucket), exported by
 * sonde_otlp_metrics_start() exactly as the OTEL_* environment the test sets
 * configures it. It records everything first, waits for WAIT exports
 * (delivered or failed) of the periodic reader, stops it (one last export)
 * and prints one JSON object on stdout: what it recorded and the reader's
 * counters, for the test to compare with what the receiver decoded.
 *
 *   metrics_driver [WAIT]   (WAIT defaults to 2)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sonde/otlp.h"
#include "sonde/sonde.h"

/* quotes, a backslash, a newline, accents, an emoji, a right-to-left mark and a CJK run */
static const char hostile[] = "a\"b\\c\nd \xc3\xa9t\xc3\xa9 \xf0\x9f\x94\xa5 \xe2\x80\x8f\xe6\xbc\xa2\xe5\xad\x97";

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* {"value": v, "trace_id": hex, "span_id": hex} */
static void json_exemplar(const sonde_span_context *ctx, double v)
{
    printf("{\"value\": %g, \"trace_id\": \"", v);
    for (int i = 0; i < 16; i++)
        printf("%02x", ctx->trace_id[i]);
    printf("\", \"span_id\": \"");
    for (int i = 0; i < 8; i++)
        printf("%02x", ctx->span_id[i]);
    printf("\"}");
}

int main(int argc, char **argv)
{
    int wait_exports = argc > 1 ? atoi(argv[1]) : 2;
    sonde_logger_opts lo;
    sonde_logger_opts_init(&lo);
    sonde_logger *diag = NULL; /* the library's diagnostics: JSON lines on stderr */
    if (sonde_logger_new(&lo, &diag) != SONDE_OK)
        return 1;
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    sonde_label globals[] = {{"region", "eu-west"}, {"service", "metrics-driver"}};
    cfg.global_labels = globals;
    cfg.global_label_count = 2;
    sonde_registry *reg;
    if (sonde_registry_new(&cfg, &reg) != SONDE_OK)
        return 1;

    static const char *const cl[] = {"model", "status"};
    sonde_metric *requests, *queue, *temp, *duration, *size, *build, *feature;
    static const double bounds[] = {0.1, 0.5, 1, 2.5};
    static const char *const states[] = {"off", "canary", "on"};
    static const char *const il[] = {"version", "commit"};
    static const char *const hl[] = {"route"};
    sonde_metric_opts o[] = {
        {.type = SONDE_COUNTER, .name = "llm_requests_total", .help = "LLM requests.",
         .label_names = cl, .label_count = 2},
        {.type = SONDE_GAUGE, .name = "queue_depth", .help = "Requests waiting."},
        {.type = SONDE_GAUGE, .name = "gpu_temperature_celsius", .help = "GPU temperature.",
         .unit = "celsius"},
        {.type = SONDE_HISTOGRAM, .name = "request_duration_seconds", .help = "Request latency.",
         .unit = "seconds", .label_names = hl, .label_count = 1,
         .buckets = {bounds, 4}},
        {.type = SONDE_SUMMARY, .name = "response_size_bytes", .help = "Response sizes.",
         .unit = "bytes"},
        {.type = SONDE_INFO, .name = "build_info", .help = "Build.", .label_names = il,
         .label_count = 2},
        {.type = SONDE_STATESET, .name = "feature_mode", .help = "Rollout.", .states = states,
         .state_count = 3},
    };
    static const sonde_native_opts native = {.bucket_factor = 2, .native_only = 1};
    sonde_metric *ttft;
    sonde_metric_opts no = {.type = SONDE_HISTOGRAM, .name = "ttft_seconds", .help = "TTFT.",
                            .unit = "seconds", .native = &native};
    sonde_metric **m[] = {&requests, &queue, &temp, &duration, &size, &build, &feature};
    if (sonde_register(reg, &no, &ttft) != SONDE_OK) {
        fprintf(stderr, "register ttft_seconds failed\n");
        return 1;
    }
    for (size_t i = 0; i < 7; i++)
        if (sonde_register(reg, &o[i], m[i]) != SONDE_OK) {
            fprintf(stderr, "register %s failed\n", o[i].name);
            return 1;
        }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned long long recorded_ns = (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
    sonde_span_context ctx_counter = {.flags = SONDE_TRACE_FLAG_SAMPLED};
    sonde_span_context ctx_bucket = {.flags = SONDE_TRACE_FLAG_SAMPLED};
    for (int i = 0; i < 16; i++) {
        ctx_counter.trace_id[i] = (uint8_t)(0x10 + i);
        ctx_bucket.trace_id[i] = (uint8_t)(0xf0 - i);
    }
    for (int i = 0; i < 8; i++) {
        ctx_counter.span_id[i] = (uint8_t)(0xa0 + i);
        ctx_bucket.span_id[i] = (uint8_t)(0x01 + i);
    }
    sonde_counter_add(sonde_counter_with(requests, (const char *[]){"gpt-4o", "200"}), 40);
    sonde_counter_add_exemplar(sonde_counter_with(requests, (const char *[]){"gpt-4o", "200"}), 1,
                               &ctx_counter);
    sonde_counter_add(sonde_counter_with(requests, (const char *[]){hostile, "500"}), 2.5);
    sonde_gauge_set(sonde_gauge_of(queue), -3);
    sonde_gauge_set(sonde_gauge_of(temp), 71.25);
    static const double obs[] = {0.05, 0.1, 0.3, 0.7, 0.9, 2, 3, 7.5};
    for (size_t i = 0; i < 8; i++) /* 0.7 with an exemplar, in bucket le=1 */
        sonde_histogram_observe_exemplar(sonde_histogram_with(duration, (const char *[]){"/v1/chat"}),
                                         obs[i], obs[i] == 0.7 ? &ctx_bucket : NULL);
    sonde_histogram_observe(sonde_histogram_with(duration, (const char *[]){hostile}), 0.2);
    for (int i = 1; i <= 100; i++)
        sonde_summary_observe(sonde_summary_of(size), i * 10.0);
    static const double native_obs[] = {0, 0.3, 0.6, 1.5, 3, 3.5, 4, -2};
    for (size_t i = 0; i < 8; i++)
        sonde_histogram_observe(sonde_histogram_of(ttft), native_obs[i]);
    sonde_info_set(build, (const char *[]){"1.4.2", hostile});
    sonde_stateset_set(sonde_stateset_with(feature, NULL), "canary");

    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned long long start_ns = (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
    sonde_otlp_metrics_opts mo;
    sonde_otlp_metrics_opts_init(&mo);
    mo.registry = reg;
    mo.config = &cfg;
    mo.logger = diag;
    sonde_otlp_metrics *om;
    int rc = sonde_otlp_metrics_start(&mo, &om);
    if (rc != SONDE_OK) {
        fprintf(stderr, "start: %s\n", sonde_strerror(rc));
        return 1;
    }
    sonde_metric_reader_stats st = {0};
    if (om) {
        for (int i = 0; i < 6000; i++) { /* at most 60 s */
            sonde_metric_reader_stats_get(sonde_otlp_metrics_reader(om), &st);
            if (st.exports + st.export_failures >= (uint64_t)wait_exports)
                break;
            nanosleep(&(struct timespec){0, 10000000}, NULL);
        }
        sonde_otlp_metrics_stop(om, -1); /* the last export */
        /* the reader's counters as they stood before that last export */
    }
    printf("{\"started\": %s, \"start_ns\": \"%llu\", \"recorded_ns\": \"%llu\", \"hostile\": ",
           om ? "true" : "false", start_ns, recorded_ns);
    json_str(hostile);
    printf(", \"histogram_obs\": [");
    for (size_t i = 0; i < 8; i++)
        printf("%s%g", i ? ", " : "", obs[i]);
    printf("], \"native_obs\": [");
    for (size_t i = 0; i < 8; i++)
        printf("%s%g", i ? ", " : "", native_obs[i]);
    printf("], \"exemplars\": {\"counter\": ");
    json_exemplar(&ctx_counter, 1);
    printf(", \"bucket\": ");
    json_exemplar(&ctx_bucket, 0.7);
    printf("}");
    printf(", \"bounds\": [0.1, 0.5, 1, 2.5], \"exports\": %llu, \"export_failures\": %llu, "
           "\"points_exported\": %llu}\n",
           (unsigned long long)st.exports, (unsigned long long)st.export_failures,
           (unsigned long long)st.points_exported);
    sonde_registry_free(reg);
    sonde_logger_free(diag, 1000);
    return 0;
}
