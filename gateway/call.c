/*
 * call.c - what every upstream call shares, whatever the upstream: ending it
 * exactly once (metering, charging the key's limits and budgets with its
 * tokens and its cost at the model's configured prices, noting the tokens
 * for the request's access-log line, releasing the request), freeing it, its
 * id, and the input-token estimate. Upstreams end a call before they release
 * its answer (reply or end of stream): a client may send its next request,
 * or scrape, the moment it has the answer, and must then meet the charged
 * bucket and the counted call.
 *
 * The estimate (one token per 4 bytes of text, at least one per text) is
 * what the simulator reports as prompt_tokens and what the tokens-per-minute
 * limit checks before a call; real upstreams report their own usage, which
 * replaces it for metering.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

void gw_call_finish(gw_call *c, sonde_llm_status status, const char *error_type)
{
    if (atomic_exchange(&c->finished, 1)) return;
    gw_route_attempt_end(c, status, error_type);
    gw_meter_call_end(c, status, error_type);
    /* charged as metered: a call that failed or was cancelled before any output and
     * without a usage report used nothing (its input is only an estimate) */
    int used = status == SONDE_LLM_OK || c->usage_known || c->output_tokens > 0;
    if (c->key && used) {
        const gw_model *m = c->model;
        double cost = ((double)c->input_tokens * m->price_input +
                       (double)c->output_tokens * m->price_output) / 1e6;
        gw_limits_charge(c->gw->limits, (gw_key *)c->key,
                         (double)(c->input_tokens + c->output_tokens), cost, m->currency);
    }
    gw_req_note(c->req, NULL, NULL, used ? c->input_tokens : -1, used ? c->output_tokens : -1);
}

void gw_call_free(gw_call *c)
{
    json_decref(c->body);
    free(c->model_name);
    gw_req_unref(c->req);
    free(c);
}

void gw_call_id(const gw_call *c, char *buf, size_t len)
{
    snprintf(buf, len, "%s-%016llx", c->op == GW_OP_CHAT ? "chatcmpl" : "cmpl",
             (unsigned long long)(c->start_ns ^ (uintptr_t)c));
}

static long text_tokens(const json_t *v)
{
    if (json_is_string(v)) {
        long n = (long)((json_string_length(v) + 3) / 4);
        return n > 0 ? n : 1;
    }
    if (json_is_array(v)) { /* array of strings, of content parts, or of token ids */
        long n = 0;
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
            if (json_is_integer(e)) n += 1;
            else if (json_is_object(e)) n += text_tokens(json_object_get(e, "text"));
            else n += text_tokens(e);
        }
        return n;
    }
    return 0;
}

long gw_estimate_tokens(const json_t *body, gw_op op)
{
    long n = 0;
    if (op == GW_OP_CHAT) {
        size_t i;
        json_t *m;
        json_array_foreach(json_object_get(body, "messages"), i, m)
            n += text_tokens(json_object_get(m, "content"));
    } else {
        n = text_tokens(json_object_get(body, op == GW_OP_COMPLETION ? "prompt" : "input"));
    }
    return n > 0 ? n : 1;
}
