/*
 * alert_webhook.c - alert notices (sonde/alert.h) POSTed to a webhook as
 * Alertmanager's own webhook payload (version "4"), so any receiver written
 * for Alertmanager (and Alertmanager's example receivers) takes the
 * console's alerts unchanged:
 *
 *   {"version": "4", "groupKey": "{}:{alertname=\"X\"}", "truncatedAlerts": 0,
 *    "status": "firing", "receiver": "sonde-console",
 *    "groupLabels": {"alertname": "X"}, "commonLabels": {...},
 *    "commonAnnotations": {...}, "externalURL": "...",
 *    "alerts": [{"status": "firing", "labels": {...}, "annotations":
 *       {"summary": "...", "description": "...", "value": "...", "expr": "..."},
 *       "startsAt": "2026-11-30T23:10:00.000Z", "endsAt": "0001-01-01T00:00:00Z",
 *       "generatorURL": "...", "fingerprint": "..."}]}
 *
 * One notice is one payload with one alert (the engine notifies each rule's
 * change on its own). notify() only builds the body (jansson: every label
 * and annotation is escaped) and queues it; a thread of its own sends the
 * queue in order on one kept libcurl handle, each body retried on no answer,
 * 429 and 5xx (backoff with jitter, Retry-After honoured) until timeout_ms.
 * A full queue drops the notice and counts it. free() gives the queue one
 * timeout to drain, then stops.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "http_client.h"
#include "sonde/alert.h"
#include "sonde/error.h"
#include "sonde/sonde.h"

struct sonde_alert_webhook {
    char *url, *external_url;
    long timeout_ms;
    size_t queue_max;
    CURL *curl;
    struct curl_slist *headers;
    pthread_mutex_t mu;
    pthread_cond_t cond; /* the queue changed, or stop */
    char **queue;        /* bodies, a ring */
    size_t head, count;
    int busy, stop;
    pthread_t thread;
    uint64_t sent, failed, dropped;
};

void sonde_alert_webhook_opts_init(sonde_alert_webhook_opts *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->timeout_ms = 10000;
    o->queue_max = 64;
}

/* ---- the payload ------------------------------------------------------------------ */

static json_t *str(const char *s)
{
    json_t *j = json_string(s ? s : "");
    return j ? j : json_string("(invalid UTF-8)");
}

static json_t *rfc3339(uint64_t unix_ms)
{
    if (!unix_ms)
        return json_string("0001-01-01T00:00:00Z");
    time_t secs = (time_t)(unix_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char t[80];
    snprintf(t, sizeof t, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(unix_ms % 1000));
    return json_string(t);
}

/* A number as text without the locale (JSON annotations are strings). */
static void number_text(double v, char *out, size_t cap)
{
    if (isnan(v)) {
        snprintf(out, cap, "NaN");
        return;
    }
    /* %g would follow LC_NUMERIC: write the integer and fractional parts separately. */
    double a = fabs(v);
    if (a >= 1e15 || (a > 0 && a < 1e-6)) {
        int e = (int)floor(log10(a));
        double m = v / pow(10, e);
        long long mi = llround(m * 1e6);
        snprintf(out, cap, "%s%lld.%06llde%d", mi < 0 ? "-" : "", llabs(mi) / 1000000,
                 llabs(mi) % 1000000, e);
        return;
    }
    long long micro = llround(a * 1e6);
    int n = snprintf(out, cap, "%s%lld", v < 0 ? "-" : "", micro / 1000000);
    if (micro % 1000000 && (size_t)n < cap) {
        char frac[8];
        snprintf(frac, sizeof frac, "%06lld", micro % 1000000);
        for (int i = 5; i > 0 && frac[i] == '0'; i--)
            frac[i] = '\0';
        snprintf(out + n, cap - (size_t)n, ".%s", frac);
    }
}

static uint64_t fnv1a(const char *s, uint64_t h)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static char *payload(const sonde_alert_webhook *w, const sonde_alert_notice *n)
{
    const char *status = n->state == SONDE_ALERT_FIRING ? "firing" : "resolved";
    json_t *labels = json_object(), *annotations = json_object();
    uint64_t fp = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n->label_count; i++) {
        const sonde_attr *a = &n->labels[i];
        if (a->type != SONDE_ATTR_STRING || !a->key || !a->v.s)
            continue;
        json_object_set_new(labels, a->key, str(a->v.s));
        fp = fnv1a(a->v.s, fnv1a(a->key, fp));
    }
    if (!json_object_get(labels, "alertname"))
        json_object_set_new(labels, "alertname", str(n->name));
    char value[48], threshold[48], description[1024];
    number_text(n->value, value, sizeof value);
    number_text(n->threshold, threshold, sizeof threshold);
    snprintf(description, sizeof description, "%s is %s (threshold %s %s)", n->expr ? n->expr : "",
             value, n->op ? n->op : "", threshold);
    json_object_set_new(annotations, "summary", str(n->summary));
    json_object_set_new(annotations, "description", str(description));
    json_object_set_new(annotations, "value", str(value));
    json_object_set_new(annotations, "expr", str(n->expr));
    char fingerprint[17], group_key[300];
    snprintf(fingerprint, sizeof fingerprint, "%016llx", (unsigned long long)fp);
    snprintf(group_key, sizeof group_key, "{}:{alertname=\"%.200s\"}", n->name ? n->name : "");
    json_t *alert = json_pack("{s:s, s:O, s:O, s:o, s:o, s:s, s:s}", "status", status, "labels",
                              labels, "annotations", annotations, "startsAt",
                              rfc3339(n->starts_unix_ms), "endsAt", rfc3339(n->ends_unix_ms),
                              "generatorURL", w->external_url ? w->external_url : "",
                              "fingerprint", fingerprint);
    json_t *root = json_pack("{s:s, s:o, s:i, s:s, s:s, s:{s:o}, s:O, s:O, s:s, s:[o]}", "version",
                             "4", "groupKey", str(group_key), "truncatedAlerts", 0, "status", status,
                             "receiver", "sonde-console", "groupLabels", "alertname", str(n->name),
                             "commonLabels", labels, "commonAnnotations", annotations,
                             "externalURL", w->external_url ? w->external_url : "", "alerts", alert);
    json_decref(labels);
    json_decref(annotations);
    char *body = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return body;
}

/* ---- the sending thread --------------------------------------------------------------- */

static void post(sonde_alert_webhook *w, const char *body, hc_answer *a)
{
    hc_request rq = {.method = "POST", .url = w->url, .headers = w->headers, .body = body,
                     .len = strlen(body), .user_agent = "sonde-alert-webhook/" SONDE_VERSION_STRING};
    uint64_t deadline = hc_mono_ms() + (uint64_t)w->timeout_ms;
    long backoff = 200;
    for (;;) {
        uint64_t now = hc_mono_ms();
        if (now >= deadline)
            break;
        rq.timeout_ms = (long)(deadline - now);
        hc_perform(w->curl, &rq, a);
        if (hc_ok(a) || !hc_retryable(a, 1))
            break;
        long wait = hc_wait_ms(a, &backoff, 5000);
        now = hc_mono_ms();
        if (now + (uint64_t)wait >= deadline)
            break;
        struct timespec ts = {wait / 1000, (wait % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void *run(void *arg)
{
    sonde_alert_webhook *w = arg;
    hc_answer *a = malloc(sizeof *a);
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->count && !w->stop)
            pthread_cond_wait(&w->cond, &w->mu);
        if (!w->count)
            break;
        char *body = w->queue[w->head];
        w->head = (w->head + 1) % w->queue_max;
        w->count--;
        w->busy = 1;
        pthread_mutex_unlock(&w->mu);
        int ok = 0;
        if (a) {
            memset(a, 0, sizeof *a);
            post(w, body, a);
            ok = hc_ok(a);
        }
        free(body);
        pthread_mutex_lock(&w->mu);
        w->busy = 0;
        if (ok)
            w->sent++;
        else
            w->failed++;
        pthread_cond_broadcast(&w->cond);
    }
    pthread_mutex_unlock(&w->mu);
    free(a);
    return NULL;
}

/* ---- the object ------------------------------------------------------------------------- */

int sonde_alert_webhook_new(const sonde_alert_webhook_opts *opts, sonde_alert_webhook **out)
{
    if (!out)
        return SONDE_EINVAL;
    *out = NULL;
    if (!opts || !opts->url ||
        (strncmp(opts->url, "http://", 7) != 0 && strncmp(opts->url, "https://", 8) != 0))
        return SONDE_EINVAL;
    if (!hc_start())
        return SONDE_EIO;
    sonde_alert_webhook *w = calloc(1, sizeof *w);
    if (!w)
        return SONDE_ENOMEM;
    w->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 10000;
    w->queue_max = opts->queue_max > 0 && opts->queue_max <= 4096 ? (size_t)opts->queue_max : 64;
    w->url = strdup(opts->url);
    w->external_url = opts->external_url ? strdup(opts->external_url) : NULL;
    w->queue = calloc(w->queue_max, sizeof *w->queue);
    w->headers = curl_slist_append(NULL, "Content-Type: application/json");
    w->curl = curl_easy_init();
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cond, NULL);
    if (!w->url || (opts->external_url && !w->external_url) || !w->queue || !w->headers ||
        !w->curl || pthread_create(&w->thread, NULL, run, w) != 0) {
        int rc = w->url && w->queue && w->headers ? SONDE_EIO : SONDE_ENOMEM;
        if (w->curl)
            curl_easy_cleanup(w->curl);
        curl_slist_free_all(w->headers);
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->mu);
        free(w->queue);
        free(w->external_url);
        free(w->url);
        free(w);
        return rc;
    }
    *out = w;
    return SONDE_OK;
}

void sonde_alert_webhook_notify(void *ud, const sonde_alert_notice *notice)
{
    sonde_alert_webhook *w = ud;
    if (!w || !notice)
        return;
    char *body = payload(w, notice);
    pthread_mutex_lock(&w->mu);
    if (!body || w->count == w->queue_max || w->stop) {
        w->dropped++;
        free(body);
    } else {
        w->queue[(w->head + w->count++) % w->queue_max] = body;
        pthread_cond_broadcast(&w->cond);
    }
    pthread_mutex_unlock(&w->mu);
}

int sonde_alert_webhook_flush(sonde_alert_webhook *w, long timeout_ms)
{
    if (!w)
        return SONDE_EINVAL;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    if (timeout_ms >= 0) {
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (timeout_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L)
            until.tv_sec++, until.tv_nsec -= 1000000000L;
    }
    int rc = SONDE_OK;
    pthread_mutex_lock(&w->mu);
    while (w->count || w->busy) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&w->cond, &w->mu);
        } else if (pthread_cond_timedwait(&w->cond, &w->mu, &until) != 0) {
            rc = w->count || w->busy ? SONDE_EBUSY : SONDE_OK;
            break;
        }
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

void sonde_alert_webhook_stats_get(const sonde_alert_webhook *w, sonde_alert_webhook_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!w)
        return;
    sonde_alert_webhook *m = (sonde_alert_webhook *)w;
    pthread_mutex_lock(&m->mu);
    out->sent = m->sent;
    out->failed = m->failed;
    out->dropped = m->dropped;
    pthread_mutex_unlock(&m->mu);
}

void sonde_alert_webhook_free(sonde_alert_webhook *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1; /* the thread sends what is queued, then ends */
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    curl_easy_cleanup(w->curl);
    curl_slist_free_all(w->headers);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->mu);
    free(w->queue);
    free(w->external_url);
    free(w->url);
    free(w);
}
