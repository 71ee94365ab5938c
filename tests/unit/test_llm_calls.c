/*
 * test_llm_calls.c - model calls through the LLM module with a fake clock:
 * every bucket, sum and count of every GenAI and provider family for a
 * streamed call with known timings (TTFT, TPOT, TTFC, TPOC), a non-streamed
 * call with a first-token mark, zero and one output token, failures with
 * error_type, timeouts, cancelled (abandoned) streams, and the in-flight
 * gauges while calls run.
 */
#include <sonde/sonde.h>

#include "llm_test.h"

static const char *const SCOPE_OK[] = {"chat",           "openai", "gpt-4o", "gpt-4o-2024-08-06",
                                       "api.openai.com", "443",    ""};
/* the same labels without the last one (TTFT, TPOT, TTFC, TPOC) */
#define SCOPE SCOPE_OK

static sonde_registry *reg;
static sonde_llm *llm;

static void setup(void)
{
    fake_clock_start();
    CHECK_EQ_INT(sonde_registry_new(NULL, &reg), SONDE_OK);
    sonde_llm_opts opts = {.prefix = "gateway"};
    CHECK_EQ_INT(sonde_llm_new(reg, &opts, &llm), SONDE_OK);
}

static void teardown(void)
{
    CHECK_EQ_INT(sonde_llm_free(llm), 0);
    sonde_registry_free(reg);
    sonde_set_clock(NULL, NULL, NULL);
}

static const sonde_llm_request STREAM = {.operation = "chat",
                                         .provider = "OpenAI",
                                         .model = "gpt-4o",
                                         .server_address = "api.openai.com",
                                         .server_port = 443,
                                         .streaming = 1};

TEST(streamed_call_records_every_family_exactly)
{
    setup();
    const char *const provider[] = {"openai"};
    sonde_llm_call call;
    at_ms(0);
    CHECK_EQ_INT(sonde_llm_call_begin(llm, &call, &STREAM), SONDE_OK);
    CHECK_EQ_DBL(gauge_at(reg, "gateway_calls_in_flight", provider), 1);
    CHECK_EQ_DBL(gauge_at(reg, "gateway_streams_in_flight", provider), 1);
    CHECK_EQ_INT(sonde_llm_open_calls(llm), 1);
    at_ms(300);
    sonde_llm_call_tokens(&call, 0); /* the role-only first chunk */
    at_ms(350);
    sonde_llm_call_tokens(&call, 1); /* first token */
    for (int i = 1; i <= 9; i++) {
        at_ms(350 + 100 * (uint64_t)i);
        sonde_llm_call_tokens(&call, 1);
    }
    at_ms(1350);
    sonde_llm_result res = {.status = SONDE_LLM_OK,
                            .response_model = "gpt-4o-2024-08-06",
                            .input_tokens = 100,
                            .output_tokens = SONDE_LLM_UNKNOWN,
                            .finish_reason = "stop"};
    CHECK_EQ_INT(sonde_llm_call_end(&call, &res), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_open_calls(llm), 0);
    CHECK_EQ_DBL(gauge_at(reg, "gateway_calls_in_flight", provider), 0);
    CHECK_EQ_DBL(gauge_at(reg, "gateway_streams_in_flight", provider), 0);

    /* duration 1.35 s: bucket le=2.56 (index 8), client and server */
    CHECK_HIST(reg, "gen_ai_client_operation_duration_seconds", SCOPE_OK, 1, 1.35, 8, 1);
    CHECK_HIST(reg, "gen_ai_server_request_duration_seconds", SCOPE_OK, 1, 1.35, 8, 1);
    const char *const in[] = {"chat",           "openai", "gpt-4o", "gpt-4o-2024-08-06",
                              "api.openai.com", "443",    "input"};
    const char *const out[] = {"chat",           "openai", "gpt-4o", "gpt-4o-2024-08-06",
                               "api.openai.com", "443",    "output"};
    CHECK_HIST(reg, "gen_ai_client_token_usage", in, 1, 100, 4, 1); /* le=256 */
    CHECK_HIST(reg, "gen_ai_client_token_usage", out, 1, 10, 2, 1); /* streamed count, le=16 */
    /* TTFT 0.35 s: le=0.5 (index 9) */
    CHECK_HIST(reg, "gen_ai_server_time_to_first_token_seconds", SCOPE, 1, 0.35, 9, 1);
    /* TPOT (1.35 - 0.35) / (10 - 1) = 0.111 s: le=0.15 (index 5) */
    CHECK_HIST(reg, "gen_ai_server_time_per_output_token_seconds", SCOPE, 1, 1.0 / 9.0, 5, 1);
    /* TTFC 0.3 s: le=0.5 (index 9) */
    CHECK_HIST(reg, "gen_ai_client_time_to_first_chunk_seconds", SCOPE, 1, 0.3, 9, 1);
    /* TPOC: 11 chunks, 10 intervals of (1.35 - 0.3) / 10 = 0.105 s: le=0.15 (index 5) */
    CHECK_HIST(reg, "gen_ai_client_time_per_output_chunk_seconds", SCOPE, 10, 1.05 / 10 * 10, 5,
               10);

    const char *const ok[] = {"openai", "gpt-4o", "ok"};
    const char *const pm[] = {"openai", "gpt-4o"};
    const char *const tin[] = {"openai", "gpt-4o", "input"};
    const char *const tout[] = {"openai", "gpt-4o", "output"};
    const char *const stop[] = {"openai", "gpt-4o", "stop"};
    CHECK_EQ_DBL(counter_at(reg, "gateway_provider_calls_total", ok), 1);
    CHECK_HIST(reg, "gateway_provider_latency_seconds", pm, 1, 1.35, 8, 1);
    CHECK_EQ_DBL(counter_at(reg, "gateway_tokens_total", tin), 100);
    CHECK_EQ_DBL(counter_at(reg, "gateway_tokens_total", tout), 10);
    CHECK_EQ_DBL(counter_at(reg, "gateway_finish_reasons_total", stop), 1);
    teardown();
}

TEST(second_call_of_a_tuple_adds_to_the_same_series)
{
    setup();
    sonde_llm_call call;
    sonde_llm_result res = {
        .response_model = "gpt-4o-2024-08-06", .input_tokens = 10, .output_tokens = 3};
    sonde_llm_request rq = STREAM;
    rq.streaming = 0;
    for (uint64_t i = 0; i < 2; i++) {
        at_ms(10000 * i);
        CHECK_EQ_INT(sonde_llm_call_begin(llm, &call, &rq), SONDE_OK);
        at_ms(10000 * i + 50 + 5000 * i); /* 0.05 s, then 5.05 s */
        CHECK_EQ_INT(sonde_llm_call_end(&call, &res), SONDE_OK);
    }
    /* 0.05 -> le=0.08 (3), 5.05 -> le=5.12 (9) */
    CHECK_HIST(reg, "gen_ai_client_operation_duration_seconds", SCOPE_OK, 2, 0.05 + 5.05, 3, 1, 9,
               1);
    const char *const out[] = {"chat",           "openai", "gpt-4o", "gpt-4o-2024-08-06",
                               "api.openai.com", "443",    "output"};
    CHECK_HIST(reg, "gen_ai_client_token_usage", out, 2, 6, 1, 2); /* 3 -> le=4 */
    /* not streamed, no first token: no TTFT, TPOT, TTFC, TPOC series */
    CHECK(series(reg, "gen_ai_server_time_to_first_token_seconds", SCOPE) == NULL);
    CHECK(series(reg, "gen_ai_server_time_per_output_token_seconds", SCOPE) == NULL);
    CHECK(series(reg, "gen_ai_client_time_to_first_chunk_seconds", SCOPE) == NULL);
    CHECK(series(reg, "gen_ai_client_time_per_output_chunk_seconds", SCOPE) == NULL);
    const char *const stop[] = {"openai", "gpt-4o", "stop"};
    CHECK(series(reg, "gateway_finish_reasons_total", stop) == NULL);
    teardown();
}

TEST(first_token_mark_without_streaming_gives_ttft_and_tpot_only)
{
    setup();
    sonde_llm_request rq = STREAM;
    rq.streaming = 0;
    sonde_llm_call call;
    at_ms(0);
    CHECK_EQ_INT(sonde_llm_call_begin(llm, &call, &rq), SONDE_OK);
    const char *const provider[] = {"openai"};
    CHECK(series(reg, "gateway_streams_in_flight", provider) == NULL);
    at_ms(20);
    sonde_llm_call_first_token(&call);
    at_ms(40);
    sonde_llm_call_first_token(&call); /* only the first mark counts */
    at_ms(2020);
    sonde_llm_result res = {
        .response_model = "gpt-4o-2024-08-06", .input_tokens = 5, .output_tokens = 5};
    CHECK_EQ_INT(sonde_llm_call_end(&call, &res), SONDE_OK);
    CHECK_HIST(reg, "gen_ai_server_time_to_first_token_seconds", SCOPE, 1, 0.02, 3, 1);
    /* (2.02 - 0.02) / 4 = 0.5: le=0.5 (index 9) */
    CHECK_HIST(reg, "gen_ai_server_time_per_output_token_seconds", SCOPE, 1, 2.0 / 4, 9, 1);
    CHECK(series(reg, "gen_ai_client_time_to_first_chunk_seconds", SCOPE) == NULL);
    CHECK(series(reg, "gen_ai_client_time_per_output_chunk_seconds", SCOPE) == NULL);
    teardown();
}

TEST(zero_and_one_output_token)
{
    setup();
    sonde_llm_call call;
    sonde_llm_result res = {.response_model = "gpt-4o-2024-08-06",
                            .input_tokens = 1,
                            .output_tokens = SONDE_LLM_UNKNOWN};
    /* zero: one empty chunk, no token */
    at_ms(0);
    CHECK_EQ_INT(sonde_llm_call_begin(llm, &call, &STREAM), SONDE_OK);
    at_ms(100);
    sonde_llm_call_tokens(&call, 0);
    at_ms(200);
    CHECK_EQ_INT(sonde_llm_call_end(&call, &res), SONDE_OK);
    const char *const out[] = {"chat",           "openai", "gpt-4o", "gpt-4o-2024-08-06",
                               "api.openai.com", "443",    "output"};
    CHECK_HIST(reg, "gen_ai_client_token_usage", out, 1, 0, 0, 1); /* 0 -> le=1 */
    CHECK(series(reg, "gen_ai_server_time_to_first_token_seconds", SCOPE) == NULL);
    CHECK(series(reg, "gen_ai_server_time_per_output_token_seconds", SCOPE) == NULL);
    CHECK_HIST(reg, "gen_ai_client_time_to_first_chunk_seconds", SCOPE, 1, 0.1, 7, 1);
    CHECK(series(reg, "gen_ai_client_time_per_output_chunk_seconds", SCOPE) == NULL);

    /* one: TTFT but no TPOT, one chunk so no TPOC */
    at_ms(1000);
    CHECK_EQ_INT(sonde_llm_call_begin(llm, &call, &STREAM), SONDE_OK);
    at_ms(1004);
    sonde_llm_call_tokens(&call, 1);
    at_ms(1500);
    CHECK_EQ_INT(sonde_llm_call_end(&call, &res), SONDE_OK);
    CHECK_HIST(reg, "gen_ai_client_token_usage", out, 2, 1, 0, 2); /* 0 and 1 -> le=1 */
    CHECK_HIST(reg, "gen_ai_server_time_to_first_token_seconds", SCOPE, 1, 0.004, 1, 1);
    CHECK(series(reg, "gen_ai_server_time_per_output_token_seconds", SCOPE) == NULL);
    CHECK_HIST(reg, "gen_ai_client_time_to_first_chunk_seconds", SCOPE, 2, 0.1 + 0.004, 7, 1, 1, 1);
    CHECK(series(reg, "gen_ai_client_time_per_output_chunk_seconds", SCOPE) == NULL);
    /* usage reported above the streamed count wins */
    at_ms(2000);
    CHECK_EQ_INT(sonde_llm_call_begin(llm, &call, &STREAM), SONDE_OK);
    sonde_llm_call_tokens(&call, 1);
    sonde_llm_call_tokens(&call, 1);
    res.output_tokens = 7;
    at_ms(2700);
    CHECK_EQ_INT(sonde_llm_call_end(&call, &res), SONDE_OK);
    CHECK_HIST(reg, "gen_ai_client_token_usage", out, 3, 8, 0, 2, 2, 1);
    teardown();
}

TEST(failures_carry_error_type_and_no_timings)
{
    setup();
    sonde_llm_call call;
    sonde_llm_request rq = STREAM;
    rq.provider = "azure";
    rq.server_address = "x.openai.azure.com";
    at_ms(0);
    CHECK_EQ_INT(sonde_llm_call_begin(llm, &call, &rq), SONDE_OK);
    at_ms(100);
    sonde_llm_call_tokens(&call, 1);
    sonde_llm_call_tokens(&call, 1);
    at_ms(700);
    sonde_llm_result err = {.status = SONDE_LLM_ERROR,
                            .error_type = "http_503",
                            .input_tokens = SONDE_LLM_UNKNOWN,
                            .output_tokens = SONDE_LLM_UNKNOWN};
    CHECK_EQ_INT(sonde_llm_call_end(&call, &err), SONDE_OK);
    const char *const e503[] = {"chat", "azure.ai.openai", "gpt-4o", "", "x.openai.azure.com",
                                "443",  "http_503"};
    CHECK_HIST(reg, "gen_ai_client_operation_duration_seconds", e503, 1, 0.7, 7, 1);
    CHECK_HIST(reg, "gen_ai_server_request_duration_seconds", e503, 1, 0.7, 7, 1);
    const char *const nolast[] = {"chat", "azure.ai.openai",    "gpt-4o",
                                  "",     "x.openai.azure.com", "443"};
    CHECK(series(reg, "gen_ai_server_time_to_first_token_seconds", nolast) == NULL);
    CHECK(series(reg, "gen_ai_client_time_to_first_chunk_seconds", nolast) == NULL);
    /* the 2 streamed tokens were consumed: recorded; input unknown: not */
    const char *const out[] = {"chat", "azure.ai.openai", "gpt-4o", "", "x.openai.azure.com",
                               "443",  "output"};
    const char *const in[] = {"chat", "azure.ai.openai", "gpt-4o", "", "x.openai.azure.com", "443",
                              "input"};
    CHECK_HIST(reg, "gen_ai_client_token_usage", out, 1, 2, 1, 1);
    CHECK(series(reg, "gen_ai_client_token_usage", in) == NULL);
    const char *st[] = {"azure.ai.openai", "gpt-4o", "error"};
    CHECK_EQ_DBL(counter_at(reg, "gateway_provider_calls_total", st), 1);

    /* an error without a type is "_OTHER"; ok with a type is an error */
    rq.streaming = 0;
    sonde_llm_result other = {.status = SONDE_LLM_ERROR, .input_tokens = 0};
    sonde_llm_result typed = {.status = SONDE_LLM_OK, .error_type = "connect"};
    sonde_llm_result timeout = {.status = SONDE_LLM_TIMEOUT, .input_tokens = 50};
    sonde_llm_result limited = {.status = SONDE_LLM_RATE_LIMITED};
    const sonde_llm_result *results[] = {&other, &typed, &timeout, &limited};
    for (int i = 0; i < 4; i++) {
        at_ms(1000);
        CHECK_EQ_INT(sonde_llm_call_begin(llm, &call, &rq), SONDE_OK);
        at_ms(1030);
        CHECK_EQ_INT(sonde_llm_call_end(&call, results[i]), SONDE_OK);
    }
    const char *types[] = {"_OTHER", "connect", "timeout", "rate_limited"};
    for (int i = 0; i < 4; i++) {
        const char *v[] = {"chat", "azure.ai.openai", "gpt-4o", "", "x.openai.azure.com",
                           "443",  types[i]};
        CHECK_HIST(reg, "gen_ai_client_operation_duration_seconds", v, 1, 0.03, 2, 1);
    }
    st[2] = "error";
    CHECK_EQ_DBL(counter_at(reg, "gateway_provider_calls_total", st), 3);
    st[2] = "timeout";
    CHECK_EQ_DBL(counter_at(reg, "gateway_provider_calls_total", st), 1);
    st[2] = "rate_limited";
    CHECK_EQ_DBL(counter_at(reg, "gateway_provider_calls_total", st), 1);
    /* input 0 of a failure is not recorded, 50 of the timeout is */
    CHECK_HIST(reg, "gen_ai_client_token_usage",
               ((const char *const[]){"chat", "azure.ai.openai", "gpt-4o", "", "x.openai.azure.com",
                                      "443", "input"}),
               1, 50, 3, 1);
    const char *const tin[] = {"azure.ai.openai", "gpt-4o", "input"};
    CHECK_EQ_DBL(counter_at(reg, "gateway_tokens_total", tin), 50);
    teardown();
}

TEST(abandoned_stream_is_cancelled_once)
{
    setup();
    sonde_llm_call call;
    at_ms(0);
    CHECK_EQ_INT(sonde_llm_call_begin(llm, &call, &STREAM), SONDE_OK);
    at_ms(500);
    for (int i = 0; i < 5; i++)
        sonde_llm_call_tokens(&call, 1);
    at_ms(900);
    CHECK_EQ_INT(sonde_llm_call_abandon(&call), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_call_abandon(&call), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_llm_call_end(&call, NULL), SONDE_EINVAL);
    sonde_llm_call_tokens(&call, 1); /* after the end: ignored */
    const char *const c[] = {"chat", "openai", "gpt-4o", "", "api.openai.com", "443", "cancelled"};
    CHECK_HIST(reg, "gen_ai_client_operation_duration_seconds", c, 1, 0.9, 7, 1);
    const char *const out[] = {"chat", "openai", "gpt-4o", "", "api.openai.com", "443", "output"};
    CHECK_HIST(reg, "gen_ai_client_token_usage", out, 1, 5, 2, 1); /* le=16 */
    const char *const st[] = {"openai", "gpt-4o", "cancelled"};
    CHECK_EQ_DBL(counter_at(reg, "gateway_provider_calls_total", st), 1);
    const char *const provider[] = {"openai"};
    CHECK_EQ_DBL(gauge_at(reg, "gateway_streams_in_flight", provider), 0);
    CHECK_EQ_DBL(gauge_at(reg, "gateway_calls_in_flight", provider), 0);
    const char *const nolast[] = {"chat", "openai", "gpt-4o", "", "api.openai.com", "443"};
    CHECK(series(reg, "gen_ai_client_time_to_first_chunk_seconds", nolast) == NULL);
    teardown();
}

TEST(open_calls_are_reported_at_free)
{
    fake_clock_start();
    sonde_registry *r;
    sonde_llm *m;
    CHECK_EQ_INT(sonde_registry_new(NULL, &r), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_new(r, NULL, &m), SONDE_OK);
    sonde_llm_call a, b, c;
    CHECK_EQ_INT(sonde_llm_call_begin(m, &a, &STREAM), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_call_begin(m, &b, &STREAM), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_tool_begin(m, &c, "search", NULL), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_open_calls(m), 3);
    CHECK_EQ_INT(sonde_llm_call_end(&a, NULL), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_open_calls(m), 2);
    CHECK_EQ_INT(sonde_llm_free(m), 2);
    /* the families stay registered with their values */
    const char *const ok[] = {"openai", "gpt-4o", "ok"};
    CHECK_EQ_DBL(counter_at(r, "provider_calls_total", ok), 1);
    sonde_registry_free(r);
    sonde_set_clock(NULL, NULL, NULL);
}

int main(void)
{
    RUN(streamed_call_records_every_family_exactly);
    RUN(second_call_of_a_tuple_adds_to_the_same_series);
    RUN(first_token_mark_without_streaming_gives_ttft_and_tpot_only);
    RUN(zero_and_one_output_token);
    RUN(failures_carry_error_type_and_no_timings);
    RUN(abandoned_stream_is_cancelled_once);
    RUN(open_calls_are_reported_at_free);
    return check_report();
}
