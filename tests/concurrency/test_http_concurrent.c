/*
 * test_http_concurrent.c - the middleware's lock-free paths under threads:
 * routes interned, (route, method) children and status counters cached
 * while other threads read them, templates added during traffic. Every
 * request must be counted exactly once.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sonde/sonde.h"

#define THREADS 4
#define PER_THREAD 20000

static sonde_http *h;

static void *worker(void *arg)
{
    int id = (int)(long)arg;
    static const char *const methods[] = {"GET", "POST", "BREW", "DELETE"};
    for (int i = 0; i < PER_THREAD; i++) {
        char path[64];
        snprintf(path, sizeof path, "/r%d/%d", (i * 7 + id) % 40, i);
        sonde_http_token t = sonde_http_begin(h, methods[(i + id) % 4], path, (size_t)i % 100);
        if (i % 5 == 0)
            sonde_http_stream_begin(h, &t);
        sonde_http_end(h, &t, 200 + (i % 12), 10);
    }
    return NULL;
}

static void *add_templates(void *arg)
{
    for (int i = 0; i < 20; i++) {
        char t[32];
        snprintf(t, sizeof t, "/r%d/{n}", i);
        sonde_http_route_add(h, t);
    }
    return NULL;
}

TEST(every_request_counted_once)
{
    sonde_registry *reg;
    CHECK_EQ_INT(sonde_registry_new(NULL, &reg), SONDE_OK);
    sonde_http_opts o;
    memset(&o, 0, sizeof o);
    o.registry = reg;
    CHECK_EQ_INT(sonde_http_new(&o, &h), SONDE_OK);
    pthread_t t[THREADS + 1];
    for (long i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    pthread_create(&t[THREADS], NULL, add_templates, NULL);
    for (int i = 0; i <= THREADS; i++)
        pthread_join(t[i], NULL);
    /* sum every http_requests_total sample of the exposition */
    char *text = sonde_expose_alloc(reg, SONDE_FORMAT_TEXT, NULL);
    double total = 0;
    for (char *p = strstr(text, "\nhttp_requests_total{"); p;
         p = strstr(p + 1, "\nhttp_requests_total{")) {
        double v = 0;
        sscanf(strstr(p, "} ") + 2, "%lf", &v); /* route values may hold '}' */
        total += v;
    }
    CHECK_EQ_DBL(total, THREADS * PER_THREAD);
    CHECK_CONTAINS(text, "http_requests_in_flight 0\n");
    CHECK_CONTAINS(text, "http_responses_streaming 0\n");
    free(text);
    sonde_http_free(h);
    sonde_registry_free(reg);
}

int main(void)
{
    RUN(every_request_counted_once);
    return check_report();
}
