/*
 * telemetry.c - sonde-gateway's traces and logs: the tracer, the access log,
 * the logger of libsonde's own diagnostics and, when an endpoint says so, the
 * OTLP/HTTP transport (libsonde-otlp) that exports spans and access-log
 * records. main.c builds one gw_telemetry before the gateway and frees it
 * after, flushing what is queued within GW_FLUSH_TIMEOUT_MS.
 *
 * Precedence is the gateway's (defaults < file < environment < flags), laid
 * over libsonde's own (code options win over the OTEL_* variables): a value
 * from the file is handed to the library only when the matching variable is
 * unset, a value from a flag always.
 *
 *   sampler   OTEL_TRACES_SAMPLER, else parentbased_traceidratio.
 *   ratio     --trace-ratio, else OTEL_TRACES_SAMPLER_ARG, else the file's
 *             sampler_ratio, else the profile's: 0.1 in production (the
 *             default), 1.0 in demo (make demo).
 *   service   OTEL_SERVICE_NAME, else the file's service_name, else
 *             SONDE_SERVICE_NAME, else "sonde-gateway": the resource's
 *             service.name and every log line's "service".
 *   export    nothing unless an endpoint is known: --otlp-endpoint, else
 *             OTEL_EXPORTER_OTLP_ENDPOINT or the signal's _TRACES_ / _LOGS_
 *             ENDPOINT, else the file's otlp_endpoint. OTEL_TRACES_EXPORTER=none
 *             / OTEL_LOGS_EXPORTER=none turn one signal off; OTEL_SDK_DISABLED=true
 *             turns tracing and export off (access lines are still written).
 *
 * Without an exporter spans still exist (the access log carries their ids,
 * upstreams receive traceparent) and reach the tracer's recent ring. The
 * access log is its own logger with no rate limit (one line per request is
 * its point); libsonde's diagnostics (malformed OTEL_* values, export
 * failures) go to a second, rate-limited one, never exported, so a failing
 * receiver cannot feed itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sonde/otlp.h>

#include "gateway.h"

#define GW_SERVICE_NAME "sonde-gateway"

/* A variable as OpenTelemetry reads them: empty is unset. */
static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* A signal's exporter: on unless OTEL_<SIGNAL>_EXPORTER is "none". Only "otlp"
 * exists here; another name is reported and treated as otlp. */
static int exporter_on(sonde_logger *diag, const char *var)
{
    const char *v = env(var);
    if (!v || strcasecmp(v, "otlp") == 0) return 1;
    if (strcasecmp(v, "none") == 0) return 0;
    sonde_attr f[2] = {SONDE_ATTR_STR("variable", var), SONDE_ATTR_STR("value", v)};
    sonde_log(diag, SONDE_LOG_WARN, "unsupported exporter, using otlp", f, 2);
    return 1;
}

/* The SONDE_SERVICE_NAME of the metrics (global label "service"), or NULL. */
static const char *metrics_service(sonde_registry *reg)
{
    const sonde_config *c = reg ? sonde_registry_config(reg) : NULL;
    for (size_t i = 0; c && i < c->global_label_count; i++)
        if (c->global_labels[i].name && strcmp(c->global_labels[i].name, "service") == 0)
            return c->global_labels[i].value;
    return NULL;
}

double gw_telemetry_ratio(const gw_telemetry_cfg *t)
{
    if (t->sampler_ratio >= 0) return t->sampler_ratio;
    return t->profile == GW_PROFILE_DEMO ? GW_RATIO_DEMO : GW_RATIO_PRODUCTION;
}

int gw_telemetry_new(const gw_config *cfg, sonde_registry *reg, gw_telemetry *out)
{
    const gw_telemetry_cfg *tc = &cfg->telemetry;
    memset(out, 0, sizeof *out);
    const char *service = env("OTEL_SERVICE_NAME");
    if (!service) service = tc->service_name;
    if (!service) service = metrics_service(reg);
    if (!service) service = GW_SERVICE_NAME;
    int rc;

    sonde_logger_opts lo;
    sonde_logger_opts_init(&lo);
    lo.service = service;
    if ((rc = sonde_logger_new(&lo, &out->diag)) != SONDE_OK) {
        fprintf(stderr, "sonde-gateway: logger: %s\n", sonde_strerror(rc));
        return -1;
    }

    const char *disabled = env("OTEL_SDK_DISABLED");
    int sdk_on = !(disabled && strcasecmp(disabled, "true") == 0);
    int env_endpoint = env("OTEL_EXPORTER_OTLP_ENDPOINT") != NULL;
    int traces = sdk_on && exporter_on(out->diag, "OTEL_TRACES_EXPORTER") &&
                 (tc->otlp_endpoint || env_endpoint || env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"));
    int logs = sdk_on && exporter_on(out->diag, "OTEL_LOGS_EXPORTER") &&
               (tc->otlp_endpoint || env_endpoint || env("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"));
    if (traces || logs) {
        sonde_otlp_opts oo;
        sonde_otlp_opts_init(&oo);
        int env_any = env_endpoint || env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") ||
                      env("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT");
        if (tc->otlp_endpoint && (tc->endpoint_from_flag || !env_any))
            oo.endpoint = tc->otlp_endpoint;
        oo.logger = out->diag;
        if ((rc = sonde_otlp_new(&oo, &out->otlp)) != SONDE_OK) {
            fprintf(stderr, "sonde-gateway: OTLP exporter: %s\n", sonde_strerror(rc));
            gw_telemetry_free(out);
            return -1;
        }
    }

    sonde_tracer_opts to;
    sonde_tracer_opts_init(&to);
    to.service_name = service;
    to.config = reg ? sonde_registry_config(reg) : NULL;
    to.scope_name = GW_SERVICE_NAME;
    to.scope_version = SONDE_VERSION_STRING;
    if (!env("OTEL_TRACES_SAMPLER")) to.sampler = SONDE_SAMPLER_PARENTBASED_TRACEIDRATIO;
    if (tc->ratio_from_flag || !env("OTEL_TRACES_SAMPLER_ARG")) to.sampler_ratio = gw_telemetry_ratio(tc);
    to.registry = reg;
    to.logger = out->diag;
    if (traces) sonde_otlp_span_exporter(out->otlp, &to.exporter);
    if ((rc = sonde_tracer_new(&to, &out->tracer)) != SONDE_OK) {
        fprintf(stderr, "sonde-gateway: tracer: %s\n", sonde_strerror(rc));
        gw_telemetry_free(out);
        return -1;
    }

    sonde_logger_opts ao;
    sonde_logger_opts_init(&ao);
    ao.service = service;
    ao.rate_per_sec = -1; /* every request gets its line */
    ao.path = tc->access_log && strcmp(tc->access_log, "off") == 0 ? "" : tc->access_log;
    if (logs) sonde_otlp_log_exporter(out->otlp, &ao.exporter);
    if ((rc = sonde_logger_new(&ao, &out->access)) != SONDE_OK) {
        fprintf(stderr, "sonde-gateway: access log %s: %s\n",
                tc->access_log ? tc->access_log : "", sonde_strerror(rc));
        gw_telemetry_free(out);
        return -1;
    }
    return 0;
}

void gw_telemetry_free(gw_telemetry *t)
{
    /* the users of the transport first (each flushes within the deadline), then the
     * transport, then the logger they all report to */
    sonde_tracer_free(t->tracer, GW_FLUSH_TIMEOUT_MS);
    sonde_logger_free(t->access, GW_FLUSH_TIMEOUT_MS);
    sonde_otlp_free(t->otlp);
    sonde_logger_free(t->diag, GW_FLUSH_TIMEOUT_MS);
    memset(t, 0, sizeof *t);
}
