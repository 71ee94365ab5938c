/*
 * alert_engine.c - the console's alert rules evaluated on every sampler
 * tick. Each rule's value comes from the evaluator (console_query_instant,
 * or a test's): a "value" or "rate" rule sums the instant values of every
 * combination of its "a|b" matchers, a "ratio" rule divides the summed rates
 * of its numerator by those of its denominator (no denominator data, or a
 * zero one: no value, as PromQL's `/ (x > 0)`; no numerator data beside a
 * denominator: 0, as the recording rules' `or 0 * x`), a "quantile" rule is
 * one instant query.
 *
 * States, as Prometheus has them: inactive -> pending when the condition
 * holds (no value: it does not), pending -> firing once it held for for_s
 * (at once when for_s is 0), pending -> inactive when it stops holding,
 * firing -> inactive (resolved) likewise. Every change is kept in a ring of
 * ALERT_HISTORY per rule; firing and resolved call the notify function,
 * outside the lock, on the sampler's thread.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "core_iface.h"

int alert_engine_init(alert_engine *e, alert_rules *rules, alert_eval_fn eval,
                      struct console_history *h, sonde_console_notify_fn notify, void *notify_ud)
{
    memset(e, 0, sizeof *e);
    if (rules->n && !(e->status = calloc(rules->n, sizeof *e->status)))
        return SONDE_ENOMEM;
    e->rules = *rules;
    memset(rules, 0, sizeof *rules);
    for (size_t i = 0; i < e->rules.n; i++)
        e->status[i].value = NAN;
    e->eval = eval;
    e->history = h;
    e->notify = notify;
    e->notify_ud = notify_ud;
    pthread_mutex_init(&e->mu, NULL);
    return SONDE_OK;
}

void alert_engine_destroy(alert_engine *e)
{
    alert_rules_free(&e->rules);
    free(e->status);
    e->status = NULL;
    pthread_mutex_destroy(&e->mu);
}

/* ---- the value of a rule ------------------------------------------------------------ */

/* Sum fn over every combination of m's "a|b" values: 1 with *sum when some series had data. */
static int sum_over(alert_engine *e, const alert_rule *r, const alert_matchers *m, console_fn fn,
                    double *sum)
{
    /* Split every value into its alternatives, in one buffer per matcher. */
    char buf[8][ALERT_VALUE_MAX + 1];
    const char *alt[8][ALERT_ALTERNATIVES_MAX];
    size_t nalt[8], pick[8] = {0};
    for (size_t i = 0; i < m->n; i++) {
        strcpy(buf[i], m->val[i]);
        nalt[i] = 0;
        for (char *p = buf[i], *bar;; p = bar + 1) {
            alt[i][nalt[i]++] = p;
            if (!(bar = strchr(p, '|')))
                break;
            *bar = '\0';
        }
    }
    int any = 0;
    *sum = 0;
    for (;;) {
        console_query q = {.family = r->family, .fn = fn, .q = r->q, .window_s = r->window_s,
                           .nmatch = m->n};
        for (size_t i = 0; i < m->n; i++) {
            q.match[i][0] = m->key[i];
            q.match[i][1] = alt[i][pick[i]];
        }
        double v = NAN;
        int ok = 0;
        if (e->eval(e->history, &q, &v, &ok) == SONDE_OK && ok && !isnan(v)) {
            *sum += v;
            any = 1;
        }
        size_t i = 0; /* the next combination, like an odometer */
        while (i < m->n && ++pick[i] == nalt[i])
            pick[i++] = 0;
        if (i == m->n)
            break;
    }
    return any;
}

/* The rule's current value, NaN without data. */
static double rule_value(alert_engine *e, const alert_rule *r)
{
    double v;
    switch (r->fn) {
    case CONSOLE_FN_VALUE:
    case CONSOLE_FN_RATE:
    case CONSOLE_FN_QUANTILE:
        return sum_over(e, r, &r->match, r->fn, &v) ? v : NAN;
    case CONSOLE_FN_RATIO: {
        double den;
        if (!sum_over(e, r, &r->den_match, CONSOLE_FN_RATE, &den) || !(den > 0))
            return NAN;
        if (!sum_over(e, r, &r->match, CONSOLE_FN_RATE, &v))
            v = 0;
        return v / den;
    }
    case CONSOLE_FN_HEATMAP: /* range queries only: the parser refuses it */
        break;
    }
    return NAN;
}

static int holds(const alert_rule *r, double v)
{
    if (isnan(v))
        return 0;
    switch (r->op) {
    case ALERT_GT:
        return v > r->threshold;
    case ALERT_LT:
        return v < r->threshold;
    case ALERT_GE:
        return v >= r->threshold;
    case ALERT_LE:
        return v <= r->threshold;
    }
    return 0;
}

/* ---- states ------------------------------------------------------------------------- */

static void record(alert_status *s, uint64_t now_ms, sonde_alert_state state, double v)
{
    s->state = state;
    s->history[s->history_next] = (alert_change){now_ms, state, v};
    s->history_next = (s->history_next + 1) % ALERT_HISTORY;
    if (s->history_count < ALERT_HISTORY)
        s->history_count++;
}

static void notify(alert_engine *e, const alert_rule *r, sonde_alert_state state, double v,
                   uint64_t since, uint64_t ends)
{
    sonde_attr labels[10];
    size_t n = 0;
    labels[n++] = SONDE_ATTR_STR("alertname", r->name);
    labels[n++] = SONDE_ATTR_STR("severity", r->severity);
    for (size_t i = 0; i < r->match.n; i++)
        if (!strchr(r->match.val[i], '|'))
            labels[n++] = SONDE_ATTR_STR(r->match.key[i], r->match.val[i]);
    sonde_alert_notice ev = {.name = r->name, .severity = r->severity, .summary = r->summary,
                             .expr = r->expr, .op = alert_op_text(r->op), .state = state,
                             .value = v, .threshold = r->threshold, .starts_unix_ms = since,
                             .ends_unix_ms = ends, .labels = labels, .label_count = n};
    e->notify(e->notify_ud, &ev);
}

void alert_engine_tick(alert_engine *e, uint64_t now_ms)
{
    for (size_t i = 0; i < e->rules.n; i++) {
        const alert_rule *r = &e->rules.v[i];
        double v = rule_value(e, r);
        int cond = holds(r, v);
        pthread_mutex_lock(&e->mu);
        alert_status *s = &e->status[i];
        sonde_alert_state before = s->state;
        uint64_t since = s->active_since;
        s->value = v;
        if (cond && before == SONDE_ALERT_INACTIVE) {
            s->active_since = since = now_ms;
            record(s, now_ms, r->for_s ? SONDE_ALERT_PENDING : SONDE_ALERT_FIRING, v);
        } else if (cond && before == SONDE_ALERT_PENDING &&
                   now_ms - s->active_since >= (uint64_t)r->for_s * 1000) {
            record(s, now_ms, SONDE_ALERT_FIRING, v);
        } else if (!cond && before != SONDE_ALERT_INACTIVE) {
            s->active_since = 0;
            record(s, now_ms, SONDE_ALERT_INACTIVE, v);
        }
        sonde_alert_state after = s->state;
        pthread_mutex_unlock(&e->mu);
        if (!e->notify)
            continue;
        if (after == SONDE_ALERT_FIRING && before != SONDE_ALERT_FIRING)
            notify(e, r, SONDE_ALERT_FIRING, v, since, 0);
        else if (before == SONDE_ALERT_FIRING && after == SONDE_ALERT_INACTIVE)
            notify(e, r, SONDE_ALERT_INACTIVE, v, since, now_ms);
    }
}

void alert_engine_status(alert_engine *e, size_t i, alert_status *out)
{
    pthread_mutex_lock(&e->mu);
    *out = e->status[i];
    pthread_mutex_unlock(&e->mu);
}
