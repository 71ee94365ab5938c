/*
 * api_alerts.c - the alert engine's place in the console: created with it
 * from the rules file (or the built-in defaults), evaluated by the sampler
 * thread right after each sample through console_query_instant, the families
 * of the rules recorded from their first tick (pinned, like the overview's;
 * "foo_total" read as the counter family "foo"), and
 * /console/api/alerts:
 *
 *   {"alertmanager_url": str|null, "rules": [{"name", "severity", "summary",
 *    "expr", "op", "threshold", "for_s", "state", "value", "active_since",
 *    "history": [{"t", "state", "value"}]}]}
 *
 * value is the last evaluation's (null without data), active_since the ms
 * since which the condition holds (null when inactive), history the last
 * ALERT_HISTORY state changes, oldest first.
 */
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "console_obs.h"
#include "history.h"

int console_alerts_new(sonde_console *c, const sonde_console_opts *o, char *err, size_t errlen)
{
    alert_rules rules;
    int rc = o->rules_path ? alert_rules_load(o->rules_path, &rules, err, errlen)
                           : alert_rules_defaults(&rules);
    if (rc != SONDE_OK)
        return rc;
    alert_engine *e = malloc(sizeof *e);
    if (!e || (rc = alert_engine_init(e, &rules, console_query_instant, c->history, o->notify,
                                      o->notify_ud)) != SONDE_OK) {
        free(e);
        alert_rules_free(&rules);
        return SONDE_ENOMEM;
    }
    c->alerts = e;
    return SONDE_OK;
}

/* Record rule r's family from now on. The registry names a counter without "_total"
 * while rules (like PromQL) may use the exposition's name: a "foo_total" that is no family
 * is tried as "foo", and the rule reads that family from then on. Sampler thread only (the
 * API does not read family). */
static void watch_family(console_history *h, alert_rule *r)
{
    if (console_history_find(h, r->family) ||
        console_history_watch(h, r->family, NULL, 0, 1, NULL) != SONDE_ENOENT)
        return;
    size_t n = strlen(r->family);
    if (n <= 6 || strcmp(r->family + n - 6, "_total") != 0)
        return;
    char *base = strndup(r->family, n - 6);
    if (base && console_history_watch(h, base, NULL, 0, 1, NULL) == SONDE_OK) {
        free(r->family);
        r->family = base;
    } else {
        free(base);
    }
}

void console_alerts_tick(sonde_console *c, int64_t now_ms)
{
    alert_engine *e = c->alerts;
    if (!e)
        return;
    console_history_lock(c->history);
    for (size_t i = 0; i < e->rules.n; i++)
        watch_family(c->history, &e->rules.v[i]);
    console_history_unlock(c->history);
    alert_engine_tick(e, (uint64_t)now_ms);
}

void console_alerts_free(sonde_console *c)
{
    if (!c->alerts)
        return;
    alert_engine_destroy(c->alerts);
    free(c->alerts);
    c->alerts = NULL;
}

static const char *state_name(sonde_alert_state s)
{
    return s == SONDE_ALERT_FIRING ? "firing" : s == SONDE_ALERT_PENDING ? "pending" : "inactive";
}

static const char *fn_name(console_fn fn)
{
    return fn == CONSOLE_FN_RATIO ? "ratio" : fn == CONSOLE_FN_RATE ? "rate"
                                          : fn == CONSOLE_FN_QUANTILE ? "quantile" : "value";
}

int console_api_alerts(sonde_console *c, const char *sub, const console_params *p,
                       sonde_server_response *resp)
{
    (void)p;
    if (sub[0])
        return console_respond_error(resp, 404, "no such alerts path");
    alert_engine *e = c->alerts;
    console_json j = {0};
    cj_raw(&j, "{");
    cj_key(&j, "alertmanager_url");
    cj_str(&j, c->alertmanager_url);
    cj_key(&j, "rules");
    cj_raw(&j, "[");
    for (size_t i = 0; e && i < e->rules.n; i++) {
        const alert_rule *r = &e->rules.v[i];
        alert_status st;
        alert_engine_status(e, i, &st);
        if (i)
            cj_raw(&j, ",");
        cj_raw(&j, "{");
        cj_key(&j, "name");
        cj_str(&j, r->name);
        cj_key(&j, "severity");
        cj_str(&j, r->severity);
        cj_key(&j, "summary");
        cj_str(&j, r->summary);
        cj_key(&j, "fn");
        cj_str(&j, fn_name(r->fn));
        cj_key(&j, "expr");
        cj_str(&j, r->expr);
        cj_key(&j, "op");
        cj_str(&j, alert_op_text(r->op));
        cj_key(&j, "threshold");
        cj_num(&j, r->threshold);
        cj_key(&j, "for_s");
        cj_u64(&j, (uint64_t)r->for_s);
        cj_key(&j, "state");
        cj_str(&j, state_name(st.state));
        cj_key(&j, "value");
        cj_num(&j, st.value);
        cj_key(&j, "active_since");
        if (st.active_since)
            cj_u64(&j, st.active_since);
        else
            cj_raw(&j, "null");
        cj_key(&j, "history");
        cj_raw(&j, "[");
        for (size_t k = 0; k < st.history_count; k++) {
            const alert_change *h =
                &st.history[(st.history_next + ALERT_HISTORY - st.history_count + k) % ALERT_HISTORY];
            if (k)
                cj_raw(&j, ",");
            cj_raw(&j, "{");
            cj_key(&j, "t");
            cj_u64(&j, h->t_ms);
            cj_key(&j, "state");
            cj_str(&j, state_name(h->state));
            cj_key(&j, "value");
            cj_num(&j, h->value);
            cj_raw(&j, "}");
        }
        cj_raw(&j, "]}");
    }
    cj_raw(&j, "]}");
    return console_respond_json(resp, 200, &j);
}
