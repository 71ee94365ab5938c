/*
 * test_llm_trace.c - the LLM tracker's GenAI spans through a real tracer
 * into an in-memory exporter: a model call (CLIENT "{operation} {model}",
 * request, response and usage attributes, streamed tokens, the explicit
 * parent), failures (error.type, status ERROR), the thread's current span
 * as the default parent, an agent run containing a model call and a tool
 * execution (INTERNAL spans chained through sonde_llm_call_span), the
 * legacy begins, message content (off by default, on by option or by
 * OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true, bounded), and no
 * span without a tracer or for an inert call.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sonde/sonde.h"
#include "span_sink.h"

#define CONTENT_ENV "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"

typedef struct fixture {
    span_sink k;
    sonde_tracer *t;
    sonde_registry *reg;
    sonde_llm *llm;
} fixture;

static void setup(fixture *f, int capture)
{
    f->t = span_sink_tracer(&f->k, SONDE_SAMPLER_PARENTBASED_ALWAYS_ON);
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    CHECK_EQ_INT(sonde_registry_new(&cfg, &f->reg), SONDE_OK);
    sonde_llm_opts o = {.prefix = "gw", .tracer = f->t, .capture_message_content = capture};
    CHECK_EQ_INT(sonde_llm_new(f->reg, &o, &f->llm), SONDE_OK);
}

static void flush(fixture *f, size_t want)
{
    CHECK_EQ_INT(sonde_tracer_flush(f->t, 5000), SONDE_OK);
    CHECK_EQ_INT(span_sink_count(&f->k), want);
}

/* 1 when a sample line of the OpenMetrics exposition starting with sample carries the
 * exemplar of span s (its trace and span id). */
static int has_exemplar(fixture *f, const char *sample, const sunk_span *s)
{
    char tid[33], sid[17], want[128];
    sonde_trace_id_hex(s->trace_id, tid);
    sonde_span_id_hex(s->span_id, sid);
    snprintf(want, sizeof want, "# {trace_id=\"%s\",span_id=\"%s\"}", tid, sid);
    char *text = sonde_expose_alloc(f->reg, SONDE_FORMAT_OPENMETRICS, NULL);
    int found = 0;
    for (char *line = text; line && *line && !found;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        found = !strncmp(line, sample, strlen(sample)) && strstr(line, want);
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    return found;
}

static void teardown(fixture *f)
{
    CHECK_EQ_INT(sonde_llm_free(f->llm), 0);
    sonde_registry_free(f->reg);
    span_sink_free(&f->k, f->t);
}

TEST(model_call_span)
{
    fixture f;
    setup(&f, 0);
    sonde_span_context parent;
    CHECK_EQ_INT(sonde_traceparent_parse(
                     "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", NULL, &parent),
                 SONDE_OK);
    sonde_llm_call call;
    sonde_llm_request rq = {.operation = "chat", .provider = "OpenAI", .model = "gpt-4o",
                            .server_address = "api.openai.com", .server_port = 443,
                            .streaming = 1, .parent = &parent,
                            .input_messages = "[{\"role\":\"user\"}]"};
    CHECK_EQ_INT(sonde_llm_call_begin(f.llm, &call, &rq), SONDE_OK);
    sonde_span *span = sonde_llm_call_span(&call);
    CHECK(span && sonde_span_is_recording(span));
    sonde_llm_call_tokens(&call, 0);
    sonde_llm_call_tokens(&call, 3);
    sonde_llm_call_tokens(&call, 4);
    sonde_llm_result res = {.status = SONDE_LLM_OK, .response_model = "gpt-4o-2024-08-06",
                            .input_tokens = 12, .output_tokens = SONDE_LLM_UNKNOWN,
                            .finish_reason = "stop", .response_id = "chatcmpl-123",
                            .output_messages = "[{\"role\":\"assistant\"}]"};
    CHECK_EQ_INT(sonde_llm_call_end(&call, &res), SONDE_OK);
    CHECK(sonde_llm_call_span(&call) == NULL);
    flush(&f, 1);
    const sunk_span *s = span_sink_find(&f.k, "chat gpt-4o");
    CHECK(s != NULL);
    if (s) {
        CHECK_EQ_INT(s->kind, SONDE_SPAN_CLIENT);
        CHECK_EQ_INT(s->status, SONDE_STATUS_UNSET);
        CHECK(!memcmp(s->trace_id, parent.trace_id, 16));
        CHECK(s->has_parent && !memcmp(s->parent, parent.span_id, 8));
        CHECK_EQ_STR(sunk_str(s, "gen_ai.operation.name"), "chat");
        CHECK_EQ_STR(sunk_str(s, "gen_ai.provider.name"), "openai");
        CHECK_EQ_STR(sunk_str(s, "gen_ai.request.model"), "gpt-4o");
        CHECK_EQ_STR(sunk_str(s, "server.address"), "api.openai.com");
        CHECK_EQ_INT(sunk_int(s, "server.port"), 443);
        CHECK_EQ_STR(sunk_str(s, "gen_ai.response.model"), "gpt-4o-2024-08-06");
        CHECK_EQ_STR(sunk_str(s, "gen_ai.response.id"), "chatcmpl-123");
        CHECK_EQ_STR(sunk_str(s, "gen_ai.response.finish_reasons"), "stop");
        CHECK_EQ_INT(sunk_int(s, "gen_ai.usage.input_tokens"), 12);
        CHECK_EQ_INT(sunk_int(s, "gen_ai.usage.output_tokens"), 7); /* streamed */
        CHECK(sunk_get(s, "error.type") == NULL);
        /* capture is off by default: no content */
        CHECK(sunk_get(s, "gen_ai.input.messages") == NULL);
        CHECK(sunk_get(s, "gen_ai.output.messages") == NULL);
        /* the metrics of the call carry the span's ids as exemplars */
        CHECK(has_exemplar(&f, "gen_ai_client_operation_duration_seconds_bucket{", s));
        CHECK(has_exemplar(&f, "gen_ai_server_request_duration_seconds_bucket{", s));
        CHECK(has_exemplar(&f, "gen_ai_server_time_to_first_token_seconds_bucket{", s));
        CHECK(has_exemplar(&f, "gen_ai_client_time_to_first_chunk_seconds_bucket{", s));
        CHECK(has_exemplar(&f, "gen_ai_client_token_usage_bucket{", s));
        CHECK(has_exemplar(&f, "gw_provider_calls_total{", s));
    }
    teardown(&f);
}

TEST(failed_calls_are_errors)
{
    fixture f;
    setup(&f, 0);
    sonde_llm_call call;
    sonde_llm_request rq = {.operation = "embeddings", .provider = "bedrock"};
    CHECK_EQ_INT(sonde_llm_call_begin(f.llm, &call, &rq), SONDE_OK);
    sonde_llm_result res = {.status = SONDE_LLM_TIMEOUT, .input_tokens = -1, .output_tokens = -1};
    CHECK_EQ_INT(sonde_llm_call_end(&call, &res), SONDE_OK);
    rq.operation = "chat";
    rq.model = "m1";
    CHECK_EQ_INT(sonde_llm_call_begin(f.llm, &call, &rq), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_call_abandon(&call), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_call_end(&call, NULL), SONDE_EINVAL); /* ended once */
    CHECK_EQ_INT(sonde_llm_call_begin(f.llm, &call, &rq), SONDE_OK);
    sonde_llm_result typed = {.status = SONDE_LLM_OK, .error_type = "upstream_502",
                              .input_tokens = -1, .output_tokens = -1};
    CHECK_EQ_INT(sonde_llm_call_end(&call, &typed), SONDE_OK);
    flush(&f, 3);
    const sunk_span *s = span_sink_find(&f.k, "embeddings"); /* no model: the operation */
    CHECK(s && s->status == SONDE_STATUS_ERROR);
    CHECK_EQ_STR(sunk_str(s, "error.type"), "timeout");
    CHECK_EQ_STR(sunk_str(s, "gen_ai.provider.name"), "aws.bedrock");
    CHECK(sunk_get(s, "gen_ai.request.model") == NULL);
    CHECK(sunk_get(s, "gen_ai.usage.input_tokens") == NULL); /* unknown */
    CHECK(sunk_get(s, "server.port") == NULL);
    int cancelled = 0, typed_seen = 0;
    for (size_t i = 0; i < span_sink_count(&f.k); i++) {
        const char *e = sunk_str(&f.k.spans[i], "error.type");
        if (strcmp(f.k.spans[i].name, "chat m1"))
            continue;
        CHECK_EQ_INT(f.k.spans[i].status, SONDE_STATUS_ERROR);
        cancelled += e && !strcmp(e, "cancelled");
        typed_seen += e && !strcmp(e, "upstream_502");
    }
    CHECK_EQ_INT(cancelled, 1);
    CHECK_EQ_INT(typed_seen, 1);
    teardown(&f);
}

TEST(agent_tool_and_model_spans_chain)
{
    fixture f;
    setup(&f, 0);
    /* the thread's current span is the default parent */
    sonde_span *root = sonde_span_start(f.t, "POST /v1/agents", SONDE_SPAN_SERVER, NULL);
    sonde_span *prev = sonde_span_enter(root);
    sonde_llm_call agent, model, tool, legacy;
    sonde_llm_agent_request aq = {.name = "support-bot", .provider = "openai", .model = "gpt-4o",
                                  .id = "asst_5", .description = "answers tickets"};
    CHECK_EQ_INT(sonde_llm_agent_begin_ex(f.llm, &agent, &aq), SONDE_OK);
    sonde_span_context actx;
    CHECK_EQ_INT(sonde_span_get_context(sonde_llm_call_span(&agent), &actx), SONDE_OK);

    sonde_llm_request rq = {.operation = "chat", .provider = "openai", .model = "gpt-4o",
                            .parent = &actx};
    CHECK_EQ_INT(sonde_llm_call_begin(f.llm, &model, &rq), SONDE_OK);
    sonde_llm_result done = {.status = SONDE_LLM_OK, .input_tokens = 5, .output_tokens = 9,
                             .finish_reason = "tool_calls"};
    CHECK_EQ_INT(sonde_llm_call_end(&model, &done), SONDE_OK);

    sonde_llm_tool_request tq = {.name = "get_weather", .call_id = "call_VSPygqKTWdrhaFErNvMV18Yl",
                                 .type = "function", .description = "weather by city",
                                 .arguments = "{\"city\":\"Paris\"}", .parent = &actx};
    CHECK_EQ_INT(sonde_llm_tool_begin_ex(f.llm, &tool, &tq), SONDE_OK);
    sonde_llm_result tool_res = {.status = SONDE_LLM_OK, .input_tokens = -1, .output_tokens = -1,
                                 .output_messages = "sunny"};
    CHECK_EQ_INT(sonde_llm_call_end(&tool, &tool_res), SONDE_OK);

    CHECK_EQ_INT(sonde_llm_tool_begin(f.llm, &legacy, "web_search", NULL), SONDE_OK); /* current */
    CHECK_EQ_INT(sonde_llm_call_end(&legacy, NULL), SONDE_OK);
    sonde_llm_result failed = {.status = SONDE_LLM_ERROR, .error_type = "tool_failed",
                               .input_tokens = -1, .output_tokens = -1};
    CHECK_EQ_INT(sonde_llm_call_end(&agent, &failed), SONDE_OK);
    sonde_span_context rctx;
    sonde_span_get_context(root, &rctx);
    sonde_span_end(root);
    sonde_span_exit(prev);
    flush(&f, 5);

    const sunk_span *a = span_sink_find(&f.k, "invoke_agent support-bot");
    const sunk_span *m = span_sink_find(&f.k, "chat gpt-4o");
    const sunk_span *t = span_sink_find(&f.k, "execute_tool get_weather");
    const sunk_span *w = span_sink_find(&f.k, "execute_tool web_search");
    CHECK(a && m && t && w);
    if (!(a && m && t && w)) {
        teardown(&f);
        return;
    }
    for (const sunk_span *const *s = (const sunk_span *const[]){a, m, t, w, NULL}; *s; s++)
        CHECK(!memcmp((*s)->trace_id, rctx.trace_id, 16)); /* one trace */
    CHECK(a->has_parent && !memcmp(a->parent, rctx.span_id, 8)); /* current span */
    CHECK(w->has_parent && !memcmp(w->parent, rctx.span_id, 8));
    CHECK(!memcmp(m->parent, a->span_id, 8)); /* explicit parents */
    CHECK(!memcmp(t->parent, a->span_id, 8));

    CHECK_EQ_INT(a->kind, SONDE_SPAN_INTERNAL);
    CHECK_EQ_INT(a->status, SONDE_STATUS_ERROR);
    CHECK_EQ_STR(sunk_str(a, "gen_ai.operation.name"), "invoke_agent");
    CHECK_EQ_STR(sunk_str(a, "gen_ai.agent.name"), "support-bot");
    CHECK_EQ_STR(sunk_str(a, "gen_ai.agent.id"), "asst_5");
    CHECK_EQ_STR(sunk_str(a, "gen_ai.agent.description"), "answers tickets");
    CHECK_EQ_STR(sunk_str(a, "gen_ai.request.model"), "gpt-4o");
    CHECK_EQ_STR(sunk_str(a, "gen_ai.provider.name"), "openai");
    CHECK_EQ_STR(sunk_str(a, "error.type"), "tool_failed");

    CHECK_EQ_STR(sunk_str(m, "gen_ai.response.finish_reasons"), "tool_calls");
    CHECK_EQ_INT(sunk_int(m, "gen_ai.usage.output_tokens"), 9);

    CHECK_EQ_INT(t->kind, SONDE_SPAN_INTERNAL);
    CHECK_EQ_INT(t->status, SONDE_STATUS_UNSET);
    CHECK_EQ_STR(sunk_str(t, "gen_ai.operation.name"), "execute_tool");
    CHECK_EQ_STR(sunk_str(t, "gen_ai.tool.name"), "get_weather");
    CHECK_EQ_STR(sunk_str(t, "gen_ai.tool.call.id"), "call_VSPygqKTWdrhaFErNvMV18Yl");
    CHECK_EQ_STR(sunk_str(t, "gen_ai.tool.type"), "function");
    CHECK_EQ_STR(sunk_str(t, "gen_ai.tool.description"), "weather by city");
    CHECK(sunk_get(t, "gen_ai.tool.call.arguments") == NULL); /* capture off */
    CHECK(sunk_get(t, "gen_ai.tool.call.result") == NULL);
    CHECK(sunk_get(t, "gen_ai.usage.input_tokens") == NULL);
    CHECK_EQ_STR(sunk_str(w, "gen_ai.tool.name"), "web_search");
    /* the exemplars name the tool's and the agent's spans, not the thread's current one */
    CHECK(has_exemplar(&f, "gw_tool_duration_seconds_bucket{tool=\"get_weather\"", t));
    CHECK(has_exemplar(&f, "gw_tool_duration_seconds_bucket{tool=\"web_search\"", w));
    CHECK(has_exemplar(&f, "gw_agent_duration_seconds_bucket{", a));
    CHECK(sunk_get(w, "gen_ai.provider.name") == NULL);
    teardown(&f);
}

/* Thread-per-request code makes the agent's span current for what it contains, and may
 * end it while it is current: the span it replaced becomes current again. */
TEST(ending_a_current_call_restores_the_previous_span)
{
    fixture f;
    setup(&f, 0);
    sonde_span *root = sonde_span_start(f.t, "root", SONDE_SPAN_SERVER, NULL);
    sonde_span *outer = sonde_span_enter(root);
    sonde_llm_call agent, tool;
    CHECK_EQ_INT(sonde_llm_agent_begin(f.llm, &agent, "planner", NULL, NULL), SONDE_OK);
    sonde_span *before = sonde_span_enter(sonde_llm_call_span(&agent));
    CHECK(before == root);
    CHECK_EQ_INT(sonde_llm_tool_begin(f.llm, &tool, "search", NULL), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_call_end(&tool, NULL), SONDE_OK);
    CHECK(sonde_span_current() == sonde_llm_call_span(&agent));
    CHECK_EQ_INT(sonde_llm_call_end(&agent, NULL), SONDE_OK);
    CHECK(sonde_span_current() == root);
    sonde_span_end(root);
    CHECK(sonde_span_current() == outer);
    flush(&f, 3);
    const sunk_span *a = span_sink_find(&f.k, "invoke_agent planner");
    const sunk_span *t = span_sink_find(&f.k, "execute_tool search");
    CHECK(a && t && !memcmp(t->parent, a->span_id, 8));
    CHECK(a && has_exemplar(&f, "gw_agent_duration_seconds_bucket{", a));
    teardown(&f);
}

/* A pipeline run is an INTERNAL "invoke_workflow {name}" span, the parent of the agent run
 * inside it while current; terminated ends it with status ERROR and error.type. */
TEST(pipeline_span_contains_its_agents)
{
    fixture f;
    setup(&f, 0);
    sonde_llm_call pipe, agent;
    CHECK_EQ_INT(sonde_llm_pipeline_begin(f.llm, &pipe, "nightly-etl"), SONDE_OK);
    sonde_span *prev = sonde_span_enter(sonde_llm_call_span(&pipe));
    CHECK_EQ_INT(sonde_llm_agent_begin(f.llm, &agent, "summarizer", NULL, NULL), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_call_end(&agent, NULL), SONDE_OK);
    sonde_span_exit(prev);
    sonde_llm_result stopped = {.status = SONDE_LLM_TERMINATED};
    CHECK_EQ_INT(sonde_llm_call_end(&pipe, &stopped), SONDE_OK);
    flush(&f, 2);
    const sunk_span *p = span_sink_find(&f.k, "invoke_workflow nightly-etl");
    const sunk_span *a = span_sink_find(&f.k, "invoke_agent summarizer");
    CHECK(p && a);
    if (p && a) {
        CHECK(a->has_parent && !memcmp(a->parent, p->span_id, 8));
        CHECK_EQ_INT(p->kind, SONDE_SPAN_INTERNAL);
        CHECK_EQ_INT(p->status, SONDE_STATUS_ERROR);
        CHECK_EQ_STR(sunk_str(p, "gen_ai.operation.name"), "invoke_workflow");
        CHECK_EQ_STR(sunk_str(p, "gen_ai.workflow.name"), "nightly-etl");
        CHECK_EQ_STR(sunk_str(p, "error.type"), "terminated");
        CHECK(sunk_get(p, "gen_ai.agent.name") == NULL);
        CHECK(has_exemplar(&f, "gw_pipeline_duration_seconds_bucket{", p));
    }
    teardown(&f);
}

/* Content with capture on, by option or environment; a long value cut. */
static void content_case(int option, const char *env, int want)
{
    if (env)
        setenv(CONTENT_ENV, env, 1);
    else
        unsetenv(CONTENT_ENV);
    fixture f;
    setup(&f, option);
    unsetenv(CONTENT_ENV); /* read once, at creation */
    size_t big = 100000;
    char *huge = malloc(big + 1);
    memset(huge, 'a', big);
    memcpy(huge + 65535, "\xc3\xa9", 2); /* a character across the 64 KiB cut */
    huge[big] = '\0';
    sonde_llm_call call, tool;
    sonde_llm_request rq = {.operation = "chat", .provider = "openai", .model = "m",
                            .input_messages = "[{\"role\":\"user\",\"content\":\"hi\"}]",
                            .system_instructions = "be brief"};
    CHECK_EQ_INT(sonde_llm_call_begin(f.llm, &call, &rq), SONDE_OK);
    sonde_llm_result res = {.input_tokens = -1, .output_tokens = -1, .output_messages = huge};
    CHECK_EQ_INT(sonde_llm_call_end(&call, &res), SONDE_OK);
    sonde_llm_tool_request tq = {.name = "t", .arguments = "{\"q\":1}"};
    CHECK_EQ_INT(sonde_llm_tool_begin_ex(f.llm, &tool, &tq), SONDE_OK);
    sonde_llm_result tr = {.input_tokens = -1, .output_tokens = -1, .output_messages = "42"};
    CHECK_EQ_INT(sonde_llm_call_end(&tool, &tr), SONDE_OK);
    flush(&f, 2);
    const sunk_span *s = span_sink_find(&f.k, "chat m");
    const sunk_span *t = span_sink_find(&f.k, "execute_tool t");
    CHECK(s && t);
    if (want) {
        CHECK_EQ_STR(sunk_str(s, "gen_ai.input.messages"),
                     "[{\"role\":\"user\",\"content\":\"hi\"}]");
        CHECK_EQ_STR(sunk_str(s, "gen_ai.system_instructions"), "be brief");
        const sunk_attr *out = sunk_get(s, "gen_ai.output.messages");
        CHECK(out != NULL);
        CHECK_EQ_INT(out ? out->len : 0, 65535); /* cut before the two-byte character */
        CHECK_EQ_STR(sunk_str(t, "gen_ai.tool.call.arguments"), "{\"q\":1}");
        CHECK_EQ_STR(sunk_str(t, "gen_ai.tool.call.result"), "42");
    } else {
        CHECK(sunk_get(s, "gen_ai.input.messages") == NULL);
        CHECK(sunk_get(s, "gen_ai.system_instructions") == NULL);
        CHECK(sunk_get(s, "gen_ai.output.messages") == NULL);
        CHECK(sunk_get(t, "gen_ai.tool.call.arguments") == NULL);
        CHECK(sunk_get(t, "gen_ai.tool.call.result") == NULL);
    }
    free(huge);
    teardown(&f);
}

TEST(message_content_capture)
{
    content_case(0, NULL, 0);    /* default: off */
    content_case(0, "false", 0);
    content_case(0, "yes", 0);   /* only "true" */
    content_case(0, "true", 1);
    content_case(0, "TRUE", 1);
    content_case(1, NULL, 1);    /* option on */
    content_case(-1, "true", 0); /* option off wins */
}

TEST(no_tracer_or_inert_no_span)
{
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    sonde_registry *reg;
    CHECK_EQ_INT(sonde_registry_new(&cfg, &reg), SONDE_OK);
    sonde_llm *llm;
    CHECK_EQ_INT(sonde_llm_new(reg, NULL, &llm), SONDE_OK);
    sonde_llm_call call;
    sonde_llm_request rq = {.operation = "chat", .provider = "openai", .model = "m"};
    CHECK_EQ_INT(sonde_llm_call_begin(llm, &call, &rq), SONDE_OK);
    CHECK(sonde_llm_call_span(&call) == NULL);
    CHECK_EQ_INT(sonde_llm_call_end(&call, NULL), SONDE_OK);
    sonde_llm_free(llm);
    sonde_registry_free(reg);

    fixture f;
    setup(&f, 0);
    rq.provider = ""; /* refused: the call is inert, no span */
    CHECK_EQ_INT(sonde_llm_call_begin(f.llm, &call, &rq), SONDE_EINVAL);
    CHECK(sonde_llm_call_span(&call) == NULL);
    CHECK_EQ_INT(sonde_llm_call_end(&call, NULL), SONDE_OK);
    flush(&f, 0);
    teardown(&f);
}

int main(void)
{
    RUN(model_call_span);
    RUN(failed_calls_are_errors);
    RUN(agent_tool_and_model_spans_chain);
    RUN(pipeline_span_contains_its_agents);
    RUN(ending_a_current_call_restores_the_previous_span);
    RUN(message_content_capture);
    RUN(no_tracer_or_inert_no_span);
    return check_report();
}
