/*
 * native_server.c - the program test_native_histograms.sh scrapes: a registry
 * with native-only, classic and mixed histograms and every other type,
 * served on 127.0.0.1 by the embedded server. Every value it observes is
 * written to DIR/<family>.values (one per line, exact), so the test computes
 * the expected counts, sums, buckets and quantiles on its own.
 *
 * Usage: native-server DIR. Prints "listening on port N" once serving, then
 * (a counter and a classic bucket carry an exemplar) reads commands from stdin: "phase2" observes a second batch (values far
 * outside the schema-8 family's window: a resolution reduction mid-run, and
 * TTFT values for the recording rules) and prints "phase2 done"; "ttft" only
 * observes TTFT values ("ttft done"); end of input stops it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sonde/sonde.h>

static FILE *values_file(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.values", dir, name);
    return fopen(path, "a");
}

static uint64_t seed = 42;
static double uniform(void) /* [0, 1) */
{
    seed = seed * 6364136223846793005u + 1442695040888963407u;
    return (double)(seed >> 11) / 9007199254740992.0;
}

/* observe v into h and record it under name */
static void obs(const char *dir, const char *name, sonde_histogram *h, double v)
{
    sonde_histogram_observe(h, v);
    FILE *f = values_file(dir, name);
    if (f) {
        fprintf(f, "%.17g\n", v);
        fclose(f);
    }
}

static double fn_value(void *ud)
{
    (void)ud;
    return 7.5;
}

static int collect(sonde_emitter *e, void *ud)
{
    (void)ud;
    sonde_emit_family(e, "collected_untyped", "From a collector.", SONDE_UNTYPED, NULL);
    sonde_label l = {"kind", "x"};
    return sonde_emit_sample(e, NULL, &l, 1, 3.25);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    const char *dir = argv[1];
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    static const sonde_label global[] = {{"env", "test"}};
    cfg.global_labels = global;
    cfg.global_label_count = 1;
    cfg.listen_addr = "127.0.0.1";
    cfg.port = 0;
    sonde_registry *reg;
    if (sonde_registry_new(&cfg, &reg))
        return 1;

    static const char *const route[] = {"route"};
    sonde_native_opts native3 = {.bucket_factor = 1.1, .native_only = 1};
    sonde_native_opts native8 = {.bucket_factor = 1.0001, .native_only = 1};
    sonde_native_opts mixed = {.bucket_factor = 1.1};
    sonde_metric *lat, *sgn, *inf, *red, *cls, *mix;
    sonde_metric_opts o = {.type = SONDE_HISTOGRAM, .name = "nh_latency_seconds", .help = "Native only.",
                           .label_names = route, .label_count = 1, .native = &native3};
    int rc = sonde_register(reg, &o, &lat);
    o = (sonde_metric_opts){.type = SONDE_HISTOGRAM, .name = "nh_signed", .help = "Negatives and zeros.",
                            .native = &native3};
    rc |= sonde_register(reg, &o, &sgn);
    o.name = "nh_infinite";
    o.help = "Infinities.";
    rc |= sonde_register(reg, &o, &inf);
    o = (sonde_metric_opts){.type = SONDE_HISTOGRAM, .name = "nh_reduced_seconds", .help = "Schema 8, reduced.",
                            .native = &native8};
    rc |= sonde_register(reg, &o, &red);
    o = (sonde_metric_opts){.type = SONDE_HISTOGRAM, .name = "classic_seconds", .help = "Classic.",
                            .buckets = SONDE_BUCKETS_DEFAULT};
    rc |= sonde_register(reg, &o, &cls);
    o = (sonde_metric_opts){.type = SONDE_HISTOGRAM, .name = "mixed_seconds", .help = "Native and classic.",
                            .buckets = SONDE_BUCKETS_DEFAULT, .native = &mixed};
    rc |= sonde_register(reg, &o, &mix);
    static const char *const model[] = {"gen_ai_request_model"};
    sonde_metric *ttft; /* as sonde-gateway registers it: native and the GenAI classic buckets */
    o = (sonde_metric_opts){.type = SONDE_HISTOGRAM, .name = "gen_ai_server_time_to_first_token_seconds",
                            .help = "TTFT.", .label_names = model, .label_count = 1,
                            .buckets = SONDE_BUCKETS_LLM_TTFT, .native = &mixed};
    rc |= sonde_register(reg, &o, &ttft);
    sonde_metric *ctr, *gau, *sum, *info, *st, *fng;
    o = (sonde_metric_opts){.type = SONDE_COUNTER, .name = "jobs_total", .help = "Jobs.", .label_names = route,
                            .label_count = 1};
    rc |= sonde_register(reg, &o, &ctr);
    o = (sonde_metric_opts){.type = SONDE_GAUGE, .name = "temperature_celsius", .help = "Gauge."};
    rc |= sonde_register(reg, &o, &gau);
    o = (sonde_metric_opts){.type = SONDE_SUMMARY, .name = "payload_bytes", .help = "Summary."};
    rc |= sonde_register(reg, &o, &sum);
    static const char *const version[] = {"version"};
    o = (sonde_metric_opts){.type = SONDE_INFO, .name = "build", .help = "Info.", .label_names = version,
                            .label_count = 1};
    rc |= sonde_register(reg, &o, &info);
    static const char *const states[] = {"starting", "serving"};
    o = (sonde_metric_opts){.type = SONDE_STATESET, .name = "phase", .help = "Stateset.", .states = states,
                            .state_count = 2};
    rc |= sonde_register(reg, &o, &st);
    o = (sonde_metric_opts){.type = SONDE_GAUGE, .name = "computed", .help = "Scrape-time."};
    rc |= sonde_register_func(reg, &o, fn_value, NULL, &fng);
    rc |= sonde_collector_add(reg, "c", collect, NULL, NULL);
    if (rc)
        return 1;

    /* the TTFT series exists from the start (empty), so that a rate sees the observations of
     * "phase2" and "ttft" arrive */
    sonde_histogram *t = sonde_histogram_with(ttft, (const char *[]){"sim"});
    sonde_histogram *la = sonde_histogram_with(lat, (const char *[]){"/a"});
    sonde_histogram *lb = sonde_histogram_with(lat, (const char *[]){"/b"});
    for (int i = 0; i < 3000; i++) { /* log-uniform over 1 ms .. 10 s */
        obs(dir, "nh_latency_seconds_a", la, 0.001 * pow(10000, uniform()));
        obs(dir, "nh_latency_seconds_b", lb, 0.2 + 0.01 * (uniform() - 0.5));
    }
    sonde_histogram *hs = sonde_histogram_of(sgn);
    for (int i = 0; i < 1000; i++)
        obs(dir, "nh_signed", hs, i % 10 == 0 ? 0 : (uniform() - 0.6) * 20);
    sonde_histogram *hi = sonde_histogram_of(inf);
    obs(dir, "nh_infinite", hi, INFINITY);
    obs(dir, "nh_infinite", hi, -INFINITY);
    obs(dir, "nh_infinite", hi, 1.5);
    sonde_histogram_observe(hi, NAN); /* refused: not recorded */
    sonde_histogram *hr = sonde_histogram_of(red);
    for (int i = 0; i < 500; i++)
        obs(dir, "nh_reduced_seconds", hr, 1 + 0.2 * uniform());
    sonde_histogram *hc = sonde_histogram_of(cls), *hm = sonde_histogram_of(mix);
    for (int i = 0; i < 800; i++) {
        double v = 12 * uniform();
        obs(dir, "classic_seconds", hc, v);
        obs(dir, "mixed_seconds", hm, v);
    }
    sonde_span_context ctx = {.trace_id = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d,
                                           0x0e, 0x0e, 0x47, 0x36},
                              .span_id = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
                              .flags = SONDE_TRACE_FLAG_SAMPLED};
    sonde_counter_add(sonde_counter_with(ctr, (const char *[]){"/a"}), 40);
    sonde_counter_add_exemplar(sonde_counter_with(ctr, (const char *[]){"/a"}), 1, &ctx);
    sonde_histogram_observe_exemplar(hc, 0.3, &ctx); /* the le="0.5" bucket's exemplar */
    FILE *cf = values_file(dir, "classic_seconds");
    if (cf) {
        fprintf(cf, "0.29999999999999999\n");
        fclose(cf);
    }
    sonde_counter_inc(sonde_counter_with(ctr, (const char *[]){"/b"}));
    sonde_gauge_set(sonde_gauge_of(gau), -3.5);
    sonde_summary *ss = sonde_summary_of(sum);
    for (int i = 1; i <= 100; i++)
        sonde_summary_observe(ss, i);
    sonde_info_set(info, (const char *[]){"1.2.3"});
    sonde_stateset_set(sonde_stateset_with(st, NULL), "serving");

    sonde_server_opts so;
    sonde_server_opts_init(&so);
    so.registry = reg;
    so.gzip = 0;
    char err[256];
    sonde_server *srv;
    if (sonde_server_new(&so, err, sizeof err, &srv) || sonde_server_start(srv)) {
        fprintf(stderr, "native-server: %s\n", err);
        return 1;
    }
    printf("listening on port %d\n", sonde_server_port(srv));
    fflush(stdout);
    char line[256];
    while (fgets(line, sizeof line, stdin)) {
        if (strncmp(line, "phase2", 6) == 0) {
            for (int i = 0; i < 500; i++) /* 1 .. 1000: far past the schema-8 window */
                obs(dir, "nh_reduced_seconds", hr, pow(1000, uniform()));
        }
        if (strncmp(line, "phase2", 6) == 0 || strncmp(line, "ttft", 4) == 0) {
            for (int i = 0; i < 400; i++) /* the sim's first token: 200 ms +- 5 */
                obs(dir, "gen_ai_ttft", t, 0.2 + 0.01 * (uniform() - 0.5));
            printf("%s done\n", line[0] == 'p' ? "phase2" : "ttft");
            fflush(stdout);
        }
    }
    sonde_server_free(srv);
    sonde_registry_free(reg);
    return 0;
}
