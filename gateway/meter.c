/*
 * meter.c - everything the gateway measures, in one place, with the metric
 * names of the project's contract (docs/gateway.md lists them).
 *
 * Families are registered once at start; per request the children are found
 * by label values (a hash lookup) and updated lock-free. Three layers:
 * HTTP (every request: count by method/route/status, duration, sizes,
 * in-flight, streaming responses), GenAI (per model call, as the gateway's
 * clients see it: duration, time to first token and per output token for
 * streams, token usage) and the gateway's service families (provider calls
 * by status, latency, tokens, cost from the price table, streams and calls
 * in flight, tool calls, rate-limit rejections, upstream errors and health,
 * per-key usage under the key's configured name).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

static sonde_metric *http_requests, *http_duration, *http_req_size, *http_resp_size;
static sonde_gauge *http_in_flight, *http_streaming;
static sonde_metric *ai_duration, *ai_ttft, *ai_tpot, *ai_tokens;
static sonde_metric *calls_total, *latency, *tokens_total, *cost_total, *streams_in_flight,
    *calls_in_flight, *tool_calls, *rl_rejections, *up_errors, *up_up, *key_requests, *key_tokens;
static sonde_gauge *ready_gauge;

typedef struct http_meter {
    char method[12];
    const char *route;
    uint64_t start_ns;
} http_meter;

static int reg(sonde_type type, const char *name, const char *help, const char *const *labels,
               size_t n, sonde_buckets b, sonde_metric **out)
{
    sonde_metric_opts o = {.type = type, .name = name, .help = help, .label_names = labels,
                           .label_count = n, .buckets = b};
    int rc = sonde_register(gw_registry, &o, out);
    if (rc != SONDE_OK) fprintf(stderr, "sonde-gateway: cannot register %s: %s\n", name,
                                sonde_strerror(rc));
    return rc;
}

#define L(...) (const char *const[]){__VA_ARGS__}, sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *)

int gw_meter_init(sonde_registry *r, const gw_config *cfg)
{
    const sonde_config *sc = sonde_registry_config(r);
    sonde_buckets none = {NULL, 0};
    sonde_metric *m;
    int rc = 0;
    rc |= reg(SONDE_COUNTER, "http_requests_total", "HTTP requests answered.",
              L("method", "route", "status"), none, &http_requests);
    rc |= reg(SONDE_HISTOGRAM, "http_request_duration_seconds", "HTTP request duration.",
              L("method", "route"), sc->latency_buckets, &http_duration);
    rc |= reg(SONDE_HISTOGRAM, "http_request_size_bytes", "HTTP request body size.",
              L("method", "route"), sc->size_buckets, &http_req_size);
    rc |= reg(SONDE_HISTOGRAM, "http_response_size_bytes", "HTTP response body size.",
              L("method", "route"), sc->size_buckets, &http_resp_size);
    rc |= reg(SONDE_GAUGE, "http_requests_in_flight", "HTTP requests being served.", NULL, 0,
              none, &m);
    http_in_flight = sonde_gauge_of(m);
    rc |= reg(SONDE_GAUGE, "http_responses_streaming", "HTTP responses still streaming.", NULL, 0,
              none, &m);
    http_streaming = sonde_gauge_of(m);

#define AI "gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", \
           "gen_ai_response_model", "server_address", "server_port"
    rc |= reg(SONDE_HISTOGRAM, "gen_ai_server_request_duration_seconds",
              "GenAI server request duration.", L(AI, "error_type"), SONDE_BUCKETS_LLM_DURATION,
              &ai_duration);
    rc |= reg(SONDE_HISTOGRAM, "gen_ai_server_time_to_first_token_seconds",
              "Time to generate the first token, successful streamed responses.", L(AI),
              SONDE_BUCKETS_LLM_TTFT, &ai_ttft);
    rc |= reg(SONDE_HISTOGRAM, "gen_ai_server_time_per_output_token_seconds",
              "Time per output token after the first, successful streamed responses.", L(AI),
              SONDE_BUCKETS_LLM_TPOT, &ai_tpot);
    rc |= reg(SONDE_HISTOGRAM, "gen_ai_client_token_usage", "Tokens used per call.",
              L(AI, "gen_ai_token_type"), SONDE_BUCKETS_LLM_TOKENS, &ai_tokens);
#undef AI
    rc |= reg(SONDE_COUNTER, "gateway_provider_calls_total", "Upstream calls by outcome.",
              L("provider", "model", "status"), none, &calls_total);
    rc |= reg(SONDE_HISTOGRAM, "gateway_provider_latency_seconds", "Upstream call duration.",
              L("provider", "model"), SONDE_BUCKETS_LLM_DURATION, &latency);
    rc |= reg(SONDE_COUNTER, "gateway_tokens_total", "Tokens by model and type.",
              L("provider", "model", "type"), none, &tokens_total);
    rc |= reg(SONDE_COUNTER, "gateway_cost_total", "Cost from the configured price table.",
              L("provider", "model", "currency"), none, &cost_total);
    rc |= reg(SONDE_GAUGE, "gateway_streams_in_flight", "Streamed answers in progress.",
              L("provider"), none, &streams_in_flight);
    rc |= reg(SONDE_GAUGE, "gateway_calls_in_flight", "Upstream calls in progress.",
              L("provider"), none, &calls_in_flight);
    rc |= reg(SONDE_COUNTER, "gateway_tool_calls_total", "Tool calls the models asked for.",
              L("model", "tool"), none, &tool_calls);
    rc |= reg(SONDE_COUNTER, "gateway_rate_limit_rejections_total", "Requests refused by a rate limit.",
              L("reason"), none, &rl_rejections);
    rc |= reg(SONDE_COUNTER, "gateway_upstream_errors_total", "Upstream failures by type.",
              L("upstream", "type"), none, &up_errors);
    rc |= reg(SONDE_GAUGE, "gateway_upstream_up", "1 when the upstream is reachable.",
              L("upstream"), none, &up_up);
    rc |= reg(SONDE_COUNTER, "gateway_key_requests_total", "Requests authenticated per key name.",
              L("key"), none, &key_requests);
    rc |= reg(SONDE_COUNTER, "gateway_key_tokens_total", "Tokens used per key name.",
              L("key", "type"), none, &key_tokens);
    rc |= reg(SONDE_GAUGE, "gateway_ready", "1 when every upstream is reachable.", NULL, 0, none, &m);
    ready_gauge = sonde_gauge_of(m);
    if (rc) return -1;
    for (size_t i = 0; i < cfg->nups; i++) {
        gw_meter_upstream_up(cfg->ups[i], atomic_load(&cfg->ups[i]->up));
        sonde_gauge_set(sonde_gauge_with(streams_in_flight, (const char *[]){cfg->ups[i]->provider}), 0);
        sonde_gauge_set(sonde_gauge_with(calls_in_flight, (const char *[]){cfg->ups[i]->provider}), 0);
    }
    return 0;
}

/* ---- HTTP ------------------------------------------------------------- */

void *gw_meter_http_begin(const char *method, const char *route)
{
    http_meter *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    static const char *const known[] = {"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS",
                                        "PATCH", NULL};
    const char *m = "other";
    for (const char *const *k = known; *k; k++)
        if (strcmp(*k, method) == 0) m = *k;
    snprintf(h->method, sizeof h->method, "%s", m);
    h->route = route;
    h->start_ns = sonde_now_ns();
    sonde_gauge_inc(http_in_flight);
    return h;
}

void gw_meter_http_streaming(void *hv, int on)
{
    if (on) sonde_gauge_inc(http_streaming);
    else sonde_gauge_dec(http_streaming);
}

void gw_meter_http_end(void *hv, unsigned status, size_t req_bytes, size_t resp_bytes)
{
    http_meter *h = hv;
    if (!h) return;
    char st[8];
    snprintf(st, sizeof st, "%u", status);
    const char *ml[] = {h->method, h->route};
    sonde_counter_inc(sonde_counter_with(http_requests, (const char *[]){h->method, h->route, st}));
    sonde_histogram_observe(sonde_histogram_with(http_duration, ml),
                            (double)(sonde_now_ns() - h->start_ns) / 1e9);
    sonde_histogram_observe(sonde_histogram_with(http_req_size, ml), (double)req_bytes);
    sonde_histogram_observe(sonde_histogram_with(http_resp_size, ml), (double)resp_bytes);
    sonde_gauge_dec(http_in_flight);
    free(h);
}

/* ---- LLM calls ----------------------------------------------------------- */

static const char *op_name(gw_op op)
{
    return op == GW_OP_CHAT ? "chat" : op == GW_OP_COMPLETION ? "text_completion" : "embeddings";
}

void gw_meter_call_begin(gw_call *c)
{
    const char *p[] = {c->model->up->provider};
    sonde_gauge_inc(sonde_gauge_with(calls_in_flight, p));
    if (c->stream) sonde_gauge_inc(sonde_gauge_with(streams_in_flight, p));
}

void gw_meter_call_first_token(gw_call *c)
{
    if (!c->first_ns) c->first_ns = sonde_now_ns();
}

void gw_meter_call_tool(gw_call *c, const char *tool)
{
    sonde_counter_inc(sonde_counter_with(tool_calls, (const char *[]){c->model_name, tool}));
}

void gw_meter_call_end(gw_call *c, const char *status, const char *error_type)
{
    const gw_upstream *u = c->model->up;
    const char *provider = u->provider, *model = c->model_name;
    double secs = (double)(sonde_now_ns() - c->start_ns) / 1e9;
    char port[8] = "";
    if (u->port) snprintf(port, sizeof port, "%d", u->port);
    const char *ai[] = {op_name(c->op), provider, model, model, u->host ? u->host : "", port,
                        error_type ? error_type : ""};
    sonde_gauge_dec(sonde_gauge_with(calls_in_flight, &provider));
    if (c->stream) sonde_gauge_dec(sonde_gauge_with(streams_in_flight, &provider));
    sonde_counter_inc(sonde_counter_with(calls_total, (const char *[]){provider, model, status}));
    sonde_histogram_observe(sonde_histogram_with(latency, (const char *[]){provider, model}), secs);
    if (strcmp(status, "cancelled") != 0)
        sonde_histogram_observe(sonde_histogram_with(ai_duration, ai), secs);
    int ok = strcmp(status, "ok") == 0;
    if (ok && c->stream && c->first_ns) {
        double ttft = (double)(c->first_ns - c->start_ns) / 1e9;
        sonde_histogram_observe(sonde_histogram_with(ai_ttft, ai), ttft);
        if (c->output_tokens > 1)
            sonde_histogram_observe(sonde_histogram_with(ai_tpot, ai),
                                    (secs - ttft) / (double)(c->output_tokens - 1));
    }
    if (!c->usage_known && !ok) return; /* no tokens were consumed that anyone reported */
    const char *in[] = {provider, model, "input"}, *out[] = {provider, model, "output"};
    sonde_counter_add(sonde_counter_with(tokens_total, in), (double)c->input_tokens);
    sonde_counter_add(sonde_counter_with(tokens_total, out), (double)c->output_tokens);
    if (ok) {
        const char *ti[] = {ai[0], ai[1], ai[2], ai[3], ai[4], ai[5], "input"};
        const char *to[] = {ai[0], ai[1], ai[2], ai[3], ai[4], ai[5], "output"};
        sonde_histogram_observe(sonde_histogram_with(ai_tokens, ti), (double)c->input_tokens);
        if (c->op != GW_OP_EMBEDDINGS)
            sonde_histogram_observe(sonde_histogram_with(ai_tokens, to), (double)c->output_tokens);
    }
    double cost = ((double)c->input_tokens * c->model->price_input +
                   (double)c->output_tokens * c->model->price_output) / 1e6;
    sonde_counter_add(sonde_counter_with(cost_total,
                                         (const char *[]){provider, model, c->model->currency}), cost);
    if (c->key) {
        sonde_counter_add(sonde_counter_with(key_tokens, (const char *[]){c->key->name, "input"}),
                          (double)c->input_tokens);
        sonde_counter_add(sonde_counter_with(key_tokens, (const char *[]){c->key->name, "output"}),
                          (double)c->output_tokens);
    }
}

/* ---- gateway ------------------------------------------------------------- */

void gw_meter_rate_limited(const gw_call *c, const char *reason)
{
    sonde_counter_inc(sonde_counter_with(rl_rejections, &reason));
    sonde_counter_inc(sonde_counter_with(calls_total, (const char *[]){c->model->up->provider,
                                                       c->model_name, "rate_limited"}));
}

void gw_meter_key_request(const gw_key *k)
{
    sonde_counter_inc(sonde_counter_with(key_requests, (const char *const *)&k->name));
}

void gw_meter_upstream_error(const gw_upstream *u, const char *type)
{
    sonde_counter_inc(sonde_counter_with(up_errors, (const char *[]){u->name, type}));
}

void gw_meter_upstream_up(const gw_upstream *u, int up)
{
    sonde_gauge_set(sonde_gauge_with(up_up, (const char *const *)&u->name), up);
}

void gw_meter_ready(int ready)
{
    sonde_gauge_set(ready_gauge, ready);
}
