/*
 * test_gateway_config.c - the gateway's pure parts without a network: the
 * configuration file (valid files, every kind of mistake, URL parsing, the
 * model fallback), key lookup by secret, the token buckets of the rate limit
 * and the timer queue's ordering. Runs under ASan with the unit tests.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "gateway.h"

static char path[64];

static void write_file(const char *text)
{
    strcpy(path, "/tmp/gwcfgXXXXXX");
    int fd = mkstemp(path);
    if (fd >= 0) {
        ssize_t n = write(fd, text, strlen(text));
        (void)n;
        close(fd);
    }
}

/* Load text; returns the rc, the message in err. */
static int load(gw_config *c, const char *text, char *err, size_t len)
{
    gw_config_defaults(c);
    write_file(text);
    int rc = gw_config_load(c, path, err, len);
    unlink(path);
    return rc;
}

TEST(defaults)
{
    gw_config c;
    CHECK_EQ_INT(gw_config_defaults(&c), 0);
    CHECK_EQ_INT(c.port, 8080);
    CHECK_EQ_INT(c.metrics_port, 0);
    CHECK_EQ_INT(c.nups, 1);
    CHECK_EQ_STR(c.ups[0]->name, "sim");
    CHECK(c.fallback == NULL); /* models not listed are refused */
    CHECK_EQ_INT(c.nkeys, 0);
    CHECK_EQ_INT(c.client_idle_timeout_ms, GW_CLIENT_IDLE_TIMEOUT_MS);
    CHECK(c.responses_db == NULL); /* :memory: */
    CHECK_EQ_INT(c.responses_max, GW_RESPONSES_MAX);
    CHECK_EQ_INT(c.responses_max_age_s, GW_RESPONSES_MAX_AGE_S);
    CHECK_EQ_INT(c.console, 1); /* the console is on by default */
    CHECK_EQ_INT(c.console_interval_ms, 5000);
    CHECK_EQ_INT(c.console_retention_s, 3600);
    CHECK_EQ_DBL(c.console_max_bytes, 32.0 * 1024 * 1024);
    char err[256];
    gw_config_free(&c);
    CHECK_EQ_INT(load(&c, "{\"console\": {\"enabled\": false, \"interval_ms\": 1000, "
                          "\"retention_s\": 600, \"max_bytes\": 1048576}}", err, sizeof err), 0);
    CHECK_EQ_INT(c.console, 0);
    CHECK_EQ_INT(c.console_interval_ms, 1000);
    CHECK_EQ_INT(c.console_retention_s, 600);
    CHECK_EQ_DBL(c.console_max_bytes, 1048576.0);
    CHECK(c.alert_rules == NULL && c.alert_webhook == NULL && c.alertmanager_url == NULL);
    gw_config_free(&c);
    CHECK_EQ_INT(load(&c, "{\"alerts\": {\"rules\": \"/etc/rules.json\", \"webhook\": "
                          "\"http://h:5001/hook\", \"alertmanager_url\": \"https://am\"}}",
                      err, sizeof err), 0);
    CHECK_EQ_STR(c.alert_rules, "/etc/rules.json");
    CHECK_EQ_STR(c.alert_webhook, "http://h:5001/hook");
    CHECK_EQ_STR(c.alertmanager_url, "https://am");
    gw_config_free(&c);
    CHECK_EQ_INT(load(&c, "{\"responses\": {\"store\": \"/tmp/r.db\", \"max_count\": 5, "
                          "\"max_age_s\": 60}}", err, sizeof err), 0);
    CHECK_EQ_STR(c.responses_db, "/tmp/r.db");
    CHECK_EQ_INT(c.responses_max, 5);
    CHECK_EQ_INT(c.responses_max_age_s, 60);
    gw_model tmp;
    CHECK(gw_config_model(&c, "anything", &tmp) == NULL);
    const gw_model *m = gw_config_model(&c, "sonde-sim", &tmp); /* built in */
    CHECK(m == &c.models[0] && m->up == c.ups[0]);
    CHECK_EQ_STR(m->upstream_model, "sonde-sim");
    gw_config_free(&c);
}

TEST(unlisted_models_and_tools)
{
    gw_config c;
    char err[256] = "";
    int rc = load(&c,
        "{\"default_upstream\": \"sim\", \"tools\": [\"get_weather\", \"search\"],"
        " \"models\": {\"sonde-sim\": {\"price\": {\"input_per_million\": 2}},"
        "             \"alias\": {\"upstream_model\": \"sonde-sim\"}}}", err, sizeof err);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_STR(err, "");
    CHECK_EQ_INT(c.nmodels, 2); /* sonde-sim redefined, not repeated */
    CHECK_EQ_DBL(c.models[0].price_input, 2);
    CHECK_EQ_INT(c.ntools, 2);
    CHECK_EQ_STR(c.tools[1], "search");
    gw_model tmp;
    const gw_model *m = gw_config_model(&c, "anything", &tmp);
    CHECK(m == &tmp && m->up == c.ups[0]);
    CHECK_EQ_STR(m->name, "_other"); /* the label */
    CHECK_EQ_STR(m->upstream_model, "anything"); /* what the upstream gets */
    gw_config_free(&c);
    static const char *const bad[] = {
        "{\"models\": {\"_other\": {}}}",
        "{\"tools\": [\"_other\"]}",
        "{\"tools\": [5]}",
        "{\"tools\": \"x\"}",
        "{\"keys\": [{\"name\": \"_other\", \"key\": \"s\"}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_EQ_INT(load(&c, bad[i], err, sizeof err), -1);
        gw_config_free(&c);
    }
    /* a name longer than a label value may be */
    char big[600];
    int n = snprintf(big, sizeof big, "{\"models\": {\"%0300d\": {}}}", 0);
    CHECK(n > 300);
    CHECK_EQ_INT(load(&c, big, err, sizeof err), -1);
    CHECK(strstr(err, "1 to 256 bytes") != NULL);
    gw_config_free(&c);
}

TEST(full_file)
{
    gw_config c;
    char err[256] = "";
    int rc = load(&c,
        "{\"listen\": {\"address\": \"127.0.0.1\", \"port\": 9000, \"metrics_port\": 9001},"
        " \"threads\": 2, \"max_body_bytes\": 4096,"
        " \"upstreams\": {\"sim\": {\"ttft_ms\": 5, \"output_tokens\": 3},"
        "   \"up\": {\"type\": \"openai\", \"url\": \"http://127.0.0.1:9999/v1/\", \"api_key\": \"k\","
        "            \"provider\": \"vllm\", \"connect_timeout_ms\": 250,"
        "            \"first_byte_timeout_ms\": 1500, \"idle_timeout_ms\": 700}},"
        " \"client_idle_timeout_ms\": 900,"
        " \"models\": {\"a\": {\"upstream\": \"up\", \"upstream_model\": \"org/a\","
        "              \"price\": {\"input_per_million\": 1.5, \"output_per_million\": 3, \"currency\": \"EUR\"}},"
        "            \"b\": {}},"
        " \"default_upstream\": null,"
        " \"keys\": [{\"name\": \"alice\", \"key\": \"sk-a\", \"requests_per_minute\": 10},"
        "          {\"name\": \"bob\", \"key\": \"sk-b\", \"tokens_per_minute\": 100}]}",
        err, sizeof err);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_STR(err, "");
    CHECK_EQ_STR(c.address, "127.0.0.1");
    CHECK_EQ_INT(c.port, 9000);
    CHECK_EQ_INT(c.metrics_port, 9001);
    CHECK_EQ_INT(c.threads, 2);
    CHECK_EQ_INT(c.max_body, 4096);
    CHECK_EQ_INT(c.nups, 2);
    CHECK_EQ_DBL(c.ups[0]->sim.ttft_ms, 5);
    CHECK_EQ_INT(c.ups[0]->sim.output_tokens, 3);
    gw_upstream *u = c.ups[1];
    CHECK_EQ_STR(u->url, "http://127.0.0.1:9999/v1");
    CHECK_EQ_STR(u->host, "127.0.0.1");
    CHECK_EQ_INT(u->port, 9999);
    CHECK_EQ_STR(u->provider, "vllm");
    CHECK_EQ_STR(u->api_key, "k");
    CHECK_EQ_INT(u->connect_timeout_ms, 250);
    CHECK_EQ_INT(u->first_byte_timeout_ms, 1500);
    CHECK_EQ_INT(u->idle_timeout_ms, 700);
    CHECK_EQ_INT(c.client_idle_timeout_ms, 900);
    CHECK(c.fallback == NULL);
    gw_model tmp;
    const gw_model *a = gw_config_model(&c, "a", &tmp);
    CHECK(a && a->up == u);
    CHECK_EQ_STR(a->upstream_model, "org/a");
    CHECK_EQ_DBL(a->price_input, 1.5);
    CHECK_EQ_STR(a->currency, "EUR");
    const gw_model *b = gw_config_model(&c, "b", &tmp);
    CHECK(b && b->up == c.ups[0]);
    CHECK_EQ_STR(b->currency, "USD");
    CHECK(gw_config_model(&c, "unlisted", &tmp) == NULL);
    const gw_key *k = gw_key_find(&c, "sk-b");
    CHECK(k && strcmp(k->name, "bob") == 0);
    CHECK(gw_key_find(&c, "sk-") == NULL);
    CHECK(gw_key_find(&c, "sk-bb") == NULL);
    CHECK(gw_key_find(&c, "") == NULL);
    CHECK(gw_key_find(&c, NULL) == NULL);
    gw_config_free(&c);
}

TEST(mistakes)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"{\"bogus\": 1}", "unknown key 'bogus'"},
        {"{\"console\": true}", "console must be an object"},
        {"{\"console\": {\"enabled\": 1}}", "'enabled' must be true or false"},
        {"{\"console\": {\"interval_ms\": 10}}", "'interval_ms' must be a number in [100"},
        {"{\"console\": {\"max_bytes\": 100}}", "'max_bytes' must be a number"},
        {"{\"console\": {\"path\": \"/x\"}}", "console: unknown key 'path'"},
        {"{\"alerts\": []}", "alerts must be an object"},
        {"{\"alerts\": {\"rules\": \"\"}}", "alerts: 'rules' must be a non-empty string"},
        {"{\"alerts\": {\"webhook\": \"ftp://h\"}}", "must be http:// or https:// URLs"},
        {"{\"alerts\": {\"alertmanager_url\": 5}}", "'alertmanager_url' must be a non-empty"},
        {"{\"alerts\": {\"email\": \"x\"}}", "alerts: unknown key 'email'"},
        {"{\"responses\": {\"max_count\": 0}}", "'max_count' must be a number"},
        {"{\"responses\": {\"store\": 5}}", "store"},
        {"{\"responses\": {\"keep\": 5}}", "unknown key 'keep'"},
        {"{\"threads\": \"four\"}", "'threads' must be a number"},
        {"{\"threads\": 0}", "'threads' must be a number in [1, 256]"},
        {"{\"upstreams\": {\"x\": {\"type\": \"openai\"}}}", "'url' is required"},
        {"{\"upstreams\": {\"x\": {\"type\": \"grpc\"}}}", "'type' must be"},
        {"{\"upstreams\": {\"x\": {\"type\": \"openai\", \"url\": \"ftp://h/v1\"}}}", "must start with http"},
        {"{\"upstreams\": {\"x\": {\"type\": \"openai\", \"url\": \"http://h:99999/v1\"}}}", "malformed url"},
        {"{\"upstreams\": {\"sim\": {\"type\": \"openai\", \"url\": \"http://h/v1\"}}}", "must stay of type sim"},
        {"{\"upstreams\": {\"sim\": {\"url\": \"http://h/v1\"}}}", "has no url"},
        {"{\"upstreams\": {\"sim\": {\"error_rate\": 2}}}", "'error_rate' must be a number in [0, 1]"},
        {"{\"upstreams\": {\"x\": {\"type\": \"openai\", \"url\": \"http://h\", \"api_key_env\": \"GW_TEST_UNSET_VAR\"}}}",
         "GW_TEST_UNSET_VAR"},
        {"{\"upstreams\": {\"x\": {\"type\": \"openai\", \"url\": \"http://h\", \"timeout_ms\": 5}}}",
         "'timeout_ms' is for sim upstreams"},
        {"{\"upstreams\": {\"x\": {\"type\": \"openai\", \"url\": \"http://h\", \"idle_timeout_ms\": 0}}}",
         "'idle_timeout_ms' must be a number in [1, 3.6e+06]"},
        {"{\"upstreams\": {\"sim\": {\"first_byte_timeout_ms\": 5}}}", "a sim upstream has no connect"},
        {"{\"client_idle_timeout_ms\": -1}", "'client_idle_timeout_ms' must be"},
        {"{\"models\": {\"m\": {\"upstream\": \"nowhere\"}}}", "unknown upstream 'nowhere'"},
        {"{\"models\": {\"m\": {\"price\": {\"input_per_million\": -1}}}}", "input_per_million"},
        {"{\"default_upstream\": \"nowhere\"}", "default_upstream"},
        {"{\"keys\": {}}", "keys must be an array"},
        {"{\"keys\": [{\"name\": \"a\"}]}", "'name' and 'key'"},
        {"{\"keys\": [{\"name\": \"a\", \"key\": \"s\"}, {\"name\": \"a\", \"key\": \"t\"}]}", "duplicate"},
        {"{\"keys\": [{\"name\": \"a\", \"key\": \"s\"}, {\"name\": \"b\", \"key\": \"s\"}]}", "duplicate"},
        {"{\"listen\": {\"port\": 70000}}", "'port' must be a number"},
        {"{\"otlp_metrics\": {\"url\": \"http://h\"}}", "otlp_metrics: unknown key 'url'"},
        {"{\"otlp_metrics\": {\"interval_ms\": 0}}", "'interval_ms' must be a number"},
        {"{\"otlp_metrics\": true}", "otlp_metrics must be an object"},
        {"{\"a\": 1, \"a\": 2}", "duplicate"},
        {"[1]", "top level must be an object"},
        {"{\"threads\": ", ":1:"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        gw_config c;
        char err[256] = "";
        CHECK_EQ_INT(load(&c, cases[i].text, err, sizeof err), -1);
        if (!strstr(err, cases[i].want))
            fprintf(stderr, "case %zu: '%s' lacks '%s'\n", i, err, cases[i].want);
        CHECK(strstr(err, cases[i].want) != NULL);
        gw_config_free(&c);
    }
    gw_config c;
    char err[128];
    gw_config_defaults(&c);
    CHECK_EQ_INT(gw_config_load(&c, "/nonexistent/gw.json", err, sizeof err), -1);
    CHECK(strstr(err, "/nonexistent/gw.json") != NULL);
    gw_config_free(&c);
}

TEST(urls)
{
    gw_config c;
    char err[128];
    gw_config_defaults(&c);
    CHECK_EQ_INT(gw_config_set_fallback_url(&c, "https://api.example.com/v1", "sk", err, sizeof err), 0);
    CHECK_EQ_STR(c.fallback->host, "api.example.com");
    CHECK_EQ_INT(c.fallback->port, 443);
    CHECK_EQ_STR(c.fallback->api_key, "sk");
    CHECK_EQ_INT(gw_config_set_fallback_url(&c, "http://[::1]:8000/v1", NULL, err, sizeof err), 0);
    CHECK_EQ_STR(c.fallback->host, "[::1]");
    CHECK_EQ_INT(c.fallback->port, 8000);
    CHECK_EQ_INT(c.nups, 2); /* set twice, one upstream */
    CHECK_EQ_INT(gw_config_set_fallback_url(&c, "http://:80/v1", NULL, err, sizeof err), -1);
    CHECK_EQ_INT(gw_config_set_fallback_url(&c, "localhost:80", NULL, err, sizeof err), -1);
    CHECK_EQ_INT(gw_config_set_fallback_url(&c, "http://h:0/v1", NULL, err, sizeof err), -1);
    CHECK_EQ_INT(gw_config_set_fallback_url(&c, "http://h/v1?x=1", NULL, err, sizeof err), -1);
    CHECK(strstr(err, "no query") != NULL);
    CHECK_EQ_INT(gw_config_set_fallback_url(&c, "http://h/v1#f", NULL, err, sizeof err), -1);
    CHECK_EQ_INT(gw_config_set_fallback_url(&c, "http://h/v1/", NULL, err, sizeof err), 0);
    CHECK_EQ_STR(c.fallback->url, "http://h/v1");
    CHECK_EQ_INT(c.fallback->port, 80);
    gw_config_free(&c);
}

TEST(exposure)
{
    static const char *const loop[] = {"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"};
    static const char *const open[] = {"0.0.0.0", "::", "10.0.0.1", "192.168.1.5", "::ffff:10.0.0.1",
                                       "fe80::1", "128.0.0.1"};
    CHECK_EQ_INT(gw_address_is_loopback(NULL), 1);
    CHECK_EQ_INT(gw_address_is_loopback(""), 1);
    for (size_t i = 0; i < sizeof loop / sizeof *loop; i++) CHECK_EQ_INT(gw_address_is_loopback(loop[i]), 1);
    for (size_t i = 0; i < sizeof open / sizeof *open; i++) CHECK_EQ_INT(gw_address_is_loopback(open[i]), 0);
    gw_config c;
    char err[128];
    gw_config_defaults(&c);
    CHECK(gw_config_exposed_key(&c) == NULL); /* loopback, no upstream key */
    c.address = strdup("0.0.0.0");
    CHECK(gw_config_exposed_key(&c) == NULL); /* open, but no upstream key to spend */
    CHECK_EQ_INT(gw_config_set_fallback_url(&c, "http://127.0.0.1:9/v1", "sk-up", err, sizeof err), 0);
    CHECK(gw_config_exposed_key(&c) == c.fallback);
    free(c.address);
    c.address = strdup("::1");
    CHECK(gw_config_exposed_key(&c) == NULL); /* loopback again */
    gw_config_free(&c);
    char e2[256];
    CHECK_EQ_INT(load(&c, "{\"listen\": {\"address\": \"0.0.0.0\"},"
                          " \"upstreams\": {\"u\": {\"type\": \"openai\", \"url\": \"http://h/v1\","
                          " \"api_key\": \"k\"}}, \"keys\": [{\"name\": \"a\", \"key\": \"s\"}]}",
                      e2, sizeof e2), 0);
    CHECK(gw_config_exposed_key(&c) == NULL); /* client keys guard it */
    gw_config_free(&c);
}

TEST(buckets)
{
    gw_bucket b;
    double wait = 0;
    gw_bucket_init(&b, 60); /* one per second, a minute's worth at once */
    int taken = 0;
    for (int i = 0; i < 100; i++) taken += gw_bucket_take(&b, 1, 1, &wait);
    CHECK_EQ_INT(taken, 60);
    CHECK(wait > 0 && wait <= 1.01);
    gw_bucket_destroy(&b);

    gw_bucket_init(&b, 0); /* unlimited */
    for (int i = 0; i < 1000; i++) CHECK(gw_bucket_take(&b, 1e9, 1e9, &wait));
    gw_bucket_destroy(&b);

    gw_key k;
    memset(&k, 0, sizeof k);
    gw_bucket_init(&k.requests, 0);
    gw_bucket_init(&k.tokens, 10);
    CHECK(gw_ratelimit_admit(&k, 20, &wait) == NULL); /* a need above capacity is capped */
    gw_bucket_charge(&k.tokens, 20);                    /* the call used 20: level -10 */
    const char *why = gw_ratelimit_admit(&k, 1, &wait);
    CHECK(why && strcmp(why, "tokens_per_minute") == 0);
    CHECK(wait > 60 && wait < 67); /* (1 - -10) / (10 / 60) = 66 s */
    gw_bucket_destroy(&k.requests);
    gw_bucket_destroy(&k.tokens);

    gw_bucket_init(&b, 1e-6); /* a tiny allowance charged a big call */
    CHECK(gw_bucket_take(&b, 1, 0, &wait));
    gw_bucket_charge(&b, 1e6);
    CHECK(!gw_bucket_take(&b, 1, 0, &wait));
    CHECK_EQ_DBL(wait, GW_RETRY_AFTER_MAX); /* not 6e13 s, which no int holds */
    gw_bucket_destroy(&b);
    gw_bucket_init(&b, 4e-323); /* per_second rounds to 0: the wait is not infinite */
    gw_bucket_charge(&b, 1);
    CHECK(!gw_bucket_take(&b, 1, 0, &wait));
    CHECK_EQ_DBL(wait, GW_RETRY_AFTER_MAX);
    gw_bucket_destroy(&b);

    gw_bucket_init(&k.requests, 1);
    gw_bucket_init(&k.tokens, 0);
    CHECK(gw_ratelimit_admit(&k, 5, &wait) == NULL);
    why = gw_ratelimit_admit(&k, 5, &wait);
    CHECK(why && strcmp(why, "requests_per_minute") == 0);
    gw_bucket_destroy(&k.requests);
    gw_bucket_destroy(&k.tokens);
}

static int order[8], norder;
static pthread_mutex_t order_mu = PTHREAD_MUTEX_INITIALIZER;

static void note(void *arg)
{
    pthread_mutex_lock(&order_mu);
    order[norder++] = (int)(intptr_t)arg;
    pthread_mutex_unlock(&order_mu);
}

TEST(timers)
{
    gw_timer *t = gw_timer_new();
    CHECK(t != NULL);
    if (!t) return;
    gw_timer_after(t, 30000000, note, (void *)3);
    gw_timer_after(t, 10000000, note, (void *)1);
    gw_timer_after(t, 20000000, note, (void *)2);
    gw_timer_after(t, 20000000, note, (void *)22); /* same deadline: insertion order */
    gw_timer_after(t, 5000000000u, note, (void *)9); /* far away: run by free */
    for (int i = 0; i < 200; i++) {
        pthread_mutex_lock(&order_mu);
        int n = norder;
        pthread_mutex_unlock(&order_mu);
        if (n >= 4) break;
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    gw_timer_free(t);
    CHECK_EQ_INT(norder, 5);
    CHECK_EQ_INT(order[0], 1);
    CHECK_EQ_INT(order[1], 2);
    CHECK_EQ_INT(order[2], 22);
    CHECK_EQ_INT(order[3], 3);
    CHECK_EQ_INT(order[4], 9);
}

TEST(utf8_fix)
{
    char ok[] = "plain \xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
    char want_ok[sizeof ok];
    memcpy(want_ok, ok, sizeof ok);
    gw_utf8_fix(ok);
    CHECK_EQ_STR(ok, want_ok); /* valid text is untouched */
    char cut[] = "ab\xc3\xa9\xc3";     /* a character cut by snprintf */
    gw_utf8_fix(cut);
    CHECK_EQ_STR(cut, "ab\xc3\xa9?");
    char bytes[] = "/v1/\xff\xfe x\xe2\x82"; /* percent-decoded bytes, a cut euro sign */
    gw_utf8_fix(bytes);
    CHECK_EQ_STR(bytes, "/v1/?? x??");
    char bad[] = "\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80x"; /* overlong, surrogate, > U+10FFFF */
    gw_utf8_fix(bad);
    CHECK_EQ_STR(bad, "?????????x");
    json_t *j = json_string(bytes);
    CHECK(j != NULL); /* what gw_reply_error needs */
    json_decref(j);
}

int main(void)
{
    RUN(defaults);
    RUN(full_file);
    RUN(unlisted_models_and_tools);
    RUN(exposure);
    RUN(mistakes);
    RUN(urls);
    RUN(buckets);
    RUN(timers);
    RUN(utf8_fix);
    return check_report();
}
