/*
 * api_overview.c - /console/api/overview: the LLM service's numbers over the
 * last minute of history, and the list of families the overview records
 * (console.c watches them from creation and at every sample).
 *
 * The LLM module's service families carry the host's prefix
 * ("gateway_provider_calls_total"), so they are found by suffix: a family
 * named exactly like the entry or ending in "_" + the entry.
 *   requests_per_second      rate of provider_calls (all outcomes)
 *   error_ratio              1 - rate(provider_calls{status="ok"}) / rate(provider_calls)
 *   ttft, tpot               p50/p95/p99 of gen_ai_server_time_to_first_token_seconds and
 *                            gen_ai_server_time_per_output_token_seconds (else the client's
 *                            time to first chunk / per output chunk)
 *   tokens_per_second        rate of tokens by model and type
 *   cost_per_hour            rate of cost x 3600 (all currencies summed)
 *   streams_in_flight, calls_in_flight   the gauges, summed
 *   rate_limit_rejections_per_second     rate of rate_limit_rejections
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "console_internal.h"
#include "query.h"

static const char *const overview_names[] = {
    "provider_calls", "tokens", "cost", "streams_in_flight", "calls_in_flight",
    "rate_limit_rejections",
    "gen_ai_server_time_to_first_token_seconds", "gen_ai_server_time_per_output_token_seconds",
    "gen_ai_client_time_to_first_chunk_seconds", "gen_ai_client_time_per_output_chunk_seconds",
    "gen_ai_server_request_duration_seconds", "gen_ai_client_operation_duration_seconds",
    "gen_ai_client_token_usage",
    "http_requests", "http_request_duration_seconds",
};
#define OVERVIEW_COUNT (sizeof overview_names / sizeof overview_names[0])

/* Which overview entry family name is, or -1. */
static int overview_index(const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < OVERVIEW_COUNT; i++) {
        size_t k = strlen(overview_names[i]);
        if (n == k ? strcmp(name, overview_names[i]) == 0
                   : n > k && name[n - k - 1] == '_' && strcmp(name + n - k, overview_names[i]) == 0)
            return (int)i;
    }
    return -1;
}

typedef struct name_list {
    char (*names)[256];
    size_t n, cap;
    const char *const *extra;
    size_t extra_count;
} name_list;

static int collect(const sonde_metric *m, void *ud)
{
    name_list *l = ud;
    const char *name = sonde_metric_name(m);
    int take = overview_index(name) >= 0;
    for (size_t i = 0; i < l->extra_count && !take; i++)
        take = strcmp(l->extra[i], name) == 0;
    if (take && l->n < l->cap && strlen(name) < 256)
        strcpy(l->names[l->n++], name);
    return 0;
}

void console_watch_pinned(sonde_console *c)
{
    enum { CAP = 64 + 256 };
    name_list l = {malloc(CAP * sizeof *l.names), 0, CAP, (const char *const *)c->families,
                   c->family_count};
    if (!l.names)
        return;
    sonde_registry_foreach(c->reg, collect, &l);
    console_history_lock(c->history);
    for (size_t i = 0; i < l.n; i++) {
        hfamily *f = console_history_find(c->history, l.names[i]);
        if (!f)
            console_history_watch(c->history, l.names[i], NULL, 0, 1, NULL);
    }
    console_history_unlock(c->history);
    free(l.names);
}

/* The recorded family of overview entry idx (the first found), or NULL. */
static hfamily *entry_family(console_history *h, size_t idx)
{
    for (size_t i = 0; i < h->nfams; i++)
        if (overview_index(h->fams[i]->name) == (int)idx)
            return h->fams[i];
    return NULL;
}

enum { E_CALLS, E_TOKENS, E_COST, E_STREAMS, E_IN_FLIGHT, E_RATE_LIMIT, E_TTFT, E_TPOT,
       E_TTFC, E_TPOC };

/* The latest point of a sum over all of f's series matching one optional label. */
static double latest(console_history *h, hfamily *f, console_fn fn, const char *label,
                     const char *value, double q)
{
    if (!f)
        return NAN;
    console_query cq;
    memset(&cq, 0, sizeof cq);
    cq.family = f->name;
    cq.fn = fn;
    cq.q = q;
    cq.window_s = 60;
    if (label) {
        cq.match[0][0] = label;
        cq.match[0][1] = value;
        cq.nmatch = 1;
    }
    console_range r;
    double v = NAN;
    if (console_query_range(h, f, &cq, 0, &r) == SONDE_OK) {
        if (r.nlines && r.npoints)
            v = r.v[r.npoints - 1];
        console_range_free(&r);
    }
    return v;
}

static void touch(console_history *h, hfamily *f)
{
    if (f)
        console_history_watch(h, f->name, NULL, 0, 1, NULL);
}

static void quantiles(console_json *j, const char *key, console_history *h, hfamily *f)
{
    static const double qs[] = {0.5, 0.95, 0.99};
    static const char *const names[] = {"p50", "p95", "p99"};
    cj_key(j, key);
    cj_raw(j, "{");
    for (size_t i = 0; i < 3; i++) {
        cj_key(j, names[i]);
        cj_num(j, latest(h, f, CONSOLE_FN_QUANTILE, NULL, NULL, qs[i]));
    }
    cj_raw(j, "}");
}

/* tokens_per_second: one entry per (model, type) of the tokens family, capped. */
static void tokens_by_model(console_json *j, console_history *h, hfamily *f)
{
    cj_key(j, "tokens_per_second");
    cj_raw(j, "[");
    if (!f) {
        cj_raw(j, "]");
        return;
    }
    console_query cq;
    memset(&cq, 0, sizeof cq);
    cq.family = f->name;
    cq.fn = CONSOLE_FN_RATE;
    cq.window_s = 60;
    cq.per_series = 1;
    console_range r;
    if (console_query_range(h, f, &cq, 0, &r) != SONDE_OK) {
        cj_raw(j, "]");
        return;
    }
    size_t im = SIZE_MAX, it = SIZE_MAX, n = 0;
    for (size_t i = 0; i < f->label_count; i++) {
        if (strcmp(f->label_names[i], "model") == 0)
            im = i;
        if (strcmp(f->label_names[i], "type") == 0)
            it = i;
    }
    /* sum the series' rates of each (model, type), in the order first seen */
    for (size_t l = 0; l < r.nlines && r.npoints; l++) {
        const hseries *s = r.line_series[l];
        const char *model = im < f->label_count ? s->values[im] : "";
        const char *type = it < f->label_count ? s->values[it] : "";
        int seen = 0;
        for (size_t k = 0; k < l && !seen; k++) {
            const hseries *o = r.line_series[k];
            seen = (im >= f->label_count || strcmp(o->values[im], model) == 0) &&
                   (it >= f->label_count || strcmp(o->values[it], type) == 0);
        }
        if (seen)
            continue;
        double sum = NAN;
        for (size_t k = l; k < r.nlines; k++) {
            const hseries *o = r.line_series[k];
            if ((im >= f->label_count || strcmp(o->values[im], model) == 0) &&
                (it >= f->label_count || strcmp(o->values[it], type) == 0)) {
                double v = r.v[k * r.npoints + r.npoints - 1];
                if (!isnan(v))
                    sum = isnan(sum) ? v : sum + v;
            }
        }
        cj_raw(j, n++ ? ",{" : "{");
        cj_key(j, "model");
        cj_str(j, model);
        cj_key(j, "type");
        cj_str(j, type);
        cj_key(j, "value");
        cj_num(j, sum);
        cj_raw(j, "}");
    }
    console_range_free(&r);
    cj_raw(j, "]");
}

int console_api_overview(sonde_console *c, const char *sub, const console_params *p,
                         sonde_server_response *resp)
{
    if (*sub)
        return console_respond_error(resp, 404, "no such API path");
    console_watch_pinned(c);
    console_history *h = c->history;
    console_json j = {0};
    console_history_lock(h);
    hfamily *fam[OVERVIEW_COUNT];
    for (size_t i = 0; i < OVERVIEW_COUNT; i++) {
        fam[i] = entry_family(h, i);
        touch(h, fam[i]); /* viewed now: kept first under the memory bound */
    }
    cj_raw(&j, "{");
    cj_key(&j, "t");
    cj_num(&j, floor(sonde_wall_seconds() * 1000.0));
    double total = latest(h, fam[E_CALLS], CONSOLE_FN_RATE, NULL, NULL, 0);
    double ok = latest(h, fam[E_CALLS], CONSOLE_FN_RATE, "status", "ok", 0);
    cj_key(&j, "requests_per_second");
    cj_num(&j, total);
    cj_key(&j, "error_ratio");
    cj_num(&j, total > 0 ? 1.0 - (isnan(ok) ? 0 : ok) / total : (total == 0 ? 0 : NAN));
    quantiles(&j, "ttft", h, fam[E_TTFT] ? fam[E_TTFT] : fam[E_TTFC]);
    quantiles(&j, "tpot", h, fam[E_TPOT] ? fam[E_TPOT] : fam[E_TPOC]);
    tokens_by_model(&j, h, fam[E_TOKENS]);
    cj_key(&j, "cost_per_hour");
    cj_num(&j, latest(h, fam[E_COST], CONSOLE_FN_RATE, NULL, NULL, 0) * 3600.0);
    cj_key(&j, "streams_in_flight");
    cj_num(&j, latest(h, fam[E_STREAMS], CONSOLE_FN_VALUE, NULL, NULL, 0));
    cj_key(&j, "calls_in_flight");
    cj_num(&j, latest(h, fam[E_IN_FLIGHT], CONSOLE_FN_VALUE, NULL, NULL, 0));
    cj_key(&j, "rate_limit_rejections_per_second");
    cj_num(&j, latest(h, fam[E_RATE_LIMIT], CONSOLE_FN_RATE, NULL, NULL, 0));
    cj_key(&j, "families");
    cj_raw(&j, "[");
    size_t n = 0;
    for (size_t i = 0; i < OVERVIEW_COUNT; i++)
        if (fam[i]) {
            cj_raw(&j, n++ ? "," : "");
            cj_str(&j, fam[i]->name);
        }
    cj_raw(&j, "]}");
    console_history_unlock(h);
    return console_respond_json(resp, 200, &j);
}
