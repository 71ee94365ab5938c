/*
 * test_gateway_routing.c - routing's pure parts: the circuit breaker's state
 * machine driven with explicit times (no clock, no waiting), the weighted and
 * least-in-flight choice with the uniform draw given (so every branch is
 * deterministic), and the routing configuration: the one-upstream form still
 * loads as one deployment, the deployments form, and each mistake refused
 * with a message that names the field. The calls themselves (retries,
 * fallbacks, the breaker in service) run against two real upstreams in
 * tests/integration/test_gateway_route.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "gateway.h"

#define SEC 1000000000ull

TEST(breaker_state_machine)
{
    gw_breaker b;
    int ch;
    gw_breaker_init(&b, 3, 10 * SEC);
    /* closed: failures below the threshold, a success resets the count */
    CHECK_EQ_INT(gw_breaker_acquire(&b, 1, &ch), 1);
    CHECK_EQ_INT(ch, -1);
    CHECK_EQ_INT(gw_breaker_record(&b, GW_ATTEMPT_FAILED, 1), -1);
    CHECK_EQ_INT(gw_breaker_record(&b, GW_ATTEMPT_FAILED, 1), -1);
    CHECK_EQ_INT(gw_breaker_record(&b, GW_ATTEMPT_OK, 1), -1);
    CHECK_EQ_INT(gw_breaker_record(&b, GW_ATTEMPT_FAILED, 2), -1);
    CHECK_EQ_INT(gw_breaker_record(&b, GW_ATTEMPT_NEUTRAL, 2), -1); /* a 4xx says nothing */
    CHECK_EQ_INT(gw_breaker_record(&b, GW_ATTEMPT_FAILED, 2), -1);
    CHECK_EQ_INT(gw_breaker_record(&b, GW_ATTEMPT_FAILED, 2), GW_BREAKER_OPEN); /* 3 in a row */
    CHECK_EQ_INT(gw_breaker_get(&b), GW_BREAKER_OPEN);
    /* open: refused until the cooldown has passed; late answers change nothing */
    CHECK_EQ_INT(gw_breaker_acquire(&b, 2 + 10 * SEC - 1, &ch), 0);
    CHECK_EQ_INT(ch, -1);
    CHECK_EQ_INT(gw_breaker_record(&b, GW_ATTEMPT_OK, 3), -1);
    CHECK_EQ_INT(gw_breaker_get(&b), GW_BREAKER_OPEN);
    /* half-open: one probe at a time */
    CHECK_EQ_INT(gw_breaker_acquire(&b, 2 + 10 * SEC, &ch), 1);
    CHECK_EQ_INT(ch, GW_BREAKER_HALF_OPEN);
    CHECK_EQ_INT(gw_breaker_acquire(&b, 2 + 10 * SEC, &ch), 0);
    /* a probe that says nothing frees the slot; a failed one reopens */
    CHECK_EQ_INT(gw_breaker_record(&b, GW_ATTEMPT_NEUTRAL, 20 * SEC), -1);
    CHECK_EQ_INT(gw_breaker_acquire(&b, 20 * SEC, &ch), 1);
    CHECK_EQ_INT(ch, -1);
    CHECK_EQ_INT(gw_breaker_record(&b, GW_ATTEMPT_FAILED, 20 * SEC), GW_BREAKER_OPEN);
    CHECK_EQ_INT(gw_breaker_acquire(&b, 25 * SEC, &ch), 0); /* the cooldown starts again */
    CHECK_EQ_INT(gw_breaker_acquire(&b, 30 * SEC, &ch), 1);
    CHECK_EQ_INT(ch, GW_BREAKER_HALF_OPEN);
    CHECK_EQ_INT(gw_breaker_record(&b, GW_ATTEMPT_OK, 30 * SEC), GW_BREAKER_CLOSED);
    /* closed again, with a fresh count */
    CHECK_EQ_INT(gw_breaker_record(&b, GW_ATTEMPT_FAILED, 31 * SEC), -1);
    CHECK_EQ_INT(gw_breaker_record(&b, GW_ATTEMPT_FAILED, 31 * SEC), -1);
    CHECK_EQ_INT(gw_breaker_get(&b), GW_BREAKER_CLOSED);
    CHECK_EQ_STR(gw_breaker_name(GW_BREAKER_HALF_OPEN), "half_open");
    gw_breaker_destroy(&b);

    gw_breaker_init(&b, 0, SEC); /* no breaker configured: never opens */
    for (int i = 0; i < 100; i++) CHECK_EQ_INT(gw_breaker_record(&b, GW_ATTEMPT_FAILED, 1), -1);
    CHECK_EQ_INT(gw_breaker_acquire(&b, 1, &ch), 1);
    gw_breaker_destroy(&b);
}

TEST(choice)
{
    gw_deployment d[3];
    memset(d, 0, sizeof d);
    d[0].weight = 1, d[1].weight = 3, d[2].weight = 0;
    gw_model m = {.deps = d, .ndeps = 3, .routing = GW_ROUTE_WEIGHTED};
    /* weights 1:3 over [0, 1): [0, .25) -> 0, [.25, 1) -> 1; weight 0 never first */
    CHECK_EQ_INT(gw_route_choose(&m, 0, 0.0), 0);
    CHECK_EQ_INT(gw_route_choose(&m, 0, 0.2499), 0);
    CHECK_EQ_INT(gw_route_choose(&m, 0, 0.25), 1);
    CHECK_EQ_INT(gw_route_choose(&m, 0, 0.9999), 1);
    int hits[3] = {0, 0, 0};
    for (int i = 0; i < 1000; i++) hits[gw_route_choose(&m, 0, i / 1000.0)]++;
    CHECK_EQ_INT(hits[0], 250);
    CHECK_EQ_INT(hits[1], 750);
    CHECK_EQ_INT(hits[2], 0);
    /* tried ones are skipped; a weight-0 deployment is the last resort */
    CHECK_EQ_INT(gw_route_choose(&m, 1u << 1, 0.9), 0);
    CHECK_EQ_INT(gw_route_choose(&m, 1u << 0 | 1u << 1, 0.5), 2);
    CHECK_EQ_INT(gw_route_choose(&m, 7, 0.5), -1);
    /* least in flight, ties to the first listed */
    m.routing = GW_ROUTE_LEAST_IN_FLIGHT;
    CHECK_EQ_INT(gw_route_choose(&m, 0, 0.9), 0);
    atomic_store(&d[0].in_flight, 2);
    atomic_store(&d[1].in_flight, 1);
    atomic_store(&d[2].in_flight, 1);
    CHECK_EQ_INT(gw_route_choose(&m, 0, 0.0), 1);
    CHECK_EQ_INT(gw_route_choose(&m, 1u << 1, 0.0), 2);
    CHECK_EQ_INT(gw_route_choose(&m, 1u << 1 | 1u << 2, 0.0), 0);
}

static char path[64];

static int load(gw_config *c, const char *text, char *err, size_t len)
{
    gw_config_defaults(c);
    strcpy(path, "/tmp/gwrouteXXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) return -2;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    int rc = n == (ssize_t)strlen(text) ? gw_config_load(c, path, err, len) : -2;
    unlink(path);
    return rc;
}

#define UPS "\"upstreams\": {\"a\": {\"type\": \"openai\", \"url\": \"http://127.0.0.1:1/v1\"}, " \
            "\"b\": {\"type\": \"openai\", \"url\": \"http://127.0.0.1:2/v1\"}}, "

TEST(config)
{
    gw_config c;
    char err[512];
    /* the one-upstream form: one deployment named after its upstream, no breaker */
    CHECK_EQ_INT(load(&c, "{" UPS "\"models\": {\"m\": {\"upstream\": \"a\", \"upstream_model\": \"x\"}}}",
                      err, sizeof err), 0);
    const gw_model *m = &c.models[c.nmodels - 1];
    CHECK_EQ_INT(m->ndeps, 1);
    CHECK_EQ_STR(m->deps[0].name, "a");
    CHECK_EQ_STR(m->deps[0].upstream_model, "x");
    CHECK_EQ_INT(m->retries, 0);
    CHECK_EQ_INT(m->deps[0].breaker.threshold, 0);
    gw_config_free(&c);
    CHECK_EQ_INT(load(&c, "{" UPS "\"models\": {\"m\": {\"deployments\": [{\"upstream\": \"a\", "
                      "\"weight\": 2}, {\"upstream\": \"b\", \"name\": \"b-eu\", \"upstream_model\": "
                      "\"y\"}], \"routing\": \"least_in_flight\", \"breaker\": {\"cooldown_ms\": 500}, "
                      "\"fallbacks\": [\"n\"]}, \"n\": {\"upstream\": \"b\"}}}", err, sizeof err), 0);
    m = gw_config_model(&c, "m", NULL);
    CHECK(m != NULL);
    if (m) {
        CHECK_EQ_INT(m->ndeps, 2);
        CHECK_EQ_STR(m->deps[1].name, "b-eu");
        CHECK_EQ_STR(m->deps[0].upstream_model, "m");
        CHECK_EQ_DBL(m->deps[0].weight, 2);
        CHECK_EQ_INT(m->routing, GW_ROUTE_LEAST_IN_FLIGHT);
        CHECK_EQ_INT(m->retries, 1);
        CHECK_EQ_INT(m->deps[1].breaker.threshold, GW_BREAKER_FAILURES);
        CHECK(m->deps[1].breaker.cooldown_ns == 500000000ull);
        CHECK_EQ_INT(m->nfallbacks, 1);
    }
    gw_config_free(&c);
    static const struct {
        const char *models, *msg;
    } bad[] = {
        {"{\"m\": {\"deployments\": []}}", "models.m.deployments must be an array of 1 to 32"},
        {"{\"m\": {\"deployments\": [{\"upstream\": \"zz\"}]}}",
         "models.m.deployments[0]: 'upstream' must name an upstream (got 'zz')"},
        {"{\"m\": {\"deployments\": [{\"upstream\": \"a\"}, {\"upstream\": \"a\"}]}}",
         "deployment name 'a' is used twice"},
        {"{\"m\": {\"upstream\": \"a\", \"deployments\": [{\"upstream\": \"a\"}]}}",
         "give either 'deployments' or 'upstream'"},
        {"{\"m\": {\"upstream\": \"a\", \"routing\": \"random\"}}", "'routing' must be"},
        {"{\"m\": {\"upstream\": \"a\", \"breaker\": {\"failures\": 0}}}", "'failures' must be a number"},
        {"{\"m\": {\"upstream\": \"a\", \"fallbacks\": [\"m\"]}}", "'m' must name another configured model"},
        {"{\"m\": {\"deployments\": [{\"upstream\": \"a\", \"weight\": -1}]}}", "'weight' must be"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char text[512];
        snprintf(text, sizeof text, "{" UPS "\"models\": %s}", bad[i].models);
        err[0] = 0;
        CHECK_EQ_INT(load(&c, text, err, sizeof err), -1);
        CHECK_CONTAINS(err, bad[i].msg);
        gw_config_free(&c);
    }
}

int main(void)
{
    RUN(breaker_state_machine);
    RUN(choice);
    RUN(config);
    return check_report();
}
