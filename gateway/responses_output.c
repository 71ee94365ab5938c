/*
 * responses_output.c - from chat completion chunks to Responses output items
 * and typed stream events (the accumulator of responses.h).
 *
 * Text deltas open a message item (response.output_item.added,
 * response.content_part.added, then response.output_text.delta each); a new
 * tool_calls index closes the open message and opens a function_call item
 * (then response.function_call_arguments.delta each); finish closes
 * whatever is open with its *.done events. Every event carries the next
 * sequence_number; with no emitter (a whole answer) only the items are
 * built. The open item's text and each call's arguments grow in one buffer
 * each, bounded by GW_RESP_MAX_TEXT; calls are bounded by GW_RESP_MAX_CALLS.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "responses.h"

void gw_resp_acc_init(gw_resp_acc *a, gw_resp_emit_fn emit, void *ud)
{
    memset(a, 0, sizeof *a);
    a->output = json_array();
    a->msg_index = -1;
    a->emit = emit;
    a->ud = ud;
}

void gw_resp_acc_free(gw_resp_acc *a)
{
    json_decref(a->output);
    free(a->text);
    for (int i = 0; i < a->ncalls; i++) free(a->calls[i].args);
    memset(a, 0, sizeof *a);
}

int gw_resp_acc_event(gw_resp_acc *a, const char *type, const char *fmt, ...)
{
    if (!a->emit) return 0; /* a whole answer: no event is built */
    va_list ap;
    va_start(ap, fmt);
    json_t *fields = json_vpack_ex(NULL, 0, fmt, ap);
    va_end(ap);
    json_t *ev = json_pack("{s:s, s:I}", "type", type, "sequence_number", (json_int_t)a->seq++);
    if (fields) json_object_update(ev, fields);
    json_decref(fields);
    int rc = ev && a->failed == 0 ? a->emit(a->ud, ev) : -1;
    json_decref(ev);
    if (rc != 0) a->failed = 1;
    return rc;
}

static int append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n > GW_RESP_MAX_TEXT) return -1;
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap * 2 : 256;
        while (c < *len + n + 1) c *= 2;
        char *b = realloc(*buf, c);
        if (!b) return -1;
        *buf = b;
        *cap = c;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = 0;
    return 0;
}

static json_t *item_at(gw_resp_acc *a, int i)
{
    return json_array_get(a->output, (size_t)i);
}

static const char *item_id(gw_resp_acc *a, int i)
{
    return json_string_value(json_object_get(item_at(a, i), "id"));
}

static void close_message(gw_resp_acc *a)
{
    int i = a->msg_index;
    if (i < 0) return;
    a->msg_index = -1;
    json_t *it = item_at(a, i);
    json_t *part = json_pack("{s:s, s:s%, s:[], s:[]}", "type", "output_text", "text",
                             a->text ? a->text : "", a->text_len, "annotations", "logprobs");
    gw_resp_acc_event(a, "response.output_text.done",
                      "{s:s, s:i, s:i, s:s%, s:[]}", "item_id", item_id(a, i),
                      "output_index", i, "content_index", 0, "text",
                      a->text ? a->text : "", a->text_len, "logprobs");
    gw_resp_acc_event(a, "response.content_part.done",
                      "{s:s, s:i, s:i, s:O}", "item_id", item_id(a, i), "output_index",
                      i, "content_index", 0, "part", part);
    json_object_set_new(it, "content", json_pack("[o]", part));
    json_object_set_new(it, "status", json_string("completed"));
    gw_resp_acc_event(a, "response.output_item.done",
                      "{s:i, s:O}", "output_index", i, "item", it);
    a->text_len = 0;
}

static void close_call(gw_resp_acc *a, gw_resp_call_state *c)
{
    int i = c->out_index;
    json_t *it = item_at(a, i);
    const char *st = json_string_value(json_object_get(it, "status"));
    if (!st || strcmp(st, "in_progress") != 0) return;
    json_object_set_new(it, "arguments", json_stringn(c->args ? c->args : "", c->len));
    json_object_set_new(it, "status", json_string("completed"));
    gw_resp_acc_event(a, "response.function_call_arguments.done",
                      "{s:s, s:i, s:O, s:O}", "item_id", item_id(a, i), "output_index", i,
                      "name", json_object_get(it, "name"), "arguments",
                      json_object_get(it, "arguments"));
    gw_resp_acc_event(a, "response.output_item.done",
                      "{s:i, s:O}", "output_index", i, "item", it);
}

static int add_text(gw_resp_acc *a, const char *s, size_t n, const char **why)
{
    if (a->msg_index < 0) {
        char id[64];
        gw_resp_new_id("msg", id, sizeof id);
        json_t *it = json_pack("{s:s, s:s, s:s, s:s, s:[]}", "id", id, "type", "message", "status",
                               "in_progress", "role", "assistant", "content");
        json_array_append_new(a->output, it);
        a->msg_index = (int)json_array_size(a->output) - 1;
        gw_resp_acc_event(a, "response.output_item.added",
                          "{s:i, s:O}", "output_index", a->msg_index, "item", it);
        gw_resp_acc_event(a, "response.content_part.added",
                          "{s:s, s:i, s:i, s:{s:s, s:s, s:[], s:[]}}", "item_id", id,
                          "output_index", a->msg_index, "content_index", 0, "part",
                          "type", "output_text", "text", "", "annotations", "logprobs");
    }
    if (append(&a->text, &a->text_len, &a->text_cap, s, n) != 0) {
        *why = "the upstream's text passed the gateway's limit";
        return -1;
    }
    return gw_resp_acc_event(a, "response.output_text.delta",
                             "{s:s, s:i, s:i, s:s%, s:[]}", "item_id",
                             item_id(a, a->msg_index), "output_index", a->msg_index,
                             "content_index", 0, "delta", s, n, "logprobs");
}

static int add_call(gw_resp_acc *a, const json_t *tc, const char **why)
{
    json_t *iv = json_object_get(tc, "index");
    /* a whole message's tool_calls have no index: each is a new call */
    long idx = json_is_integer(iv) ? (long)json_integer_value(iv) : a->ncalls;
    const json_t *fn = json_object_get(tc, "function");
    if (idx < 0 || idx > a->ncalls || idx >= GW_RESP_MAX_CALLS) {
        *why = "the upstream's tool_calls index is out of order or past the gateway's limit";
        return -1;
    }
    if (idx == a->ncalls) { /* a new call */
        const char *name = json_string_value(json_object_get(fn, "name"));
        const char *cid = json_string_value(json_object_get(tc, "id"));
        if (!name || !cid || strlen(name) > GW_RESP_MAX_ID || strlen(cid) > GW_RESP_MAX_ID) {
            *why = "the upstream's tool call has no id or name";
            return -1;
        }
        close_message(a);
        if (a->ncalls > 0) close_call(a, &a->calls[a->ncalls - 1]);
        char id[64];
        gw_resp_new_id("fc", id, sizeof id);
        json_t *it = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", id, "type", "function_call",
                               "status", "in_progress", "call_id", cid, "name", name, "arguments", "");
        json_array_append_new(a->output, it);
        gw_resp_call_state *c = &a->calls[a->ncalls++];
        c->out_index = (int)json_array_size(a->output) - 1;
        gw_resp_acc_event(a, "response.output_item.added",
                          "{s:i, s:O}", "output_index", c->out_index, "item", it);
    }
    gw_resp_call_state *c = &a->calls[idx];
    json_t *args = json_object_get(fn, "arguments");
    if (json_string_length(args) == 0) return 0;
    if (append(&c->args, &c->len, &c->cap, json_string_value(args), json_string_length(args)) != 0) {
        *why = "the upstream's tool arguments passed the gateway's limit";
        return -1;
    }
    return gw_resp_acc_event(a, "response.function_call_arguments.delta",
                             "{s:s, s:i, s:O}", "item_id", item_id(a, c->out_index),
                             "output_index", c->out_index, "delta", args);
}

int gw_resp_acc_chunk(gw_resp_acc *a, const json_t *chunk, const char **why)
{
    *why = "the upstream sent a malformed chunk";
    if (!json_is_object(chunk)) return -1;
    const char *model = json_string_value(json_object_get(chunk, "model"));
    if (model && !a->model[0]) snprintf(a->model, sizeof a->model, "%s", model);
    json_t *u = json_object_get(chunk, "usage");
    if (json_is_object(u)) {
        json_t *p = json_object_get(u, "prompt_tokens"), *c = json_object_get(u, "completion_tokens");
        if (json_is_integer(p) && json_is_integer(c) && json_integer_value(p) >= 0 &&
            json_integer_value(c) >= 0) {
            a->input_tokens = (long)json_integer_value(p);
            a->output_tokens = (long)json_integer_value(c);
            a->usage_known = 1;
        }
    }
    json_t *choice = json_array_get(json_object_get(chunk, "choices"), 0);
    if (!choice) return 0;
    json_t *delta = json_object_get(choice, "delta");
    json_t *content = json_object_get(delta, "content");
    if (json_string_length(content) > 0 &&
        add_text(a, json_string_value(content), json_string_length(content), why) != 0)
        return -1;
    size_t i;
    json_t *tc;
    json_array_foreach(json_object_get(delta, "tool_calls"), i, tc)
        if (add_call(a, tc, why) != 0) return -1;
    const char *fin = json_string_value(json_object_get(choice, "finish_reason"));
    if (fin) snprintf(a->finish, sizeof a->finish, "%s", fin);
    return a->failed ? -1 : 0;
}

int gw_resp_acc_finish(gw_resp_acc *a)
{
    close_message(a);
    if (a->ncalls > 0) close_call(a, &a->calls[a->ncalls - 1]);
    return a->failed ? -1 : 0;
}

void gw_resp_acc_result(const gw_resp_acc *a, json_t *resp, long completed_at)
{
    const char *reason = !strcmp(a->finish, "length")           ? "max_output_tokens"
                         : !strcmp(a->finish, "content_filter") ? "content_filter" : NULL;
    json_object_set_new(resp, "status", json_string(reason ? "incomplete" : "completed"));
    json_object_set_new(resp, "incomplete_details",
                        reason ? json_pack("{s:s}", "reason", reason) : json_null());
    json_object_set_new(resp, "completed_at", reason ? json_null() : json_integer(completed_at));
    json_object_set(resp, "output", a->output);
    json_object_set_new(resp, "usage",
                        json_pack("{s:I, s:{s:i}, s:I, s:{s:i}, s:I}", "input_tokens",
                                  (json_int_t)a->input_tokens, "input_tokens_details",
                                  "cached_tokens", 0, "output_tokens", (json_int_t)a->output_tokens,
                                  "output_tokens_details", "reasoning_tokens", 0, "total_tokens",
                                  (json_int_t)(a->input_tokens + a->output_tokens)));
}
