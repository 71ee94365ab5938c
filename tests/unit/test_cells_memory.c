/*
 * test_cells_memory.c - the memory of a series does not grow with the
 * number of threads that update it (cells.h: a bounded pool of arenas).
 *
 * 100,000 counter children (three labels, as the series_mem workloads) are
 * created and incremented by one thread; then 64 threads, all alive while
 * measured, increment every child once. Shape, not timing: the resident
 * memory per series with the 64 threads stays within 1.5x of one thread's,
 * and the allocator accounting of the pool says why: at most 2 + 2 arenas
 * (the pool is capped like a 2-CPU machine's, whatever this machine has),
 * so at most 4 copies of each cell. The threads exist before the memory is
 * read and have each updated a warm-up counter, so their stacks and
 * per-thread state are not counted, and transparent huge pages are
 * off for the process, so resident memory moves by 4 KiB pages. Every value
 * is exact afterwards.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cells.h"
#include "check.h"
#include "sonde/sonde.h"

enum { SERIES = 100000, THREADS = 64 };

static sonde_counter *kids[SERIES];
static sonde_counter *warmup;
static pthread_barrier_t ready, start, done, leave;

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

static void *worker(void *arg)
{
    (void)arg;
    /* Everything a thread costs before it touches the series (its stack, its arena, the
     * sanitizer's per-thread state) is paid here, before the baseline is read. */
    sonde_counter_inc(warmup);
    pthread_barrier_wait(&ready);
    pthread_barrier_wait(&start);
    for (int i = 0; i < SERIES; i++)
        sonde_counter_inc(kids[i]);
    pthread_barrier_wait(&done);
    pthread_barrier_wait(&leave);
    return NULL;
}

TEST(memory_per_series_bounded_by_pool_not_threads)
{
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    cfg.cardinality_limit = SERIES;
    sonde_registry *reg;
    CHECK(sonde_registry_new(&cfg, &reg) == SONDE_OK);
    static const char *const names[] = {"method", "path", "status"};
    sonde_metric *fam;
    sonde_metric_opts o = {.type = SONDE_COUNTER, .name = "http_requests_total", .help = "h",
                           .label_names = names, .label_count = 3};
    CHECK(sonde_register(reg, &o, &fam) == SONDE_OK);
    CHECK(sonde_counter_new(reg, "warmup_total", "w", &warmup) == SONDE_OK);

    double before = rss_bytes();
    char path[64];
    for (int i = 0; i < SERIES; i++) {
        snprintf(path, sizeof path, "/api/v1/items/%d", i);
        kids[i] = sonde_counter_with(fam, (const char *[]){"GET", path, "200"});
        sonde_counter_inc(kids[i]);
    }
    double one_thread = (rss_bytes() - before) / SERIES;
    size_t cells_one;
    sonde_cells_stats(NULL, &cells_one);

    pthread_t t[THREADS];
    pthread_barrier_init(&ready, NULL, THREADS + 1);
    pthread_barrier_init(&start, NULL, THREADS + 1);
    pthread_barrier_init(&done, NULL, THREADS + 1);
    pthread_barrier_init(&leave, NULL, THREADS + 1);
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_create(&t[i], NULL, worker, NULL) == 0);
    pthread_barrier_wait(&ready);
    double threads_alive = rss_bytes();
    pthread_barrier_wait(&start);
    pthread_barrier_wait(&done); /* every child incremented by every thread; all alive */
    double many_threads = one_thread + (rss_bytes() - threads_alive) / SERIES;
    unsigned arenas;
    size_t cells_many;
    sonde_cells_stats(&arenas, &cells_many);
    pthread_barrier_wait(&leave);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);

    printf("bytes per series: %.0f with one thread, %.0f with %d; %u arenas, cells %zu -> %zu bytes\n",
           one_thread, many_threads, THREADS, arenas, cells_one, cells_many);
    CHECK(one_thread > 0);
    CHECK(many_threads <= 1.5 * one_thread);
    CHECK(arenas <= 4);
    CHECK(cells_many <= 4 * cells_one);
    int exact = 1;
    for (int i = 0; i < SERIES; i++)
        exact &= sonde_counter_value(kids[i]) == 1 + THREADS;
    CHECK(exact);
    pthread_barrier_destroy(&ready);
    pthread_barrier_destroy(&start);
    pthread_barrier_destroy(&done);
    pthread_barrier_destroy(&leave);
    sonde_registry_free(reg);
}

int main(void)
{
    CHECK(prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0);
    CHECK(sonde_cells_set_pool(2, 2) == SONDE_OK); /* before any update of the process */
    RUN(memory_per_series_bounded_by_pool_not_threads);
    return check_report();
}
