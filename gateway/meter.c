/*
 * meter.c - the glue between the gateway and libsonde's instrumentation.
 *
 * HTTP requests go through the HTTP middleware (sonde/http.h: http_* without
 * prefix); every model call runs a GenAI call tracker (sonde/llm.h, prefix
 * "gateway": the gen_ai_* families and gateway_provider_calls_total,
 * _latency_seconds, _tokens_total, _cost_total from the config's price
 * table, _streams_in_flight, _calls_in_flight, _rate_limit_rejections_total,
 * _finish_reasons_total). Streamed chunks are reported as they are sent, so
 * time to first token and per output token are what the gateway's client
 * sees. With a tracer, the middleware opens each request's SERVER span and
 * the tracker each call's GenAI CLIENT span ("chat <model>", gen_ai.*
 * attributes) as the request span's child; the call's upstream attempts
 * (upstream_proxy.c) are children of that. Only what those modules do not
 * know is registered here, the gateway's own families: upstream errors by
 * type, upstream health, the rate limits upstreams report (x-ratelimit-* headers:
 * limit, remaining and reset per kind, and their 429s), readiness, per-key requests and tokens (under the
 * key's configured name, never its secret), the tool calls models ask for,
 * the requests the gateway refused itself (by error code), the values
 * recorded as "_other", each key's cost and configured daily budgets, and
 * the shared limit backend's state and fallbacks (limits.c). All of
 * it lives in the gateway's gw_meter, registered on the registry the gateway
 * is given. Every label value is bounded: models, tools and finish reasons go
 * through labels.c, the rest are the configuration's names or constants.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

static int reg(sonde_registry *r, sonde_type type, const char *name, const char *help,
               const char *const *labels, size_t n, sonde_metric **out)
{
    sonde_metric_opts o = {.type = type, .name = name, .help = help, .label_names = labels,
                           .label_count = n};
    int rc = sonde_register(r, &o, out);
    if (rc != SONDE_OK)
        fprintf(stderr, "sonde-gateway: cannot register %s: %s\n", name, sonde_strerror(rc));
    return rc;
}

#define L(...) (const char *const[]){__VA_ARGS__}, \
               sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *)

int gw_meter_init(gw_meter *mt, sonde_registry *r, const gw_config *cfg, sonde_tracer *tracer)
{
    int rc;
    memset(mt, 0, sizeof *mt);
    sonde_http_opts ho = {.registry = r, .tracer = tracer};
    if ((rc = sonde_http_new(&ho, &mt->http)) != SONDE_OK) {
        fprintf(stderr, "sonde-gateway: HTTP middleware: %s\n", sonde_strerror(rc));
        return -1;
    }
    sonde_llm_prices *prices = NULL;
    if (sonde_llm_prices_new(&prices) != SONDE_OK) return -1;
    for (size_t i = 0; i < cfg->nmodels; i++) {
        const gw_model *m = &cfg->models[i];
        if ((m->price_input > 0 || m->price_output > 0) &&
            (rc = sonde_llm_prices_add(prices, m->name, m->price_input, m->price_output,
                                       m->currency)) != SONDE_OK) {
            fprintf(stderr, "sonde-gateway: price of %s: %s\n", m->name, sonde_strerror(rc));
            sonde_llm_prices_free(prices);
            return -1;
        }
    }
    sonde_llm_opts lo = {.prefix = "gateway",
                         .native_histograms = 1, /* native buckets for Prometheus, classic kept */
                         .prices = sonde_llm_prices_count(prices) ? prices : NULL,
                         .tracer = tracer};
    rc = sonde_llm_new(r, &lo, &mt->llm);
    sonde_llm_prices_free(prices);
    if (rc != SONDE_OK) {
        fprintf(stderr, "sonde-gateway: GenAI instrumentation: %s\n", sonde_strerror(rc));
        return -1;
    }
    sonde_metric *m;
    rc = 0;
    rc |= reg(r, SONDE_COUNTER, "gateway_tool_calls_total", "Tool calls the models asked for.",
              L("model", "tool"), &mt->tool_calls);
    rc |= reg(r, SONDE_COUNTER, "gateway_upstream_errors_total", "Upstream failures by type.",
              L("upstream", "type"), &mt->up_errors);
    rc |= reg(r, SONDE_GAUGE, "gateway_upstream_up",
              "1 when the upstream is reachable (sim: always).", L("upstream"), &mt->up_up);
    rc |= reg(r, SONDE_COUNTER, "gateway_key_requests_total",
              "Requests authenticated per key name.", L("key"), &mt->key_requests);
    rc |= reg(r, SONDE_COUNTER, "gateway_key_tokens_total", "Tokens used per key name.",
              L("key", "type"), &mt->key_tokens);
    rc |= reg(r, SONDE_COUNTER, "gateway_unlisted_values_total",
              "Request or upstream values not in the configuration (or a closed set), recorded "
              "as _other, by label.", L("label"), &mt->unlisted);
    rc |= reg(r, SONDE_COUNTER, "gateway_refusals_total",
              "Requests the gateway refused itself (4xx), by OpenAI error code.", L("code"),
              &mt->refusals);
    rc |= reg(r, SONDE_GAUGE, "gateway_upstream_ratelimit_limit",
              "Rate limit the upstream last reported (x-ratelimit-limit-*), by kind (requests, "
              "tokens).", L("upstream", "kind"), &mt->up_rl[GW_RL_LIMIT]);
    rc |= reg(r, SONDE_GAUGE, "gateway_upstream_ratelimit_remaining",
              "What the upstream last reported left of its rate limit "
              "(x-ratelimit-remaining-*), by kind (requests, tokens).", L("upstream", "kind"),
              &mt->up_rl[GW_RL_REMAINING]);
    rc |= reg(r, SONDE_GAUGE, "gateway_upstream_ratelimit_reset_seconds",
              "Seconds until the upstream's rate limit resets, as last reported "
              "(x-ratelimit-reset-*), by kind (requests, tokens).", L("upstream", "kind"),
              &mt->up_rl[GW_RL_RESET]);
    rc |= reg(r, SONDE_COUNTER, "gateway_upstream_rate_limited_total",
              "Answers 429 (rate limited) from the upstream, retried ones included.",
              L("upstream"), &mt->up_rate_limited);
    rc |= reg(r, SONDE_GAUGE, "gateway_ready", "1 when every upstream is reachable.", NULL, 0, &m);
    mt->ready = sonde_gauge_of(m);
    rc |= reg(r, SONDE_COUNTER, "gateway_key_cost_total",
              "Cost of the calls per key name, from the configured model prices.",
              L("key", "currency"), &mt->key_cost);
    rc |= reg(r, SONDE_GAUGE, "gateway_key_daily_token_budget",
              "Tokens (input and output) a key may use per UTC day; keys with a budget only.",
              L("key"), &mt->key_budget_tokens);
    rc |= reg(r, SONDE_GAUGE, "gateway_key_daily_cost_budget",
              "Money a key may spend per UTC day; keys with a budget only.", L("key", "currency"),
              &mt->key_budget_cost);
    rc |= reg(r, SONDE_COUNTER, "gateway_limit_backend_fallbacks_total",
              "Limit checks and charges that could not use the shared backend (Redis), by reason "
              "(backoff, unreachable, timeout, error).", L("reason"), &mt->limit_fallbacks);
    rc |= reg(r, SONDE_GAUGE, "gateway_limit_backend_up",
              "1 while the shared limit backend (Redis) answers; 0 when it does not or none is "
              "configured.", NULL, 0, &m);
    mt->limit_backend_up = sonde_gauge_of(m);
    rc |= reg(r, SONDE_COUNTER, "gateway_route_attempts_total",
              "Attempts of routed calls by model, deployment and outcome (ok, connect, timeout, "
              "rate_limited, http_5xx, http_4xx, auth, protocol, cancelled, error).",
              L("model", "deployment", "outcome"), &mt->route_attempts);
    rc |= reg(r, SONDE_COUNTER, "gateway_route_fallbacks_total",
              "Calls passed to a fallback model once every deployment of a model failed.",
              L("from", "to"), &mt->route_fallbacks);
    rc |= reg(r, SONDE_GAUGE, "gateway_route_breaker_state",
              "Circuit breaker of each deployment: 0 closed, 1 open, 2 half-open.",
              L("model", "deployment"), &mt->breaker_state);
    rc |= reg(r, SONDE_COUNTER, "gateway_route_breaker_transitions_total",
              "Circuit breaker state changes by the state entered.",
              L("model", "deployment", "state"), &mt->breaker_transitions);
    if (rc) {
        gw_meter_free(mt);
        return -1;
    }
    for (size_t i = 0; i < cfg->nups; i++) {
        gw_meter_upstream_up(mt, cfg->ups[i], atomic_load(&cfg->ups[i]->up));
        sonde_counter_with(mt->up_rate_limited, (const char *const *)&cfg->ups[i]->name);
    }
    for (size_t i = 0; i < cfg->nmodels; i++)
        for (size_t j = 0; j < cfg->models[i].ndeps; j++)
            gw_meter_breaker(mt, &cfg->models[i], &cfg->models[i].deps[j], GW_BREAKER_CLOSED, 0);
    for (size_t i = 0; i < cfg->nkeys; i++) {
        const char *k = cfg->keys[i].name;
        sonde_counter_with(mt->key_requests, &k);
        sonde_counter_with(mt->key_tokens, (const char *[]){k, "input"});
        sonde_counter_with(mt->key_tokens, (const char *[]){k, "output"});
        const gw_key *key = &cfg->keys[i];
        if (key->daily_tokens > 0)
            sonde_gauge_set(sonde_gauge_with(mt->key_budget_tokens, &k), key->daily_tokens);
        if (key->daily_cost > 0)
            sonde_gauge_set(sonde_gauge_with(mt->key_budget_cost,
                                             (const char *[]){k, key->budget_currency}),
                            key->daily_cost);
    }
    return 0;
}

void gw_meter_free(gw_meter *mt)
{
    sonde_llm_free(mt->llm);
    sonde_http_free(mt->http);
    memset(mt, 0, sizeof *mt);
}

/* ---- model calls --------------------------------------------------------- */

static const char *op_name(gw_op op)
{
    return op == GW_OP_CHAT ? "chat" : op == GW_OP_COMPLETION ? "text_completion" : "embeddings";
}

void gw_meter_call_begin(gw_call *c)
{
    const gw_upstream *u = c->model->up;
    if (strcmp(c->model->name, GW_OTHER) == 0) gw_meter_unlisted(&c->gw->meter, "model");
    sonde_llm_request rq = {.operation = op_name(c->op), .provider = u->provider,
                            .model = c->model->name, .server_address = u->host,
                            .server_port = u->port, .streaming = c->stream,
                            .parent = &c->trace};
    sonde_llm_call_begin(c->gw->meter.llm, &c->track, &rq);
    /* the call's upstream attempts are children of its GenAI span */
    sonde_span *span = sonde_llm_call_span(&c->track);
    if (span) sonde_span_get_context(span, &c->trace);
}

void gw_meter_call_chunk(gw_call *c, unsigned tokens)
{
    sonde_llm_call_tokens(&c->track, tokens);
}

void gw_meter_call_tool(gw_call *c, const char *tool)
{
    gw_meter *m = &c->gw->meter;
    const char *label = gw_label_tool(m, c->gw->cfg, tool);
    sonde_counter_inc(sonde_counter_with(m->tool_calls, (const char *[]){c->model->name, label}));
}

void gw_meter_call_end(gw_call *c, sonde_llm_status status, const char *error_type)
{
    /* what the upstream reported, mapped to bounded labels */
    gw_meter *m = &c->gw->meter;
    sonde_llm_result res = {.status = status, .error_type = error_type,
                            .response_model = gw_label_model(m, c->gw->cfg, c->model,
                                                             c->resp_model),
                            .input_tokens = c->input_tokens,
                            .output_tokens = c->op == GW_OP_EMBEDDINGS ? -1 : c->output_tokens,
                            .finish_reason = gw_label_finish(m, c->finish),
                            .response_id = c->resp_id[0] ? c->resp_id : NULL};
    int ok = status == SONDE_LLM_OK;
    if (!ok && !c->usage_known) { /* nothing reported: only what was streamed counts */
        res.input_tokens = c->output_tokens > 0 ? c->input_tokens : -1;
    }
    sonde_llm_call_end(&c->track, &res);
    if (c->key && (ok || c->output_tokens > 0)) {
        sonde_metric *kt = c->gw->meter.key_tokens;
        sonde_counter_add(sonde_counter_with(kt, (const char *[]){c->key->name, "input"}),
                          (double)c->input_tokens);
        sonde_counter_add(sonde_counter_with(kt, (const char *[]){c->key->name, "output"}),
                          (double)c->output_tokens);
    }
}

void gw_meter_rate_limited(gw_call *c, const char *reason)
{
    sonde_llm_rate_limited(c->gw->meter.llm, reason);
    gw_meter_call_begin(c);
    sonde_llm_result res = {.status = SONDE_LLM_RATE_LIMITED, .error_type = reason,
                            .input_tokens = -1, .output_tokens = -1};
    sonde_llm_call_end(&c->track, &res);
}

/* ---- the gateway's own --------------------------------------------------- */

void gw_meter_key_request(gw_meter *m, const gw_key *k)
{
    sonde_counter_inc(sonde_counter_with(m->key_requests, (const char *const *)&k->name));
}

void gw_meter_upstream_error(gw_meter *m, const gw_upstream *u, const char *type)
{
    sonde_counter_inc(sonde_counter_with(m->up_errors, (const char *[]){u->name, type}));
}

void gw_meter_upstream_up(gw_meter *m, const gw_upstream *u, int up)
{
    sonde_gauge_set(sonde_gauge_with(m->up_up, (const char *const *)&u->name), up);
}

void gw_meter_upstream_ratelimit(gw_meter *m, const gw_upstream *u, const gw_ratelimit *rl)
{
    for (int k = 0; k < GW_RL_KINDS; k++)
        for (int f = 0; f < GW_RL_FIELDS; f++)
            if (gw_ratelimit_has(rl, k, f))
                sonde_gauge_set(sonde_gauge_with(m->up_rl[f], (const char *[]){
                                                     u->name, gw_ratelimit_kind_name(k)}),
                                rl->value[k][f]);
}

void gw_meter_upstream_rate_limited(gw_meter *m, const gw_upstream *u)
{
    sonde_counter_inc(sonde_counter_with(m->up_rate_limited, (const char *const *)&u->name));
}

void gw_meter_ready(gw_meter *m, int ready)
{
    sonde_gauge_set(m->ready, ready);
}

void gw_meter_unlisted(gw_meter *m, const char *label)
{
    sonde_counter_inc(sonde_counter_with(m->unlisted, &label));
}

void gw_meter_refusal(gw_meter *m, const char *code)
{
    sonde_counter_inc(sonde_counter_with(m->refusals, &code));
}

void gw_meter_key_cost(gw_meter *m, const gw_key *k, const char *currency, double cost)
{
    sonde_counter_add(sonde_counter_with(m->key_cost, (const char *[]){k->name, currency}), cost);
}

void gw_meter_limit_fallback(gw_meter *m, const char *reason)
{
    sonde_counter_inc(sonde_counter_with(m->limit_fallbacks, &reason));
}

void gw_meter_limit_backend_up(gw_meter *m, int up)
{
    sonde_gauge_set(m->limit_backend_up, up);
}

/* ---- routing (route.c) ----------------------------------------------------- */

void gw_meter_route_attempt(gw_meter *m, const gw_model *model, const gw_deployment *d,
                            const char *outcome)
{
    sonde_counter_inc(sonde_counter_with(m->route_attempts,
                                         (const char *[]){model->name, d->name, outcome}));
}

void gw_meter_route_fallback(gw_meter *m, const gw_model *from, const gw_model *to)
{
    sonde_counter_inc(sonde_counter_with(m->route_fallbacks, (const char *[]){from->name, to->name}));
}

void gw_meter_breaker(gw_meter *m, const gw_model *model, const gw_deployment *d, int state,
                      int transition)
{
    sonde_gauge_set(sonde_gauge_with(m->breaker_state, (const char *[]){model->name, d->name}), state);
    if (transition)
        sonde_counter_inc(sonde_counter_with(m->breaker_transitions,
                                             (const char *[]){model->name, d->name,
                                                              gw_breaker_name(state)}));
}
