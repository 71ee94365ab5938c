/*
 * push_env.c - starting the Pushgateway client and the remote-write sender
 * from SONDE_* variables (sonde/push.h lists them), and the OTLP metrics
 * exporter from OTEL_* ones (sonde_otlp_metrics_start decides whether they
 * ask for it), so a service adopts every exporter with this one call. Every variable is read and checked before anything starts:
 * one malformed value is an error naming it, and nothing runs. Per
 * destination variables (SONDE_REMOTE_WRITE_BEARER_TOKEN) win over the
 * shared ones (SONDE_PUSH_BEARER_TOKEN).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "push_internal.h"
#include "sonde/otlp.h"

extern char *program_invocation_short_name;

struct sonde_exporters {
    sonde_registry *reg;
    sonde_remote_write *rw;
    sonde_pushgateway *pg;
    sonde_otlp_metrics *otlp;
};

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && v[0] ? v : NULL;
}

/* SONDE_<dest>_<what>, else SONDE_PUSH_<what>. */
static const char *env2(const char *dest, const char *what)
{
    char name[96];
    snprintf(name, sizeof name, "SONDE_%s_%s", dest, what);
    const char *v = env(name);
    if (v)
        return v;
    snprintf(name, sizeof name, "SONDE_PUSH_%s", what);
    return env(name);
}

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return *out = 1, 0;
        if (strcasecmp(s, no[i]) == 0)
            return *out = 0, 0;
    }
    return -1;
}

static int auth_from_env(const char *dest, sonde_push_auth *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    a->basic_user = env2(dest, "BASIC_USER");
    a->basic_password = env2(dest, "BASIC_PASSWORD");
    a->bearer_token = env2(dest, "BEARER_TOKEN");
    a->ca_file = env2(dest, "CA_FILE");
    const char *v = env2(dest, "INSECURE_SKIP_VERIFY");
    if (v && parse_bool(v, &a->insecure_skip_verify))
        return sonde_internal_errorf(err, errlen, SONDE_ECONFIG,
                                     "SONDE_%s_INSECURE_SKIP_VERIFY: want true or false, got '%s'",
                                     dest, v);
    if (a->basic_password && !a->basic_user)
        return sonde_internal_errorf(err, errlen, SONDE_ECONFIG,
                                     "SONDE_%s_BASIC_PASSWORD is set without a BASIC_USER", dest);
    return SONDE_OK;
}

/* "k=v,k=v" into labels (pointing into attrs). */
static int labels_from_env(const char *var, sonde_attr **attrs, size_t *n, sonde_label **labels,
                           char *err, size_t errlen)
{
    const char *v = env(var);
    *attrs = NULL;
    *n = 0;
    *labels = NULL;
    if (!v)
        return SONDE_OK;
    if (sonde_internal_kv_parse(v, attrs, n) != SONDE_OK)
        return sonde_internal_errorf(err, errlen, SONDE_ECONFIG, "%s: want k=v,k=v, got '%s'", var, v);
    if (!(*labels = calloc(*n ? *n : 1, sizeof **labels)))
        return SONDE_ENOMEM;
    for (size_t i = 0; i < *n; i++) {
        (*labels)[i] = (sonde_label){(*attrs)[i].key, (*attrs)[i].v.s};
        if (!sonde_internal_valid_label_name((*attrs)[i].key))
            return sonde_internal_errorf(err, errlen, SONDE_ECONFIG, "%s: '%s' is not a label name",
                                         var, (*attrs)[i].key);
    }
    return SONDE_OK;
}

static int number(const char *var, double lo, double hi, double *out, char *err, size_t errlen)
{
    const char *v = env(var);
    if (!v)
        return 0;
    char *end;
    double d = sonde_internal_strtod(v, &end);
    if (end == v || *end || !(d >= lo && d <= hi))
        return sonde_internal_errorf(err, errlen, SONDE_ECONFIG, "%s: want a number in %g..%g, got '%s'",
                                     var, lo, hi, v);
    *out = d;
    return 0;
}

int sonde_exporters_from_env(sonde_registry *reg, sonde_logger *logger, sonde_exporters **out,
                             char *err, size_t errlen)
{
    if (!out)
        return SONDE_EINVAL;
    *out = NULL;
    if (!reg)
        return SONDE_EINVAL;
    sonde_exporters *ex = calloc(1, sizeof *ex);
    if (!ex)
        return SONDE_ENOMEM;
    ex->reg = reg;
    sonde_attr *ext_attrs = NULL, *grp_attrs = NULL;
    size_t next = 0, ngrp = 0;
    sonde_label *ext = NULL, *grp = NULL;
    int rc = SONDE_OK;
    const char *rw_url = env("SONDE_REMOTE_WRITE_URL"), *pg_url = env("SONDE_PUSHGATEWAY_URL");
    sonde_remote_write_opts ro;
    sonde_remote_write_opts_init(&ro);
    sonde_pushgateway_opts po;
    sonde_pushgateway_opts_init(&po);
    double interval = 15, backlog = 60, timeout = 10000;
    if (rw_url) {
        if ((rc = number("SONDE_REMOTE_WRITE_INTERVAL", 0.001, 86400, &interval, err, errlen)) ||
            (rc = number("SONDE_REMOTE_WRITE_BACKLOG", 1, 1000000, &backlog, err, errlen)) ||
            (rc = number("SONDE_REMOTE_WRITE_TIMEOUT", 1, 3600000, &timeout, err, errlen)) ||
            (rc = labels_from_env("SONDE_REMOTE_WRITE_EXTERNAL_LABELS", &ext_attrs, &next, &ext,
                                  err, errlen)) ||
            (rc = auth_from_env("REMOTE_WRITE", &ro.auth, err, errlen)))
            goto done;
        if (!sonde_push_http_url(rw_url)) {
            rc = sonde_internal_errorf(err, errlen, SONDE_ECONFIG,
                                       "SONDE_REMOTE_WRITE_URL: want http(s)://..., got '%s'", rw_url);
            goto done;
        }
        ro.registry = reg;
        ro.url = rw_url;
        ro.interval_ms = (long)(interval * 1000 + 0.5);
        ro.max_backlog = (size_t)backlog;
        ro.timeout_ms = (long)timeout;
        ro.external_labels = ext;
        ro.external_label_count = next;
        ro.logger = logger;
    }
    if (pg_url) {
        if ((rc = labels_from_env("SONDE_PUSHGATEWAY_GROUPING", &grp_attrs, &ngrp, &grp, err, errlen)) ||
            (rc = auth_from_env("PUSHGATEWAY", &po.auth, err, errlen)))
            goto done;
        po.url = pg_url;
        po.job = env("SONDE_PUSHGATEWAY_JOB");
        if (!po.job)
            po.job = program_invocation_short_name;
        po.grouping = grp;
        po.grouping_count = ngrp;
        po.logger = logger;
        if ((rc = sonde_pushgateway_new(&po, &ex->pg)) != SONDE_OK) {
            sonde_internal_errorf(err, errlen, rc, "SONDE_PUSHGATEWAY_*: %s", sonde_strerror(rc));
            goto done;
        }
    }
    if (rw_url && (rc = sonde_remote_write_new(&ro, &ex->rw)) != SONDE_OK) {
        sonde_internal_errorf(err, errlen, rc, "SONDE_REMOTE_WRITE_*: %s", sonde_strerror(rc));
        goto done;
    }
    sonde_otlp_metrics_opts mo; /* started only when the OTEL_* environment asks for it */
    sonde_otlp_metrics_opts_init(&mo);
    mo.registry = reg;
    mo.config = sonde_registry_config(reg);
    mo.logger = logger;
    if ((rc = sonde_otlp_metrics_start(&mo, &ex->otlp)) != SONDE_OK) {
        sonde_internal_errorf(err, errlen, rc, "OTEL_EXPORTER_OTLP_*: OTLP metrics: %s", sonde_strerror(rc));
        goto done;
    }
done:
    sonde_internal_attrs_free(ext_attrs, next);
    sonde_internal_attrs_free(grp_attrs, ngrp);
    free(ext);
    free(grp);
    if (rc != SONDE_OK) {
        sonde_exporters_free(ex, 0, 0, 0);
        return rc;
    }
    *out = ex;
    return SONDE_OK;
}

sonde_remote_write *sonde_exporters_remote_write(const sonde_exporters *ex) { return ex ? ex->rw : NULL; }
sonde_pushgateway *sonde_exporters_pushgateway(const sonde_exporters *ex) { return ex ? ex->pg : NULL; }
sonde_otlp_metrics *sonde_exporters_otlp_metrics(const sonde_exporters *ex) { return ex ? ex->otlp : NULL; }

void sonde_exporters_free(sonde_exporters *ex, int push_on_exit, int success, long drain_ms)
{
    if (!ex)
        return;
    if (push_on_exit && ex->pg)
        sonde_pushgateway_push_job_end(ex->pg, ex->reg, success, NULL);
    sonde_remote_write_free(ex->rw, drain_ms);
    sonde_otlp_metrics_stop(ex->otlp, drain_ms);
    sonde_pushgateway_free(ex->pg);
    free(ex);
}
