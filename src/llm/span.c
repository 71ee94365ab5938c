/*
 * span.c - the GenAI spans of calls, tool executions and agent runs, when
 * the module has a tracer (sonde/llm.h, "Tracing").
 *
 * The span's name is computed once per route (route.c keeps it in the
 * route's block), so a begin adds a span start and, when the sampler
 * records, the route's attributes, all strings the route already validated.
 * What only the span sees (response id, tool call id, type, description,
 * agent id, message content) comes straight from the caller and is bounded
 * here: identifiers and descriptions are cut at LLM_SPAN_TEXT_MAX bytes,
 * content at LLM_SPAN_CONTENT_MAX, on a UTF-8 character boundary; the
 * tracer's own limits and UTF-8 sanitising apply on top. Content is set
 * only when the module's capture switch is on, which sonde_llm_new() reads
 * once (option, else OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT).
 *
 * gen_ai.response.finish_reasons is a string array in the conventions;
 * spans carry scalar attributes only, so it is the one finish reason given,
 * as a string.
 */
#include <stdlib.h>
#include <string.h>

#include "llm_internal.h"

#define LLM_SPAN_TEXT_MAX 1024
#define LLM_SPAN_CONTENT_MAX 65536

int llm_capture_from_env(void)
{
    const char *v = getenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT");
    return v && strlen(v) == 4 && sonde_internal_ascii_ncasecmp(v, "true", 4) == 0;
}

static const char *span_op(int kind, const char *op)
{
    return kind == KIND_TOOL       ? "execute_tool"
           : kind == KIND_AGENT    ? "invoke_agent"
           : kind == KIND_PIPELINE ? LLM_PIPELINE_OPERATION
                                   : op;
}

static const char *span_subject(int kind, const char *model, const char *name)
{
    const char *x = kind == KIND_MODEL ? model : name;
    return x ? x : "";
}

size_t llm_span_name_size(int kind, const char *op, const char *model, const char *name)
{
    return strlen(span_op(kind, op)) + 1 + strlen(span_subject(kind, model, name)) + 1;
}

void llm_span_name(int kind, const char *op, const char *model, const char *name, char *out)
{
    const char *o = span_op(kind, op), *x = span_subject(kind, model, name);
    size_t n = strlen(o);
    memcpy(out, o, n);
    if (*x) {
        out[n++] = ' ';
        memcpy(out + n, x, strlen(x));
        n += strlen(x);
    }
    out[n] = '\0';
}

/* s (NULL or "": nothing) as key, cut at max bytes on a character boundary. */
static void set_bounded(sonde_span *span, const char *key, const char *s, size_t max)
{
    if (!s || !*s)
        return;
    size_t n = strnlen(s, max + 1);
    if (n <= max) {
        sonde_span_set_str(span, key, s);
        return;
    }
    n = sonde_utf8_valid_prefix(s, max);
    char *cut = malloc(n + 1);
    if (!cut)
        return;
    memcpy(cut, s, n);
    cut[n] = '\0';
    sonde_span_set_str(span, key, cut);
    free(cut);
}

static void set_nonempty(sonde_span *span, const char *key, const char *s)
{
    if (s && *s)
        sonde_span_set_str(span, key, s);
}

static void set_content(const struct sonde_llm *llm, sonde_span *span, const char *key,
                        const char *s)
{
    if (llm->capture)
        set_bounded(span, key, s, LLM_SPAN_CONTENT_MAX);
}

sonde_span *llm_span_begin(const struct sonde_llm *llm, const llm_route *r, const void *req)
{
    const sonde_llm_request *model = r->kind == KIND_MODEL ? req : NULL;
    const sonde_llm_tool_request *tool = r->kind == KIND_TOOL ? req : NULL;
    const sonde_llm_agent_request *agent = r->kind == KIND_AGENT ? req : NULL;
    const sonde_span_context *parent =
        model ? model->parent : tool ? tool->parent : agent ? agent->parent : NULL;
    sonde_span *span = sonde_span_start(llm->tracer, r->span_name,
                                        r->kind == KIND_MODEL ? SONDE_SPAN_CLIENT
                                                              : SONDE_SPAN_INTERNAL,
                                        parent);
    if (!sonde_span_is_recording(span))
        return span;
    sonde_span_set_str(span, "gen_ai.operation.name", span_op(r->kind, r->op));
    set_nonempty(span, "gen_ai.provider.name", r->norm);
    set_nonempty(span, "gen_ai.request.model", r->model);
    switch (r->kind) {
    case KIND_MODEL:
        set_nonempty(span, "server.address", r->addr);
        if (r->port)
            sonde_span_set_int(span, "server.port", r->port);
        if (model) {
            set_content(llm, span, "gen_ai.system_instructions", model->system_instructions);
            set_content(llm, span, "gen_ai.input.messages", model->input_messages);
        }
        break;
    case KIND_TOOL:
        sonde_span_set_str(span, "gen_ai.tool.name", r->name);
        if (tool) {
            set_bounded(span, "gen_ai.tool.call.id", tool->call_id, LLM_SPAN_TEXT_MAX);
            set_bounded(span, "gen_ai.tool.type", tool->type, LLM_SPAN_TEXT_MAX);
            set_bounded(span, "gen_ai.tool.description", tool->description, LLM_SPAN_TEXT_MAX);
            set_content(llm, span, "gen_ai.tool.call.arguments", tool->arguments);
        }
        break;
    case KIND_PIPELINE:
        sonde_span_set_str(span, "gen_ai.workflow.name", r->name);
        break;
    default:
        sonde_span_set_str(span, "gen_ai.agent.name", r->name);
        if (agent) {
            set_bounded(span, "gen_ai.agent.id", agent->id, LLM_SPAN_TEXT_MAX);
            set_bounded(span, "gen_ai.agent.description", agent->description, LLM_SPAN_TEXT_MAX);
        }
        break;
    }
    return span;
}

void llm_span_end(const struct sonde_llm *llm, sonde_span *span, const llm_series_key *key,
                  const sonde_llm_result *res, int64_t input_tokens, int64_t output_tokens)
{
    if (sonde_span_is_recording(span)) {
        int kind = key->route->kind;
        if (kind == KIND_MODEL) {
            set_nonempty(span, "gen_ai.response.model", key->resp_model);
            set_bounded(span, "gen_ai.response.id", res->response_id, LLM_SPAN_TEXT_MAX);
            set_nonempty(span, "gen_ai.response.finish_reasons", key->finish);
            if (input_tokens >= 0)
                sonde_span_set_int(span, "gen_ai.usage.input_tokens", input_tokens);
            if (output_tokens >= 0)
                sonde_span_set_int(span, "gen_ai.usage.output_tokens", output_tokens);
        }
        set_content(llm, span,
                    kind == KIND_TOOL ? "gen_ai.tool.call.result" : "gen_ai.output.messages",
                    res->output_messages);
        if (key->status != SONDE_LLM_OK) {
            sonde_span_set_str(span, "error.type", key->error_type);
            sonde_span_set_status(span, SONDE_STATUS_ERROR, key->error_type);
        }
    }
    sonde_span_end(span);
}

sonde_span *sonde_llm_call_span(const sonde_llm_call *call)
{
    return call && __atomic_load_n(&call->state_, __ATOMIC_ACQUIRE) == CALL_OPEN ? call->span_
                                                                                  : NULL;
}
