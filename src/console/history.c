/*
 * history.c - the console's rings of samples.
 *
 * Design. A recorded family (hfamily) keeps one ring of sample times and,
 * per recorded series (hseries), one ring of values aligned with it: row i
 * of every series of the family belongs to time t[i], so rates, sums by a
 * label and quantiles over several series combine rows without searching
 * timestamps. A counter or gauge row is its value (counters raw: rate is
 * computed at query time, resets included); a histogram row is its
 * per-bucket counts then its sum (count = the sum of the buckets), so
 * quantiles and heatmaps over any window come from row differences. A
 * series absent from a sample gets a NaN row; one absent for a whole ring
 * is dropped.
 *
 * What is recorded is a set of watches per family: label = value matchers
 * (none: every series), each with the view stamp of its last use (a counter
 * h->clock, bumped by every view). A series takes the newest stamp of the
 * watches it matches when admitted, and every later view refreshes it.
 *
 * Memory in chunks. A ring of R = nchunks x chunk_rows rows is cut in
 * nchunks chunks (HISTORY_CHUNKS of the retention, plus one); a series holds
 * an array of chunk pointers, and a chunk (chunk_rows rows of its width) is
 * allocated when the series first has a sample in its rows. The family's
 * ring of times is one array of R rows. Row r lies in chunk r / chunk_rows,
 * so the spare chunk is the one being written while the oldest still holds
 * the retention's first samples: when the head enters a chunk, the rows it
 * held are older than the retention. A series present then reuses the chunk
 * as it is (every row of an allocated chunk is written, value or NaN, before
 * a query can read it); a series absent then gives it back. So a series
 * costs its chunks in use: one when young, about retention / HISTORY_CHUNKS
 * per chunk of samples held, and fewer when sparse (a chunk it was absent
 * from at its start, and after, is never allocated). A NULL chunk reads as
 * NaN rows, what the rows of an absent series hold, so queries read the
 * same values as over one flat ring.
 *
 * Memory bound. Every allocation of the history is counted in h->bytes
 * (chunks, labels, exemplar rings, the families' time rings) and h->bytes
 * never passes max_bytes: admitting a series (or a family), or a series'
 * next chunk or first exemplar, that would pass it first evicts the series
 * viewed least recently - only series viewed strictly before the one that
 * needs the room, so two series of the same view never push each other out
 * in turn. When there is none, a newcomer is simply not recorded, and a
 * series that needs a chunk reuses its own oldest one (its history then
 * reaches less far back than the retention; one with no chunk to reuse is
 * evicted). Evictions are counted (evicted_total and the counter
 * sonde_console_history_evicted_total). An evicted series comes back only
 * when it is viewed again: a series viewed no later than the latest one
 * evicted for room is not admitted (h->evicted_stamp), otherwise the room a
 * young series needs would let it back in, only to be evicted again as the
 * others grow. At most HISTORY_MAX_SERIES series per family (the
 * same rule inside the family: a series viewed later replaces the family's
 * least recently viewed, counted) and
 * HISTORY_MAX_FAMILIES families are recorded (past the latter, the
 * non-pinned family viewed least recently is dropped, its series counted as
 * evicted).
 *
 * Exemplars: at each sample the latest exemplar of every bucket (counters:
 * of the series), when it is new since the previous sample, goes into the
 * series' ring of the HISTORY_EXEMPLARS latest (allocated with the series'
 * first exemplar, counted in the bound; none kept when there is no room).
 *
 * Locking: one mutex for everything; the sampler holds it while it samples
 * (reading the registry as a scrape does) and the API while it answers.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"

/* A series without its chunks and exemplars: itself, its label values, its chunk array. */
static size_t series_base_bytes(const console_history *h, const hfamily *f, size_t blob_len)
{
    return sizeof(hseries) + blob_len + f->label_count * sizeof(char *) +
           h->nchunks * sizeof(double *);
}

static size_t chunk_bytes(const console_history *h, const hfamily *f)
{
    return h->chunk_rows * f->width * sizeof(double);
}

/* The exemplar ring and the per-bucket times of the last exemplar kept. */
static size_t exemplar_bytes(const hfamily *f)
{
    return HISTORY_EXEMPLARS * sizeof(hexemplar) + (f->nb ? f->nb : 1) * sizeof(uint64_t);
}

static void series_free(const console_history *h, hseries *s)
{
    if (!s)
        return;
    for (size_t k = 0; s->chunk && k < h->nchunks; k++)
        free(s->chunk[k]);
    free(s->chunk);
    free(s->blob);
    free(s->values);
    free(s->ex);
    free(s->ex_seen);
    free(s);
}

/* Give back chunk k of s (allocated). */
static void chunk_free(console_history *h, const hfamily *f, hseries *s, size_t k)
{
    free(s->chunk[k]);
    s->chunk[k] = NULL;
    s->nchunk--;
    s->bytes -= chunk_bytes(h, f);
    h->bytes -= chunk_bytes(h, f);
}

/* Remove series i of f (the map entry and the list slot), counted as evicted or not. */
static void series_drop(console_history *h, hfamily *f, size_t i, int evicted)
{
    hseries *s = f->list[i];
    sonde_internal_map_remove(&f->series, s);
    f->list[i] = f->list[--f->nseries];
    h->bytes -= s->bytes;
    series_free(h, s);
    if (evicted) {
        h->evicted_total++;
        if (h->evicted_counter)
            sonde_counter_inc(h->evicted_counter);
    }
}

static void family_free(console_history *h, hfamily *f)
{
    while (f->nseries)
        series_drop(h, f, f->nseries - 1, 0);
    sonde_internal_map_destroy(&f->series, NULL);
    h->bytes -= f->bytes;
    for (size_t i = 0; i < f->nwatch; i++)
        for (size_t k = 0; k < f->watches[i].nmatch; k++) {
            free(f->watches[i].match[k][0]);
            free(f->watches[i].match[k][1]);
        }
    for (size_t i = 0; i < f->label_count; i++)
        free(f->label_names[i]);
    free(f->label_names);
    free(f->bounds);
    free(f->list);
    free(f->t);
    free(f->name);
    free(f);
}

/* Evict the series viewed least recently, if viewed strictly before stamp: 1, else 0. */
static int evict_one(console_history *h, uint64_t stamp)
{
    hfamily *vf = NULL;
    size_t vi = 0;
    uint64_t best = stamp;
    for (size_t k = 0; k < h->nfams; k++) {
        hfamily *f = h->fams[k];
        for (size_t i = 0; i < f->nseries; i++)
            if (f->list[i]->viewed < best) {
                best = f->list[i]->viewed;
                vf = f;
                vi = i;
            }
    }
    if (!vf)
        return 0;
    if (best > h->evicted_stamp)
        h->evicted_stamp = best;
    series_drop(h, vf, vi, 1);
    return 1;
}

/* Make room for need more bytes at view stamp: 1 when h->bytes + need fits. */
static int make_room(console_history *h, size_t need, uint64_t stamp)
{
    if (need > h->max_bytes)
        return 0;
    while (h->bytes + need > h->max_bytes)
        if (!evict_one(h, stamp))
            return 0;
    return 1;
}

int console_history_new(sonde_registry *reg, long interval_ms, long retention_s,
                        size_t max_bytes, sonde_counter *evicted, console_history **out)
{
    console_history *h = calloc(1, sizeof *h);
    if (!h)
        return SONDE_ENOMEM;
    pthread_mutex_init(&h->lock, NULL);
    h->reg = reg;
    h->interval_ms = interval_ms;
    h->points = (size_t)((double)retention_s * 1000.0 / (double)interval_ms);
    if (h->points < 2)
        h->points = 2;
    h->chunk_rows = (h->points + HISTORY_CHUNKS - 1) / HISTORY_CHUNKS;
    h->nchunks = (h->points + h->chunk_rows - 1) / h->chunk_rows + 1;
    h->rows = h->nchunks * h->chunk_rows;
    h->max_bytes = max_bytes;
    h->bytes = sizeof *h;
    h->evicted_counter = evicted;
    *out = h;
    return SONDE_OK;
}

void console_history_free(console_history *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->nfams; i++)
        family_free(h, h->fams[i]);
    free(h->fams);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

void console_history_lock(console_history *h) { pthread_mutex_lock(&h->lock); }
void console_history_unlock(console_history *h) { pthread_mutex_unlock(&h->lock); }

hfamily *console_history_find(console_history *h, const char *name)
{
    for (size_t i = 0; i < h->nfams; i++)
        if (strcmp(h->fams[i]->name, name) == 0)
            return h->fams[i];
    return NULL;
}

/* ---- matching ---------------------------------------------------------- */

/* The value of label name among values (a family's), "" when the family has no such label. */
static const char *label_value(const hfamily *f, const char *const *values, const char *name)
{
    for (size_t i = 0; i < f->label_count; i++)
        if (strcmp(f->label_names[i], name) == 0)
            return values[i];
    return "";
}

static int values_match(const hfamily *f, const char *const *values,
                        const char *const match[][2], size_t nmatch)
{
    for (size_t k = 0; k < nmatch; k++)
        if (strcmp(label_value(f, values, match[k][0]), match[k][1]) != 0)
            return 0;
    return 1;
}

int console_series_matches(const hfamily *f, const hseries *s, const char *const match[][2],
                           size_t nmatch)
{
    return values_match(f, s->values, match, nmatch);
}

/* The newest stamp of the watches values match, 0 when none does. */
static uint64_t watch_stamp(const hfamily *f, const char *const *values)
{
    uint64_t best = 0;
    for (size_t i = 0; i < f->nwatch; i++) {
        const hwatch *w = &f->watches[i];
        if (w->viewed > best &&
            values_match(f, values, (const char *const(*)[2])w->match, w->nmatch))
            best = w->viewed;
    }
    return best;
}

/* ---- families ---------------------------------------------------------- */

typedef struct meta_find {
    const char *name;
    hfamily *f;
    int rc;
} meta_find;

/* Copy the metadata of the family named m->name (registry locked: it cannot go away). */
static int copy_meta(const sonde_metric *m, void *ud)
{
    meta_find *mf = ud;
    const char *name = sonde_metric_name(m);
    if (strcmp(name, mf->name) != 0)
        return 0;
    sonde_type type = sonde_metric_type(m);
    if (type != SONDE_COUNTER && type != SONDE_GAUGE && type != SONDE_HISTOGRAM) {
        mf->rc = SONDE_ETYPE;
        return 1;
    }
    hfamily *f = calloc(1, sizeof *f);
    mf->rc = SONDE_ENOMEM;
    if (!f)
        return 1;
    mf->f = f;
    f->type = type;
    f->label_count = sonde_metric_label_count(m);
    if (!(f->name = strdup(name)) ||
        !(f->label_names = calloc(f->label_count ? f->label_count : 1, sizeof(char *))))
        return 1;
    for (size_t i = 0; i < f->label_count; i++)
        if (!(f->label_names[i] = strdup(sonde_metric_label_name(m, i))))
            return 1;
    f->width = 1;
    if (type == SONDE_HISTOGRAM) {
        sonde_buckets b = sonde_metric_buckets(m);
        f->nb = b.count + 1;
        if (!(f->bounds = malloc((b.count ? b.count : 1) * sizeof(double))))
            return 1;
        if (b.count)
            memcpy(f->bounds, b.bounds, b.count * sizeof(double));
        f->width = f->nb + 1;
    }
    mf->rc = SONDE_OK;
    return 1;
}

static void family_sample(console_history *h, hfamily *f, int64_t t_ms);

/* Drop the non-pinned family viewed least recently: 1, or 0 when every one is pinned. */
static int drop_family(console_history *h)
{
    size_t best = h->nfams;
    uint64_t best_stamp = UINT64_MAX;
    for (size_t i = 0; i < h->nfams; i++) {
        hfamily *f = h->fams[i];
        uint64_t st = 0;
        for (size_t k = 0; k < f->nwatch; k++)
            st = f->watches[k].viewed > st ? f->watches[k].viewed : st;
        if (!f->pinned && st < best_stamp) {
            best_stamp = st;
            best = i;
        }
    }
    if (best == h->nfams)
        return 0;
    hfamily *f = h->fams[best];
    h->evicted_total += f->nseries;
    if (h->evicted_counter)
        sonde_counter_add(h->evicted_counter, (double)f->nseries);
    family_free(h, f);
    h->fams[best] = h->fams[--h->nfams];
    return 1;
}

static int family_add(console_history *h, const char *name, int pinned, uint64_t stamp,
                      hfamily **out)
{
    meta_find mf = {name, NULL, SONDE_ENOENT};
    sonde_registry_foreach(h->reg, copy_meta, &mf);
    hfamily *f = mf.f;
    int rc = mf.rc;
    if (rc == SONDE_OK && h->nfams == HISTORY_MAX_FAMILIES && !drop_family(h))
        rc = SONDE_ELIMIT;
    if (rc == SONDE_OK) {
        f->bytes = sizeof *f + strlen(name) + 1 + h->rows * sizeof(int64_t);
        for (size_t i = 0; i < f->label_count; i++)
            f->bytes += strlen(f->label_names[i]) + 1 + sizeof(char *);
        f->bytes += f->nb * sizeof(double);
        if (!make_room(h, f->bytes, stamp))
            rc = SONDE_ELIMIT;
    }
    hfamily **fams = NULL;
    if (rc == SONDE_OK) {
        h->bytes += f->bytes; /* from here family_free() gives it back */
        f->pinned = pinned;
        f->t = malloc(h->rows * sizeof(int64_t));
        fams = realloc(h->fams, (h->nfams + 1) * sizeof *fams);
        if (fams)
            h->fams = fams;
        if (!f->t || !fams || sonde_internal_map_init(&f->series, HISTORY_MAX_SERIES, 0))
            rc = SONDE_ENOMEM;
    } else if (f) {
        f->bytes = 0;
    }
    if (rc != SONDE_OK) {
        if (f)
            family_free(h, f);
        return rc;
    }
    h->fams[h->nfams++] = f;
    *out = f;
    return SONDE_OK;
}

int console_history_watch(console_history *h, const char *name, const char *const match[][2],
                          size_t nmatch, int pinned, hfamily **out)
{
    if (nmatch > HISTORY_MAX_MATCH)
        return SONDE_EINVAL;
    uint64_t stamp = ++h->clock;
    hfamily *f = console_history_find(h, name);
    int fresh = 0;
    if (!f) {
        int rc = family_add(h, name, pinned, stamp, &f);
        if (rc)
            return rc;
        fresh = 1;
    }
    f->pinned |= pinned;
    hwatch *w = NULL;
    for (size_t i = 0; i < f->nwatch && !w; i++) {
        hwatch *x = &f->watches[i];
        if (x->nmatch != nmatch)
            continue;
        size_t k = 0;
        while (k < nmatch && strcmp(x->match[k][0], match[k][0]) == 0 &&
               strcmp(x->match[k][1], match[k][1]) == 0)
            k++;
        if (k == nmatch)
            w = x;
    }
    if (!w) {
        if (f->nwatch < HISTORY_MAX_WATCHES) {
            w = &f->watches[f->nwatch++];
        } else { /* replace the watch viewed least recently */
            w = &f->watches[0];
            for (size_t i = 1; i < f->nwatch; i++)
                if (f->watches[i].viewed < w->viewed)
                    w = &f->watches[i];
            for (size_t k = 0; k < w->nmatch; k++) {
                free(w->match[k][0]);
                free(w->match[k][1]);
            }
        }
        w->nmatch = 0;
        for (size_t k = 0; k < nmatch; k++) {
            char *kn = strdup(match[k][0]), *kv = strdup(match[k][1]);
            if (!kn || !kv) {
                free(kn);
                free(kv);
                break;
            }
            w->match[k][0] = kn;
            w->match[k][1] = kv;
            w->nmatch++;
        }
        if (w->nmatch != nmatch) { /* out of memory: leave it matching nothing */
            w->viewed = 0;
            return SONDE_ENOMEM;
        }
    }
    w->viewed = stamp;
    for (size_t i = 0; i < f->nseries; i++)
        if (console_series_matches(f, f->list[i], match, nmatch))
            f->list[i]->viewed = stamp;
    if (fresh) {
        f->since_ms = (int64_t)(sonde_wall_seconds() * 1000.0);
        family_sample(h, f, f->since_ms);
    }
    if (out)
        *out = f;
    return SONDE_OK;
}

/* ---- sampling ---------------------------------------------------------- */

typedef struct sample_ctx {
    console_history *h;
    hfamily *f;
    size_t row;
    int64_t t_ms;
} sample_ctx;

static int blob_match(const void *entry, const void *key)
{
    const hseries *s = entry;
    const sonde_series_sample *ss = key;
    const char *p = s->blob;
    for (size_t i = 0; i < ss->label_count; i++) {
        size_t n = strlen(ss->label_values[i]);
        if (memcmp(p, ss->label_values[i], n + 1) != 0)
            return 0;
        p += n + 1;
    }
    return 1;
}

/* A chunk of f's width, every row NaN (no sample yet). */
static double *chunk_fill_nan(const console_history *h, const hfamily *f, double *c)
{
    for (size_t i = 0; i < h->chunk_rows * f->width; i++)
        c[i] = NAN;
    return c;
}

/* Admit the series of ss, with the chunk of ring row `row` (its first sample goes there). */
static hseries *series_admit(console_history *h, hfamily *f, const sonde_series_sample *ss,
                             uint64_t hash, uint64_t stamp, int64_t t_ms, size_t row)
{
    if (stamp <= h->evicted_stamp)
        return NULL; /* no fresher than a series evicted for room: back when viewed again */
    if (f->nseries >= HISTORY_MAX_SERIES) { /* the family's least recently viewed goes */
        size_t victim = f->nseries;
        if (stamp > f->none_viewed_before)
            for (size_t i = 0; i < f->nseries; i++)
                if (f->list[i]->viewed < stamp &&
                    (victim == f->nseries || f->list[i]->viewed < f->list[victim]->viewed))
                    victim = i;
        f->truncated = 1;
        if (victim == f->nseries) {
            f->none_viewed_before = stamp;
            return NULL;
        }
        series_drop(h, f, victim, 1);
    }
    size_t blob_len = 0;
    for (size_t i = 0; i < ss->label_count; i++)
        blob_len += strlen(ss->label_values[i]) + 1;
    size_t need = series_base_bytes(h, f, blob_len) + chunk_bytes(h, f);
    if (!make_room(h, need, stamp))
        return NULL;
    hseries *s = calloc(1, sizeof *s);
    hseries **list = realloc(f->list, (f->nseries + 1) * sizeof *list);
    if (list)
        f->list = list;
    if (!s || !list)
        goto fail;
    s->hash = hash;
    s->blob_len = blob_len;
    s->blob = malloc(blob_len ? blob_len : 1);
    s->values = calloc(f->label_count ? f->label_count : 1, sizeof(char *));
    s->chunk = calloc(h->nchunks, sizeof *s->chunk);
    if (!s->blob || !s->values || !s->chunk)
        goto fail;
    size_t k = row / h->chunk_rows;
    if (!(s->chunk[k] = malloc(chunk_bytes(h, f))))
        goto fail;
    chunk_fill_nan(h, f, s->chunk[k]);
    s->nchunk = 1;
    char *p = s->blob;
    for (size_t i = 0; i < ss->label_count; i++) {
        size_t n = strlen(ss->label_values[i]) + 1;
        memcpy(p, ss->label_values[i], n);
        s->values[i] = p;
        p += n;
    }
    s->viewed = stamp;
    s->since_ms = t_ms;
    s->bytes = need;
    if (sonde_internal_map_put(&f->series, s))
        goto fail;
    f->list[f->nseries++] = s;
    h->bytes += need;
    return s;
fail:
    series_free(h, s);
    return NULL;
}

/* Take s's oldest chunk other than k (the one after k in ring order): it goes to k. */
static double *chunk_take_oldest(const console_history *h, hseries *s, size_t k)
{
    for (size_t d = 1; d < h->nchunks; d++) {
        size_t j = (k + d) % h->nchunks;
        if (s->chunk[j]) {
            double *c = s->chunk[j];
            s->chunk[j] = NULL;
            return c;
        }
    }
    return NULL;
}

/* The values of s at ring row, its chunk allocated first if need be (within the bound,
 * see the top); NULL when s has no chunk and there is no room for one. */
static double *row_for_write(console_history *h, const hfamily *f, hseries *s, size_t row)
{
    size_t k = row / h->chunk_rows;
    double *c = s->chunk[k];
    if (!c) {
        size_t cb = chunk_bytes(h, f);
        if (make_room(h, cb, s->viewed) && (c = malloc(cb)) != NULL) {
            s->nchunk++;
            s->bytes += cb;
            h->bytes += cb;
        } else if (!(c = chunk_take_oldest(h, s, k))) {
            return NULL;
        }
        s->chunk[k] = chunk_fill_nan(h, f, c);
    }
    return c + (row % h->chunk_rows) * f->width;
}

static void keep_exemplars(console_history *h, hfamily *f, hseries *s,
                           const sonde_series_sample *ss, int64_t t_ms)
{
    size_t n = f->type == SONDE_HISTOGRAM ? ss->bucket_count : 1;
    if (n > (f->nb ? f->nb : 1))
        n = f->nb ? f->nb : 1;
    if (!s->ex) { /* the first exemplar of the series: its ring, if there is room */
        size_t i = 0;
        while (i < n && !(ss->present[i] && ss->exemplars[i].unix_ns))
            i++;
        if (i == n || !make_room(h, exemplar_bytes(f), s->viewed))
            return;
        s->ex = calloc(HISTORY_EXEMPLARS, sizeof *s->ex);
        s->ex_seen = calloc(f->nb ? f->nb : 1, sizeof *s->ex_seen);
        if (!s->ex || !s->ex_seen) {
            free(s->ex);
            free(s->ex_seen);
            s->ex = NULL;
            s->ex_seen = NULL;
            return;
        }
        s->bytes += exemplar_bytes(f);
        h->bytes += exemplar_bytes(f);
    }
    for (size_t i = 0; i < n; i++) {
        if (!ss->present[i] || ss->exemplars[i].unix_ns == s->ex_seen[i])
            continue;
        s->ex_seen[i] = ss->exemplars[i].unix_ns;
        hexemplar *e = &s->ex[s->ex_head];
        e->t_ms = t_ms;
        e->bucket = i;
        e->ex = ss->exemplars[i];
        s->ex_head = (s->ex_head + 1) % HISTORY_EXEMPLARS;
        if (s->ex_count < HISTORY_EXEMPLARS)
            s->ex_count++;
    }
}

static int sample_one(void *ud, const sonde_series_sample *ss)
{
    sample_ctx *x = ud;
    console_history *h = x->h;
    hfamily *f = x->f;
    if (ss->label_count != f->label_count)
        return 0;
    sonde_hasher hs;
    sonde_map_hasher(&f->series, &hs);
    for (size_t i = 0; i < ss->label_count; i++)
        sonde_hasher_cstr(&hs, ss->label_values[i]);
    uint64_t hash = sonde_hasher_end(&hs);
    hseries *s = sonde_map_find(&f->series, hash, blob_match, ss);
    if (!s) {
        uint64_t stamp = watch_stamp(f, ss->label_values);
        if (!stamp || !(s = series_admit(h, f, ss, hash, stamp, x->t_ms, x->row)))
            return 0;
    }
    double *row = row_for_write(h, f, s, x->row);
    if (!row) { /* no chunk to write in and no room for one: not recorded */
        for (size_t i = 0; i < f->nseries; i++)
            if (f->list[i] == s) {
                series_drop(h, f, i, 1);
                break;
            }
        return 0;
    }
    if (f->type == SONDE_HISTOGRAM) {
        if (ss->bucket_count != f->nb) /* a native-only histogram: its count in +Inf */
            for (size_t i = 0; i < f->nb; i++)
                row[i] = i + 1 == f->nb ? ss->count : 0;
        else
            memcpy(row, ss->buckets, f->nb * sizeof(double));
        row[f->nb] = ss->sum;
    } else {
        row[0] = ss->value;
    }
    if (ss->exemplars && (f->type == SONDE_COUNTER || f->type == SONDE_HISTOGRAM))
        keep_exemplars(h, f, s, ss, x->t_ms);
    s->last_tick = f->tick;
    return 0;
}

static void family_sample(console_history *h, hfamily *f, int64_t t_ms)
{
    if (f->filled && t_ms <= f->t[hfamily_row(h, f, f->filled - 1)])
        return; /* sampled at that time already (a watch's first sample, a clock step back) */
    f->tick++;
    sample_ctx x = {h, f, f->head, t_ms};
    f->t[f->head] = t_ms;
    int rc = sonde_internal_family_series(h->reg, f->name, f->type != SONDE_GAUGE, sample_one, &x);
    (void)rc; /* a family unregistered meanwhile: its series get NaN rows and age out */
    size_t k = f->head / h->chunk_rows;
    int chunk_start = f->head % h->chunk_rows == 0; /* chunk k's rows are past the retention */
    for (size_t i = 0; i < f->nseries;) {
        hseries *s = f->list[i];
        if (s->last_tick != f->tick) {
            if (s->chunk[k] && chunk_start) {
                chunk_free(h, f, s, k);
            } else if (s->chunk[k]) {
                double *row = s->chunk[k] + (f->head % h->chunk_rows) * f->width;
                for (size_t c = 0; c < f->width; c++)
                    row[c] = NAN;
            }
            if (f->tick - s->last_tick >= h->points) { /* gone for a whole ring */
                series_drop(h, f, i, 0);
                continue;
            }
        }
        i++;
    }
    f->head = (f->head + 1) % h->rows;
    if (f->filled < h->points)
        f->filled++;
}

void console_history_sample(console_history *h, int64_t t_ms)
{
    pthread_mutex_lock(&h->lock);
    for (size_t i = 0; i < h->nfams; i++)
        family_sample(h, h->fams[i], t_ms);
    pthread_mutex_unlock(&h->lock);
}
