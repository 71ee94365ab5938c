/*
 * rules.c - the console's alert rules: the JSON rules file (parsed with
 * jansson, strictly: an unknown field, a wrong type or a value out of its
 * range refuses the whole file with a message naming the rule and the
 * field, so a typo never silently disables an alert) and the built-in
 * defaults, which carry the numbers of deploy/rules/thresholds.yml and the
 * for durations of deploy/rules/alerts.yml (a unit test compares them).
 *
 *   {"rules": [{"name": "SondeLLMHighErrorRatio", "severity": "critical",
 *               "summary": "...", "family": "gateway_provider_calls_total",
 *               "match": {"status": "error|timeout"}, "fn": "ratio",
 *               "denominator_match": {}, "window_s": 300,
 *               "op": ">", "threshold": 0.05, "for_s": 300}]}
 *
 * A matcher value "a|b" selects either value; the rule sums the rates (or
 * values) of every combination (at most ALERT_ALTERNATIVES_MAX), which is
 * how the defaults say status=~"5.." and status=~"error|timeout" with the
 * history's equality matchers. Quantile rules take single values only.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alerts.h"
#include "core_iface.h"

const char *alert_op_text(alert_op op)
{
    static const char *const text[] = {">", "<", ">=", "<="};
    return text[op];
}

static void rule_free(alert_rule *r)
{
    free(r->name);
    free(r->severity);
    free(r->summary);
    free(r->family);
    free(r->expr);
    for (size_t i = 0; i < r->match.n; i++)
        free(r->match.key[i]), free(r->match.val[i]);
    for (size_t i = 0; i < r->den_match.n; i++)
        free(r->den_match.key[i]), free(r->den_match.val[i]);
    memset(r, 0, sizeof *r);
}

void alert_rules_free(alert_rules *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        rule_free(&r->v[i]);
    free(r->v);
    r->v = NULL;
    r->n = 0;
}

/* ---- the text form of a rule's condition -------------------------------------------- */

static void put_selector(FILE *f, const char *family, const alert_matchers *m, long window)
{
    fputs(family, f);
    if (m->n) {
        fputc('{', f);
        for (size_t i = 0; i < m->n; i++)
            fprintf(f, "%s%s%s\"%s\"", i ? "," : "", m->key[i], strchr(m->val[i], '|') ? "=~" : "=",
                    m->val[i]);
        fputc('}', f);
    }
    if (window)
        fprintf(f, "[%lds]", window);
}

/* q in [0, 1] with up to 6 decimals, without the locale's decimal separator. */
static void put_quantile(FILE *f, double q)
{
    long micro = lround(q * 1e6);
    if (micro % 1000000 == 0) {
        fprintf(f, "%ld", micro / 1000000);
        return;
    }
    char frac[8];
    snprintf(frac, sizeof frac, "%06ld", micro % 1000000);
    for (int i = 5; i > 0 && frac[i] == '0'; i--)
        frac[i] = '\0';
    fprintf(f, "0.%s", frac);
}

static char *expr_text(const alert_rule *r)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    switch (r->fn) {
    case CONSOLE_FN_VALUE:
        put_selector(f, r->family, &r->match, 0);
        break;
    case CONSOLE_FN_RATE:
        fputs("rate(", f);
        put_selector(f, r->family, &r->match, r->window_s);
        fputs(")", f);
        break;
    case CONSOLE_FN_QUANTILE:
        fputs("quantile(", f);
        put_quantile(f, r->q);
        fputs(", ", f);
        put_selector(f, r->family, &r->match, r->window_s);
        fputs(")", f);
        break;
    case CONSOLE_FN_RATIO:
        fputs("rate(", f);
        put_selector(f, r->family, &r->match, r->window_s);
        fputs(") / rate(", f);
        put_selector(f, r->family, &r->den_match, r->window_s);
        fputs(")", f);
        break;
    case CONSOLE_FN_HEATMAP: /* range queries only: the parser refuses it */
        break;
    }
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* ---- parsing ---------------------------------------------------------------------------- */

typedef struct parse_ctx {
    char *err;
    size_t errlen;
    size_t index; /* of the rule, for messages */
    const char *name;
} parse_ctx;

static int fail(parse_ctx *c, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(parse_ctx *c, const char *field, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (c->name)
        return sonde_internal_errorf(c->err, c->errlen, SONDE_ECONFIG,
                                     "alert rules: rule %zu (\"%.64s\"): \"%s\" %s", c->index + 1,
                                     c->name, field, why);
    return sonde_internal_errorf(c->err, c->errlen, SONDE_ECONFIG, "alert rules: rule %zu: \"%s\" %s",
                                 c->index + 1, field, why);
}

static int valid_metric_name(const char *s)
{
    if (!s[0] || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_' ||
                   s[0] == ':'))
        return 0;
    for (const char *p = s + 1; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == ':'))
            return 0;
    return strlen(s) <= ALERT_NAME_MAX;
}

/* A required (or, with dflt, optional) string of at most max bytes. */
static int get_string(parse_ctx *c, json_t *rule, const char *field, size_t max, const char *dflt,
                      char **out)
{
    json_t *v = json_object_get(rule, field);
    const char *s = dflt;
    if (v) {
        if (!json_is_string(v))
            return fail(c, field, "must be a string");
        s = json_string_value(v);
        if (json_string_length(v) != strlen(s))
            return fail(c, field, "must not contain a NUL character");
    } else if (!dflt) {
        return fail(c, field, "is required");
    }
    if (strlen(s) > max)
        return fail(c, field, "is longer than %zu bytes", max);
    if (!(*out = strdup(s)))
        return SONDE_ENOMEM;
    return SONDE_OK;
}

/* An optional number in [min, max] (NaN, infinities and non-numbers refused). */
static int get_number(parse_ctx *c, json_t *rule, const char *field, double min, double max,
                      int required, double *out)
{
    json_t *v = json_object_get(rule, field);
    if (!v)
        return required ? fail(c, field, "is required") : SONDE_OK;
    if (!json_is_number(v))
        return fail(c, field, "must be a number");
    double d = json_number_value(v);
    if (!isfinite(d) || d < min || d > max)
        return fail(c, field, "must be between %g and %g", min, max);
    *out = d;
    return SONDE_OK;
}

static size_t alternatives(const char *v)
{
    size_t n = 1;
    for (; *v; v++)
        n += *v == '|';
    return n;
}

static int get_matchers(parse_ctx *c, json_t *rule, const char *field, alert_matchers *m,
                        size_t *combos)
{
    json_t *obj = json_object_get(rule, field);
    if (!obj)
        return SONDE_OK;
    if (!json_is_object(obj))
        return fail(c, field, "must be an object of label names to values");
    if (json_object_size(obj) > 8)
        return fail(c, field, "has more than 8 matchers");
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        if (!sonde_internal_valid_label_name(key) || strlen(key) > ALERT_NAME_MAX)
            return fail(c, field, "has an invalid label name \"%.64s\"", key);
        if (!json_is_string(v))
            return fail(c, field, "value of \"%s\" must be a string", key);
        const char *s = json_string_value(v);
        if (json_string_length(v) != strlen(s) || strlen(s) > ALERT_VALUE_MAX)
            return fail(c, field, "value of \"%s\" is longer than %d bytes or holds a NUL", key,
                        ALERT_VALUE_MAX);
        *combos *= alternatives(s);
        if (*combos > ALERT_ALTERNATIVES_MAX)
            return fail(c, field, "selects more than %d combinations of \"a|b\" values",
                        ALERT_ALTERNATIVES_MAX);
        if (!(m->key[m->n] = strdup(key)) || !(m->val[m->n] = strdup(s))) {
            free(m->key[m->n]);
            return SONDE_ENOMEM;
        }
        m->n++;
    }
    return SONDE_OK;
}

static const char *const rule_fields[] = {"name",  "severity",  "summary",
                                          "family", "match",    "fn",
                                          "q",     "window_s",  "denominator_match",
                                          "op",    "threshold", "for_s"};

static int parse_rule(parse_ctx *c, json_t *j, alert_rule *r)
{
    if (!json_is_object(j))
        return fail(c, "rules", "entries must be objects");
    json_t *name = json_object_get(j, "name");
    if (json_is_string(name))
        c->name = json_string_value(name);
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v) {
        size_t k = 0;
        while (k < sizeof rule_fields / sizeof *rule_fields && strcmp(key, rule_fields[k]))
            k++;
        if (k == sizeof rule_fields / sizeof *rule_fields)
            return fail(c, key, "is not a rule field (name, severity, summary, family, match, fn, "
                                "q, window_s, denominator_match, op, threshold, for_s)");
    }
    int rc;
    if ((rc = get_string(c, j, "name", ALERT_NAME_MAX, NULL, &r->name)))
        return rc;
    if (!r->name[0] || !sonde_internal_valid_label_name(r->name))
        return fail(c, "name", "must be letters, digits and '_', not starting with a digit");
    if ((rc = get_string(c, j, "severity", 32, "warning", &r->severity)) ||
        (rc = get_string(c, j, "summary", ALERT_TEXT_MAX, "", &r->summary)) ||
        (rc = get_string(c, j, "family", ALERT_NAME_MAX, NULL, &r->family)))
        return rc;
    if (!r->severity[0] || !sonde_internal_valid_label_name(r->severity))
        return fail(c, "severity", "must be a word such as warning or critical");
    if (!sonde_internal_valid_utf8(r->summary, strlen(r->summary)))
        return fail(c, "summary", "must be UTF-8");
    if (!valid_metric_name(r->family))
        return fail(c, "family", "is not a metric family name");
    json_t *fn = json_object_get(j, "fn");
    const char *fns = json_is_string(fn) ? json_string_value(fn) : NULL;
    if (!fn)
        return fail(c, "fn", "is required (ratio, rate, quantile or value)");
    if (!fns || (strcmp(fns, "ratio") && strcmp(fns, "rate") && strcmp(fns, "quantile") &&
                 strcmp(fns, "value")))
        return fail(c, "fn", "must be \"ratio\", \"rate\", \"quantile\" or \"value\"");
    r->fn = !strcmp(fns, "ratio")      ? CONSOLE_FN_RATIO
            : !strcmp(fns, "rate")     ? CONSOLE_FN_RATE
            : !strcmp(fns, "quantile") ? CONSOLE_FN_QUANTILE
                                       : CONSOLE_FN_VALUE;
    size_t combos = 1, den_combos = 1;
    if ((rc = get_matchers(c, j, "match", &r->match, &combos)))
        return rc;
    if (json_object_get(j, "denominator_match")) {
        if (r->fn != CONSOLE_FN_RATIO)
            return fail(c, "denominator_match", "is only for fn \"ratio\"");
        if ((rc = get_matchers(c, j, "denominator_match", &r->den_match, &den_combos)))
            return rc;
    }
    if (r->fn == CONSOLE_FN_QUANTILE) {
        if ((rc = get_number(c, j, "q", 0, 1, 1, &r->q)))
            return rc;
        if (combos > 1)
            return fail(c, "match", "values cannot be alternatives \"a|b\" for fn \"quantile\"");
    } else if (json_object_get(j, "q")) {
        return fail(c, "q", "is only for fn \"quantile\"");
    }
    double window = 60, for_s = 0;
    if ((rc = get_number(c, j, "window_s", 1, ALERT_WINDOW_MAX, 0, &window)))
        return rc;
    if (window != floor(window))
        return fail(c, "window_s", "must be a whole number of seconds");
    r->window_s = r->fn == CONSOLE_FN_VALUE ? 0 : (long)window;
    json_t *op = json_object_get(j, "op");
    const char *ops = json_is_string(op) ? json_string_value(op) : NULL;
    if (!op)
        return fail(c, "op", "is required (>, <, >= or <=)");
    if (!ops || (strcmp(ops, ">") && strcmp(ops, "<") && strcmp(ops, ">=") && strcmp(ops, "<=")))
        return fail(c, "op", "must be \">\", \"<\", \">=\" or \"<=\"");
    r->op = !strcmp(ops, ">") ? ALERT_GT : !strcmp(ops, "<") ? ALERT_LT : !strcmp(ops, ">=") ? ALERT_GE : ALERT_LE;
    if ((rc = get_number(c, j, "threshold", -1e300, 1e300, 1, &r->threshold)) ||
        (rc = get_number(c, j, "for_s", 0, ALERT_FOR_MAX, 0, &for_s)))
        return rc;
    if (for_s != floor(for_s))
        return fail(c, "for_s", "must be a whole number of seconds");
    r->for_s = (long)for_s;
    if (!(r->expr = expr_text(r)))
        return SONDE_ENOMEM;
    return SONDE_OK;
}

int alert_rules_parse(const char *text, size_t len, alert_rules *out, char *err, size_t errlen)
{
    if (!out)
        return SONDE_EINVAL;
    memset(out, 0, sizeof *out);
    if (!text)
        return SONDE_EINVAL;
    if (len > ALERT_RULES_FILE_MAX)
        return sonde_internal_errorf(err, errlen, SONDE_ECONFIG,
                                     "alert rules: larger than %d bytes", ALERT_RULES_FILE_MAX);
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return sonde_internal_errorf(err, errlen, SONDE_ECONFIG,
                                     "alert rules: not JSON (line %d, column %d: %s)", je.line,
                                     je.column, je.text);
    int rc = SONDE_OK;
    json_t *rules = json_object_get(root, "rules");
    if (!json_is_object(root) || json_object_size(root) != 1 || !json_is_array(rules)) {
        rc = sonde_internal_errorf(err, errlen, SONDE_ECONFIG,
                                   "alert rules: expected {\"rules\": [ ... ]} and nothing else");
    } else if (json_array_size(rules) > ALERT_RULES_MAX) {
        rc = sonde_internal_errorf(err, errlen, SONDE_ECONFIG, "alert rules: more than %d rules",
                                   ALERT_RULES_MAX);
    } else if (json_array_size(rules) &&
               !(out->v = calloc(json_array_size(rules), sizeof *out->v))) {
        rc = SONDE_ENOMEM;
    }
    for (size_t i = 0; rc == SONDE_OK && i < json_array_size(rules); i++) {
        parse_ctx c = {err, errlen, i, NULL};
        rc = parse_rule(&c, json_array_get(rules, i), &out->v[i]);
        out->n = i + 1;
        for (size_t k = 0; rc == SONDE_OK && k < i; k++)
            if (strcmp(out->v[k].name, out->v[i].name) == 0)
                rc = fail(&c, "name", "repeats the name of rule %zu", k + 1);
    }
    json_decref(root);
    if (rc != SONDE_OK)
        alert_rules_free(out);
    return rc;
}

int alert_rules_load(const char *path, alert_rules *out, char *err, size_t errlen)
{
    if (!out || !path)
        return SONDE_EINVAL;
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return sonde_internal_errorf(err, errlen, SONDE_EIO, "alert rules: cannot open %s: %s", path,
                                     strerror(errno));
    char *text = malloc(ALERT_RULES_FILE_MAX + 1);
    size_t n = text ? fread(text, 1, ALERT_RULES_FILE_MAX + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    if (!text)
        return SONDE_ENOMEM;
    int rc;
    if (bad)
        rc = sonde_internal_errorf(err, errlen, SONDE_EIO, "alert rules: cannot read %s", path);
    else if (n > ALERT_RULES_FILE_MAX)
        rc = sonde_internal_errorf(err, errlen, SONDE_EIO, "alert rules: %s is larger than %d bytes",
                                   path, ALERT_RULES_FILE_MAX);
    else
        rc = alert_rules_parse(text, n, out, err, errlen);
    free(text);
    return rc;
}

/* ---- the defaults --------------------------------------------------------------------- */

/* deploy/rules/thresholds.yml and alerts.yml, as the console evaluates them: over the whole
 * process (no per-model split), windows of 5 minutes like the recording rules' rate5m. */
static const char DEFAULT_RULES[] =
    "{\"rules\": ["
    "{\"name\": \"SondeHighErrorRatio\", \"severity\": \"critical\","
    " \"summary\": \"Too many HTTP requests are answered with a 5xx status\","
    " \"family\": \"http_requests_total\", \"match\": {\"status\": \"500|501|502|503|504|505|507|508|511\"},"
    " \"fn\": \"ratio\", \"window_s\": 300, \"op\": \">\", \"threshold\": 0.05, \"for_s\": 300},"
    "{\"name\": \"SondeLLMHighErrorRatio\", \"severity\": \"critical\","
    " \"summary\": \"Too many provider calls end in error or timeout\","
    " \"family\": \"gateway_provider_calls_total\", \"match\": {\"status\": \"error|timeout\"},"
    " \"fn\": \"ratio\", \"window_s\": 300, \"op\": \">\", \"threshold\": 0.05, \"for_s\": 300},"
    "{\"name\": \"SondeTTFTHigh\", \"severity\": \"warning\","
    " \"summary\": \"The 95th percentile time to first token is over its SLO\","
    " \"family\": \"gen_ai_server_time_to_first_token_seconds\", \"fn\": \"quantile\", \"q\": 0.95,"
    " \"window_s\": 300, \"op\": \">\", \"threshold\": 2, \"for_s\": 600},"
    "{\"name\": \"SondeTPOTHigh\", \"severity\": \"warning\","
    " \"summary\": \"The 95th percentile time per output token is over its SLO\","
    " \"family\": \"gen_ai_server_time_per_output_token_seconds\", \"fn\": \"quantile\", \"q\": 0.95,"
    " \"window_s\": 300, \"op\": \">\", \"threshold\": 0.2, \"for_s\": 600},"
    "{\"name\": \"SondeRateLimitRejectionsSpiking\", \"severity\": \"warning\","
    " \"summary\": \"Many requests are rejected by rate limit\","
    " \"family\": \"gateway_rate_limit_rejections_total\", \"fn\": \"rate\", \"window_s\": 300,"
    " \"op\": \">\", \"threshold\": 1, \"for_s\": 300},"
    "{\"name\": \"SondeGatewayNotReady\", \"severity\": \"critical\","
    " \"summary\": \"The gateway reports not ready: an upstream is unreachable\","
    " \"family\": \"gateway_ready\", \"fn\": \"value\", \"op\": \"<\", \"threshold\": 1,"
    " \"for_s\": 120}"
    "]}";

int alert_rules_defaults(alert_rules *out)
{
    return alert_rules_parse(DEFAULT_RULES, sizeof DEFAULT_RULES - 1, out, NULL, 0);
}
