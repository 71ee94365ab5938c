/*
 * responses_api.c - the Responses API routes: POST /v1/responses (whole or
 * streamed as typed events), GET/DELETE /v1/responses/{id},
 * GET /v1/responses/{id}/input_items, POST /v1/responses/{id}/cancel.
 *
 * A response is a run (resp_run): the parsed request, the conversation
 * before it (the stored context of previous_response_id), the Response
 * object, and the accumulator of its output. THE MODEL STEP is the boundary
 * an agent loop builds on: model_step(run, items) calls the model with the
 * conversation items through the gateway's ordinary chat path
 * (gw_call_start: admission, metering, key charges, sim or proxy) and the
 * run's accumulator turns the upstream's chat chunks into output items (and
 * stream events); when the upstream is done, step_done(run) runs on the
 * upstream's thread with run->acc holding the output items (or run->error
 * set). step_done finishes the response: the answer, then the store's write
 * under a hold (response_store.h). MCP tools run through the agent loop
 * (agent.c), whose end (agent_done) adds its items and finishes the same way.
 *
 * The upstream call answers a tapped request (gw_req_tap, service.c) whose
 * callbacks below receive the chat answer: for a streamed response a stream
 * (the chat request asks for one, with usage), parsed by the gateway's SSE
 * parser chunk by chunk; for a whole response a whole chat completion, taken
 * as one chunk (one upstream answer to build and parse, not one per token).
 * An upstream refusal before any output (404 model, 429, 502) is the
 * client's answer unchanged (the OpenAI error shape); a failure after a
 * client stream started ends it with response.failed. A streamed response
 * starts with response.created and response.in_progress when the upstream's
 * stream starts, and ends with response.completed / incomplete / failed (no
 * [DONE] sentinel). Stored responses go to gw->responses (response_store.h).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "response_store.h"
#include "responses.h"
#include "sse_parse.h"

#define SSE_EVENT_MAX (8u << 20) /* the largest upstream chunk taken */

typedef struct resp_run {
    atomic_int refs;  /* the creator's and each running step's tapped request's */
    gateway *gw;
    gw_req *client;   /* a reference */
    const gw_key *key;
    json_t *body;     /* the client's request (owned) */
    gw_resp_request q;
    json_t *context;  /* the conversation before this input (owned array) */
    json_t *resp;     /* the Response object */
    char id[64];
    long created_at;
    gw_resp_acc acc;
    gw_sse_parser sse;
    int started;      /* the client's event stream is open */
    int ended;        /* step_done ran */
    char error_code[48];
    char error_msg[256];
} resp_run;

static void step_done(resp_run *run);
static void fail_step(resp_run *run, const char *code, const char *msg);

/* The last reference is gone: a run that ended without its answer (the upstream
 * stopped reading it, or failed to start) still answers a client that waits. */
static void run_unref(void *ud)
{
    resp_run *run = ud;
    if (atomic_fetch_sub(&run->refs, 1) != 1) return;
    if (!run->ended && !gw_req_gone(run->client)) {
        fail_step(run, "upstream_error", "the upstream call ended without an answer");
        step_done(run);
    }
    gw_sse_parser_free(&run->sse);
    gw_resp_acc_free(&run->acc);
    gw_resp_request_clear(&run->q);
    json_decref(run->context);
    json_decref(run->resp);
    json_decref(run->body);
    gw_req_unref(run->client);
    free(run);
}

static int emit(void *ud, json_t *ev)
{
    resp_run *run = ud;
    char *s = gw_json_dumps(ev);
    int rc = s ? gw_stream_sse(run->client, json_string_value(json_object_get(ev, "type")), s,
                               strlen(s)) : -1;
    free(s);
    return rc;
}

static void fail_step(resp_run *run, const char *code, const char *msg)
{
    if (run->error_code[0]) return;
    snprintf(run->error_code, sizeof run->error_code, "%s", code);
    snprintf(run->error_msg, sizeof run->error_msg, "%s", msg);
}

/* The response is done: store it and answer (the end of the last model step). */
static void step_done(resp_run *run)
{
    if (run->ended) return;
    run->ended = 1;
    long now = (long)time(NULL);
    if (!run->error_code[0] && gw_resp_acc_finish(&run->acc) != 0 && !run->started)
        fail_step(run, "server_error", "the response could not be built");
    if (run->error_code[0]) {
        if (!run->started) {
            gw_reply_error(run->client, 502, "upstream_error", run->error_code, -1, "%s",
                           run->error_msg);
            return;
        }
        json_object_set_new(run->resp, "status", json_string("failed"));
        json_object_set_new(run->resp, "error", json_pack("{s:s, s:s}", "code", run->error_code,
                                                          "message", run->error_msg));
        json_object_set(run->resp, "output", run->acc.output);
        gw_resp_acc_event(&run->acc, "response.failed", "{s:O}", "response", run->resp);
        gw_stream_end_events(run->client);
        return;
    }
    gw_resp_acc_result(&run->acc, run->resp, now);
    /* answer first, then store under a hold: a client continuing the response at once
     * waits for the write instead of the answer waiting for it */
    gw_response_hold hold;
    gw_response_store *store = run->q.store ? run->gw->responses : NULL;
    if (store) gw_response_store_hold(store, &hold, run->id);
    /* the response as JSON, made once: the answer and the stored copy */
    char *text = store || !run->started ? gw_json_dumps(run->resp) : NULL;
    if (run->started) {
        const char *st = json_string_value(json_object_get(run->resp, "status"));
        char type[48];
        snprintf(type, sizeof type, "response.%s", st);
        gw_resp_acc_event(&run->acc, type, "{s:O}", "response", run->resp);
        gw_stream_end_events(run->client);
    } else {
        gw_reply_json(run->client, 200, store && text ? strdup(text) : text, -1);
        if (!store) return; /* text went with the answer */
    }
    if (!store) return;
    json_t *ctx = json_copy(run->context);
    json_array_extend(ctx, run->q.input);
    json_array_extend(ctx, run->acc.output);
    if (gw_response_store_put(store, run->id, run->created_at, text, run->q.input, ctx) != 0) {
        sonde_attr f[] = {SONDE_ATTR_STR("response_id", run->id)};
        sonde_log(run->gw->log, SONDE_LOG_WARN, "response not stored", f, 1);
    }
    free(text);
    json_decref(ctx);
    gw_response_store_release(store, &hold);
}

/* ---- the tapped chat call's answer -------------------------------------- */

/* A whole chat completion j (borrowed; NULL: not JSON), taken as one chunk; the
 * response is done. */
static void whole_answer(resp_run *run, json_t *j)
{
    json_t *ch = json_array_get(json_object_get(j, "choices"), 0);
    json_t *chunk = json_pack("{s:O*, s:O*, s:[{s:O*, s:O*}]}", "model",
                              json_object_get(j, "model"), "usage", json_object_get(j, "usage"),
                              "choices", "delta", json_object_get(ch, "message"),
                              "finish_reason", json_object_get(ch, "finish_reason"));
    const char *why = "the upstream's answer is not a chat completion";
    if (!ch || !chunk || gw_resp_acc_chunk(&run->acc, chunk, &why) != 0)
        fail_step(run, "upstream_protocol", why);
    json_decref(chunk);
    step_done(run);
}

static void tap_reply(void *ud, unsigned status, char *body, int retry_after)
{
    resp_run *run = ud;
    if (status == 200) { /* a whole answer (asked for, or an upstream that would not stream) */
        json_t *j = json_loads(body, 0, NULL);
        free(body);
        whole_answer(run, j);
        json_decref(j);
        return;
    }
    if (run->started) {
        free(body);
        fail_step(run, "upstream_error", "the upstream failed");
        step_done(run);
        return;
    }
    run->ended = 1;
    gw_reply_json(run->client, status, body, retry_after); /* already the OpenAI error shape */
}

static void tap_stream_start(void *ud)
{
    resp_run *run = ud;
    if (!run->q.stream || run->started) return;
    gw_reply_stream(run->client);
    run->started = 1;
    gw_resp_acc_event(&run->acc, "response.created", "{s:O}", "response", run->resp);
    gw_resp_acc_event(&run->acc, "response.in_progress", "{s:O}", "response", run->resp);
}

static int on_chunk(void *ud, const gw_sse_event *ev)
{
    resp_run *run = ud;
    if (ev->data_len == 6 && memcmp(ev->data, "[DONE]", 6) == 0) return 0;
    json_t *j = json_loadb(ev->data, ev->data_len, 0, NULL);
    json_t *err = json_object_get(j, "error");
    const char *why = "the upstream sent a chunk that is not JSON";
    int rc = 0;
    if (json_is_object(err)) {
        const char *m = json_string_value(json_object_get(err, "message"));
        fail_step(run, "upstream_error", m ? m : "the upstream failed mid-stream");
        rc = -1;
    } else if (!j || gw_resp_acc_chunk(&run->acc, j, &why) != 0) {
        if (!run->acc.failed) fail_step(run, "upstream_protocol", why);
        rc = -1;
    }
    json_decref(j);
    return rc;
}

static int tap_stream_data(void *ud, const char *data, size_t len)
{
    resp_run *run = ud;
    if (run->error_code[0] || run->acc.failed) return -1;
    int rc = gw_sse_feed(&run->sse, data, len, on_chunk, run);
    if (rc == GW_SSE_E_TOO_LARGE || rc == GW_SSE_E_NOMEM)
        fail_step(run, "upstream_protocol", "the upstream's stream passed the gateway's limits");
    return rc == 0 ? 0 : -1;
}

static void tap_stream_end(void *ud)
{
    step_done(ud);
}

static const gw_tap resp_tap = {.reply = tap_reply, .stream_start = tap_stream_start,
                                .stream_data = tap_stream_data, .stream_end = tap_stream_end,
                                .release = run_unref, .caller_waits = 0};

/* THE MODEL STEP: call the model with the conversation items; step_done(run) follows
 * (on the upstream's thread) with the output in run->acc. 0 when the call started; -1
 * when it did not, the client answered (a refusal: unknown model, rate limit, ...). */
static int model_step(resp_run *run, const json_t *items)
{
    json_t *chat = gw_resp_chat_request(run->body, &run->q, items);
    gw_req *tap = chat ? gw_req_tap(run->client, &resp_tap, run) : NULL;
    if (!tap) {
        json_decref(chat);
        fail_step(run, "server_error", "out of memory");
        step_done(run);
        return -1;
    }
    atomic_fetch_add(&run->refs, 1); /* the tap's, released with it (run_unref) */
    gw_fields f = {.max_tokens = run->q.max_output_tokens, .n = 1};
    int rc = gw_call_start(run->gw, tap, run->key, chat, GW_OP_CHAT, &f);
    gw_req_unref(tap);
    return rc;
}

/* ---- MCP tools: the agent loop (agent.c) ----------------------------------- */

/* Whether the conversation before this response holds the tools of server_label. */
static int listed_before(const json_t *context, const char *server_label)
{
    size_t i;
    json_t *it;
    json_array_foreach(context, i, it) {
        const char *type = json_string_value(json_object_get(it, "type"));
        const char *label = json_string_value(json_object_get(it, "server_label"));
        if (type && label && strcmp(type, "mcp_list_tools") == 0 && strcmp(label, server_label) == 0)
            return 1;
    }
    return 0;
}

/* One mcp_list_tools item: the server's tools as the Responses API names their fields. */
static json_t *list_tools_item(const json_t *listed)
{
    json_t *tools = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(listed, "tools"), i, t) {
        json_t *schema = json_object_get(t, "inputSchema");
        json_t *desc = json_object_get(t, "description");
        json_t *ann = json_object_get(t, "annotations");
        json_array_append_new(tools, json_pack("{s:O, s:O, s:o, s:O}", "name", json_object_get(t, "name"),
                                               "description", json_is_string(desc) ? desc : json_null(),
                                               "input_schema", json_is_object(schema) ? json_incref(schema)
                                                                                      : json_object(),
                                               "annotations", json_is_object(ann) ? ann : json_null()));
    }
    char id[64];
    gw_resp_new_id("mcpl", id, sizeof id);
    return json_pack("{s:s, s:s, s:O, s:o}", "id", id, "type", "mcp_list_tools", "server_label",
                     json_object_get(listed, "server_label"), "tools", tools);
}

/* Append an output item, announced to a streaming client. */
static void add_output_item(resp_run *run, json_t *it)
{
    json_array_append(run->acc.output, it);
    int at = (int)json_array_size(run->acc.output) - 1;
    gw_resp_acc_event(&run->acc, "response.output_item.added",
                      "{s:i, s:O}", "output_index", at, "item", it);
    gw_resp_acc_event(&run->acc, "response.output_item.done",
                      "{s:i, s:O}", "output_index", at, "item", it);
}

/* The loop ended (on its thread): an mcp_list_tools item per server whose tools the
 * conversation did not hold yet, its mcp_call items, then the final answer's items. */
static void agent_done(void *ud, gw_agent_result *res)
{
    resp_run *run = ud;
    if (res->status != 200) { /* nothing reached the client yet: the error as it is */
        run->ended = 1;
        if (res->status == 499 || !res->answer) {
            gw_reply_error(run->client, res->status == 499 ? 499 : 502, "upstream_error",
                           "agent_failed", -1, "the agent loop ended without an answer");
        } else {
            gw_reply_json(run->client, res->status, gw_json_dumps(res->answer), -1);
        }
        run_unref(run);
        return;
    }
    tap_stream_start(run);
    size_t i;
    json_t *item;
    json_array_foreach(res->listed, i, item) {
        const char *label = json_string_value(json_object_get(item, "server_label"));
        if (!label || listed_before(run->context, label)) continue;
        json_t *it = list_tools_item(item);
        if (it) add_output_item(run, it);
        json_decref(it);
    }
    json_array_foreach(res->items, i, item) {
        char id[64];
        gw_resp_new_id("mcp", id, sizeof id);
        json_t *it = json_copy(item); /* the run's, on this thread: only its id changes */
        json_object_set_new(it, "id", json_string(id));
        add_output_item(run, it);
        json_decref(it);
    }
    whole_answer(run, res->answer); /* the last answer, whole (the run's, on this thread) */
    /* the output shares values with res: res goes first, so that this thread is done with
     * their reference counts before it lets the response go (the client's thread may free
     * it) */
    json_decref(res->answer);
    json_decref(res->items);
    json_decref(res->listed);
    res->answer = res->items = res->listed = NULL;
    run_unref(run);
}

/* Run the response's model steps through the agent loop: the chat request for the items
 * carries the MCP tools (gw_resp_chat_request keeps them); the loop answers whole. */
static void agent_step(resp_run *run, const json_t *items)
{
    json_t *chat = gw_resp_chat_request(run->body, &run->q, items);
    if (!chat) {
        gw_reply_error(run->client, 500, "server_error", NULL, -1, "out of memory");
        run->ended = 1;
        return;
    }
    char err[512];
    atomic_fetch_add(&run->refs, 1); /* the loop's, released by agent_done */
    unsigned st = gw_agent_start(run->gw, run->client, run->key, chat, agent_done, run, err,
                                 sizeof err);
    if (st) {
        run->ended = 1;
        if (st == 400) gw_reply_invalid(run->client, "tools", "%s", err);
        else gw_reply_error(run->client, st, "server_error", "agent_unavailable", 1, "%s", err);
        run_unref(run);
    }
}

/* ---- routes -------------------------------------------------------------- */

/* Drop the creator's reference to a run whose client was answered before any step. */
static void abandon(resp_run *run)
{
    run->ended = 1;
    run_unref(run);
}

static void create(gateway *gw, gw_req *r, const char *body, size_t len, const gw_key *key)
{
    json_t *b = gw_parse_body(gw->cfg, r, body, len);
    if (!b) return;
    resp_run *run = calloc(1, sizeof *run);
    if (!run) {
        json_decref(b);
        gw_reply_error(r, 500, "server_error", NULL, -1, "out of memory");
        return;
    }
    gw_req_ref(r);
    atomic_init(&run->refs, 1);
    run->gw = gw;
    run->client = r;
    run->key = key;
    run->body = b;
    gw_sse_parser_init(&run->sse, SSE_EVENT_MAX);
    gw_invalid inv;
    if (gw_resp_parse(b, &run->q, &inv) != 0) {
        gw_reply_invalid(r, inv.param, "%s", inv.msg);
        abandon(run);
        return;
    }
    run->context = json_array();
    if (run->q.previous_response_id) {
        gw_stored_response prev;
        int got = gw->responses ? gw_response_store_get(gw->responses, run->q.previous_response_id,
                                                        &prev) : 0;
        if (got != 1) {
            gw_echo_buf e;
            if (got < 0) gw_reply_error(r, 500, "server_error", NULL, -1, "the response store failed");
            else gw_reply_error_param(r, 404, "invalid_request_error", "previous_response_not_found",
                                      "previous_response_id", "Previous response with id '%s' not found.",
                                      gw_echo(run->q.previous_response_id, &e));
            abandon(run);
            return;
        }
        json_decref(run->context);
        run->context = json_incref(prev.context);
        gw_stored_response_clear(&prev);
    }
    if (json_array_size(run->context) + json_array_size(run->q.input) > GW_RESP_MAX_CONTEXT) {
        gw_reply_invalid(r, "input", "The conversation would hold more than %d items",
                         GW_RESP_MAX_CONTEXT);
        abandon(run);
        return;
    }
    gw_resp_new_id("resp", run->id, sizeof run->id);
    run->created_at = (long)time(NULL);
    run->resp = gw_resp_object(b, &run->q, run->id, run->created_at);
    gw_resp_acc_init(&run->acc, run->q.stream ? emit : NULL, run);
    json_t *items = json_copy(run->context);
    if (!run->resp || !run->acc.output || !items) {
        json_decref(items);
        gw_reply_error(r, 500, "server_error", NULL, -1, "out of memory");
        abandon(run);
        return;
    }
    json_array_extend(items, run->q.input);
    if (gw_agent_wanted(b)) agent_step(run, items);
    else model_step(run, items);
    json_decref(items);
    run_unref(run);
}

static void not_found(gw_req *r, const char *id)
{
    gw_echo_buf e;
    gw_reply_error(r, 404, "invalid_request_error", "response_not_found", -1,
                   "No response found with id '%s'.", gw_echo(id, &e));
}

/* GET .../input_items: a list page (order desc by default, limit 1..100, after an id). */
static void input_items(gw_req *r, const char *id, json_t *items)
{
    const char *order = gw_req_arg(r, "order"), *lim = gw_req_arg(r, "limit");
    const char *after = gw_req_arg(r, "after");
    int asc = order && strcmp(order, "asc") == 0;
    if (order && !asc && strcmp(order, "desc") != 0) {
        gw_reply_invalid(r, "order", "Invalid 'order': expected 'asc' or 'desc'");
        return;
    }
    char *end = NULL;
    long limit = lim ? strtol(lim, &end, 10) : 20;
    if (lim && (*end || limit < 1 || limit > 100)) {
        gw_reply_invalid(r, "limit", "Invalid 'limit': expected an integer from 1 to 100");
        return;
    }
    size_t n = json_array_size(items), start = 0;
    if (after) {
        for (size_t i = 0; i < n; i++) {
            json_t *it = json_array_get(items, asc ? i : n - 1 - i);
            const char *iid = json_string_value(json_object_get(it, "id"));
            if (iid && strcmp(iid, after) == 0) start = i + 1;
        }
    }
    json_t *data = json_array();
    for (size_t i = start; i < n && (long)json_array_size(data) < limit; i++)
        json_array_append(data, json_array_get(items, asc ? i : n - 1 - i));
    size_t got = json_array_size(data);
    json_t *list = json_pack("{s:s, s:o, s:o, s:o, s:b}", "object", "list", "data", data,
                             "first_id", got ? json_copy(json_object_get(json_array_get(data, 0), "id")) : json_null(),
                             "last_id", got ? json_copy(json_object_get(json_array_get(data, got - 1), "id")) : json_null(),
                             "has_more", start + got < n);
    (void)id;
    gw_reply_json(r, 200, gw_json_dumps(list), -1);
    json_decref(list);
}

static void by_id(gateway *gw, gw_req *r, const char *method, const char *rest)
{
    char id[GW_RESP_MAX_ID + 1];
    const char *slash = strchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
    const char *action = slash ? slash + 1 : "";
    if (n == 0 || n > GW_RESP_MAX_ID) {
        not_found(r, rest);
        return;
    }
    memcpy(id, rest, n);
    id[n] = 0;
    const char *want = !*action ? (strcmp(method, "DELETE") == 0 ? "DELETE" : "GET")
                       : strcmp(action, "input_items") == 0 ? "GET"
                       : strcmp(action, "cancel") == 0      ? "POST" : NULL;
    if (!want) {
        gw_echo_buf e, u;
        gw_reply_error(r, 404, "invalid_request_error", "unknown_url", -1,
                       "Unknown request URL: %s /v1/responses/%s", gw_echo(method, &e),
                       gw_echo(rest, &u));
        return;
    }
    if (strcmp(method, want) != 0) {
        gw_echo_buf e;
        gw_reply_error(r, 405, "invalid_request_error", "method_not_allowed", -1,
                       "Method %s is not allowed here", gw_echo(method, &e));
        return;
    }
    if (!gw->responses) {
        not_found(r, id);
        return;
    }
    if (strcmp(method, "DELETE") == 0) {
        int rc = gw_response_store_delete(gw->responses, id);
        if (rc < 0) gw_reply_error(r, 500, "server_error", NULL, -1, "the response store failed");
        else if (rc == 0) not_found(r, id);
        else {
            json_t *j = json_pack("{s:s, s:s, s:b}", "id", id, "object", "response.deleted",
                                  "deleted", 1);
            gw_reply_json(r, 200, gw_json_dumps(j), -1);
            json_decref(j);
        }
        return;
    }
    gw_stored_response s;
    int rc = gw_response_store_get(gw->responses, id, &s);
    if (rc < 0) {
        gw_reply_error(r, 500, "server_error", NULL, -1, "the response store failed");
        return;
    }
    if (rc == 0) {
        not_found(r, id);
        return;
    }
    if (strcmp(action, "input_items") == 0) input_items(r, id, s.input_items);
    else if (strcmp(action, "cancel") == 0)
        gw_reply_error_param(r, 400, "invalid_request_error", "invalid_request", NULL,
                             "Only responses created with background=true can be cancelled; "
                             "response '%s' is %s", id,
                             json_string_value(json_object_get(s.response, "status")));
    else gw_reply_json(r, 200, gw_json_dumps(s.response), -1);
    gw_stored_response_clear(&s);
}

void gw_responses_handle(gateway *gw, gw_req *r, const char *method, const char *url,
                         const char *body, size_t len, const gw_key *key)
{
    if (strcmp(url, "/v1/responses") == 0) {
        if (strcmp(method, "POST") != 0) {
            gw_echo_buf e;
            gw_reply_error(r, 405, "invalid_request_error", "method_not_allowed", -1,
                           "Method %s is not allowed on /v1/responses", gw_echo(method, &e));
            return;
        }
        create(gw, r, body, len, key);
        return;
    }
    by_id(gw, r, method, url + strlen("/v1/responses/"));
}
