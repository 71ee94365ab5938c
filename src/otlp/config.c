/*
 * config.c - where each signal goes, resolved once at sonde_otlp_new(): the
 * option set in code, then OTEL_EXPORTER_OTLP_<SIGNAL>_* (used as given),
 * then OTEL_EXPORTER_OTLP_* (the endpoint gets /v1/<signal> appended), then
 * the defaults (http://localhost:4318, 10000 ms, no compression). Headers
 * merge generic then signal-specific (the specific keys win), then the
 * code's. A malformed variable is ignored with a warning, as OpenTelemetry
 * asks; a malformed option set in code is an error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "otlp_internal.h"

static const char *const signal_upper[OTLP_SIGNALS] = {"TRACES", "LOGS", "METRICS"};
static const char *const signal_path[OTLP_SIGNALS] = {"v1/traces", "v1/logs", "v1/metrics"};

static const char *env(const sonde_otlp_opts *o, const char *fmt, int signal)
{
    if (!o->read_env)
        return NULL;
    char name[96];
    snprintf(name, sizeof name, fmt, signal >= 0 ? signal_upper[signal] : "");
    const char *v = getenv(name);
    return v && v[0] ? v : NULL;
}

static void warn(sonde_logger *lg, const char *variable, const char *value)
{
    if (!lg)
        return;
    sonde_attr f[2] = {SONDE_ATTR_STR("variable", variable), SONDE_ATTR_STR("value", value)};
    sonde_log(lg, SONDE_LOG_WARN, "ignoring a malformed environment variable", f, 2);
}

static int http_url(const char *u)
{
    return u && (strncasecmp(u, "http://", 7) == 0 || strncasecmp(u, "https://", 8) == 0) &&
           strlen(u) < 4096 && !strpbrk(u, " \t\r\n");
}

static char *join(const char *base, const char *path)
{
    size_t n = strlen(base);
    char *u = malloc(n + strlen(path) + 2);
    if (u)
        sprintf(u, "%s%s%s", base, n && base[n - 1] == '/' ? "" : "/", path);
    return u;
}

static int resolve(sonde_otlp *o, const sonde_otlp_opts *opts, int s)
{
    otlp_dest *d = &o->dest[s];
    const char *code_specific[OTLP_SIGNALS] = {opts->traces_endpoint, opts->logs_endpoint,
                                               opts->metrics_endpoint};
    char var[96];
    /* endpoint */
    const char *v;
    if (code_specific[s]) {
        if (!http_url(code_specific[s]))
            return SONDE_ECONFIG;
        d->url = strdup(code_specific[s]);
    } else if (opts->endpoint) {
        if (!http_url(opts->endpoint))
            return SONDE_ECONFIG;
        d->url = join(opts->endpoint, signal_path[s]);
    } else {
        snprintf(var, sizeof var, "OTEL_EXPORTER_OTLP_%s_ENDPOINT", signal_upper[s]);
        if ((v = env(opts, "OTEL_EXPORTER_OTLP_%s_ENDPOINT", s)) && !http_url(v)) {
            warn(o->logger, var, v);
            v = NULL;
        }
        if (v) {
            d->url = strdup(v);
        } else {
            if ((v = env(opts, "OTEL_EXPORTER_OTLP_ENDPOINT%s", -1)) && !http_url(v)) {
                warn(o->logger, "OTEL_EXPORTER_OTLP_ENDPOINT", v);
                v = NULL;
            }
            d->url = join(v ? v : "http://localhost:4318", signal_path[s]);
        }
    }
    if (!d->url)
        return SONDE_ENOMEM;
    /* timeout */
    d->timeout_ms = opts->timeout_ms >= 0 ? opts->timeout_ms : -1;
    const char *tv[2] = {env(opts, "OTEL_EXPORTER_OTLP_%s_TIMEOUT", s),
                         env(opts, "OTEL_EXPORTER_OTLP_TIMEOUT%s", -1)};
    for (int i = 0; i < 2 && d->timeout_ms < 0; i++) {
        if (!tv[i])
            continue;
        char *end;
        long t = strtol(tv[i], &end, 10);
        if (end != tv[i] && *end == '\0' && t >= 0)
            d->timeout_ms = t;
        else
            warn(o->logger, i ? "OTEL_EXPORTER_OTLP_TIMEOUT" : "OTEL_EXPORTER_OTLP_<SIGNAL>_TIMEOUT",
                 tv[i]);
    }
    if (d->timeout_ms < 0)
        d->timeout_ms = 10000;
    /* compression */
    d->gzip = opts->compression;
    const char *cv[2] = {env(opts, "OTEL_EXPORTER_OTLP_%s_COMPRESSION", s),
                         env(opts, "OTEL_EXPORTER_OTLP_COMPRESSION%s", -1)};
    for (int i = 0; i < 2 && d->gzip < 0; i++) {
        if (!cv[i])
            continue;
        if (strcasecmp(cv[i], "gzip") == 0)
            d->gzip = 1;
        else if (strcasecmp(cv[i], "none") == 0)
            d->gzip = 0;
        else
            warn(o->logger, "OTEL_EXPORTER_OTLP_COMPRESSION", cv[i]);
    }
    if (d->gzip < 0)
        d->gzip = 0;
    /* headers: generic, then specific, then code (later keys replace) */
    sonde_attr *kv = NULL;
    size_t count = 0;
    const char *hv[2] = {env(opts, "OTEL_EXPORTER_OTLP_HEADERS%s", -1),
                         env(opts, "OTEL_EXPORTER_OTLP_%s_HEADERS", s)};
    for (int i = 0; i < 2; i++)
        if (hv[i] && sonde_internal_kv_parse(hv[i], &kv, &count) != SONDE_OK)
            warn(o->logger, i ? "OTEL_EXPORTER_OTLP_<SIGNAL>_HEADERS" : "OTEL_EXPORTER_OTLP_HEADERS",
                 hv[i]);
    if (opts->headers && sonde_internal_kv_parse(opts->headers, &kv, &count) != SONDE_OK) {
        sonde_internal_attrs_free(kv, count);
        return SONDE_ECONFIG;
    }
    int rc = SONDE_OK;
    d->headers = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
    if (d->gzip && d->headers)
        d->headers = curl_slist_append(d->headers, "Content-Encoding: gzip");
    for (size_t i = 0; i < count && d->headers && rc == SONDE_OK; i++) {
        const char *k = kv[i].key, *val = kv[i].v.s;
        /* a header name is a token; values without CR/LF (no header injection) */
        int ok = k[0] != '\0';
        for (const char *c = k; *c && ok; c++)
            ok = (*c > 32 && *c < 127 && !strchr("()<>@,;:\\\"/[]?={}", *c));
        for (const char *c = val; *c && ok; c++)
            ok = *c != '\r' && *c != '\n' && *c != '\0';
        if (!ok) {
            warn(o->logger, "OTEL_EXPORTER_OTLP_HEADERS", k);
            continue;
        }
        char *line = malloc(strlen(k) + strlen(val) + 3);
        if (!line) {
            rc = SONDE_ENOMEM;
            break;
        }
        sprintf(line, "%s: %s", k, val);
        struct curl_slist *n = curl_slist_append(d->headers, line);
        free(line);
        if (!n)
            rc = SONDE_ENOMEM;
        else
            d->headers = n;
    }
    sonde_internal_attrs_free(kv, count);
    if (!d->headers)
        return SONDE_ENOMEM;
    return rc;
}

int sonde_otlp_config(sonde_otlp *o, const sonde_otlp_opts *opts)
{
    for (int s = 0; s < OTLP_SIGNALS; s++) {
        int rc = resolve(o, opts, s);
        if (rc != SONDE_OK)
            return rc;
    }
    return SONDE_OK;
}
