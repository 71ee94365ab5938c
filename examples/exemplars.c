/*
 * exemplars.c - metrics that point at traces: a tour of sonde's exemplars.
 *
 *   exemplars [--openmetrics]                 the exposition on stdout
 *   exemplars --serve PORT [--addr A]          serve it on /metrics (PORT 0: any free port)
 *
 * Five jobs run, each in its own sampled span made the thread's current one
 * (sonde_span_enter): the duration histogram and the jobs counter they
 * update pick the span's ids up by themselves. The durations fall in five
 * different buckets, so every bucket keeps its own job's exemplar; the
 * counter keeps the last job's. Then event-driven code, which keeps a span
 * context in its own state instead of a current span, records bytes with
 * sonde_counter_add_exemplar(). A job in an unsampled trace records its
 * value without an exemplar.
 *
 * Every exemplar expected in the output is listed on stderr as
 *   exemplar <sample name> <le or -> <trace id> <span id> <value>
 * (a later line of the same sample and le replaces an earlier one) for tests (tests/integration/test_exemplars.sh) to compare with what a
 * parser or Prometheus reads. With --serve, "listening on port N" follows and
 * the program serves until SIGINT or SIGTERM.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sonde/sonde.h"

static const double bounds[] = {0.1, 0.25, 0.5, 1};
static const char *const bound_text[] = {"0.1", "0.25", "0.5", "1", "+Inf"};

static void print_expected(const char *sample, const char *le, const sonde_span_context *ctx, double v)
{
    char trace_hex[33], span_hex[17];
    sonde_trace_id_hex(ctx->trace_id, trace_hex);
    sonde_span_id_hex(ctx->span_id, span_hex);
    fprintf(stderr, "exemplar %s %s %s %s %g\n", sample, le, trace_hex, span_hex, v);
}

static sonde_tracer *tracer_new(sonde_sampler_kind sampler)
{
    sonde_tracer_opts o;
    sonde_tracer_opts_init(&o);
    o.read_env = 0; /* the tour decides its samplers itself */
    o.sampler = sampler;
    o.service_name = "exemplars-example";
    sonde_tracer *t = NULL;
    return sonde_tracer_new(&o, &t) == SONDE_OK ? t : NULL;
}

/* One job of a thread-per-request service: its span is the current one while it records. */
static void run_job(sonde_tracer *t, sonde_histogram *duration, sonde_counter *jobs, double seconds,
                    int bucket)
{
    sonde_span *span = sonde_span_start(t, "job", SONDE_SPAN_INTERNAL, NULL);
    sonde_span *prev = sonde_span_enter(span);
    sonde_histogram_observe(duration, seconds); /* exemplar from the current span */
    sonde_counter_inc(jobs);                    /* here too */
    sonde_span_context ctx;
    sonde_span_get_context(span, &ctx);
    if (ctx.flags & SONDE_TRACE_FLAG_SAMPLED) {
        print_expected("job_duration_seconds_bucket", bound_text[bucket], &ctx, seconds);
        print_expected("jobs_total", "-", &ctx, 1);
    }
    sonde_span_end(span);
    sonde_span_exit(prev);
}

int main(int argc, char **argv)
{
    int serve = 0, port = 0, openmetrics = 0;
    const char *addr = "127.0.0.1";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--openmetrics")) {
            openmetrics = 1;
        } else if (!strcmp(argv[i], "--serve") && i + 1 < argc) {
            serve = 1;
            port = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--addr") && i + 1 < argc) {
            addr = argv[++i];
        } else {
            fprintf(stderr, "usage: exemplars [--openmetrics] | --serve PORT [--addr A]\n");
            return 2;
        }
    }
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL); /* before any thread starts: they inherit it */

    sonde_registry *reg;
    sonde_metric *bytes_m;
    sonde_histogram *duration;
    sonde_counter *jobs;
    sonde_metric_opts bo = {.type = SONDE_COUNTER, .name = "received_bytes_total",
                            .help = "Bytes received by the event loop."};
    if (sonde_registry_new(NULL, &reg) ||
        sonde_histogram_new(reg, "job_duration_seconds", "Job duration.",
                            (sonde_buckets){bounds, 4}, &duration) ||
        sonde_counter_new(reg, "jobs_total", "Jobs run.", &jobs) || sonde_register(reg, &bo, &bytes_m)) {
        fprintf(stderr, "exemplars: cannot register the metrics\n");
        return 1;
    }
    sonde_tracer *sampled = tracer_new(SONDE_SAMPLER_ALWAYS_ON);
    sonde_tracer *unsampled = tracer_new(SONDE_SAMPLER_ALWAYS_OFF);
    if (!sampled || !unsampled) {
        fprintf(stderr, "exemplars: cannot create the tracers\n");
        return 1;
    }

    /* Thread-per-request: one job per bucket; the counter keeps the last job's exemplar. */
    static const double seconds[] = {0.05, 0.2, 0.4, 0.8, 2.5};
    for (int i = 0; i < 5; i++)
        run_job(sampled, duration, jobs, seconds[i], i);
    run_job(unsampled, duration, jobs, 0.3, 2); /* counted, no exemplar: the 0.4 one stays */

    /* Event-driven: the context lives in the connection's state, no current span. */
    sonde_span *conn = sonde_span_start(sampled, "connection", SONDE_SPAN_SERVER, NULL);
    sonde_span_context conn_ctx;
    sonde_span_get_context(conn, &conn_ctx);
    sonde_counter_add_exemplar(sonde_counter_of(bytes_m), 512, &conn_ctx);
    sonde_counter_add_exemplar(sonde_counter_of(bytes_m), 1024, &conn_ctx); /* the latest wins */
    print_expected("received_bytes_total", "-", &conn_ctx, 1024);
    sonde_span_end(conn);

    int rc = 0;
    if (!serve) {
        char *text = sonde_expose_alloc(reg, openmetrics ? SONDE_FORMAT_OPENMETRICS : SONDE_FORMAT_TEXT, NULL);
        if (text)
            fputs(text, stdout);
        else
            rc = 1;
        free(text);
    } else {
        sonde_config cfg = *sonde_registry_config(reg);
        cfg.listen_addr = addr;
        cfg.port = port;
        sonde_server_opts so;
        sonde_server_opts_init(&so);
        so.registry = reg;
        so.config = &cfg;
        char err[256] = "";
        sonde_server *srv = NULL;
        if (sonde_server_new(&so, err, sizeof err, &srv) || sonde_server_start(srv)) {
            fprintf(stderr, "exemplars: server: %s %s\n", err, srv ? sonde_server_errmsg(srv) : "");
            rc = 1;
        } else {
            printf("exemplars: listening on port %d\n", sonde_server_port(srv));
            fflush(stdout);
            int sig;
            sigwait(&stop, &sig);
        }
        sonde_server_free(srv);
    }
    sonde_tracer_free(sampled, 0);
    sonde_tracer_free(unsampled, 0);
    sonde_registry_free(reg);
    return rc;
}
