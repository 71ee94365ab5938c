/*
 * family.c - the children of a family: lookup by label values, creation,
 * removal, the cardinality limit and the label-value limit (values longer
 * than the registry's label_value_max, or not UTF-8, are refused before
 * anything is stored, and counted in sonde_label_rejections_total).
 *
 * Lookup is lock-free: an open-addressing hash table of child pointers that
 * readers probe with acquire loads inside an epoch read section (ebr.h).
 * Writers (create, remove, resize) hold the family lock, publish with
 * release stores, leave a tombstone where a child was removed, and hand
 * replaced tables, removed children and their cell ids to the epoch-based
 * reclamation, which frees them once no lookup can hold them. Values
 * are stored in each child as a blob of NUL-terminated strings; the hash
 * covers every value and its length, so "a","bc" and "ab","c" differ.
 *
 * Children are also kept in a creation-ordered list, which is the order of
 * the exposition.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define TOMBSTONE ((sonde_child *)1)

typedef struct child_table {
    size_t mask;   /* capacity - 1, capacity a power of two */
    size_t used;   /* children + tombstones */
    _Atomic(sonde_child *) slot[];
} child_table;

static child_table *table_new(size_t capacity)
{
    child_table *t = calloc(1, sizeof *t + capacity * sizeof t->slot[0]);
    if (t)
        t->mask = capacity - 1;
    return t;
}

/* Hash of the label values (hash.h); lens[i] receives strlen(values[i]). */
static uint64_t hash_values(const char *const *values, size_t n, size_t *lens)
{
    uint64_t h = 0x243F6A8885A308D3ull ^ n;
    for (size_t i = 0; i < n; i++) {
        lens[i] = strlen(values[i]);
        h = sonde_hash_bytes(h, values[i], lens[i]);
    }
    return sonde_hash_end(h);
}

/* Equality of two byte strings of length n; label values are short, so a
 * word-at-a-time loop with an overlapping last word beats a memcmp call. */
static inline int same_bytes(const char *a, const char *b, size_t n)
{
    if (n < 8) {
        for (size_t i = 0; i < n; i++)
            if (a[i] != b[i])
                return 0;
        return 1;
    }
    uint64_t x, y;
    for (size_t i = 0; i + 8 < n; i += 8) {
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y)
            return 0;
    }
    memcpy(&x, a + n - 8, 8);
    memcpy(&y, b + n - 8, 8);
    return x == y;
}

static int child_matches(const sonde_child *c, uint64_t hash, const char *const *values, size_t n,
                         const size_t *lens)
{
    if (c->hash != hash)
        return 0;
    size_t total = 0; /* equal totals keep every read below inside the blob */
    for (size_t i = 0; i < n; i++)
        total += lens[i] + 1;
    if (total != c->blob_len)
        return 0;
    const char *p = c->blob;
    for (size_t i = 0; i < n; i++) {
        if (p[lens[i]] != '\0' || !same_bytes(p, values[i], lens[i]))
            return 0;
        p += lens[i] + 1;
    }
    return 1;
}

static sonde_child *table_find(const child_table *t, uint64_t hash, const char *const *values,
                               size_t n, const size_t *lens)
{
    for (size_t i = hash & t->mask;; i = (i + 1) & t->mask) {
        sonde_child *c = atomic_load_explicit(&t->slot[i], memory_order_acquire);
        if (!c)
            return NULL;
        if (c != TOMBSTONE && child_matches(c, hash, values, n, lens))
            return c;
    }
}

static void table_put(child_table *t, sonde_child *c)
{
    size_t i = c->hash & t->mask;
    for (;;) {
        sonde_child *s = atomic_load_explicit(&t->slot[i], memory_order_relaxed);
        if (!s) {
            t->used++;
            break;
        }
        if (s == TOMBSTONE)
            break;
        i = (i + 1) & t->mask;
    }
    atomic_store_explicit(&t->slot[i], c, memory_order_release);
}

/* Grow (or rebuild without tombstones, maybe smaller) so that one more child fits at load
 * <= 1/2: the new table is the smallest that holds the children at load <= 3/8, so a
 * growing family doubles its table, keeps a load between 1/4 and 1/2 (8 bytes a slot: 16 to
 * 32 a child), and a rebuild always leaves room for cap/8 inserts before the next. */
static int table_reserve(sonde_family *f)
{
    child_table *t = atomic_load_explicit(&f->table, memory_order_relaxed);
    if ((t->used + 1) * 2 <= t->mask + 1)
        return SONDE_OK;
    size_t cap = 8;
    while ((f->count + 1) * 8 > cap * 3)
        cap *= 2;
    child_table *nt = table_new(cap);
    if (!nt)
        return SONDE_ENOMEM;
    for (sonde_child *c = f->first; c; c = c->next)
        table_put(nt, c);
    atomic_store_explicit(&f->table, nt, memory_order_release);
    sonde_defer_free(t);
    sonde_ebr_reclaim(); /* a table is big: free it as soon as no lookup holds it */
    return SONDE_OK;
}

static sonde_child *child_new(sonde_family *f, const char *const *values, const size_t *lens,
                              uint64_t hash)
{
    size_t blob = 0;
    for (size_t i = 0; i < f->label_count; i++)
        blob += lens[i] + 1;
    sonde_child *c = calloc(1, sizeof *c + blob);
    if (!c)
        return NULL;
    c->fam = f;
    c->hash = hash;
    c->blob_len = (uint32_t)blob;
    char *p = c->blob;
    for (size_t i = 0; i < f->label_count; i++) {
        memcpy(p, values[i], lens[i] + 1);
        p += lens[i] + 1;
    }
    c->created = sonde_wall_seconds();
    if (sonde_child_values_init(c)) {
        free(c);
        return NULL;
    }
    return c;
}

/* Removal: values and memory are reclaimed once no reader can hold them (ebr.h). */
static void child_retire(sonde_child *c)
{
    if (c->fam->cells_per_child)
        sonde_cells_release(c->cell, c->fam->cells_per_child);
    sonde_child_values_free(c);
    sonde_defer_free(c);
}

static void list_append(sonde_family *f, sonde_child *c)
{
    c->prev = f->last;
    c->next = NULL;
    if (f->last)
        f->last->next = c;
    else
        f->first = c;
    f->last = c;
    f->count++;
}

static void list_unlink(sonde_family *f, sonde_child *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        f->first = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        f->last = c->prev;
    f->count--;
}

int sonde_family_init_children(sonde_family *f)
{
    if (pthread_mutex_init(&f->lock, NULL))
        return SONDE_ENOMEM;
    child_table *t = table_new(8);
    if (!t) {
        pthread_mutex_destroy(&f->lock);
        return SONDE_ENOMEM;
    }
    atomic_store_explicit(&f->table, t, memory_order_relaxed);
    static const char *const none[1] = {NULL};
    size_t lens[1];
    if (f->label_count == 0) {
        f->solo = child_new(f, none, lens, hash_values(none, 0, lens));
        if (!f->solo) { /* undo: the caller frees a family whose children never existed */
            atomic_store_explicit(&f->table, NULL, memory_order_relaxed);
            free(t);
            pthread_mutex_destroy(&f->lock);
            return SONDE_ENOMEM;
        }
        table_put(t, f->solo);
        list_append(f, f->solo);
    }
    return SONDE_OK;
}

void sonde_family_destroy_children(sonde_family *f)
{
    for (sonde_child *c = f->first, *next; c; c = next) {
        next = c->next;
        child_retire(c);
    }
    if (f->noop)
        child_retire(f->noop);
    f->first = f->last = f->noop = f->solo = NULL;
    sonde_defer_free(atomic_load_explicit(&f->table, memory_order_relaxed));
    sonde_ebr_reclaim();
    pthread_mutex_destroy(&f->lock);
}

static int check_values(const sonde_family *f, const char *const *values)
{
    if (f->label_count && !values)
        return SONDE_ELABELS;
    for (size_t i = 0; i < f->label_count; i++) {
        if (!values[i])
            return SONDE_ELABELS;
    }
    return SONDE_OK;
}

sonde_child *sonde_family_find(sonde_family *f, const char *const *values)
{
    if (check_values(f, values))
        return NULL;
    size_t lens[SONDE_MAX_LABELS];
    uint64_t h = hash_values(values, f->label_count, lens);
    sonde_ebr_enter();
    sonde_child *c = table_find(atomic_load_explicit(&f->table, memory_order_acquire), h, values,
                                f->label_count, lens);
    if (c)
        sonde_ebr_test_point(c);
    sonde_ebr_leave();
    return c;
}

/* The overflow child: a real child that is never linked into the exposition. */
static sonde_child *noop_child(sonde_family *f, const char *const *values, const size_t *lens)
{
    if (!f->noop)
        f->noop = child_new(f, values, lens, 0);
    return f->noop;
}

/* Count a refused tuple in sonde_cardinality_rejections_total{metric=<family>}. Lock order:
 * this family's lock, then the rejections family's (which is never limited). */
static void count_rejection(sonde_family *f)
{
    sonde_family *rej = f->reg->rejections;
    if (!rej || rej == f)
        return;
    if (!f->rejections) {
        const char *values[1] = {f->name};
        sonde_family_child(rej, values, &f->rejections);
    }
    sonde_counter_inc((sonde_counter *)f->rejections);
}

/* Count a refused label value in sonde_label_rejections_total{metric=<family>,reason}, through
 * that family's own lock (never limited); no lock of f is held. */
static void count_label_rejection(sonde_family *f, const char *reason)
{
    sonde_family *rej = f->reg->label_rejections;
    sonde_child *c;
    if (rej && rej != f && sonde_family_child(rej, (const char *[]){f->name, reason}, &c) == SONDE_OK)
        sonde_counter_inc((sonde_counter *)c);
}

int sonde_family_child(sonde_family *f, const char *const *values, sonde_child **out)
{
    *out = NULL;
    int rc = check_values(f, values);
    if (rc)
        return rc;
    size_t lens[SONDE_MAX_LABELS];
    uint64_t h = hash_values(values, f->label_count, lens);
    for (size_t i = 0; i < f->label_count; i++)
        if (lens[i] > f->value_max) { /* never stored, so never in the table */
            count_label_rejection(f, "too_long");
            return SONDE_ETOOLONG;
        }
    sonde_ebr_enter();
    sonde_child *c = table_find(atomic_load_explicit(&f->table, memory_order_acquire), h, values,
                                f->label_count, lens);
    if (c) {
        sonde_ebr_test_point(c);
        sonde_ebr_leave();
        *out = c;
        return SONDE_OK;
    }
    sonde_ebr_leave();
    for (size_t i = 0; i < f->label_count; i++)
        if (!sonde_valid_utf8(values[i], lens[i])) {
            count_label_rejection(f, "invalid_utf8");
            return SONDE_EUTF8;
        }

    pthread_mutex_lock(&f->lock);
    c = table_find(atomic_load_explicit(&f->table, memory_order_relaxed), h, values,
                   f->label_count, lens);
    if (c) {
        rc = SONDE_OK;
    } else if (f->count >= f->limit) {
        c = noop_child(f, values, lens);
        rc = c ? SONDE_ELIMIT : SONDE_ENOMEM;
        count_rejection(f);
    } else if ((rc = table_reserve(f)) == SONDE_OK) {
        c = child_new(f, values, lens, h);
        if (c) {
            list_append(f, c);
            table_put(atomic_load_explicit(&f->table, memory_order_relaxed), c);
        } else {
            rc = SONDE_ENOMEM;
        }
    }
    pthread_mutex_unlock(&f->lock);
    *out = c;
    return rc;
}

static void unlink_child_locked(sonde_family *f, sonde_child *c)
{
    child_table *t = atomic_load_explicit(&f->table, memory_order_relaxed);
    for (size_t i = c->hash & t->mask;; i = (i + 1) & t->mask) {
        if (atomic_load_explicit(&t->slot[i], memory_order_relaxed) == c) {
            atomic_store_explicit(&t->slot[i], TOMBSTONE, memory_order_release);
            break;
        }
    }
    list_unlink(f, c);
}

int sonde_metric_remove(sonde_metric *m, const char *const *values)
{
    sonde_family *f = (sonde_family *)m;
    if (!f)
        return SONDE_OK; /* a NULL family is a no-op */
    if (f->label_count == 0)
        return SONDE_EINVAL; /* the built-in child of an unlabelled family stays */
    int rc = check_values(f, values);
    if (rc)
        return rc;
    size_t lens[SONDE_MAX_LABELS];
    uint64_t h = hash_values(values, f->label_count, lens);
    pthread_mutex_lock(&f->lock);
    sonde_child *c = table_find(atomic_load_explicit(&f->table, memory_order_relaxed), h, values,
                                f->label_count, lens);
    if (c) {
        unlink_child_locked(f, c);
        child_retire(c);
    }
    pthread_mutex_unlock(&f->lock);
    return c ? SONDE_OK : SONDE_ENOENT;
}

void sonde_metric_clear(sonde_metric *m)
{
    sonde_family *f = (sonde_family *)m;
    if (!f || f->label_count == 0)
        return;
    pthread_mutex_lock(&f->lock);
    while (f->first) {
        sonde_child *c = f->first;
        unlink_child_locked(f, c);
        child_retire(c);
    }
    pthread_mutex_unlock(&f->lock);
    sonde_ebr_reclaim();
}

size_t sonde_metric_child_count(const sonde_metric *m)
{
    sonde_family *f = (sonde_family *)m;
    if (!f)
        return 0;
    pthread_mutex_lock(&f->lock);
    size_t n = f->count;
    pthread_mutex_unlock(&f->lock);
    return n;
}
