/*
 * emit.c - custom collectors: at every scrape each collector of the
 * registry runs and writes whole families through an emitter straight into
 * the render. Names, label names and values are validated on the way; an
 * invalid family or sample is refused with an error code and left out, so a
 * collector bug can never corrupt the exposition: label names must be valid,
 * distinct and not those of the global labels, and a suffix must belong to
 * the family's type. A label value that is not UTF-8 or is longer than the
 * registry's label_value_max is counted, as one refused at series creation is,
 * in sonde_label_rejections_total{metric=<family>,reason} (family.c), at each
 * run that emits it. As at registration, a counter named "foo_total" is the
 * family "foo" and an info named "foo_info" the family "foo". A family name
 * appears once per scrape: one that a registered family or an earlier
 * collector family already wrote is refused (the registered ones are those
 * of the render's snapshot). Collectors run under the registry's collector
 * lock only, so they may use the registry; they must not add or remove
 * collectors. Their output is held in memory while they run and written
 * after, so the caller's write callback never runs under that lock either.
 * The OTLP metrics encoder runs them into a sink (render.h) instead of text.
 */
#include <stdlib.h>
#include <string.h>

#include "render.h"

struct sonde_emitter {
    sonde_render *r;
    sonde_registry *reg;     /* counts refused label values */
    const sonde_config *cfg; /* for the global label names */
    int open;        /* a valid family is open */
    sonde_type type;
    char name[256];
};

static int emitted_before(const sonde_render *r, const char *name)
{
    for (size_t i = 0; i < r->emitted_count; i++)
        if (strcmp(r->emitted[i], name) == 0)
            return 1;
    return 0;
}

static int remember_emitted(sonde_render *r, const char *name)
{
    if (r->emitted_count == r->emitted_cap) {
        size_t cap = r->emitted_cap ? 2 * r->emitted_cap : 16;
        char **n = realloc(r->emitted, cap * sizeof *n);
        if (!n)
            return -1;
        r->emitted = n;
        r->emitted_cap = cap;
    }
    if (!(r->emitted[r->emitted_count] = strdup(name)))
        return -1;
    r->emitted_count++;
    return 0;
}

int sonde_emit_family(sonde_emitter *e, const char *name, const char *help, sonde_type type,
                      const char *unit)
{
    if (!e)
        return SONDE_EINVAL;
    e->open = 0;
    if (!sonde_valid_metric_name(name) || strlen(name) >= sizeof e->name)
        return SONDE_ENAME;
    if (help && !sonde_valid_utf8(help, strlen(help)))
        return SONDE_EUTF8;
    if (type > SONDE_UNTYPED || type == SONDE_HISTOGRAM || type == SONDE_SUMMARY ||
        type == SONDE_STATESET)
        return SONDE_EINVAL; /* collectors emit counters, gauges, infos and untyped values */
    if (unit && *unit) {
        size_t n = strlen(name), u = strlen(unit);
        if (!sonde_valid_label_name(unit) || u >= n || strcmp(name + n - u, unit) != 0 ||
            name[n - u - 1] != '_')
            return SONDE_ENAME;
    }
    strcpy(e->name, name);
    size_t n = strlen(name);
    if (type == SONDE_COUNTER && n > 6 && strcmp(name + n - 6, "_total") == 0)
        e->name[n - 6] = '\0';
    else if (type == SONDE_INFO && n > 5 && strcmp(name + n - 5, "_info") == 0)
        e->name[n - 5] = '\0';
    if (sonde_families_lookup(e->r->fams, e->r->fam_count, e->name) || emitted_before(e->r, e->name))
        return SONDE_EEXIST; /* that family is already in the output */
    if (remember_emitted(e->r, e->name)) {
        e->r->scratch_err = 1; /* the render fails as a whole: no family silently missing */
        return SONDE_ENOMEM;
    }
    e->type = type;
    e->open = 1;
    if (e->r->sink)
        e->r->sink->family(e->r->sink->ud, e->name, help, type, unit);
    else if (e->r->protobuf)
        sonde_pb_family_begin(e->r, e->name, help, type);
    else
        sonde_render_header(e->r, e->name, help, type, unit);
    return SONDE_OK;
}

int sonde_emit_sample(sonde_emitter *e, const char *suffix, const sonde_label *labels, size_t n,
                      double value)
{
    if (!e || !e->open || (n && !labels))
        return SONDE_EINVAL;
    if (suffix && !(e->type == SONDE_COUNTER && (!strcmp(suffix, "_total") || !strcmp(suffix, "_created"))) &&
        !(e->type == SONDE_INFO && !strcmp(suffix, "_info")))
        return SONDE_ENAME;
    if (!suffix && !e->r->sink)
        suffix = e->type == SONDE_COUNTER ? "_total" : e->type == SONDE_INFO ? "_info" : "";
    for (size_t i = 0; i < n; i++) {
        if (!sonde_valid_label_name(labels[i].name))
            return SONDE_ENAME;
        for (size_t j = 0; j < i; j++)
            if (strcmp(labels[j].name, labels[i].name) == 0)
                return SONDE_ENAME;
        for (size_t j = 0; j < e->cfg->global_label_count; j++)
            if (strcmp(e->cfg->global_labels[j].name, labels[i].name) == 0)
                return SONDE_ENAME;
        if (!labels[i].value)
            return SONDE_EUTF8;
        size_t len = strlen(labels[i].value);
        if (!sonde_valid_utf8(labels[i].value, len)) {
            sonde_label_rejection_count(e->reg, e->name, "invalid_utf8");
            return SONDE_EUTF8;
        }
        size_t max = e->cfg->label_value_max ? e->cfg->label_value_max : SONDE_LABEL_VALUE_MAX;
        if (len > max) {
            sonde_label_rejection_count(e->reg, e->name, "too_long");
            return SONDE_ETOOLONG;
        }
    }
    if (!e->r->openmetrics && strcmp(suffix, "_created") == 0)
        return SONDE_OK; /* text 0.0.4 has no _created samples (validated all the same) */
    if (e->r->sink) {
        e->r->sink->sample(e->r->sink->ud, suffix, labels, n, value);
        return SONDE_OK;
    }
    if (e->r->protobuf) {
        sonde_pb_emit_sample(e->r, labels, n, value);
        return SONDE_OK;
    }
    sonde_render_labels_begin(e->r);
    for (size_t i = 0; i < n; i++)
        sonde_render_label(e->r, labels[i].name, labels[i].value, strlen(labels[i].value));
    sonde_render_sample(e->r, e->name, suffix, NULL, NULL, value);
    return SONDE_OK;
}

/* Collector output, held in memory until the collector lock is released. */
typedef struct held_output {
    char *buf;
    size_t len, cap;
    int failed;
} held_output;

static int hold_write(void *ud, const char *data, size_t len)
{
    held_output *h = ud;
    if (h->len + len > h->cap) {
        size_t cap = h->cap ? h->cap : 4096;
        while (cap < h->len + len)
            cap *= 2;
        char *b = realloc(h->buf, cap);
        if (!b) {
            h->failed = 1;
            return 1;
        }
        h->buf = b;
        h->cap = cap;
    }
    memcpy(h->buf + h->len, data, len);
    h->len += len;
    return 0;
}

/* Every collector of reg into r, under the collector lock; forgets the names emitted. */
static void run_collectors(sonde_render *r, sonde_registry *reg)
{
    pthread_mutex_lock(&reg->collect_lock);
    for (sonde_collector *c = reg->collectors; c && !r->out.err; c = c->next) {
        sonde_emitter e = {.r = r, .reg = reg, .cfg = &reg->cfg};
        c->fn(&e, c->ud);
    }
    if (!r->sink) {
        sonde_pb_family_end(r);
        sonde_out_flush(&r->out);
    }
    pthread_mutex_unlock(&reg->collect_lock);
    for (size_t i = 0; i < r->emitted_count; i++)
        free(r->emitted[i]);
    free(r->emitted);
    r->emitted = NULL;
    r->emitted_count = r->emitted_cap = 0;
}

int sonde_collectors_to_sink(sonde_registry *reg, sonde_family *const *fams, size_t n,
                             const sonde_render_sink *sink)
{
    sonde_render r = {.sink = sink, .openmetrics = 1, .fams = (sonde_family **)fams, .fam_count = n};
    run_collectors(&r, reg);
    return r.scratch_err ? SONDE_ENOMEM : SONDE_OK;
}

void sonde_render_collectors(sonde_render *r, sonde_registry *reg)
{
    /* the caller's write callback never runs under the collector lock: what the families
     * wrote goes out first, what collectors write is held and goes out after */
    sonde_out_flush(&r->out);
    sonde_write_fn write = r->out.write;
    void *ud = r->out.ud;
    held_output held = {0};
    r->out.write = hold_write;
    r->out.ud = &held;
    run_collectors(r, reg);
    r->out.write = write;
    r->out.ud = ud;
    if (held.failed)
        r->out.err = SONDE_ENOMEM;
    else if (held.len && !r->out.err && write(ud, held.buf, held.len))
        r->out.err = SONDE_EWRITE;
    free(held.buf);
}
