/*
 * upstream_sim.c - the built-in simulated model, so the gateway runs with
 * nothing else installed and tests know exactly what to expect.
 *
 * Each call is a small state machine driven by timer.c: no thread ever
 * sleeps. A call first draws its fate: an upstream error (after the time to
 * first token, answered 502; the error rate is configured, or the client's
 * X-Sonde-Sim-Error-Rate header for its call), a stall (answered 504 after the upstream's
 * timeout), or an answer. A streamed answer starts at once with the role
 * chunk, sends its first token after ttft_ms and every further one after
 * inter_token_ms (each wait +- jitter_ms), then the finish chunk, the usage
 * chunk when asked for, and [DONE]. A whole answer is sent when the last
 * token would have been. Output length is output_tokens, capped by
 * max_tokens (finish_reason "length"). prompt_tokens is the estimate of
 * call.c. Requests with tools get a call of the first tool (or the one
 * tool_choice names) whose arguments are streamed in 4-byte fragments, one
 * output token each. Tests and the agent loop steer it deterministically
 * (sim_script): a chat whose last message is a tool result answers text that
 * quotes every trailing tool result ("Tool results: a | b"); a last user
 * message with lines "@tool NAME {json arguments}" calls exactly those tools
 * (several lines: parallel calls in one answer; a streamed answer carries the
 * first). At every step the call checks whether the client is gone and, if
 * so, ends as cancelled. A whole answer (or a refusal) with nothing to wait
 * for (ttft, inter-token and jitter 0) to a caller that only waits for it
 * (the agent loop's model calls, gw_req_answer_here) is answered on the
 * calling thread, as the JSON value it was built as (gw_reply_value, never
 * dumped and parsed again): the timer's hand-off there and back would be
 * most of its cost. Other callers keep the timer thread, which lets a client's thread
 * answer at once while the answering thread goes on (the Responses API
 * stores the response after answering).
 *
 * With ratelimit_requests and/or ratelimit_tokens the sim is rate limited as
 * OpenAI is, in fixed windows of ratelimit_window_ms: each call takes one
 * request and its tokens (prompt estimate plus the answer's length) from the
 * upstream's window (gw_sim_window), and every answer carries
 * x-ratelimit-{limit,remaining,reset}-{requests,tokens}; a call the window
 * cannot admit is answered 429 at once with the same headers and a
 * Retry-After. The gateway records what its sim reported exactly as the proxy
 * does for a real upstream (gateway_upstream_ratelimit_*,
 * gateway_upstream_rate_limited_total), so a gateway in front of a sim
 * gateway sees the same numbers as the sim gateway itself.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway.h"

enum { SIM_ANSWER, SIM_ERROR, SIM_STALL, SIM_LIMITED };

typedef struct sim {
    gw_call *c;
    const gw_sim_opts *o;
    int fate, tool;
    long n_out, sent;
    char id[64];
    long created;
    char *tool_name, *args; /* tool calls only */
    json_t *calls;          /* "@tool" calls: [{name, arguments}] (whole answers) */
    char *text;             /* the answer's text when it quotes tool results */
    const char *finish;
    double reset_s;         /* SIM_LIMITED: until the window ends */
    const char *limited;    /* SIM_LIMITED: the kind spent ("requests", "tokens") */
    int here;               /* answered on the caller's thread (gw_req_answer_here) */
} sim;

static const char *const words[] = {"sonde ", "measures ", "every ", "token ", "that ",
    "flows ", "through ", "the ", "gateway ", "in ", "real ", "time. "};
#define NWORDS (sizeof words / sizeof *words)

static double rnd(void)
{
    static _Thread_local uint64_t s;
    if (!s) s = gw_now_ns() ^ (uint64_t)(uintptr_t)&s ^ 0x9e3779b97f4a7c15ull;
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return (double)(s >> 11) / 9007199254740992.0;
}

static uint64_t wait_ns(double ms, double jitter_ms)
{
    double v = ms + (jitter_ms > 0 ? (rnd() * 2 - 1) * jitter_ms : 0);
    return v > 0 ? (uint64_t)(v * 1e6) : 0;
}

static void sim_free(sim *s)
{
    gw_call_free(s->c);
    free(s->tool_name);
    free(s->args);
    json_decref(s->calls);
    free(s->text);
    free(s);
}

#define SIM_SCRIPT_MAX 16 /* "@tool" lines honoured per message */

/* The trailing tool results as "Tool results: a | b"; NULL when the last message is not one. */
static char *quote_tool_results(const json_t *msgs)
{
    size_t n = json_array_size(msgs), first = n;
    while (first > 0) {
        const char *role = json_string_value(json_object_get(json_array_get(msgs, first - 1), "role"));
        if (!role || strcmp(role, "tool") != 0) break;
        first--;
    }
    if (first == n) return NULL;
    size_t cap = 16;
    for (size_t i = first; i < n; i++) {
        const char *t = json_string_value(json_object_get(json_array_get(msgs, i), "content"));
        cap += (t ? strlen(t) : 0) + 3;
    }
    char *out = malloc(cap), *o = out;
    if (!out) return NULL;
    o += sprintf(o, "Tool results: ");
    for (size_t i = first; i < n; i++) {
        const char *t = json_string_value(json_object_get(json_array_get(msgs, i), "content"));
        o += sprintf(o, "%s%s", i > first ? " | " : "", t ? t : "");
    }
    return out;
}

/* The "@tool NAME {json}" lines of the last message when it is the user's: [{name,
 * arguments}], NULL when there are none. */
static json_t *script_calls(const json_t *msgs)
{
    json_t *last = json_array_get(msgs, json_array_size(msgs) - 1);
    const char *role = json_string_value(json_object_get(last, "role"));
    const char *text = json_string_value(json_object_get(last, "content"));
    if (!role || strcmp(role, "user") != 0 || !text) return NULL;
    json_t *calls = json_array();
    for (const char *l = text; l && *l && json_array_size(calls) < SIM_SCRIPT_MAX;) {
        const char *end = strchr(l, '\n');
        size_t len = end ? (size_t)(end - l) : strlen(l);
        if (len > 6 && strncmp(l, "@tool ", 6) == 0) {
            const char *name = l + 6, *sp = memchr(name, ' ', len - 6);
            size_t nl = sp ? (size_t)(sp - name) : len - 6;
            json_t *args = sp ? json_loadb(sp + 1, len - (size_t)(sp + 1 - l), 0, NULL) : json_object();
            if (nl > 0 && nl <= 64 && json_is_object(args)) {
                char *a = json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS);
                json_array_append_new(calls, json_pack("{s:s%, s:s}", "name", name, nl,
                                                       "arguments", a ? a : "{}"));
                free(a);
            }
            json_decref(args);
        }
        l = end ? end + 1 : NULL;
    }
    if (json_array_size(calls) == 0) {
        json_decref(calls);
        return NULL;
    }
    return calls;
}

static json_t *usage_json(const gw_call *c)
{
    return json_pack("{s:I, s:I, s:I}", "prompt_tokens", (json_int_t)c->input_tokens,
                     "completion_tokens", (json_int_t)c->output_tokens, "total_tokens",
                     (json_int_t)(c->input_tokens + c->output_tokens));
}

/* The tool to call: tool_choice's function, else the first tool; NULL = none. */
static int pick_tool(sim *s)
{
    json_t *b = s->c->body;
    json_t *tools = json_object_get(b, "tools");
    json_t *choice = json_object_get(b, "tool_choice");
    if (s->c->op != GW_OP_CHAT || json_array_size(tools) == 0) return 0;
    if (json_is_string(choice) && strcmp(json_string_value(choice), "none") == 0) return 0;
    json_t *msgs = json_object_get(b, "messages");
    if ((s->text = quote_tool_results(msgs))) {
        s->n_out = (long)((strlen(s->text) + 3) / 4);
        return 0;
    }
    if ((s->calls = script_calls(msgs))) {
        json_t *first = json_array_get(s->calls, 0);
        s->tool_name = strdup(json_string_value(json_object_get(first, "name")));
        s->args = strdup(json_string_value(json_object_get(first, "arguments")));
        if (!s->args || !s->tool_name) return 0;
        s->n_out = (long)((strlen(s->args) + 3) / 4);
        return 1;
    }
    json_t *fn = json_object_get(json_array_get(tools, 0), "function");
    const char *want = json_string_value(json_object_get(json_object_get(choice, "function"), "name"));
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) {
        json_t *f = json_object_get(t, "function");
        if (want && strcmp(want, json_string_value(json_object_get(f, "name"))) == 0) fn = f;
    }
    /* arguments: each required parameter (else the first property) set to "sim" */
    json_t *params = json_object_get(fn, "parameters");
    json_t *args = json_object();
    size_t k;
    json_t *req;
    json_array_foreach(json_object_get(params, "required"), k, req)
        if (json_is_string(req)) json_object_set_new(args, json_string_value(req), json_string("sim"));
    if (json_object_size(args) == 0) {
        void *it = json_object_iter(json_object_get(params, "properties"));
        json_object_set_new(args, it ? json_object_iter_key(it) : "input", json_string("sim"));
    }
    s->args = json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(args);
    s->tool_name = strdup(json_string_value(json_object_get(fn, "name")));
    if (!s->args || !s->tool_name) return 0;
    s->n_out = (long)((strlen(s->args) + 3) / 4);
    return 1;
}

static json_t *chunk_base(sim *s)
{
    const char *obj = s->c->op == GW_OP_CHAT ? "chat.completion.chunk" : "text_completion";
    return json_pack("{s:s, s:s, s:I, s:s, s:n}", "id", s->id, "object", obj, "created",
                     (json_int_t)s->created, "model", s->c->model_name, "system_fingerprint");
}

/* One streamed chunk with choice delta/text; finish may be NULL. */
static int send_chunk(sim *s, json_t *delta, const char *text, const char *finish)
{
    json_t *ch = chunk_base(s);
    json_t *choice = json_pack("{s:i, s:n, s:o}", "index", 0, "logprobs", "finish_reason",
                               finish ? json_string(finish) : json_null());
    if (delta) json_object_set_new(choice, "delta", delta);
    else json_object_set_new(choice, "text", json_string(text ? text : ""));
    json_object_set_new(ch, "choices", json_pack("[o]", choice));
    int rc = gw_stream_event(s->c->req, ch);
    json_decref(ch);
    return rc;
}

/* The next output token as a delta (chat) or text (completion); advances s->sent. */
static int send_token(sim *s)
{
    long i = s->sent++;
    if (s->tool) {
        size_t off = (size_t)i * 4;
        char frag[5] = {0};
        memcpy(frag, s->args + off, strlen(s->args + off) < 4 ? strlen(s->args + off) : 4);
        json_t *call = json_pack("{s:i, s:{s:s}}", "index", 0, "function", "arguments", frag);
        if (i == 0) {
            char cid[48];
            snprintf(cid, sizeof cid, "call_%s", s->id + 9);
            json_object_set_new(call, "id", json_string(cid));
            json_object_set_new(call, "type", json_string("function"));
            json_object_set_new(json_object_get(call, "function"), "name", json_string(s->tool_name));
        }
        return send_chunk(s, json_pack("{s:[o]}", "tool_calls", call), NULL, NULL);
    }
    const char *w = words[i % NWORDS];
    char frag[5] = {0};
    if (s->text) { /* quoted tool results, in 4-byte fragments */
        size_t off = (size_t)i * 4, left = strlen(s->text + off);
        memcpy(frag, s->text + off, left < 4 ? left : 4);
        w = frag;
    }
    if (s->c->op == GW_OP_CHAT) return send_chunk(s, json_pack("{s:s}", "content", w), NULL, NULL);
    return send_chunk(s, NULL, w, NULL);
}

static char *whole_text(const sim *s)
{
    size_t cap = (size_t)s->n_out * 12 + 1, len = 0;
    char *t = malloc(cap);
    if (!t) return NULL;
    for (long i = 0; i < s->n_out; i++) {
        size_t n = strlen(words[i % NWORDS]);
        memcpy(t + len, words[i % NWORDS], n);
        len += n;
    }
    t[len] = 0;
    return t;
}

/* encoding_format "base64": the vector as little-endian float32, base64 (what
 * the official clients ask for by default). */
static json_t *base64_floats(const float *v, int n)
{
    char *b64 = sonde_base64(v, (size_t)n * sizeof *v);
    json_t *j = b64 ? json_string(b64) : NULL;
    free(b64);
    return j;
}

static void reply_whole(sim *s)
{
    gw_call *c = s->c;
    json_t *resp;
    if (c->op == GW_OP_EMBEDDINGS) {
        json_t *data = json_array();
        json_t *in = json_object_get(c->body, "input");
        size_t n = json_is_array(in) ? json_array_size(in) : 1;
        const char *fmt = json_string_value(json_object_get(c->body, "encoding_format"));
        int b64 = fmt && strcmp(fmt, "base64") == 0;
        for (size_t i = 0; i < n; i++) {
            int dims = s->o->embedding_dims;
            float *v = malloc((size_t)dims * sizeof *v);
            if (!v) break;
            double norm = 0;
            for (int d = 0; d < dims; d++) {
                v[d] = (float)sin((double)(d + 1) * (double)(i + 1) + (double)c->input_tokens);
                norm += (double)v[d] * v[d];
            }
            norm = sqrt(norm > 0 ? norm : 1);
            for (int d = 0; d < dims; d++) v[d] = (float)(v[d] / norm);
            json_t *vec;
            if (b64) vec = base64_floats(v, dims);
            else {
                vec = json_array();
                for (int d = 0; d < dims; d++) json_array_append_new(vec, json_real(v[d]));
            }
            free(v);
            json_array_append_new(data, json_pack("{s:s, s:I, s:o}", "object", "embedding", "index",
                                                  (json_int_t)i, "embedding", vec));
        }
        resp = json_pack("{s:s, s:o, s:s, s:{s:I, s:I}}", "object", "list", "data", data, "model",
                         c->model_name, "usage", "prompt_tokens", (json_int_t)c->input_tokens,
                         "total_tokens", (json_int_t)c->input_tokens);
    } else {
        json_t *choice;
        if (c->op == GW_OP_CHAT) {
            json_t *msg;
            if (s->tool && s->calls) {
                json_t *tc = json_array();
                size_t i;
                json_t *call;
                json_array_foreach(s->calls, i, call) {
                    char cid[64];
                    snprintf(cid, sizeof cid, "call_%s_%zu", s->id + 9, i);
                    json_array_append_new(tc, json_pack("{s:s, s:s, s:{s:O, s:O}}", "id", cid,
                                                        "type", "function", "function", "name",
                                                        json_object_get(call, "name"), "arguments",
                                                        json_object_get(call, "arguments")));
                }
                msg = json_pack("{s:s, s:n, s:o}", "role", "assistant", "content", "tool_calls", tc);
            } else if (s->tool) {
                char cid[48];
                snprintf(cid, sizeof cid, "call_%s", s->id + 9);
                msg = json_pack("{s:s, s:n, s:[{s:s, s:s, s:{s:s, s:s}}]}", "role", "assistant",
                                "content", "tool_calls", "id", cid, "type", "function", "function",
                                "name", s->tool_name, "arguments", s->args);
            } else {
                char *t = s->text ? strdup(s->text) : whole_text(s);
                msg = json_pack("{s:s, s:s, s:n}", "role", "assistant", "content", t ? t : "",
                                "refusal");
                free(t);
            }
            choice = json_pack("{s:i, s:o, s:n, s:s}", "index", 0, "message", msg, "logprobs",
                               "finish_reason", s->finish);
        } else {
            char *t = whole_text(s);
            choice = json_pack("{s:i, s:s, s:n, s:s}", "index", 0, "text", t ? t : "", "logprobs",
                               "finish_reason", s->finish);
            free(t);
        }
        resp = chunk_base(s);
        json_object_set_new(resp, "object",
                            json_string(c->op == GW_OP_CHAT ? "chat.completion" : "text_completion"));
        json_object_set_new(resp, "choices", json_pack("[o]", choice));
        json_object_set_new(resp, "usage", usage_json(c));
    }
    if (s->here) { /* the caller takes the value as it is: this thread is its own */
        gw_reply_value(c->req, 200, resp);
        return;
    }
    gw_reply_json(c->req, 200, gw_json_dumps(resp), -1);
    json_decref(resp);
}

static void add_count_header(gw_req *r, const char *name, double v)
{
    char b[32];
    snprintf(b, sizeof b, "%.0f", v);
    gw_reply_header(r, name, b);
}

/* Take the call from the sim's rate-limit window: 1 when the window cannot admit it
 * (s->reset_s says for how long), 0 when admitted or the sim has no limits. The answer
 * carries the headers either way, and the gateway's meters record them. */
static int take_window(sim *s)
{
    gw_call *c = s->c;
    gw_upstream *u = c->model->up;
    const gw_sim_opts *o = s->o;
    if (o->ratelimit_requests <= 0 && o->ratelimit_tokens <= 0) return 0;
    double need = (double)c->input_tokens + (c->op == GW_OP_EMBEDDINGS ? 0 : (double)s->n_out);
    uint64_t now = gw_now_ns(), window = (uint64_t)o->ratelimit_window_ms * 1000000u;
    gw_sim_window *w = &u->sim_window;
    gw_ratelimit rl = {0};
    pthread_mutex_lock(&w->mu);
    if (!w->start_ns || now - w->start_ns >= window) {
        w->start_ns = now;
        w->requests = 0;
        w->tokens = 0;
    }
    int limited = (o->ratelimit_requests > 0 && w->requests >= o->ratelimit_requests) ||
                  (o->ratelimit_tokens > 0 && w->tokens + need > (double)o->ratelimit_tokens);
    if (limited)
        s->limited = o->ratelimit_requests > 0 && w->requests >= o->ratelimit_requests ? "requests"
                                                                                       : "tokens";
    else {
        w->requests++;
        w->tokens += need;
    }
    s->reset_s = (double)(w->start_ns + window - now) / 1e9;
    const double used[GW_RL_KINDS] = {(double)w->requests, w->tokens};
    pthread_mutex_unlock(&w->mu);
    const long limit[GW_RL_KINDS] = {o->ratelimit_requests, o->ratelimit_tokens};
    for (int k = 0; k < GW_RL_KINDS; k++) {
        if (limit[k] <= 0) continue;
        rl.value[k][GW_RL_LIMIT] = (double)limit[k];
        rl.value[k][GW_RL_REMAINING] = used[k] < limit[k] ? (double)limit[k] - used[k] : 0;
        rl.value[k][GW_RL_RESET] = s->reset_s;
        rl.seen |= 7u << (k * GW_RL_FIELDS);
        char name[40], reset[48];
        const char *kind = gw_ratelimit_kind_name(k);
        snprintf(name, sizeof name, "x-ratelimit-limit-%s", kind);
        add_count_header(c->req, name, rl.value[k][GW_RL_LIMIT]);
        snprintf(name, sizeof name, "x-ratelimit-remaining-%s", kind);
        add_count_header(c->req, name, rl.value[k][GW_RL_REMAINING]);
        snprintf(name, sizeof name, "x-ratelimit-reset-%s", kind);
        if (gw_format_duration(s->reset_s, reset, sizeof reset) == 0) gw_reply_header(c->req, name, reset);
    }
    gw_meter_upstream_ratelimit(&c->gw->meter, u, &rl);
    if (limited) gw_meter_upstream_rate_limited(&c->gw->meter, u);
    return limited;
}

static void step(void *arg)
{
    sim *s = arg;
    gw_call *c = s->c;
    if (gw_req_gone(c->req)) {
        gw_call_finish(c, SONDE_LLM_CANCELLED, NULL);
        sim_free(s);
        return;
    }
    if (s->fate == SIM_LIMITED) {
        int secs = (int)ceil(s->reset_s);
        gw_meter_upstream_error(&c->gw->meter, c->model->up, "rate_limited");
        gw_call_finish(c, SONDE_LLM_RATE_LIMITED, NULL);
        gw_reply_error(c->req, 429, s->limited, "rate_limit_exceeded", secs > 0 ? secs : 1,
                       "Rate limit reached for %s of the upstream '%s' (simulated); retry in %d s",
                       s->limited, c->model->up->name, secs > 0 ? secs : 1);
        sim_free(s);
        return;
    }
    if (s->fate == SIM_ERROR) {
        gw_meter_upstream_error(&c->gw->meter, c->model->up, "http_5xx");
        gw_call_finish(c, SONDE_LLM_ERROR, "http_5xx");
        gw_reply_error(c->req, 502, "upstream_error", "upstream_http_5xx", -1,
                       "The upstream '%s' failed (simulated error)", c->model->up->name);
        sim_free(s);
        return;
    }
    if (s->fate == SIM_STALL) {
        gw_meter_upstream_error(&c->gw->meter, c->model->up, "timeout");
        gw_call_finish(c, SONDE_LLM_TIMEOUT, "timeout");
        gw_reply_error(c->req, 504, "upstream_error", "upstream_timeout", -1,
                       "The upstream '%s' did not answer within %ld ms", c->model->up->name,
                       c->model->up->timeout_ms);
        sim_free(s);
        return;
    }
    if (!c->stream) {
        c->output_tokens = c->op == GW_OP_EMBEDDINGS ? 0 : s->n_out;
        c->usage_known = 1;
        gw_call_finish(c, SONDE_LLM_OK, NULL);
        reply_whole(s);
        sim_free(s);
        return;
    }
    int rc = 0;
    if (s->sent < s->n_out) {
        /* metered before it leaves: the client cannot see the token before the gateway's
         * clock does (TTFT and inter-token times never exceed the client's) */
        gw_meter_call_chunk(c, 1);
        rc = send_token(s);
        c->output_tokens = s->sent;
        if (rc == 0 && s->sent < s->n_out) {
            if (gw_timer_after(c->gw->timer, wait_ns(s->o->itl_ms, s->o->jitter_ms), step, s) == 0) return;
            rc = -1;
        }
    }
    if (rc == 0) {
        rc = c->op == GW_OP_CHAT ? send_chunk(s, json_object(), NULL, s->finish)
                                 : send_chunk(s, NULL, "", s->finish);
        if (rc == 0 && c->include_usage) {
            json_t *u = chunk_base(s);
            json_object_set_new(u, "choices", json_array());
            json_object_set_new(u, "usage", usage_json(c));
            rc = gw_stream_event(c->req, u);
            json_decref(u);
        }
    }
    c->usage_known = 1;
    if (rc == 0) {
        gw_call_finish(c, SONDE_LLM_OK, NULL);
        gw_stream_finish(c->req);
    } else {
        gw_call_finish(c, SONDE_LLM_CANCELLED, NULL);
    }
    sim_free(s);
}

int gw_sim_start(gw_call *c)
{
    sim *s = calloc(1, sizeof *s);
    if (!s) return -1;
    s->c = c;
    s->o = &c->model->up->sim;
    s->created = (long)time(NULL);
    gw_call_id(c, s->id, sizeof s->id);
    s->n_out = s->o->output_tokens;
    s->finish = "stop";
    if (c->max_tokens > 0 && c->max_tokens < s->n_out) {
        s->n_out = c->max_tokens;
        s->finish = "length";
    }
    s->tool = pick_tool(s);
    if (s->tool) {
        s->finish = "tool_calls";
        size_t i;
        json_t *call;
        if (!s->calls) gw_meter_call_tool(c, s->tool_name);
        json_array_foreach(s->calls, i, call)
            gw_meter_call_tool(c, json_string_value(json_object_get(call, "name")));
    } else if (s->text) {
        s->finish = "stop"; /* the quote is the whole answer, max_tokens aside */
    }
    if (c->op != GW_OP_EMBEDDINGS) snprintf(c->finish, sizeof c->finish, "%s", s->finish);
    snprintf(c->resp_model, sizeof c->resp_model, "%s", c->model_name);
    double u = rnd(), error_rate = c->sim_error_rate >= 0 ? c->sim_error_rate : s->o->error_rate;
    s->fate = u < error_rate ? SIM_ERROR
              : u < error_rate + s->o->timeout_rate ? SIM_STALL : SIM_ANSWER;
    if (take_window(s)) s->fate = SIM_LIMITED;
    if (s->fate == SIM_ANSWER && c->op != GW_OP_EMBEDDINGS)
        snprintf(c->resp_id, sizeof c->resp_id, "%s", s->id); /* gen_ai.response.id */
    uint64_t delay = wait_ns(s->o->ttft_ms, s->o->jitter_ms);
    if (s->fate == SIM_LIMITED) delay = 0;
    else if (s->fate == SIM_STALL) delay = (uint64_t)c->model->up->timeout_ms * 1000000u;
    else if (s->fate == SIM_ANSWER && c->stream) {
        gw_reply_stream(c->req);
        json_t *role = json_pack("{s:s, s:s}", "role", "assistant", "content", "");
        if (c->op == GW_OP_CHAT) {
            gw_meter_call_chunk(c, 0); /* before it leaves, as a token */
            send_chunk(s, role, NULL, NULL);
        } else {
            json_decref(role);
        }
        /* a client gone already is noticed at the first step */
    } else if (s->fate == SIM_ANSWER && c->op != GW_OP_EMBEDDINGS) {
        for (long i = 1; i < s->n_out; i++) delay += wait_ns(s->o->itl_ms, s->o->jitter_ms);
    }
    if (delay == 0 && !c->stream && gw_req_answer_here(c->req)) {
        s->here = 1;
        step(s);
        return 0;
    }
    if (gw_timer_after(c->gw->timer, delay, step, s) != 0) {
        free(s->tool_name);
        free(s->args);
        json_decref(s->calls);
        free(s->text);
        free(s);
        return -1;
    }
    return 0;
}
