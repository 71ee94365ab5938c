/*
 * llm_metrics.c - records a few model calls, tool executions, an agent run
 * and rate-limit rejections with the LLM module, then prints the registry's
 * exposition: Prometheus text by default, OpenMetrics with --openmetrics.
 *
 *   llm-metrics [--openmetrics] [--prices FILE]
 *
 * Without --prices, gpt-4o is priced at 2.5 / 10 USD per million input /
 * output tokens. The calls (what tests/integration/test_llm_exposition.sh
 * checks):
 *   1. chat, openai, gpt-4o, streamed: a role-only chunk, then 20 chunks of
 *      one token; ok, response model gpt-4o-2024-08-06, 120 input tokens,
 *      finish reason "stop".
 *   2. chat, Anthropic (normalised to anthropic), claude-3-5-sonnet, not
 *      streamed: error of type "http_500".
 *   3. embeddings, openai, text-embedding-3-small: ok, 50 input, 0 output.
 *   4. chat, openai, gpt-4o, streamed: 5 one-token chunks, then abandoned.
 *   5. tools: get_weather ok, web_search timeout; agent support-bot ok.
 *   6. rate limits: tokens_per_minute twice, requests_per_minute once.
 */
#include <sonde/sonde.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int record(sonde_llm *llm)
{
    sonde_llm_call call;
    sonde_llm_request rq = {.operation = "chat",
                            .provider = "openai",
                            .model = "gpt-4o",
                            .server_address = "api.openai.com",
                            .server_port = 443,
                            .streaming = 1};
    int rc = sonde_llm_call_begin(llm, &call, &rq);
    sonde_llm_call_tokens(&call, 0);
    for (int i = 0; i < 20; i++)
        sonde_llm_call_tokens(&call, 1);
    sonde_llm_result res = {.status = SONDE_LLM_OK,
                            .response_model = "gpt-4o-2024-08-06",
                            .input_tokens = 120,
                            .output_tokens = SONDE_LLM_UNKNOWN,
                            .finish_reason = "stop"};
    rc = rc ? rc : sonde_llm_call_end(&call, &res);

    sonde_llm_request rq2 = {.operation = "chat",
                             .provider = "Anthropic",
                             .model = "claude-3-5-sonnet",
                             .server_address = "api.anthropic.com",
                             .server_port = 443};
    rc = rc ? rc : sonde_llm_call_begin(llm, &call, &rq2);
    sonde_llm_result err = {.status = SONDE_LLM_ERROR,
                            .error_type = "http_500",
                            .input_tokens = SONDE_LLM_UNKNOWN,
                            .output_tokens = SONDE_LLM_UNKNOWN};
    rc = rc ? rc : sonde_llm_call_end(&call, &err);

    sonde_llm_request rq3 = {.operation = "embeddings",
                             .provider = "openai",
                             .model = "text-embedding-3-small",
                             .server_address = "api.openai.com",
                             .server_port = 443};
    rc = rc ? rc : sonde_llm_call_begin(llm, &call, &rq3);
    sonde_llm_result emb = {.status = SONDE_LLM_OK,
                            .response_model = "text-embedding-3-small",
                            .input_tokens = 50,
                            .output_tokens = 0};
    rc = rc ? rc : sonde_llm_call_end(&call, &emb);

    rc = rc ? rc : sonde_llm_call_begin(llm, &call, &rq);
    for (int i = 0; i < 5; i++)
        sonde_llm_call_tokens(&call, 1);
    rc = rc ? rc : sonde_llm_call_abandon(&call);

    sonde_llm_result timeout = {.status = SONDE_LLM_TIMEOUT};
    rc = rc ? rc : sonde_llm_tool_begin(llm, &call, "get_weather", "openai");
    rc = rc ? rc : sonde_llm_call_end(&call, NULL);
    rc = rc ? rc : sonde_llm_tool_begin(llm, &call, "web_search", "openai");
    rc = rc ? rc : sonde_llm_call_end(&call, &timeout);
    rc = rc ? rc : sonde_llm_agent_begin(llm, &call, "support-bot", "openai", "gpt-4o");
    rc = rc ? rc : sonde_llm_call_end(&call, NULL);

    rc = rc ? rc : sonde_llm_rate_limited(llm, "tokens_per_minute");
    rc = rc ? rc : sonde_llm_rate_limited(llm, "tokens_per_minute");
    rc = rc ? rc : sonde_llm_rate_limited(llm, "requests_per_minute");
    return rc;
}

int main(int argc, char **argv)
{
    sonde_format format = SONDE_FORMAT_TEXT;
    const char *price_file = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--openmetrics") == 0) {
            format = SONDE_FORMAT_OPENMETRICS;
        } else if (strcmp(argv[i], "--prices") == 0 && i + 1 < argc) {
            price_file = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--openmetrics] [--prices FILE]\n", argv[0]);
            return 2;
        }
    }
    char err[256];
    sonde_llm_prices *prices = NULL;
    int rc = sonde_llm_prices_new(&prices);
    if (!rc)
        rc = price_file ? sonde_llm_prices_load(prices, price_file, err, sizeof err)
                        : sonde_llm_prices_parse(prices, "gpt-4o 2.5 10 USD\n", err, sizeof err);
    if (rc) {
        fprintf(stderr, "prices: %s\n", rc == SONDE_ENOMEM ? sonde_strerror(rc) : err);
        sonde_llm_prices_free(prices);
        return 1;
    }
    sonde_registry *reg = NULL;
    sonde_llm *llm = NULL;
    sonde_llm_opts opts = {.prefix = "gateway", .prices = prices};
    rc = sonde_registry_new(NULL, &reg);
    rc = rc ? rc : sonde_llm_new(reg, &opts, &llm);
    rc = rc ? rc : record(llm);
    char *text = rc ? NULL : sonde_expose_alloc(reg, format, NULL);
    if (text)
        fputs(text, stdout);
    else
        fprintf(stderr, "llm-metrics: %s\n", sonde_strerror(rc ? rc : SONDE_ENOMEM));
    free(text);
    sonde_llm_free(llm);
    sonde_registry_free(reg);
    sonde_llm_prices_free(prices);
    return text ? 0 : 1;
}
