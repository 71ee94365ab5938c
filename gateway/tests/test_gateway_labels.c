/*
 * test_gateway_labels.c - bounded labels (labels.c) and bounded echoes
 * (gw_echo): configured names map to themselves, an upstream's versioned
 * name to the configured model it belongs to, everything else to "_other"
 * (counted in gateway_unlisted_values_total{label}); echoed request fields
 * are cut on a character boundary. Meters on a private registry.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gateway.h"

static gw_model model(const char *name, const char *upstream_model)
{
    return (gw_model){.name = (char *)name, .upstream_model = (char *)upstream_model};
}

static double unlisted(sonde_registry *r, const char *label)
{
    sonde_metric *m = sonde_registry_find(r, "gateway_unlisted_values_total");
    return sonde_counter_value(sonde_counter_with(m, &label));
}

TEST(labels_are_configured_names_or_other)
{
    sonde_config sc;
    sonde_config_init(&sc);
    sc.process_metrics = 0;
    sonde_registry *reg;
    CHECK_EQ_INT(sonde_registry_new(&sc, &reg), SONDE_OK);
    gw_config cfg;
    memset(&cfg, 0, sizeof cfg);
    gw_model models[] = {model("gpt-4o", "gpt-4o"), model("gpt-4o-mini", "gpt-4o-mini"),
                         model("fast", "org/llama-3")};
    char *tools[] = {"get_weather"};
    cfg.models = models;
    cfg.nmodels = 3;
    cfg.tools = tools;
    cfg.ntools = 1;
    gw_meter m;
    CHECK_EQ_INT(gw_meter_init(&m, reg, &cfg, NULL), 0);
    const gw_model other = model(GW_OTHER, "whatever-was-asked");

    CHECK_EQ_STR(gw_label_model(&m, &cfg, &models[0], NULL), "gpt-4o");
    CHECK_EQ_STR(gw_label_model(&m, &cfg, &models[0], ""), "gpt-4o");
    CHECK_EQ_STR(gw_label_model(&m, &cfg, &models[0], "gpt-4o"), "gpt-4o");
    CHECK_EQ_STR(gw_label_model(&m, &cfg, &models[1], "gpt-4o-mini-2024-07-18"), "gpt-4o-mini");
    /* the longest upstream name wins, whichever model was called */
    CHECK_EQ_STR(gw_label_model(&m, &cfg, &models[0], "gpt-4o-mini-2024-07-18"), "gpt-4o-mini");
    CHECK_EQ_STR(gw_label_model(&m, &cfg, &models[0], "gpt-4o-2024-08-06"), "gpt-4o");
    CHECK_EQ_STR(gw_label_model(&m, &cfg, &models[2], "org/llama-3"), "fast");
    CHECK_EQ_STR(gw_label_model(&m, &cfg, &other, "org/llama-3-instruct"), "fast");
    CHECK_EQ_STR(gw_label_model(&m, &cfg, &models[1], "gpt-4omini"), GW_OTHER);
    CHECK_EQ_DBL(unlisted(reg, "response_model"), 1);
    char *big = malloc(200001);
    memset(big, 'z', 200000);
    big[200000] = 0;
    CHECK_EQ_STR(gw_label_model(&m, &cfg, &other, big), GW_OTHER);
    CHECK_EQ_STR(gw_label_model(&m, &cfg, &other, NULL), GW_OTHER);
    CHECK_EQ_DBL(unlisted(reg, "response_model"), 2);

    CHECK_EQ_STR(gw_label_tool(&m, &cfg, "get_weather"), "get_weather");
    CHECK_EQ_STR(gw_label_tool(&m, &cfg, "get_weather2"), GW_OTHER);
    CHECK_EQ_STR(gw_label_tool(&m, &cfg, big), GW_OTHER);
    CHECK_EQ_DBL(unlisted(reg, "tool"), 2);

    CHECK(gw_label_finish(&m, NULL) == NULL);
    CHECK(gw_label_finish(&m, "") == NULL);
    static const char *const known[] = {"stop", "length", "tool_calls", "content_filter",
                                        "function_call"};
    for (size_t i = 0; i < 5; i++) CHECK_EQ_STR(gw_label_finish(&m, known[i]), known[i]);
    CHECK_EQ_STR(gw_label_finish(&m, "Stop"), GW_OTHER);
    CHECK_EQ_STR(gw_label_finish(&m, big), GW_OTHER);
    CHECK_EQ_DBL(unlisted(reg, "finish_reason"), 2);

    gw_meter_free(&m);
    sonde_registry_free(reg);
    free(big);
}

TEST(echo_is_bounded)
{
    gw_echo_buf b;
    CHECK_EQ_STR(gw_echo("gpt-4o", &b), "gpt-4o");
    CHECK_EQ_STR(gw_echo("", &b), "");
    char e200[201]; /* 100 x U+00E9 */
    for (int i = 0; i < 100; i++) memcpy(e200 + 2 * i, "\xc3\xa9", 2);
    e200[200] = 0;
    const char *s = gw_echo(e200, &b);
    size_t n = strlen(s);
    CHECK(n <= GW_ECHO_MAX + 3);
    CHECK(strcmp(s + n - 3, "...") == 0);
    CHECK_EQ_INT(sonde_utf8_valid_prefix(s, n), n);
    CHECK_EQ_INT(n, GW_ECHO_MAX + 3); /* 64 is even: 32 whole characters */
    char odd[201]; /* one ASCII byte first: the cut at 64 would split a character */
    odd[0] = 'x';
    memcpy(odd + 1, e200, 199);
    odd[200] = 0;
    s = gw_echo(odd, &b);
    n = strlen(s);
    CHECK_EQ_INT(n, GW_ECHO_MAX - 1 + 3);
    CHECK_EQ_INT(sonde_utf8_valid_prefix(s, n), n);
    CHECK_EQ_STR(gw_echo("a\xff" "b", &b), "a?b");
}

int main(void)
{
    RUN(labels_are_configured_names_or_other);
    RUN(echo_is_bounded);
    return check_report();
}
