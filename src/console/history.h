/*
 * history.h - the console's in-process history: rings of samples of chosen
 * series, bounded in memory (history.c explains the design).
 *
 * The structures are visible so that query.c reads them; every read and
 * write happens under h->lock (console_history_lock/unlock).
 */
#ifndef SONDE_CONSOLE_HISTORY_H
#define SONDE_CONSOLE_HISTORY_H

#include <pthread.h>
#include <stdint.h>

#include "core_iface.h"

#define HISTORY_MAX_MATCH 8        /* label matchers of one watch */
#define HISTORY_MAX_WATCHES 32     /* watches of one family (the oldest viewed is replaced) */
#define HISTORY_MAX_FAMILIES 512   /* families recorded at once (the least viewed goes) */
#define HISTORY_MAX_SERIES 1000    /* series recorded per family (past it, a series viewed
                                      later replaces the one viewed least recently) */
#define HISTORY_EXEMPLARS 16       /* exemplars kept per series (the latest) */
#define HISTORY_CHUNKS 16          /* a retention is cut in this many chunks of rows (the ring
                                      has one more, so that whole chunks age out) */

/* What to record of a family: the series matching every label = value pair. */
typedef struct hwatch {
    char *match[HISTORY_MAX_MATCH][2];
    size_t nmatch;
    uint64_t viewed;               /* view stamp (h->clock) of its last use */
} hwatch;

typedef struct hexemplar {
    int64_t t_ms;                  /* the sample that saw it */
    size_t bucket;                 /* histograms: its bucket; counters 0 */
    sonde_series_exemplar ex;
} hexemplar;

typedef struct hseries {
    uint64_t hash;                 /* first: map.h */
    char *blob;                    /* label values, NUL-terminated, back to back */
    size_t blob_len;
    const char **values;           /* into blob, label_count of them */
    double **chunk;                /* h->nchunks of them: chunk k holds rows
                                      [k * chunk_rows, (k + 1) * chunk_rows) of the ring,
                                      chunk_rows x width doubles; NULL (every row NaN)
                                      until the series has a sample there */
    size_t nchunk;                 /* chunks allocated */
    uint64_t viewed;               /* view stamp: eviction takes the lowest first */
    int64_t since_ms;              /* its first sample */
    uint64_t last_tick;            /* the family tick that last saw it */
    hexemplar *ex;                 /* ring of HISTORY_EXEMPLARS, or NULL until the first */
    size_t ex_count, ex_head;
    uint64_t *ex_seen;             /* per bucket: unix_ns of the last exemplar kept */
    size_t bytes;                  /* all of the above */
} hseries;

typedef struct hfamily {
    char *name;
    sonde_type type;
    size_t label_count;
    char **label_names;
    double *bounds;                /* histograms: nb - 1 finite bounds */
    size_t nb;                     /* histograms: buckets with +Inf; else 0 */
    size_t width;                  /* doubles per point: 1, histograms nb + 1 (buckets, sum) */
    int pinned;                    /* the overview's or the host's: never dropped as a family */
    hwatch watches[HISTORY_MAX_WATCHES];
    size_t nwatch;
    int64_t *t;                    /* ring of sample times (unix ms), h->rows of them */
    size_t head;                   /* the next row written (of h->rows) */
    size_t filled;                 /* rows holding a sample */
    uint64_t tick;                 /* samples taken */
    int64_t since_ms;              /* recorded since */
    sonde_map series;              /* hseries by label values */
    hseries **list;                /* the same, in admission order */
    size_t nseries;
    size_t bytes;                  /* the family's own (rings of times, names) */
    int truncated;                 /* series past HISTORY_MAX_SERIES were left out */
    uint64_t none_viewed_before;   /* full: no series was viewed before this stamp at the
                                      last look (saves rescanning for every refused series) */
} hfamily;

typedef struct console_history {
    pthread_mutex_t lock;
    sonde_registry *reg;
    long interval_ms;
    size_t points;                 /* retention_s * 1000 / interval_ms: samples kept */
    size_t chunk_rows;             /* rows of a chunk: points / HISTORY_CHUNKS rounded up */
    size_t nchunks;                /* chunks of a ring: enough for points, plus one */
    size_t rows;                   /* rows of a ring: nchunks x chunk_rows */
    size_t max_bytes;
    size_t bytes;
    uint64_t evicted_total;
    uint64_t clock;                /* view stamps */
    uint64_t evicted_stamp;        /* the latest view stamp of a series evicted for room: a
                                      series viewed no later is not admitted */
    hfamily **fams;
    size_t nfams;
    sonde_counter *evicted_counter; /* sonde_console_history_evicted_total, or NULL */
} console_history;

/* A history of retention_s / interval_ms points per series within max_bytes. SONDE_OK,
 * SONDE_ENOMEM. evicted (may be NULL) counts evictions too. */
int console_history_new(sonde_registry *reg, long interval_ms, long retention_s,
                        size_t max_bytes, sonde_counter *evicted, console_history **out);
void console_history_free(console_history *h);

void console_history_lock(console_history *h);
void console_history_unlock(console_history *h);

/*
 * Under the lock: record family name's series matching match[0..nmatch) from now on and
 * mark them viewed now (pinned: a family of the overview or of the host). A family not
 * recorded yet gets its first sample at once. SONDE_OK, SONDE_ENOENT (no such family),
 * SONDE_ETYPE (summaries, statesets, infos have no history), SONDE_ENOMEM.
 * *fam (may be NULL) receives the family.
 */
int console_history_watch(console_history *h, const char *name, const char *const match[][2],
                          size_t nmatch, int pinned, hfamily **fam);

/* Under the lock: the recorded family of that name, or NULL. */
hfamily *console_history_find(console_history *h, const char *name);

/* Take one sample of every recorded family at wall time t_ms (takes the lock). */
void console_history_sample(console_history *h, int64_t t_ms);

/* Whether series s of f matches match[0..nmatch). */
int console_series_matches(const hfamily *f, const hseries *s, const char *const match[][2],
                           size_t nmatch);

/* The row index of the i-th oldest sample of f (i < f->filled). */
static inline size_t hfamily_row(const console_history *h, const hfamily *f, size_t i)
{
    return (f->head + h->rows - f->filled + i) % h->rows;
}

#endif
