/*
 * family.c - the children of a family: lookup by label values, creation,
 * removal, the cardinality limit, the label-value limit (values longer than
 * the registry's label_value_max, or not UTF-8, are refused before anything
 * is stored, and counted in sonde_label_rejections_total), ownership by
 * modules, and the walk a scrape makes over them.
 *
 * Lookup is lock-free: the library's concurrent map (map.h), keyed by a hash
 * of the label values under the family's own random key, probed inside an
 * epoch read section (ebr.h). Writers (create, remove) hold the family lock;
 * removed children, their cell ids and replaced tables go to the epoch-based
 * reclamation, which frees them once no lookup can hold them. Values are
 * stored in each child as a blob of NUL-terminated strings; the hash covers
 * every value and its length, so "a","bc" and "ab","c" differ. A lookup
 * packs the values it is given into that same layout while it hashes them
 * (each short value copied and hashed from the same two 16-byte loads), so
 * that a match is one compare of two blobs. Before any of that, the typed
 * lookups (registry.c) ask the calling thread's memo of the children it last
 * found (memo.h); a child found here is remembered there with the family's
 * generation read before the probe, and every child that leaves the map
 * renews the generation.
 *
 * Children are also kept in a creation-ordered list, the order of the
 * exposition, which scrapes walk without the lock: next pointers are
 * published with release stores, a removed child keeps its next pointer, and
 * while any scrape is walking (readers > 0) removed children wait on a
 * pending list instead of being retired, so a walker standing on one, or on
 * a chain of them, never reaches freed memory. A walk visits at most as many
 * children as the family had when it began: all of them when nothing is
 * removed meanwhile (the ones created after are appended behind them), and
 * it is bounded whatever happens.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "internal.h"
#include "memo.h"

/* A tuple of label values as a lookup compares it with children: packed the way a child
 * stores them (each value and its NUL, back to back), so that it is compared with a child's
 * blob in one pass. Up to 31 bytes a value, any tuple fits in buf (label_count <=
 * SONDE_MAX_LABELS); longer tuples are packed on the heap. */
typedef struct child_key {
    const char *blob; /* buf, or heap */
    size_t total;     /* the blob length */
    uint64_t hash;
    char *heap;
    char buf[SONDE_MAX_LABELS * 32];
} child_key;

#if SONDE_WORDS_OVERREAD && defined(__x86_64__)
/* Copy a value to dst (32 bytes of room) with two 16-byte loads and stores when its NUL is
 * among the first 32 bytes at an index that the mask keep marks (bit i: index i; a value
 * longer than a family's value_max is left to the caller's slow path this way),
 * and feed it to h from the loaded registers (the hash does not read back what was just
 * stored): the loads may pass the value's end within its page (words.h), and the bytes stored
 * past the NUL are overwritten by the next value or lie past the blob. Returns the length, or
 * SIZE_MAX (nothing fed) for any other value, one near the end of a page, or NULL. */
static inline size_t pack_short(sonde_hasher *h, char *dst, const char *v, unsigned keep,
                                sonde_memo_value *copy)
{
    /* one test for a NULL value and for 32 bytes that could cross a page: v - 1 wraps to the
     * end of a page for NULL (a value that starts a page is sent to the slow path too) */
    if (__builtin_expect((((uintptr_t)v - 1) & 4095) >= 4096 - 32, 0))
        return SIZE_MAX;
    __asm__("" : "+r"(v));
    __m128i lo = _mm_loadu_si128((const __m128i *)v), hi = _mm_loadu_si128((const __m128i *)(v + 16));
    __m128i zero = _mm_setzero_si128();
    unsigned z = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(lo, zero)) |
                 (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(hi, zero)) << 16;
    if (__builtin_expect(!(z & keep), 0)) /* no NUL in the first 32 bytes, or past keep's */
        return SIZE_MAX;
    size_t n = (size_t)__builtin_ctzll(z);
    _mm_storeu_si128((__m128i *)dst, lo);
    _mm_storeu_si128((__m128i *)(dst + 16), hi);
    if (copy)
        sonde_memo_set(copy, n, lo, hi);
    sonde_hasher_loaded(h, v, n, lo);
    return n;
}
#define PACK_FILLS_MEMO 1
#else
static inline size_t pack_short(sonde_hasher *h, char *dst, const char *v, unsigned keep,
                                sonde_memo_value *copy)
{
    (void)h;
    (void)dst;
    (void)v;
    (void)keep;
    (void)copy;
    return SIZE_MAX;
}
#define PACK_FILLS_MEMO 0
#endif

static inline void key_done(child_key *k)
{
    if (__builtin_expect(k->heap != NULL, 0))
        free(k->heap);
}

/* key_init for what its straight loop does not take, from the start: a missing value, one
 * longer than value_max, one too long for the loop or near the end of a page (measured,
 * hashed and copied here), a tuple longer than buf (packed on the heap). SONDE_ELABELS,
 * SONDE_ETOOLONG (before anything is allocated: hostile lengths cost no memory) or
 * SONDE_ENOMEM with nothing held, else SONDE_OK. */
static __attribute__((noinline)) int key_init_slow(const sonde_family *f, const char *const *values,
                                                   child_key *k)
{
    size_t n = f->label_count, need = 0;
    int too_long = 0;
    if (n && !values)
        return SONDE_ELABELS;
    for (size_t i = 0; i < n; i++) {
        if (!values[i])
            return SONDE_ELABELS;
        size_t len = strlen(values[i]);
        too_long |= len > f->value_max;
        need += len + 1;
    }
    if (too_long)
        return SONDE_ETOOLONG;
    char *blob = k->buf;
    if (need > sizeof k->buf && !(blob = k->heap = malloc(need)))
        return SONDE_ENOMEM;
    sonde_hasher h;
    sonde_map_hasher(&f->children, &h);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = sonde_hasher_cstr(&h, values[i]);
        memcpy(blob + at, values[i], len + 1);
        at += len + 1;
    }
    k->blob = blob;
    k->total = at;
    k->hash = sonde_hasher_end(&h);
    return SONDE_OK;
}

/* Pack and hash (with the family's map key, hash.h) the label values: SONDE_ELABELS when
 * values or one of them is missing, SONDE_ETOOLONG when one is longer than the family's
 * value_max (no child holds such a value), SONDE_ENOMEM. A value of up to 31 bytes is
 * measured and hashed from the loads that copy it; nothing else is checked here: a lookup
 * that finds a child compares the values with ones that were checked when it was stored; a
 * miss checks them (child_insert). key_done() releases a key that key_init() returned
 * SONDE_OK for. With memo not NULL (an entry of the calling thread's memo, emptied, for a
 * family of at most SONDE_MEMO_LABELS labels), the straight loop also copies each value into
 * the entry and sets *filled, for sonde_family_child to complete the entry; inlined with memo
 * a constant, so that each loop has no test of it. */
static inline __attribute__((always_inline)) int key_pack(const sonde_family *f, const char *const *values,
                                                          child_key *k, sonde_memo_entry *memo, int *filled)
{
    size_t n = f->label_count, at = 0;
    k->heap = NULL;
    k->blob = k->buf;
    if (__builtin_expect(!values || n > SONDE_MAX_LABELS, 0)) /* registration refuses more: buf's bound */
        return key_init_slow(f, values, k);
    sonde_hasher h;
    sonde_map_hasher(&f->children, &h);
    /* the NUL of a value of up to min(value_max, 31) bytes at one of these indexes */
    unsigned keep = f->value_max >= 31 ? ~0u : (2u << f->value_max) - 1;
    sonde_memo_value *copy = memo ? memo->value : NULL;
    for (size_t i = 0; i < n; i++) {
        const char *v = values[i];
        size_t len;
        if (__builtin_expect((len = pack_short(&h, k->buf + at, v, keep, copy)) == SIZE_MAX, 0))
            return key_init_slow(f, values, k);
        if (memo)
            copy++;
        at += len + 1;
    }
    k->total = at;
    k->hash = sonde_hasher_end(&h);
    if (memo)
        *filled = 1;
    return SONDE_OK;
}

static inline int key_init(const sonde_family *f, const char *const *values, child_key *k)
{
    return key_pack(f, values, k, NULL, NULL);
}

/* Equality of two byte strings of length n; label values are short, so overlapping
 * word loads (as the hash reads them, hash.h) beat a memcmp call and a byte loop. */
static inline int same_bytes(const char *a, const char *b, size_t n)
{
    if (n >= 8) {
        for (size_t i = 0; i + 8 < n; i += 8)
            if (sonde_read64(a + i) != sonde_read64(b + i))
                return 0;
        return sonde_read64(a + n - 8) == sonde_read64(b + n - 8);
    }
    if (n >= 4)
        return sonde_read32(a) == sonde_read32(b) && sonde_read32(a + n - 4) == sonde_read32(b + n - 4);
    return n == 0 || (a[0] == b[0] && a[n >> 1] == b[n >> 1] && a[n - 1] == b[n - 1]);
}

#if defined(__SSE2__)
static inline int same_16(const char *a, const char *b)
{
    __m128i x = _mm_loadu_si128((const __m128i *)a), y = _mm_loadu_si128((const __m128i *)b);
    return _mm_movemask_epi8(_mm_cmpeq_epi8(x, y)) == 0xffff;
}
#endif

/* Equality of a child's blob and a key's, n bytes each: 16 bytes at a time where SSE2 has
 * the compares (overlapping at the end, as same_bytes does by words). */
static inline int same_blob(const char *a, const char *b, size_t n)
{
#if defined(__SSE2__)
    if (n >= 16) {
        if (__builtin_expect(n > 32, 0))
            for (size_t i = 16; i + 16 < n; i += 16)
                if (!same_16(a + i, b + i))
                    return 0;
        return same_16(a, b) & same_16(a + n - 16, b + n - 16);
    }
#endif
    return same_bytes(a, b, n);
}

static inline int child_matches(const void *entry, const void *key)
{
    const sonde_child *c = entry;
    const child_key *k = key;
    return k->total == c->blob_len && same_blob(c->blob, k->blob, k->total);
}

static sonde_child *table_find(const sonde_family *f, const child_key *k)
{
    return sonde_map_find(&f->children, k->hash, child_matches, k);
}

static sonde_child *child_new(sonde_family *f, const child_key *k)
{
    sonde_child *c = calloc(1, sizeof *c + k->total);
    if (!c)
        return NULL;
    c->fam = f;
    c->hash = k->hash;
    c->blob_len = (uint32_t)k->total;
    memcpy(c->blob, k->blob, k->total);
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
    sonde_child_cells_release(c);
    sonde_child_values_free(c);
    sonde_defer_free(c);
}

/* Append under the lock; a scrape walking the list sees c once the release store lands. */
static void list_append(sonde_family *f, sonde_child *c)
{
    c->prev = f->last;
    atomic_store_explicit(&c->next, NULL, memory_order_relaxed);
    if (f->last)
        atomic_store_explicit(&f->last->next, c, memory_order_release);
    else
        atomic_store_explicit(&f->first, c, memory_order_release);
    f->last = c;
    f->count++;
}

/* Unlink under the lock. c->next is left as it is, so that a scrape standing on c
 * walks on to the rest of the list. */
static void list_unlink(sonde_family *f, sonde_child *c)
{
    sonde_child *next = atomic_load_explicit(&c->next, memory_order_relaxed);
    if (c->prev)
        atomic_store_explicit(&c->prev->next, next, memory_order_release);
    else
        atomic_store_explicit(&f->first, next, memory_order_release);
    if (next)
        next->prev = c->prev;
    else
        f->last = c->prev;
    f->count--;
}

int sonde_family_init_children(sonde_family *f)
{
    uint64_t gen = sonde_memo_generation();
    atomic_store_explicit(&f->gen, gen, memory_order_relaxed);
    f->memo_at = sonde_memo_at(gen);
    if (pthread_mutex_init(&f->lock, NULL))
        return SONDE_ENOMEM;
    if (sonde_internal_map_init(&f->children, SIZE_MAX, 0)) { /* the family enforces its limit */
        pthread_mutex_destroy(&f->lock);
        return SONDE_ENOMEM;
    }
    child_key none;
    if (f->label_count == 0 && key_init(f, NULL, &none) == SONDE_OK) {
        f->solo = child_new(f, &none);
        key_done(&none);
        if (!f->solo) { /* undo: the caller frees a family whose children never existed */
            sonde_internal_map_destroy(&f->children, NULL);
            pthread_mutex_destroy(&f->lock);
            return SONDE_ENOMEM;
        }
        sonde_internal_map_put(&f->children, f->solo);
        list_append(f, f->solo);
    }
    return SONDE_OK;
}

static void retire_pending(sonde_child *c)
{
    for (sonde_child *next; c; c = next) {
        next = c->prev;
        child_retire(c);
    }
}

/* Under the lock, after a child left the map: the lookup memos stop handing it out (memo.h). */
static void renew_generation(sonde_family *f)
{
    atomic_store_explicit(&f->gen, sonde_memo_generation(), memory_order_release);
}

void sonde_family_destroy_children(sonde_family *f)
{
    renew_generation(f);
    for (sonde_child *c = atomic_load_explicit(&f->first, memory_order_relaxed), *next; c; c = next) {
        next = atomic_load_explicit(&c->next, memory_order_relaxed);
        child_retire(c);
    }
    retire_pending(f->pending);
    if (f->noop)
        child_retire(f->noop);
    atomic_store_explicit(&f->first, NULL, memory_order_relaxed);
    f->last = f->noop = f->solo = f->pending = NULL;
    sonde_internal_map_destroy(&f->children, NULL);
    sonde_ebr_reclaim();
    pthread_mutex_destroy(&f->lock);
}

sonde_child *sonde_family_find(sonde_family *f, const char *const *values)
{
    child_key k;
    if (key_init(f, values, &k))
        return NULL;
    sonde_ebr_enter();
    sonde_child *c = table_find(f, &k);
    if (c)
        sonde_ebr_test_point(c);
    sonde_ebr_leave();
    key_done(&k);
    return c;
}

/* The overflow child: a real child that is never linked into the exposition. */
static sonde_child *noop_child(sonde_family *f, const child_key *k)
{
    if (!f->noop)
        f->noop = child_new(f, k);
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
        f->rejections = sonde_family_child(rej, values).child;
    }
    sonde_counter_inc((sonde_counter *)f->rejections);
}

void sonde_label_rejection_count(sonde_registry *reg, const char *family, const char *reason)
{
    sonde_family *rej = reg->label_rejections;
    if (!rej)
        return;
    sonde_child_rc c = sonde_family_child(rej, (const char *[]){family, reason});
    if (c.rc == SONDE_OK)
        sonde_counter_inc((sonde_counter *)c.child);
}

/* A label value refused before it reached family f (the rejections family never refuses
 * its own, whose values are registered names); no lock of f is held. */
static void count_label_rejection(sonde_family *f, const char *reason)
{
    if (f != f->reg->label_rejections)
        sonde_label_rejection_count(f->reg, f->name, reason);
}

void sonde_internal_label_rejected(sonde_metric *m, const char *reason)
{
    if (m && reason)
        count_label_rejection((sonde_family *)m, reason);
}

/* A tuple that no lookup found (its values no longer than value_max, key_init): refuse a
 * value that is not UTF-8 (counted in sonde_label_rejections_total), else create the child
 * under the family lock, or hand out the overflow child past the limit. */
static int child_insert(sonde_family *f, const child_key *k, sonde_child **out)
{
    for (const char *p = k->blob, *end = k->blob + k->total; p < end;) {
        size_t len = strlen(p);
        if (!sonde_valid_utf8(p, len)) {
            count_label_rejection(f, "invalid_utf8");
            return SONDE_EUTF8;
        }
        p += len + 1;
    }

    int rc;
    pthread_mutex_lock(&f->lock);
    sonde_child *c = table_find(f, k);
    if (c) {
        rc = SONDE_OK;
    } else if (f->count >= f->limit) {
        c = noop_child(f, k);
        rc = c ? SONDE_ELIMIT : SONDE_ENOMEM;
        count_rejection(f);
    } else if (!(c = child_new(f, k))) {
        rc = SONDE_ENOMEM;
    } else if ((rc = sonde_internal_map_put(&f->children, c))) {
        child_retire(c);
        c = NULL;
    } else {
        list_append(f, c);
    }
    pthread_mutex_unlock(&f->lock);
    *out = c;
    return rc;
}

/* The calling thread's memo entry for f (of generation gen), emptied, for key_pack() to fill
 * while it packs the values; NULL when f has more labels than an entry holds, when the
 * values cannot be copied that way in this build, while f rests (memo.h), or without
 * memory. */
static inline sonde_memo_entry *memo_entry(const sonde_family *f, uint64_t gen)
{
    if (!PACK_FILLS_MEMO || f->label_count > SONDE_MEMO_LABELS)
        return NULL;
    sonde_memo *m = sonde_tls_memo;
    sonde_memo_entry *e = __builtin_expect(m != NULL, 1) ? (sonde_memo_entry *)((char *)m + f->memo_at)
                                                        : sonde_memo_entry_for_fill(f->memo_at);
    return e && sonde_memo_admit(e, gen) ? e : NULL;
}

/* Complete entry e (emptied, for a family of at most SONDE_MEMO_LABELS labels) with c, the
 * child of the values of k found at generation gen, when every value fits an entry. */
static void memo_copy(sonde_memo_entry *e, size_t n, uint64_t gen, const child_key *k, sonde_child *c)
{
    const char *p = k->blob;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(p);
        if (len >= SONDE_MEMO_VALUE)
            return;
        memcpy(e->value[i].bytes, p, len + 1);
        memcpy(e->value[i].skip, sonde_memo_skips + SONDE_MEMO_VALUE - 1 - len, SONDE_MEMO_VALUE);
        p += len + 1;
    }
    e->gen = gen;
    e->child = c;
}

/* Where the values were not copied while packed (builds that do not read past a string's
 * end, words.h): remember c as the calling thread's child of f for the values of k, found at
 * generation gen, when they fit an entry. */
static void memo_fill(const sonde_family *f, uint64_t gen, const child_key *k, sonde_child *c)
{
    size_t n = f->label_count;
    if (PACK_FILLS_MEMO || n > SONDE_MEMO_LABELS)
        return;
    sonde_memo_entry *e = sonde_memo_entry_for_fill(f->memo_at);
    if (e && sonde_memo_admit(e, gen))
        memo_copy(e, n, gen, k, c);
}

sonde_child_rc sonde_family_child(sonde_family *f, const char *const *values)
{
    child_key k;
    /* read before the probe: a child found is one that had not left the map at this
     * generation (memo.h) */
    uint64_t gen = atomic_load_explicit(&f->gen, memory_order_acquire);
    sonde_memo_entry *memo = memo_entry(f, gen);
    int filled = 0, rc = memo ? key_pack(f, values, &k, memo, &filled) : key_init(f, values, &k);
    if (__builtin_expect(rc != SONDE_OK, 0)) {
        if (rc == SONDE_ETOOLONG)
            count_label_rejection(f, "too_long");
        return (sonde_child_rc){NULL, rc};
    }
    uint64_t hash = k.hash; /* in a register across the enter's compiler fence */
    sonde_ebr_enter();
    sonde_child *c = sonde_map_find(&f->children, hash, child_matches, &k);
    if (__builtin_expect(c != NULL, 1)) {
        sonde_ebr_test_point(c);
        sonde_ebr_leave();
    } else {
        sonde_ebr_leave();
        rc = child_insert(f, &k, &c);
    }
    if (rc == SONDE_OK) { /* not the overflow child (SONDE_ELIMIT) */
        if (filled) { /* nothing since key_pack used this thread's memo */
            memo->gen = gen;
            memo->child = c;
        } else if (memo) { /* key_pack took its slow path (a value near a page's end, ...) */
            memo_copy(memo, f->label_count, gen, &k, c);
        } else {
            memo_fill(f, gen, &k, c);
        }
    }
    key_done(&k);
    return (sonde_child_rc){c, rc};
}

/* Under the lock: out of the map and the list; retired now, or when the last scrape
 * walking the list leaves it (pending, linked through prev, which walkers never read). */
static void remove_locked(sonde_family *f, sonde_child *c)
{
    sonde_internal_map_remove(&f->children, c);
    renew_generation(f);
    list_unlink(f, c);
    if (f->readers) {
        c->prev = f->pending;
        f->pending = c;
    } else {
        child_retire(c);
    }
}

/* Refused for a family a module owns: its handles are cached there. */
static int check_not_owned(sonde_family *f)
{
    return atomic_load_explicit(&f->owners, memory_order_acquire) ? SONDE_EBUSY : SONDE_OK;
}

int sonde_family_remove(sonde_family *f, const char *const *values)
{
    child_key k;
    int rc = key_init(f, values, &k);
    if (rc == SONDE_ETOOLONG)
        return SONDE_ENOENT; /* no child holds such a value */
    if (rc)
        return rc;
    pthread_mutex_lock(&f->lock);
    sonde_child *c = table_find(f, &k);
    if (c)
        remove_locked(f, c);
    pthread_mutex_unlock(&f->lock);
    key_done(&k);
    return c ? SONDE_OK : SONDE_ENOENT;
}

int sonde_metric_remove(sonde_metric *m, const char *const *values)
{
    sonde_family *f = (sonde_family *)m;
    if (!f)
        return SONDE_OK; /* a NULL family is a no-op */
    if (f->label_count == 0)
        return SONDE_EINVAL; /* the built-in child of an unlabelled family stays */
    int rc = check_not_owned(f);
    return rc ? rc : sonde_family_remove(f, values);
}

int sonde_metric_clear(sonde_metric *m)
{
    sonde_family *f = (sonde_family *)m;
    if (!f)
        return SONDE_OK; /* a NULL family (disabled registry) is a no-op */
    int rc = check_not_owned(f);
    if (rc || f->label_count == 0)
        return rc;
    pthread_mutex_lock(&f->lock);
    sonde_child *c;
    while ((c = atomic_load_explicit(&f->first, memory_order_relaxed)))
        remove_locked(f, c);
    pthread_mutex_unlock(&f->lock);
    sonde_ebr_reclaim();
    return SONDE_OK;
}

void sonde_internal_metric_own(sonde_metric *m)
{
    if (m)
        atomic_fetch_add_explicit(&((sonde_family *)m)->owners, 1, memory_order_acq_rel);
}

void sonde_internal_metric_disown(sonde_metric *m)
{
    if (m)
        atomic_fetch_sub_explicit(&((sonde_family *)m)->owners, 1, memory_order_acq_rel);
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

/* ---- scrapes: the list walked without the lock ---------------------- */

void sonde_family_walk_begin(sonde_family *f, sonde_family_walk *w)
{
    pthread_mutex_lock(&f->lock);
    f->readers++;
    w->next = atomic_load_explicit(&f->first, memory_order_relaxed);
    w->left = f->count;
    pthread_mutex_unlock(&f->lock);
}

void sonde_family_walk_end(sonde_family *f)
{
    sonde_child *pending = NULL;
    pthread_mutex_lock(&f->lock);
    if (--f->readers == 0) {
        pending = f->pending;
        f->pending = NULL;
    }
    pthread_mutex_unlock(&f->lock);
    retire_pending(pending);
}
