/*
 * summary.c - summaries: quantiles with error targets over a sliding window.
 *
 * Each child keeps age_buckets streams of the CKMS targeted-quantile
 * algorithm (Cormode, Korn, Muthukrishnan, Srivastava, "Effective
 * computation of biased quantiles over data streams"). Every observation
 * goes to every stream (through a small sorted insert buffer); every
 * max_age / age_buckets the oldest stream is reset and becomes the newest,
 * and queries read the oldest, which covers between max_age*(n-1)/n and
 * max_age of history. Memory is bounded: a stream never holds more than
 * STREAM_CAP samples; past that, neighbours are merged (trading accuracy for
 * the bound, which the error targets make rare).
 *
 * Summaries lock: a mutex per child guards its streams, as in every
 * Prometheus client. Count and sum cover all time.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define BUFFER_CAP 128
#define STREAM_CAP 2048

typedef struct sample {
    double value, width, delta;
} sample;

typedef struct stream {
    sample *s;
    size_t len, cap;
    double n;
} stream;

typedef struct summary_state {
    pthread_mutex_t lock;
    const sonde_quantile *targets;
    size_t target_count;
    uint64_t count;
    double sum;
    double buffer[BUFFER_CAP];
    size_t buffered;
    uint64_t slice_ns;
    uint64_t next_rotate_ns;
    size_t head; /* the oldest stream, the one queries read */
    size_t stream_count;
    stream streams[];
} summary_state;

/* The allowed rank error at rank r for the targets (CKMS invariant). */
static double allowed(const summary_state *st, const stream *s, double r)
{
    double m = INFINITY;
    for (size_t i = 0; i < st->target_count; i++) {
        double q = st->targets[i].quantile, e = st->targets[i].error, f;
        if (q * s->n <= r)
            f = q > 0 ? (2 * e * r) / q : INFINITY;
        else
            f = q < 1 ? (2 * e * (s->n - r)) / (1 - q) : INFINITY;
        if (f < m)
            m = f;
    }
    return m;
}

static void compress(const summary_state *st, stream *s)
{
    if (s->len < 2)
        return;
    size_t xi = s->len - 1;
    sample x = s->s[xi];
    double r = s->n - 1 - x.width;
    for (size_t k = s->len - 1; k-- > 0;) {
        sample c = s->s[k];
        if (c.width + x.width + x.delta <= allowed(st, s, r)) {
            x.width += c.width;
            s->s[xi] = x;
            memmove(&s->s[k], &s->s[k + 1], (s->len - k - 1) * sizeof(sample));
            s->len--;
            xi--;
        } else {
            x = c;
            xi = k;
        }
        r -= c.width;
    }
}

/* Hard memory bound: merge neighbour pairs until half the capacity is free. */
static void squeeze(stream *s)
{
    size_t out = 0;
    for (size_t i = 0; i < s->len; i += 2) {
        sample a = s->s[i];
        if (i + 1 < s->len) {
            sample b = s->s[i + 1];
            a.value = b.value;
            a.width += b.width;
            a.delta = b.delta;
        }
        s->s[out++] = a;
    }
    s->len = out;
}

static int reserve(stream *s, size_t extra)
{
    if (s->len + extra <= s->cap)
        return 1;
    size_t cap = s->cap ? s->cap : 64;
    while (cap < s->len + extra)
        cap *= 2;
    if (cap > STREAM_CAP + BUFFER_CAP)
        cap = STREAM_CAP + BUFFER_CAP;
    if (s->len + extra > cap)
        return 0;
    sample *n = realloc(s->s, cap * sizeof *n);
    if (!n)
        return 0;
    s->s = n;
    s->cap = cap;
    return 1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Merge the sorted buffer into one stream. */
static void merge(const summary_state *st, stream *s, const double *vals, size_t n)
{
    if (s->len + n > STREAM_CAP)
        squeeze(s);
    if (!reserve(s, n))
        return; /* out of memory: these observations miss the quantiles, not count/sum */
    double r = 0;
    size_t i = 0;
    for (size_t k = 0; k < n; k++) {
        double v = vals[k];
        for (; i < s->len; i++) {
            if (s->s[i].value > v)
                break;
            r += s->s[i].width;
        }
        double delta = 0;
        if (i < s->len && i > 0) {
            delta = floor(allowed(st, s, r)) - 1;
            if (delta < 0)
                delta = 0;
        }
        memmove(&s->s[i + 1], &s->s[i], (s->len - i) * sizeof(sample));
        s->s[i] = (sample){v, 1, delta};
        s->len++;
        i++;
        s->n += 1;
        r += 1;
    }
    compress(st, s);
}

static void flush(summary_state *st)
{
    if (!st->buffered)
        return;
    qsort(st->buffer, st->buffered, sizeof(double), cmp_double);
    for (size_t i = 0; i < st->stream_count; i++)
        merge(st, &st->streams[i], st->buffer, st->buffered);
    st->buffered = 0;
}

static void rotate(summary_state *st, uint64_t now)
{
    if (now < st->next_rotate_ns)
        return;
    flush(st);
    while (now >= st->next_rotate_ns) {
        stream *old = &st->streams[st->head];
        old->len = 0;
        old->n = 0;
        st->head = (st->head + 1) % st->stream_count;
        st->next_rotate_ns += st->slice_ns;
    }
}

struct summary_state *sonde_summary_state_new(const sonde_family *f)
{
    size_t n = (size_t)f->age_buckets;
    summary_state *st = calloc(1, sizeof *st + n * sizeof(stream));
    if (!st)
        return NULL;
    pthread_mutex_init(&st->lock, NULL);
    st->targets = f->quantiles;
    st->target_count = f->quantile_count;
    st->stream_count = n;
    st->slice_ns = (uint64_t)(f->max_age * 1e9 / (double)n);
    if (st->slice_ns == 0)
        st->slice_ns = 1;
    st->next_rotate_ns = sonde_now_ns() + st->slice_ns;
    return st;
}

void sonde_summary_state_free(void *p)
{
    summary_state *st = p;
    for (size_t i = 0; i < st->stream_count; i++)
        free(st->streams[i].s);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

void sonde_summary_observe(sonde_summary *sum, double v)
{
    sonde_child *c = (sonde_child *)sum;
    if (!c || isnan(v))
        return;
    summary_state *st = c->v.summary;
    uint64_t now = sonde_now_ns();
    pthread_mutex_lock(&st->lock);
    rotate(st, now);
    st->count++;
    st->sum += v;
    st->buffer[st->buffered++] = v;
    if (st->buffered == BUFFER_CAP)
        flush(st);
    pthread_mutex_unlock(&st->lock);
}

static double query(const summary_state *st, const stream *s, double q)
{
    if (s->len == 0)
        return NAN;
    double t = ceil(q * s->n);
    t += allowed(st, s, t) / 2; /* no ceil here: with few samples it costs a whole rank */
    sample p = s->s[0];
    double r = 0;
    for (size_t i = 1; i < s->len; i++) {
        sample c = s->s[i];
        r += p.width;
        if (r + c.width + c.delta > t)
            return p.value;
        p = c;
    }
    return p.value;
}

static double quantile_locked(summary_state *st, double q)
{
    rotate(st, sonde_now_ns());
    flush(st);
    return query(st, &st->streams[st->head], q);
}

double sonde_summary_quantile(sonde_summary *sum, double q)
{
    sonde_child *c = (sonde_child *)sum;
    if (!c || !(q >= 0 && q <= 1))
        return NAN;
    summary_state *st = c->v.summary;
    pthread_mutex_lock(&st->lock);
    double v = quantile_locked(st, q);
    pthread_mutex_unlock(&st->lock);
    return v;
}

void sonde_summary_read(sonde_summary *sum, uint64_t *count, double *total)
{
    sonde_child *c = (sonde_child *)sum;
    uint64_t n = 0;
    double s = 0;
    if (c) {
        pthread_mutex_lock(&c->v.summary->lock);
        n = c->v.summary->count;
        s = c->v.summary->sum;
        pthread_mutex_unlock(&c->v.summary->lock);
    }
    if (count)
        *count = n;
    if (total)
        *total = s;
}

void sonde_summary_snapshot(sonde_child *c, double *q, uint64_t *count, double *sum)
{
    summary_state *st = c->v.summary;
    pthread_mutex_lock(&st->lock);
    for (size_t i = 0; i < st->target_count; i++)
        q[i] = quantile_locked(st, st->targets[i].quantile);
    *count = st->count;
    *sum = st->sum;
    pthread_mutex_unlock(&st->lock);
}
