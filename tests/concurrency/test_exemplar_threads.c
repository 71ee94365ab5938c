/*
 * test_exemplar_threads.c - writers and scrapers of one counter's and one
 * histogram bucket's exemplar never see a torn exemplar (also under TSan).
 *
 * Three writers record exemplars as fast as they can, each from its own
 * numbers k: trace id = k, k (two little-endian 64-bit words), span id = k,
 * value = k, so every field of one exemplar names the same k and a mix of two
 * writes shows as fields that disagree. Two scrapers meanwhile read the
 * exemplars ROUNDS times through the internal accessor (what the protobuf
 * exposition uses) and every eighth round through the OpenMetrics
 * exposition, and check every one they get; the writers go on until both
 * scrapers are done. Readers must get some (a writer never holds a slot for
 * long), and afterwards both slots hold a whole exemplar.
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "exemplar.h"
#include "internal.h"
#include "sonde/sonde.h"

enum { WRITERS = 3, SCRAPERS = 2, ROUNDS = 2000 };

static sonde_registry *reg;
static sonde_counter *counter;
static sonde_histogram *hist;
static atomic_int scraping, written, torn, loaded, rendered;
static atomic_long observed;

static void *writer(void *p)
{
    uint64_t base = (uint64_t)(uintptr_t)p << 32; /* each writer's own k */
    sonde_span_context ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.flags = SONDE_TRACE_FLAG_SAMPLED;
    uint64_t i = 1;
    for (; atomic_load(&scraping) > 0; i++) {
        uint64_t k = base + i;
        memcpy(ctx.trace_id, &k, 8);
        memcpy(ctx.trace_id + 8, &k, 8);
        memcpy(ctx.span_id, &k, 8);
        sonde_counter_add_exemplar(counter, (double)k, &ctx);
        sonde_histogram_observe_exemplar(hist, (double)k, &ctx);
        if (i == 1)
            atomic_fetch_add(&written, 1);
    }
    atomic_fetch_add(&observed, (long)(i - 1));
    return NULL;
}

/* 1 when every field of ex names the same k. */
static int whole(const sonde_exemplar *ex)
{
    uint64_t t0, t1, s;
    memcpy(&t0, ex->trace_id, 8);
    memcpy(&t1, ex->trace_id + 8, 8);
    memcpy(&s, ex->span_id, 8);
    return t0 == t1 && t1 == s && (double)s == ex->value && (s & 0xffffffffu) >= 1 && (s >> 32) < WRITERS;
}

/* Check every exemplar of an OpenMetrics render: trace id = its first 16 hex digits twice,
 * the span id the same 16 digits, the value the number they spell (little-endian). */
static void check_render(const char *text)
{
    for (const char *p = strstr(text, " # {"); p; p = strstr(p + 1, " # {")) {
        char trace[33], span[17];
        char value[32];
        if (sscanf(p, " # {trace_id=\"%32[0-9a-f]\",span_id=\"%16[0-9a-f]\"} %31s", trace, span, value) != 3) {
            atomic_fetch_add(&torn, 1);
            continue;
        }
        uint64_t k = 0;
        for (int i = 7; i >= 0; i--) {
            unsigned byte;
            sscanf(span + 2 * i, "%2x", &byte);
            k = k << 8 | byte;
        }
        char want[32];
        snprintf(want, sizeof want, "%" PRIu64, k);
        if (strncmp(trace, span, 16) || strcmp(trace + 16, span) || strcmp(value, want))
            atomic_fetch_add(&torn, 1);
        else
            atomic_fetch_add(&rendered, 1);
    }
}

static void *scraper(void *p)
{
    (void)p;
    uint32_t cells[2] = {((sonde_child *)counter)->cell, ((sonde_child *)hist)->cell};
    while (atomic_load(&written) < WRITERS) /* the rounds race with every writer */
        sched_yield();
    for (unsigned round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < 2; i++) {
            sonde_exemplar ex;
            if (sonde_exemplar_load(cells[i], &ex)) {
                atomic_fetch_add(&loaded, 1);
                if (!whole(&ex))
                    atomic_fetch_add(&torn, 1);
            }
        }
        if (round % 8 == 0) {
            char *text = sonde_expose_alloc(reg, SONDE_FORMAT_OPENMETRICS, NULL);
            if (text)
                check_render(text);
            free(text);
        }
    }
    atomic_fetch_sub(&scraping, 1);
    return NULL;
}

TEST(no_torn_exemplars)
{
    static const double bounds[] = {1e12}; /* every k lands in the first bucket */
    CHECK_EQ_INT(sonde_registry_new(NULL, &reg), SONDE_OK);
    CHECK_EQ_INT(sonde_counter_new(reg, "ex_total", "E.", &counter), SONDE_OK);
    CHECK_EQ_INT(sonde_histogram_new(reg, "ex_seconds", "E.", (sonde_buckets){bounds, 1}, &hist), SONDE_OK);
    atomic_store(&scraping, SCRAPERS);
    pthread_t w[WRITERS], s[SCRAPERS];
    for (int i = 0; i < SCRAPERS; i++)
        pthread_create(&s[i], NULL, scraper, NULL);
    for (int i = 0; i < WRITERS; i++)
        pthread_create(&w[i], NULL, writer, (void *)(uintptr_t)i);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(w[i], NULL);
    for (int i = 0; i < SCRAPERS; i++)
        pthread_join(s[i], NULL);
    CHECK_EQ_INT(atomic_load(&torn), 0);
    CHECK(atomic_load(&loaded) > 0);
    CHECK(atomic_load(&rendered) > 0);
    fprintf(stderr, "exemplars read whole: %d through the accessor, %d rendered\n", atomic_load(&loaded),
            atomic_load(&rendered));
    /* quiescent: both slots hold a whole exemplar */
    sonde_exemplar ex;
    CHECK_EQ_INT(sonde_exemplar_load(((sonde_child *)counter)->cell, &ex), 1);
    CHECK(whole(&ex));
    CHECK_EQ_INT(sonde_exemplar_load(((sonde_child *)hist)->cell, &ex), 1);
    CHECK(whole(&ex));
    double count = 0;
    uint64_t n;
    sonde_histogram_read(hist, &n, &count, NULL);
    CHECK_EQ_INT(n, (uint64_t)atomic_load(&observed)); /* every observation counted, exemplar or not */
    sonde_registry_free(reg);
}

int main(void)
{
    RUN(no_torn_exemplars);
    return check_report();
}
