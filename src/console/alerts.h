/*
 * alerts.h - the console's alert rules (rules.c: the JSON rules file and the
 * built-in defaults) and the engine that evaluates them on every sampler tick
 * (alert_engine.c: inactive -> pending -> firing -> inactive, a bounded
 * history of state changes per rule, the notify callback on firing and on
 * resolved). The engine reads values through an evaluator with the
 * signature of console_query_instant (query.h), so its tests feed values of
 * their own; the console passes the real one.
 */
#ifndef SONDE_CONSOLE_ALERTS_H
#define SONDE_CONSOLE_ALERTS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "query.h"
#include "sonde/alert.h"

#define ALERT_RULES_MAX 64
#define ALERT_RULES_FILE_MAX (1 << 20) /* bytes of a rules file */
#define ALERT_NAME_MAX 128
#define ALERT_TEXT_MAX 1024            /* summary */
#define ALERT_VALUE_MAX 256            /* a matcher's value */
#define ALERT_ALTERNATIVES_MAX 16      /* series sets a rule sums ("a|b" values multiply) */
#define ALERT_WINDOW_MAX 86400
#define ALERT_FOR_MAX 86400
#define ALERT_HISTORY 32               /* state changes kept per rule */

typedef enum { ALERT_GT, ALERT_LT, ALERT_GE, ALERT_LE } alert_op;

typedef struct alert_matchers {
    char *key[8], *val[8]; /* a value "a|b" matches either */
    size_t n;
} alert_matchers;

typedef struct alert_rule {
    char *name, *severity, *summary, *family;
    alert_matchers match, den_match; /* den_match: CONSOLE_FN_RATIO only */
    console_fn fn;
    double q;                        /* CONSOLE_FN_QUANTILE */
    long window_s;                   /* rate, ratio, quantile */
    alert_op op;
    double threshold;
    long for_s;
    char *expr;                      /* the condition's text form, without op and threshold */
} alert_rule;

typedef struct alert_rules {
    alert_rule *v;
    size_t n;
} alert_rules;

/* Parse a rules file's text: SONDE_OK, or SONDE_ECONFIG with a message naming the rule and
 * the field in err, SONDE_ENOMEM. *out is empty on error. */
int alert_rules_parse(const char *text, size_t len, alert_rules *out, char *err, size_t errlen);
/* Read and parse the file at path (SONDE_EIO when it cannot be read, or is too large). */
int alert_rules_load(const char *path, alert_rules *out, char *err, size_t errlen);
/* The built-in rules: the thresholds of deploy/rules/thresholds.yml, the alerts and for
 * durations of deploy/rules/alerts.yml that the console can evaluate. */
int alert_rules_defaults(alert_rules *out);
void alert_rules_free(alert_rules *r);
const char *alert_op_text(alert_op op);

/* console_query_instant's signature. */
typedef int (*alert_eval_fn)(struct console_history *h, const console_query *q, double *out,
                             int *ok);

typedef struct alert_change {
    uint64_t t_ms;
    sonde_alert_state state;
    double value;
} alert_change;

typedef struct alert_status {
    sonde_alert_state state;
    double value;          /* of the last evaluation; NaN without data */
    uint64_t active_since; /* ms, when the condition started to hold; 0 when inactive */
    alert_change history[ALERT_HISTORY]; /* a ring, newest at (next - 1) */
    size_t history_next, history_count;
} alert_status;

typedef struct alert_engine {
    alert_rules rules;
    alert_status *status;
    alert_eval_fn eval;
    struct console_history *history;
    sonde_console_notify_fn notify;
    void *notify_ud;
    pthread_mutex_t mu; /* status, between the sampler and API readers */
} alert_engine;

/* Take over *rules (emptied). SONDE_OK or SONDE_ENOMEM. */
int alert_engine_init(alert_engine *e, alert_rules *rules, alert_eval_fn eval,
                      struct console_history *h, sonde_console_notify_fn notify, void *notify_ud);
/* Evaluate every rule at now_ms (the sampler's tick) and notify state changes. */
void alert_engine_tick(alert_engine *e, uint64_t now_ms);
/* A copy of rule i's status (under the lock). */
void alert_engine_status(alert_engine *e, size_t i, alert_status *out);
void alert_engine_destroy(alert_engine *e);

#endif
