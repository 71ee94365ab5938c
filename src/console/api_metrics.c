/*
 * api_metrics.c - the metrics endpoints of the console API: status,
 * families, series (current values straight from the registry) and query
 * (history, query.c). docs/console.md is their reference. Every list is
 * capped (truncated: true past the cap), every parameter validated (400).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_internal.h"
#include "query.h"

#define FAMILIES_CAP 1000
#define SERIES_CAP 1000
#define EXEMPLARS_CAP 100
#define RANGE_MAX_S (31L * 86400)

int console_api_status(sonde_console *c, const char *sub, const console_params *p,
                       sonde_server_response *resp)
{
    if (*sub)
        return console_respond_error(resp, 404, "no such API path");
    console_json j = {0};
    cj_raw(&j, "{");
    cj_key(&j, "version");
    cj_str(&j, sonde_version());
    cj_key(&j, "tracing");
    cj_bool(&j, c->tracer != NULL);
    cj_key(&j, "logging");
    cj_bool(&j, c->logger != NULL);
    cj_key(&j, "history");
    cj_raw(&j, "{");
    console_history_lock(c->history);
    size_t series = 0;
    for (size_t i = 0; i < c->history->nfams; i++)
        series += c->history->fams[i]->nseries;
    cj_key(&j, "series");
    cj_u64(&j, series);
    cj_key(&j, "bytes");
    cj_u64(&j, c->history->bytes);
    cj_key(&j, "evicted_total");
    cj_u64(&j, c->history->evicted_total);
    console_history_unlock(c->history);
    cj_key(&j, "max_bytes");
    cj_u64(&j, c->max_bytes);
    cj_key(&j, "interval_s");
    cj_num(&j, (double)c->interval_ms / 1000.0);
    cj_key(&j, "retention_s");
    cj_u64(&j, (uint64_t)c->retention_s);
    cj_raw(&j, "}");
    cj_key(&j, "alertmanager_url");
    cj_str(&j, c->alertmanager_url);
    cj_raw(&j, "}");
    return console_respond_json(resp, 200, &j);
}

/* ---- families ---------------------------------------------------------- */

typedef struct fam_list {
    console_json *j;
    const char *q;
    size_t n;
    int truncated;
    sonde_console *c;
} fam_list;

static int list_family(const sonde_metric *m, void *ud)
{
    fam_list *l = ud;
    const char *name = sonde_metric_name(m);
    if (l->q && !strstr(name, l->q))
        return 0;
    if (l->n == FAMILIES_CAP) {
        l->truncated = 1;
        return 1;
    }
    console_json *j = l->j;
    cj_raw(j, l->n++ ? ",{" : "{");
    cj_key(j, "name");
    cj_str(j, name);
    cj_key(j, "type");
    cj_str(j, sonde_type_name(sonde_metric_type(m)));
    cj_key(j, "help");
    cj_str(j, sonde_metric_help(m));
    cj_key(j, "unit");
    cj_str(j, sonde_metric_unit(m));
    cj_key(j, "labels");
    cj_raw(j, "[");
    for (size_t i = 0; i < sonde_metric_label_count(m); i++) {
        if (i)
            cj_raw(j, ",");
        cj_str(j, sonde_metric_label_name(m, i));
    }
    cj_raw(j, "]");
    cj_key(j, "series");
    cj_u64(j, sonde_metric_child_count(m));
    cj_key(j, "recorded");
    cj_bool(j, console_history_find(l->c->history, name) != NULL);
    cj_raw(j, "}");
    return 0;
}

int console_api_families(sonde_console *c, const char *sub, const console_params *p,
                         sonde_server_response *resp)
{
    if (*sub)
        return console_respond_error(resp, 404, "no such API path");
    console_json j = {0};
    cj_raw(&j, "{\"families\":[");
    fam_list l = {&j, console_param(p, "q"), 0, 0, c};
    if (l.q && !*l.q)
        l.q = NULL;
    console_history_lock(c->history);
    sonde_registry_foreach(c->reg, list_family, &l);
    console_history_unlock(c->history);
    cj_raw(&j, "]");
    cj_key(&j, "truncated");
    cj_bool(&j, l.truncated);
    cj_raw(&j, "}");
    return console_respond_json(resp, 200, &j);
}

/* ---- series ------------------------------------------------------------ */

typedef struct series_list {
    console_json *j;
    size_t n;
    int truncated;
} series_list;

static void write_labels(console_json *j, const char *const *names, const char *const *values,
                         size_t n)
{
    cj_raw(j, "{");
    for (size_t i = 0; i < n; i++) {
        cj_key(j, names[i]);
        cj_str(j, values[i]);
    }
    cj_raw(j, "}");
}

/* One series; the first one also opens the answer with the family's name and type. */
static int list_series(void *ud, const sonde_series_sample *s)
{
    series_list *l = ud;
    console_json *j = l->j;
    if (l->n == 0) {
        cj_raw(j, "{");
        cj_key(j, "family");
        cj_str(j, s->family);
        cj_key(j, "type");
        cj_str(j, sonde_type_name(s->type));
        cj_key(j, "series");
        cj_raw(j, "[");
    }
    if (l->n == SERIES_CAP) {
        l->truncated = 1;
        return 1;
    }
    cj_raw(j, l->n++ ? ",{" : "{");
    cj_key(j, "labels");
    write_labels(j, s->label_names, s->label_values, s->label_count);
    if (s->type == SONDE_HISTOGRAM || s->type == SONDE_SUMMARY) {
        cj_key(j, "count");
        cj_num(j, s->count);
        cj_key(j, "sum");
        cj_num(j, s->sum);
        if (s->buckets) {
            cj_key(j, "buckets");
            cj_raw(j, "[");
            double cum = 0;
            for (size_t b = 0; b < s->bucket_count; b++) {
                cum += s->buckets[b];
                cj_raw(j, b ? ",[" : "[");
                if (b + 1 < s->bucket_count)
                    cj_num(j, s->bounds[b]);
                else
                    cj_str(j, "+Inf");
                cj_raw(j, ",");
                cj_num(j, cum);
                cj_raw(j, "]");
            }
            cj_raw(j, "]");
        }
    } else {
        cj_key(j, "value");
        cj_num(j, s->value);
    }
    cj_raw(j, "}");
    return 0;
}

/* The name and type of a family without series (for the answer's head), under the
 * registry's lock. */
typedef struct fam_head {
    const char *want;
    console_json *j;
    int found;
} fam_head;

static int head_of(const sonde_metric *m, void *ud)
{
    fam_head *h = ud;
    if (strcmp(sonde_metric_name(m), h->want) != 0)
        return 0;
    cj_raw(h->j, "{");
    cj_key(h->j, "family");
    cj_str(h->j, sonde_metric_name(m));
    cj_key(h->j, "type");
    cj_str(h->j, sonde_type_name(sonde_metric_type(m)));
    cj_key(h->j, "series");
    cj_raw(h->j, "[");
    h->found = 1;
    return 1;
}

int console_api_series(sonde_console *c, const char *sub, const console_params *p,
                       sonde_server_response *resp)
{
    if (*sub)
        return console_respond_error(resp, 404, "no such API path");
    const char *family = console_param(p, "family");
    if (!family || !*family)
        return console_respond_error(resp, 400, "parameter family is required");
    console_json j = {0};
    series_list l = {&j, 0, 0};
    int rc = sonde_internal_family_series(c->reg, family, 0, list_series, &l);
    if (rc == SONDE_OK && l.n == 0) { /* no series: the head from the family itself */
        fam_head h = {family, &j, 0};
        size_t n = strlen(family);
        char base[256];
        if (n > 6 && n < sizeof base && strcmp(family + n - 6, "_total") == 0) {
            memcpy(base, family, n - 6); /* "foo_total" finds counter "foo" */
            base[n - 6] = '\0';
            h.want = base;
        }
        sonde_registry_foreach(c->reg, head_of, &h);
        if (!h.found)
            rc = SONDE_ENOENT;
    }
    if (rc) {
        free(j.p);
        return rc == SONDE_ENOENT ? console_respond_error(resp, 404, "no such family") : rc;
    }
    cj_raw(&j, "]");
    cj_key(&j, "truncated");
    cj_bool(&j, l.truncated);
    cj_raw(&j, "}");
    return console_respond_json(resp, 200, &j);
}

/* ---- query ------------------------------------------------------------- */

/* "k=v" matchers (at most 8, label names validated) into q's pairs; 0 or -1 (err set). */
static int parse_matchers(const console_params *p, const char *key, const char *m[8][2],
                          size_t *n, char store[8][256], char *err, size_t errlen)
{
    const char *vals[9];
    size_t k = console_param_all(p, key, vals, 9);
    if (k > 8) {
        snprintf(err, errlen, "at most 8 %s parameters", key);
        return -1;
    }
    for (size_t i = 0; i < k; i++) {
        const char *eq = strchr(vals[i], '=');
        size_t nl = eq ? (size_t)(eq - vals[i]) : 0;
        if (!eq || nl == 0 || nl >= 256) {
            snprintf(err, errlen, "%s must be label=value", key);
            return -1;
        }
        memcpy(store[i], vals[i], nl);
        store[i][nl] = '\0';
        if (!sonde_internal_valid_label_name(store[i])) {
            snprintf(err, errlen, "%s: invalid label name", key);
            return -1;
        }
        m[i][0] = store[i];
        m[i][1] = eq + 1;
    }
    *n = k;
    return 0;
}

static void write_exemplars(console_json *j, const hfamily *f, const console_range *r,
                            const console_query *q, int64_t from_ms)
{
    size_t n = 0;
    for (size_t si = 0; si < f->nseries && n < EXEMPLARS_CAP; si++) {
        const hseries *s = f->list[si];
        if (!s->ex_count || !console_series_matches(f, s, (const char *const(*)[2])q->match, q->nmatch))
            continue;
        for (size_t e = 0; e < s->ex_count && n < EXEMPLARS_CAP; e++) {
            const hexemplar *x = &s->ex[(s->ex_head + HISTORY_EXEMPLARS - 1 - e) % HISTORY_EXEMPLARS];
            if (x->t_ms < from_ms)
                continue;
            char tid[33], sid[17];
            for (size_t b = 0; b < 16; b++)
                snprintf(tid + 2 * b, 3, "%02x", x->ex.trace_id[b]);
            for (size_t b = 0; b < 8; b++)
                snprintf(sid + 2 * b, 3, "%02x", x->ex.span_id[b]);
            cj_raw(j, n++ ? ",{" : "{");
            cj_key(j, "t");
            cj_num(j, (double)(x->ex.unix_ns / 1000000ULL));
            cj_key(j, "value");
            cj_num(j, x->ex.value);
            cj_key(j, "trace_id");
            cj_str(j, tid);
            cj_key(j, "span_id");
            cj_str(j, sid);
            cj_key(j, "labels");
            write_labels(j, (const char *const *)f->label_names, s->values, f->label_count);
            cj_raw(j, "}");
        }
    }
    (void)r;
}

static int fn_from(const char *s, console_fn *fn)
{
    static const struct { const char *name; console_fn fn; } fns[] = {
        {"value", CONSOLE_FN_VALUE}, {"rate", CONSOLE_FN_RATE},
        {"quantile", CONSOLE_FN_QUANTILE}, {"ratio", CONSOLE_FN_RATIO},
        {"heatmap", CONSOLE_FN_HEATMAP},
    };
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (strcmp(s, fns[i].name) == 0) {
            *fn = fns[i].fn;
            return 0;
        }
    return -1;
}

int console_api_query(sonde_console *c, const char *sub, const console_params *p,
                      sonde_server_response *resp)
{
    if (*sub)
        return console_respond_error(resp, 404, "no such API path");
    char err[160] = "";
    console_query q;
    memset(&q, 0, sizeof q);
    char mstore[8][256], dstore[8][256];
    q.family = console_param(p, "family");
    if (!q.family || !*q.family)
        return console_respond_error(resp, 400, "parameter family is required");
    const char *fn = console_param(p, "fn");
    if (fn_from(fn ? fn : "value", &q.fn))
        return console_respond_error(resp, 400,
                                     "fn must be value, rate, quantile, ratio or heatmap");
    const char *qs = console_param(p, "q");
    q.q = 0.95;
    if (qs) {
        char *end = NULL;
        q.q = sonde_internal_strtod(qs, &end);
        if (!*qs || *end || !(q.q >= 0 && q.q <= 1))
            return console_respond_error(resp, 400, "q must be a number in [0, 1]");
    }
    long range_s, window_s;
    if (parse_matchers(p, "match", q.match, &q.nmatch, mstore, err, sizeof err) ||
        parse_matchers(p, "den", q.den_match, &q.nden, dstore, err, sizeof err) ||
        console_param_long(p, "range", 0, RANGE_MAX_S, 3600, &range_s, err, sizeof err) ||
        console_param_long(p, "window", 1, 86400, 60, &window_s, err, sizeof err))
        return console_respond_error(resp, 400, err);
    q.window_s = window_s;
    q.by = console_param(p, "by");
    if (q.by && *q.by && !sonde_internal_valid_label_name(q.by))
        return console_respond_error(resp, 400, "by must be a label name");
    q.per_series = q.by == NULL && q.fn != CONSOLE_FN_RATIO;
    if (q.by && !*q.by)
        q.by = NULL;
    console_history *h = c->history;
    console_history_lock(h);
    hfamily *f = NULL;
    int rc = console_history_watch(h, q.family, (const char *const(*)[2])q.match, q.nmatch, 0, &f);
    if (rc == SONDE_OK && q.fn == CONSOLE_FN_RATIO)
        rc = console_history_watch(h, q.family, (const char *const(*)[2])q.den_match, q.nden, 0, &f);
    console_range r;
    int qrc = rc == SONDE_OK ? console_query_range(h, f, &q, range_s, &r) : rc;
    if (qrc != SONDE_OK) {
        console_history_unlock(h);
        if (qrc == SONDE_ENOENT)
            return console_respond_error(resp, 404, "no such family");
        if (qrc == SONDE_ETYPE)
            return console_respond_error(resp, 400, "this family type has no history");
        if (qrc == SONDE_EINVAL)
            return console_respond_error(resp, 400, "fn does not apply to this family's type");
        if (qrc == SONDE_ELIMIT)
            return console_respond_error(resp, 503, "history full");
        return qrc;
    }
    console_json j = {0};
    cj_raw(&j, "{");
    cj_key(&j, "family");
    cj_str(&j, f->name);
    cj_key(&j, "fn");
    cj_str(&j, fn ? fn : "value");
    cj_key(&j, "step_s");
    cj_num(&j, (double)h->interval_ms / 1000.0);
    if (q.fn == CONSOLE_FN_HEATMAP) {
        cj_key(&j, "buckets");
        cj_raw(&j, "[");
        for (size_t b = 0; b < f->nb; b++) {
            if (b)
                cj_raw(&j, ",");
            if (b + 1 < f->nb)
                cj_num(&j, f->bounds[b]);
            else
                cj_str(&j, "+Inf");
        }
        cj_raw(&j, "]");
    }
    cj_key(&j, "series");
    cj_raw(&j, "[");
    for (size_t l = 0; l < r.nlines; l++) {
        cj_raw(&j, l ? ",{" : "{");
        cj_key(&j, "labels");
        if (q.per_series) {
            write_labels(&j, (const char *const *)f->label_names, r.line_series[l]->values,
                         f->label_count);
        } else if (q.by) {
            const char *v = r.line_label_values[l];
            write_labels(&j, &q.by, &v, 1);
        } else {
            cj_raw(&j, "{}");
        }
        cj_key(&j, "points");
        cj_raw(&j, "[");
        for (size_t i = 0; i < r.npoints; i++) {
            const double *v = r.v + (l * r.npoints + i) * r.width;
            if (r.width == 1) { /* the common point in one piece: [t,v] */
                char pt[80];
                int n = snprintf(pt, 40, "%s[%lld,", i ? "," : "", (long long)r.t[i]);
                if (isfinite(v[0])) {
                    n += (int)sonde_format_double(v[0], pt + n);
                } else {
                    memcpy(pt + n, "null", 4);
                    n += 4;
                }
                pt[n++] = ']';
                pt[n] = '\0';
                cj_raw(&j, pt);
                continue;
            }
            cj_raw(&j, i ? ",[" : "[");
            cj_i64(&j, r.t[i]);
            cj_raw(&j, ",[");
            for (size_t b = 0; b < r.width; b++) {
                if (b)
                    cj_raw(&j, ",");
                cj_num(&j, v[b]);
            }
            cj_raw(&j, "]]");
        }
        cj_raw(&j, "]}");
    }
    cj_raw(&j, "]");
    cj_key(&j, "exemplars");
    cj_raw(&j, "[");
    write_exemplars(&j, f, &r, &q, r.npoints ? r.t[0] : 0);
    cj_raw(&j, "]");
    cj_key(&j, "recording_since");
    cj_num(&j, (double)r.since_ms);
    cj_key(&j, "truncated");
    cj_bool(&j, r.truncated);
    cj_raw(&j, "}");
    console_range_free(&r);
    console_history_unlock(h);
    return console_respond_json(resp, 200, &j);
}
