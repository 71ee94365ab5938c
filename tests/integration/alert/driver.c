/*
 * driver.c - the program of test_alert_webhook.py: a console over a registry
 * with one gauge, its alert rules from argv[1], its notices sent by the
 * webhook sender (libsonde-otlp) to argv[2]. It drives one alert through its
 * life with the real sampler (100 ms interval): the gauge goes up, the
 * driver polls /console/api/alerts until the rule fires and the webhook
 * queue is flushed, then the gauge goes down until the rule is inactive
 * again. Prints "firing", "resolved" as it sees them and the sender's stats
 * ("sent=N failed=N dropped=N"); exits 1 when a state is not reached within
 * 60 s (a bound for a stuck run, not a timing assertion).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sonde/alert.h"
#include "sonde/console.h"
#include "sonde/sonde.h"

static int wait_state(sonde_console *c, const char *state)
{
    char want[64];
    snprintf(want, sizeof want, "\"state\":\"%s\"", state);
    for (int i = 0; i < 600; i++) {
        sonde_server_request rq = {.method = "GET", .path = "/console/api/alerts"};
        sonde_server_response rs;
        if (sonde_console_handle(c, &rq, &rs) != SONDE_OK)
            return 0;
        int found = rs.status == 200 && strstr(rs.body, want) != NULL;
        sonde_server_response_free(&rs);
        if (found)
            return 1;
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: driver RULES.json WEBHOOK_URL\n");
        return 2;
    }
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    sonde_registry *reg = NULL;
    sonde_gauge *g = NULL;
    if (sonde_registry_new(&cfg, &reg) || sonde_gauge_new(reg, "temp", "Test.", &g))
        return 1;
    sonde_alert_webhook_opts wo;
    sonde_alert_webhook_opts_init(&wo);
    wo.url = argv[2];
    wo.external_url = "http://127.0.0.1/console/#/alerts";
    sonde_alert_webhook *w = NULL;
    int rc = sonde_alert_webhook_new(&wo, &w);
    if (rc) {
        fprintf(stderr, "webhook: %s\n", sonde_strerror(rc));
        return 1;
    }
    sonde_console_opts o;
    sonde_console_opts_init(&o);
    o.registry = reg;
    o.interval_ms = 100;
    o.rules_path = argv[1];
    o.notify = sonde_alert_webhook_notify;
    o.notify_ud = w;
    sonde_console *c = NULL;
    char err[256] = "";
    if ((rc = sonde_console_new(&o, &c, err, sizeof err)) || sonde_console_start(c)) {
        fprintf(stderr, "console: %s %s\n", sonde_strerror(rc), err);
        return 1;
    }
    int ok = 1;
    sonde_gauge_set(g, 10);
    if (wait_state(c, "firing") && sonde_alert_webhook_flush(w, 30000) == SONDE_OK)
        printf("firing\n");
    else
        ok = 0;
    sonde_gauge_set(g, 0);
    if (ok && wait_state(c, "inactive") && sonde_alert_webhook_flush(w, 30000) == SONDE_OK)
        printf("resolved\n");
    else
        ok = 0;
    sonde_console_free(c);
    sonde_alert_webhook_stats st;
    sonde_alert_webhook_stats_get(w, &st);
    printf("sent=%llu failed=%llu dropped=%llu\n", (unsigned long long)st.sent,
           (unsigned long long)st.failed, (unsigned long long)st.dropped);
    sonde_alert_webhook_free(w);
    sonde_registry_free(reg);
    return ok ? 0 : 1;
}
