/*
 * bench_trace.c - the tracing workloads of shared/bench/WORKLOADS.md:
 * span_ns, span_2t_ns, span_unsampled_ns (start and end a span named
 * "chat gpt-4o-mini" with three attributes, handed to the batch processor
 * with the OpenTelemetry defaults, whose exporter discards the batch), and
 * traceparent_roundtrip_ns (parse a traceparent, write it back). Prints
 * "BENCH <workload> <value>" lines; on stderr, how many spans the full queue
 * dropped (the Go SDK's batch processor drops too when its queue is full),
 * so that a ratio is read knowing it.
 *
 * Usage: bench-trace [WORKLOAD]
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sonde/sonde.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int discard(void *ud, const sonde_span *const *spans, size_t n, uint64_t deadline_ns,
                   size_t *rejected)
{
    (void)ud, (void)spans, (void)n, (void)deadline_ns, (void)rejected;
    return SONDE_OK;
}

typedef struct job {
    sonde_tracer *t;
    long n;
} job;

static void *span_loop(void *p)
{
    job *j = p;
    for (long i = 0; i < j->n; i++) {
        sonde_span *s = sonde_span_start(j->t, "chat gpt-4o-mini", SONDE_SPAN_CLIENT, NULL);
        sonde_span_set_str(s, "gen_ai.operation.name", "chat");
        sonde_span_set_str(s, "gen_ai.request.model", "gpt-4o-mini");
        sonde_span_set_int(s, "gen_ai.usage.output_tokens", 128);
        sonde_span_end(s);
    }
    return NULL;
}

static sonde_tracer *tracer(sonde_sampler_kind sampler)
{
    sonde_tracer_opts o;
    sonde_tracer_opts_init(&o);
    o.read_env = 0;
    o.sampler = sampler;
    o.exporter = (sonde_span_exporter){discard, NULL, NULL};
    sonde_tracer *t = NULL;
    if (sonde_tracer_new(&o, &t) != SONDE_OK || !t) {
        fprintf(stderr, "bench-trace: no tracer\n");
        return NULL;
    }
    return t;
}

/* Wall ns per span, best of 3 runs, n spans per thread. */
static double spans(sonde_sampler_kind sampler, int threads, long n, const char *name)
{
    sonde_tracer *t = tracer(sampler);
    if (!t)
        return -1;
    job j = {t, n};
    span_loop(&(job){t, n / 10}); /* warm the span caches */
    sonde_tracer_flush(t, 10000);
    double best = 1e30;
    for (int r = 0; r < 3; r++) {
        pthread_t th[2];
        double start = now_s();
        for (int i = 0; i < threads; i++)
            pthread_create(&th[i], NULL, span_loop, &j);
        for (int i = 0; i < threads; i++)
            pthread_join(th[i], NULL);
        double ns = (now_s() - start) * 1e9 / ((double)n * threads);
        if (ns < best)
            best = ns;
        sonde_tracer_flush(t, 10000);
    }
    sonde_tracer_stats st;
    sonde_tracer_stats_get(t, &st);
    if (sampler == SONDE_SAMPLER_ALWAYS_ON)
        fprintf(stderr, "# %s: %llu exported, %llu dropped by the full queue\n", name,
                (unsigned long long)st.exported, (unsigned long long)st.dropped_queue_full);
    sonde_tracer_free(t, 10000);
    return best;
}

static double roundtrip(long n)
{
    const char *header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    char out[SONDE_TRACEPARENT_LEN + 1];
    sonde_span_context c;
    double best = 1e30;
    for (int r = 0; r < 3; r++) {
        double start = now_s();
        for (long i = 0; i < n; i++) {
            sonde_traceparent_parse(header, NULL, &c);
            sonde_traceparent_format(&c, out);
            __asm__ volatile("" : : "r"(out) : "memory");
        }
        double ns = (now_s() - start) * 1e9 / (double)n;
        if (ns < best)
            best = ns;
    }
    if (strcmp(out, header) != 0)
        fprintf(stderr, "bench-trace: round trip changed the header: %s\n", out);
    return best;
}

int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : NULL;
#define RUN(name) (!only || strcmp(only, name) == 0)
    if (RUN("span_ns"))
        printf("BENCH span_ns %.2f\n", spans(SONDE_SAMPLER_ALWAYS_ON, 1, 1000000, "span_ns"));
    if (RUN("span_2t_ns"))
        printf("BENCH span_2t_ns %.2f\n", spans(SONDE_SAMPLER_ALWAYS_ON, 2, 1000000, "span_2t_ns"));
    if (RUN("span_unsampled_ns"))
        printf("BENCH span_unsampled_ns %.2f\n",
               spans(SONDE_SAMPLER_ALWAYS_OFF, 1, 5000000, "span_unsampled_ns"));
    if (RUN("traceparent_roundtrip_ns"))
        printf("BENCH traceparent_roundtrip_ns %.2f\n", roundtrip(5000000));
    return 0;
}
