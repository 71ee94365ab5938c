/*
 * driver.c - the program of test_remote_write.sh, test_pushgateway.sh and
 * test_push_faults.sh: a registry holding every kind of series (counters,
 * a gauge, a histogram, a summary, an info, labelled families with hostile
 * (native histograms, native-only and mixed, for remote write only)
 * UTF-8 values, a custom collector, the registry's SONDE_GLOBAL_LABELS), started with
 * sonde_exporters_from_env() exactly as a service would (SONDE_* variables),
 * its logger writing JSON lines to SONDE_LOG_FILE.
 *
 *   driver rw EXPO_FILE     write the text exposition to EXPO_FILE (values are fixed
 *                           from then on), start the exporters, then answer commands
 *                           on stdin, one per line: "stats" prints the sender's counts
 *                           on one line, "snap" takes a snapshot now, "quit" stops with
 *                           a 5 s drain and prints "stopped".
 *                           rw_seq is a gauge whose value is 1 more at every read: each
 *                           snapshot carries the next number.
 *   driver push METHOD NAME=V[,NAME=V]   push gauges NAME with values V with PUT, POST
 *                           or DELETE; prints "status N rc R".
 *   driver jobend 0|1        the batch-job helper (push on exit); prints "status N rc R".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sonde/push.h"
#include "sonde/sonde.h"

static double seq;
static double next_seq(void *ud)
{
    (void)ud;
    return ++seq;
}

/* A custom collector: sent as a scrape would render it. */
static int collect(sonde_emitter *e, void *ud)
{
    (void)ud;
    sonde_emit_family(e, "rw_collected_total", "Collected.", SONDE_COUNTER, NULL);
    sonde_label l[] = {{"source", "caf\xc3\xa9 \"q\" \\ \xf0\x9f\x94\xa5"}};
    sonde_emit_sample(e, NULL, l, 1, 17);
    return 0;
}

static sonde_registry *new_registry(void)
{
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    char err[256];
    sonde_registry *reg = NULL;
    if (sonde_config_from_env(&cfg, err, sizeof err) != SONDE_OK ||
        sonde_registry_new(&cfg, &reg) != SONDE_OK) {
        fprintf(stderr, "driver: config: %s\n", err);
        exit(2);
    }
    sonde_config_cleanup(&cfg);
    return reg;
}

static void fill(sonde_registry *reg)
{
    sonde_counter *c;
    sonde_gauge *g;
    sonde_histogram *h;
    sonde_counter_new(reg, "rw_jobs_total", "Jobs.", &c);
    sonde_counter_add(c, 42);
    sonde_gauge_new(reg, "rw_temperature_celsius", "T.", &g);
    sonde_gauge_set(g, -3.25);
    static const double b[] = {0.1, 1, 10};
    sonde_histogram_new(reg, "rw_latency_seconds", "L.", (sonde_buckets){b, 3}, &h);
    static const double obs[] = {0.05, 0.5, 0.7, 5, 50};
    for (int i = 0; i < 5; i++)
        sonde_histogram_observe(h, obs[i]);
    static const char *const ln[] = {"path", "Zone"};
    sonde_metric *m;
    sonde_metric_opts o = {.type = SONDE_COUNTER, .name = "rw_requests", .help = "R.",
                           .label_names = ln, .label_count = 2};
    sonde_register(reg, &o, &m);
    sonde_counter_add(sonde_counter_with(m, (const char *[]){"/api/\"q\"\\n\n", "eu"}), 3);
    sonde_counter_add(sonde_counter_with(m, (const char *[]){"\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x94\xa5 \xe2\x80\x8b", "us"}), 5);
    sonde_counter_add(sonde_counter_with(m, (const char *[]){"", "{}=,"}), 7);
    static const sonde_quantile q[] = {{0.5, 0.05}, {0.99, 0.001}};
    sonde_metric_opts so = {.type = SONDE_SUMMARY, .name = "rw_size_bytes", .help = "S.",
                            .quantiles = q, .quantile_count = 2};
    sonde_metric *sm;
    sonde_register(reg, &so, &sm);
    sonde_summary_observe(sonde_summary_of(sm), 100);
    sonde_summary_observe(sonde_summary_of(sm), 300);
    static const char *const il[] = {"version"};
    sonde_metric_opts io = {.type = SONDE_INFO, .name = "rw_build", .help = "B.",
                            .label_names = il, .label_count = 1};
    sonde_metric *im;
    sonde_register(reg, &io, &im);
    sonde_metric_child(im, (const char *[]){"1.2.3"}, &(void *){0});
    sonde_collector_add(reg, "driver", collect, NULL, NULL);
}

static sonde_logger *new_logger(void)
{
    sonde_logger_opts lo;
    sonde_logger_opts_init(&lo);
    lo.service = "push-driver";
    lo.rate_per_sec = -1;
    sonde_logger *lg = NULL;
    sonde_logger_new(&lo, &lg);
    return lg;
}

static void print_stats(const sonde_remote_write *rw)
{
    sonde_remote_write_stats st;
    sonde_remote_write_stats_get(rw, &st);
    printf("snapshots=%llu samples=%llu failed=%llu dropped=%llu dropped_snapshots=%llu "
           "retries=%llu requests=%llu queue=%zu\n",
           (unsigned long long)st.snapshots, (unsigned long long)st.samples,
           (unsigned long long)st.failed, (unsigned long long)st.dropped,
           (unsigned long long)st.dropped_snapshots, (unsigned long long)st.retries,
           (unsigned long long)st.requests, st.queue);
    fflush(stdout);
}

static int start(sonde_registry *reg, sonde_logger *lg, sonde_exporters **ex)
{
    char err[256] = "";
    int rc = sonde_exporters_from_env(reg, lg, ex, err, sizeof err);
    if (rc != SONDE_OK)
        fprintf(stderr, "driver: %s (%s)\n", err, sonde_strerror(rc));
    return rc;
}

/* Native histograms, for remote write only: one native-only (sent as one histogram
 * series), one with classic buckets too (both sent). The text exposition shows their
 * _count and _sum, what the test compares Prometheus' histogram_count/_sum with. */
static void fill_native(sonde_registry *reg)
{
    static const sonde_native_opts only = {.bucket_factor = 1.1, .native_only = 1}, both = {.bucket_factor = 2};
    static const double b[] = {1};
    sonde_metric_opts no = {.type = SONDE_HISTOGRAM, .name = "rw_native_seconds", .help = "N.", .native = &only};
    sonde_metric_opts mo = {.type = SONDE_HISTOGRAM, .name = "rw_mixed_seconds", .help = "M.",
                            .buckets = {b, 1}, .native = &both};
    sonde_metric *n, *m;
    if (sonde_register(reg, &no, &n) != SONDE_OK || sonde_register(reg, &mo, &m) != SONDE_OK)
        return;
    static const double obs[] = {0, 0.002, 0.3, 0.3, 1.7, 42, -0.5};
    for (int i = 0; i < 7; i++)
        sonde_histogram_observe(sonde_histogram_of(n), obs[i]);
    sonde_histogram_observe(sonde_histogram_of(m), 0.25);
    sonde_histogram_observe(sonde_histogram_of(m), 4);
}

static int run_rw(const char *expo_file)
{
    sonde_registry *reg = new_registry();
    fill(reg);
    fill_native(reg);
    sonde_metric_opts so = {.type = SONDE_GAUGE, .name = "rw_seq", .help = "Snapshot number."};
    sonde_metric *seq_family;
    if (sonde_register_func(reg, &so, next_seq, NULL, &seq_family) != SONDE_OK)
        return 2;
    FILE *f = fopen(expo_file, "w");
    char *text = sonde_expose_alloc(reg, SONDE_FORMAT_TEXT, NULL);
    if (!f || !text)
        return 2;
    fputs(text, f);
    fclose(f);
    free(text);
    sonde_logger *lg = new_logger();
    sonde_exporters *ex;
    if (start(reg, lg, &ex) != SONDE_OK)
        return 1;
    sonde_remote_write *rw = sonde_exporters_remote_write(ex);
    printf("ready\n");
    fflush(stdout);
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
        if (strncmp(line, "stats", 5) == 0)
            print_stats(rw);
        else if (strncmp(line, "snap", 4) == 0)
            sonde_remote_write_snapshot_now(rw);
        else if (strncmp(line, "quit", 4) == 0)
            break;
    }
    sonde_exporters_free(ex, 0, 0, 5000);
    printf("stopped\n");
    sonde_logger_free(lg, 1000);
    sonde_registry_free(reg);
    return 0;
}

static int run_push(int argc, char **argv, int jobend)
{
    sonde_registry *reg = new_registry();
    sonde_logger *lg = new_logger();
    sonde_exporters *ex;
    if (start(reg, lg, &ex) != SONDE_OK)
        return 1;
    sonde_pushgateway *pg = sonde_exporters_pushgateway(ex);
    long status = 0;
    int rc;
    if (jobend) {
        fill(reg);
        rc = sonde_pushgateway_push_job_end(pg, reg, argc > 2 && strcmp(argv[2], "1") == 0, &status);
    } else {
        const char *method = argc > 2 ? argv[2] : "PUT";
        sonde_push_method m = strcmp(method, "POST") == 0     ? SONDE_PUSH_POST
                              : strcmp(method, "DELETE") == 0 ? SONDE_PUSH_DELETE
                                                              : SONDE_PUSH_PUT;
        char spec[512];
        snprintf(spec, sizeof spec, "%s", argc > 3 ? argv[3] : "");
        for (char *save, *kv = strtok_r(spec, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(kv, '=');
            if (!eq)
                continue;
            *eq = '\0';
            sonde_gauge *g;
            if (sonde_gauge_new(reg, kv, "Pushed.", &g) == SONDE_OK)
                sonde_gauge_set(g, atof(eq + 1));
        }
        rc = sonde_pushgateway_push(pg, reg, m, &status);
    }
    printf("status %ld rc %d\n", status, rc);
    sonde_exporters_free(ex, 0, 0, 0);
    sonde_logger_free(lg, 1000);
    sonde_registry_free(reg);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "rw") == 0)
        return run_rw(argv[2]);
    if (argc >= 2 && strcmp(argv[1], "push") == 0)
        return run_push(argc, argv, 0);
    if (argc >= 2 && strcmp(argv[1], "jobend") == 0)
        return run_push(argc, argv, 1);
    fprintf(stderr, "usage: driver rw EXPO_FILE | push METHOD N=V,... | jobend 0|1\n");
    return 2;
}
