/*
 * gateway.c - the gateway object's life: meters on the registry it is given,
 * a timer thread (the simulator's clock), a proxy worker (curl), then the
 * HTTP service once started. gw_free() undoes it in the order that lets
 * every call end: the service first (it answers whatever still waits, so
 * every client is gone), then it waits for the agent loops (agent.c: they
 * stop at their next step, their model calls need the workers), then the proxy (its transfers end as cancelled),
 * then the timer (pending simulator steps run at once and see their client
 * gone), then the limits and the stored responses (the last calls charged
 * them), the meters after the last call was recorded, and the logger last
 * (its own, when it was given no telemetry). The configuration, the registry
 * and the telemetry (tracer, access log, diagnostic log) are borrowed and
 * outlive the gateway, so every span has ended before the tracer is flushed
 * and freed.
 */
#include <stdio.h>
#include <stdlib.h>

#include "agent.h"
#include "gateway.h"
#include "response_store.h"
#include "service.h"

int gw_new(gw_config *cfg, sonde_registry *reg, const gw_telemetry *tel, gateway **out)
{
    *out = NULL;
    gateway *gw = calloc(1, sizeof *gw);
    if (!gw) return -1;
    gw->cfg = cfg;
    gw->reg = reg;
    gw_agents_init(gw);
    gw->tracer = tel ? tel->tracer : NULL;
    gw->access = tel ? tel->access : NULL;
    if (gw_meter_init(&gw->meter, reg, cfg, gw->tracer) != 0) {
        free(gw);
        return -1;
    }
    sonde_logger_opts lo;
    sonde_logger_opts_init(&lo);
    lo.service = "sonde-gateway";
    char err[256] = "";
    if (tel) gw->log = tel->diag; /* one diagnostic log per process, with its service name */
    else gw->own_log = 1;
    if ((gw->own_log && sonde_logger_new(&lo, &gw->log) != SONDE_OK) ||
        gw_limits_new(cfg, &gw->meter, gw->log, err, sizeof err, &gw->limits) != 0) {
        if (*err) fprintf(stderr, "sonde-gateway: limits: %s\n", err);
        gw_free(gw);
        return -1;
    }
    gw->responses = gw_response_store_open(cfg->responses_db ? cfg->responses_db : ":memory:",
                                           cfg->responses_max, cfg->responses_max_age_s, err,
                                           sizeof err);
    if (!gw->responses) {
        fprintf(stderr, "sonde-gateway: responses store: %s\n", err);
        gw_free(gw);
        return -1;
    }
    gw->timer = gw_timer_new();
    gw->proxy = gw->timer ? gw_proxy_new(gw) : NULL;
    if (!gw->proxy) {
        gw_free(gw);
        return -1;
    }
    *out = gw;
    return 0;
}

int gw_start(gateway *gw)
{
    gw_probe_all(gw);
    gw_limits_probe(gw->limits);
    return gw_service_start(gw);
}

void gw_free(gateway *gw)
{
    if (!gw) return;
    gw_service_stop(gw);
    gw_agents_drain(gw); /* agent loops end once their client is gone; they use the workers */
    gw_proxy_stop(gw->proxy); /* the timer's pending retries (route.c) find it stopped */
    gw_timer_free(gw->timer);
    gw_proxy_free(gw->proxy);
    gw_limits_free(gw->limits);
    gw_response_store_close(gw->responses);
    gw_meter_free(&gw->meter);
    if (gw->own_log) sonde_logger_free(gw->log, 1000);
    free(gw);
}
