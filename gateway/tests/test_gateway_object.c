/*
 * test_gateway_object.c - gateway objects driven in-process. Two gateways
 * live side by side in this process, each on its own private registry and
 * loopback port; real HTTP requests (a raw-socket client) go through the
 * whole request path (service, OpenAI routes, simulator, stream buffer,
 * metering), and each registry must hold exactly what its own gateway did.
 * A third gateway proxies to one of them (upstream_proxy.c, curl), whole
 * and streamed. Then all are freed, which under ASan also proves that
 * nothing leaks.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gateway.h"
#include "service.h"
#include "unit/http_test_client.h"

typedef struct fixture {
    gw_config cfg;
    sonde_registry *reg;
    gateway *gw;
    int port;
} fixture;

/* A gateway on loopback, any port; upstream_port > 0 sends every model to that gateway. */
static int fixture_start(fixture *f, int upstream_port)
{
    memset(f, 0, sizeof *f);
    if (gw_config_defaults(&f->cfg) != 0) return -1;
    if (upstream_port > 0) {
        char url[64], err[256];
        snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", upstream_port);
        if (gw_config_set_fallback_url(&f->cfg, url, NULL, err, sizeof err) != 0) return -1;
        f->cfg.models[0].up = f->cfg.fallback; /* sonde-sim, proxied */
    }
    f->cfg.address = strdup("127.0.0.1");
    f->cfg.port = 0;
    f->cfg.threads = 2;
    gw_sim_opts *sim = &f->cfg.ups[0]->sim;
    sim->ttft_ms = sim->itl_ms = sim->jitter_ms = 0;
    sim->output_tokens = 3;
    sonde_config sc;
    sonde_config_init(&sc);
    sc.process_metrics = 0;
    if (sonde_registry_new(&sc, &f->reg) != SONDE_OK) return -1;
    if (gw_new(&f->cfg, f->reg, NULL, &f->gw) != 0 || gw_start(f->gw) != 0) return -1;
    f->port = gw_service_port(f->gw);
    return f->port > 0 ? 0 : -1;
}

static void fixture_stop(fixture *f)
{
    gw_free(f->gw);
    sonde_registry_free(f->reg);
    gw_config_free(&f->cfg);
}

static int post(int port, const char *path, const char *body, http_answer *a)
{
    char req[2048];
    int n = snprintf(req, sizeof req,
                     "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     path, strlen(body), body);
    return tc_send(port, req, (size_t)n, a);
}

/* The value of the sample line that starts with `series ` in text, or -1. */
static double sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ') return strtod(p + n + 1, NULL);
    return -1;
}

TEST(two_gateways_meter_their_own_requests)
{
    fixture a, b;
    int ok = fixture_start(&a, 0) == 0 && fixture_start(&b, 0) == 0;
    CHECK(ok);
    if (!ok) return;
    CHECK(a.port != b.port);

    http_answer ans;
    for (int i = 0; i < 2; i++) {
        CHECK_EQ_INT(post(a.port, "/v1/chat/completions",
                          "{\"model\":\"sonde-sim\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                          &ans), 0);
        CHECK_EQ_INT(ans.status, 200);
        CHECK_CONTAINS(ans.body, "\"chat.completion\"");
        CHECK_CONTAINS(ans.body, "\"completion_tokens\":3");
        tc_free(&ans);
    }
    CHECK_EQ_INT(post(b.port, "/v1/chat/completions",
                      "{\"model\":\"sonde-sim\",\"stream\":true,"
                      "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", &ans), 0);
    CHECK_EQ_INT(ans.status, 200);
    CHECK_CONTAINS(ans.body, "chat.completion.chunk");
    CHECK_CONTAINS(ans.body, "data: [DONE]");
    tc_free(&ans);

    /* /metrics on the API port is the gateway's own registry */
    CHECK_EQ_INT(tc_request(a.port, "GET", "/metrics", NULL, &ans), 0);
    CHECK_EQ_INT(ans.status, 200);
    CHECK_CONTAINS(ans.body, "gateway_provider_calls_total");
    tc_free(&ans);

    char *ta = sonde_expose_alloc(a.reg, SONDE_FORMAT_TEXT, NULL);
    char *tb = sonde_expose_alloc(b.reg, SONDE_FORMAT_TEXT, NULL);
    CHECK(ta && tb);
    const char *calls = "gateway_provider_calls_total{provider=\"sonde.sim\",model=\"sonde-sim\","
                        "status=\"ok\"}";
    CHECK_EQ_DBL(sample(ta, calls), 2);
    CHECK_EQ_DBL(sample(tb, calls), 1);
    const char *tokens = "gateway_tokens_total{provider=\"sonde.sim\",model=\"sonde-sim\","
                         "type=\"output\"}";
    CHECK_EQ_DBL(sample(ta, tokens), 6);
    CHECK_EQ_DBL(sample(tb, tokens), 3);
    CHECK_EQ_DBL(sample(ta, "http_requests_total{method=\"POST\",route=\"/v1/chat/completions\","
                            "status=\"200\"}"), 2);
    CHECK_EQ_DBL(sample(tb, "http_requests_total{method=\"POST\",route=\"/v1/chat/completions\","
                            "status=\"200\"}"), 1);
    CHECK_EQ_DBL(sample(ta, "gateway_calls_in_flight{provider=\"sonde.sim\"}"), 0);
    CHECK_EQ_DBL(sample(tb, "gateway_calls_in_flight{provider=\"sonde.sim\"}"), 0);
    if (check_test_failed) fprintf(stderr, "--- registry a\n%s\n--- registry b\n%s\n", ta, tb);
    free(ta);
    free(tb);
    fixture_stop(&a);
    fixture_stop(&b);
}

TEST(proxy_to_a_gateway)
{
    fixture up, front;
    int ok = fixture_start(&up, 0) == 0 && fixture_start(&front, up.port) == 0;
    CHECK(ok);
    if (!ok) return;
    http_answer ans;
    CHECK_EQ_INT(post(front.port, "/v1/chat/completions",
                      "{\"model\":\"sonde-sim\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                      &ans), 0);
    CHECK_EQ_INT(ans.status, 200);
    CHECK_CONTAINS(ans.body, "\"completion_tokens\":3");
    tc_free(&ans);
    CHECK_EQ_INT(post(front.port, "/v1/chat/completions",
                      "{\"model\":\"sonde-sim\",\"stream\":true,"
                      "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", &ans), 0);
    CHECK_EQ_INT(ans.status, 200);
    CHECK_CONTAINS(ans.body, "data: [DONE]");
    tc_free(&ans);
    char *t = sonde_expose_alloc(front.reg, SONDE_FORMAT_TEXT, NULL);
    CHECK_EQ_DBL(sample(t, "gateway_provider_calls_total{provider=\"openai\",model=\"sonde-sim\","
                           "status=\"ok\"}"), 2);
    /* the upstream's usage (3 tokens each), not the front's own chunk count */
    CHECK_EQ_DBL(sample(t, "gateway_tokens_total{provider=\"openai\",model=\"sonde-sim\","
                           "type=\"output\"}"), 6);
    CHECK_EQ_DBL(sample(t, "gateway_upstream_up{upstream=\"upstream\"}"), 1);
    free(t);
    t = sonde_expose_alloc(up.reg, SONDE_FORMAT_TEXT, NULL);
    CHECK_EQ_DBL(sample(t, "gateway_provider_calls_total{provider=\"sonde.sim\",model=\"sonde-sim\","
                           "status=\"ok\"}"), 2);
    free(t);
    fixture_stop(&front);
    fixture_stop(&up);
}

int main(void)
{
    RUN(two_gateways_meter_their_own_requests);
    RUN(proxy_to_a_gateway);
    return check_report();
}
