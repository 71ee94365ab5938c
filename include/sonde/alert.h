/*
 * sonde/alert.h - what an alert state change looks like to whoever is told
 * of it: the console's alert engine (libsonde-http, sonde/console.h) calls a
 * sonde_console_notify_fn with a sonde_alert_notice each time a rule starts
 * firing or resolves; the Alertmanager-style webhook sender of libsonde-otlp
 * (sonde_alert_webhook_*, below) is one such function. Types only here
 * besides the webhook, so both libraries share them without depending on
 * each other. docs/console.md documents the rules and the payload.
 */
#ifndef SONDE_ALERT_H
#define SONDE_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include "export.h"
#include "trace.h" /* sonde_attr */

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sonde_alert_state {
    SONDE_ALERT_INACTIVE = 0,
    SONDE_ALERT_PENDING,  /* the condition holds, for_s not yet elapsed */
    SONDE_ALERT_FIRING
} sonde_alert_state;

/* One state change of one rule (valid during the call only). */
typedef struct sonde_alert_notice {
    const char *name;        /* the rule's name: the alertname label */
    const char *severity;    /* "warning", "critical", ... */
    const char *summary;     /* the rule's summary annotation */
    const char *expr;        /* the rule's condition as text, e.g.
                                "rate(gateway_provider_calls_total{status=~\"error|timeout\"}[300s])
                                / rate(gateway_provider_calls_total[300s])" */
    const char *op;          /* ">", "<", ">=" or "<=" */
    sonde_alert_state state; /* SONDE_ALERT_FIRING (started firing) or SONDE_ALERT_INACTIVE
                                (resolved) */
    double value;            /* the value that made the change (NaN: no data) */
    double threshold;
    uint64_t starts_unix_ms; /* when the condition started to hold (pending began) */
    uint64_t ends_unix_ms;   /* resolved: when; firing: 0 */
    const sonde_attr *labels; /* the rule's matchers as labels (string attributes) */
    size_t label_count;
} sonde_alert_notice;

/* Called by the alert engine on its evaluation thread: keep it short (queue
 * the work, as the webhook sender does). */
typedef void (*sonde_console_notify_fn)(void *ud, const sonde_alert_notice *notice);

/* ---- the webhook sender (libsonde-otlp) ---------------------------------------- */

/*
 * POSTs each notice to url as an Alertmanager webhook payload (the JSON
 * Alertmanager itself sends to a webhook receiver, version "4": status
 * firing/resolved, alerts[] with labels, annotations, startsAt, endsAt;
 * docs/console.md shows one). A thread of its own sends them, in order,
 * with the exporters' retries (5xx, 429, no answer; backoff with jitter,
 * Retry-After) for at most timeout_ms each; notices beyond queue_max
 * waiting are dropped and counted.
 */
typedef struct sonde_alert_webhook_opts {
    const char *url;         /* required: http:// or https:// */
    const char *external_url; /* the payload's externalURL / generatorURL, e.g. the
                                console's URL (may be NULL) */
    long timeout_ms;         /* per notice, retries included (10000) */
    long queue_max;          /* notices waiting at most (64) */
} sonde_alert_webhook_opts;

typedef struct sonde_alert_webhook sonde_alert_webhook;

typedef struct sonde_alert_webhook_stats {
    uint64_t sent, failed, dropped;
} sonde_alert_webhook_stats;

SONDE_API void sonde_alert_webhook_opts_init(sonde_alert_webhook_opts *opts);
/* SONDE_EINVAL (NULL out or opts, no http(s) url), SONDE_ENOMEM, SONDE_EIO (libcurl). */
SONDE_API int sonde_alert_webhook_new(const sonde_alert_webhook_opts *opts,
                                      sonde_alert_webhook **out);
/* A sonde_console_notify_fn: ud is the sonde_alert_webhook. Queues the notice. */
SONDE_API void sonde_alert_webhook_notify(void *ud, const sonde_alert_notice *notice);
/* Wait until every queued notice was sent or given up, for at most timeout_ms
 * (< 0: no limit); SONDE_OK, or SONDE_EBUSY (still sending). NULL: SONDE_EINVAL. */
SONDE_API int sonde_alert_webhook_flush(sonde_alert_webhook *w, long timeout_ms);
SONDE_API void sonde_alert_webhook_stats_get(const sonde_alert_webhook *w,
                                             sonde_alert_webhook_stats *out);
/* Send what is queued (each notice bounded by timeout_ms), stop the thread, free.
 * NULL: no-op. */
SONDE_API void sonde_alert_webhook_free(sonde_alert_webhook *w);

#ifdef __cplusplus
}
#endif
#endif
