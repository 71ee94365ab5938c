/*
 * fuzz_alert_rules.c - the console's alert rules file (src/console/rules.c):
 * any input is parsed; an error has a message naming where ("alert rules:
 * ...") and leaves nothing allocated; an accepted file holds at most
 * ALERT_RULES_MAX rules, each with a valid name, an expression text, a
 * window and a for within bounds and at most ALERT_ALTERNATIVES_MAX series
 * combinations, and survives a few ticks of the engine (a fake evaluator
 * answering every query with 1, then without data).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/console/alerts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int answer = 1;

static int fake_eval(struct console_history *h, const console_query *q, double *out, int *ok)
{
    (void)h;
    if (!q->family || q->nmatch > 8 || q->nden > 8)
        abort();
    *out = 1;
    *ok = answer;
    return SONDE_OK;
}

static size_t combos(const alert_matchers *m)
{
    size_t n = 1;
    for (size_t i = 0; i < m->n; i++) {
        size_t k = 1;
        for (const char *p = m->val[i]; *p; p++)
            k += *p == '|';
        n *= k;
    }
    return n;
}

static void on_notice(void *ud, const sonde_alert_notice *ev)
{
    (void)ud;
    if (!ev->name || !ev->expr || ev->label_count > 10)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    alert_rules r;
    char err[256];
    err[0] = '\0';
    int rc = alert_rules_parse((const char *)data, size, &r, err, sizeof err);
    if (rc != SONDE_OK) {
        if (rc != SONDE_ECONFIG || strncmp(err, "alert rules: ", 13) != 0 || r.n || r.v)
            abort();
        return 0;
    }
    if (r.n > ALERT_RULES_MAX)
        abort();
    for (size_t i = 0; i < r.n; i++) {
        const alert_rule *x = &r.v[i];
        if (!x->name[0] || !x->expr || x->for_s < 0 || x->for_s > ALERT_FOR_MAX ||
            x->window_s < 0 || x->window_s > ALERT_WINDOW_MAX || x->match.n > 8 ||
            x->den_match.n > 8 || combos(&x->match) > ALERT_ALTERNATIVES_MAX ||
            combos(&x->den_match) > ALERT_ALTERNATIVES_MAX)
            abort();
    }
    alert_engine e;
    if (alert_engine_init(&e, &r, fake_eval, NULL, on_notice, NULL) != SONDE_OK) {
        alert_rules_free(&r);
        return 0;
    }
    answer = 1;
    alert_engine_tick(&e, 1000);
    alert_engine_tick(&e, 1000000000);
    answer = 0;
    alert_engine_tick(&e, 2000000000);
    for (size_t i = 0; i < e.rules.n; i++) {
        alert_status st;
        alert_engine_status(&e, i, &st);
        if (st.state != SONDE_ALERT_INACTIVE || st.history_count > ALERT_HISTORY)
            abort();
    }
    alert_engine_destroy(&e);
    return 0;
}
