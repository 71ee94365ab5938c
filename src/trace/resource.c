/*
 * resource.c - the OpenTelemetry resource and instrumentation scope that a
 * tracer and a metric reader export with, built once from (lowest
 * precedence first) OTEL_RESOURCE_ATTRIBUTES, the code's
 * resource_attributes, service.version and deployment.environment (the
 * code's, else the metrics' config labels version and environment), then
 * service.name (the code's, else OTEL_SERVICE_NAME, else the one in the
 * attributes, else the config's label service, else "unknown_service"),
 * and the telemetry.sdk.* attributes.
 */
#include <stdlib.h>
#include <string.h>

#include "trace_internal.h"

/* A global label of the metrics' config, or NULL. */
static const char *config_label(const resource_opts *o, const char *name)
{
    if (!o->config)
        return NULL;
    for (size_t i = 0; i < o->config->global_label_count; i++)
        if (o->config->global_labels[i].name &&
            strcmp(o->config->global_labels[i].name, name) == 0)
            return o->config->global_labels[i].value;
    return NULL;
}

static int has_attr(const trace_resource *r, const char *key)
{
    for (size_t i = 0; i < r->count; i++)
        if (strcmp(r->attrs[i].key, key) == 0)
            return 1;
    return 0;
}

int sonde_resource_build(trace_resource *r, const resource_opts *o, sonde_logger *lg)
{
    int rc = SONDE_OK;
    const char *v;
    /* Lowest precedence first: later sets replace. */
    if (o->read_env && (v = sonde_env_get("OTEL_RESOURCE_ATTRIBUTES")) &&
        sonde_resource_parse(v, &r->attrs, &r->count) != SONDE_OK) {
        sonde_attr f[1] = {SONDE_ATTR_STR("variable", "OTEL_RESOURCE_ATTRIBUTES")};
        sonde_diag(lg, SONDE_LOG_WARN, "ignoring a malformed environment variable", f, 1);
    }
    if (o->resource_attributes && sonde_resource_parse(o->resource_attributes, &r->attrs, &r->count))
        sonde_diag(lg, SONDE_LOG_WARN, "ignoring malformed resource attributes", NULL, 0);
    const char *version = o->service_version ? o->service_version : config_label(o, "version");
    const char *environment = o->deployment_environment ? o->deployment_environment
                                                        : config_label(o, "environment");
    if (version && (o->service_version || !has_attr(r, "service.version")))
        rc |= sonde_attrs_set(&r->attrs, &r->count, "service.version", version);
    if (environment && (o->deployment_environment || !has_attr(r, "deployment.environment")))
        rc |= sonde_attrs_set(&r->attrs, &r->count, "deployment.environment", environment);
    const char *service = o->service_name;
    if (!service && o->read_env)
        service = sonde_env_get("OTEL_SERVICE_NAME");
    if (!service && !has_attr(r, "service.name"))
        service = config_label(o, "service");
    if (service || !has_attr(r, "service.name"))
        rc |= sonde_attrs_set(&r->attrs, &r->count, "service.name", service ? service : "unknown_service");
    rc |= sonde_attrs_set(&r->attrs, &r->count, "telemetry.sdk.name", "sonde");
    rc |= sonde_attrs_set(&r->attrs, &r->count, "telemetry.sdk.language", "c");
    rc |= sonde_attrs_set(&r->attrs, &r->count, "telemetry.sdk.version", SONDE_VERSION_STRING);
    r->scope_name = strdup(o->scope_name ? o->scope_name : "sonde");
    r->scope_version = strdup(o->scope_version ? o->scope_version : SONDE_VERSION_STRING);
    return rc || !r->scope_name || !r->scope_version ? SONDE_ENOMEM : SONDE_OK;
}

void sonde_resource_free(trace_resource *r)
{
    sonde_attrs_free(r->attrs, r->count);
    free(r->scope_name);
    free(r->scope_version);
    memset(r, 0, sizeof *r);
}
