/*
 * test_gateway_budget.c - the daily budgets and the limit policy without a
 * Redis: UTC day arithmetic (before and after the epoch, the last second of
 * a day), a key's budget filling and refusing, then starting afresh at
 * midnight (the time is a parameter: no waiting); the order of the local
 * checks (a budget refusal takes no request unit); the configuration of
 * budgets and of the Redis backend (and its mistakes); and the fallback when
 * the configured Redis cannot be reached: fail-open decides by the local
 * limits, fail-closed refuses, both counted by reason, charges go local. The
 * shared path itself runs against a real redis-server in
 * tests/integration/test_gateway_redis.sh.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "gateway.h"

TEST(utc_days)
{
    CHECK(gw_utc_day(0) == 0);
    CHECK(gw_utc_day(86399) == 0);
    CHECK(gw_utc_day(86400) == 1);
    CHECK(gw_utc_day(-1) == -1);      /* floor, not truncation */
    CHECK(gw_utc_day(-86400) == -1);
    CHECK(gw_utc_day(-86401) == -2);
    CHECK(gw_utc_day(1796083200) == 20788); /* 2026-12-01T00:00:00Z */
    CHECK(gw_day_seconds_left(0) == 86400);
    CHECK(gw_day_seconds_left(86399) == 1);
    CHECK(gw_day_seconds_left(1796083199) == 1);
    CHECK(gw_day_seconds_left(-1) == 1);
}

static void key_init(gw_key *k, double rpm, double tpm, double tokens, double cost)
{
    memset(k, 0, sizeof *k);
    k->name = "k";
    k->rpm = rpm;
    k->tpm = tpm;
    k->daily_tokens = tokens;
    k->daily_cost = cost;
    k->budget_currency = "USD";
    gw_bucket_init(&k->requests, rpm);
    gw_bucket_init(&k->tokens, tpm);
    gw_budget_init(&k->spent);
}

static void key_destroy(gw_key *k)
{
    gw_bucket_destroy(&k->requests);
    gw_bucket_destroy(&k->tokens);
    gw_budget_destroy(&k->spent);
}

TEST(budget_arithmetic_and_rollover)
{
    const int64_t day = 1796083200 - 86400; /* 2026-11-30T00:00:00Z */
    gw_key k;
    key_init(&k, 0, 0, 100, 1.5);
    CHECK(gw_budget_check(&k.spent, &k, day + 10) == GW_ADMIT_OK);
    gw_budget_charge(&k.spent, 60, 0.5, day + 20);
    CHECK(gw_budget_check(&k.spent, &k, day + 30) == GW_ADMIT_OK);
    gw_budget_charge(&k.spent, 39, 0.5, day + 40);  /* 99 of 100: still admitted */
    CHECK(gw_budget_check(&k.spent, &k, day + 50) == GW_ADMIT_OK);
    gw_budget_charge(&k.spent, 5, 0, day + 60);     /* the crossing call completes: 104 */
    CHECK(gw_budget_check(&k.spent, &k, day + 70) == GW_ADMIT_DAILY_TOKENS);
    CHECK(gw_budget_check(&k.spent, &k, day + 86399) == GW_ADMIT_DAILY_TOKENS);
    CHECK_EQ_DBL(k.spent.tokens, 104);
    /* midnight UTC: a new day starts at zero */
    CHECK(gw_budget_check(&k.spent, &k, day + 86400) == GW_ADMIT_OK);
    CHECK_EQ_DBL(k.spent.tokens, 0);
    CHECK_EQ_DBL(k.spent.cost, 0);
    /* cost: reaching the budget exactly refuses */
    gw_budget_charge(&k.spent, 1, 1.0, day + 86401);
    CHECK(gw_budget_check(&k.spent, &k, day + 86402) == GW_ADMIT_OK);
    gw_budget_charge(&k.spent, 1, 0.5, day + 86403);
    CHECK(gw_budget_check(&k.spent, &k, day + 86404) == GW_ADMIT_DAILY_COST);
    /* a charge dated on the next day starts that day (no check in between) */
    gw_budget_charge(&k.spent, 7, 0.25, day + 2 * 86400 + 5);
    CHECK_EQ_DBL(k.spent.tokens, 7);
    CHECK_EQ_DBL(k.spent.cost, 0.25);
    CHECK(gw_budget_check(&k.spent, &k, day + 2 * 86400 + 6) == GW_ADMIT_OK);
    /* negative, zero and NaN charges change nothing */
    gw_budget_charge(&k.spent, -5, -1, day + 2 * 86400 + 7);
    gw_budget_charge(&k.spent, 0.0 / 0.0, 0.0 / 0.0, day + 2 * 86400 + 7);
    CHECK_EQ_DBL(k.spent.tokens, 7);
    CHECK_EQ_DBL(k.spent.cost, 0.25);
    key_destroy(&k);

    key_init(&k, 0, 0, 0, 0); /* no budget: never refused */
    gw_budget_charge(&k.spent, 1e12, 1e12, day);
    CHECK(gw_budget_check(&k.spent, &k, day) == GW_ADMIT_OK);
    key_destroy(&k);
}

static gw_config *config_of(const char *json, char *err, size_t errlen)
{
    static gw_config c;
    char path[] = "/tmp/gwbudXXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return NULL;
    ssize_t n = write(fd, json, strlen(json));
    close(fd);
    gw_config_defaults(&c);
    int rc = n == (ssize_t)strlen(json) ? gw_config_load(&c, path, err, errlen) : -1;
    unlink(path);
    if (rc != 0) {
        gw_config_free(&c);
        return NULL;
    }
    return &c;
}

TEST(config)
{
    char err[256] = "";
    gw_config *c = config_of(
        "{\"redis\": {\"url\": \"redis://:pw@127.0.0.1:6390/2\", \"fail_mode\": \"closed\","
        " \"connect_timeout_ms\": 20, \"command_timeout_ms\": 10, \"key_prefix\": \"t:\"},"
        " \"keys\": [{\"name\": \"a\", \"key\": \"sk-a\", \"daily_budget\": {\"tokens\": 1000,"
        " \"cost\": 2.5, \"currency\": \"EUR\"}}, {\"name\": \"b\", \"key\": \"sk-b\"}]}",
        err, sizeof err);
    CHECK(c != NULL);
    if (!c) {
        printf("config: %s\n", err);
        return;
    }
    CHECK_EQ_STR(c->redis.url, "redis://:pw@127.0.0.1:6390/2");
    CHECK_EQ_INT(c->redis.fail_closed, 1);
    CHECK_EQ_INT(c->redis.connect_timeout_ms, 20);
    CHECK_EQ_INT(c->redis.command_timeout_ms, 10);
    CHECK_EQ_STR(c->redis.key_prefix, "t:");
    CHECK_EQ_DBL(c->keys[0].daily_tokens, 1000);
    CHECK_EQ_DBL(c->keys[0].daily_cost, 2.5);
    CHECK_EQ_STR(c->keys[0].budget_currency, "EUR");
    CHECK_EQ_DBL(c->keys[1].daily_tokens, 0);
    CHECK_EQ_STR(c->keys[1].budget_currency, "USD");
    CHECK_EQ_INT(gw_config_set_fail_mode(c, "open"), 0);
    CHECK_EQ_INT(c->redis.fail_closed, 0);
    CHECK_EQ_INT(gw_config_set_fail_mode(c, "sometimes"), -1);
    gw_config_free(c);

    static const struct { const char *json, *msg; } bad[] = {
        {"{\"redis\": {\"url\": \"redis://h\", \"fail_mode\": \"maybe\"}}", "fail_mode"},
        {"{\"redis\": {\"url\": \"redis://h\", \"command_timeout_ms\": 0}}", "command_timeout_ms"},
        {"{\"redis\": {\"url\": \"redis://h\", \"connect_timeout_ms\": 1e9}}", "connect_timeout_ms"},
        {"{\"redis\": {\"uri\": \"redis://h\"}}", "unknown key 'uri'"},
        {"{\"redis\": \"redis://h\"}", "redis must be an object"},
        {"{\"redis\": {\"password_env\": \"SONDE_TEST_UNSET_VARIABLE\"}}", "is not set"},
        {"{\"redis\": {\"key_prefix\": \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}}",
         "key_prefix"},
        {"{\"keys\": [{\"name\": \"a\", \"key\": \"s\", \"daily_budget\": {\"tokens\": -1}}]}", "tokens"},
        {"{\"keys\": [{\"name\": \"a\", \"key\": \"s\", \"daily_budget\": {\"dollars\": 1}}]}",
         "unknown key 'dollars'"},
        {"{\"keys\": [{\"name\": \"a\", \"key\": \"s\", \"daily_budget\": 5}]}", "must be an object"},
        {"{\"keys\": [{\"name\": \"a\", \"key\": \"s\", \"daily_budget\": {\"currency\": "
         "\"not-a-currency-at-all\"}}]}", "currency"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = 0;
        CHECK(config_of(bad[i].json, err, sizeof err) == NULL);
        CHECK_CONTAINS(err, bad[i].msg);
    }
}

static double counter(sonde_metric *fam, const char *label)
{
    return sonde_counter_value(sonde_counter_with(fam, &label));
}

/* A loopback port nothing listens on. */
static int closed_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(s, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (s >= 0) close(s);
    return port;
}

/* A gateway's limits on a private registry, with cfg's keys. */
typedef struct harness {
    gw_config cfg;
    sonde_registry *reg;
    sonde_logger *log;
    gw_meter meter;
    gw_limits *limits;
} harness;

static int harness_start(harness *h, const char *redis_url, int fail_closed)
{
    char err[256] = "";
    gw_config_defaults(&h->cfg);
    h->cfg.keys = calloc(2, sizeof *h->cfg.keys);
    h->cfg.nkeys = 2;
    gw_key *k = &h->cfg.keys[0];
    k->name = strdup("limited");
    k->secret = strdup("sk-1");
    k->budget_currency = strdup("USD");
    k->rpm = 2;
    k->daily_tokens = 100;
    gw_bucket_init(&k->requests, k->rpm);
    gw_bucket_init(&k->tokens, 0);
    gw_budget_init(&k->spent);
    k = &h->cfg.keys[1];
    k->name = strdup("free");
    k->secret = strdup("sk-2");
    k->budget_currency = strdup("USD");
    gw_bucket_init(&k->requests, 0);
    gw_bucket_init(&k->tokens, 0);
    gw_budget_init(&k->spent);
    if (redis_url) h->cfg.redis.url = strdup(redis_url);
    h->cfg.redis.fail_closed = fail_closed;
    sonde_logger_opts lo;
    sonde_logger_opts_init(&lo);
    lo.path = ""; /* no lines: the ring only */
    lo.read_env = 0;
    if (sonde_registry_new(NULL, &h->reg) != SONDE_OK || sonde_logger_new(&lo, &h->log) != SONDE_OK ||
        gw_meter_init(&h->meter, h->reg, &h->cfg, NULL) != 0)
        return -1;
    int rc = gw_limits_new(&h->cfg, &h->meter, h->log, err, sizeof err, &h->limits);
    if (rc) printf("limits: %s\n", err);
    return rc;
}

static void harness_stop(harness *h)
{
    gw_limits_free(h->limits);
    gw_meter_free(&h->meter);
    sonde_logger_free(h->log, 100);
    sonde_registry_free(h->reg);
    gw_config_free(&h->cfg);
}

TEST(local_limits)
{
    harness h;
    CHECK_EQ_INT(harness_start(&h, NULL, 0), 0);
    gw_key *k = &h.cfg.keys[0];
    double retry = 0;
    CHECK(gw_limits_admit(h.limits, k, 1, &retry) == GW_ADMIT_OK);
    gw_limits_charge(h.limits, k, 100, 0.5, "USD"); /* the budget is spent */
    CHECK(gw_limits_admit(h.limits, k, 1, &retry) == GW_ADMIT_DAILY_TOKENS);
    CHECK(retry >= 1 && retry <= 86400);               /* until midnight UTC */
    /* the budget refusals took no request unit: the second request of the minute is there */
    k->spent.tokens = 0;
    CHECK(gw_limits_admit(h.limits, k, 1, &retry) == GW_ADMIT_OK);
    CHECK(gw_limits_admit(h.limits, k, 1, &retry) == GW_ADMIT_REQUESTS);
    CHECK(retry > 0 && retry <= 60);
    /* a key without limits is always admitted; cost is metered per key and currency */
    for (int i = 0; i < 10; i++) CHECK(gw_limits_admit(h.limits, &h.cfg.keys[1], 1e9, &retry) == GW_ADMIT_OK);
    gw_limits_charge(h.limits, &h.cfg.keys[1], 10, 0.25, "USD");
    gw_limits_charge(h.limits, &h.cfg.keys[1], 10, 0.5, "EUR");
    gw_limits_charge(h.limits, &h.cfg.keys[1], 10, 0.25, "USD");
    CHECK_EQ_DBL(sonde_counter_value(sonde_counter_with(h.meter.key_cost,
                                                        (const char *[]){"free", "USD"})), 0.5);
    CHECK_EQ_DBL(sonde_counter_value(sonde_counter_with(h.meter.key_cost,
                                                        (const char *[]){"free", "EUR"})), 0.5);
    /* cost in another currency than the budget's does not count against it */
    k->daily_cost = 1;
    k->spent.tokens = 0;
    gw_limits_charge(h.limits, k, 1, 5, "EUR");
    CHECK_EQ_DBL(k->spent.cost, 0);
    gw_limits_charge(h.limits, k, 1, 1, "USD");
    CHECK_EQ_DBL(k->spent.cost, 1);
    CHECK_EQ_DBL(sonde_gauge_value(h.meter.limit_backend_up), 0);
    harness_stop(&h);
}

TEST(unreachable_redis)
{
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", closed_port());
    double retry = 0;
    /* fail-open: decided by the local limits (2 requests a minute), every fallback counted */
    harness h;
    CHECK_EQ_INT(harness_start(&h, url, 0), 0);
    gw_key *k = &h.cfg.keys[0];
    CHECK(gw_limits_admit(h.limits, k, 1, &retry) == GW_ADMIT_OK);
    CHECK(gw_limits_admit(h.limits, k, 1, &retry) == GW_ADMIT_OK);
    CHECK(gw_limits_admit(h.limits, k, 1, &retry) == GW_ADMIT_REQUESTS);
    gw_limits_charge(h.limits, k, 30, 0, "USD"); /* charged locally */
    CHECK_EQ_DBL(k->spent.tokens, 30);
    /* the first connect is refused, the calls after it skip Redis while backing off */
    CHECK_EQ_DBL(counter(h.meter.limit_fallbacks, "unreachable") +
                 counter(h.meter.limit_fallbacks, "backoff"), 4);
    CHECK(counter(h.meter.limit_fallbacks, "unreachable") >= 1);
    /* a key without limits never needs Redis */
    CHECK(gw_limits_admit(h.limits, &h.cfg.keys[1], 1, &retry) == GW_ADMIT_OK);
    gw_limits_probe(h.limits);
    CHECK_EQ_DBL(counter(h.meter.limit_fallbacks, "unreachable") +
                 counter(h.meter.limit_fallbacks, "backoff"), 4);
    CHECK_EQ_DBL(sonde_gauge_value(h.meter.limit_backend_up), 0);
    sonde_log_stats ls;
    sonde_logger_stats_get(h.log, &ls);
    CHECK(ls.written + ls.rate_limited >= 4); /* each fallback logged (or counted as suppressed) */
    harness_stop(&h);

    /* fail-closed: refused (503 upstream of here), counted likewise */
    CHECK_EQ_INT(harness_start(&h, url, 1), 0);
    k = &h.cfg.keys[0];
    CHECK(gw_limits_admit(h.limits, k, 1, &retry) == GW_ADMIT_UNAVAILABLE);
    CHECK_EQ_DBL(retry, 1);
    CHECK(gw_limits_admit(h.limits, k, 1, &retry) == GW_ADMIT_UNAVAILABLE);
    CHECK_EQ_DBL(counter(h.meter.limit_fallbacks, "unreachable") +
                 counter(h.meter.limit_fallbacks, "backoff"), 2);
    CHECK(gw_limits_admit(h.limits, &h.cfg.keys[1], 1, &retry) == GW_ADMIT_OK);
    CHECK_EQ_STR(gw_admit_reason(GW_ADMIT_UNAVAILABLE), "limit_backend_unavailable");
    harness_stop(&h);

    /* a URL that is not redis:// is refused when the limits are created */
    harness bad;
    CHECK(harness_start(&bad, "http://127.0.0.1:6379", 0) != 0);
    gw_meter_free(&bad.meter);
    sonde_logger_free(bad.log, 100);
    sonde_registry_free(bad.reg);
    gw_config_free(&bad.cfg);
}

int main(void)
{
    RUN(utc_days);
    RUN(budget_arithmetic_and_rollover);
    RUN(config);
    RUN(local_limits);
    RUN(unreachable_redis);
    return check_report();
}
