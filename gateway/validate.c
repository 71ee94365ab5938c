/*
 * validate.c - is a request body's every field of the right type and domain?
 *
 * The OpenAI API refuses a request whose fields it reads have the wrong type
 * or value with 400 invalid_request_error naming the field ("param", nested
 * fields as "messages.[0].content"); the gateway does the same for every
 * field it reads or forwards, so a mistake never passes silently nor reaches
 * the simulator's or the proxy's code in a shape they do not expect. Each
 * check fills gw_invalid with the first problem found and returns -1. null
 * counts as absent for optional fields, as OpenAI treats it. Fields the
 * gateway neither reads nor knows are left to the upstream.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gateway.h"

#define GW_MAX_EMBEDDING_INPUTS 2048
#define GW_MAX_N 128

static int bad(gw_invalid *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(gw_invalid *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a decimal";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

static int wrong_type(gw_invalid *e, const char *want, const json_t *v)
{
    return bad(e, "Invalid type for '%s': expected %s, but got %s instead.", e->param, want,
               type_name(v));
}

/* The optional field `name` of object o (NULL when absent or null); names it in e. */
static json_t *field(const json_t *o, const char *name, gw_invalid *e)
{
    snprintf(e->param, sizeof e->param, "%s", name);
    json_t *v = json_object_get(o, name);
    return json_is_null(v) ? NULL : v;
}

static int check_bool(const json_t *o, const char *name, gw_invalid *e)
{
    json_t *v = field(o, name, e);
    return v && !json_is_boolean(v) ? wrong_type(e, "a boolean", v) : 0;
}

static int check_int(const json_t *o, const char *name, long lo, long hi, long *out, gw_invalid *e)
{
    json_t *v = field(o, name, e);
    if (!v) return 0;
    if (!json_is_integer(v)) return wrong_type(e, "an integer", v);
    json_int_t x = json_integer_value(v);
    if (x < lo) return bad(e, "Invalid '%s': expected a value >= %ld, but got %lld instead.", name, lo, (long long)x);
    if (x > hi) return bad(e, "Invalid '%s': expected a value <= %ld, but got %lld instead.", name, hi, (long long)x);
    *out = (long)x;
    return 0;
}

static int check_number(const json_t *o, const char *name, double hi, gw_invalid *e)
{
    json_t *v = field(o, name, e);
    if (!v) return 0;
    if (!json_is_number(v)) return wrong_type(e, "a number", v);
    double x = json_number_value(v);
    if (x < 0 || x > hi)
        return bad(e, "Invalid '%s': expected a value between 0 and %g, but got %g instead.", name, hi, x);
    return 0;
}

static int check_content(const json_t *m, const char *role, gw_invalid *e)
{
    json_t *c = json_object_get(m, "content");
    if (json_is_string(c)) return 0;
    if (!c || json_is_null(c)) {
        if (strcmp(role, "assistant") == 0 &&
            (json_object_get(m, "tool_calls") || json_object_get(m, "function_call")))
            return 0;
        return bad(e, "Invalid value for '%s': expected a string or an array of content parts "
                      "(null only for an assistant message with tool_calls).", e->param);
    }
    if (!json_is_array(c)) return wrong_type(e, "a string or an array of content parts", c);
    if (json_array_size(c) == 0)
        return bad(e, "Invalid '%s': empty array. Expected an array with at least one content part.", e->param);
    size_t n = strlen(e->param), i;
    json_t *p;
    json_array_foreach(c, i, p) {
        snprintf(e->param + n, sizeof e->param - n, ".[%zu]", i);
        if (!json_is_object(p)) return wrong_type(e, "an object", p);
        snprintf(e->param + n, sizeof e->param - n, ".[%zu].type", i);
        json_t *t = json_object_get(p, "type");
        if (!json_is_string(t)) return wrong_type(e, "a string", t ? t : json_null());
    }
    return 0;
}

/* messages from index first on (the ones before are known to be valid) */
static int check_messages_from(const json_t *b, size_t first, gw_invalid *e)
{
    static const char *roles[] = {"system", "user", "assistant", "tool", "developer", "function"};
    json_t *v = field(b, "messages", e);
    if (!json_is_array(v) || json_array_size(v) == 0)
        return bad(e, "'messages' is required and must be a non-empty array");
    for (size_t i = first; i < json_array_size(v); i++) {
        json_t *m = json_array_get(v, i);
        snprintf(e->param, sizeof e->param, "messages.[%zu]", i);
        if (!json_is_object(m)) return wrong_type(e, "an object", m);
        snprintf(e->param, sizeof e->param, "messages.[%zu].role", i);
        const char *role = json_string_value(json_object_get(m, "role"));
        if (!role) return bad(e, "Invalid '%s': each message needs a string 'role'.", e->param);
        size_t k = 0;
        while (k < sizeof roles / sizeof *roles && strcmp(role, roles[k]) != 0) k++;
        if (k == sizeof roles / sizeof *roles)
            return bad(e, "Invalid value for '%s': supported values are 'system', 'user', "
                          "'assistant', 'tool', 'developer' and 'function'.", e->param);
        snprintf(e->param, sizeof e->param, "messages.[%zu].content", i);
        if (check_content(m, role, e) != 0) return -1;
    }
    return 0;
}

int gw_validate_messages(const json_t *body, size_t first, gw_invalid *e)
{
    return check_messages_from(body, first, e);
}

const char *gw_mcp_tool_invalid(const json_t *t, const char **field)
{
    json_t *label = json_object_get(t, "server_label"), *url = json_object_get(t, "server_url");
    json_t *allowed = json_object_get(t, "allowed_tools"), *headers = json_object_get(t, "headers");
    json_t *approval = json_object_get(t, "require_approval");
    *field = "server_label";
    if (!json_is_string(label) || json_string_length(label) == 0 || json_string_length(label) > 64)
        return "an MCP tool needs a 'server_label' of 1 to 64 bytes";
    *field = "server_url";
    if (url && (!json_is_string(url) || json_string_length(url) > 2048))
        return "expected a URL string of at most 2048 bytes";
    *field = "allowed_tools";
    size_t k;
    json_t *v;
    if (allowed && !json_is_array(allowed)) return "expected an array of tool names";
    json_array_foreach(allowed, k, v)
        if (!json_is_string(v)) return "expected an array of tool names";
    *field = "headers";
    const char *hk;
    if (headers && !json_is_object(headers)) return "expected an object";
    json_object_foreach((json_t *)headers, hk, v)
        if (!json_is_string(v) || strpbrk(hk, ":\r\n") || strpbrk(json_string_value(v), "\r\n"))
            return "header names and values must be strings without line breaks";
    *field = "require_approval";
    if (approval && !(json_is_string(approval) && strcmp(json_string_value(approval), "never") == 0))
        return "the gateway only runs MCP tools with \"never\"";
    return NULL;
}

static int check_mcp_tool(const json_t *t, size_t i, gw_invalid *e)
{
    const char *field, *why = gw_mcp_tool_invalid(t, &field);
    if (!why) return 0;
    snprintf(e->param, sizeof e->param, "tools.[%zu].%s", i, field);
    return bad(e, "Invalid '%s': %s.", e->param, why);
}

static int check_tools(const json_t *b, gw_invalid *e)
{
    json_t *v = field(b, "tools", e);
    if (v && !json_is_array(v)) return wrong_type(e, "an array", v);
    size_t i;
    json_t *t;
    json_array_foreach(v, i, t) {
        snprintf(e->param, sizeof e->param, "tools.[%zu]", i);
        if (!json_is_object(t)) return wrong_type(e, "an object", t);
        snprintf(e->param, sizeof e->param, "tools.[%zu].type", i);
        const char *type = json_string_value(json_object_get(t, "type"));
        if (type && strcmp(type, "mcp") == 0) { /* run by the gateway's agent loop (agent.c) */
            if (check_mcp_tool(t, i, e) != 0) return -1;
            continue;
        }
        if (!type || strcmp(type, "function") != 0)
            return bad(e, "Invalid value for '%s': supported values are 'function' and 'mcp'.",
                       e->param);
        snprintf(e->param, sizeof e->param, "tools.[%zu].function.name", i);
        if (!json_is_string(json_object_get(json_object_get(t, "function"), "name")))
            return bad(e, "Invalid '%s': each tool needs a function with a string 'name'.", e->param);
    }
    json_t *tools = v;
    v = field(b, "tool_choice", e);
    if (!v) return 0;
    if (!tools || json_array_size(tools) == 0)
        return bad(e, "Invalid value for 'tool_choice': 'tool_choice' is only allowed when "
                      "'tools' are specified.");
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strcmp(s, "none") == 0 || strcmp(s, "auto") == 0 || strcmp(s, "required") == 0) return 0;
        return bad(e, "Invalid value for 'tool_choice': supported values are 'none', 'auto', "
                      "'required' or an object naming a function.");
    }
    if (!json_is_object(v)) return wrong_type(e, "a string or an object", v);
    const char *type = json_string_value(json_object_get(v, "type"));
    if (!type || strcmp(type, "function") != 0 ||
        !json_is_string(json_object_get(json_object_get(v, "function"), "name")))
        return bad(e, "Invalid 'tool_choice': an object must be {\"type\": \"function\", "
                      "\"function\": {\"name\": ...}}.");
    return 0;
}

/* prompt / input: a string, or a non-empty array of strings, of token ids, or of
 * non-empty arrays of token ids (one kind throughout). */
static int check_text(const json_t *b, const char *name, int nonempty, gw_invalid *e)
{
    json_t *v = field(b, name, e);
    if (json_is_string(v)) {
        if (nonempty && json_string_length(v) == 0)
            return bad(e, "Invalid '%s': expected a non-empty string.", name);
        return 0;
    }
    if (!json_is_array(v) || json_array_size(v) == 0)
        return bad(e, "'%s' is required and must be a string or a non-empty array of strings "
                      "or token ids", name);
    json_t *first = json_array_get(v, 0);
    size_t i, k;
    json_t *x, *t;
    json_array_foreach(v, i, x) {
        snprintf(e->param, sizeof e->param, "%s.[%zu]", name, i);
        if (json_is_string(first)) {
            if (!json_is_string(x)) return wrong_type(e, "a string", x);
            if (nonempty && json_string_length(x) == 0)
                return bad(e, "Invalid '%s': expected a non-empty string.", e->param);
        } else if (json_is_integer(first)) {
            if (!json_is_integer(x) || json_integer_value(x) < 0)
                return bad(e, "Invalid '%s': expected a token id (an integer >= 0).", e->param);
        } else if (json_is_array(first)) {
            if (!json_is_array(x) || json_array_size(x) == 0)
                return bad(e, "Invalid '%s': expected a non-empty array of token ids.", e->param);
            json_array_foreach(x, k, t)
                if (!json_is_integer(t) || json_integer_value(t) < 0)
                    return bad(e, "Invalid '%s.[%zu]': expected a token id (an integer >= 0).",
                               e->param, k);
        } else {
            return wrong_type(e, "a string, a token id or an array of token ids", x);
        }
    }
    return 0;
}

int gw_validate(const json_t *b, gw_op op, gw_fields *f, gw_invalid *e)
{
    f->max_tokens = 0;
    f->n = 1;
    json_t *v = field(b, "model", e);
    if (!json_is_string(v) || json_string_length(v) == 0)
        return bad(e, "'model' is required and must be a non-empty string");
    if (check_bool(b, "stream", e) != 0) return -1;
    if ((v = field(b, "stream_options", e)) && !json_is_object(v)) return wrong_type(e, "an object", v);
    json_t *iu = json_object_get(v, "include_usage");
    if (iu && !json_is_boolean(iu) && !json_is_null(iu)) {
        snprintf(e->param, sizeof e->param, "stream_options.include_usage");
        return wrong_type(e, "a boolean", iu);
    }
    if (v && !json_is_true(json_object_get(b, "stream"))) {
        snprintf(e->param, sizeof e->param, "stream_options");
        return bad(e, "The 'stream_options' parameter is only allowed when 'stream' is enabled.");
    }
    if (check_int(b, "max_tokens", 1, LONG_MAX, &f->max_tokens, e) != 0 ||
        check_int(b, "max_completion_tokens", 1, LONG_MAX, &f->max_tokens, e) != 0)
        return -1;
    if (op == GW_OP_EMBEDDINGS) {
        if (json_is_true(json_object_get(b, "stream"))) {
            snprintf(e->param, sizeof e->param, "stream");
            return bad(e, "embeddings cannot be streamed");
        }
        if (check_text(b, "input", 1, e) != 0) return -1;
        /* each input costs a vector of embedding_dims numbers: without a bound a 1 MB
         * body of short inputs asks for hundreds of MB (OpenAI's own limit) */
        if (json_array_size(json_object_get(b, "input")) > GW_MAX_EMBEDDING_INPUTS) {
            snprintf(e->param, sizeof e->param, "input");
            return bad(e, "'input' may hold at most %d items", GW_MAX_EMBEDDING_INPUTS);
        }
        const char *ef = json_string_value(v = field(b, "encoding_format", e));
        if (v && (!ef || (strcmp(ef, "float") != 0 && strcmp(ef, "base64") != 0)))
            return bad(e, "'encoding_format' must be \"float\" or \"base64\"");
        return 0;
    }
    if (check_int(b, "n", 1, GW_MAX_N, &f->n, e) != 0 || check_number(b, "temperature", 2, e) != 0 ||
        check_number(b, "top_p", 1, e) != 0)
        return -1;
    if (op == GW_OP_COMPLETION) return check_text(b, "prompt", 0, e);
    return check_messages_from(b, 0, e) != 0 || check_tools(b, e) != 0 ? -1 : 0;
}
