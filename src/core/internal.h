/*
 * internal.h - the private data model of the core, shared by its files.
 *
 * registry -> families (sorted array, guarded by the registry lock; a scrape
 *             copies it and holds a reference on each family)
 *          -> children (map.h for lock-free lookup + creation-ordered list
 *             that scrapes walk without a lock, both written under the
 *             family lock) -> values (cells in a bounded pool of arenas for
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
 * Lock order: collector lock, registry lock, family lock, then the cell
 * pool's lock or the reclamation lock (never both). A scrape holds each only
 * for a bounded step (copying the family array, entering or leaving a
 * family's list), never while it formats or writes: see expose.c.
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
#include "native.h"
#include "sonde/sonde.h"

#define SONDE_MAX_BUCKETS 1000
/* Histograms with fewer bounds than this keep their bounds array padded to this length with
 * +Inf, which no value is above: histogram.c counts the bounds below a value over all of them
 * without a branch. */
#define SONDE_BOUNDS_SCAN 16
#define SONDE_MAX_STATES 64
#define SONDE_MAX_LABELS 64
#define SONDE_MAX_QUANTILES 64
#define SONDE_MAX_AGE_SECONDS 1e9 /* a summary window longer than ~31 years is a mistake */

struct summary_state; /* summary.c */

/* The bucket of an observation in one table lookup and one compare (buckets.c). The cells
 * of the table cut the doubles at SONDE_BUCKET_CELL_SHIFT of their bits: four cells per
 * power of two. Cell k of the table is cell lo + k of that cut, and the end cells stretch
 * to -Inf and +Inf: an observation is first clamped to [min, max], the lowest double of
 * cell lo and the highest of the top cell (two SSE2 instructions, no branch). Every cell
 * holds at most one bound, so the bucket of v in cell lo + k is slots[k].below (the bounds
 * in the cells before it) plus one when v (unclamped) is above slots[k].bound (the first
 * bound from cell k on, bounds[below]): both from one 16-byte slot, so the lookup reads no
 * other array. at is the address of slots minus lo slots, so that the cell of the clamped
 * value indexes it directly. slots is NULL and at 0 when the bounds do not fit (a negative
 * bound, two bounds in one cell, more than SONDE_BUCKET_TABLE_MAX cells) or the histogram
 * has native buckets: histogram.c then searches the bounds. */
#define SONDE_BUCKET_CELL_SHIFT 50
#define SONDE_BUCKET_TABLE_MAX 256
typedef struct sonde_bucket_slot {
    double bound;
    uint64_t below;
} sonde_bucket_slot;
_Static_assert(sizeof(sonde_bucket_slot) == 16, "the lookup scales a cell by 16");
typedef struct sonde_bucket_table {
    sonde_bucket_slot *slots;
    uintptr_t at; /* (uintptr_t)slots - lo * sizeof(sonde_bucket_slot) */
    double min, max; /* the ends observations are clamped to */
} sonde_bucket_table;

/* 56 bytes before the label values: a child of three short labels fits a 96-byte malloc chunk. */
typedef struct sonde_child {
    uint64_t hash; /* first: map.h compares it before anything else */
    struct sonde_family *fam;
    uint32_t cell;     /* counters: the integer cell (the double one mirrors it, cells.h);
                        * histograms: buckets then sum */
    uint32_t blob_len; /* label values, each NUL-terminated, back to back in blob */
    union {
        _Atomic(uint64_t) bits;        /* gauges: the double's bits */
        _Atomic(uint64_t) states;      /* statesets: one bit per state */
        struct summary_state *summary; /* summaries */
        struct sonde_native_state *native; /* histograms with native buckets (native.h) */
    } v;
    double created;   /* wall seconds at creation (OpenMetrics _created) */
    _Atomic(struct sonde_child *) next; /* creation order; scrapes walk it without the lock */
    struct sonde_child *prev;           /* under the family lock; once removed, the pending list */
    char blob[];
} sonde_child;

/* A histogram child's cell range is its sum in two halves, then one count per bucket (+Inf
 * last): c->cell names the first bucket, so bucket i is c->cell + i and the halves c->cell - 1
 * and c->cell - 2 (family cells_lead = 2), which the hot path reaches from one base with no
 * other load. An observation adds to one half, picked by its value (histogram.c: two cells
 * break the chain of adds to one word that bounded the observation rate). */
#define SONDE_HIST_SUM_CELLS 2
static inline double sonde_hist_sum(const sonde_child *c)
{
    return sonde_cells_sum_f64(c->cell - 1) + sonde_cells_sum_f64(c->cell - 2);
}

typedef struct sonde_family {
    struct sonde_registry *reg;
    sonde_type type;
    char *name;      /* family name: counters without "_total", infos without "_info" */
    char *help;
    char *unit;
    char **label_names;
    size_t label_count;
    _Atomic(uint64_t) gen; /* renewed whenever a child leaves the map: the lookup memos' check
                            * (memo.h) */
    unsigned memo_at;      /* where this family's entry is in each thread's memo */
    double *bounds;  /* histograms: bound_count bounds, padded to SONDE_BOUNDS_SCAN with +Inf */
    char **bound_text;
    size_t bound_count;
    sonde_bucket_table buckets; /* classic-only histograms: the bucket lookup of buckets.c */
    sonde_native_cfg *native; /* histograms with native buckets, else NULL */
    sonde_quantile *quantiles; /* summaries */
    size_t quantile_count;
    double max_age;
    int age_buckets;
    char **states;   /* statesets */
    size_t state_count;
    size_t limit;
    size_t value_max; /* longest label value in bytes */
    uint32_t cells_per_child;
    uint32_t cells_lead; /* cells of a child's range before c->cell: a histogram's sum */
    sonde_value_fn fn; /* scrape-time value, or NULL */
    void *fn_ud;

    pthread_mutex_t lock; /* writers of the map and the list, scrape bookkeeping, fn calls */
    sonde_map children;   /* by label values, lock-free lookup */
    _Atomic(sonde_child *) first; /* the list in creation order */
    sonde_child *last;
    size_t count;
    size_t readers;       /* scrapes walking the list now */
    sonde_child *pending; /* removed while readers > 0: retired when the last one leaves */
    atomic_size_t refs;   /* 1 while registered, + 1 per scrape holding the family */
    atomic_int owners;    /* modules that cache handles of it: clear, remove, unregister refused */
    int unregistered;     /* under lock: fn is not called any more */
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
    pthread_mutex_t lock; /* the family array */
    pthread_mutex_t collect_lock; /* the collector list; held while collectors run */
    int enabled;
    sonde_config cfg;  /* deep copy, strings owned */
    char *global_text; /* rendered global labels `a="x",b="y"`, or NULL */
    sonde_family **fams;
    size_t fam_count, fam_cap;
    sonde_collector *collectors;
    sonde_family *rejections; /* sonde_cardinality_rejections_total */
    sonde_family *label_rejections; /* sonde_label_rejections_total{metric,reason} */
    atomic_size_t remote_write_bytes; /* the last remote write encoding's size: the next
                                       * one reserves that much at once (encode_remote_write.c) */
} sonde_registry;

/* registry.c */
/* The family of that name in fams[0..n) (sorted by name); "foo_total" finds counter "foo",
 * "foo_info" finds info "foo". */
sonde_family *sonde_families_lookup(sonde_family *const *fams, size_t n, const char *name);
/* The registered families, sorted by name, each with a reference taken: the caller
 * renders them without the registry lock and hands them back to sonde_families_release. */
int sonde_registry_snapshot(sonde_registry *reg, sonde_family ***fams, size_t *n);
void sonde_families_release(sonde_family **fams, size_t n);
/* Drop the reference on one family taken like the snapshot's (series_read.c). */
void sonde_family_release(sonde_family *f);

/* family.c */
int sonde_family_init_children(sonde_family *f);
void sonde_family_destroy_children(sonde_family *f);
/* The child of these label values, created if needed; rc is SONDE_OK, or why child is NULL, or
 * SONDE_ELIMIT with the family's overflow child. Both come back in registers. */
typedef struct sonde_child_rc {
    sonde_child *child;
    int rc;
} sonde_child_rc;
sonde_child_rc sonde_family_child(sonde_family *f, const char *const *values);
sonde_child *sonde_family_find(sonde_family *f, const char *const *values);
/* Remove a child even from an owned family (the registry's own bookkeeping). */
int sonde_family_remove(sonde_family *f, const char *const *values);
/* Count a label value refused before anything was stored in
 * sonde_label_rejections_total{metric=family,reason} ("too_long", "invalid_utf8",
 * "unregistered"), through that family's own lock; family is a family's name (without a
 * counter's _total), registered or emitted by a collector. A disabled registry counts nothing. */
void sonde_label_rejection_count(sonde_registry *reg, const char *family, const char *reason);

/* A scrape's walk over a family's children in creation order, without the family lock: the
 * children it had when the walk began (and, for each one removed before the walk reached
 * it, possibly one created meanwhile: the walk visits at most as many as there were). A
 * child removed meanwhile stays readable until the walk ends. */
typedef struct sonde_family_walk {
    sonde_child *next;
    size_t left; /* the children the family had when the walk began: the most it visits */
} sonde_family_walk;
void sonde_family_walk_begin(sonde_family *f, sonde_family_walk *w);
void sonde_family_walk_end(sonde_family *f);

static inline sonde_child *sonde_family_walk_next(sonde_family_walk *w)
{
    sonde_child *c = w->next;
    if (!c || !w->left)
        return NULL;
    w->left--;
    w->next = atomic_load_explicit(&c->next, memory_order_acquire);
    return c;
}

/* values.c: value storage of one child, by family type; _free defers it (ebr.h) */
int sonde_child_values_init(sonde_child *c);
void sonde_child_values_free(sonde_child *c);
/* Give back a child's cell range (from c->cell - cells_lead), if its family has cells. */
void sonde_child_cells_release(sonde_child *c);

/* counter.c: a counter's value from its two cells */
double sonde_counter_cells_value(uint32_t cell);

/* summary.c */
struct summary_state *sonde_summary_state_new(const sonde_family *f);
void sonde_summary_state_free(void *state);
/* Snapshot for the exposition: quantile estimates into q[quantile_count], count, sum. */
void sonde_summary_snapshot(sonde_child *c, double *q, uint64_t *count, double *sum);

/* writer.c: escape a label value into out (room for 2*strlen(s)); returns the length */
size_t sonde_escape_label_value(const char *s, char *out);

/* time.c: wall-clock nanoseconds since the epoch (the fake clock of sonde_set_clock too) */
uint64_t sonde_wall_ns(void);
/* The same at the resolution of the kernel's tick (CLOCK_REALTIME_COARSE: 1 to 4 ms), read
 * for every exemplar. */
uint64_t sonde_wall_ns_coarse(void);

/* c_locale.c: the C locale object (made once), whatever the host's locale */
locale_t sonde_c_locale(void);

/* buckets.c */
int sonde_buckets_check(const double *bounds, size_t count);
/* The lookup table of n sorted bounds into *t; t->slots stays NULL when they do not fit
 * one (see sonde_bucket_table). SONDE_ENOMEM, or 0. */
int sonde_bucket_table_build(const double *bounds, size_t n, sonde_bucket_table *t);
/* The cell of v in the table's cut of the doubles (not yet offset by lo). */
static inline int64_t sonde_bucket_cell(double v)
{
    return (int64_t)sonde_double_to_bits(v) >> SONDE_BUCKET_CELL_SHIFT; /* arithmetic shift */
}

/* process.c */
int sonde_process_collect(sonde_emitter *e, void *ud);

/* config.c */
int sonde_config_copy(sonde_config *dst, const sonde_config *src);
void sonde_config_free_copy(sonde_config *c);

#endif
