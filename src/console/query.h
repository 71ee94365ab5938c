/*
 * query.h - queries over the console's history (query.c): the instant query
 * the alert engine evaluates and the range queries behind /console/api/query.
 * Every function runs with the history locked (console_history_lock).
 */
#ifndef SONDE_CONSOLE_QUERY_H
#define SONDE_CONSOLE_QUERY_H

#include <stdint.h>

#include "history.h"

typedef enum {
    CONSOLE_FN_VALUE,    /* counters and gauges: the value; histograms: the count */
    CONSOLE_FN_RATE,     /* per second over window_s (counter resets handled) */
    CONSOLE_FN_QUANTILE, /* histograms: histogram_quantile(q, rate of the buckets) */
    CONSOLE_FN_RATIO,    /* rate(family{match}) / rate(family{den_match}) */
    CONSOLE_FN_HEATMAP   /* histograms: per-bucket rates (range queries only) */
} console_fn;

typedef struct console_query {
    const char *family;                     /* metric family name */
    const char *match[8][2];                /* label = value equality matchers */
    size_t nmatch;
    console_fn fn;
    double q;                               /* quantile for CONSOLE_FN_QUANTILE */
    const char *by;                         /* sum by this label; NULL = sum over all */
    long window_s;                          /* rate / quantile window; <= 0: 60 */
    const char *den_match[8][2];            /* CONSOLE_FN_RATIO's denominator */
    size_t nden;
    int per_series;                         /* range queries: one line per series (by ignored) */
} console_query;

/* The latest value (by == NULL); ok = 0 when there is not enough history yet (or no such
 * recorded family). SONDE_OK, SONDE_EINVAL (NULL argument, fn not for this type). Takes the
 * history's lock itself. */
int console_query_instant(struct console_history *h, const console_query *q, double *out, int *ok);

#define CONSOLE_MAX_LINES 100 /* lines of a range answer */

/* A range answer: lines x points x width values (width: 1, heatmaps the bucket count). */
typedef struct console_range {
    size_t npoints, width, nlines;
    const int64_t *t;          /* npoints times (unix ms), owned */
    char **line_label_values;  /* per line: per_series: the series' values (blob); else the
                                  group's value of `by` (NULL: the sum over all) */
    const hseries **line_series; /* per_series: the series of each line */
    double *v;
    int truncated;             /* more lines than CONSOLE_MAX_LINES, or series not recorded */
    int64_t since_ms;
} console_range;

/* The last range_s of family f (recorded) under q. SONDE_OK, SONDE_EINVAL (fn not for the
 * family's type), SONDE_ENOMEM. Free with console_range_free. */
int console_query_range(console_history *h, hfamily *f, const console_query *q, long range_s,
                        console_range *out);
void console_range_free(console_range *r);

/* Prometheus' histogram_quantile over cumulative counts cum[0..nb) with upper bounds
 * bounds[0..nb-1) (+Inf last): NaN without observations, the highest finite bound when q
 * falls in +Inf, -Inf / +Inf for q < 0 / q > 1. */
double console_histogram_quantile(double q, const double *bounds, const double *cum, size_t nb);

#endif
