/*
 * metrics.c - OTLP metrics from the environment: a transport of its own and
 * a periodic metric reader (libsonde's sonde_metric_reader) whose exporter
 * is that transport, started only when the environment (or the caller) names
 * an endpoint or asks for otlp in OTEL_METRICS_EXPORTER, so that a service
 * adopts it without code beyond sonde_otlp_metrics_start().
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "otlp_internal.h"

struct sonde_otlp_metrics {
    sonde_otlp *otlp;
    sonde_metric_reader *reader;
};

void sonde_otlp_metrics_opts_init(sonde_otlp_metrics_opts *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->interval_ms = -1;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && v[0] ? v : NULL;
}

/* Whether the comma-separated OTEL_METRICS_EXPORTER list v names otlp. */
static int names_otlp(const char *v)
{
    while (*v) {
        while (*v == ' ' || *v == ',')
            v++;
        size_t n = strcspn(v, ", ");
        if (n == 4 && strncasecmp(v, "otlp", 4) == 0)
            return 1;
        v += n;
    }
    return 0;
}

int sonde_otlp_metrics_start(const sonde_otlp_metrics_opts *opts, sonde_otlp_metrics **out)
{
    if (!out)
        return SONDE_EINVAL;
    *out = NULL;
    if (!opts || !opts->registry)
        return SONDE_EINVAL;
    const char *exporters = env("OTEL_METRICS_EXPORTER");
    const char *disabled = env("OTEL_SDK_DISABLED");
    if ((disabled && strcasecmp(disabled, "true") == 0) || (exporters && !names_otlp(exporters)))
        return SONDE_OK;
    if (!opts->endpoint && !env("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") &&
        !env("OTEL_EXPORTER_OTLP_ENDPOINT") && !exporters)
        return SONDE_OK; /* nothing asks for OTLP metrics */
    sonde_otlp_metrics *m = calloc(1, sizeof *m);
    if (!m)
        return SONDE_ENOMEM;
    sonde_otlp_opts oo;
    sonde_otlp_opts_init(&oo);
    oo.metrics_endpoint = opts->endpoint;
    oo.logger = opts->logger;
    int rc = sonde_otlp_new(&oo, &m->otlp);
    sonde_metric_reader_opts ro;
    sonde_metric_reader_opts_init(&ro);
    ro.registry = opts->registry;
    ro.config = opts->config;
    ro.logger = opts->logger;
    ro.interval_ms = opts->interval_ms;
    if (rc == SONDE_OK)
        rc = sonde_otlp_metric_exporter(m->otlp, &ro.exporter);
    if (rc == SONDE_OK)
        rc = sonde_metric_reader_new(&ro, &m->reader);
    if (rc != SONDE_OK || !m->reader) {
        sonde_otlp_free(m->otlp);
        free(m);
        return rc;
    }
    if (opts->logger) {
        sonde_attr f[1] = {SONDE_ATTR_STR("endpoint", sonde_otlp_endpoint(m->otlp, SONDE_OTLP_METRICS))};
        sonde_log(opts->logger, SONDE_LOG_INFO, "exporting metrics over OTLP", f, 1);
    }
    *out = m;
    return SONDE_OK;
}

sonde_metric_reader *sonde_otlp_metrics_reader(sonde_otlp_metrics *m) { return m ? m->reader : NULL; }

void sonde_otlp_metrics_stop(sonde_otlp_metrics *m, long timeout_ms)
{
    if (!m)
        return;
    sonde_metric_reader_free(m->reader, timeout_ms);
    sonde_otlp_free(m->otlp);
    free(m);
}
