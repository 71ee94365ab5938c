/*
 * test_console_obs_threads.c - the console's traces, logs and alerts under
 * concurrency: while the sampler thread samples and evaluates the alert
 * rules (a rule on a gauge the main thread moves across its threshold, so
 * states change and the notify callback runs), two threads ask the traces,
 * logs, log stream and alerts endpoints, and the main thread logs and ends
 * spans (the tracer's export thread fills its rings). Under TSan (label
 * "concurrency") a race fails the test; plain, every answer must be a 200.
 * No timing: fixed iteration counts.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "sonde/console.h"
#include "sonde/sonde.h"

#define ROUNDS 100

static sonde_console *console;
static _Atomic int bad;

static void on_notice(void *ud, const sonde_alert_notice *ev)
{
    (void)ud; /* how many notices come depends on timing: only their shape is checked */
    if (strcmp(ev->name, "Load") || strcmp(ev->expr, "load") ||
        (ev->state != SONDE_ALERT_FIRING && ev->state != SONDE_ALERT_INACTIVE))
        atomic_fetch_add(&bad, 1);
}

static void *asker(void *arg)
{
    static const char *const paths[] = {
        "/console/api/traces",
        "/console/api/traces?kind=slowest",
        "/console/api/traces?kind=errors&name=work",
        "/console/api/logs?level=info&q=round",
        "/console/api/logs/stream",
        "/console/api/alerts",
    };
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        for (size_t k = 0; k < sizeof paths / sizeof *paths; k++) {
            char id[24];
            snprintf(id, sizeof id, "%d", i);
            sonde_server_request rq = {.method = "GET", .path = paths[k],
                                       .last_event_id = k == 4 && i % 2 ? id : NULL};
            sonde_server_response rs;
            if (sonde_console_handle(console, &rq, &rs) != SONDE_OK || rs.status != 200)
                atomic_fetch_add(&bad, 1);
            sonde_server_response_free(&rs);
        }
    }
    return NULL;
}

TEST(traces_logs_alerts_under_threads)
{
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    sonde_registry *reg = NULL;
    CHECK_EQ_INT(sonde_registry_new(&cfg, &reg), SONDE_OK);
    sonde_gauge *g = NULL;
    CHECK_EQ_INT(sonde_gauge_new(reg, "load", "Test.", &g), SONDE_OK);
    sonde_logger_opts lo;
    sonde_logger_opts_init(&lo);
    lo.path = "";
    lo.rate_per_sec = -1;
    lo.read_env = 0;
    sonde_logger *lg = NULL;
    CHECK_EQ_INT(sonde_logger_new(&lo, &lg), SONDE_OK);
    sonde_tracer_opts to;
    sonde_tracer_opts_init(&to);
    to.read_env = 0;
    to.sampler = SONDE_SAMPLER_ALWAYS_ON;
    to.schedule_delay_ms = 1;
    sonde_tracer *t = NULL;
    CHECK_EQ_INT(sonde_tracer_new(&to, &t), SONDE_OK);
    char rules[] = "/tmp/sonde-obs-rules-XXXXXX";
    int fd = mkstemp(rules);
    CHECK(fd >= 0);
    const char *text = "{\"rules\": [{\"name\": \"Load\", \"family\": \"load\", \"fn\": \"value\", "
                       "\"op\": \">\", \"threshold\": 0.5}]}";
    CHECK_EQ_INT(write(fd, text, strlen(text)), (long)strlen(text));
    close(fd);
    sonde_console_opts o;
    sonde_console_opts_init(&o);
    o.registry = reg;
    o.tracer = t;
    o.logger = lg;
    o.interval_ms = 100;
    o.rules_path = rules;
    o.notify = on_notice;
    char err[256] = "";
    CHECK_EQ_INT(sonde_console_new(&o, &console, err, sizeof err), SONDE_OK);
    CHECK_EQ_INT(sonde_console_start(console), SONDE_OK);
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        CHECK_EQ_INT(pthread_create(&th[i], NULL, asker, NULL), 0);
    for (int i = 0; i < ROUNDS * 4; i++) {
        sonde_span *s = sonde_span_start(t, "work", SONDE_SPAN_INTERNAL, NULL);
        sonde_span_set_int(s, "round", i);
        sonde_span *prev = sonde_span_enter(s);
        sonde_attr f[] = {SONDE_ATTR_INT("round", i)};
        sonde_log(lg, i % 3 ? SONDE_LOG_INFO : SONDE_LOG_ERROR, "round", f, 1);
        sonde_span_exit(prev);
        if (i % 5 == 0)
            sonde_span_set_status(s, SONDE_STATUS_ERROR, "odd");
        sonde_span_end(s);
        sonde_gauge_set(g, (i / 20) % 2);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    sonde_console_free(console);
    CHECK_EQ_INT(atomic_load(&bad), 0);
    sonde_tracer_free(t, 1000);
    sonde_logger_free(lg, 0);
    sonde_registry_free(reg);
    unlink(rules);
}

int main(void)
{
    RUN(traces_logs_alerts_under_threads);
    return check_report();
}
