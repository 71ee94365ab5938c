/*
 * responses_translate.c - the Responses API request parser and the
 * translation to and from chat completions (see responses.h).
 *
 * Parsing validates every field the gateway reads and bounds every list
 * (items, parts, tools, metadata) and string id; an unknown item, part or
 * tool type is refused naming its place ("input[2].type"), never ignored.
 * Conversation items map to chat messages in order: instructions first as a
 * system message, developer as system (what chat backends know), message
 * parts joined into one text (image parts kept as image_url parts), a run of
 * function_call items into one assistant message's tool_calls (after the
 * assistant text they follow), function_call_output into a tool message; the
 * gateway's own mcp_call items (stored output continued by
 * previous_response_id) into the assistant call and the tool answer the agent
 * loop gave the model; mcp_list_tools items carry no conversation and map to
 * nothing.
 *
 * The accumulator takes chunks one by one: text deltas open a message item
 * (output_item.added, content_part.added, then output_text.delta), a new
 * tool_calls index closes the open message and opens a function_call item
 * (then function_call_arguments.delta); finish closes whatever is open (the
 * *.done events, in reverse order of opening). Text and arguments are bounded
 * (GW_RESP_MAX_TEXT) and so is the number of calls.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "responses.h"

/* ---- request ------------------------------------------------------------- */

static int bad(gw_invalid *e, const char *msg, const char *param_fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(gw_invalid *e, const char *msg, const char *param_fmt, ...)
{
    va_list ap;
    va_start(ap, param_fmt);
    vsnprintf(e->param, sizeof e->param, param_fmt, ap);
    va_end(ap);
    snprintf(e->msg, sizeof e->msg, "Invalid '%s': %s", e->param, msg);
    return -1;
}

static int short_string(const json_t *v)
{
    return json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) <= GW_RESP_MAX_ID;
}

void gw_resp_new_id(const char *prefix, char *buf, size_t len)
{
    unsigned char r[12] = {0};
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) { /* never in practice; stay unique-ish */
        uint64_t t = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)buf;
        memcpy(r, &t, sizeof t);
    }
    static const char hex[] = "0123456789abcdef";
    int n = snprintf(buf, len, "%s_", prefix);
    for (size_t i = 0; i < sizeof r && n > 0 && (size_t)n + 2 < len; i++) {
        buf[n++] = hex[r[i] >> 4];
        buf[n++] = hex[r[i] & 15];
        buf[n] = 0;
    }
}

static json_t *text_part(const char *type, const char *text)
{
    json_t *p = json_pack("{s:s, s:s}", "type", type, "text", text);
    if (p && strcmp(type, "output_text") == 0) {
        json_object_set_new(p, "annotations", json_array());
        json_object_set_new(p, "logprobs", json_array());
    }
    return p;
}

/* A message item's content, normalised to an array of parts; NULL after *e is set. */
static json_t *message_content(const json_t *content, const char *role, size_t i, gw_invalid *e)
{
    int assistant = strcmp(role, "assistant") == 0;
    if (json_is_string(content))
        return json_pack("[o]", text_part(assistant ? "output_text" : "input_text",
                                          json_string_value(content)));
    if (!json_is_array(content) || json_array_size(content) == 0 ||
        json_array_size(content) > GW_RESP_MAX_PARTS) {
        bad(e, "expected a string or a non-empty array of at most 256 content parts",
            "input[%zu].content", i);
        return NULL;
    }
    json_t *out = json_array();
    size_t k;
    json_t *p;
    json_array_foreach(content, k, p) {
        const char *type = json_string_value(json_object_get(p, "type"));
        if (!json_is_object(p) || !type) {
            bad(e, "a content part must be an object with a type", "input[%zu].content[%zu]", i, k);
            goto fail;
        }
        if (strcmp(type, "input_text") == 0 || strcmp(type, "output_text") == 0 ||
            strcmp(type, "refusal") == 0) {
            const char *field = strcmp(type, "refusal") == 0 ? "refusal" : "text";
            json_t *t = json_object_get(p, field);
            if (!json_is_string(t)) {
                bad(e, "expected a string", "input[%zu].content[%zu].%s", i, k, field);
                goto fail;
            }
            json_array_append_new(out, text_part(strcmp(type, "refusal") == 0 ? "output_text" : type,
                                                 json_string_value(t)));
        } else if (strcmp(type, "input_image") == 0 && !assistant) {
            json_t *url = json_object_get(p, "image_url");
            json_t *detail = json_object_get(p, "detail");
            if (!json_is_string(url) || (detail && !json_is_string(detail))) {
                bad(e, "an input_image part needs an image_url string (file_id is not supported)",
                    "input[%zu].content[%zu].image_url", i, k);
                goto fail;
            }
            json_array_append_new(out, json_pack("{s:s, s:O, s:s}", "type", "input_image",
                                                 "image_url", url, "detail",
                                                 detail ? json_string_value(detail) : "auto"));
        } else {
            bad(e, "unsupported content part type (input_text, input_image, output_text)",
                "input[%zu].content[%zu].type", i, k);
            goto fail;
        }
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}

/* One input item, normalised (with an id); NULL after *e is set. */
static json_t *input_item(const json_t *it, size_t i, gw_invalid *e)
{
    char id[64];
    if (!json_is_object(it)) {
        bad(e, "an input item must be an object", "input[%zu]", i);
        return NULL;
    }
    json_t *tv = json_object_get(it, "type");
    const char *type = tv ? json_string_value(tv) : "message"; /* {role, content}: a message */
    if (!type) {
        bad(e, "expected a string", "input[%zu].type", i);
        return NULL;
    }
    json_t *idv = json_object_get(it, "id");
    if (idv && !short_string(idv)) {
        bad(e, "expected a string of 1 to 128 bytes", "input[%zu].id", i);
        return NULL;
    }
    if (strcmp(type, "message") == 0) {
        const char *role = json_string_value(json_object_get(it, "role"));
        if (!role || (strcmp(role, "user") && strcmp(role, "system") && strcmp(role, "developer") &&
                      strcmp(role, "assistant"))) {
            bad(e, "expected one of 'user', 'system', 'developer', 'assistant'", "input[%zu].role", i);
            return NULL;
        }
        json_t *content = message_content(json_object_get(it, "content"), role, i, e);
        if (!content) return NULL;
        gw_resp_new_id("msg", id, sizeof id);
        return json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", idv ? json_string_value(idv) : id,
                         "type", "message", "status", "completed", "role", role, "content", content);
    }
    if (strcmp(type, "function_call") == 0) {
        json_t *cid = json_object_get(it, "call_id"), *name = json_object_get(it, "name");
        json_t *args = json_object_get(it, "arguments");
        if (!short_string(cid)) return bad(e, "expected a string of 1 to 128 bytes", "input[%zu].call_id", i), NULL;
        if (!short_string(name)) return bad(e, "expected a string of 1 to 128 bytes", "input[%zu].name", i), NULL;
        if (!json_is_string(args)) return bad(e, "expected a string", "input[%zu].arguments", i), NULL;
        gw_resp_new_id("fc", id, sizeof id);
        return json_pack("{s:s, s:s, s:s, s:O, s:O, s:O}", "id", idv ? json_string_value(idv) : id,
                         "type", "function_call", "status", "completed", "call_id", cid, "name",
                         name, "arguments", args);
    }
    if (strcmp(type, "function_call_output") == 0) {
        json_t *cid = json_object_get(it, "call_id"), *out = json_object_get(it, "output");
        if (!short_string(cid)) return bad(e, "expected a string of 1 to 128 bytes", "input[%zu].call_id", i), NULL;
        if (!json_is_string(out)) return bad(e, "expected a string", "input[%zu].output", i), NULL;
        gw_resp_new_id("fco", id, sizeof id);
        return json_pack("{s:s, s:s, s:s, s:O, s:O}", "id", idv ? json_string_value(idv) : id,
                         "type", "function_call_output", "status", "completed", "call_id", cid,
                         "output", out);
    }
    bad(e, "unsupported input item type (message, function_call, function_call_output)",
        "input[%zu].type", i);
    return NULL;
}

static int check_tools(const json_t *tools, gw_invalid *e)
{
    if (!tools || json_is_null(tools)) return 0;
    if (!json_is_array(tools) || json_array_size(tools) > GW_RESP_MAX_TOOLS)
        return bad(e, "expected an array of at most 128 tools", "tools");
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) {
        const char *type = json_string_value(json_object_get(t, "type"));
        if (!json_is_object(t) || !type) return bad(e, "a tool must be an object with a type", "tools[%zu]", i);
        if (strcmp(type, "mcp") == 0) { /* executed by the gateway's agent loop (agent.c) */
            const char *field, *why = gw_mcp_tool_invalid(t, &field);
            if (why) return bad(e, why, "tools[%zu].%s", i, field);
            continue;
        }
        if (strcmp(type, "function") != 0)
            return bad(e, "unsupported tool type (the gateway runs 'function' and 'mcp' tools)",
                       "tools[%zu].type", i);
        json_t *params = json_object_get(t, "parameters"), *desc = json_object_get(t, "description");
        if (!short_string(json_object_get(t, "name")))
            return bad(e, "expected a string of 1 to 128 bytes", "tools[%zu].name", i);
        if (params && !json_is_object(params) && !json_is_null(params))
            return bad(e, "expected a JSON schema object", "tools[%zu].parameters", i);
        if (desc && !json_is_string(desc) && !json_is_null(desc))
            return bad(e, "expected a string", "tools[%zu].description", i);
    }
    return 0;
}

static int check_tool_choice(const json_t *c, gw_invalid *e)
{
    if (!c || json_is_null(c)) return 0;
    const char *s = json_string_value(c);
    if (s && (!strcmp(s, "none") || !strcmp(s, "auto") || !strcmp(s, "required"))) return 0;
    const char *type = json_string_value(json_object_get(c, "type"));
    if (type && strcmp(type, "function") == 0 && short_string(json_object_get(c, "name"))) return 0;
    return bad(e, "expected 'none', 'auto', 'required' or {\"type\":\"function\",\"name\":...}",
               "tool_choice");
}

static int check_number(const json_t *body, const char *name, double lo, double hi, gw_invalid *e)
{
    json_t *v = json_object_get(body, name);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_number(v) || json_number_value(v) < lo || json_number_value(v) > hi) {
        char msg[96];
        snprintf(msg, sizeof msg, "expected a number from %g to %g", lo, hi);
        return bad(e, msg, "%s", name);
    }
    return 0;
}

static int check_bool(const json_t *body, const char *name, gw_invalid *e)
{
    json_t *v = json_object_get(body, name);
    if (v && !json_is_boolean(v) && !json_is_null(v)) return bad(e, "expected a boolean", "%s", name);
    return 0;
}

static int check_metadata(const json_t *m, gw_invalid *e)
{
    if (!m || json_is_null(m)) return 0;
    if (!json_is_object(m) || json_object_size(m) > GW_RESP_MAX_METADATA)
        return bad(e, "expected an object of at most 16 pairs", "metadata");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)m, k, v) {
        if (strlen(k) > 64 || !json_is_string(v) || json_string_length(v) > 512)
            return bad(e, "keys are at most 64 bytes, values strings of at most 512 bytes",
                       "metadata");
    }
    return 0;
}

int gw_resp_parse(const json_t *body, gw_resp_request *q, gw_invalid *e)
{
    memset(q, 0, sizeof *q);
    memset(e, 0, sizeof *e);
    json_t *model = json_object_get(body, "model");
    if (!short_string(model)) return bad(e, "expected a string of 1 to 128 bytes", "model");
    q->model = json_string_value(model);
    json_t *ins = json_object_get(body, "instructions");
    if (ins && !json_is_string(ins) && !json_is_null(ins)) return bad(e, "expected a string", "instructions");
    q->instructions = json_string_value(ins);
    json_t *prev = json_object_get(body, "previous_response_id");
    if (prev && !json_is_null(prev) && !short_string(prev))
        return bad(e, "expected a string of 1 to 128 bytes", "previous_response_id");
    q->previous_response_id = json_string_value(prev);
    if (check_bool(body, "stream", e) || check_bool(body, "store", e) ||
        check_bool(body, "parallel_tool_calls", e) || check_bool(body, "background", e) ||
        check_number(body, "temperature", 0, 2, e) || check_number(body, "top_p", 0, 1, e) ||
        check_number(body, "max_output_tokens", 1, 1e9, e) ||
        check_number(body, "max_tool_calls", 0, 1e6, e) ||
        check_tools(json_object_get(body, "tools"), e) ||
        check_tool_choice(json_object_get(body, "tool_choice"), e) ||
        check_metadata(json_object_get(body, "metadata"), e))
        return -1;
    if (json_is_true(json_object_get(body, "background")))
        return bad(e, "background responses are not supported", "background");
    json_t *mot = json_object_get(body, "max_output_tokens");
    if (mot && !json_is_null(mot) && !json_is_integer(mot))
        return bad(e, "expected an integer", "max_output_tokens");
    q->max_output_tokens = json_is_integer(mot) ? (long)json_integer_value(mot) : 0;
    json_t *mtc = json_object_get(body, "max_tool_calls");
    if (mtc && !json_is_null(mtc) && !json_is_integer(mtc))
        return bad(e, "expected an integer", "max_tool_calls");
    q->stream = json_is_true(json_object_get(body, "stream"));
    json_t *store = json_object_get(body, "store");
    q->store = !json_is_false(store); /* the API's default: stored */
    json_t *in = json_object_get(body, "input");
    if (json_is_string(in)) {
        char id[64];
        gw_resp_new_id("msg", id, sizeof id);
        q->input = json_pack("[{s:s, s:s, s:s, s:s, s:[o]}]", "id", id, "type", "message", "status",
                             "completed", "role", "user", "content",
                             text_part("input_text", json_string_value(in)));
        return q->input ? 0 : bad(e, "out of memory", "input");
    }
    if (!json_is_array(in) || json_array_size(in) > GW_RESP_MAX_ITEMS)
        return bad(e, "expected a string or an array of at most 1024 items", "input");
    if (json_array_size(in) == 0 && !q->previous_response_id)
        return bad(e, "expected at least one item", "input");
    q->input = json_array();
    size_t i;
    json_t *it;
    json_array_foreach(in, i, it) {
        json_t *n = input_item(it, i, e);
        if (!n) {
            gw_resp_request_clear(q);
            return -1;
        }
        json_array_append_new(q->input, n);
    }
    return 0;
}

void gw_resp_request_clear(gw_resp_request *q)
{
    json_decref(q->input);
    q->input = NULL;
}

/* ---- to chat ----------------------------------------------------------------- */

/* A message's text parts joined, or (with an image) chat content parts. */
static json_t *chat_content(const json_t *parts)
{
    size_t i, len = 0;
    json_t *p;
    int image = 0;
    json_array_foreach(parts, i, p) {
        const char *t = json_string_value(json_object_get(p, "text"));
        if (t) len += strlen(t);
        else image = 1;
    }
    if (image) {
        json_t *out = json_array();
        json_array_foreach(parts, i, p) {
            json_t *t = json_object_get(p, "text");
            if (t) json_array_append_new(out, json_pack("{s:s, s:O}", "type", "text", "text", t));
            else json_array_append_new(out, json_pack("{s:s, s:{s:O, s:O}}", "type", "image_url",
                                                      "image_url", "url",
                                                      json_object_get(p, "image_url"), "detail",
                                                      json_object_get(p, "detail")));
        }
        return out;
    }
    char *s = malloc(len + 1);
    if (!s) return NULL;
    len = 0;
    json_array_foreach(parts, i, p) {
        const char *t = json_string_value(json_object_get(p, "text"));
        size_t n = strlen(t);
        memcpy(s + len, t, n);
        len += n;
    }
    json_t *out = json_stringn(s, len);
    free(s);
    return out;
}

/* An mcp_call item of a stored response (the gateway's own output, context of a
 * previous_response_id): the assistant's call and the tool's answer, as the agent loop
 * gave them to the model ("error: ..." for a failed call). */
static void add_mcp_call(json_t *msgs, const json_t *it)
{
    json_t *id = json_object_get(it, "id"), *name = json_object_get(it, "name");
    const char *args = json_string_value(json_object_get(it, "arguments"));
    json_t *out = json_object_get(it, "output");
    const char *err = json_string_value(json_object_get(it, "error"));
    if (!json_is_string(id) || !json_is_string(name)) return;
    json_array_append_new(msgs, json_pack("{s:s, s:n, s:[{s:O, s:s, s:{s:O, s:s}}]}", "role",
                                          "assistant", "content", "tool_calls", "id", id, "type",
                                          "function", "function", "name", name, "arguments",
                                          args ? args : "{}"));
    json_t *content;
    if (json_is_string(out)) {
        content = json_incref(out);
    } else {
        size_t n = (err ? strlen(err) : 0) + 8;
        char *s = malloc(n);
        if (s) snprintf(s, n, "error: %s", err ? err : "");
        content = s ? json_string(s) : NULL;
        free(s);
    }
    if (content)
        json_array_append_new(msgs, json_pack("{s:s, s:O, s:o}", "role", "tool", "tool_call_id", id,
                                              "content", content));
}

static void add_messages(json_t *msgs, const json_t *items)
{
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        const char *type = json_string_value(json_object_get(it, "type"));
        if (!type) continue;
        json_t *last = json_array_get(msgs, json_array_size(msgs) - 1);
        if (strcmp(type, "message") == 0) {
            const char *role = json_string_value(json_object_get(it, "role"));
            if (role && strcmp(role, "developer") == 0) role = "system";
            json_array_append_new(msgs, json_pack("{s:s, s:o*}", "role", role ? role : "user",
                                                  "content",
                                                  chat_content(json_object_get(it, "content"))));
        } else if (strcmp(type, "function_call") == 0) {
            json_t *call = json_pack("{s:O, s:s, s:{s:O, s:O}}", "id", json_object_get(it, "call_id"),
                                     "type", "function", "function", "name",
                                     json_object_get(it, "name"), "arguments",
                                     json_object_get(it, "arguments"));
            const char *lrole = json_string_value(json_object_get(last, "role"));
            if (!lrole || strcmp(lrole, "assistant") != 0) {
                last = json_pack("{s:s, s:n}", "role", "assistant", "content");
                json_array_append_new(msgs, last);
            }
            json_t *calls = json_object_get(last, "tool_calls");
            if (!calls) {
                calls = json_array();
                json_object_set_new(last, "tool_calls", calls);
            }
            json_array_append_new(calls, call);
        } else if (strcmp(type, "function_call_output") == 0) {
            json_array_append_new(msgs, json_pack("{s:s, s:O, s:O}", "role", "tool", "tool_call_id",
                                                  json_object_get(it, "call_id"), "content",
                                                  json_object_get(it, "output")));
        } else if (strcmp(type, "mcp_call") == 0) { /* a stored run's call: as the loop sent it */
            add_mcp_call(msgs, it);
        }
    }
}

json_t *gw_resp_chat_request(const json_t *body, const gw_resp_request *q, const json_t *items)
{
    json_t *msgs = json_array();
    if (q->instructions)
        json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "system", "content", q->instructions));
    add_messages(msgs, items);
    json_t *chat = json_pack("{s:s, s:o, s:b}", "model", q->model, "messages", msgs,
                             "stream", q->stream);
    if (!chat) return NULL;
    if (q->stream) json_object_set_new(chat, "stream_options", json_pack("{s:b}", "include_usage", 1));
    json_t *tools = json_object_get(body, "tools");
    if (json_array_size(tools) > 0) {
        json_t *ct = json_array();
        size_t i;
        json_t *t;
        json_array_foreach(tools, i, t) {
            const char *type = json_string_value(json_object_get(t, "type"));
            if (type && strcmp(type, "mcp") == 0) { /* as chat completions take it (agent.c) */
                json_array_append(ct, t);
                continue;
            }
            json_t *fn = json_pack("{s:O}", "name", json_object_get(t, "name"));
            const char *keys[] = {"description", "parameters", "strict"};
            for (size_t k = 0; k < 3; k++) {
                json_t *v = json_object_get(t, keys[k]);
                if (v && !json_is_null(v)) json_object_set(fn, keys[k], v);
            }
            json_array_append_new(ct, json_pack("{s:s, s:o}", "type", "function", "function", fn));
        }
        json_object_set_new(chat, "tools", ct);
        json_t *c = json_object_get(body, "tool_choice");
        if (json_is_string(c)) json_object_set(chat, "tool_choice", c);
        else if (json_is_object(c))
            json_object_set_new(chat, "tool_choice",
                                json_pack("{s:s, s:{s:O}}", "type", "function", "function", "name",
                                          json_object_get(c, "name")));
        json_t *par = json_object_get(body, "parallel_tool_calls");
        if (json_is_boolean(par)) json_object_set(chat, "parallel_tool_calls", par);
    }
    json_t *mtc = json_object_get(body, "max_tool_calls");
    if (json_is_integer(mtc)) json_object_set(chat, "max_tool_calls", mtc);
    const char *nums[] = {"temperature", "top_p"};
    for (size_t k = 0; k < 2; k++) {
        json_t *v = json_object_get(body, nums[k]);
        if (json_is_number(v)) json_object_set(chat, nums[k], v);
    }
    if (q->max_output_tokens > 0)
        json_object_set_new(chat, "max_tokens", json_integer(q->max_output_tokens));
    return chat;
}

json_t *gw_resp_object(const json_t *body, const gw_resp_request *q, const char *id,
                       long created_at)
{
    json_t *r = json_pack("{s:s, s:s, s:I, s:n, s:s, s:b, s:n, s:n, s:s, s:[], s:n, s:b}", "id", id,
                          "object", "response", "created_at", (json_int_t)created_at,
                          "completed_at", "status", "in_progress", "background", 0, "error",
                          "incomplete_details", "model", q->model, "output", "usage", "store",
                          q->store);
    if (!r) return NULL;
    json_t *v;
    json_object_set_new(r, "instructions", q->instructions ? json_string(q->instructions) : json_null());
    json_object_set_new(r, "max_output_tokens",
                        q->max_output_tokens ? json_integer(q->max_output_tokens) : json_null());
    v = json_object_get(body, "max_tool_calls");
    json_object_set_new(r, "max_tool_calls", json_is_integer(v) ? json_copy(v) : json_null());
    v = json_object_get(body, "metadata");
    json_object_set_new(r, "metadata", json_is_object(v) ? json_copy(v) : json_object());
    v = json_object_get(body, "parallel_tool_calls");
    json_object_set_new(r, "parallel_tool_calls", json_boolean(!json_is_false(v)));
    json_object_set_new(r, "previous_response_id",
                        q->previous_response_id ? json_string(q->previous_response_id) : json_null());
    v = json_object_get(body, "temperature");
    json_object_set_new(r, "temperature", json_is_number(v) ? json_copy(v) : json_real(1.0));
    v = json_object_get(body, "top_p");
    json_object_set_new(r, "top_p", json_is_number(v) ? json_copy(v) : json_real(1.0));
    v = json_object_get(body, "tool_choice");
    json_object_set_new(r, "tool_choice", v && !json_is_null(v) ? gw_json_clone(v) : json_string("auto"));
    v = json_object_get(body, "tools");
    json_object_set_new(r, "tools", json_is_array(v) ? gw_json_clone(v) : json_array());
    size_t ti;
    json_t *tool;
    json_array_foreach(json_object_get(r, "tools"), ti, tool) /* an MCP server's headers may */
        json_object_del(tool, "headers");                        /* hold its credentials */
    json_object_set_new(r, "text", json_pack("{s:{s:s}}", "format", "type", "text"));
    json_object_set_new(r, "truncation", json_string("disabled"));
    json_object_set_new(r, "reasoning", json_pack("{s:n, s:n}", "effort", "summary"));
    json_object_set_new(r, "service_tier", json_string("default"));
    json_object_set_new(r, "presence_penalty", json_real(0));
    json_object_set_new(r, "frequency_penalty", json_real(0));
    json_object_set_new(r, "top_logprobs", json_integer(0));
    json_object_set_new(r, "user", json_null());
    json_object_set_new(r, "safety_identifier", json_null());
    json_object_set_new(r, "prompt_cache_key", json_null());
    return r;
}
