/*
 * native.c - native (sparse, exponential) histograms: bucket index math,
 * storage, the lock-free hot path (inline in native.h) and the snapshot a
 * scrape renders.
 *
 * Index. A value a > 0 is split like frexp (a = frac 2^exp, frac in
 * [0.5, 1)) straight from its IEEE bits. For schema s <= 0 the index is
 * exp (exp - 1 when frac is 0.5), divided by 2^-s rounding up (an
 * arithmetic shift). For s > 0 it is exp * 2^s plus the number of the 2^s
 * boundaries 2^(i/2^s) the mantissa passes: a table indexed by the top
 * SONDE_NATIVE_SLOT_BITS mantissa bits (one constant shift for every schema)
 * gives the count below the slot, and one integer compare with the next
 * boundary (all ones past the last, so no range check) settles the at most
 * one boundary inside the slot (a slot is narrower than the narrowest
 * bucket). The boundaries are the largest doubles <= the exact
 * powers (computed once in long double), so a value equal to a bound goes to
 * the bucket it closes, as (base^(i-1), base^i] says. No log() anywhere.
 *
 * Storage. A series holds generations: each a cell range (cells.h, so the
 * hot path is the classic histogram's: plain stores into the thread's own
 * arena, atomic adds in a shared one) with a zero bucket, a window of W
 * consecutive buckets per side at one schema, +Inf and -Inf counts and the
 * sum. A side's window is placed around its first value. A value outside the
 * current window takes the series' mutex (the slow path, rare): the next
 * generation has schema - 1 and a window covering the previous one and the
 * value (each step halves the previous span, and W covers every finite
 * bucket of schema -4, so at most 12 steps); or, with a minimum reset
 * duration that has passed since the last reset, the series resets: it
 * switches to its second bank of generations, zeroed, at the configured
 * schema. Generations are never freed while the series lives; a writer that
 * read the previous generation still adds to it, and the scrape reads every
 * live generation, converting each bucket to the newest (lowest) schema by
 * merging (index i of schema s is ceil(i / 2^(s - t)) at schema t). So the
 * count is the zero bucket plus every bucket, read once: a scrape always
 * sees count == the sum of the buckets, and, like classic histograms, cells
 * that only grow summed in a fixed order never read lower than before (until
 * a reset, which Prometheus sees as one). A thread stalled inside an
 * observation across a whole reset may leave that one observation in a
 * wrong bucket of the same series (never of another one).
 *
 * Exposed buckets. The exposition limits the buckets to max_buckets the way
 * client_golang does, at scrape time: it widens the zero bucket to the upper
 * bound of the lowest bucket while that stays <= max_zero_threshold, then
 * halves the resolution (merging pairs) until the buckets fit. The buckets
 * of a series only ever get populated, so the exposed schema only decreases.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MANT_MASK ((UINT64_C(1) << 52) - 1)

/* The index tables (native.h): mbound[s][i], 1 <= i < 2^s, mantissa bits of the largest
 * double <= 2^(i / 2^s), all ones from 2^s on; below[s][slot]: how many of them lie below
 * slot << SONDE_NATIVE_SLOT_SHIFT. */
uint64_t sonde_native_mbound[SONDE_NATIVE_SCHEMA_MAX + 1][(1 << SONDE_NATIVE_SCHEMA_MAX) + 1];
uint16_t sonde_native_below[SONDE_NATIVE_SCHEMA_MAX + 1][1 << SONDE_NATIVE_SLOT_BITS];
#define mbound sonde_native_mbound
#define below sonde_native_below
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void tables_init(void)
{
    for (int s = 1; s <= SONDE_NATIVE_SCHEMA_MAX; s++) {
        int n = 1 << s;
        for (int i = 1; i < n; i++) {
            long double exact = exp2l((long double)i / n);
            double d = (double)exact;
            if ((long double)d > exact)
                d = nextafter(d, 0);
            mbound[s][i] = sonde_double_to_bits(d) & MANT_MASK;
        }
        for (int i = n; i <= 1 << SONDE_NATIVE_SCHEMA_MAX; i++)
            mbound[s][i] = UINT64_MAX; /* above every mantissa */
        /* a slot is narrower than the narrowest bucket, so at most one bound lies inside it */
        for (int slot = 0, c = 0; slot < 1 << SONDE_NATIVE_SLOT_BITS; slot++) {
            while (c + 1 < n && mbound[s][c + 1] < ((uint64_t)slot << SONDE_NATIVE_SLOT_SHIFT))
                c++;
            below[s][slot] = (uint16_t)c;
        }
    }
}

double sonde_native_upper_bound(int32_t index, int s)
{
    if (s <= 0)
        return ldexp(1.0, (int)((int64_t)index * (INT64_C(1) << -s))); /* no shift of a negative */
    pthread_once(&tables_once, tables_init);
    int32_t n = 1 << s;
    int32_t q = index >= 0 ? index / n : -((-index + n - 1) / n); /* floor */
    int32_t r = index - q * n;
    return ldexp(sonde_bits_to_double(UINT64_C(0x3ff) << 52 | mbound[s][r]), (int)q);
}

int sonde_native_schema_for_factor(double factor)
{
    for (int s = SONDE_NATIVE_SCHEMA_MIN; s < SONDE_NATIVE_SCHEMA_MAX; s++)
        if (exp2(exp2(-s)) <= factor)
            return s;
    return SONDE_NATIVE_SCHEMA_MAX;
}

int sonde_native_cfg_init(sonde_native_cfg *cfg, const sonde_native_opts *o)
{
    double factor = o->bucket_factor == 0 ? 1.1 : o->bucket_factor;
    if (!(factor > 1) || isinf(factor) || isnan(o->zero_threshold) || isinf(o->zero_threshold) ||
        !(o->max_zero_threshold >= 0) || isinf(o->max_zero_threshold) || !(o->min_reset_seconds >= 0) ||
        o->min_reset_seconds > SONDE_MAX_AGE_SECONDS || o->max_buckets > SONDE_NATIVE_WINDOW_MAX)
        return SONDE_EINVAL;
    pthread_once(&tables_once, tables_init);
    cfg->schema = sonde_native_schema_for_factor(factor);
    cfg->zero_threshold = o->zero_threshold == 0 ? SONDE_NATIVE_DEFAULT_ZERO
                          : o->zero_threshold < 0 ? 0 : o->zero_threshold;
    cfg->max_buckets = o->max_buckets ? o->max_buckets : SONDE_NATIVE_DEFAULT_MAX_BUCKETS;
    cfg->window = cfg->max_buckets < SONDE_NATIVE_WINDOW_MIN ? SONDE_NATIVE_WINDOW_MIN : cfg->max_buckets;
    cfg->max_zero_threshold = o->max_zero_threshold;
    cfg->min_reset_ns = (uint64_t)(o->min_reset_seconds * 1e9);
    cfg->only = o->native_only != 0;
    return SONDE_OK;
}

/* ---- generations ----------------------------------------------------- */

static int gen_init(sonde_native_gen *g, const sonde_native_cfg *cfg, int schema)
{
    if (!g->cell && sonde_cells_alloc(sonde_native_gen_cells(cfg), &g->cell))
        return SONDE_ENOMEM;
    g->schema = schema;
    atomic_store_explicit(&g->pos_lo, SONDE_NATIVE_UNANCHORED, memory_order_relaxed);
    atomic_store_explicit(&g->neg_lo, SONDE_NATIVE_UNANCHORED, memory_order_relaxed);
    return SONDE_OK;
}

int sonde_native_state_new(sonde_child *c)
{
    const sonde_native_cfg *cfg = c->fam->native;
    sonde_native_state *ns = calloc(1, sizeof *ns);
    if (!ns)
        return SONDE_ENOMEM;
    if (pthread_mutex_init(&ns->lock, NULL)) {
        free(ns);
        return SONDE_ENOMEM;
    }
    if (gen_init(&ns->gens[0][0], cfg, cfg->schema)) {
        pthread_mutex_destroy(&ns->lock);
        free(ns);
        return SONDE_ENOMEM;
    }
    ns->count = 1;
    ns->reset_ns = sonde_now_ns();
    atomic_store_explicit(&ns->cur, &ns->gens[0][0], memory_order_release);
    c->v.native = ns;
    return SONDE_OK;
}

typedef struct state_release {
    sonde_native_state *ns;
    uint32_t cells;
} state_release;

static void state_free(void *p)
{
    state_release *r = p;
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < SONDE_NATIVE_GENS; i++)
            if (r->ns->gens[b][i].cell)
                sonde_cells_release(r->ns->gens[b][i].cell, r->cells);
    pthread_mutex_destroy(&r->ns->lock);
    free(r->ns);
    free(r);
}

void sonde_native_state_free(sonde_child *c)
{
    sonde_native_state *ns = c->v.native;
    if (!ns)
        return;
    c->v.native = NULL;
    state_release *r = malloc(sizeof *r);
    if (!r) { /* without memory: free now; the cell ranges are simply not reused */
        pthread_mutex_destroy(&ns->lock);
        free(ns);
        return;
    }
    r->ns = ns;
    r->cells = sonde_native_gen_cells(c->fam->native);
    sonde_defer(state_free, r);
}

/* ---- hot path -------------------------------------------------------- */

/* ---- slow path: anchoring, reducing, resetting (series lock held) ------ */

/* A window of w buckets holding [lo, hi] (hi - lo < w), the slack split on both sides. */
static int32_t centred(int32_t lo, int32_t hi, uint32_t w)
{
    return lo - (int32_t)((w - (uint32_t)(hi - lo + 1)) / 2);
}

/* The next generation at a lower schema whose windows cover the current ones and the
 * bucket of v; SONDE_ENOMEM. */
static int reduce(sonde_native_state *ns, const sonde_native_cfg *cfg, double v)
{
    sonde_native_gen *g = atomic_load_explicit(&ns->cur, memory_order_relaxed);
    if (ns->count >= SONDE_NATIVE_GENS)
        return SONDE_ENOMEM; /* cannot happen: W covers schema -4 */
    uint32_t w = cfg->window;
    int32_t pos = atomic_load_explicit(&g->pos_lo, memory_order_relaxed);
    int32_t neg = atomic_load_explicit(&g->neg_lo, memory_order_relaxed);
    for (int t = g->schema - 1; t >= SONDE_NATIVE_SCHEMA_MIN; t--) {
        int k = g->schema - t;
        int32_t key = sonde_native_index(fabs(v), t);
        int32_t lo[2], hi[2];
        int32_t side_lo[2] = {pos, neg};
        int fits = 1;
        for (int sd = 0; sd < 2; sd++) {
            int mine = (sd == 0) == (v > 0);
            if (side_lo[sd] == SONDE_NATIVE_UNANCHORED) {
                lo[sd] = hi[sd] = mine ? key : SONDE_NATIVE_UNANCHORED;
                continue;
            }
            lo[sd] = sonde_native_index_down(side_lo[sd], k);
            hi[sd] = sonde_native_index_down(side_lo[sd] + (int32_t)w - 1, k);
            if (mine) {
                lo[sd] = key < lo[sd] ? key : lo[sd];
                hi[sd] = key > hi[sd] ? key : hi[sd];
            }
            if ((int64_t)hi[sd] - lo[sd] + 1 > (int64_t)w)
                fits = 0;
        }
        if (!fits)
            continue;
        sonde_native_gen *next = &ns->gens[ns->bank][ns->count];
        if (gen_init(next, cfg, t))
            return SONDE_ENOMEM;
        if (lo[0] != SONDE_NATIVE_UNANCHORED)
            atomic_store_explicit(&next->pos_lo, centred(lo[0], hi[0], w), memory_order_relaxed);
        if (lo[1] != SONDE_NATIVE_UNANCHORED)
            atomic_store_explicit(&next->neg_lo, centred(lo[1], hi[1], w), memory_order_relaxed);
        ns->count++;
        atomic_store_explicit(&ns->cur, next, memory_order_release);
        return SONDE_OK;
    }
    return SONDE_ENOMEM;
}

/* Start over in the other bank at the configured schema. */
static int reset(sonde_native_state *ns, const sonde_native_cfg *cfg, uint64_t now)
{
    unsigned bank = ns->bank ^ 1;
    for (int i = 0; i < SONDE_NATIVE_GENS; i++)
        if (ns->gens[bank][i].cell)
            sonde_cells_zero(ns->gens[bank][i].cell, sonde_native_gen_cells(cfg));
    if (gen_init(&ns->gens[bank][0], cfg, cfg->schema))
        return SONDE_ENOMEM;
    ns->bank = bank;
    ns->count = 1;
    ns->reset_ns = now;
    atomic_store_explicit(&ns->cur, &ns->gens[bank][0], memory_order_release);
    return SONDE_OK;
}

void sonde_native_observe_slow(sonde_child *c, double v, uint64_t n)
{
    sonde_native_state *ns = c->v.native;
    const sonde_native_cfg *cfg = c->fam->native;
    pthread_mutex_lock(&ns->lock);
    sonde_native_gen *g;
    uint32_t slot;
    for (;;) {
        g = atomic_load_explicit(&ns->cur, memory_order_relaxed);
        int outside = 0;
        slot = sonde_native_slot(g, cfg, v, &outside);
        if (!outside)
            break;
        _Atomic(int32_t) *lo = v > 0 ? &g->pos_lo : &g->neg_lo;
        if (atomic_load_explicit(lo, memory_order_relaxed) == SONDE_NATIVE_UNANCHORED) {
            int32_t key = sonde_native_index(fabs(v), g->schema);
            atomic_store_explicit(lo, centred(key, key, cfg->window), memory_order_release);
            continue;
        }
        uint64_t now = cfg->min_reset_ns ? sonde_now_ns() : 0;
        if (cfg->min_reset_ns && now - ns->reset_ns >= cfg->min_reset_ns) {
            if (reset(ns, cfg, now) == SONDE_OK)
                continue;
        } else if (reduce(ns, cfg, v) == SONDE_OK) {
            continue;
        }
        /* out of memory for a new generation: count it in the window's nearest bucket */
        int32_t key = sonde_native_index(fabs(v), g->schema);
        int32_t l = atomic_load_explicit(lo, memory_order_relaxed);
        slot = 1 + (key < l ? 0 : cfg->window - 1) + (v < 0 ? cfg->window : 0);
        break;
    }
    sonde_native_add(g->cell, slot, 2 * cfg->window + 3, n, n == 1 ? v : v * (double)n);
    pthread_mutex_unlock(&ns->lock);
}

/* ---- snapshot -------------------------------------------------------- */

static int push(sonde_native_snap *s, int neg, int32_t index, uint64_t count)
{
    sonde_native_bucket **arr = neg ? &s->neg : &s->pos;
    size_t *n = neg ? &s->neg_n : &s->pos_n, *cap = neg ? &s->cap_neg : &s->cap_pos;
    if (*n == *cap) {
        size_t nc = *cap ? 2 * *cap : 64;
        sonde_native_bucket *p = realloc(*arr, nc * sizeof *p);
        if (!p) {
            s->failed = 1;
            return -1;
        }
        *arr = p;
        *cap = nc;
    }
    (*arr)[(*n)++] = (sonde_native_bucket){index, count};
    return 0;
}

static int by_index(const void *a, const void *b)
{
    int32_t x = ((const sonde_native_bucket *)a)->index, y = ((const sonde_native_bucket *)b)->index;
    return (x > y) - (x < y);
}

/* Sort (when several generations fed it) and merge equal indexes. */
static size_t normalise(sonde_native_bucket *b, size_t n, int sort)
{
    if (n < 2)
        return n;
    if (sort)
        qsort(b, n, sizeof *b, by_index);
    size_t out = 0;
    for (size_t i = 1; i < n; i++) {
        if (b[i].index == b[out].index)
            b[out].count += b[i].count;
        else
            b[++out] = b[i];
    }
    return out + 1;
}

static size_t halve(sonde_native_bucket *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        b[i].index = sonde_native_index_down(b[i].index, 1);
    return normalise(b, n, 0);
}

/* client_golang's first remedy: the zero bucket swallows the lowest bucket(s). */
static int widen_zero(sonde_native_snap *s, double max_zero)
{
    if (!(max_zero > s->zero_threshold) || (!s->pos_n && !s->neg_n))
        return 0;
    int32_t low = s->pos_n ? s->pos[0].index : INT32_MAX;
    if (s->neg_n && s->neg[0].index < low)
        low = s->neg[0].index;
    double t = sonde_native_upper_bound(low, s->schema);
    if (t > max_zero)
        return 0;
    if (s->pos_n && s->pos[0].index == low) {
        s->zero_count += s->pos[0].count;
        memmove(s->pos, s->pos + 1, --s->pos_n * sizeof *s->pos);
    }
    if (s->neg_n && s->neg[0].index == low) {
        s->zero_count += s->neg[0].count;
        memmove(s->neg, s->neg + 1, --s->neg_n * sizeof *s->neg);
    }
    if (t > s->zero_threshold)
        s->zero_threshold = t;
    return 1;
}

int sonde_native_snapshot(sonde_child *c, sonde_native_snap *s)
{
    sonde_native_state *ns = c->v.native;
    const sonde_native_cfg *cfg = c->fam->native;
    sonde_native_gen gens[SONDE_NATIVE_GENS];
    int32_t pos_lo[SONDE_NATIVE_GENS], neg_lo[SONDE_NATIVE_GENS];
    pthread_mutex_lock(&ns->lock);
    unsigned count = ns->count;
    for (unsigned i = 0; i < count; i++) {
        const sonde_native_gen *g = &ns->gens[ns->bank][i];
        gens[i].cell = g->cell;
        gens[i].schema = g->schema;
        pos_lo[i] = atomic_load_explicit(&g->pos_lo, memory_order_acquire);
        neg_lo[i] = atomic_load_explicit(&g->neg_lo, memory_order_acquire);
    }
    pthread_mutex_unlock(&ns->lock);
    uint32_t w = cfg->window;
    int schema = gens[count - 1].schema;
    s->schema = schema;
    s->zero_threshold = cfg->zero_threshold;
    s->zero_count = s->count = 0;
    s->sum = 0;
    s->pos_n = s->neg_n = 0;
    s->failed = 0;
    int32_t inf_key = sonde_native_index(DBL_MAX, schema) + 1;
    int unsorted = count > 1;
    for (unsigned i = 0; i < count; i++) {
        uint32_t base = gens[i].cell;
        int k = gens[i].schema - schema;
        s->zero_count += sonde_cells_sum_u64(base);
        s->sum += sonde_cells_sum_f64(base + 2 * w + 3);
        for (int neg = 0; neg < 2; neg++) {
            int32_t lo = neg ? neg_lo[i] : pos_lo[i];
            if (lo != SONDE_NATIVE_UNANCHORED) {
                for (uint32_t j = 0; j < w; j++) {
                    uint64_t n = sonde_cells_sum_u64(base + 1 + j + (neg ? w : 0));
                    if (n && push(s, neg, sonde_native_index_down(lo + (int32_t)j, k), n))
                        return SONDE_ENOMEM;
                }
            }
            uint64_t inf = sonde_cells_sum_u64(base + 2 * w + 1 + (uint32_t)neg);
            if (inf) {
                if (push(s, neg, inf_key, inf))
                    return SONDE_ENOMEM;
                unsorted |= (neg ? s->neg_n : s->pos_n) > 1;
            }
        }
    }
    s->pos_n = normalise(s->pos, s->pos_n, unsorted);
    s->neg_n = normalise(s->neg, s->neg_n, unsorted);
    while (s->pos_n + s->neg_n > cfg->max_buckets) {
        if (widen_zero(s, cfg->max_zero_threshold))
            continue;
        if (s->schema <= SONDE_NATIVE_SCHEMA_MIN)
            break;
        s->pos_n = halve(s->pos, s->pos_n);
        s->neg_n = halve(s->neg, s->neg_n);
        s->schema--;
    }
    uint64_t total = s->zero_count;
    for (size_t i = 0; i < s->pos_n; i++)
        total += s->pos[i].count;
    for (size_t i = 0; i < s->neg_n; i++)
        total += s->neg[i].count;
    s->count = total;
    return SONDE_OK;
}

void sonde_native_snap_free(sonde_native_snap *s)
{
    free(s->pos);
    free(s->neg);
    memset(s, 0, sizeof *s);
}
