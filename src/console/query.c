/*
 * query.c - value, rate, quantile, ratio and heatmap over the history's rows.
 *
 * Rows of a family are taken in time order (k = 0 oldest .. filled - 1).
 * Rates follow Prometheus' rate() on each raw series (each histogram bucket
 * being one, as `rate(x_bucket[w])`): within the window (t - window, t], the
 * increase from the first to the last sample, a drop counting as a counter
 * reset (the new value is the increase since it), divided by the time between
 * those two samples (no extrapolation to the window's edges); fewer than two
 * samples give null. Increases are prefix sums per series and column, so a
 * whole range costs O(rows) per column instead of O(rows x window).
 * Sums skip missing series (NaN rows); a point where every series is missing
 * is null. Quantiles are histogram_quantile() of the summed bucket rates
 * (classic buckets; a native-only histogram's one +Inf bucket yields null).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"

double console_histogram_quantile(double q, const double *bounds, const double *cum, size_t nb)
{
    if (isnan(q) || nb < 2)
        return NAN;
    if (q < 0)
        return -INFINITY;
    if (q > 1)
        return INFINITY;
    double total = cum[nb - 1];
    if (!(total > 0))
        return NAN;
    double rank = q * total;
    size_t b = 0;
    while (b < nb - 1 && cum[b] < rank)
        b++;
    if (b == nb - 1) /* in +Inf: the highest finite bound */
        return bounds[nb - 2];
    double lower = b == 0 ? (bounds[0] > 0 ? 0 : bounds[0]) : bounds[b - 1];
    double below = b == 0 ? 0 : cum[b - 1];
    double in = cum[b] - below;
    if (b == 0 && bounds[0] <= 0)
        return bounds[0];
    return in > 0 ? lower + (bounds[b] - lower) * ((rank - below) / in) : bounds[b];
}

static void nan_add(double *acc, double v)
{
    if (isnan(v))
        return;
    *acc = isnan(*acc) ? v : *acc + v;
}

typedef struct qctx {
    console_history *h;
    hfamily *f;
    const console_query *q;
    size_t rows;       /* f->filled */
    size_t p0;         /* first output row */
    size_t *lo;        /* per output point: the first row of its window */
    double *col;       /* rows: one column of one series */
    double *adj;       /* rows: prefix increases */
    size_t *prev_valid, *next_valid; /* rows (+1): last valid <= k, first valid >= k */
    size_t *chunk;     /* rows: the chunk of row k */
    size_t *off;       /* rows: row k's offset in its chunk, times the family's width */
    int64_t *tk;       /* rows: the time of row k */
} qctx;

/* Row k, column c of s (a chunk the series never had reads as NaN rows). */
static double cell(const qctx *x, const hseries *s, size_t k, size_t c)
{
    const double *ch = s->chunk[x->chunk[k]];
    return ch ? ch[x->off[k] + c] : NAN;
}

/* Column c of s into x->col (c == SIZE_MAX: a histogram's count, the sum of its buckets). */
static void load_column(qctx *x, const hseries *s, size_t c)
{
    for (size_t k = 0; k < x->rows; k++) {
        if (c != SIZE_MAX) {
            x->col[k] = cell(x, s, k, c);
            continue;
        }
        double n = 0;
        for (size_t b = 0; b < x->f->nb; b++)
            n += cell(x, s, k, b);
        x->col[k] = n;
    }
}

/* Validity of s's rows (a NaN row is missing): prev_valid / next_valid (rows = none). */
static void load_validity(qctx *x)
{
    size_t last = x->rows;
    for (size_t k = 0; k < x->rows; k++) {
        if (!isnan(x->col[k]))
            last = k;
        x->prev_valid[k] = last;
    }
    size_t next = x->rows;
    for (size_t k = x->rows; k-- > 0;) {
        if (!isnan(x->col[k]))
            next = k;
        x->next_valid[k] = next;
    }
    double acc = 0, prev = NAN;
    for (size_t k = 0; k < x->rows; k++) {
        double v = x->col[k];
        if (!isnan(v)) {
            if (!isnan(prev))
                acc += v >= prev ? v - prev : v;
            prev = v;
        }
        x->adj[k] = acc;
    }
}

/* The rate at output point i from the loaded column (validity loaded). */
static double rate_at(const qctx *x, size_t i)
{
    size_t k = x->p0 + i;
    size_t b = x->prev_valid[k];
    size_t a = x->next_valid[x->lo[i]];
    if (b >= x->rows || a >= x->rows || a >= b)
        return NAN;
    double dt = (double)(x->tk[b] - x->tk[a]) / 1000.0;
    return dt > 0 ? (x->adj[b] - x->adj[a]) / dt : NAN;
}

static int type_ok(const hfamily *f, console_fn fn)
{
    switch (fn) {
    case CONSOLE_FN_VALUE: return 1;
    case CONSOLE_FN_RATE:
    case CONSOLE_FN_RATIO: return f->type == SONDE_COUNTER || f->type == SONDE_HISTOGRAM;
    case CONSOLE_FN_QUANTILE:
    case CONSOLE_FN_HEATMAP: return f->type == SONDE_HISTOGRAM && f->nb >= 2;
    }
    return 0;
}

static const char *value_of(const hfamily *f, const hseries *s, const char *label)
{
    for (size_t i = 0; i < f->label_count; i++)
        if (strcmp(f->label_names[i], label) == 0)
            return s->values[i];
    return "";
}

/* The line of series s: an existing one, a new one, or SIZE_MAX past the cap. */
static size_t line_of(console_range *r, const hfamily *f, const console_query *q,
                      const hseries *s, size_t *cap_lines)
{
    if (!q->per_series && !q->by) {
        if (!r->nlines)
            r->nlines = 1;
        return 0;
    }
    if (!q->per_series) {
        const char *v = value_of(f, s, q->by);
        for (size_t i = 0; i < r->nlines; i++)
            if (strcmp(r->line_label_values[i], v) == 0)
                return i;
    }
    if (r->nlines == *cap_lines) {
        r->truncated = 1;
        return SIZE_MAX;
    }
    const char *src = q->per_series ? s->blob : value_of(f, s, q->by);
    size_t n = q->per_series ? s->blob_len : strlen(src) + 1;
    char *copy = malloc(n ? n : 1);
    if (!copy)
        return SIZE_MAX - 1;
    memcpy(copy, src, n);
    r->line_label_values[r->nlines] = copy;
    r->line_series[r->nlines] = s;
    return r->nlines++;
}

void console_range_free(console_range *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nlines; i++)
        if (r->line_label_values)
            free(r->line_label_values[i]);
    free(r->line_label_values);
    free((void *)r->line_series);
    free((void *)r->t);
    free(r->v);
    memset(r, 0, sizeof *r);
}

int console_query_range(console_history *h, hfamily *f, const console_query *q, long range_s,
                        console_range *r)
{
    memset(r, 0, sizeof *r);
    if (!type_ok(f, q->fn))
        return SONDE_EINVAL;
    r->since_ms = f->since_ms;
    r->truncated = f->truncated;
    qctx x = {h, f, q, f->filled, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    if (!x.rows)
        return SONDE_OK;
    int64_t t_last = f->t[hfamily_row(h, f, x.rows - 1)];
    int64_t lo_t = t_last - (int64_t)range_s * 1000;
    while (x.p0 + 1 < x.rows && f->t[hfamily_row(h, f, x.p0)] < lo_t)
        x.p0++;
    size_t np = x.rows - x.p0;
    size_t nb = f->nb;
    int buckets = q->fn == CONSOLE_FN_QUANTILE || q->fn == CONSOLE_FN_HEATMAP;
    size_t acc_w = buckets ? nb : q->fn == CONSOLE_FN_RATIO ? 2 : 1;
    size_t cap = CONSOLE_MAX_LINES;
    long window_ms = (q->window_s > 0 ? q->window_s : 60) * 1000L;
    int64_t *t = malloc(np * sizeof *t);
    x.lo = malloc(np * sizeof *x.lo);
    x.col = malloc(x.rows * sizeof(double));
    x.adj = malloc(x.rows * sizeof(double));
    x.prev_valid = malloc(x.rows * sizeof(size_t));
    x.next_valid = malloc(x.rows * sizeof(size_t));
    x.chunk = malloc(x.rows * sizeof(size_t));
    x.off = malloc(x.rows * sizeof(size_t));
    x.tk = malloc(x.rows * sizeof(int64_t));
    double **acc = calloc(cap, sizeof *acc); /* per line, allocated with the line */
    r->line_label_values = calloc(cap, sizeof(char *));
    r->line_series = calloc(cap, sizeof(hseries *));
    int rc = SONDE_ENOMEM;
    if (!t || !x.lo || !x.col || !x.adj || !x.prev_valid || !x.next_valid || !x.chunk || !x.off || !x.tk || !acc ||
        !r->line_label_values || !r->line_series)
        goto done;
    for (size_t k = 0; k < x.rows; k++) {
        size_t row = hfamily_row(h, f, k);
        x.chunk[k] = row / h->chunk_rows;
        x.off[k] = (row % h->chunk_rows) * f->width;
        x.tk[k] = f->t[hfamily_row(h, f, k)];
    }
    size_t lo = 0;
    for (size_t i = 0; i < np; i++) {
        t[i] = f->t[hfamily_row(h, f, x.p0 + i)];
        while (f->t[hfamily_row(h, f, lo)] <= t[i] - window_ms)
            lo++;
        x.lo[i] = lo;
    }
    for (size_t si = 0; si < f->nseries; si++) {
        const hseries *s = f->list[si];
        int num = console_series_matches(f, s, (const char *const(*)[2])q->match, q->nmatch);
        int den = q->fn == CONSOLE_FN_RATIO && console_series_matches(f, s, (const char *const(*)[2])q->den_match, q->nden);
        if (!num && !den)
            continue;
        size_t line = line_of(r, f, q, s, &cap);
        if (line == SIZE_MAX - 1)
            goto done;
        if (line == SIZE_MAX)
            continue;
        if (!acc[line]) {
            if (!(acc[line] = malloc(np * acc_w * sizeof(double))))
                goto done;
            for (size_t i = 0; i < np * acc_w; i++)
                acc[line][i] = NAN;
        }
        double *a = acc[line];
        if (q->fn == CONSOLE_FN_VALUE) {
            load_column(&x, s, f->type == SONDE_HISTOGRAM ? SIZE_MAX : 0);
            for (size_t i = 0; i < np; i++)
                nan_add(&a[i], x.col[x.p0 + i]);
        } else if (buckets) {
            for (size_t b = 0; b < nb; b++) {
                load_column(&x, s, b);
                load_validity(&x);
                for (size_t i = 0; i < np; i++)
                    nan_add(&a[i * nb + b], rate_at(&x, i));
            }
        } else {
            load_column(&x, s, f->type == SONDE_HISTOGRAM ? SIZE_MAX : 0);
            load_validity(&x);
            for (size_t i = 0; i < np; i++) {
                double v = rate_at(&x, i);
                if (q->fn == CONSOLE_FN_RATIO) {
                    if (num)
                        nan_add(&a[i * 2], v);
                    if (den)
                        nan_add(&a[i * 2 + 1], v);
                } else {
                    nan_add(&a[i], v);
                }
            }
        }
    }
    size_t w = q->fn == CONSOLE_FN_HEATMAP ? nb : 1;
    r->v = malloc((r->nlines ? r->nlines : 1) * np * w * sizeof(double));
    if (!r->v)
        goto done;
    double *cum = malloc((nb ? nb : 1) * sizeof(double));
    if (!cum)
        goto done;
    for (size_t l = 0; l < r->nlines; l++) {
        const double *a = acc[l];
        double *out = r->v + l * np * w;
        for (size_t i = 0; i < np; i++) {
            if (q->fn == CONSOLE_FN_QUANTILE) {
                int any = 0;
                for (size_t b = 0; b < nb; b++) {
                    double v = a[i * nb + b];
                    any |= !isnan(v);
                    cum[b] = (b ? cum[b - 1] : 0) + (isnan(v) ? 0 : v);
                }
                out[i] = any ? console_histogram_quantile(q->q, f->bounds, cum, nb) : NAN;
            } else if (q->fn == CONSOLE_FN_HEATMAP) {
                memcpy(out + i * nb, a + i * nb, nb * sizeof(double));
            } else if (q->fn == CONSOLE_FN_RATIO) {
                double n = a[i * 2], d = a[i * 2 + 1];
                out[i] = isnan(d) || d == 0 ? NAN : (isnan(n) ? 0 : n) / d;
            } else {
                out[i] = a[i];
            }
        }
    }
    free(cum);
    r->npoints = np;
    r->width = w;
    r->t = t;
    t = NULL;
    rc = SONDE_OK;
done:
    free(t);
    free(x.lo);
    free(x.col);
    free(x.adj);
    free(x.prev_valid);
    free(x.next_valid);
    free(x.chunk);
    free(x.off);
    free(x.tk);
    for (size_t l = 0; acc && l < cap; l++)
        free(acc[l]);
    free(acc);
    if (rc)
        console_range_free(r);
    return rc;
}

int console_query_instant(struct console_history *h, const console_query *q, double *out, int *ok)
{
    if (!h || !q || !q->family || !out || !ok)
        return SONDE_EINVAL;
    *ok = 0;
    *out = NAN;
    console_history_lock(h);
    hfamily *f = console_history_find(h, q->family);
    int rc = SONDE_OK;
    if (f) {
        console_query one = *q;
        one.by = NULL;
        one.per_series = 0;
        console_range r;
        rc = console_query_range(h, f, &one, 0, &r);
        if (rc == SONDE_OK && r.nlines && r.npoints) {
            *out = r.v[r.npoints - 1];
            *ok = !isnan(*out);
        }
        if (rc == SONDE_OK)
            console_range_free(&r);
    }
    console_history_unlock(h);
    return rc;
}
