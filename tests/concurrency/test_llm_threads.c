/*
 * test_llm_threads.c - the LLM module under threads (also run under TSan).
 * Begin threads begin streamed calls (first tuples created concurrently),
 * stream three tokens and hand each call over; end threads end them, and
 * for every fifth call a second end thread races to abandon the same call.
 * Exactly one of end and abandon may win, and every total must come out
 * exact: calls by status, tokens, histogram counts, in-flight gauges back
 * to zero, no call left open. A scraper renders the registry meanwhile.
 */
#include <pthread.h>
#include <sched.h>
#include <sonde/sonde.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "llm_test.h"

#define THREADS 4
#define CALLS 4000
#define MODELS 16

typedef struct slot {
    sonde_llm_call call;
    atomic_int ready;
} slot;

static slot slots[CALLS];
static sonde_llm *llm;
static sonde_registry *reg;
static atomic_int ok_wins, cancel_wins, begun_ok, done;
static char models[MODELS][16];

static void *beginner(void *arg)
{
    int t = (int)(intptr_t)arg;
    for (int i = t; i < CALLS; i += THREADS) {
        sonde_llm_request rq = {.operation = "chat",
                                .provider = "OpenAI",
                                .model = models[i % MODELS],
                                .server_address = "127.0.0.1",
                                .server_port = 8080,
                                .streaming = 1};
        if (sonde_llm_call_begin(llm, &slots[i].call, &rq) == SONDE_OK)
            atomic_fetch_add(&begun_ok, 1);
        for (int k = 0; k < 3; k++)
            sonde_llm_call_tokens(&slots[i].call, 1);
        atomic_store_explicit(&slots[i].ready, 1, memory_order_release);
    }
    return NULL;
}

static void *ender(void *arg)
{
    int t = (int)(intptr_t)arg;
    sonde_llm_result res = {.status = SONDE_LLM_OK,
                            .response_model = "resp",
                            .input_tokens = 10,
                            .output_tokens = SONDE_LLM_UNKNOWN};
    for (int i = 0; i < CALLS; i++) {
        int mine = i % THREADS == t;
        int racer = i % 5 == 0 && (i + 1) % THREADS == t;
        if (!mine && !racer)
            continue;
        while (!atomic_load_explicit(&slots[i].ready, memory_order_acquire))
            sched_yield();
        if (mine && sonde_llm_call_end(&slots[i].call, &res) == SONDE_OK)
            atomic_fetch_add(&ok_wins, 1);
        if (racer && sonde_llm_call_abandon(&slots[i].call) == SONDE_OK)
            atomic_fetch_add(&cancel_wins, 1);
    }
    return NULL;
}

static void *scraper(void *arg)
{
    (void)arg;
    while (!atomic_load(&done)) {
        char *text = sonde_expose_alloc(reg, SONDE_FORMAT_OPENMETRICS, NULL);
        CHECK(text != NULL);
        free(text);
    }
    return NULL;
}

static double sum_over_models(const char *name, const char *last)
{
    double total = 0;
    for (int m = 0; m < MODELS; m++) {
        const char *v[] = {"openai", models[m], last};
        double x = counter_at(reg, name, v);
        total += x > 0 ? x : 0;
    }
    return total;
}

TEST(begin_on_one_thread_end_on_another)
{
    for (int m = 0; m < MODELS; m++)
        snprintf(models[m], sizeof models[m], "model-%d", m);
    CHECK_EQ_INT(sonde_registry_new(NULL, &reg), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_new(reg, NULL, &llm), SONDE_OK);
    pthread_t b[THREADS], e[THREADS], s;
    pthread_create(&s, NULL, scraper, NULL);
    for (intptr_t t = 0; t < THREADS; t++) {
        pthread_create(&b[t], NULL, beginner, (void *)t);
        pthread_create(&e[t], NULL, ender, (void *)t);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(b[t], NULL);
        pthread_join(e[t], NULL);
    }
    atomic_store(&done, 1);
    pthread_join(s, NULL);

    int ok = atomic_load(&ok_wins), cancelled = atomic_load(&cancel_wins);
    CHECK_EQ_INT(atomic_load(&begun_ok), CALLS);
    CHECK_EQ_INT(ok + cancelled, CALLS);
    CHECK(ok >= CALLS * 4 / 5); /* only every fifth call is raced */
    CHECK_EQ_INT(sonde_llm_open_calls(llm), 0);
    CHECK_EQ_DBL(sum_over_models("provider_calls_total", "ok"), ok);
    CHECK_EQ_DBL(sum_over_models("provider_calls_total", "cancelled"), cancelled);
    CHECK_EQ_DBL(sum_over_models("tokens_total", "output"), 3.0 * CALLS);
    CHECK_EQ_DBL(sum_over_models("tokens_total", "input"), 10.0 * ok);
    uint64_t chunks = 0;
    for (int m = 0; m < MODELS; m++) {
        const char *v[] = {"chat", "openai", models[m], "resp", "127.0.0.1", "8080"};
        sonde_histogram *h = series(reg, "gen_ai_client_time_per_output_chunk_seconds", v);
        uint64_t n = 0;
        sonde_histogram_read(h, &n, NULL, NULL);
        chunks += n;
    }
    CHECK_EQ_INT(chunks, 2ull * ok); /* 3 chunks: 2 intervals per successful call */
    const char *const provider[] = {"openai"};
    CHECK_EQ_DBL(gauge_at(reg, "calls_in_flight", provider), 0);
    CHECK_EQ_DBL(gauge_at(reg, "streams_in_flight", provider), 0);
    CHECK_EQ_INT(sonde_llm_free(llm), 0);
    sonde_registry_free(reg);
}

int main(void)
{
    RUN(begin_on_one_thread_end_on_another);
    return check_report();
}
