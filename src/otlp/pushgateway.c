/*
 * pushgateway.c - the Pushgateway client (sonde/push.h). The URL with its
 * grouping key is built once at creation; a push renders the registry in
 * text format 0.0.4 and sends it in one bounded attempt (PUT replaces the
 * group, POST merges by metric name, DELETE removes the group) through the
 * shared request code (http_client.c). A non-2xx answer is returned as
 * SONDE_EIO with its status and logged once with the first bytes of its
 * body. Grouping-key values that are empty or hold a '/' go in base64url
 * with the name suffixed "@base64" (the Pushgateway's rule), the others
 * percent-encoded; names are validated like label names.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http_client.h"
#include "push_internal.h"

struct sonde_pushgateway {
    char *url;
    char *job_gauge; /* <job>_last_success_timestamp_seconds */
    push_dest dest;
    long timeout_ms;
    sonde_logger *logger;
    pthread_mutex_t mu; /* one push at a time on the handle */
    CURL *curl;
};

/* Append s[0..n) to buf at *at, if it fits. */
static void put(char *buf, size_t cap, size_t *at, const char *s, size_t n)
{
    if (*at + n < cap)
        memcpy(buf + *at, s, n);
    *at += n;
}

static void put_segment(char *buf, size_t cap, size_t *at, const char *name, const char *value)
{
    size_t vl = strlen(value);
    put(buf, cap, at, "/", 1);
    put(buf, cap, at, name, strlen(name));
    if (vl == 0 || memchr(value, '/', vl)) {
        put(buf, cap, at, "@base64/", 8);
        if (vl == 0) {
            put(buf, cap, at, "=", 1);
            return;
        }
        char *b = sonde_base64(value, vl);
        if (!b) {
            *at = SIZE_MAX / 2; /* reported as too long */
            return;
        }
        for (char *p = b; *p; p++) /* base64url: '-' and '_' for '+' and '/' */
            *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
        put(buf, cap, at, b, strlen(b));
        free(b);
        return;
    }
    put(buf, cap, at, "/", 1);
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p)) {
            put(buf, cap, at, (const char *)p, 1);
        } else {
            char esc[4];
            snprintf(esc, sizeof esc, "%%%02X", *p);
            put(buf, cap, at, esc, 3);
        }
    }
}

int sonde_pushgateway_path(const char *job, const sonde_label *grouping, size_t grouping_count,
                           char *buf, size_t cap)
{
    if (!job || (grouping_count && !grouping) || (cap && !buf))
        return SONDE_EINVAL;
    if (!sonde_internal_valid_utf8(job, strlen(job)))
        return SONDE_EUTF8;
    for (size_t i = 0; i < grouping_count; i++) {
        if (!grouping[i].name || !grouping[i].value || !sonde_internal_valid_label_name(grouping[i].name) ||
            strcmp(grouping[i].name, "job") == 0)
            return SONDE_EINVAL;
        if (!sonde_internal_valid_utf8(grouping[i].value, strlen(grouping[i].value)))
            return SONDE_EUTF8;
    }
    size_t at = 0;
    put(buf, cap, &at, "/metrics", 8);
    put_segment(buf, cap, &at, "job", job);
    for (size_t i = 0; i < grouping_count; i++)
        put_segment(buf, cap, &at, grouping[i].name, grouping[i].value);
    if (at >= cap || at > INT32_MAX)
        return SONDE_ETRUNC;
    buf[at] = '\0';
    return (int)at;
}

void sonde_pushgateway_opts_init(sonde_pushgateway_opts *opts)
{
    if (opts)
        memset(opts, 0, sizeof *opts);
}

void sonde_pushgateway_free(sonde_pushgateway *pg)
{
    if (!pg)
        return;
    free(pg->url);
    free(pg->job_gauge);
    sonde_push_dest_free(&pg->dest);
    if (pg->curl)
        curl_easy_cleanup(pg->curl);
    pthread_mutex_destroy(&pg->mu);
    free(pg);
}

int sonde_pushgateway_new(const sonde_pushgateway_opts *opts, sonde_pushgateway **out)
{
    if (!out)
        return SONDE_EINVAL;
    *out = NULL;
    if (!opts || !opts->job || !opts->job[0])
        return SONDE_EINVAL;
    if (!sonde_push_http_url(opts->url))
        return SONDE_ECONFIG;
    int n = sonde_pushgateway_path(opts->job, opts->grouping, opts->grouping_count, NULL, 0);
    if (n == SONDE_EINVAL)
        return SONDE_ECONFIG;
    if (n != SONDE_ETRUNC)
        return n;
    if (!hc_start())
        return SONDE_EIO;
    sonde_pushgateway *pg = calloc(1, sizeof *pg);
    if (!pg)
        return SONDE_ENOMEM;
    pthread_mutex_init(&pg->mu, NULL);
    pg->logger = opts->logger;
    pg->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 10000;
    size_t base = strlen(opts->url);
    while (base && opts->url[base - 1] == '/')
        base--;
    size_t cap = base + 64;
    int rc = SONDE_ENOMEM;
    for (;;) { /* grow until the path fits */
        free(pg->url);
        if (!(pg->url = malloc(cap)))
            goto fail;
        memcpy(pg->url, opts->url, base);
        n = sonde_pushgateway_path(opts->job, opts->grouping, opts->grouping_count,
                                   pg->url + base, cap - base);
        if (n >= 0)
            break;
        if (n != SONDE_ETRUNC || cap > (1u << 20)) {
            rc = n == SONDE_ETRUNC ? SONDE_ECONFIG : n;
            goto fail;
        }
        cap *= 2;
    }
    size_t jl = strlen(opts->job);
    if (!(pg->job_gauge = malloc(jl + 40)))
        goto fail;
    for (size_t i = 0; i < jl; i++) {
        char ch = opts->job[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || ch == ':' ||
                 (i && ch >= '0' && ch <= '9');
        pg->job_gauge[i] = ok ? ch : '_';
    }
    strcpy(pg->job_gauge + jl, "_last_success_timestamp_seconds");
    if ((rc = sonde_push_dest_init(&pg->dest, &opts->auth, "text/plain; version=0.0.4; charset=utf-8",
                                   NULL)) != SONDE_OK)
        goto fail;
    rc = SONDE_EIO;
    if (!(pg->curl = curl_easy_init()))
        goto fail;
    *out = pg;
    return SONDE_OK;
fail:
    sonde_pushgateway_free(pg);
    return rc;
}

const char *sonde_pushgateway_url(const sonde_pushgateway *pg) { return pg ? pg->url : ""; }

int sonde_pushgateway_push(sonde_pushgateway *pg, sonde_registry *reg, sonde_push_method method,
                           long *status)
{
    if (status)
        *status = 0;
    if (!pg || (method != SONDE_PUSH_DELETE && !reg) || (unsigned)method > SONDE_PUSH_DELETE)
        return SONDE_EINVAL;
    static const char *const names[] = {"PUT", "POST", "DELETE"};
    char *body = NULL;
    size_t len = 0;
    if (method != SONDE_PUSH_DELETE && !(body = sonde_expose_alloc(reg, SONDE_FORMAT_TEXT, &len)))
        return SONDE_ENOMEM;
    hc_answer *a = malloc(sizeof *a);
    if (!a) {
        free(body);
        return SONDE_ENOMEM;
    }
    hc_request rq = {.method = names[method], .url = pg->url, .headers = pg->dest.headers,
                     .body = body, .len = len, .timeout_ms = pg->timeout_ms,
                     .user_agent = "sonde-push/" SONDE_VERSION_STRING, .auth = &pg->dest.auth};
    pthread_mutex_lock(&pg->mu);
    hc_perform(pg->curl, &rq, a);
    pthread_mutex_unlock(&pg->mu);
    int rc = SONDE_OK;
    if (status)
        *status = a->status;
    if (!hc_ok(a)) {
        rc = SONDE_EIO;
        if (pg->logger) {
            char detail[200];
            hc_describe(a, detail, sizeof detail);
            sonde_attr f[4] = {SONDE_ATTR_STR("method", names[method]),
                               SONDE_ATTR_STR("url", pg->url), SONDE_ATTR_INT("status", a->status),
                               SONDE_ATTR_STR("detail", detail)};
            sonde_log(pg->logger, SONDE_LOG_ERROR, "Pushgateway push failed", f, 4);
        }
    }
    free(a);
    free(body);
    return rc;
}

int sonde_pushgateway_push_job_end(sonde_pushgateway *pg, sonde_registry *reg, int success,
                                   long *status)
{
    if (status)
        *status = 0;
    if (!pg || !reg)
        return SONDE_EINVAL;
    if (success) {
        sonde_gauge *g = NULL;
        sonde_metric *m = sonde_registry_find(reg, pg->job_gauge);
        if (m && sonde_metric_type(m) != SONDE_GAUGE)
            return SONDE_ETYPE;
        if (m)
            g = sonde_gauge_of(m);
        else {
            int rc = sonde_gauge_new(reg, pg->job_gauge, "Unix time of the job's last success.", &g);
            if (rc != SONDE_OK)
                return rc;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        sonde_gauge_set(g, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
    }
    /* a failed run merges, so the group keeps the last success pushed before */
    return sonde_pushgateway_push(pg, reg, success ? SONDE_PUSH_PUT : SONDE_PUSH_POST, status);
}
