/*
 * internal.h - the private data model of the core, shared by its files.
 *
 * registry -> families (sorted array, guarded by the registry lock)
 *          -> children (hash table for lock-free lookup + creation-ordered
 *             list for exposition, both guarded by the family lock for
 *             writers) -> values (cells in a bounded pool of arenas for
 *             counters and histograms, an atomic word for gauges and
 *             statesets, a locked quantile stream for summaries).
 *
 * Memory that lock-free readers may hold (children, child tables, families)
 * is freed through the epoch-based reclamation of ebr.h.
 *
 * Public handle types (sonde_counter, sonde_gauge, ...) are all a
 * struct sonde_child underneath; the public types stay incomplete so that C
 * still checks that a counter handle is not passed to a gauge function.
 *
 * Lock order: registry lock, then family lock, then the cell pool's lock or
 * the reclamation lock (never both).
 */
#ifndef SONDE_INTERNAL_H
#define SONDE_INTERNAL_H

#include <locale.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "cells.h"
#include "core_iface.h"
#include "ebr.h"
#include "sonde/sonde.h"

#define SONDE_MAX_BUCKETS 1000
#define SONDE_MAX_STATES 64
#define SONDE_MAX_LABELS 64
#define SONDE_MAX_QUANTILES 64
#define SONDE_MAX_AGE_SECONDS 1e9 /* a summary window longer than ~31 years is a mistake */

struct summary_state; /* summary.c */
struct child_table;   /* family.c */

/* 56 bytes before the label values: a child of three short labels fits a 96-byte malloc chunk. */
typedef struct sonde_child {
    struct sonde_family *fam;
    uint32_t cell;     /* counters: integer then double cell; histograms: buckets then sum */
    uint32_t blob_len; /* label values, each NUL-terminated, back to back in blob */
    union {
        _Atomic(uint64_t) bits;        /* gauges: the double's bits */
        _Atomic(uint64_t) states;      /* statesets: one bit per state */
        struct summary_state *summary; /* summaries */
    } v;
    double created;   /* wall seconds at creation (OpenMetrics _created) */
    uint64_t hash;
    struct sonde_child *next, *prev; /* creation order */
    char blob[];
} sonde_child;

typedef struct sonde_family {
    struct sonde_registry *reg;
    sonde_type type;
    char *name;      /* family name: counters without "_total", infos without "_info" */
    char *help;
    char *unit;
    char **label_names;
    size_t label_count;
    double *bounds;  /* histograms */
    char **bound_text;
    size_t bound_count;
    sonde_quantile *quantiles; /* summaries */
    size_t quantile_count;
    double max_age;
    int age_buckets;
    char **states;   /* statesets */
    size_t state_count;
    size_t limit;
    size_t value_max; /* longest label value in bytes */
    uint32_t cells_per_child;
    sonde_value_fn fn; /* scrape-time value, or NULL */
    void *fn_ud;

    pthread_mutex_t lock; /* writers of table and list, the exposition of this family */
    _Atomic(struct child_table *) table;
    sonde_child *first, *last;
    size_t count;
    sonde_child *solo;  /* the built-in child of an unlabelled family */
    sonde_child *noop;  /* where tuples past the limit land */
    sonde_child *rejections; /* sonde_cardinality_rejections_total{metric=name} */
} sonde_family;

typedef struct sonde_collector {
    struct sonde_collector *next;
    char *name;
    sonde_collect_fn fn;
    void *ud;
} sonde_collector;

typedef struct sonde_registry {
    pthread_mutex_t lock; /* families, collectors */
    int enabled;
    sonde_config cfg;  /* deep copy, strings owned */
    char *global_text; /* rendered global labels `a="x",b="y"`, or NULL */
    sonde_family **fams;
    size_t fam_count, fam_cap;
    sonde_collector *collectors;
    sonde_family *rejections; /* sonde_cardinality_rejections_total */
    sonde_family *label_rejections; /* sonde_label_rejections_total{metric,reason} */
} sonde_registry;

/* registry.c */
sonde_family *sonde_registry_lookup_locked(sonde_registry *reg, const char *name);

/* family.c */
int sonde_family_init_children(sonde_family *f);
void sonde_family_destroy_children(sonde_family *f);
int sonde_family_child(sonde_family *f, const char *const *values, sonde_child **out);
sonde_child *sonde_family_find(sonde_family *f, const char *const *values);

/* values.c: value storage of one child, by family type; _free defers it (ebr.h) */
int sonde_child_values_init(sonde_child *c);
void sonde_child_values_free(sonde_child *c);

/* counter.c: a counter's value from its two cells */
double sonde_counter_cells_value(uint32_t cell);

/* summary.c */
struct summary_state *sonde_summary_state_new(const sonde_family *f);
void sonde_summary_state_free(void *state);
/* Snapshot for the exposition: quantile estimates into q[quantile_count], count, sum. */
void sonde_summary_snapshot(sonde_child *c, double *q, uint64_t *count, double *sum);

/* writer.c: escape a label value into out (room for 2*strlen(s)); returns the length */
size_t sonde_escape_label_value(const char *s, char *out);

/* c_locale.c: the C locale object (made once), whatever the host's locale */
locale_t sonde_c_locale(void);

/* buckets.c */
int sonde_buckets_check(const double *bounds, size_t count);

/* process.c */
int sonde_process_collect(sonde_emitter *e, void *ud);

/* config.c */
int sonde_config_copy(sonde_config *dst, const sonde_config *src);
void sonde_config_free_copy(sonde_config *c);

#endif
