/*
 * test_gateway_ratelimit_headers.c - the upstream rate-limit header parser
 * (upstream_ratelimit.c): the six x-ratelimit-* headers as OpenAI writes them
 * are read (any case, optional whitespace, CR LF), other headers are left
 * alone, and malformed or out-of-bound values are refused without touching
 * what was stored. Durations round-trip through gw_format_duration, also
 * under de_DE.UTF-8, whose decimal separator is a comma (the numbers must not
 * change). The meter turns a parsed block into the gateway_upstream_ratelimit_*
 * gauges.
 */
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gateway.h"

static int header(gw_ratelimit *rl, const char *line)
{
    return gw_ratelimit_header(rl, line, strlen(line));
}

static double dur(const char *s)
{
    return gw_parse_duration(s, strlen(s));
}

TEST(openai_headers_are_read)
{
    gw_ratelimit rl = {0};
    CHECK_EQ_INT(header(&rl, "x-ratelimit-limit-requests: 60\r\n"), 1);
    CHECK_EQ_INT(header(&rl, "X-RateLimit-Remaining-Requests:59\r\n"), 1);
    CHECK_EQ_INT(header(&rl, "x-ratelimit-reset-requests: 1s\r\n"), 1);
    CHECK_EQ_INT(header(&rl, "x-ratelimit-limit-tokens: 150000"), 1);
    CHECK_EQ_INT(header(&rl, "x-ratelimit-remaining-tokens: \t149984 \r\n"), 1);
    CHECK_EQ_INT(header(&rl, "x-ratelimit-reset-tokens: 6m0s\r\n"), 1);
    CHECK_EQ_DBL(rl.value[GW_RL_REQUESTS][GW_RL_LIMIT], 60);
    CHECK_EQ_DBL(rl.value[GW_RL_REQUESTS][GW_RL_REMAINING], 59);
    CHECK_EQ_DBL(rl.value[GW_RL_REQUESTS][GW_RL_RESET], 1);
    CHECK_EQ_DBL(rl.value[GW_RL_TOKENS][GW_RL_LIMIT], 150000);
    CHECK_EQ_DBL(rl.value[GW_RL_TOKENS][GW_RL_REMAINING], 149984);
    CHECK_EQ_DBL(rl.value[GW_RL_TOKENS][GW_RL_RESET], 360);
    for (int k = 0; k < GW_RL_KINDS; k++)
        for (int f = 0; f < GW_RL_FIELDS; f++) CHECK(gw_ratelimit_has(&rl, k, f));
    CHECK_EQ_STR(gw_ratelimit_kind_name(GW_RL_TOKENS), "tokens");
    CHECK(gw_ratelimit_kind_name(GW_RL_KINDS) == NULL);
}

TEST(other_headers_are_not_ours)
{
    gw_ratelimit rl = {0};
    static const char *const others[] = {
        "content-type: application/json\r\n", "retry-after: 3\r\n", "x-ratelimit-limit: 5\r\n",
        "x-ratelimit-limit-requestsx: 5\r\n", "x-ratelimit-used-requests: 5\r\n",
        "x-ratelimit-limit-request: 5\r\n", "HTTP/1.1 429 Too Many Requests\r\n", "\r\n",
        "x-ratelimit-reset-requests 1s\r\n", "anthropic-ratelimit-requests-limit: 50\r\n"};
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) CHECK_EQ_INT(header(&rl, others[i]), 0);
    CHECK_EQ_INT(rl.seen, 0);
}

TEST(malformed_values_are_refused)
{
    gw_ratelimit rl = {0};
    CHECK_EQ_INT(header(&rl, "x-ratelimit-remaining-requests: 7"), 1);
    static const char *const bad[] = {
        "x-ratelimit-remaining-requests: -1", "x-ratelimit-remaining-requests: 1e3",
        "x-ratelimit-remaining-requests: 3.5", "x-ratelimit-remaining-requests: ",
        "x-ratelimit-remaining-requests: 1 2", "x-ratelimit-remaining-requests: 0x10",
        "x-ratelimit-remaining-requests: 1000000000000000", /* 16 digits */
        "x-ratelimit-remaining-requests: +5"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) CHECK_EQ_INT(header(&rl, bad[i]), -1);
    CHECK_EQ_DBL(rl.value[GW_RL_REQUESTS][GW_RL_REMAINING], 7); /* untouched */
    CHECK_EQ_INT(header(&rl, "x-ratelimit-reset-tokens: soon"), -1);
    CHECK(!gw_ratelimit_has(&rl, GW_RL_TOKENS, GW_RL_RESET));
}

TEST(durations_go_style_strict_and_bounded)
{
    CHECK_EQ_DBL(dur("20ms"), 0.02);
    CHECK_EQ_DBL(dur("1s"), 1);
    CHECK_EQ_DBL(dur("6m0s"), 360);
    CHECK_EQ_DBL(dur("1h2m3.5s"), 3723.5);
    CHECK_EQ_DBL(dur("1.5s"), 1.5);
    CHECK_EQ_DBL(dur(".5s"), 0.5);
    CHECK_EQ_DBL(dur("250us"), 250e-6);
    CHECK_EQ_DBL(dur("0s"), 0);
    CHECK_EQ_DBL(dur(" 17ms\r\n"), 0.017);
    static const char *const bad[] = {"", "1", "s", "1x", "-1s", "1,5s", "1.s", "1s ms", "1 s",
        "1e3s", "1d", "NaNs", "infs", "1s1s1s1s1s1s1s1s1s", "745h", "9999999999999999s",
        "1.1234567890s"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (dur(bad[i]) != -1) fprintf(stderr, "accepted \"%s\"\n", bad[i]);
        CHECK_EQ_DBL(dur(bad[i]), -1);
    }
    CHECK_EQ_DBL(dur("744h"), GW_RL_RESET_MAX);
}

static void round_trips(void)
{
    static const struct { double s; const char *text; } cases[] = {
        {0, "0ms"}, {0.02, "20ms"}, {1, "1s"}, {1.5, "1.5s"}, {59.999, "59.999s"},
        {360, "6m0s"}, {3723.5, "1h2m3.5s"}, {3600, "1h0m0s"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char b[48];
        CHECK_EQ_INT(gw_format_duration(cases[i].s, b, sizeof b), 0);
        CHECK_EQ_STR(b, cases[i].text);
        CHECK_EQ_DBL(dur(b), cases[i].s);
    }
    char small[4];
    CHECK_EQ_INT(gw_format_duration(360, small, sizeof small), -1);
    CHECK_EQ_INT(gw_format_duration(-1, small, sizeof small), -1);
    CHECK_EQ_INT(gw_format_duration(GW_RL_RESET_MAX + 1, small, sizeof small), -1);
}

TEST(durations_round_trip_in_any_locale)
{
    round_trips();
    /* a comma locale changes nothing (ctest's locale_de fixture generates it) */
    CHECK(setlocale(LC_ALL, "de_DE.UTF-8") != NULL);
    round_trips();
    CHECK_EQ_DBL(dur("1.5s"), 1.5);
    setlocale(LC_ALL, "C");
}

TEST(meter_sets_the_reported_gauges)
{
    sonde_config sc;
    sonde_config_init(&sc);
    sc.process_metrics = 0;
    sonde_registry *reg;
    CHECK_EQ_INT(sonde_registry_new(&sc, &reg), SONDE_OK);
    gw_config cfg;
    CHECK_EQ_INT(gw_config_defaults(&cfg), 0);
    gw_meter m;
    CHECK_EQ_INT(gw_meter_init(&m, reg, &cfg, NULL), 0);
    gw_ratelimit rl = {0};
    CHECK_EQ_INT(header(&rl, "x-ratelimit-limit-tokens: 1000"), 1);
    CHECK_EQ_INT(header(&rl, "x-ratelimit-remaining-tokens: 40"), 1);
    CHECK_EQ_INT(header(&rl, "x-ratelimit-reset-tokens: 2m"), 1);
    gw_meter_upstream_ratelimit(&m, cfg.ups[0], &rl);
    gw_meter_upstream_rate_limited(&m, cfg.ups[0]);
    const char *tokens[] = {"sim", "tokens"}, *up = "sim";
    CHECK_EQ_DBL(sonde_gauge_value(sonde_gauge_with(
                     sonde_registry_find(reg, "gateway_upstream_ratelimit_limit"), tokens)), 1000);
    CHECK_EQ_DBL(sonde_gauge_value(sonde_gauge_with(
                     sonde_registry_find(reg, "gateway_upstream_ratelimit_remaining"), tokens)), 40);
    CHECK_EQ_DBL(sonde_gauge_value(sonde_gauge_with(
                     sonde_registry_find(reg, "gateway_upstream_ratelimit_reset_seconds"), tokens)),
                 120);
    CHECK_EQ_DBL(sonde_counter_value(sonde_counter_with(
                     sonde_registry_find(reg, "gateway_upstream_rate_limited_total"), &up)), 1);
    /* nothing was reported of requests: no series is made up for them */
    size_t len = 0;
    char *text = sonde_expose_alloc(reg, SONDE_FORMAT_TEXT, &len);
    CHECK(text && strstr(text, "gateway_upstream_ratelimit_remaining{upstream=\"sim\",kind=\"tokens\"} 40"));
    CHECK(text && strstr(text, "kind=\"requests\"") == NULL);
    free(text);
    gw_meter_free(&m);
    gw_config_free(&cfg);
    sonde_registry_free(reg);
}

int main(void)
{
    RUN(openai_headers_are_read);
    RUN(other_headers_are_not_ours);
    RUN(malformed_values_are_refused);
    RUN(durations_go_style_strict_and_bounded);
    RUN(durations_round_trip_in_any_locale);
    RUN(meter_sets_the_reported_gauges);
    return check_report();
}
