/*
 * bench_llm.c - the cost of the LLM module's hot paths, single thread,
 * warm caches (the label tuples were seen before, as in a running service):
 *
 *   BENCH llm_call_ns          one whole non-streaming call: begin, then end
 *                              with a response model, input and output tokens
 *                              and a finish reason (target 200 ns)
 *   BENCH llm_stream_token_ns  one streamed chunk of one token (target 10 ns)
 *
 * Each figure is the best of several rounds, to keep scheduler noise out.
 */
#include <sonde/sonde.h>
#include <stdio.h>
#include <time.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static const sonde_llm_request request = {.operation = "chat",
                                          .provider = "openai",
                                          .model = "gpt-4o",
                                          .server_address = "api.openai.com",
                                          .server_port = 443};
static const sonde_llm_result result = {.status = SONDE_LLM_OK,
                                        .response_model = "gpt-4o-2024-08-06",
                                        .input_tokens = 1200,
                                        .output_tokens = 350,
                                        .finish_reason = "stop"};

static double bench_call(sonde_llm *llm, int n)
{
    sonde_llm_call call;
    double t0 = now_ns();
    for (int i = 0; i < n; i++) {
        sonde_llm_call_begin(llm, &call, &request);
        sonde_llm_call_end(&call, &result);
    }
    return (now_ns() - t0) / n;
}

static double bench_token(sonde_llm *llm, int n)
{
    sonde_llm_request rq = request;
    rq.streaming = 1;
    sonde_llm_call call;
    sonde_llm_call_begin(llm, &call, &rq);
    sonde_llm_call_tokens(&call, 1);
    double t0 = now_ns();
    for (int i = 0; i < n; i++) {
        sonde_llm_call_tokens(&call, 1);
        __asm__ volatile("" ::: "memory"); /* one call per iteration, as a stream does */
    }
    double t = (now_ns() - t0) / n;
    sonde_llm_call_end(&call, &result);
    return t;
}

int main(void)
{
    sonde_registry *reg;
    sonde_llm *llm;
    sonde_llm_prices *prices;
    if (sonde_registry_new(NULL, &reg) || sonde_llm_prices_new(&prices) ||
        sonde_llm_prices_add(prices, "gpt-4o-2024-08-06", 2.5, 10, "USD"))
        return 1;
    sonde_llm_opts opts = {.prefix = "gateway", .prices = prices};
    if (sonde_llm_new(reg, &opts, &llm))
        return 1;
    bench_call(llm, 1000);
    double call = 1e30, token = 1e30;
    for (int round = 0; round < 5; round++) {
        double c = bench_call(llm, 200000), t = bench_token(llm, 5000000);
        call = c < call ? c : call;
        token = t < token ? t : token;
    }
    printf("BENCH llm_call_ns %.1f\n", call);
    printf("BENCH llm_stream_token_ns %.2f\n", token);
    sonde_llm_free(llm);
    sonde_llm_prices_free(prices);
    sonde_registry_free(reg);
    return 0;
}
