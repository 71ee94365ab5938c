/*
 * test_llm_input.c - what the LLM module accepts and refuses: the provider
 * normalisation table, NULL and invalid (non-UTF-8, empty, out of range)
 * arguments refused with a clear code and no change, module options, and
 * the price table: building, parsing (with its error messages, all or
 * nothing) and loading from a file.
 */
#include <sonde/sonde.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "llm_test.h"

TEST(provider_normalisation_table)
{
    static const char *const cases[][2] = {
        {"OpenAI", "openai"},
        {"openai", "openai"},
        {"azure", "azure.ai.openai"},
        {"Azure_OpenAI", "azure.ai.openai"},
        {"bedrock", "aws.bedrock"},
        {"AWS", "aws.bedrock"},
        {"aws.bedrock", "aws.bedrock"},
        {"google", "gcp.gemini"},
        {"Gemini", "gcp.gemini"},
        {"vertex", "gcp.vertex_ai"},
        {"VertexAI", "gcp.vertex_ai"},
        {"anthropic", "anthropic"},
        {"Cohere", "cohere"},
        {"mistral", "mistral_ai"},
        {"MistralAI", "mistral_ai"},
        {"groq", "groq"},
        {"DeepSeek", "deepseek"},
        {"perplexity", "perplexity"},
        {"xai", "x_ai"},
        {"x.ai", "x_ai"},
        {"IBM", "ibm.watsonx.ai"},
        {"watsonx", "ibm.watsonx.ai"},
        {"MyLocal-LLM", "mylocal-llm"},
        {"Ünïcode", "Ünïcode"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[256] = "unchanged";
        CHECK_EQ_INT(sonde_llm_provider_normalize(cases[i][0], out, sizeof out), SONDE_OK);
        CHECK_EQ_STR(out, cases[i][1]);
    }
    char small[8] = "keep";
    CHECK_EQ_INT(sonde_llm_provider_normalize("azure", small, sizeof small), SONDE_ETRUNC);
    CHECK_EQ_STR(small, "keep");
    CHECK_EQ_INT(sonde_llm_provider_normalize("bad\xc3", small, sizeof small), SONDE_EUTF8);
    CHECK_EQ_INT(sonde_llm_provider_normalize("", small, sizeof small), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_llm_provider_normalize(NULL, small, sizeof small), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_llm_provider_normalize("x", NULL, 8), SONDE_EINVAL);
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    char big[512];
    CHECK_EQ_INT(sonde_llm_provider_normalize(longname, big, sizeof big), SONDE_EINVAL);
}

TEST(bad_calls_are_refused_and_change_nothing)
{
    sonde_registry *reg;
    sonde_llm *llm;
    CHECK_EQ_INT(sonde_registry_new(NULL, &reg), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_new(reg, NULL, &llm), SONDE_OK);
    sonde_llm_call call;
    sonde_llm_request good = {.operation = "chat", .provider = "openai", .model = "gpt-4o"};
    CHECK_EQ_INT(sonde_llm_call_begin(NULL, &call, &good), SONDE_OK); /* instrumentation off */
    CHECK_EQ_INT(sonde_llm_call_end(&call, NULL), SONDE_OK);           /* inert */
    CHECK_EQ_INT(sonde_llm_call_begin(llm, NULL, &good), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_llm_call_begin(llm, &call, NULL), SONDE_EINVAL);
    sonde_llm_request bad[] = {
        {.operation = NULL, .provider = "openai"},
        {.operation = "", .provider = "openai"},
        {.operation = "chat", .provider = NULL},
        {.operation = "chat", .provider = ""},
        {.operation = "chat", .provider = "openai", .server_port = 65536},
        {.operation = "chat", .provider = "openai", .server_port = -1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ_INT(sonde_llm_call_begin(llm, &call, &bad[i]), SONDE_EINVAL);
        sonde_llm_call_tokens(&call, 5);
        sonde_llm_call_first_token(&call);
        CHECK_EQ_INT(sonde_llm_call_end(&call, NULL), SONDE_OK);
        CHECK_EQ_INT(sonde_llm_call_abandon(&call), SONDE_OK);
    }
    sonde_llm_request utf[] = {
        {.operation = "chat\xff", .provider = "openai"},
        {.operation = "chat", .provider = "open\xc3(ai"},
        {.operation = "chat", .provider = "openai", .model = "gpt\xe2\x82"},
        {.operation = "chat", .provider = "openai", .server_address = "\xed\xa0\x80"},
    };
    for (size_t i = 0; i < sizeof utf / sizeof utf[0]; i++)
        CHECK_EQ_INT(sonde_llm_call_begin(llm, &call, &utf[i]), SONDE_EUTF8);
    /* past the registry's label-value limit (256 bytes by default): refused, nothing kept */
    char *huge = malloc(200001);
    memset(huge, 'm', 200000);
    huge[200000] = '\0';
    char at_limit[SONDE_LABEL_VALUE_MAX + 1];
    memset(at_limit, 'n', SONDE_LABEL_VALUE_MAX);
    at_limit[SONDE_LABEL_VALUE_MAX] = '\0';
    sonde_llm_request toolong[] = {
        {.operation = "chat", .provider = "openai", .model = huge},
        {.operation = "chat", .provider = "openai", .server_address = huge},
        {.operation = huge, .provider = "openai"},
    };
    for (size_t i = 0; i < sizeof toolong / sizeof toolong[0]; i++)
        CHECK_EQ_INT(sonde_llm_call_begin(llm, &call, &toolong[i]), SONDE_ETOOLONG);
    CHECK_EQ_INT(sonde_llm_tool_begin(llm, &call, huge, NULL), SONDE_ETOOLONG);
    CHECK_EQ_INT(sonde_llm_tool_begin(llm, &call, NULL, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_llm_tool_begin(llm, &call, "", NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_llm_tool_begin(llm, &call, "t\xff", NULL), SONDE_EUTF8);
    CHECK_EQ_INT(sonde_llm_agent_begin(llm, &call, NULL, NULL, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_llm_agent_begin(llm, &call, "a", "p\xff", NULL), SONDE_EUTF8);
    CHECK_EQ_INT(sonde_llm_open_calls(llm), 0);
    /* nothing was recorded anywhere */
    static const char *const families[] = {"gen_ai_client_operation_duration_seconds",
                                           "gen_ai_client_token_usage",
                                           "provider_calls_total",
                                           "calls_in_flight",
                                           "streams_in_flight",
                                           "tool_executions_total",
                                           "agent_executions_total"};
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        CHECK_EQ_INT(sonde_metric_child_count(sonde_registry_find(reg, families[i])), 0);

    /* a bad result is refused and leaves the call open */
    CHECK_EQ_INT(sonde_llm_call_begin(llm, &call, &good), SONDE_OK);
    sonde_llm_result r1 = {.response_model = "m\xff"};
    sonde_llm_result r2 = {.status = SONDE_LLM_ERROR, .error_type = "\xc0\xaf"};
    sonde_llm_result r3 = {.finish_reason = "stop\xfe"};
    sonde_llm_result r4 = {.status = (sonde_llm_status)42};
    sonde_llm_result r5 = {.response_model = huge};
    sonde_llm_result r6 = {.finish_reason = huge};
    CHECK_EQ_INT(sonde_llm_call_end(&call, &r5), SONDE_ETOOLONG);
    CHECK_EQ_INT(sonde_llm_call_end(&call, &r6), SONDE_ETOOLONG);
    CHECK_EQ_INT(sonde_llm_call_end(&call, &r1), SONDE_EUTF8);
    CHECK_EQ_INT(sonde_llm_call_end(&call, &r2), SONDE_EUTF8);
    CHECK_EQ_INT(sonde_llm_call_end(&call, &r3), SONDE_EUTF8);
    CHECK_EQ_INT(sonde_llm_call_end(&call, &r4), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_metric_child_count(sonde_registry_find(reg, "provider_calls_total")), 0);
    CHECK_EQ_INT(sonde_llm_open_calls(llm), 1);
    CHECK_EQ_INT(sonde_llm_call_end(&call, NULL), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_open_calls(llm), 0);
    CHECK_EQ_INT(sonde_metric_child_count(sonde_registry_find(reg, "provider_calls_total")), 1);
    /* a model name of exactly the limit is fine */
    sonde_llm_request edge = {.operation = "chat", .provider = "openai", .model = at_limit};
    CHECK_EQ_INT(sonde_llm_call_begin(llm, &call, &edge), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_call_end(&call, NULL), SONDE_OK);
    CHECK_EQ_INT(sonde_metric_child_count(sonde_registry_find(reg, "provider_calls_total")), 2);
    free(huge);
    /* never begun (zeroed) */
    sonde_llm_call zero = {0};
    CHECK_EQ_INT(sonde_llm_call_end(&zero, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_llm_call_end(NULL, NULL), SONDE_EINVAL);
    sonde_llm_call_tokens(NULL, 1);
    sonde_llm_call_first_token(NULL);
    CHECK_EQ_INT(sonde_llm_free(llm), 0);
    CHECK_EQ_INT(sonde_llm_free(NULL), 0);
    sonde_registry_free(reg);
}

TEST(module_options_are_checked)
{
    sonde_registry *reg;
    sonde_llm *llm = (sonde_llm *)1;
    CHECK_EQ_INT(sonde_registry_new(NULL, &reg), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_new(NULL, NULL, &llm), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_llm_new(reg, NULL, NULL), SONDE_EINVAL);
    sonde_llm_opts bad_prefix = {.prefix = "9gateway"};
    CHECK_EQ_INT(sonde_llm_new(reg, &bad_prefix, &llm), SONDE_ENAME);
    CHECK(llm == NULL);
    bad_prefix.prefix = "__x";
    CHECK_EQ_INT(sonde_llm_new(reg, &bad_prefix, &llm), SONDE_ENAME);
    sonde_llm_opts bad_roles = {.roles = 4};
    CHECK_EQ_INT(sonde_llm_new(reg, &bad_roles, &llm), SONDE_EINVAL);
    CHECK(sonde_registry_find(reg, "provider_calls_total") == NULL);
    /* one module per registry (the GenAI names are fixed), the first stays intact */
    sonde_llm *first, *second = NULL;
    sonde_llm_opts a = {.prefix = "a"}, b = {.prefix = "b"};
    CHECK_EQ_INT(sonde_llm_new(reg, &a, &first), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_new(reg, &b, &second), SONDE_EEXIST);
    CHECK(second == NULL);
    CHECK(sonde_registry_find(reg, "b_provider_calls_total") == NULL);
    CHECK(sonde_registry_find(reg, "a_provider_calls_total") != NULL);
    CHECK(sonde_registry_find(reg, "gen_ai_client_token_usage") != NULL);
    sonde_llm_free(first);
    sonde_registry_free(reg);
}

TEST(price_table_building_and_parsing)
{
    sonde_llm_prices *p;
    CHECK_EQ_INT(sonde_llm_prices_new(&p), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_prices_new(NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_llm_prices_add(p, "gpt-4o", 2.5, 10, "USD"), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_prices_add(p, "gpt-4o", 1, 1, "USD"), SONDE_EEXIST);
    CHECK_EQ_INT(sonde_llm_prices_add(p, "", 1, 1, "USD"), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_llm_prices_add(p, "m", -1, 1, "USD"), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_llm_prices_add(p, "m", 1, NAN, "USD"), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_llm_prices_add(p, "m", INFINITY, 1, "USD"), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_llm_prices_add(p, "m", 1, 1, ""), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_llm_prices_add(p, "m\xff", 1, 1, "USD"), SONDE_EUTF8);
    CHECK_EQ_INT(sonde_llm_prices_count(p), 1);

    char err[200];
    const char *text = "# model input output currency\n"
                       "\n"
                       "claude-sonnet-4   3   15  USD\r\n"
                       "\tmistral-large 2 6 EUR\n"
                       "free-model 0 0 USD";
    CHECK_EQ_INT(sonde_llm_prices_parse(p, text, err, sizeof err), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_prices_count(p), 4);
    double in, out;
    const char *cur;
    CHECK_EQ_INT(sonde_llm_prices_find(p, "mistral-large", &in, &out, &cur), SONDE_OK);
    CHECK_EQ_DBL(in, 2);
    CHECK_EQ_DBL(out, 6);
    CHECK_EQ_STR(cur, "EUR");
    CHECK_EQ_INT(sonde_llm_prices_find(p, "nope", &in, &out, &cur), SONDE_ENOENT);

    static const struct {
        const char *text;
        int rc;
        const char *msg;
    } bad[] = {
        {"a 1 2\n", SONDE_ECONFIG,
         "line 1: expected 4 fields \"model input_price output_price currency\", found 3"},
        {"a 1 2 USD extra\n", SONDE_ECONFIG,
         "line 1: expected 4 fields \"model input_price output_price currency\", found 5"},
        {"ok 1 1 USD\nb x 2 USD\n", SONDE_ECONFIG,
         "line 2: input price \"x\" is not a number >= 0"},
        {"b 1 -2 USD\n", SONDE_ECONFIG, "line 1: output price \"-2\" is not a number >= 0"},
        {"b 1 2e999 USD\n", SONDE_ECONFIG, "line 1: output price \"2e999\" is not a number >= 0"},
        {"b 1 nan USD\n", SONDE_ECONFIG, "line 1: output price \"nan\" is not a number >= 0"},
        {"b 1 2 USD\nb 1 2 USD\n", SONDE_EEXIST, "line 2: model \"b\" is priced twice"},
        {"\n\ngpt-4o 1 2 USD\n", SONDE_EEXIST, "line 3: model \"gpt-4o\" is already priced"},
        {"b\xff 1 2 USD\n", SONDE_EUTF8, "line 1: not valid UTF-8"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        CHECK_EQ_INT(sonde_llm_prices_parse(p, bad[i].text, err, sizeof err), bad[i].rc);
        CHECK_EQ_STR(err, bad[i].msg);
        CHECK_EQ_INT(sonde_llm_prices_count(p), 4); /* all or nothing */
    }
    CHECK(sonde_llm_prices_find(p, "ok", NULL, NULL, NULL) == SONDE_ENOENT);
    CHECK_EQ_INT(sonde_llm_prices_parse(p, NULL, NULL, 0), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_llm_prices_parse(NULL, "a 1 1 USD", err, sizeof err), SONDE_EINVAL);
    sonde_llm_prices_free(p);
}

TEST(price_table_from_a_file)
{
    char path[] = "/tmp/sonde-prices-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    const char *text = "gpt-4o-mini 0.15 0.6 USD\no1 15 60 USD\n";
    CHECK_EQ_INT(write(fd, text, strlen(text)), (long long)strlen(text));
    close(fd);
    sonde_llm_prices *p;
    char err[300];
    CHECK_EQ_INT(sonde_llm_prices_new(&p), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_prices_load(p, path, err, sizeof err), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_prices_count(p), 2);
    double out;
    CHECK_EQ_INT(sonde_llm_prices_find(p, "o1", NULL, &out, NULL), SONDE_OK);
    CHECK_EQ_DBL(out, 60);
    unlink(path);
    CHECK_EQ_INT(sonde_llm_prices_load(p, path, err, sizeof err), SONDE_EIO);
    char want[300];
    snprintf(want, sizeof want, "%s: No such file or directory", path);
    CHECK_EQ_STR(err, want);
    CHECK_EQ_INT(sonde_llm_prices_count(p), 2);
    sonde_llm_prices_free(p);
}

int main(void)
{
    RUN(provider_normalisation_table);
    RUN(bad_calls_are_refused_and_change_nothing);
    RUN(module_options_are_checked);
    RUN(price_table_building_and_parsing);
    RUN(price_table_from_a_file);
    return check_report();
}
