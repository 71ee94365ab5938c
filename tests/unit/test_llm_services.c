/*
 * test_llm_services.c - the LLM module beyond single model calls, with a
 * fake clock: tool executions, agent and pipeline runs (their counters,
 * durations, in-flight gauges, the terminated status and the GenAI
 * execute_tool / invoke_agent / invoke_workflow durations), cost from a price
 * table, the rate-limit counter, the legacy gen_ai_system label, roles,
 * the cardinality limit, a disabled registry, and the families the module
 * owns (a user cannot clear them while it caches their children).
 */
#include <sonde/sonde.h>
#include <stdio.h>
#include <stdlib.h>

#include "llm_test.h"

static const sonde_llm_request CHAT = {.operation = "chat",
                                       .provider = "anthropic",
                                       .model = "claude-sonnet-4",
                                       .server_address = "api.anthropic.com",
                                       .server_port = 443};

TEST(tools_and_agents)
{
    fake_clock_start();
    sonde_registry *reg;
    sonde_llm *llm;
    CHECK_EQ_INT(sonde_registry_new(NULL, &reg), SONDE_OK);
    sonde_llm_opts opts = {.prefix = "svc"};
    CHECK_EQ_INT(sonde_llm_new(reg, &opts, &llm), SONDE_OK);
    sonde_llm_call tool, agent;
    at_ms(0);
    CHECK_EQ_INT(sonde_llm_agent_begin(llm, &agent, "triage", "openai", "gpt-4o"), SONDE_OK);
    at_ms(100);
    CHECK_EQ_INT(sonde_llm_tool_begin(llm, &tool, "get_weather", "openai"), SONDE_OK);
    at_ms(130);
    CHECK_EQ_INT(sonde_llm_call_end(&tool, NULL), SONDE_OK);
    at_ms(200);
    CHECK_EQ_INT(sonde_llm_tool_begin(llm, &tool, "get_weather", "openai"), SONDE_OK);
    at_ms(2200);
    sonde_llm_result timeout = {.status = SONDE_LLM_TIMEOUT, .response_model = "ignored"};
    CHECK_EQ_INT(sonde_llm_call_end(&tool, &timeout), SONDE_OK);
    at_ms(12000);
    CHECK_EQ_INT(sonde_llm_call_end(&agent, NULL), SONDE_OK);

    const char *const ok[] = {"get_weather", "ok"};
    const char *const to[] = {"get_weather", "timeout"};
    const char *const name[] = {"get_weather"};
    CHECK_EQ_DBL(counter_at(reg, "svc_tool_executions_total", ok), 1);
    CHECK_EQ_DBL(counter_at(reg, "svc_tool_executions_total", to), 1);
    /* registry latency buckets 0.005 .. 10: 0.03 -> le=0.05 (3), 2 -> le=2.5 (8) */
    CHECK_HIST(reg, "svc_tool_duration_seconds", name, 2, 0.03 + 2.0, 3, 1, 8, 1);
    const char *const t_ok[] = {"execute_tool", "openai", "", "", "", "", ""};
    const char *const t_to[] = {"execute_tool", "openai", "", "", "", "", "timeout"};
    CHECK_HIST(reg, "gen_ai_client_operation_duration_seconds", t_ok, 1, 0.03, 2, 1);
    CHECK_HIST(reg, "gen_ai_client_operation_duration_seconds", t_to, 1, 2.0, 8, 1);
    CHECK(series(reg, "gen_ai_server_request_duration_seconds", t_ok) == NULL);

    const char *const a_ok[] = {"triage", "ok"};
    const char *const a_name[] = {"triage"};
    CHECK_EQ_DBL(counter_at(reg, "svc_agent_executions_total", a_ok), 1);
    /* agent runs have the long-duration buckets 0.1 .. 3600: 12 s -> le=30 (7) */
    CHECK_HIST(reg, "svc_agent_duration_seconds", a_name, 1, 12.0, 7, 1);
    const char *const g_agent[] = {"invoke_agent", "openai", "gpt-4o", "", "", "", ""};
    CHECK_HIST(reg, "gen_ai_client_operation_duration_seconds", g_agent, 1, 12.0, 11, 1);
    /* tools and agents are no provider calls */
    CHECK_EQ_INT(sonde_metric_child_count(sonde_registry_find(reg, "svc_provider_calls_total")), 0);
    const char *const provider[] = {"openai"};
    CHECK(series(reg, "svc_calls_in_flight", provider) == NULL);
    CHECK_EQ_INT(sonde_llm_free(llm), 0);
    sonde_registry_free(reg);
    sonde_set_clock(NULL, NULL, NULL);
}

/* Agent runs in progress by name, the terminated status, and pipelines counted apart. */
TEST(agents_in_flight_terminated_and_pipelines)
{
    fake_clock_start();
    sonde_registry *reg;
    sonde_llm *llm;
    CHECK_EQ_INT(sonde_registry_new(NULL, &reg), SONDE_OK);
    sonde_llm_opts opts = {.prefix = "svc"};
    CHECK_EQ_INT(sonde_llm_new(reg, &opts, &llm), SONDE_OK);
    const char *const triage[] = {"triage"}, *const coder[] = {"coder"}, *const etl[] = {"etl"};
    sonde_llm_call a1, a2, a3, p1, p2;
    at_ms(0);
    CHECK_EQ_INT(sonde_llm_pipeline_begin(llm, &p1, "etl"), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_agent_begin(llm, &a1, "triage", "openai", "gpt-4o"), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_agent_begin(llm, &a2, "triage", "openai", "gpt-4o"), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_agent_begin(llm, &a3, "coder", NULL, NULL), SONDE_OK);
    CHECK_EQ_DBL(gauge_at(reg, "svc_agent_runs_in_flight", triage), 2);
    CHECK_EQ_DBL(gauge_at(reg, "svc_agent_runs_in_flight", coder), 1);
    CHECK_EQ_DBL(gauge_at(reg, "svc_pipeline_runs_in_flight", etl), 1);
    CHECK(series(reg, "svc_agent_runs_in_flight", etl) == NULL); /* a pipeline is no agent */
    CHECK_EQ_INT(sonde_llm_open_calls(llm), 4);

    at_ms(1500);
    sonde_llm_result terminated = {.status = SONDE_LLM_TERMINATED};
    CHECK_EQ_INT(sonde_llm_call_end(&a1, &terminated), SONDE_OK); /* e.g. its step limit */
    CHECK_EQ_INT(sonde_llm_call_end(&a3, NULL), SONDE_OK);
    CHECK_EQ_DBL(gauge_at(reg, "svc_agent_runs_in_flight", triage), 1);
    CHECK_EQ_DBL(gauge_at(reg, "svc_agent_runs_in_flight", coder), 0);
    CHECK_EQ_INT(sonde_llm_call_abandon(&a2), SONDE_OK);
    at_ms(1200000); /* the pipeline ran 20 minutes */
    sonde_llm_result killed = {.status = SONDE_LLM_TERMINATED, .error_type = "shutdown"};
    CHECK_EQ_INT(sonde_llm_call_end(&p1, &killed), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_pipeline_begin(llm, &p2, "etl"), SONDE_OK);
    at_ms(1200000 + 45000);
    CHECK_EQ_INT(sonde_llm_call_end(&p2, NULL), SONDE_OK);
    CHECK_EQ_DBL(gauge_at(reg, "svc_agent_runs_in_flight", triage), 0);
    CHECK_EQ_DBL(gauge_at(reg, "svc_pipeline_runs_in_flight", etl), 0);
    CHECK_EQ_INT(sonde_llm_open_calls(llm), 0);

    const char *const a_term[] = {"triage", "terminated"}, *const a_canc[] = {"triage", "cancelled"};
    const char *const c_ok[] = {"coder", "ok"};
    CHECK_EQ_DBL(counter_at(reg, "svc_agent_executions_total", a_term), 1);
    CHECK_EQ_DBL(counter_at(reg, "svc_agent_executions_total", a_canc), 1);
    CHECK_EQ_DBL(counter_at(reg, "svc_agent_executions_total", c_ok), 1);
    const char *const g_term[] = {"invoke_agent", "openai", "gpt-4o", "", "", "", "terminated"};
    CHECK_HIST(reg, "gen_ai_client_operation_duration_seconds", g_term, 1, 1.5, 8, 1);
    /* pipelines: their own families, long-duration buckets (1200 -> le=1200 (12), 45 -> 60 (8)) */
    const char *const p_term[] = {"etl", "terminated"}, *const p_ok[] = {"etl", "ok"};
    CHECK_EQ_DBL(counter_at(reg, "svc_pipeline_executions_total", p_term), 1);
    CHECK_EQ_DBL(counter_at(reg, "svc_pipeline_executions_total", p_ok), 1);
    CHECK_HIST(reg, "svc_pipeline_duration_seconds", etl, 2, 1245.0, 8, 1, 12, 1);
    CHECK(series(reg, "svc_agent_executions_total", p_ok) == NULL);
    const char *const g_pipe[] = {"invoke_workflow", "", "", "", "", "", "shutdown"};
    /* the GenAI duration keeps the conventions' buckets (to 81.92): 1200 s is past them */
    CHECK_HIST(reg, "gen_ai_client_operation_duration_seconds", g_pipe, 1, 1200.0, 14, 1);
    /* a status past the last is refused, the call stays open */
    CHECK_EQ_INT(sonde_llm_pipeline_begin(llm, &p1, "etl"), SONDE_OK);
    sonde_llm_result bad = {.status = (sonde_llm_status)(SONDE_LLM_TERMINATED + 1)};
    CHECK_EQ_INT(sonde_llm_call_end(&p1, &bad), SONDE_EINVAL);
    CHECK_EQ_DBL(gauge_at(reg, "svc_pipeline_runs_in_flight", etl), 1);
    CHECK_EQ_INT(sonde_llm_call_end(&p1, NULL), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_pipeline_begin(llm, &p1, ""), SONDE_EINVAL); /* a name is needed */
    CHECK_EQ_INT(sonde_llm_free(llm), 0);
    sonde_registry_free(reg);
    sonde_set_clock(NULL, NULL, NULL);
}

TEST(cost_from_the_price_table)
{
    fake_clock_start();
    sonde_llm_prices *prices;
    CHECK_EQ_INT(sonde_llm_prices_new(&prices), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_prices_add(prices, "claude-sonnet-4", 3, 15, "USD"), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_prices_add(prices, "claude-sonnet-4-20250514", 2, 10, "EUR"), SONDE_OK);
    sonde_registry *reg;
    sonde_llm *llm;
    CHECK_EQ_INT(sonde_registry_new(NULL, &reg), SONDE_OK);
    sonde_llm_opts opts = {.prefix = "gateway", .prices = prices};
    CHECK_EQ_INT(sonde_llm_new(reg, &opts, &llm), SONDE_OK);
    sonde_llm_prices_free(prices); /* the module keeps its own copy */

    sonde_llm_call call;
    /* response model priced: its price, EUR */
    CHECK_EQ_INT(sonde_llm_call_begin(llm, &call, &CHAT), SONDE_OK);
    sonde_llm_result res = {
        .response_model = "claude-sonnet-4-20250514", .input_tokens = 1000, .output_tokens = 500};
    CHECK_EQ_INT(sonde_llm_call_end(&call, &res), SONDE_OK);
    /* response model not priced: the request model's price, USD, twice */
    res.response_model = "claude-sonnet-4-x";
    for (int i = 0; i < 2; i++) {
        CHECK_EQ_INT(sonde_llm_call_begin(llm, &call, &CHAT), SONDE_OK);
        CHECK_EQ_INT(sonde_llm_call_end(&call, &res), SONDE_OK);
    }
    const char *const eur[] = {"anthropic", "claude-sonnet-4", "EUR"};
    const char *const usd[] = {"anthropic", "claude-sonnet-4", "USD"};
    CHECK_EQ_DBL(counter_at(reg, "gateway_cost_total", eur), 1000 * (2 / 1e6) + 500 * (10 / 1e6));
    double one = 1000 * (3 / 1e6) + 500 * (15 / 1e6);
    CHECK_EQ_DBL(counter_at(reg, "gateway_cost_total", usd), one + one);
    /* a cancelled stream costs what it streamed; an unpriced model costs nothing */
    sonde_llm_request rq = CHAT;
    rq.streaming = 1;
    CHECK_EQ_INT(sonde_llm_call_begin(llm, &call, &rq), SONDE_OK);
    sonde_llm_call_tokens(&call, 100);
    CHECK_EQ_INT(sonde_llm_call_abandon(&call), SONDE_OK);
    CHECK_EQ_DBL(counter_at(reg, "gateway_cost_total", usd), one + one + 100 * (15 / 1e6));
    rq.model = "unpriced";
    CHECK_EQ_INT(sonde_llm_call_begin(llm, &call, &rq), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_call_end(&call, &res), SONDE_OK);
    CHECK_EQ_INT(sonde_metric_child_count(sonde_registry_find(reg, "gateway_cost_total")), 2);
    sonde_llm_free(llm);
    sonde_registry_free(reg);

    /* without a price table there is no cost family */
    CHECK_EQ_INT(sonde_registry_new(NULL, &reg), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_new(reg, NULL, &llm), SONDE_OK);
    CHECK(sonde_registry_find(reg, "cost_total") == NULL);
    CHECK(sonde_registry_find(reg, "provider_calls_total") != NULL);
    sonde_llm_free(llm);
    sonde_registry_free(reg);
    sonde_set_clock(NULL, NULL, NULL);
}

TEST(rate_limit_rejections)
{
    sonde_registry *reg;
    sonde_llm *llm;
    CHECK_EQ_INT(sonde_registry_new(NULL, &reg), SONDE_OK);
    sonde_llm_opts opts = {.prefix = "gateway"};
    CHECK_EQ_INT(sonde_llm_new(reg, &opts, &llm), SONDE_OK);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(sonde_llm_rate_limited(llm, "tokens_per_minute"), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_rate_limited(llm, "requests_per_minute"), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_rate_limited(llm, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_llm_rate_limited(llm, ""), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_llm_rate_limited(llm, "bad\xff"), SONDE_EUTF8);
    CHECK_EQ_INT(sonde_llm_rate_limited(NULL, "x"), SONDE_OK);
    const char *const tpm[] = {"tokens_per_minute"};
    const char *const rpm[] = {"requests_per_minute"};
    CHECK_EQ_DBL(counter_at(reg, "gateway_rate_limit_rejections_total", tpm), 3);
    CHECK_EQ_DBL(counter_at(reg, "gateway_rate_limit_rejections_total", rpm), 1);
    CHECK_EQ_INT(
        sonde_metric_child_count(sonde_registry_find(reg, "gateway_rate_limit_rejections_total")),
        2);
    sonde_llm_free(llm);
    sonde_registry_free(reg);
}

TEST(legacy_system_label_and_roles)
{
    sonde_registry *reg;
    sonde_llm *llm;
    CHECK_EQ_INT(sonde_registry_new(NULL, &reg), SONDE_OK);
    sonde_llm_opts opts = {.legacy_system_label = 1, .roles = SONDE_LLM_CLIENT};
    CHECK_EQ_INT(sonde_llm_new(reg, &opts, &llm), SONDE_OK);
    CHECK(sonde_registry_find(reg, "gen_ai_server_request_duration_seconds") == NULL);
    CHECK(sonde_registry_find(reg, "gen_ai_server_time_to_first_token_seconds") == NULL);
    CHECK(sonde_registry_find(reg, "gen_ai_client_time_to_first_chunk_seconds") != NULL);
    sonde_llm_call call;
    CHECK_EQ_INT(sonde_llm_call_begin(llm, &call, &CHAT), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_call_end(&call, NULL), SONDE_OK);
    char *text = sonde_expose_alloc(reg, SONDE_FORMAT_TEXT, NULL);
    CHECK_CONTAINS(text, "gen_ai_client_operation_duration_seconds_count{gen_ai_operation_name="
                         "\"chat\",gen_ai_provider_name=\"anthropic\",gen_ai_system=\"anthropic\","
                         "gen_ai_request_model=\"claude-sonnet-4\",gen_ai_response_model=\"\","
                         "server_address=\"api.anthropic.com\",server_port=\"443\","
                         "error_type=\"\"} 1\n");
    free(text);
    sonde_llm_free(llm);
    sonde_registry_free(reg);

    CHECK_EQ_INT(sonde_registry_new(NULL, &reg), SONDE_OK);
    opts = (sonde_llm_opts){.roles = SONDE_LLM_SERVER};
    CHECK_EQ_INT(sonde_llm_new(reg, &opts, &llm), SONDE_OK);
    CHECK(sonde_registry_find(reg, "gen_ai_client_operation_duration_seconds") == NULL);
    CHECK(sonde_registry_find(reg, "gen_ai_client_token_usage") == NULL);
    CHECK(sonde_registry_find(reg, "gen_ai_server_request_duration_seconds") != NULL);
    CHECK_EQ_INT(sonde_llm_call_begin(llm, &call, &CHAT), SONDE_OK);
    sonde_llm_result res = {.input_tokens = 3, .output_tokens = 4};
    CHECK_EQ_INT(sonde_llm_call_end(&call, &res), SONDE_OK);
    const char *const tin[] = {"anthropic", "claude-sonnet-4", "input"};
    CHECK_EQ_DBL(counter_at(reg, "tokens_total", tin), 3);
    sonde_llm_free(llm);
    sonde_registry_free(reg);
}

TEST(cardinality_limit)
{
    sonde_registry *reg;
    sonde_llm *llm;
    CHECK_EQ_INT(sonde_registry_new(NULL, &reg), SONDE_OK);
    sonde_llm_opts opts = {.cardinality_limit = 2};
    CHECK_EQ_INT(sonde_llm_new(reg, &opts, &llm), SONDE_OK);
    sonde_llm_request rq = CHAT;
    sonde_llm_call call;
    const char *models[] = {"m1", "m2", "m3"};
    for (int i = 0; i < 3; i++) {
        rq.model = models[i];
        int rc = sonde_llm_call_begin(llm, &call, &rq);
        CHECK_EQ_INT(rc, i < 2 ? SONDE_OK : SONDE_ELIMIT);
        CHECK_EQ_INT(sonde_llm_call_end(&call, NULL), SONDE_OK); /* inert after ELIMIT */
    }
    CHECK_EQ_INT(sonde_metric_child_count(sonde_registry_find(reg, "provider_calls_total")), 2);
    /* more response models than the series cache holds: still recorded up to the
     * families' limit, beyond it dropped by the family */
    rq.model = "m1";
    const char *resp[] = {"r1", "r2", "r3"};
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(sonde_llm_call_begin(llm, &call, &rq), SONDE_OK);
        sonde_llm_result res = {.response_model = resp[i], .input_tokens = 1, .output_tokens = 1};
        CHECK_EQ_INT(sonde_llm_call_end(&call, &res), SONDE_OK);
    }
    CHECK_EQ_INT(sonde_metric_child_count(
                     sonde_registry_find(reg, "gen_ai_client_operation_duration_seconds")),
                 2);
    const char *const ok[] = {"anthropic", "m1", "ok"};
    CHECK_EQ_DBL(counter_at(reg, "provider_calls_total", ok), 4);
    sonde_llm_free(llm);
    sonde_registry_free(reg);
}

TEST(disabled_registry_is_harmless)
{
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.enabled = 0;
    sonde_registry *reg;
    sonde_llm *llm;
    CHECK_EQ_INT(sonde_registry_new(&cfg, &reg), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_new(reg, NULL, &llm), SONDE_OK);
    sonde_llm_call call;
    sonde_llm_request rq = CHAT;
    rq.streaming = 1;
    CHECK_EQ_INT(sonde_llm_call_begin(llm, &call, &rq), SONDE_OK);
    sonde_llm_call_tokens(&call, 3);
    CHECK_EQ_INT(sonde_llm_call_end(&call, NULL), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_rate_limited(llm, "x"), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_free(llm), 0);
    sonde_registry_free(reg);
}

TEST(reused_buffers_and_two_modules_on_one_thread)
{
    sonde_registry *r1, *r2;
    sonde_llm *a, *b;
    CHECK_EQ_INT(sonde_registry_new(NULL, &r1), SONDE_OK);
    CHECK_EQ_INT(sonde_registry_new(NULL, &r2), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_new(r1, NULL, &a), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_new(r2, NULL, &b), SONDE_OK);
    char model[16], provider[16];
    sonde_llm_request rq = {.operation = "chat", .provider = provider, .model = model};
    sonde_llm_call call;
    /* the same buffers with new contents are new tuples */
    for (int i = 0; i < 6; i++) {
        snprintf(model, sizeof model, "m%d", i % 3);
        snprintf(provider, sizeof provider, "%s", i % 2 ? "groq" : "cohere");
        sonde_llm *m = i < 3 ? a : b;
        CHECK_EQ_INT(sonde_llm_call_begin(m, &call, &rq), SONDE_OK);
        CHECK_EQ_INT(sonde_llm_call_end(&call, NULL), SONDE_OK);
    }
    const char *const a0[] = {"cohere", "m0", "ok"}, *const a1[] = {"groq", "m1", "ok"},
                      *const a2[] = {"cohere", "m2", "ok"}, *const b0[] = {"groq", "m0", "ok"},
                      *const b1[] = {"cohere", "m1", "ok"}, *const b2[] = {"groq", "m2", "ok"};
    CHECK_EQ_DBL(counter_at(r1, "provider_calls_total", a0), 1);
    CHECK_EQ_DBL(counter_at(r1, "provider_calls_total", a1), 1);
    CHECK_EQ_DBL(counter_at(r1, "provider_calls_total", a2), 1);
    CHECK_EQ_DBL(counter_at(r2, "provider_calls_total", b0), 1);
    CHECK_EQ_DBL(counter_at(r2, "provider_calls_total", b1), 1);
    CHECK_EQ_DBL(counter_at(r2, "provider_calls_total", b2), 1);
    CHECK_EQ_INT(sonde_metric_child_count(sonde_registry_find(r1, "provider_calls_total")), 3);
    /* a module freed and another created: nothing of the old one is reused */
    sonde_llm_free(a);
    sonde_registry_free(r1);
    CHECK_EQ_INT(sonde_registry_new(NULL, &r1), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_new(r1, NULL, &a), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_call_begin(a, &call, &rq), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_call_end(&call, NULL), SONDE_OK);
    CHECK_EQ_DBL(counter_at(r1, "provider_calls_total", b2), 1);
    sonde_llm_free(a);
    sonde_llm_free(b);
    sonde_registry_free(r1);
    sonde_registry_free(r2);
}

/* Clearing, removing from or unregistering a module's family is refused while the module
 * lives; its cached children stay valid (ASan would see a use after free otherwise). */
TEST(module_families_are_owned)
{
    fake_clock_start();
    sonde_registry *reg;
    sonde_llm *llm;
    CHECK_EQ_INT(sonde_registry_new(NULL, &reg), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_new(reg, NULL, &llm), SONDE_OK);
    sonde_llm_call call;
    CHECK_EQ_INT(sonde_llm_call_begin(llm, &call, &CHAT), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_call_end(&call, NULL), SONDE_OK);
    const char *const ok[] = {"anthropic", "claude-sonnet-4", "ok"};
    CHECK_EQ_DBL(counter_at(reg, "provider_calls_total", ok), 1);

    const char *const names[] = {"provider_calls_total", "gen_ai_client_operation_duration_seconds",
                                 "calls_in_flight"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        sonde_metric *m = sonde_registry_find(reg, names[i]);
        CHECK(m != NULL);
        CHECK_EQ_INT(sonde_metric_clear(m), SONDE_EBUSY);
        CHECK_EQ_INT(sonde_unregister(m), SONDE_EBUSY);
    }
    sonde_metric *calls = sonde_registry_find(reg, "provider_calls_total");
    CHECK_EQ_INT(sonde_metric_remove(calls, ok), SONDE_EBUSY);
    CHECK_EQ_INT(sonde_metric_child_count(calls), 1);

    /* the module goes on recording through the children it cached */
    CHECK_EQ_INT(sonde_llm_call_begin(llm, &call, &CHAT), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_call_end(&call, NULL), SONDE_OK);
    CHECK_EQ_DBL(counter_at(reg, "provider_calls_total", ok), 2);

    /* once freed, the module gives its families up */
    CHECK_EQ_INT(sonde_llm_free(llm), 0);
    CHECK_EQ_INT(sonde_metric_clear(calls), SONDE_OK);
    CHECK_EQ_INT(sonde_metric_child_count(calls), 0);
    CHECK_EQ_INT(sonde_unregister(calls), SONDE_OK);
    CHECK(sonde_registry_find(reg, "provider_calls_total") == NULL);
    sonde_registry_free(reg);
    sonde_set_clock(NULL, NULL, NULL);
}

int main(void)
{
    RUN(tools_and_agents);
    RUN(agents_in_flight_terminated_and_pipelines);
    RUN(cost_from_the_price_table);
    RUN(rate_limit_rejections);
    RUN(legacy_system_label_and_roles);
    RUN(cardinality_limit);
    RUN(disabled_registry_is_harmless);
    RUN(reused_buffers_and_two_modules_on_one_thread);
    RUN(module_families_are_owned);
    return check_report();
}
