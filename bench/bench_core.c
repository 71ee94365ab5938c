/*
 * bench_core.c - the standard workloads of shared/bench/WORKLOADS.md for
 * libsonde, printed as "BENCH <workload> <value>" lines to compare with the
 * reference Go client run in the same sitting. Each timed loop runs for a
 * fixed count sized to take a few hundred milliseconds; two-thread
 * workloads report wall time divided by all operations of both threads.
 * The 64-thread workloads run last on the exposition registry: 64 workers
 * increment every counter child once and stay alive (a barrier) while the
 * memory is read and the registry rendered.
 *
 * Usage: bench-core [WORKLOAD]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sonde/sonde.h>

#include "workload_registry.h"

static double values[1024];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double rss_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

typedef struct job {
    sonde_counter *counter;
    sonde_histogram *hist;
    long n;
} job;

static void *inc_loop(void *p)
{
    job *j = p;
    for (long i = 0; i < j->n; i++)
        sonde_counter_inc(j->counter);
    return NULL;
}

static void *observe_loop(void *p)
{
    job *j = p;
    for (long i = 0; i < j->n; i++)
        sonde_histogram_observe(j->hist, values[i & 1023]);
    return NULL;
}

/* exemplar_observe_ns: every observation carries the exemplar of one sampled span. */
static void *exemplar_loop(void *p)
{
    job *j = p;
    sonde_span_context ctx;
    if (sonde_traceparent_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", NULL, &ctx))
        return NULL;
    for (long i = 0; i < j->n; i++)
        sonde_histogram_observe_exemplar(j->hist, values[i & 1023], &ctx);
    return NULL;
}

/* ns per operation of fn run on `threads` threads, n operations each. */
static double timed(void *(*fn)(void *), job *j, int threads)
{
    pthread_t t[2];
    double start = now_s();
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, fn, j);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    return (now_s() - start) * 1e9 / ((double)j->n * threads);
}


enum { WORKERS = 64, SERIES = 100000 };

typedef struct workers {
    sonde_counter **kids;
    pthread_barrier_t done, release;
} workers;

static void *worker(void *p)
{
    workers *w = p;
    for (int i = 0; i < SERIES; i++)
        sonde_counter_inc(w->kids[i]);
    pthread_barrier_wait(&w->done);
    pthread_barrier_wait(&w->release);
    return NULL;
}

typedef struct grow_buf {
    char *p;
    size_t len, cap;
} grow_buf;

static int buf_write(void *ud, const char *data, size_t len)
{
    grow_buf *b = ud;
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1 << 20;
        while (cap < b->len + len)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return 1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, len);
    b->len += len;
    return 0;
}

/* Best of 5 renders of reg in format into buf, in ms. */
static double best_render_ms(sonde_registry *reg, grow_buf *buf, sonde_format format)
{
    double best = 1e9;
    for (int r = 0; r < 5; r++) {
        buf->len = 0;
        double start = now_s();
        sonde_expose(reg, format, buf_write, buf);
        double ms = (now_s() - start) * 1e3;
        if (ms < best)
            best = ms;
    }
    return best;
}

int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : NULL;
#define RUN(name) (!only || strcmp(only, name) == 0)
    workload_values(values); /* the same values as the Go peer */
    sonde_registry *reg;
    if (sonde_registry_new(NULL, &reg))
        return 1;
    job j = {0};
    if (sonde_counter_new(reg, "c_total", "h", &j.counter) ||
        sonde_histogram_new(reg, "h_seconds", "h", SONDE_BUCKETS_DEFAULT, &j.hist))
        return 1;
    static const char *const lnames[] = {"method", "path", "status"};
    sonde_metric *cv;
    sonde_metric_opts vo = {.type = SONDE_COUNTER, .name = "v_total", .help = "h", .label_names = lnames, .label_count = 3};
    sonde_register(reg, &vo, &cv);
    for (int i = 0; i < 100; i++) {
        char path[64];
        snprintf(path, sizeof path, "/api/v1/items/%d", i);
        sonde_counter_with(cv, (const char *[]){"GET", path, "200"});
    }

    if (RUN("counter_inc_ns")) {
        j.n = 200000000;
        printf("BENCH counter_inc_ns %.2f\n", timed(inc_loop, &j, 1));
    }
    if (RUN("counter_inc_2t_ns")) {
        j.n = 200000000;
        printf("BENCH counter_inc_2t_ns %.2f\n", timed(inc_loop, &j, 2));
    }
    if (RUN("histogram_observe_ns")) {
        j.n = 100000000;
        printf("BENCH histogram_observe_ns %.2f\n", timed(observe_loop, &j, 1));
    }
    if (RUN("histogram_observe_2t_ns")) {
        j.n = 100000000;
        printf("BENCH histogram_observe_2t_ns %.2f\n", timed(observe_loop, &j, 2));
    }
    if (RUN("exemplar_observe_ns")) {
        j.n = 20000000;
        printf("BENCH exemplar_observe_ns %.2f\n", timed(exemplar_loop, &j, 1));
    }
    if (RUN("native_histogram_observe_ns") || RUN("native_histogram_observe_2t_ns")) {
        /* schema 3 (bucket factor 2^(1/8)), no classic buckets, default zero threshold */
        sonde_native_opts no = {.bucket_factor = 1.1, .native_only = 1};
        sonde_metric *nm;
        sonde_metric_opts nmo = {.type = SONDE_HISTOGRAM, .name = "nh_seconds", .help = "h", .native = &no};
        if (sonde_register(reg, &nmo, &nm))
            return 1;
        job nj = {.hist = sonde_histogram_of(nm), .n = 100000000};
        if (RUN("native_histogram_observe_ns"))
            printf("BENCH native_histogram_observe_ns %.2f\n", timed(observe_loop, &nj, 1));
        if (RUN("native_histogram_observe_2t_ns"))
            printf("BENCH native_histogram_observe_2t_ns %.2f\n", timed(observe_loop, &nj, 2));
    }
    if (RUN("labeled_inc_ns")) {
        long n = 20000000;
        const char *const lv[] = {"GET", "/api/v1/items/42", "200"};
        double start = now_s();
        for (long i = 0; i < n; i++)
            sonde_counter_inc(sonde_counter_with(cv, lv));
        printf("BENCH labeled_inc_ns %.2f\n", (now_s() - start) * 1e9 / (double)n);
    }
    int run_64t = RUN("series_mem_64t_bytes") || RUN("expose_text_64t_ms");
    int run_pb = RUN("expose_protobuf_ms") || RUN("expose_protobuf_bytes");
    if (RUN("series_mem_bytes") || RUN("expose_text_ms") || RUN("expose_text_bytes") || run_64t || run_pb) {
        sonde_config cfg;
        sonde_config_init(&cfg);
        cfg.process_metrics = 0;
        cfg.cardinality_limit = 1000000;
        sonde_registry *er;
        if (sonde_registry_new(&cfg, &er))
            return 1;
        static const char *const hnames[] = {"method", "path"};
        sonde_metric *ec, *eh;
        sonde_metric_opts co = {.type = SONDE_COUNTER, .name = "http_requests_total", .help = "Total HTTP requests",
                                .label_names = lnames, .label_count = 3};
        sonde_metric_opts ho = {.type = SONDE_HISTOGRAM, .name = "http_request_duration_seconds",
                                .help = "HTTP request latency", .label_names = hnames, .label_count = 2,
                                .buckets = SONDE_BUCKETS_DEFAULT};
        if (sonde_register(er, &co, &ec) || sonde_register(er, &ho, &eh))
            return 1;
        double before = rss_bytes();
        char path[64];
        for (int i = 0; i < SERIES; i++) {
            snprintf(path, sizeof path, "/api/v1/items/%d", i);
            sonde_counter_add(sonde_counter_with(ec, (const char *[]){"GET", path, "200"}), i);
        }
        double after = rss_bytes();
        if (RUN("series_mem_bytes"))
            printf("BENCH series_mem_bytes %.0f\n", (after - before) / SERIES);
        for (int i = 0; i < 10000; i++) {
            snprintf(path, sizeof path, "/api/v1/items/%d", i);
            sonde_histogram_observe(sonde_histogram_with(eh, (const char *[]){"GET", path}), values[i & 1023]);
        }
        if (RUN("expose_text_ms") || RUN("expose_text_bytes")) {
            grow_buf buf = {0};
            printf("BENCH expose_text_ms %.2f\n", best_render_ms(er, &buf, SONDE_FORMAT_TEXT));
            printf("BENCH expose_text_bytes %zu\n", buf.len);
            free(buf.p);
        }
        if (run_pb) {
            grow_buf buf = {0};
            printf("BENCH expose_protobuf_ms %.2f\n", best_render_ms(er, &buf, SONDE_FORMAT_PROTOBUF));
            printf("BENCH expose_protobuf_bytes %zu\n", buf.len);
            free(buf.p);
        }
        if (run_64t) {
            workers w = {.kids = malloc(SERIES * sizeof *w.kids)};
            if (!w.kids)
                return 1;
            for (int i = 0; i < SERIES; i++) {
                snprintf(path, sizeof path, "/api/v1/items/%d", i);
                w.kids[i] = sonde_counter_with(ec, (const char *[]){"GET", path, "200"});
            }
            pthread_barrier_init(&w.done, NULL, WORKERS + 1);
            pthread_barrier_init(&w.release, NULL, WORKERS + 1);
            double after_hist = rss_bytes();
            pthread_t t[WORKERS];
            for (int i = 0; i < WORKERS; i++)
                pthread_create(&t[i], NULL, worker, &w);
            pthread_barrier_wait(&w.done); /* all incremented, all alive */
            if (RUN("series_mem_64t_bytes"))
                printf("BENCH series_mem_64t_bytes %.0f\n", (after - before + rss_bytes() - after_hist) / SERIES);
            if (RUN("expose_text_64t_ms")) {
                grow_buf buf = {0};
                printf("BENCH expose_text_64t_ms %.2f\n", best_render_ms(er, &buf, SONDE_FORMAT_TEXT));
                free(buf.p);
            }
            pthread_barrier_wait(&w.release);
            for (int i = 0; i < WORKERS; i++)
                pthread_join(t[i], NULL);
            pthread_barrier_destroy(&w.done);
            pthread_barrier_destroy(&w.release);
            free(w.kids);
        }
        sonde_registry_free(er);
    }
    sonde_registry_free(reg);
    return 0;
}
