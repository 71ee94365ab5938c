/*
 * route.c - routing a call over a model's deployments.
 *
 * A configured model lists one or more deployments (an upstream and the model's
 * name there). A call's first attempt goes to one of them, chosen by weight (a
 * uniform draw from the call's own xorshift state) or to the one with the fewest
 * attempts in flight (ties: the first listed). An attempt that fails before any
 * byte reached the client (connect failure, timeout, 429, 5xx: the proxy decides,
 * upstream_proxy.c) is retried on another deployment of the same model not yet
 * tried, after a back-off (backoff_ms, doubled each retry, on the gateway's timer
 * thread), at most `retries` times; when the model has nothing left, the
 * model's ordered fallback models are tried the same way. A stream that has begun
 * is never retried: its failure reaches the client as an SSE error event.
 *
 * Each deployment has a circuit breaker: closed until `failures` consecutive
 * failed attempts, then open (skipped) for `cooldown_ms`, then half-open: the
 * next call that picks it is a probe, the only attempt let through until its
 * result closes (success) or reopens (failure) the breaker. Attempts that say
 * nothing about the deployment's health (the client left, a 4xx) leave it as it
 * is. The breaker functions take the time as an argument, so the unit test
 * drives the state machine without clocks.
 *
 * Metering: gateway_route_attempts_total{model,deployment,outcome} per attempt,
 * gateway_route_fallbacks_total{from,to}, gateway_route_breaker_state (0 closed,
 * 1 open, 2 half-open) and gateway_route_breaker_transitions_total{...,state}.
 * Model and deployment names come from the configuration only.
 */
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

/* ---- the breaker ---------------------------------------------------------- */

void gw_breaker_init(gw_breaker *b, int threshold, uint64_t cooldown_ns)
{
    memset(b, 0, sizeof *b);
    pthread_mutex_init(&b->mu, NULL);
    b->threshold = threshold; /* 0: never opens */
    b->cooldown_ns = cooldown_ns;
}

void gw_breaker_destroy(gw_breaker *b)
{
    pthread_mutex_destroy(&b->mu);
}

int gw_breaker_acquire(gw_breaker *b, uint64_t now_ns, int *changed)
{
    int ok = 0;
    *changed = -1;
    pthread_mutex_lock(&b->mu);
    switch (b->state) {
    case GW_BREAKER_CLOSED:
        ok = 1;
        break;
    case GW_BREAKER_OPEN:
        if (now_ns - b->opened_ns >= b->cooldown_ns) {
            b->state = GW_BREAKER_HALF_OPEN;
            *changed = GW_BREAKER_HALF_OPEN;
            b->probing = ok = 1;
        }
        break;
    case GW_BREAKER_HALF_OPEN:
        if (!b->probing) b->probing = ok = 1;
        break;
    }
    pthread_mutex_unlock(&b->mu);
    return ok;
}

int gw_breaker_record(gw_breaker *b, gw_attempt_result r, uint64_t now_ns)
{
    int changed = -1;
    pthread_mutex_lock(&b->mu);
    if (b->state == GW_BREAKER_HALF_OPEN) { /* the probe's answer */
        b->probing = 0;
        if (r == GW_ATTEMPT_OK) changed = GW_BREAKER_CLOSED;
        else if (r == GW_ATTEMPT_FAILED) changed = GW_BREAKER_OPEN;
    } else if (b->state == GW_BREAKER_CLOSED) {
        if (r == GW_ATTEMPT_OK) b->failures = 0;
        else if (r == GW_ATTEMPT_FAILED && ++b->failures >= b->threshold && b->threshold > 0) changed = GW_BREAKER_OPEN;
    } /* open: a late answer of an attempt started before it opened changes nothing */
    if (changed >= 0) {
        b->state = (gw_breaker_state)changed;
        b->failures = 0;
        if (changed == GW_BREAKER_OPEN) b->opened_ns = now_ns;
    }
    pthread_mutex_unlock(&b->mu);
    return changed;
}

gw_breaker_state gw_breaker_get(gw_breaker *b)
{
    pthread_mutex_lock(&b->mu);
    gw_breaker_state s = b->state;
    pthread_mutex_unlock(&b->mu);
    return s;
}

const char *gw_breaker_name(int state)
{
    return state == GW_BREAKER_OPEN ? "open" : state == GW_BREAKER_HALF_OPEN ? "half_open" : "closed";
}

/* ---- choosing a deployment ------------------------------------------------ */

int gw_route_choose(const gw_model *m, uint32_t skip, double u)
{
    int best = -1;
    if (m->routing == GW_ROUTE_LEAST_IN_FLIGHT) {
        int least = 0;
        for (size_t i = 0; i < m->ndeps; i++) {
            if (skip & (1u << i)) continue;
            int n = atomic_load(&m->deps[i].in_flight);
            if (best < 0 || n < least) best = (int)i, least = n;
        }
        return best;
    }
    double total = 0;
    for (size_t i = 0; i < m->ndeps; i++)
        if (!(skip & (1u << i))) total += m->deps[i].weight, best = best < 0 ? (int)i : best;
    if (total <= 0) return best; /* only weight-0 deployments left: in order */
    double at = u * total;
    for (size_t i = 0; i < m->ndeps; i++) {
        if (skip & (1u << i) || m->deps[i].weight <= 0) continue;
        best = (int)i;
        if (at < m->deps[i].weight) break;
        at -= m->deps[i].weight;
    }
    return best;
}

static double uniform(gw_call *c)
{
    uint64_t x = c->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c->rng = x;
    return (double)(x >> 11) / 9007199254740992.0; /* 2^53 */
}

/* Take a deployment of c->routed for the next attempt: 1 with c->dep set, 0 when none
 * is left (all tried, out of retries, or their breakers open). */
static int take_deployment(gw_call *c)
{
    const gw_model *m = c->routed;
    if (c->attempts > m->retries) return 0;
    for (;;) {
        int i = gw_route_choose(m, c->tried, uniform(c));
        if (i < 0) return 0;
        c->tried |= 1u << i;
        gw_deployment *d = &m->deps[i];
        int changed;
        int ok = gw_breaker_acquire(&d->breaker, gw_now_ns(), &changed);
        if (changed >= 0) gw_meter_breaker(&c->gw->meter, m, d, changed, 1);
        if (!ok) continue;
        c->dep = d;
        c->attempts++;
        atomic_fetch_add(&d->in_flight, 1);
        c->route = *m;
        c->route.up = d->up;
        c->route.upstream_model = d->upstream_model;
        c->model = &c->route;
        return 1;
    }
}

/* The next deployment: of the model being routed, else of the next fallback model. */
static int next_deployment(gw_call *c)
{
    if (take_deployment(c)) return 1;
    const gw_model *req = c->requested;
    while (c->next_fallback < req->nfallbacks) {
        gw_model tmp;
        const gw_model *to = gw_config_model(c->gw->cfg, req->fallbacks[c->next_fallback++], &tmp);
        if (!to || to == &tmp || to->ndeps == 0) continue; /* validated at load: cannot happen */
        gw_meter_route_fallback(&c->gw->meter, c->routed, to);
        c->routed = to;
        c->tried = 0;
        c->attempts = 0;
        if (take_deployment(c)) return 1;
    }
    return 0;
}

static int dispatch(gw_call *c)
{
    return c->model->up->kind == GW_UP_SIM ? gw_sim_start(c) : gw_proxy_start(c);
}

static void no_deployment(gw_call *c)
{
    gw_call_finish(c, SONDE_LLM_ERROR, "unavailable");
    gw_reply_error(c->req, 503, "upstream_error", "no_deployment_available", 1,
                   "every deployment of the model '%s' (and of its fallbacks) is failing; "
                   "retry later", c->requested->name);
}

int gw_route_start(gw_call *c)
{
    if (c->model->ndeps == 0) return dispatch(c);
    c->requested = c->routed = c->model;
    c->rng = (c->start_ns ^ (uintptr_t)c) | 1;
    if (!next_deployment(c)) {
        no_deployment(c);
        gw_call_free(c);
        return 0;
    }
    return dispatch(c);
}

static gw_attempt_result health_of(const char *outcome)
{
    static const char *const failed[] = {"connect", "timeout", "rate_limited", "http_5xx", "protocol",
                                         NULL};
    if (strcmp(outcome, "ok") == 0) return GW_ATTEMPT_OK;
    for (int i = 0; failed[i]; i++)
        if (strcmp(outcome, failed[i]) == 0) return GW_ATTEMPT_FAILED;
    return GW_ATTEMPT_NEUTRAL;
}

static void end_attempt(gw_call *c, const char *outcome)
{
    gw_deployment *d = c->dep;
    if (!d) return;
    c->dep = NULL;
    atomic_fetch_sub(&d->in_flight, 1);
    gw_meter_route_attempt(&c->gw->meter, c->routed, d, outcome);
    int changed = gw_breaker_record(&d->breaker, health_of(outcome), gw_now_ns());
    if (changed >= 0) gw_meter_breaker(&c->gw->meter, c->routed, d, changed, 1);
}

void gw_route_attempt_end(gw_call *c, sonde_llm_status status, const char *error_type)
{
    if (!c->dep) return;
    const char *outcome = status == SONDE_LLM_OK ? "ok"
                          : status == SONDE_LLM_CANCELLED ? "cancelled"
                          : status == SONDE_LLM_TIMEOUT ? "timeout"
                          : status == SONDE_LLM_RATE_LIMITED ? "rate_limited"
                          : error_type ? error_type : "error";
    static const char *const known[] = {"ok", "cancelled", "timeout", "rate_limited", "connect",
                                        "http_5xx", "http_4xx", "auth", "protocol", NULL};
    int i = 0;
    while (known[i] && strcmp(known[i], outcome) != 0) i++;
    end_attempt(c, known[i] ? known[i] : "error");
}

/* On the timer thread, after the back-off. */
static void retry_now(void *arg)
{
    gw_call *c = arg;
    if (gw_req_gone(c->req)) {
        gw_call_finish(c, SONDE_LLM_CANCELLED, NULL);
        gw_call_free(c);
        return;
    }
    if (dispatch(c) != 0) {
        gw_call_finish(c, SONDE_LLM_ERROR, "_OTHER");
        gw_reply_error(c->req, 500, "server_error", NULL, -1, "could not start the upstream call");
        gw_call_free(c);
    }
}

int gw_route_retry(gw_call *c, const char *outcome)
{
    if (!c->dep) return -1;
    end_attempt(c, outcome);
    int retries_before = c->attempts; /* of this model, before the next one */
    const gw_model *before = c->routed;
    if (!next_deployment(c)) return -1;
    /* what the failed attempt may have left */
    c->output_tokens = 0;
    c->usage_known = 0;
    c->finish[0] = c->resp_model[0] = 0;
    c->input_tokens = gw_estimate_tokens(c->body, c->op);
    long ms = c->routed->backoff_ms;
    int shift = c->routed == before ? retries_before - 1 : 0;
    uint64_t delay = (uint64_t)ms * 1000000u << (shift < 10 ? shift : 10);
    if (gw_timer_after(c->gw->timer, delay, retry_now, c) != 0) retry_now(c);
    return 0;
}
