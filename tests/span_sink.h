/*
 * span_sink.h - an in-memory span exporter for the instrumentation tests: a
 * real tracer (always_on unless told otherwise, environment ignored) whose
 * batches are copied into plain structs (name, kind, status, ids, parent and
 * every attribute by key), so a test flushes the tracer and then asserts on
 * what an exporter would have sent. Thread-safe: the tracer's export thread
 * writes, the test reads after sonde_tracer_flush().
 */
#ifndef SONDE_SPAN_SINK_H
#define SONDE_SPAN_SINK_H

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "sonde/trace.h"

#define SINK_SPANS 64
#define SINK_ATTRS 32

typedef struct sunk_attr {
    char key[64];
    sonde_attr_type type;
    int64_t i;
    double d;
    int b;
    char s[256]; /* the first 255 bytes of a string */
    size_t len;  /* its whole length */
} sunk_attr;

typedef struct sunk_span {
    char name[128];
    int kind, status;
    char status_msg[128];
    uint8_t trace_id[16], span_id[8], parent[8];
    int has_parent;
    size_t attr_count;
    sunk_attr attr[SINK_ATTRS];
} sunk_span;

typedef struct span_sink {
    pthread_mutex_t mu;
    sunk_span spans[SINK_SPANS];
    size_t count;
} span_sink;

static int span_sink_export(void *ud, const sonde_span *const *spans, size_t n,
                            uint64_t deadline_ns, size_t *rejected)
{
    (void)deadline_ns;
    (void)rejected;
    span_sink *k = ud;
    pthread_mutex_lock(&k->mu);
    for (size_t i = 0; i < n && k->count < SINK_SPANS; i++) {
        sunk_span *s = &k->spans[k->count++];
        memset(s, 0, sizeof *s);
        snprintf(s->name, sizeof s->name, "%s", sonde_span_name(spans[i]));
        s->kind = sonde_span_get_kind(spans[i]);
        const char *msg;
        s->status = sonde_span_status(spans[i], &msg);
        snprintf(s->status_msg, sizeof s->status_msg, "%s", msg);
        sonde_span_context c;
        sonde_span_get_context(spans[i], &c);
        memcpy(s->trace_id, c.trace_id, 16);
        memcpy(s->span_id, c.span_id, 8);
        s->has_parent = sonde_span_parent_id(spans[i], s->parent);
        s->attr_count = sonde_span_attr_count(spans[i]);
        for (size_t a = 0; a < s->attr_count && a < SINK_ATTRS; a++) {
            sonde_attr at;
            sonde_span_attr(spans[i], a, &at);
            sunk_attr *d = &s->attr[a];
            snprintf(d->key, sizeof d->key, "%s", at.key);
            d->type = at.type;
            if (at.type == SONDE_ATTR_STRING) {
                snprintf(d->s, sizeof d->s, "%s", at.v.s);
                d->len = strlen(at.v.s);
            }
            d->i = at.type == SONDE_ATTR_INT ? at.v.i : 0;
            d->d = at.type == SONDE_ATTR_DOUBLE ? at.v.d : 0;
            d->b = at.type == SONDE_ATTR_BOOL ? at.v.b : 0;
        }
    }
    pthread_mutex_unlock(&k->mu);
    return SONDE_OK;
}

/* A tracer exporting into k (reset), with the given sampler (UNSET: always_on). */
static inline sonde_tracer *span_sink_tracer(span_sink *k, sonde_sampler_kind sampler)
{
    memset(k, 0, sizeof *k);
    pthread_mutex_init(&k->mu, NULL);
    sonde_tracer_opts o;
    sonde_tracer_opts_init(&o);
    o.read_env = 0;
    o.sampler = sampler ? sampler : SONDE_SAMPLER_ALWAYS_ON;
    o.exporter = (sonde_span_exporter){span_sink_export, NULL, k};
    sonde_tracer *t = NULL;
    CHECK_EQ_INT(sonde_tracer_new(&o, &t), SONDE_OK);
    CHECK(t != NULL);
    return t;
}

/* Spans exported so far (after sonde_tracer_flush). */
static inline size_t span_sink_count(span_sink *k)
{
    pthread_mutex_lock(&k->mu);
    size_t n = k->count;
    pthread_mutex_unlock(&k->mu);
    return n;
}

/* The first exported span named name, or NULL (read after a flush). */
static inline const sunk_span *span_sink_find(span_sink *k, const char *name)
{
    for (size_t i = 0; i < span_sink_count(k); i++)
        if (!strcmp(k->spans[i].name, name))
            return &k->spans[i];
    return NULL;
}

static inline const sunk_attr *sunk_get(const sunk_span *s, const char *key)
{
    for (size_t i = 0; s && i < s->attr_count && i < SINK_ATTRS; i++)
        if (!strcmp(s->attr[i].key, key))
            return &s->attr[i];
    return NULL;
}

/* The string attribute key of s, or NULL when absent or not a string. */
static inline const char *sunk_str(const sunk_span *s, const char *key)
{
    const sunk_attr *a = sunk_get(s, key);
    return a && a->type == SONDE_ATTR_STRING ? a->s : NULL;
}

/* The integer attribute key of s, or -1 when absent or not an integer. */
static inline int64_t sunk_int(const sunk_span *s, const char *key)
{
    const sunk_attr *a = sunk_get(s, key);
    return a && a->type == SONDE_ATTR_INT ? a->i : -1;
}

static inline void span_sink_free(span_sink *k, sonde_tracer *t)
{
    sonde_tracer_free(t, 5000);
    pthread_mutex_destroy(&k->mu);
}

#endif
