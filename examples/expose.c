/*
 * expose.c - the smallest tour of libsonde: a registry with every metric
 * type, labelled and not, hostile label values, global labels and process
 * metrics, a few recorded values, and the exposition on stdout.
 *
 *   build/examples/expose                 Prometheus text 0.0.4
 *   build/examples/expose --openmetrics   OpenMetrics 1.0
 */
#include <sonde/sonde.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double queue_depth(void *ud)
{
    return *(const double *)ud;
}

static int count_workers(sonde_emitter *e, void *ud)
{
    (void)ud;
    static const sonde_label idle[] = {{"state", "idle"}}, busy[] = {{"state", "busy"}};
    sonde_emit_family(e, "example_workers", "Workers by state, computed at scrape time.",
                      SONDE_GAUGE, NULL);
    sonde_emit_sample(e, NULL, idle, 1, 3);
    sonde_emit_sample(e, NULL, busy, 1, 5);
    return 0;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "expose: %s: %s\n", what, sonde_strerror(rc));
    return 1;
}

int main(int argc, char **argv)
{
    sonde_format format = SONDE_FORMAT_TEXT;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--openmetrics") == 0) {
            format = SONDE_FORMAT_OPENMETRICS;
        } else {
            fprintf(stderr, "usage: %s [--openmetrics]\n", argv[0]);
            return 2;
        }
    }

    /* Configuration: defaults, global labels, process metrics on. */
    static const sonde_label globals[] = {{"service", "expose-example"}, {"environment", "dev"}};
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.global_labels = globals;
    cfg.global_label_count = 2;
    cfg.process_metrics = 1;

    sonde_registry *reg;
    int rc = sonde_registry_new(&cfg, &reg);
    if (rc)
        return fail("registry", rc);

    /* Counter without labels: the handle is the series. */
    sonde_counter *started;
    if ((rc = sonde_counter_new(reg, "example_jobs_started_total", "Jobs started.", &started)))
        return fail("register example_jobs_started_total", rc);
    sonde_counter_add(started, 41);
    sonde_counter_inc(started);

    /* Counter with labels, including hostile values. */
    static const char *const req_labels[] = {"method", "path"};
    sonde_metric *requests;
    sonde_metric_opts ro = {.type = SONDE_COUNTER, .name = "example_requests_total",
                            .help = "Requests by method and path.\nSecond line with a \\ backslash.",
                            .label_names = req_labels, .label_count = 2};
    if ((rc = sonde_register(reg, &ro, &requests)))
        return fail("register example_requests_total", rc);
    sonde_counter_add(sonde_counter_with(requests, (const char *[]){"GET", "/api/v1/items"}), 7);
    sonde_counter_inc(sonde_counter_with(requests, (const char *[]){"POST", "quote\" back\\slash\nnewline"}));
    sonde_counter_add(sonde_counter_with(requests, (const char *[]){"GET", "/caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac/\xf0\x9f\x9a\x80"}), 2);

    /* Gauges: set, add, and one computed at scrape time. */
    sonde_gauge *temp;
    if ((rc = sonde_gauge_new(reg, "example_temperature_celsius", "Temperature.", &temp)))
        return fail("register example_temperature_celsius", rc);
    sonde_gauge_set(temp, 21.5);
    sonde_gauge_sub(temp, 0.25);
    static double depth = 12;
    sonde_metric *depth_metric;
    sonde_metric_opts dq = {.type = SONDE_GAUGE, .name = "example_queue_depth", .help = "Queue depth, read at scrape time."};
    if ((rc = sonde_register_func(reg, &dq, queue_depth, &depth, &depth_metric)))
        return fail("register example_queue_depth", rc);

    /* Histogram with a unit and the LLM time-to-first-token buckets. */
    static const char *const model_label[] = {"model"};
    sonde_metric *ttft;
    sonde_metric_opts ho = {.type = SONDE_HISTOGRAM, .name = "example_ttft_seconds", .unit = "seconds",
                            .help = "Time to first token.", .label_names = model_label, .label_count = 1,
                            .buckets = SONDE_BUCKETS_LLM_TTFT};
    if ((rc = sonde_register(reg, &ho, &ttft)))
        return fail("register example_ttft_seconds", rc);
    sonde_histogram *small = sonde_histogram_with(ttft, (const char *[]){"small"});
    const double samples[] = {0.004, 0.03, 0.07, 0.2, 0.9, 3.0, 12.0};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++)
        sonde_histogram_observe(small, samples[i]);

    /* Summary with the default quantiles. */
    sonde_metric *latency;
    sonde_metric_opts so = {.type = SONDE_SUMMARY, .name = "example_latency_seconds", .unit = "seconds",
                            .help = "Request latency."};
    if ((rc = sonde_register(reg, &so, &latency)))
        return fail("register example_latency_seconds", rc);
    for (int i = 1; i <= 100; i++)
        sonde_summary_observe(sonde_summary_of(latency), i / 100.0);

    /* Info and stateset. */
    static const char *const build_labels[] = {"version", "commit"};
    sonde_metric *build;
    sonde_metric_opts io = {.type = SONDE_INFO, .name = "example_build", .help = "Build information.",
                            .label_names = build_labels, .label_count = 2};
    if ((rc = sonde_register(reg, &io, &build)) || (rc = sonde_info_set(build, (const char *[]){SONDE_VERSION_STRING, "abc123"})))
        return fail("info", rc);
    static const char *const states[] = {"starting", "serving", "draining"};
    sonde_metric *phase;
    sonde_metric_opts sso = {.type = SONDE_STATESET, .name = "example_phase", .help = "Lifecycle phase.",
                             .states = states, .state_count = 3};
    if ((rc = sonde_register(reg, &sso, &phase)))
        return fail("stateset", rc);
    sonde_stateset_set(sonde_stateset_with(phase, NULL), "serving");

    /* A custom collector. */
    if ((rc = sonde_collector_add(reg, "workers", count_workers, NULL, NULL)))
        return fail("collector", rc);

    char *text = sonde_expose_alloc(reg, format, NULL);
    if (!text)
        return fail("expose", SONDE_ENOMEM);
    fputs(text, stdout);
    free(text);
    sonde_registry_free(reg);
    return 0;
}
