/*
 * query.h - instant and range queries on the console's history (query.c).
 * The alert engine (alerts.h) reads values through console_query_instant's
 * signature.
 */
#ifndef SONDE_CONSOLE_QUERY_H
#define SONDE_CONSOLE_QUERY_H

#include <stddef.h>

struct console_history;

typedef enum { CONSOLE_FN_VALUE, CONSOLE_FN_RATE, CONSOLE_FN_QUANTILE, CONSOLE_FN_RATIO } console_fn;

typedef struct console_query {
    const char *family;                       /* metric family name */
    const char *match[8][2];                  /* label = value equality matchers */
    size_t nmatch;
    console_fn fn;
    double q;                                 /* quantile for CONSOLE_FN_QUANTILE (histograms) */
    const char *by;                           /* sum by this label; NULL = sum over all matched */
    long window_s;                            /* rate / quantile window, default 60 */
    /* CONSOLE_FN_RATIO: rate(family{match}) / rate(family{denominator matchers}) */
    const char *den_match[8][2];
    size_t nden;
} console_query;

/* The latest value (by == NULL); ok = 0 when there is not enough history yet. */
int console_query_instant(struct console_history *h, const console_query *q, double *out, int *ok);

#endif
