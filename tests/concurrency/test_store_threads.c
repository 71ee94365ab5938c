/*
 * test_store_threads.c - the storage helpers under threads (also run under
 * TSan). Every thread looks its handles up itself, so the first lookups of a
 * (operation, table) pair and the first outcome of each status race to
 * create them; then each runs queries, cache hits and misses, and enqueues
 * queue jobs that another thread starts and ends after a barrier (the token
 * travels with the job). A scraper renders the registry meanwhile. Every total must
 * come out exact and the queue depth back at zero.
 */
#include <pthread.h>
#include <sonde/sonde.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define THREADS 4
#define ROUNDS 2000

static const char *const ops[] = {"select", "insert"};
static const char *const tables[] = {"users", "orders", "items"};
static const char *const cache_names[] = {"pages"};
static const char *const queue_names[] = {"jobs"};

static sonde_store *store;
static sonde_registry *reg;
static atomic_int done;

/* Jobs enqueued by thread t, started and ended by thread t + 1 after the barrier. */
static sonde_queue_job jobs[THREADS][ROUNDS];
static pthread_barrier_t enqueued;

static void *worker(void *arg)
{
    int t = (int)(intptr_t)arg;
    sonde_cache *cache;
    sonde_queue *queue;
    CHECK_EQ_INT(sonde_store_cache(store, "pages", &cache), SONDE_OK);
    CHECK_EQ_INT(sonde_store_queue(store, "jobs", &queue), SONDE_OK);
    for (int i = 0; i < ROUNDS; i++) {
        sonde_db_query *q;
        CHECK_EQ_INT(sonde_store_query(store, ops[i % 2], tables[i % 3], &q), SONDE_OK);
        sonde_db_call c = sonde_db_begin(q);
        sonde_db_end(&c, i % SONDE_STORE_STATUS_COUNT);
        if (i % 4)
            sonde_cache_hit(cache);
        else
            sonde_cache_miss(cache);
        jobs[t][i] = sonde_queue_enqueue(queue);
    }
    /* every job is enqueued; now consume the previous thread's jobs */
    pthread_barrier_wait(&enqueued);
    for (int i = 0; i < ROUNDS; i++) {
        sonde_queue_job *j = &jobs[(t + THREADS - 1) % THREADS][i];
        sonde_queue_start(j);
        sonde_queue_end(j, SONDE_STORE_OK);
    }
    return NULL;
}

static void *scraper(void *arg)
{
    while (!atomic_load(&done)) {
        char *t = sonde_expose_alloc(reg, SONDE_FORMAT_TEXT, NULL);
        free(t);
    }
    return NULL;
}

TEST(store_threads)
{
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    CHECK_EQ_INT(sonde_registry_new(&cfg, &reg), SONDE_OK);
    sonde_store_opts o = {.registry = reg, .operations = ops, .operation_count = 2,
                          .tables = tables, .table_count = 3, .caches = cache_names,
                          .cache_count = 1, .queues = queue_names, .queue_count = 1};
    CHECK_EQ_INT(sonde_store_new(&o, &store), SONDE_OK);
    pthread_barrier_init(&enqueued, NULL, THREADS);
    pthread_t th[THREADS], sc;
    pthread_create(&sc, NULL, scraper, NULL);
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    atomic_store(&done, 1);
    pthread_join(sc, NULL);
    pthread_barrier_destroy(&enqueued);

    char *t = sonde_expose_alloc(reg, SONDE_FORMAT_TEXT, NULL);
    /* i runs over 0..ROUNDS-1 in each thread; (i % 2, i % 3) cycles every 6 rounds and the
     * status every 4: count the rounds of each (pair, status) once and compare. */
    for (int op = 0; op < 2; op++)
        for (int tb = 0; tb < 3; tb++)
            for (int st = 0; st < SONDE_STORE_STATUS_COUNT; st++) {
                int n = 0;
                for (int i = 0; i < ROUNDS; i++)
                    n += i % 2 == op && i % 3 == tb && i % SONDE_STORE_STATUS_COUNT == st;
                char line[160];
                snprintf(line, sizeof line,
                         "db_queries_total{operation=\"%s\",table=\"%s\",status=\"%s\"} %d\n",
                         ops[op], tables[tb], sonde_store_status_name(st), n * THREADS);
                if (n)
                    CHECK_CONTAINS(t, line);
            }
    char line[128];
    snprintf(line, sizeof line, "cache_hits_total{cache=\"pages\"} %d\n", THREADS * ROUNDS * 3 / 4);
    CHECK_CONTAINS(t, line);
    snprintf(line, sizeof line, "cache_misses_total{cache=\"pages\"} %d\n", THREADS * ROUNDS / 4);
    CHECK_CONTAINS(t, line);
    snprintf(line, sizeof line, "queue_jobs_total{queue=\"jobs\",status=\"ok\"} %d\n",
             THREADS * ROUNDS);
    CHECK_CONTAINS(t, line);
    snprintf(line, sizeof line, "queue_wait_seconds_count{queue=\"jobs\"} %d\n", THREADS * ROUNDS);
    CHECK_CONTAINS(t, line);
    CHECK_CONTAINS(t, "queue_depth{queue=\"jobs\"} 0\n");
    free(t);
    sonde_store_free(store);
    sonde_registry_free(reg);
}

int main(void)
{
    RUN(store_threads);
    return check_report();
}
