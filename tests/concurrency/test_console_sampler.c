/*
 * test_console_sampler.c - the console's sampler thread against its API and
 * the registry: while the sampler runs (and the main thread samples too),
 * two threads ask every metrics endpoint, one updates series, creates new
 * ones and registers and unregisters a family. Under TSan (label
 * "concurrency") a race fails the test; plain, every answer must be a 200
 * JSON object (or 404 for the family that comes and goes), and the history
 * stays within its bound. No timing: fixed iteration counts.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/console/console_internal.h"
#include "../../src/console/history.h"
#include "check.h"
#include "sonde/sonde.h"

#define ROUNDS 150

static sonde_registry *reg;
static sonde_console *console;
static sonde_metric *reqs;
static _Atomic int bad;

static void *asker(void *arg)
{
    static const char *const paths[] = {
        "/console/api/status",
        "/console/api/families?q=r",
        "/console/api/series?family=reqs",
        "/console/api/query?family=reqs&fn=rate&by=code",
        "/console/api/query?family=lat_seconds&fn=quantile&q=0.9",
        "/console/api/query?family=lat_seconds&fn=heatmap&by=",
        "/console/api/query?family=churn&fn=value",
        "/console/api/overview",
    };
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        for (size_t k = 0; k < sizeof paths / sizeof paths[0]; k++) {
            sonde_server_request req = {.method = "GET", .path = paths[k]};
            sonde_server_response resp;
            if (sonde_console_handle(console, &req, &resp) != SONDE_OK) {
                bad++;
                continue;
            }
            int churn = strstr(paths[k], "churn") != NULL;
            if (!(resp.status == 200 || (churn && resp.status == 404)) || resp.body[0] != '{') {
                fprintf(stderr, "%s: %d %s", paths[k], resp.status, resp.body);
                bad++;
            }
            sonde_server_response_free(&resp);
        }
    }
    return NULL;
}

static void *updater(void *arg)
{
    (void)arg;
    sonde_histogram *lat = sonde_histogram_of(sonde_registry_find(reg, "lat_seconds"));
    for (int i = 0; i < ROUNDS * 4; i++) {
        char code[16];
        snprintf(code, sizeof code, "%d", 200 + i % 40);
        const char *v[] = {code};
        sonde_counter_add(sonde_counter_with(reqs, v), 1);
        sonde_histogram_observe(lat, 0.001 * (i % 300));
        if (i % 20 == 0) {
            sonde_gauge *g = NULL;
            if (sonde_gauge_new(reg, "churn", "C.", &g) == SONDE_OK) {
                sonde_gauge_set(g, i);
                sonde_unregister(sonde_registry_find(reg, "churn"));
            }
        }
    }
    return NULL;
}

TEST(sampler_api_and_updates_race_free)
{
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    CHECK_EQ_INT(sonde_registry_new(&cfg, &reg), SONDE_OK);
    static const char *const lbl[] = {"code"};
    sonde_metric_opts o = {.type = SONDE_COUNTER, .name = "reqs", .help = "R.",
                           .label_names = lbl, .label_count = 1};
    CHECK_EQ_INT(sonde_register(reg, &o, &reqs), SONDE_OK);
    sonde_histogram *lat = NULL;
    CHECK_EQ_INT(sonde_histogram_new(reg, "lat_seconds", "L.", (sonde_buckets){0}, &lat), SONDE_OK);
    sonde_console_opts co;
    sonde_console_opts_init(&co);
    co.registry = reg;
    co.interval_ms = 100;
    co.retention_s = 10;      /* 100 samples */
    co.max_bytes = 96 << 10;  /* small: evictions happen too */
    CHECK_EQ_INT(sonde_console_new(&co, &console, NULL, 0), SONDE_OK);
    CHECK_EQ_INT(sonde_console_start(console), SONDE_OK);
    pthread_t t[3];
    pthread_create(&t[0], NULL, asker, NULL);
    pthread_create(&t[1], NULL, asker, NULL);
    pthread_create(&t[2], NULL, updater, NULL);
    int64_t now = (int64_t)(sonde_wall_seconds() * 1000.0);
    for (int i = 1; i <= ROUNDS; i++)
        console_history_sample(console->history, now + 100000 + i * 100);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    CHECK_EQ_INT(bad, 0);
    console_history_lock(console->history);
    CHECK(console->history->bytes <= co.max_bytes);
    console_history_unlock(console->history);
    sonde_console_free(console);
    sonde_registry_free(reg);
}

int main(void)
{
    RUN(sampler_api_and_updates_race_free);
    return check_report();
}
