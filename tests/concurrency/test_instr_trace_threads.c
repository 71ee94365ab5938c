/*
 * test_instr_trace_threads.c - instrumentation spans across threads (run
 * under TSan): LLM calls begun on one thread and streamed and ended on
 * others, and HTTP requests begun and ended on several threads at once,
 * all with one tracer; every span arrives exactly once, each model call as
 * the child of the context it was begun with.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sonde/sonde.h"
#include "span_sink.h"

#define CALLS 30
#define WORKERS 3
#define REQUESTS 10

static sonde_llm_call calls[CALLS];
static sonde_http *http;

static void *end_calls(void *arg)
{
    size_t w = (size_t)(uintptr_t)arg;
    for (size_t i = w; i < CALLS; i += WORKERS) {
        sonde_llm_call_tokens(&calls[i], 2);
        sonde_llm_call_tokens(&calls[i], 3);
        sonde_llm_result res = {.input_tokens = 1, .output_tokens = -1, .finish_reason = "stop"};
        CHECK_EQ_INT(sonde_llm_call_end(&calls[i], &res), SONDE_OK);
    }
    return NULL;
}

static void *serve(void *arg)
{
    (void)arg;
    for (int i = 0; i < REQUESTS; i++) {
        sonde_http_token t = sonde_http_begin_traced(
            http, "GET", "/v1/models", 0,
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", NULL);
        CHECK(sonde_http_span(&t) != NULL);
        sonde_http_end(http, &t, 200, 10);
    }
    return NULL;
}

TEST(spans_across_threads)
{
    span_sink k;
    sonde_tracer *t = span_sink_tracer(&k, SONDE_SAMPLER_ALWAYS_ON);
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    sonde_registry *reg;
    CHECK_EQ_INT(sonde_registry_new(&cfg, &reg), SONDE_OK);
    sonde_llm *llm;
    sonde_llm_opts o = {.tracer = t};
    CHECK_EQ_INT(sonde_llm_new(reg, &o, &llm), SONDE_OK);
    sonde_http_opts ho = {.registry = reg, .tracer = t};
    CHECK_EQ_INT(sonde_http_new(&ho, &http), SONDE_OK);

    sonde_span *root = sonde_span_start(t, "root", SONDE_SPAN_SERVER, NULL);
    sonde_span_context ctx;
    sonde_span_get_context(root, &ctx);
    sonde_llm_request rq = {.operation = "chat", .provider = "openai", .model = "m",
                            .streaming = 1, .parent = &ctx};
    for (size_t i = 0; i < CALLS; i++)
        CHECK_EQ_INT(sonde_llm_call_begin(llm, &calls[i], &rq), SONDE_OK);
    pthread_t th[WORKERS + 2];
    for (size_t w = 0; w < WORKERS; w++)
        pthread_create(&th[w], NULL, end_calls, (void *)(uintptr_t)w);
    for (size_t w = WORKERS; w < WORKERS + 2; w++)
        pthread_create(&th[w], NULL, serve, NULL);
    for (size_t w = 0; w < WORKERS + 2; w++)
        pthread_join(th[w], NULL);
    sonde_span_end(root);

    CHECK_EQ_INT(sonde_tracer_flush(t, 10000), SONDE_OK);
    CHECK_EQ_INT(span_sink_count(&k), CALLS + 2 * REQUESTS + 1);
    size_t model = 0, server = 0;
    for (size_t i = 0; i < span_sink_count(&k); i++) {
        const sunk_span *s = &k.spans[i];
        if (!strcmp(s->name, "chat m")) {
            model++;
            CHECK(!memcmp(s->parent, ctx.span_id, 8));
            CHECK_EQ_INT(sunk_int(s, "gen_ai.usage.output_tokens"), 5);
        } else if (!strcmp(s->name, "GET /v1/models")) {
            server++;
        }
    }
    CHECK_EQ_INT(model, CALLS);
    CHECK_EQ_INT(server, 2 * REQUESTS);
    CHECK_EQ_INT(sonde_llm_free(llm), 0);
    sonde_http_free(http);
    sonde_registry_free(reg);
    span_sink_free(&k, t);
}

int main(void)
{
    RUN(spans_across_threads);
    return check_report();
}
