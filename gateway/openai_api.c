/*
 * openai_api.c - the OpenAI routes: which path and method, who is asking
 * (API key), is the body acceptable, may they (rate limit), which model and
 * upstream; then an upstream call is started and the request waits for it.
 *
 * Checks run in the order a client can act on: unknown path 404, wrong
 * method 405, missing/unknown key 401, body too large 413, malformed JSON or
 * fields 400 (validate.c, naming the field in "param"), unknown model 404,
 * n > 1 for a simulated model 400, rate limit or spent daily budget 429 (with
 * Retry-After; limits.c, local or shared through Redis). Every
 * refusal uses the OpenAI error shape {"error":{"message","type","code",
 * "param"}}; request fields echoed in a message are cut (gw_echo). A model is
 * one the configuration lists, or any name when default_upstream passes
 * unlisted ones on (its label is then "_other", the upstream gets the name). JSON is parsed by jansson, which also rejects invalid UTF-8;
 * nesting deeper than max_json_depth is refused after parsing.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "gateway.h"

static int depth_of(const json_t *j, int limit)
{
    if (limit < 0) return 1;
    int d = 0;
    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v) {
            int x = depth_of(v, limit - 1);
            if (x > d) d = x;
        }
        return d + 1;
    }
    if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) {
            int x = depth_of(v, limit - 1);
            if (x > d) d = x;
        }
        return d + 1;
    }
    return 0;
}

static void list_models(const gw_config *cfg, gw_req *r, const char *one)
{
    json_t *data = json_array();
    long created = (long)time(NULL);
    for (size_t i = 0; i < cfg->nmodels; i++) {
        const gw_model *m = &cfg->models[i];
        if (one && strcmp(one, m->name) != 0) continue;
        json_t *o = json_pack("{s:s, s:s, s:i, s:s}", "id", m->name, "object", "model", "created",
                              (json_int_t)created, "owned_by", m->up->name);
        if (one) {
            json_decref(data);
            gw_reply_json(r, 200, gw_json_dumps(o), -1);
            json_decref(o);
            return;
        }
        json_array_append_new(data, o);
    }
    if (one) {
        gw_echo_buf e;
        json_decref(data);
        gw_reply_error(r, 404, "invalid_request_error", "model_not_found",
                       -1, "The model '%s' does not exist", gw_echo(one, &e));
        return;
    }
    json_t *list = json_pack("{s:s, s:o}", "object", "list", "data", data);
    gw_reply_json(r, 200, gw_json_dumps(list), -1);
    json_decref(list);
}

/* A call its key's limits or budgets refused: 429 with OpenAI's code (rate_limit_* for the
 * per-minute limits, insufficient_quota for a spent budget), or 503 when the shared limits
 * cannot be checked and the gateway fails closed. */
static void refuse(gw_call *c, gw_req *r, const gw_key *key, gw_admit a, double retry)
{
    const char *why = gw_admit_reason(a);
    int after = (int)ceil(retry);
    if (a == GW_ADMIT_UNAVAILABLE) {
        gw_reply_error(r, 503, "server_error", why, after,
                       "The gateway cannot check the limits of key '%s' now; retry in %d s",
                       key->name, after);
        return;
    }
    gw_meter_rate_limited(c, why);
    if (a == GW_ADMIT_DAILY_TOKENS || a == GW_ADMIT_DAILY_COST) {
        gw_reply_error(r, 429, "insufficient_quota", "insufficient_quota", after,
                       "You exceeded the daily %s budget of key '%s'; it resets at 00:00 UTC "
                       "(in %d s)", a == GW_ADMIT_DAILY_TOKENS ? "token" : "cost", key->name,
                       after);
        return;
    }
    gw_reply_error(r, 429, "rate_limit_exceeded",
                   a == GW_ADMIT_TOKENS ? "rate_limit_tokens" : "rate_limit_requests", after,
                   "Rate limit reached for key '%s' (%s); retry in %.1f s", key->name, why, retry);
}

json_t *gw_parse_body(const gw_config *cfg, gw_req *r, const char *body, size_t len)
{
    json_error_t je;
    json_t *b = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!b) {
        gw_reply_error(r, 400, "invalid_request_error", "invalid_json", -1,
                       "We could not parse the JSON body of your request: %s (at byte %d)",
                       je.text, je.position);
        return NULL;
    }
    const char *bad = NULL;
    if (!json_is_object(b)) bad = "the request body must be a JSON object";
    else if (depth_of(b, cfg->max_depth) > cfg->max_depth) bad = "the JSON is nested too deeply";
    if (bad) {
        gw_reply_error(r, 400, "invalid_request_error", "invalid_request", -1, "%s", bad);
        json_decref(b);
        return NULL;
    }
    return b;
}

void gw_openai_handle(gateway *gw, gw_req *r, const char *method, const char *url,
                      const char *body, size_t len, int too_large, const char *auth)
{
    const gw_config *cfg = gw->cfg;
    gw_op op = GW_OP_CHAT;
    int is_models = 0, is_responses = 0;
    const char *one = NULL;
    if (strcmp(url, "/v1/responses") == 0 || strncmp(url, "/v1/responses/", 14) == 0)
        is_responses = 1;
    else if (strcmp(url, "/v1/chat/completions") == 0) op = GW_OP_CHAT;
    else if (strcmp(url, "/v1/completions") == 0) op = GW_OP_COMPLETION;
    else if (strcmp(url, "/v1/embeddings") == 0) op = GW_OP_EMBEDDINGS;
    else if (strcmp(url, "/v1/models") == 0) is_models = 1;
    else if (strncmp(url, "/v1/models/", 11) == 0 && url[11]) is_models = 1, one = url + 11;
    else {
        gw_echo_buf em, eu;
        gw_reply_error(r, 404, "invalid_request_error", "unknown_url", -1,
                       "Unknown request URL: %s %s", gw_echo(method, &em), gw_echo(url, &eu));
        return;
    }
    if (!is_responses && strcmp(method, is_models ? "GET" : "POST") != 0) {
        gw_echo_buf em, eu;
        gw_reply_error(r, 405, "invalid_request_error", "method_not_allowed", -1,
                       "Method %s is not allowed on %s", gw_echo(method, &em), gw_echo(url, &eu));
        return;
    }
    const gw_key *key = NULL;
    if (cfg->nkeys > 0) {
        if (!auth || !*auth) {
            gw_reply_error(r, 401, "invalid_request_error", "missing_api_key", -1,
                           "You didn't provide an API key (Authorization: Bearer <key>)");
            return;
        }
        key = gw_key_find(cfg, auth);
        if (!key) {
            gw_reply_error(r, 401, "invalid_request_error", "invalid_api_key", -1,
                           "Incorrect API key provided");
            return;
        }
        gw_meter_key_request(&gw->meter, key);
        gw_req_note(r, NULL, key, -1, -1);
    }
    if (is_models) {
        list_models(cfg, r, one);
        return;
    }
    if (too_large) {
        gw_reply_error(r, 413, "invalid_request_error", "request_too_large", -1,
                       "The request body exceeds %zu bytes", cfg->max_body);
        return;
    }
    if (is_responses) {
        gw_responses_handle(gw, r, method, url, body, len, key);
        return;
    }
    json_t *b = gw_parse_body(cfg, r, body, len);
    if (!b) return;
    gw_fields f;
    gw_invalid inv;
    if (gw_validate(b, op, &f, &inv) != 0) {
        gw_reply_invalid(r, inv.param, "%s", inv.msg);
        json_decref(b);
        return;
    }
    if (op == GW_OP_CHAT && gw_agent_wanted(b)) { /* MCP tools: the agent loop (agent.c) */
        gw_agent_chat(gw, r, key, b);
        return;
    }
    gw_call_start(gw, r, key, b, op, &f);
}

/* The error rate a client asks of the simulated upstream for its call (header
 * X-Sonde-Sim-Error-Rate, a number in [0, 1]: tests and demos raise and lower the error
 * rate while the gateway runs); < 0 when absent or not such a number (the configured rate
 * then). It only steers the sim, never a real upstream. */
static double sim_error_rate(gw_req *r)
{
    const char *h = gw_req_header(r, "X-Sonde-Sim-Error-Rate");
    char *end;
    double v = h ? strtod(h, &end) : -1; /* "." in any locale: the gateway never sets one */
    return h && end != h && !*end && v >= 0 && v <= 1 ? v : -1;
}

int gw_call_start(gateway *gw, gw_req *r, const gw_key *key, json_t *b, gw_op op,
                  const gw_fields *fp)
{
    const gw_config *cfg = gw->cfg;
    gw_fields f = *fp;
    gw_call *c = calloc(1, sizeof *c);
    if (!c) {
        json_decref(b);
        gw_reply_error(r, 500, "server_error", NULL, -1, "out of memory");
        return -1;
    }
    c->model_name = strdup(json_string_value(json_object_get(b, "model")));
    gw_req_note(r, json_string_value(json_object_get(b, "model")), NULL, -1, -1);
    c->model = gw_config_model(cfg, c->model_name, &c->model_tmp);
    if (!c->model || !c->model_name) {
        gw_echo_buf e;
        gw_reply_error(r, 404, "invalid_request_error", "model_not_found", -1,
                       "The model '%s' does not exist",
                       gw_echo(json_string_value(json_object_get(b, "model")), &e));
        json_decref(b);
        free(c->model_name);
        free(c);
        return -1;
    }
    if (c->model == &c->model_tmp) /* point the borrowed name at our own copy */
        c->model_tmp.upstream_model = c->model_name;
    if (f.n > 1 && c->model->up->kind == GW_UP_SIM) {
        gw_echo_buf e;
        gw_reply_invalid(r, "n", "Invalid 'n': the simulated model '%s' answers with one choice; "
                         "'n' must be 1", gw_echo(c->model_name, &e));
        json_decref(b);
        free(c->model_name);
        free(c);
        return -1;
    }
    c->gw = gw;
    gw_req_trace_context(r, &c->trace); /* the parent of the call's GenAI span */
    c->op = op;
    c->body = b;
    c->key = key;
    c->stream = json_is_true(json_object_get(b, "stream"));
    c->include_usage = json_is_true(json_object_get(json_object_get(b, "stream_options"),
                                                    "include_usage"));
    c->max_tokens = f.max_tokens;
    c->input_tokens = gw_estimate_tokens(b, op);
    c->start_ns = gw_now_ns();
    c->sim_error_rate = sim_error_rate(r);
    if (key) {
        double retry = 0;
        gw_admit a = gw_limits_admit(gw->limits, (gw_key *)key, (double)c->input_tokens, &retry);
        if (a != GW_ADMIT_OK) {
            refuse(c, r, key, a, retry);
            json_decref(b);
            free(c->model_name);
            free(c);
            return -1;
        }
    }
    gw_req_ref(r);
    c->req = r;
    gw_meter_call_begin(c);
    int rc = gw_route_start(c);
    if (rc != 0) {
        gw_call_finish(c, SONDE_LLM_ERROR, "_OTHER");
        gw_reply_error(r, 500, "server_error", NULL, -1, "could not start the upstream call");
        gw_call_free(c);
        return -1;
    }
    return 0;
}
