/*
 * registry.c - registries and the registration of families.
 *
 * A registry keeps its families in an array sorted by name (binary search,
 * deterministic exposition order) behind one mutex that registration,
 * lookup by name and scrapes take; a scrape holds it only to copy the array
 * and take a reference on each family (sonde_registry_snapshot), so an
 * unregistered family lives on until the last scrape rendering it lets go.
 * Collectors have their own lock, held while they run. Registration
 * validates everything up front and builds the family completely before
 * publishing it, so a refused registration changes nothing. Every registry owns the family
 * sonde_cardinality_rejections_total{metric}; a family gets its child of it
 * on its first refusal, through the rejections family's own lock, so hitting
 * a limit never needs the registry lock (which a scrape may hold). Likewise
 * sonde_label_rejections_total{metric,reason} counts label values refused
 * before anything is stored (longer than label_value_max, or not UTF-8), also those a custom
 * collector emits (emit.c).
 *
 * The default registry is created on first use from the environment, or
 * explicitly by sonde_init().
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "memo.h"

static const sonde_quantile default_quantiles[] = {{0.5, 0.05}, {0.9, 0.01}, {0.99, 0.001}};

static char *dup_str(const char *s)
{
    return strdup(s ? s : "");
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* ---- family construction -------------------------------------------- */

static void family_free(sonde_family *f)
{
    if (!f)
        return;
    free(f->name);
    free(f->help);
    free(f->unit);
    for (size_t i = 0; i < f->label_count && f->label_names; i++)
        free(f->label_names[i]);
    free(f->label_names);
    for (size_t i = 0; i < f->bound_count && f->bound_text; i++)
        free(f->bound_text[i]);
    free(f->bound_text);
    free(f->bounds);
    free(f->buckets.slots);
    free(f->native);
    free(f->quantiles);
    for (size_t i = 0; i < f->state_count && f->states; i++)
        free(f->states[i]);
    free(f->states);
    free(f);
}

static void family_free_deferred(void *p)
{
    family_free(p);
}

/* Drop a reference; the last one (the registry's or a scrape's) frees the family. */
static void family_unref(sonde_family *f)
{
    if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1)
        return;
    sonde_family_destroy_children(f);
    sonde_defer(family_free_deferred, f);
}

void sonde_family_release(sonde_family *f) { family_unref(f); }

void sonde_families_release(sonde_family **fams, size_t n)
{
    for (size_t i = 0; i < n; i++)
        family_unref(fams[i]);
    free(fams);
}

int sonde_registry_snapshot(sonde_registry *reg, sonde_family ***out, size_t *n)
{
    pthread_mutex_lock(&reg->lock);
    size_t count = reg->fam_count;
    sonde_family **fams = malloc((count ? count : 1) * sizeof *fams);
    if (fams) {
        for (size_t i = 0; i < count; i++) {
            fams[i] = reg->fams[i];
            atomic_fetch_add_explicit(&fams[i]->refs, 1, memory_order_relaxed);
        }
    }
    pthread_mutex_unlock(&reg->lock);
    *out = fams;
    *n = fams ? count : 0;
    return fams ? SONDE_OK : SONDE_ENOMEM;
}

static int label_name_ok(const sonde_registry *reg, const sonde_metric_opts *o, size_t idx)
{
    const char *l = o->label_names[idx];
    if (!sonde_valid_label_name(l))
        return 0;
    for (size_t j = 0; j < idx; j++)
        if (strcmp(o->label_names[j], l) == 0)
            return 0;
    for (size_t j = 0; j < reg->cfg.global_label_count; j++)
        if (strcmp(reg->cfg.global_labels[j].name, l) == 0)
            return 0;
    if (o->type == SONDE_HISTOGRAM && strcmp(l, "le") == 0)
        return 0;
    if (o->type == SONDE_SUMMARY && strcmp(l, "quantile") == 0)
        return 0;
    if (o->type == SONDE_STATESET && strcmp(l, o->name) == 0)
        return 0;
    return 1;
}

/* The family name: counters lose "_total", infos lose "_info". */
static char *family_name(const sonde_metric_opts *o)
{
    size_t n = strlen(o->name);
    if (o->type == SONDE_COUNTER && ends_with(o->name, "_total") && n > 6)
        n -= 6;
    else if (o->type == SONDE_INFO && ends_with(o->name, "_info") && n > 5)
        n -= 5;
    return strndup(o->name, n);
}

/* Every sample name a family produces must not end in a suffix of another type. */
static int name_reserved(const sonde_metric_opts *o, const char *fname)
{
    static const char *const suffixes[] = {"_bucket", "_count", "_sum", "_created", "_gcount", "_gsum"};
    if (o->type == SONDE_HISTOGRAM || o->type == SONDE_SUMMARY || o->type == SONDE_COUNTER) {
        for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++)
            if (ends_with(fname, suffixes[i]))
                return 1;
    }
    if (o->type != SONDE_COUNTER && ends_with(fname, "_total"))
        return 1;
    return 0;
}

static int validate_opts(const sonde_registry *reg, const sonde_metric_opts *o)
{
    if (!o || !o->name || o->type > SONDE_STATESET)
        return SONDE_EINVAL;
    if (!sonde_valid_metric_name(o->name))
        return SONDE_ENAME;
    if (o->type == SONDE_STATESET && !sonde_valid_label_name(o->name))
        return SONDE_ENAME; /* the state label is named after the family */
    for (size_t j = 0; o->type == SONDE_STATESET && j < reg->cfg.global_label_count; j++)
        if (strcmp(reg->cfg.global_labels[j].name, o->name) == 0)
            return SONDE_ENAME;
    if (o->help && !sonde_valid_utf8(o->help, strlen(o->help)))
        return SONDE_EUTF8;
    if (o->label_count > SONDE_MAX_LABELS || (o->label_count && !o->label_names))
        return SONDE_EINVAL;
    for (size_t i = 0; i < o->label_count; i++)
        if (!label_name_ok(reg, o, i))
            return SONDE_ENAME;
    if (o->native) {
        sonde_native_cfg cfg;
        if (o->type != SONDE_HISTOGRAM || sonde_native_cfg_init(&cfg, o->native))
            return SONDE_EINVAL;
    }
    if (o->type == SONDE_HISTOGRAM && o->buckets.count && !(o->native && o->native->native_only)) {
        size_t n = o->buckets.count;
        if (!o->buckets.bounds)
            return SONDE_EINVAL;
        if (n > 1 && isinf(o->buckets.bounds[n - 1]) && o->buckets.bounds[n - 1] > 0)
            n--; /* a trailing +Inf is implied anyway */
        if (sonde_buckets_check(o->buckets.bounds, n))
            return SONDE_EINVAL;
    }
    if (o->type == SONDE_SUMMARY) {
        if ((o->quantile_count && !o->quantiles) || o->quantile_count > SONDE_MAX_QUANTILES)
            return SONDE_EINVAL;
        for (size_t i = 0; i < o->quantile_count; i++) {
            double q = o->quantiles[i].quantile, e = o->quantiles[i].error;
            if (!(q >= 0 && q <= 1) || !(e > 0 && e < 1))
                return SONDE_EINVAL;
        }
        if (!(o->max_age_seconds >= 0 && o->max_age_seconds <= SONDE_MAX_AGE_SECONDS) || o->age_buckets < 0 ||
            o->age_buckets > 100)
            return SONDE_EINVAL;
    }
    if (o->type == SONDE_STATESET) {
        if (!o->states || o->state_count == 0 || o->state_count > SONDE_MAX_STATES)
            return SONDE_EINVAL;
        for (size_t i = 0; i < o->state_count; i++) {
            if (!o->states[i] || !sonde_valid_utf8(o->states[i], strlen(o->states[i])))
                return SONDE_EUTF8;
            for (size_t j = 0; j < i; j++)
                if (strcmp(o->states[i], o->states[j]) == 0)
                    return SONDE_EINVAL;
        }
    }
    return SONDE_OK;
}

static int copy_buckets(sonde_family *f, const sonde_registry *reg, const sonde_metric_opts *o)
{
    sonde_buckets b = o->buckets.count ? o->buckets : reg->cfg.latency_buckets;
    size_t n = b.count;
    if (n > 1 && isinf(b.bounds[n - 1]))
        n--;
    /* room for the branch-free search of histogram.c: short lists padded with +Inf */
    size_t slots = n < SONDE_BOUNDS_SCAN ? SONDE_BOUNDS_SCAN : n;
    f->bounds = malloc(slots * sizeof *f->bounds);
    f->bound_text = calloc(n, sizeof *f->bound_text);
    if (!f->bounds || !f->bound_text)
        return SONDE_ENOMEM;
    f->bound_count = n;
    for (size_t i = n; i < slots; i++)
        f->bounds[i] = INFINITY;
    for (size_t i = 0; i < n; i++) {
        char buf[32];
        f->bounds[i] = b.bounds[i];
        sonde_format_double(b.bounds[i], buf);
        if (!(f->bound_text[i] = strdup(buf)))
            return SONDE_ENOMEM;
    }
    f->cells_lead = SONDE_HIST_SUM_CELLS; /* the sum, before the buckets (internal.h) */
    f->cells_per_child = (uint32_t)n + 1 + f->cells_lead;
    return f->native ? SONDE_OK : sonde_bucket_table_build(f->bounds, n, &f->buckets);
}

static int build_family(sonde_registry *reg, const sonde_metric_opts *o, sonde_family **out)
{
    sonde_family *f = calloc(1, sizeof *f);
    if (!f)
        return SONDE_ENOMEM;
    f->reg = reg;
    f->type = o->type;
    f->name = family_name(o);
    f->help = dup_str(o->help);
    f->unit = o->unit && *o->unit ? strdup(o->unit) : NULL;
    f->label_count = o->label_count;
    f->label_names = o->label_count ? calloc(o->label_count, sizeof(char *)) : NULL;
    f->limit = o->cardinality_limit ? o->cardinality_limit : reg->cfg.cardinality_limit;
    f->value_max = reg->cfg.label_value_max ? reg->cfg.label_value_max : SONDE_LABEL_VALUE_MAX;
    int rc = SONDE_ENOMEM;
    if (!f->name || !f->help || (o->unit && *o->unit && !f->unit) || (o->label_count && !f->label_names))
        goto fail;
    for (size_t i = 0; i < o->label_count; i++)
        if (!(f->label_names[i] = strdup(o->label_names[i])))
            goto fail;
    rc = SONDE_ENAME;
    if (name_reserved(o, f->name) || (f->unit && (!sonde_valid_label_name(f->unit) ||
                                                  !ends_with(f->name, f->unit) ||
                                                  strlen(f->name) == strlen(f->unit) ||
                                                  f->name[strlen(f->name) - strlen(f->unit) - 1] != '_')))
        goto fail;
    rc = SONDE_ENOMEM;
    switch (o->type) {
    case SONDE_COUNTER:
        f->cells_per_child = 1; /* and its fraction's mirror, cells.h */
        break;
    case SONDE_HISTOGRAM:
        if (o->native) {
            if (!(f->native = malloc(sizeof *f->native)) || (rc = sonde_native_cfg_init(f->native, o->native)))
                goto fail;
            if (f->native->only)
                break; /* no classic cells: the native generations hold everything */
        }
        if ((rc = copy_buckets(f, reg, o)))
            goto fail;
        break;
    case SONDE_SUMMARY: {
        const sonde_quantile *q = o->quantile_count ? o->quantiles : default_quantiles;
        size_t n = o->quantile_count ? o->quantile_count : 3;
        if (!(f->quantiles = malloc(n * sizeof *q)))
            goto fail;
        memcpy(f->quantiles, q, n * sizeof *q);
        f->quantile_count = n;
        f->max_age = o->max_age_seconds > 0 ? o->max_age_seconds : 600;
        f->age_buckets = o->age_buckets > 0 ? o->age_buckets : 5;
        break;
    }
    case SONDE_STATESET:
        if (!(f->states = calloc(o->state_count, sizeof(char *))))
            goto fail;
        f->state_count = o->state_count;
        for (size_t i = 0; i < o->state_count; i++)
            if (!(f->states[i] = strdup(o->states[i])))
                goto fail;
        break;
    default:
        break;
    }
    if ((rc = sonde_family_init_children(f)))
        goto fail;
    atomic_store_explicit(&f->refs, 1, memory_order_relaxed);
    *out = f;
    return SONDE_OK;
fail:
    family_free(f);
    return rc;
}

/* ---- registry ------------------------------------------------------- */

static size_t lower_bound_in(sonde_family *const *fams, size_t n, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(fams[mid]->name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

sonde_family *sonde_families_lookup(sonde_family *const *fams, size_t count, const char *name)
{
    size_t i = lower_bound_in(fams, count, name);
    if (i < count && strcmp(fams[i]->name, name) == 0)
        return fams[i];
    /* "foo_total" finds counter "foo", "foo_info" finds info "foo" */
    char base[256];
    size_t n = strlen(name);
    if (n < sizeof base && (ends_with(name, "_total") || ends_with(name, "_info"))) {
        size_t cut = ends_with(name, "_total") ? 6 : 5;
        memcpy(base, name, n - cut);
        base[n - cut] = '\0';
        i = lower_bound_in(fams, count, base);
        if (i < count && strcmp(fams[i]->name, base) == 0 &&
            fams[i]->type == (cut == 6 ? SONDE_COUNTER : SONDE_INFO))
            return fams[i];
    }
    return NULL;
}

static sonde_family *lookup_locked(sonde_registry *reg, const char *name)
{
    return sonde_families_lookup(reg->fams, reg->fam_count, name);
}

/* The sample-name suffixes a family of each type writes (the family name itself is ""). */
static const char *const *sample_suffixes(sonde_type t)
{
    static const char *const counter[] = {"_total", "_created", NULL};
    static const char *const plain[] = {"", NULL};
    static const char *const histogram[] = {"_bucket", "_sum", "_count", "_created", NULL};
    static const char *const summary[] = {"", "_sum", "_count", "_created", NULL};
    static const char *const info[] = {"_info", NULL};
    switch (t) {
    case SONDE_COUNTER: return counter;
    case SONDE_HISTOGRAM: return histogram;
    case SONDE_SUMMARY: return summary;
    case SONDE_INFO: return info;
    default: return plain;
    }
}

/* Whether name a + suffix sa spells the same sample name as b + sb. */
static int same_sample(const char *a, const char *sa, const char *b, const char *sb)
{
    for (;;) {
        if (!*a)
            a = sa, sa = "";
        if (!*b)
            b = sb, sb = "";
        if (*a != *b)
            return 0;
        if (!*a)
            return 1;
        a++, b++;
    }
}

/* A name clashes if a family of that name exists or if any sample name either family
 * writes is also written by the other (a histogram "foo" and a gauge "foo_sum", say). */
static int name_taken(sonde_registry *reg, const sonde_family *f)
{
    const char *const *fs = sample_suffixes(f->type);
    for (size_t i = 0; i < reg->fam_count; i++) {
        const sonde_family *g = reg->fams[i];
        if (strcmp(g->name, f->name) == 0)
            return 1;
        for (const char *const *gs = sample_suffixes(g->type); *gs; gs++)
            for (const char *const *s = fs; *s; s++)
                if (same_sample(f->name, *s, g->name, *gs))
                    return 1;
    }
    return 0;
}

static int insert_locked(sonde_registry *reg, sonde_family *f)
{
    if (name_taken(reg, f))
        return SONDE_EEXIST;
    if (reg->fam_count == reg->fam_cap) {
        size_t cap = reg->fam_cap ? reg->fam_cap * 2 : 16;
        sonde_family **n = realloc(reg->fams, cap * sizeof *n);
        if (!n)
            return SONDE_ENOMEM;
        reg->fams = n;
        reg->fam_cap = cap;
    }
    size_t i = lower_bound_in(reg->fams, reg->fam_count, f->name);
    memmove(&reg->fams[i + 1], &reg->fams[i], (reg->fam_count - i) * sizeof *reg->fams);
    reg->fams[i] = f;
    reg->fam_count++;
    return SONDE_OK;
}

static int register_locked(sonde_registry *reg, const sonde_metric_opts *opts, sonde_family **out)
{
    int rc = validate_opts(reg, opts);
    if (rc)
        return rc;
    sonde_family *f;
    if ((rc = build_family(reg, opts, &f)))
        return rc;
    if (name_taken(reg, f)) {
        sonde_family_destroy_children(f);
        family_free(f);
        return SONDE_EEXIST;
    }
    if ((rc = insert_locked(reg, f))) {
        sonde_family_destroy_children(f);
        family_free(f);
        return rc;
    }
    *out = f;
    return SONDE_OK;
}

static char *render_global_labels(const sonde_config *cfg);

int sonde_registry_new(const sonde_config *cfg, sonde_registry **out)
{
    if (!out)
        return SONDE_EINVAL;
    *out = NULL;
    sonde_config defaults;
    if (!cfg) {
        sonde_config_init(&defaults);
        defaults.process_metrics = 0;
        cfg = &defaults;
    }
    if (sonde_config_validate(cfg, NULL, 0))
        return SONDE_ECONFIG;
    sonde_registry *reg = calloc(1, sizeof *reg);
    if (!reg)
        return SONDE_ENOMEM;
    pthread_mutex_init(&reg->lock, NULL);
    pthread_mutex_init(&reg->collect_lock, NULL);
    int rc = sonde_config_copy(&reg->cfg, cfg);
    if (rc) {
        pthread_mutex_destroy(&reg->lock);
        pthread_mutex_destroy(&reg->collect_lock);
        free(reg);
        return rc;
    }
    reg->enabled = cfg->enabled != 0;
    if (!reg->enabled) {
        *out = reg;
        return SONDE_OK;
    }
    rc = SONDE_ENOMEM;
    if (reg->cfg.global_label_count && !(reg->global_text = render_global_labels(&reg->cfg)))
        goto fail;
    static const char *const metric_label[] = {"metric"};
    sonde_metric_opts rej = {.type = SONDE_COUNTER,
                             .name = "sonde_cardinality_rejections_total",
                             .help = "Label tuples refused because a family reached its cardinality limit.",
                             .label_names = metric_label,
                             .label_count = 1};
    if ((rc = register_locked(reg, &rej, &reg->rejections)))
        goto fail;
    reg->rejections->limit = (size_t)-1; /* one child per limited family, never refused */
    reg->rejections->value_max = (size_t)-1; /* its values are registered names */
    sonde_internal_metric_own((sonde_metric *)reg->rejections); /* families cache children of it */
    static const char *const metric_reason[] = {"metric", "reason"};
    sonde_metric_opts lrej = {.type = SONDE_COUNTER,
                              .name = "sonde_label_rejections_total",
                              .help = "Label values refused (too_long: past the label-value limit; "
                                      "invalid_utf8; unregistered: not in the closed set a "
                                      "helper was given), by family. Nothing was stored.",
                              .label_names = metric_reason,
                              .label_count = 2};
    if ((rc = register_locked(reg, &lrej, &reg->label_rejections)))
        goto fail;
    reg->label_rejections->limit = (size_t)-1; /* two reasons per family, never refused */
    reg->label_rejections->value_max = (size_t)-1;
    sonde_internal_metric_own((sonde_metric *)reg->label_rejections); /* the registry's bookkeeping */
    if (cfg->process_metrics && (rc = sonde_collector_add(reg, "process", sonde_process_collect, NULL, NULL)))
        goto fail;
    *out = reg;
    return SONDE_OK;
fail:
    sonde_registry_free(reg);
    return rc;
}

void sonde_registry_free(sonde_registry *reg)
{
    if (!reg)
        return;
    for (size_t i = 0; i < reg->fam_count; i++)
        family_unref(reg->fams[i]);
    free(reg->fams);
    for (sonde_collector *c = reg->collectors, *next; c; c = next) {
        next = c->next;
        free(c->name);
        free(c);
    }
    free(reg->global_text);
    sonde_config_free_copy(&reg->cfg);
    pthread_mutex_destroy(&reg->lock);
    pthread_mutex_destroy(&reg->collect_lock);
    free(reg);
}

int sonde_registry_enabled(const sonde_registry *reg)
{
    return reg && reg->enabled;
}

const sonde_config *sonde_registry_config(const sonde_registry *reg)
{
    return reg ? &reg->cfg : NULL;
}

int sonde_register(sonde_registry *reg, const sonde_metric_opts *opts, sonde_metric **out)
{
    if (!out)
        return SONDE_EINVAL;
    *out = NULL;
    if (!reg)
        return SONDE_EINVAL;
    if (!reg->enabled)
        return opts && opts->name ? SONDE_OK : SONDE_EINVAL;
    pthread_mutex_lock(&reg->lock);
    int rc = register_locked(reg, opts, (sonde_family **)out);
    pthread_mutex_unlock(&reg->lock);
    return rc;
}

int sonde_unregister(sonde_metric *m)
{
    sonde_family *f = (sonde_family *)m;
    if (!f)
        return SONDE_OK; /* a NULL family is a no-op */
    sonde_registry *reg = f->reg;
    if (atomic_load_explicit(&f->owners, memory_order_acquire))
        return SONDE_EBUSY;
    pthread_mutex_lock(&reg->lock);
    size_t i = lower_bound_in(reg->fams, reg->fam_count, f->name);
    int found = i < reg->fam_count && reg->fams[i] == f;
    if (found) {
        memmove(&reg->fams[i], &reg->fams[i + 1], (reg->fam_count - i - 1) * sizeof *reg->fams);
        reg->fam_count--;
        const char *values[1] = {f->name};
        sonde_family_remove(reg->rejections, values);
        static const char *const reasons[] = {"too_long", "invalid_utf8"};
        for (size_t r = 0; r < 2; r++)
            sonde_family_remove(reg->label_rejections, (const char *[]){f->name, reasons[r]});
    }
    pthread_mutex_unlock(&reg->lock);
    if (!found)
        return SONDE_ENOENT;
    pthread_mutex_lock(&f->lock); /* waits for a scrape-time fn running now */
    f->unregistered = 1;
    pthread_mutex_unlock(&f->lock);
    family_unref(f); /* a scrape still holding it frees it when done */
    return SONDE_OK;
}

sonde_metric *sonde_registry_find(sonde_registry *reg, const char *name)
{
    if (!reg || !name)
        return NULL;
    pthread_mutex_lock(&reg->lock);
    sonde_family *f = lookup_locked(reg, name);
    pthread_mutex_unlock(&reg->lock);
    return (sonde_metric *)f;
}

sonde_type sonde_metric_type(const sonde_metric *m)
{
    return m ? ((const sonde_family *)m)->type : SONDE_UNTYPED;
}

const char *sonde_type_name(sonde_type t)
{
    switch (t) {
    case SONDE_COUNTER: return "counter";
    case SONDE_GAUGE: return "gauge";
    case SONDE_HISTOGRAM: return "histogram";
    case SONDE_SUMMARY: return "summary";
    case SONDE_INFO: return "info";
    case SONDE_STATESET: return "stateset";
    default: return "unknown";
    }
}

const char *sonde_metric_name(const sonde_metric *m)
{
    return m ? ((const sonde_family *)m)->name : NULL;
}

size_t sonde_metric_label_count(const sonde_metric *m)
{
    return m ? ((const sonde_family *)m)->label_count : 0;
}

const char *sonde_metric_help(const sonde_metric *m)
{
    return m ? ((const sonde_family *)m)->help : NULL;
}

const char *sonde_metric_unit(const sonde_metric *m)
{
    return m ? ((const sonde_family *)m)->unit : NULL;
}

const char *sonde_metric_label_name(const sonde_metric *m, size_t i)
{
    const sonde_family *f = (const sonde_family *)m;
    return f && i < f->label_count ? f->label_names[i] : NULL;
}

sonde_buckets sonde_metric_buckets(const sonde_metric *m)
{
    const sonde_family *f = (const sonde_family *)m;
    if (!f || f->type != SONDE_HISTOGRAM)
        return (sonde_buckets){NULL, 0};
    return (sonde_buckets){f->bounds, f->bound_count};
}

int sonde_registry_foreach(sonde_registry *reg, sonde_metric_visit_fn fn, void *ud)
{
    if (!reg || !fn)
        return SONDE_EINVAL;
    pthread_mutex_lock(&reg->lock);
    int rc = 0;
    for (size_t i = 0; i < reg->fam_count && !rc; i++)
        rc = fn((const sonde_metric *)reg->fams[i], ud);
    pthread_mutex_unlock(&reg->lock);
    return rc;
}

/* ---- children ------------------------------------------------------- */

/* The child of f (not NULL) for values, or NULL and why, past the thread's memo. */
static inline sonde_child_rc family_child(sonde_family *f, const char *const *values)
{
    if (f->fn)
        return (sonde_child_rc){NULL, SONDE_ETYPE}; /* scrape-time values have no children to update */
    if (f->label_count == 0)
        return (sonde_child_rc){f->solo, SONDE_OK};
    return sonde_family_child(f, values);
}

/* The thread's memo (memo.h): it only ever holds children that sonde_family_child() found
 * for a labelled family without a scrape-time value, so that a hit needs no other test. */
static inline sonde_child *memo_find(const sonde_family *f, const char *const *values)
{
    return sonde_memo_find(f->memo_at, atomic_load_explicit(&f->gen, memory_order_relaxed), f->label_count,
                           values);
}

/* The child of m for values, or NULL and why: sonde_metric_child() and the typed lookups,
 * which inline it. */
static inline sonde_child_rc metric_child(sonde_metric *m, const char *const *values)
{
    sonde_family *f = (sonde_family *)m;
    if (!f)
        return (sonde_child_rc){NULL, SONDE_OK}; /* a NULL family (disabled registry): its child is NULL too */
    sonde_child *c = memo_find(f, values);
    return c ? (sonde_child_rc){c, SONDE_OK} : family_child(f, values);
}

int sonde_metric_child(sonde_metric *m, const char *const *values, void **child)
{
    if (!child)
        return SONDE_EINVAL;
    sonde_child_rc c = metric_child(m, values);
    *child = c.child;
    return c.rc;
}

static inline void *typed_child(sonde_metric *m, sonde_type type, const char *const *values)
{
    sonde_family *f = (sonde_family *)m;
    if (!f || f->type != type)
        return NULL;
    sonde_child *c = memo_find(f, values);
    return __builtin_expect(c != NULL, 1) ? c : family_child(f, values).child;
}

sonde_counter *sonde_counter_with(sonde_metric *m, const char *const *v) { return typed_child(m, SONDE_COUNTER, v); }
sonde_gauge *sonde_gauge_with(sonde_metric *m, const char *const *v) { return typed_child(m, SONDE_GAUGE, v); }
sonde_histogram *sonde_histogram_with(sonde_metric *m, const char *const *v) { return typed_child(m, SONDE_HISTOGRAM, v); }
sonde_summary *sonde_summary_with(sonde_metric *m, const char *const *v) { return typed_child(m, SONDE_SUMMARY, v); }
sonde_stateset *sonde_stateset_with(sonde_metric *m, const char *const *v) { return typed_child(m, SONDE_STATESET, v); }

static void *solo_child(sonde_metric *m, sonde_type type)
{
    sonde_family *f = (sonde_family *)m;
    return f && f->type == type && !f->fn ? f->solo : NULL;
}

sonde_counter *sonde_counter_of(sonde_metric *m) { return solo_child(m, SONDE_COUNTER); }
sonde_gauge *sonde_gauge_of(sonde_metric *m) { return solo_child(m, SONDE_GAUGE); }
sonde_histogram *sonde_histogram_of(sonde_metric *m) { return solo_child(m, SONDE_HISTOGRAM); }
sonde_summary *sonde_summary_of(sonde_metric *m) { return solo_child(m, SONDE_SUMMARY); }

/* The unlabelled family of a shorthand constructor; *out is its built-in child (NULL when
 * the registry is disabled, as for every handle it gives out). */
static int register_simple(sonde_registry *reg, sonde_type type, const char *name,
                           const char *help, sonde_buckets buckets, void **out)
{
    if (!out)
        return SONDE_EINVAL;
    *out = NULL;
    sonde_metric_opts o = {.type = type, .name = name, .help = help, .buckets = buckets};
    sonde_metric *m = NULL;
    int rc = sonde_register(reg, &o, &m);
    if (rc == SONDE_OK)
        *out = solo_child(m, type);
    return rc;
}

int sonde_counter_new(sonde_registry *reg, const char *name, const char *help,
                      sonde_counter **out)
{
    return register_simple(reg, SONDE_COUNTER, name, help, (sonde_buckets){0}, (void **)out);
}

int sonde_gauge_new(sonde_registry *reg, const char *name, const char *help, sonde_gauge **out)
{
    return register_simple(reg, SONDE_GAUGE, name, help, (sonde_buckets){0}, (void **)out);
}

int sonde_histogram_new(sonde_registry *reg, const char *name, const char *help,
                        sonde_buckets buckets, sonde_histogram **out)
{
    return register_simple(reg, SONDE_HISTOGRAM, name, help, buckets, (void **)out);
}

/* ---- scrape-time values and collectors ------------------------------ */

int sonde_register_func(sonde_registry *reg, const sonde_metric_opts *opts, sonde_value_fn fn,
                        void *ud, sonde_metric **out)
{
    if (!out)
        return SONDE_EINVAL;
    *out = NULL;
    if (!reg || !opts || !fn)
        return SONDE_EINVAL;
    if (opts->label_count || (opts->type != SONDE_GAUGE && opts->type != SONDE_COUNTER))
        return SONDE_EINVAL;
    if (!reg->enabled)
        return SONDE_OK;
    pthread_mutex_lock(&reg->lock);
    int rc = register_locked(reg, opts, (sonde_family **)out);
    if (!rc) {
        sonde_family *f = (sonde_family *)*out;
        f->fn = fn;
        f->fn_ud = ud;
    }
    pthread_mutex_unlock(&reg->lock);
    return rc;
}

int sonde_collector_add(sonde_registry *reg, const char *name, sonde_collect_fn fn, void *ud,
                        sonde_collector **out)
{
    if (out)
        *out = NULL;
    if (!reg || !fn)
        return SONDE_EINVAL;
    if (!reg->enabled)
        return SONDE_OK;
    sonde_collector *c = calloc(1, sizeof *c);
    if (!c || !(c->name = dup_str(name))) {
        free(c);
        return SONDE_ENOMEM;
    }
    c->fn = fn;
    c->ud = ud;
    pthread_mutex_lock(&reg->collect_lock);
    sonde_collector **pp = &reg->collectors;
    while (*pp)
        pp = &(*pp)->next;
    *pp = c;
    pthread_mutex_unlock(&reg->collect_lock);
    if (out)
        *out = c;
    return SONDE_OK;
}

int sonde_collector_remove(sonde_registry *reg, sonde_collector *c)
{
    if (!reg)
        return SONDE_EINVAL;
    if (!c)
        return SONDE_OK; /* what a disabled registry handed out */
    pthread_mutex_lock(&reg->collect_lock); /* waits for a collector run in progress */
    sonde_collector **pp = &reg->collectors;
    while (*pp && *pp != c)
        pp = &(*pp)->next;
    int found = *pp != NULL;
    if (found)
        *pp = c->next;
    pthread_mutex_unlock(&reg->collect_lock);
    if (!found)
        return SONDE_ENOENT;
    free(c->name);
    free(c);
    return SONDE_OK;
}

/* ---- global labels and the default registry ------------------------- */

static char *render_global_labels(const sonde_config *cfg)
{
    size_t cap = 1;
    for (size_t i = 0; i < cfg->global_label_count; i++)
        cap += strlen(cfg->global_labels[i].name) + 2 * strlen(cfg->global_labels[i].value) + 5;
    char *out = malloc(cap), *p = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < cfg->global_label_count; i++) {
        if (i)
            *p++ = ',';
        size_t n = strlen(cfg->global_labels[i].name);
        memcpy(p, cfg->global_labels[i].name, n);
        p += n;
        *p++ = '=';
        *p++ = '"';
        p += sonde_escape_label_value(cfg->global_labels[i].value, p);
        *p++ = '"';
    }
    *p = '\0';
    return out;
}

static pthread_mutex_t default_lock = PTHREAD_MUTEX_INITIALIZER;
static sonde_registry *_Atomic default_registry;

/*
 * Create the default registry from cfg, or from the defaults and the
 * environment when cfg is NULL. A malformed environment is an error here;
 * the lazy path (sonde_default_registry) then falls back to the defaults
 * alone rather than guess at what the variable meant.
 */
static int create_default_locked(const sonde_config *cfg)
{
    sonde_config env;
    int rc = SONDE_OK;
    if (!cfg) {
        sonde_config_init(&env);
        rc = sonde_config_from_env(&env, NULL, 0);
        cfg = &env;
    }
    sonde_registry *reg = NULL;
    if (!rc)
        rc = sonde_registry_new(cfg, &reg);
    if (cfg == &env)
        sonde_config_cleanup(&env);
    if (!rc)
        atomic_store(&default_registry, reg);
    return rc;
}

int sonde_init(const sonde_config *cfg)
{
    pthread_mutex_lock(&default_lock);
    int rc = atomic_load(&default_registry) ? SONDE_EBUSY : create_default_locked(cfg);
    pthread_mutex_unlock(&default_lock);
    return rc;
}

sonde_registry *sonde_default_registry(void)
{
    sonde_registry *reg = atomic_load_explicit(&default_registry, memory_order_acquire);
    if (reg)
        return reg;
    pthread_mutex_lock(&default_lock);
    if (!atomic_load(&default_registry) && create_default_locked(NULL)) {
        sonde_config defaults;
        sonde_config_init(&defaults);
        create_default_locked(&defaults);
    }
    reg = atomic_load(&default_registry);
    pthread_mutex_unlock(&default_lock);
    return reg;
}
