/*
 * test_console_alerts.c - the console's alert rules and engine
 * (src/console/rules.c, alert_engine.c):
 *   - the built-in defaults carry the numbers of deploy/rules/thresholds.yml
 *     and the severities and for durations of deploy/rules/alerts.yml (read
 *     from the source tree here, so changing one without the other fails);
 *   - every bad field of a rules file is refused with a message naming it;
 *   - the states, driven by a fake evaluator: inactive -> pending -> firing
 *     -> inactive with for_s, firing at once with for_s 0, pending dropped
 *     without a notice, no data resolving, the history ring, the notices;
 *   - a ratio rule sums its "a|b" alternatives and has no value without a
 *     denominator.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/console/alerts.h"
#include "check.h"
#include "sonde/sonde.h"

/* ---- the defaults against deploy/rules ------------------------------------------------ */

static char *read_source(const char *rel)
{
    const char *src = getenv("SONDE_SRC");
    CHECK(src != NULL);
    if (!src)
        return NULL;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", src, rel);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (!f)
        return NULL;
    char *text = calloc(1, 1 << 20);
    size_t n = fread(text, 1, (1 << 20) - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

/* The number in "expr: vector(N)" after "record: sonde:threshold:<name>". */
static double yml_threshold(const char *yml, const char *name)
{
    char key[128];
    snprintf(key, sizeof key, "record: sonde:threshold:%s\n", name);
    const char *p = strstr(yml, key);
    CHECK(p != NULL);
    if (!p)
        return NAN;
    p = strstr(p, "expr: vector(");
    CHECK(p != NULL);
    return p ? strtod(p + strlen("expr: vector("), NULL) : NAN;
}

/* The "for:" (in seconds) and severity of "- alert: <name>" in alerts.yml. */
static long yml_alert_for(const char *yml, const char *name, char *severity, size_t cap)
{
    char key[128];
    snprintf(key, sizeof key, "- alert: %s\n", name);
    const char *p = strstr(yml, key);
    CHECK(p != NULL);
    if (!p)
        return -1;
    const char *f = strstr(p, "for: "), *s = strstr(p, "severity: ");
    CHECK(f != NULL && s != NULL);
    if (!f || !s)
        return -1;
    char *end;
    long v = strtol(f + 5, &end, 10);
    long unit = *end == 'm' ? 60 : *end == 'h' ? 3600 : *end == 's' ? 1 : -1;
    s += strlen("severity: ");
    size_t n = strcspn(s, "\n");
    snprintf(severity, cap, "%.*s", (int)n, s);
    return v * unit;
}

static const alert_rule *find_rule(const alert_rules *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->v[i].name, name))
            return &r->v[i];
    return NULL;
}

TEST(defaults_are_deploy_rules_thresholds)
{
    char *thresholds = read_source("deploy/rules/thresholds.yml");
    char *alerts = read_source("deploy/rules/alerts.yml");
    if (!thresholds || !alerts) {
        free(thresholds);
        free(alerts);
        return;
    }
    alert_rules r;
    CHECK_EQ_INT(alert_rules_defaults(&r), SONDE_OK);
    static const struct {
        const char *rule, *threshold;
    } pairs[] = {
        {"SondeHighErrorRatio", "error_ratio"},
        {"SondeLLMHighErrorRatio", "error_ratio"},
        {"SondeTTFTHigh", "ttft_p95_seconds"},
        {"SondeTPOTHigh", "tpot_p95_seconds"},
        {"SondeRateLimitRejectionsSpiking", "rate_limit_rejections_per_second"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
        const alert_rule *rule = find_rule(&r, pairs[i].rule);
        CHECK(rule != NULL);
        if (!rule)
            continue;
        CHECK_EQ_DBL(rule->threshold, yml_threshold(thresholds, pairs[i].threshold));
        CHECK_EQ_INT(rule->op, ALERT_GT);
    }
    /* Every default names an alert of alerts.yml with its severity and for duration. */
    CHECK(r.n >= 6);
    for (size_t i = 0; i < r.n; i++) {
        char severity[32] = "";
        CHECK_EQ_INT(r.v[i].for_s, yml_alert_for(alerts, r.v[i].name, severity, sizeof severity));
        CHECK_EQ_STR(r.v[i].severity, severity);
    }
    const alert_rule *ttft = find_rule(&r, "SondeTTFTHigh");
    CHECK(ttft && ttft->fn == CONSOLE_FN_QUANTILE && ttft->q == 0.95);
    const alert_rule *ready = find_rule(&r, "SondeGatewayNotReady");
    CHECK(ready && ready->fn == CONSOLE_FN_VALUE && ready->op == ALERT_LT && ready->threshold == 1);
    const alert_rule *llm = find_rule(&r, "SondeLLMHighErrorRatio");
    CHECK(llm != NULL);
    if (llm)
        CHECK_EQ_STR(llm->expr, "rate(gateway_provider_calls_total{status=~\"error|timeout\"}[300s])"
                                " / rate(gateway_provider_calls_total[300s])");
    alert_rules_free(&r);
    free(thresholds);
    free(alerts);
}

/* ---- the parser ------------------------------------------------------------------------- */

static void refused(const char *text, const char *expect)
{
    alert_rules r;
    char err[256] = "";
    int rc = alert_rules_parse(text, strlen(text), &r, err, sizeof err);
    CHECK_EQ_INT(rc, SONDE_ECONFIG);
    CHECK_CONTAINS(err, expect);
    CHECK(r.n == 0 && r.v == NULL);
}

#define RULE(extra)                                                                               \
    "{\"rules\": [{\"name\": \"A\", \"family\": \"x_total\", \"fn\": \"rate\", \"op\": \">\", "   \
    "\"threshold\": 1" extra "}]}"

TEST(parser_names_every_bad_field)
{
    refused("", "not JSON");
    refused("{\"rules\": [", "not JSON");
    refused("[]", "expected {\"rules\"");
    refused("{\"rules\": [], \"x\": 1}", "expected {\"rules\"");
    refused("{\"rules\": {}}", "expected {\"rules\"");
    refused("{\"rules\": [1]}", "rule 1: \"rules\" entries must be objects");
    refused("{\"rules\": [{\"family\": \"x\", \"fn\": \"rate\", \"op\": \">\", \"threshold\": 1}]}",
            "\"name\" is required");
    refused(RULE(", \"name\": 5"), "not JSON"); /* a duplicate key */
    refused("{\"rules\": [{\"name\": 5, \"family\": \"x\", \"fn\": \"rate\", \"op\": \">\", "
            "\"threshold\": 1}]}",
            "\"name\" must be a string");
    refused("{\"rules\": [{\"name\": \"a b\", \"family\": \"x\", \"fn\": \"rate\", \"op\": \">\", "
            "\"threshold\": 1}]}",
            "\"name\" must be letters");
    refused(RULE(", \"colour\": 1"), "\"colour\" is not a rule field");
    refused(RULE(", \"severity\": \"\""), "\"severity\" must be a word");
    refused(RULE(", \"summary\": 1"), "\"summary\" must be a string");
    refused("{\"rules\": [{\"name\": \"A\", \"family\": \"9x\", \"fn\": \"rate\", \"op\": \">\", "
            "\"threshold\": 1}]}",
            "\"family\" is not a metric family name");
    refused("{\"rules\": [{\"name\": \"A\", \"family\": \"x\", \"op\": \">\", \"threshold\": 1}]}",
            "\"fn\" is required");
    refused("{\"rules\": [{\"name\": \"A\", \"family\": \"x\", \"fn\": \"avg\", \"op\": \">\", "
            "\"threshold\": 1}]}",
            "\"fn\" must be");
    refused(RULE(", \"match\": []"), "\"match\" must be an object");
    refused(RULE(", \"match\": {\"1a\": \"v\"}"), "\"match\" has an invalid label name");
    refused(RULE(", \"match\": {\"a\": 1}"), "\"match\" value of \"a\" must be a string");
    refused(RULE(", \"match\": {\"a\": \"1|2|3|4|5\", \"b\": \"1|2|3|4\"}"),
            "more than 16 combinations");
    refused(RULE(", \"match\": {\"a\":\"1\",\"b\":\"1\",\"c\":\"1\",\"d\":\"1\",\"e\":\"1\","
                 "\"f\":\"1\",\"g\":\"1\",\"h\":\"1\",\"i\":\"1\"}"),
            "more than 8 matchers");
    refused(RULE(", \"denominator_match\": {}"), "\"denominator_match\" is only for fn \"ratio\"");
    refused(RULE(", \"q\": 0.5"), "\"q\" is only for fn \"quantile\"");
    refused("{\"rules\": [{\"name\": \"A\", \"family\": \"x\", \"fn\": \"quantile\", \"op\": \">\", "
            "\"threshold\": 1}]}",
            "\"q\" is required");
    refused("{\"rules\": [{\"name\": \"A\", \"family\": \"x\", \"fn\": \"quantile\", \"q\": 1.5, "
            "\"op\": \">\", \"threshold\": 1}]}",
            "\"q\" must be between 0 and 1");
    refused("{\"rules\": [{\"name\": \"A\", \"family\": \"x\", \"fn\": \"quantile\", \"q\": 0.5, "
            "\"match\": {\"a\": \"1|2\"}, \"op\": \">\", \"threshold\": 1}]}",
            "cannot be alternatives");
    refused(RULE(", \"window_s\": 0"), "\"window_s\" must be between 1 and 86400");
    refused(RULE(", \"window_s\": 1.5"), "\"window_s\" must be a whole number");
    refused(RULE(", \"window_s\": \"60\""), "\"window_s\" must be a number");
    refused("{\"rules\": [{\"name\": \"A\", \"family\": \"x\", \"fn\": \"rate\", \"threshold\": 1}]}",
            "\"op\" is required");
    refused("{\"rules\": [{\"name\": \"A\", \"family\": \"x\", \"fn\": \"rate\", \"op\": \"==\", "
            "\"threshold\": 1}]}",
            "\"op\" must be");
    refused("{\"rules\": [{\"name\": \"A\", \"family\": \"x\", \"fn\": \"rate\", \"op\": \">\"}]}",
            "\"threshold\" is required");
    refused(RULE(", \"for_s\": -1"), "\"for_s\" must be between 0 and 86400");
    refused("{\"rules\": [" /* the second rule repeats the first's name */
            "{\"name\": \"A\", \"family\": \"x\", \"fn\": \"rate\", \"op\": \">\", \"threshold\": 1},"
            "{\"name\": \"A\", \"family\": \"y\", \"fn\": \"rate\", \"op\": \">\", \"threshold\": 1}]}",
            "rule 2 (\"A\"): \"name\" repeats the name of rule 1");
    /* and a good file parses, with its defaults */
    alert_rules r;
    const char *good = RULE(", \"match\": {\"code\": \"500|503\"}, \"for_s\": 30");
    CHECK_EQ_INT(alert_rules_parse(good, strlen(good), &r, NULL, 0), SONDE_OK);
    CHECK_EQ_INT(r.n, 1);
    CHECK_EQ_STR(r.v[0].severity, "warning");
    CHECK_EQ_INT(r.v[0].window_s, 60);
    CHECK_EQ_INT(r.v[0].for_s, 30);
    CHECK_EQ_STR(r.v[0].expr, "rate(x_total{code=~\"500|503\"}[60s])");
    alert_rules_free(&r);
    char err[256] = "";
    CHECK_EQ_INT(alert_rules_load("/nonexistent/rules.json", &r, err, sizeof err), SONDE_EIO);
    CHECK_CONTAINS(err, "cannot open /nonexistent/rules.json");
}

/* ---- the engine, on a fake evaluator ------------------------------------------------------ */

typedef struct fake {
    double value;   /* what a query of family "v" or its numerators answer */
    int ok;
    double by_status[2]; /* rates of status "error" and "timeout" */
    double den;          /* the denominator's rate; < 0: no data */
    int calls;
} fake;

static int fake_eval(struct console_history *h, const console_query *q, double *out, int *ok)
{
    fake *f = (fake *)h;
    f->calls++;
    *ok = 0;
    if (!strcmp(q->family, "v")) {
        *ok = f->ok;
        *out = f->value;
    } else if (q->nmatch == 1 && !strcmp(q->match[0][1], "error")) {
        *ok = 1, *out = f->by_status[0];
    } else if (q->nmatch == 1 && !strcmp(q->match[0][1], "timeout")) {
        *ok = 1, *out = f->by_status[1];
    } else if (q->nmatch == 0 && f->den >= 0) {
        *ok = 1, *out = f->den;
    }
    return SONDE_OK;
}

typedef struct notices {
    int n;
    sonde_alert_state state[8];
    uint64_t starts[8], ends[8];
    double value[8];
    char labels[8][128];
} notices;

static void on_notice(void *ud, const sonde_alert_notice *ev)
{
    notices *ns = ud;
    if (ns->n == 8)
        return;
    ns->state[ns->n] = ev->state;
    ns->starts[ns->n] = ev->starts_unix_ms;
    ns->ends[ns->n] = ev->ends_unix_ms;
    ns->value[ns->n] = ev->value;
    char *w = ns->labels[ns->n];
    w[0] = '\0';
    for (size_t i = 0; i < ev->label_count; i++)
        snprintf(w + strlen(w), 128 - strlen(w), "%s=%s;", ev->labels[i].key, ev->labels[i].v.s);
    ns->n++;
}

static void engine(alert_engine *e, const char *text, fake *f, notices *ns)
{
    alert_rules r;
    CHECK_EQ_INT(alert_rules_parse(text, strlen(text), &r, NULL, 0), SONDE_OK);
    CHECK_EQ_INT(alert_engine_init(e, &r, fake_eval, (struct console_history *)f, on_notice, ns),
                 SONDE_OK);
}

TEST(states_follow_the_condition_and_for)
{
    fake f = {.value = 0, .ok = 1, .den = -1};
    notices ns = {0};
    alert_engine e;
    engine(&e, "{\"rules\": [{\"name\": \"Hot\", \"severity\": \"critical\", \"family\": \"v\", "
               "\"match\": {\"zone\": \"a\"}, \"fn\": \"value\", \"op\": \">\", \"threshold\": 1, "
               "\"for_s\": 10}]}",
           &f, &ns);
    alert_status st;
    alert_engine_tick(&e, 1000);
    alert_engine_status(&e, 0, &st);
    CHECK_EQ_INT(st.state, SONDE_ALERT_INACTIVE);
    CHECK_EQ_DBL(st.value, 0);
    CHECK_EQ_INT(st.history_count, 0);
    f.value = 2; /* holds: pending */
    alert_engine_tick(&e, 2000);
    alert_engine_status(&e, 0, &st);
    CHECK_EQ_INT(st.state, SONDE_ALERT_PENDING);
    CHECK_EQ_INT(st.active_since, 2000);
    alert_engine_tick(&e, 11999); /* 9.999 s: still pending */
    alert_engine_status(&e, 0, &st);
    CHECK_EQ_INT(st.state, SONDE_ALERT_PENDING);
    CHECK_EQ_INT(ns.n, 0);
    alert_engine_tick(&e, 12000); /* 10 s: firing */
    alert_engine_status(&e, 0, &st);
    CHECK_EQ_INT(st.state, SONDE_ALERT_FIRING);
    CHECK_EQ_INT(ns.n, 1);
    CHECK_EQ_INT(ns.state[0], SONDE_ALERT_FIRING);
    CHECK_EQ_INT(ns.starts[0], 2000);
    CHECK_EQ_INT(ns.ends[0], 0);
    CHECK_EQ_DBL(ns.value[0], 2);
    CHECK_EQ_STR(ns.labels[0], "alertname=Hot;severity=critical;zone=a;");
    alert_engine_tick(&e, 13000); /* still firing: no second notice */
    CHECK_EQ_INT(ns.n, 1);
    f.value = 1; /* 1 > 1 does not hold: resolved */
    alert_engine_tick(&e, 14000);
    alert_engine_status(&e, 0, &st);
    CHECK_EQ_INT(st.state, SONDE_ALERT_INACTIVE);
    CHECK_EQ_INT(st.active_since, 0);
    CHECK_EQ_INT(ns.n, 2);
    CHECK_EQ_INT(ns.state[1], SONDE_ALERT_INACTIVE);
    CHECK_EQ_INT(ns.starts[1], 2000);
    CHECK_EQ_INT(ns.ends[1], 14000);
    /* The history: pending, firing, inactive, oldest first from history_next - count. */
    CHECK_EQ_INT(st.history_count, 3);
    CHECK_EQ_INT(st.history[0].state, SONDE_ALERT_PENDING);
    CHECK_EQ_INT(st.history[0].t_ms, 2000);
    CHECK_EQ_INT(st.history[1].state, SONDE_ALERT_FIRING);
    CHECK_EQ_INT(st.history[2].state, SONDE_ALERT_INACTIVE);
    /* Pending that stops holding goes back without a notice. */
    f.value = 5;
    alert_engine_tick(&e, 15000);
    f.value = 0;
    alert_engine_tick(&e, 16000);
    alert_engine_status(&e, 0, &st);
    CHECK_EQ_INT(st.state, SONDE_ALERT_INACTIVE);
    CHECK_EQ_INT(ns.n, 2);
    CHECK_EQ_INT(st.history_count, 5);
    /* The ring keeps the last ALERT_HISTORY changes. */
    for (int i = 0; i < 40; i++) {
        f.value = i % 2 ? 0 : 5;
        alert_engine_tick(&e, 17000 + (uint64_t)i * 1000);
    }
    alert_engine_status(&e, 0, &st);
    CHECK_EQ_INT(st.history_count, ALERT_HISTORY);
    alert_engine_destroy(&e);
}

TEST(for_zero_fires_at_once_and_no_data_resolves)
{
    fake f = {.value = 3, .ok = 1, .den = -1};
    notices ns = {0};
    alert_engine e;
    engine(&e, "{\"rules\": [{\"name\": \"Now\", \"family\": \"v\", \"fn\": \"value\", \"op\": "
               "\"<=\", \"threshold\": 3}]}",
           &f, &ns);
    alert_engine_tick(&e, 1000);
    alert_status st;
    alert_engine_status(&e, 0, &st);
    CHECK_EQ_INT(st.state, SONDE_ALERT_FIRING);
    CHECK_EQ_INT(st.history_count, 1);
    CHECK_EQ_INT(ns.n, 1);
    f.ok = 0; /* the series is gone: no value, the condition does not hold */
    alert_engine_tick(&e, 2000);
    alert_engine_status(&e, 0, &st);
    CHECK_EQ_INT(st.state, SONDE_ALERT_INACTIVE);
    CHECK(isnan(st.value));
    CHECK_EQ_INT(ns.n, 2);
    CHECK_EQ_INT(ns.state[1], SONDE_ALERT_INACTIVE);
    alert_engine_destroy(&e);
}

TEST(ratio_sums_alternatives_over_its_denominator)
{
    fake f = {.by_status = {1, 2}, .den = 10};
    notices ns = {0};
    alert_engine e;
    engine(&e, "{\"rules\": [{\"name\": \"Errors\", \"family\": \"calls_total\", \"match\": "
               "{\"status\": \"error|timeout\"}, \"fn\": \"ratio\", \"op\": \">\", "
               "\"threshold\": 0.25}]}",
           &f, &ns);
    alert_engine_tick(&e, 1000);
    alert_status st;
    alert_engine_status(&e, 0, &st);
    CHECK_EQ_DBL(st.value, 0.3); /* (1 + 2) / 10 */
    CHECK_EQ_INT(st.state, SONDE_ALERT_FIRING);
    CHECK_EQ_INT(f.calls, 3); /* the denominator, then error and timeout */
    f.den = 0; /* no traffic: no ratio, resolved */
    alert_engine_tick(&e, 2000);
    alert_engine_status(&e, 0, &st);
    CHECK(isnan(st.value));
    CHECK_EQ_INT(st.state, SONDE_ALERT_INACTIVE);
    f.den = 100, f.by_status[0] = 0, f.by_status[1] = 0;
    alert_engine_tick(&e, 3000);
    alert_engine_status(&e, 0, &st);
    CHECK_EQ_DBL(st.value, 0);
    CHECK_EQ_STR(ns.labels[0], "alertname=Errors;severity=warning;"); /* "a|b" is no label */
    alert_engine_destroy(&e);
}

int main(void)
{
    RUN(defaults_are_deploy_rules_thresholds);
    RUN(parser_names_every_bad_field);
    RUN(states_follow_the_condition_and_for);
    RUN(for_zero_fires_at_once_and_no_data_resolves);
    RUN(ratio_sums_alternatives_over_its_denominator);
    return check_report();
}
