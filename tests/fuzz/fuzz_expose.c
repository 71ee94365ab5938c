/*
 * fuzz_expose.c - the exposition writer on random registries. The input
 * builds up to six families (counter, gauge, histogram, summary) with fuzzed
 * names, help, units, buckets, label names and label values (any bytes:
 * quotes, backslashes, newlines, invalid UTF-8) and fuzzed values (NaN,
 * infinities, negative zero...). Both formats are rendered and re-read line
 * by line:
 *  - every line is a well-formed # HELP / # TYPE / # UNIT / # EOF line or a
 *    sample "name{label="value",...} value", names pass the core's own
 *    checks, escapes are only those the format allows, unescaped label values
 *    are valid UTF-8, values parse (C locale) completely;
 *  - escaping round-trips: the unescaped label values of every sample are
 *    exactly those of a series the input created, and every created series
 *    of a counter or gauge appears;
 *  - a gauge's sample reads back to the same bits it was set to;
 *  - OpenMetrics ends with "# EOF" and nothing after it;
 *  - exemplars (counters and histograms record some with fuzzed span
 *    contexts, sampled or not, valid or not): only in OpenMetrics, only on
 *    _total and _bucket samples, exactly ` # {trace_id="<32 hex>",span_id=
 *    "<16 hex>"} value timestamp` with labels of at most 128 characters; a
 *    counter's is the latest accepted add with a sampled valid context (none
 *    otherwise, also after cell ranges of earlier inputs were reused); a
 *    bucket's value lies within that bucket.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "internal.h"
#include "sonde/sonde.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FAMILIES 6
#define MAX_SERIES 5
#define MAX_LABELS 2

typedef struct series {
    char values[MAX_LABELS][48];
    double gauge; /* last value set, gauges only */
    int seen;     /* samples found in the current rendering */
    char exemplar[128]; /* counters: the expected exemplar text after " # ", "" for none */
} series;

typedef struct family {
    char name[64];
    sonde_type type;
    size_t label_count;
    char labels[MAX_LABELS][32];
    series s[MAX_SERIES];
    size_t n;
} family;

typedef struct model {
    family f[MAX_FAMILIES];
    size_t n;
} model;

static void fail(const char *why, const char *line, size_t len)
{
    fprintf(stderr, "fuzz_expose: %s: %.*s\n", why, (int)len, line);
    abort();
}

static const char *name_end(const char *p, const char *end)
{
    while (p < end && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                       (*p >= '0' && *p <= '9') || *p == '_' || *p == ':'))
        p++;
    return p;
}

static int valid_value(const char *p, size_t n, double *v)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return 0;
    memcpy(buf, p, n);
    buf[n] = '\0';
    if (!strcmp(buf, "NaN")) {
        *v = NAN;
        return 1;
    }
    if (!strcmp(buf, "+Inf") || !strcmp(buf, "-Inf")) {
        *v = buf[0] == '+' ? INFINITY : -INFINITY;
        return 1;
    }
    char *e;
    *v = strtod(buf, &e);
    return *e == '\0' && (buf[0] == '-' || (buf[0] >= '0' && buf[0] <= '9'));
}

/* The family a sample name belongs to: "f<i>_..." with i registered. */
static family *owner(model *m, const char *name, size_t n)
{
    if (n < 3 || name[0] != 'f' || name[1] < '0' || name[1] > '9' || name[2] != '_')
        return NULL;
    size_t i = (size_t)(name[1] - '0');
    return i < m->n && m->f[i].name[0] ? &m->f[i] : NULL;
}

/* The exemplar part of a sample line, after " # ": checks its shape and returns its value. */
static double check_exemplar(const char *x, size_t n, const char *line, size_t len)
{
    static const char head[] = "{trace_id=\"", mid[] = "\",span_id=\"";
    const char *end = x + n, *p = x;
    if (n < sizeof head - 1 + 32 + sizeof mid - 1 + 16 + 3 || memcmp(p, head, sizeof head - 1))
        fail("bad exemplar", line, len);
    p += sizeof head - 1;
    for (int i = 0; i < 32; i++, p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            fail("bad exemplar trace id", line, len);
    if (memcmp(p, mid, sizeof mid - 1))
        fail("bad exemplar", line, len);
    p += sizeof mid - 1;
    for (int i = 0; i < 16; i++, p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            fail("bad exemplar span id", line, len);
    if (p + 3 > end || memcmp(p, "\"} ", 3))
        fail("bad exemplar", line, len);
    /* label names and values: 8 + 32 + 7 + 16 characters, within OpenMetrics' 128 */
    p += 3;
    const char *sp = memchr(p, ' ', (size_t)(end - p));
    double v = 0, ts = 0;
    if (!sp || !valid_value(p, (size_t)(sp - p), &v) || !valid_value(sp + 1, (size_t)(end - sp - 1), &ts) ||
        isnan(ts) || isinf(ts) || ts <= 0)
        fail("bad exemplar value or timestamp", line, len);
    return v;
}

/* Check one sample line; mark the series it shows. */
static void check_sample(model *m, const char *line, size_t len, int om)
{
    const char *end = line + len, *p = name_end(line, end);
    size_t nlen = (size_t)(p - line);
    char name[256];
    if (nlen == 0 || nlen >= sizeof name)
        fail("bad sample name", line, len);
    memcpy(name, line, nlen);
    name[nlen] = '\0';
    if (!sonde_valid_metric_name(name))
        fail("invalid sample name", line, len);
    family *f = owner(m, name, nlen);
    char got[MAX_LABELS][48];
    int have[MAX_LABELS] = {0};
    char le[64] = "";
    if (p < end && *p == '{') {
        p++;
        while (p < end && *p != '}') {
            const char *ln = p;
            p = name_end(p, end);
            char lname[64];
            size_t ll = (size_t)(p - ln);
            if (ll == 0 || ll >= sizeof lname || p + 1 >= end || p[0] != '=' || p[1] != '"')
                fail("bad label", line, len);
            memcpy(lname, ln, ll);
            lname[ll] = '\0';
            if (!sonde_valid_label_name(lname))
                fail("invalid label name", line, len);
            p += 2;
            char val[256];
            size_t vl = 0;
            while (p < end && *p != '"') {
                char c = *p++;
                if (c == '\\') {
                    if (p >= end || (*p != '\\' && *p != '"' && *p != 'n'))
                        fail("bad escape in label value", line, len);
                    c = *p == 'n' ? '\n' : *p;
                    p++;
                } else if (c == '\n') {
                    fail("raw newline in label value", line, len);
                }
                if (vl + 1 >= sizeof val)
                    fail("label value too long", line, len);
                val[vl++] = c;
            }
            if (p >= end)
                fail("unterminated label value", line, len);
            p++; /* closing quote */
            val[vl] = '\0';
            if (!sonde_valid_utf8(val, vl))
                fail("label value not UTF-8", line, len);
            if (!strcmp(lname, "le") && vl < sizeof le)
                memcpy(le, val, vl + 1);
            for (size_t i = 0; f && i < f->label_count; i++) {
                if (!strcmp(lname, f->labels[i])) {
                    if (have[i] || vl >= sizeof got[i])
                        fail("label twice or too long", line, len);
                    memcpy(got[i], val, vl + 1);
                    have[i] = 1;
                }
            }
            if (p < end && *p == ',')
                p++;
            else if (p < end && *p != '}')
                fail("no comma between labels", line, len);
        }
        if (p >= end)
            fail("unterminated label set", line, len);
        p++;
    }
    if (p >= end || *p != ' ')
        fail("no space before the value", line, len);
    p++;
    const char *sp = memchr(p, ' ', (size_t)(end - p));
    double v;
    if (!valid_value(p, (size_t)((sp ? sp : end) - p), &v))
        fail("bad value", line, len);
    if (sp && !om)
        fail("text sample with more than a value", line, len);
    const char *exemplar = NULL;
    if (sp && sp + 3 <= end && !memcmp(sp, " # ", 3)) {
        exemplar = sp + 3;
        int bucket = nlen > 7 && !strcmp(name + nlen - 7, "_bucket");
        if (!bucket && !(nlen > 6 && !strcmp(name + nlen - 6, "_total")))
            fail("exemplar on a sample that cannot carry one", line, len);
        double ev = check_exemplar(exemplar, (size_t)(end - exemplar), line, len);
        if (bucket) { /* within (the previous bound, le]: at least not above le */
            double bound;
            if (!valid_value(le, strlen(le), &bound) || !(ev <= bound))
                fail("exemplar value outside its bucket", line, len);
        }
    } else if (sp && !valid_value(sp + 1, (size_t)(end - sp - 1), &v)) {
        fail("bad timestamp", line, len);
    }
    if (!f)
        return;
    for (size_t i = 0; i < f->label_count; i++)
        if (!have[i])
            fail("series label missing", line, len);
    series *s = NULL;
    for (size_t i = 0; i < f->n && !s; i++) {
        int same = 1;
        for (size_t j = 0; j < f->label_count; j++)
            same &= !strcmp(f->s[i].values[j], got[j]);
        if (same)
            s = &f->s[i];
    }
    if (!s)
        fail("escaping did not round-trip: no such series", line, len);
    s->seen++;
    if (f->type == SONDE_COUNTER && nlen > 6 && !strcmp(name + nlen - 6, "_total")) {
        size_t want = strlen(s->exemplar), got_len = exemplar ? (size_t)(end - exemplar) : 0;
        /* the expected text stops before the timestamp */
        if (!om ? exemplar != NULL
                : want ? !exemplar || got_len <= want || memcmp(exemplar, s->exemplar, want) ||
                             exemplar[want] != ' '
                       : exemplar != NULL)
            fail("counter exemplar is not the latest recorded", line, len);
    }
    if (f->type == SONDE_GAUGE && !sp) {
        double back;
        valid_value(p, (size_t)(end - p), &back);
        if (memcmp(&back, &s->gauge, sizeof back) && !(isnan(back) && isnan(s->gauge)))
            fail("gauge value changed", line, len);
    }
}

static void check_meta(const char *line, size_t len, int om)
{
    const char *end = line + len, *p = line + 2;
    const char *kind_end = memchr(p, ' ', (size_t)(end - p));
    if (!kind_end)
        fail("bad comment line", line, len);
    size_t kl = (size_t)(kind_end - p);
    int help = kl == 4 && !memcmp(p, "HELP", 4), type = kl == 4 && !memcmp(p, "TYPE", 4),
        unit = kl == 4 && !memcmp(p, "UNIT", 4);
    if (!help && !type && !(unit && om))
        fail("unknown comment line", line, len);
    p = kind_end + 1;
    const char *ne = name_end(p, end);
    char name[256];
    if (ne == p || (size_t)(ne - p) >= sizeof name || ne >= end || *ne != ' ')
        fail("bad name in comment line", line, len);
    memcpy(name, p, (size_t)(ne - p));
    name[ne - p] = '\0';
    if (!sonde_valid_metric_name(name))
        fail("invalid name in comment line", line, len);
    p = ne + 1;
    if (type) {
        static const char *const types[] = {"counter", "gauge", "histogram", "summary",
                                            "untyped", "unknown", "info", "stateset"};
        int known = 0;
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            known |= (size_t)(end - p) == strlen(types[i]) && !memcmp(p, types[i], strlen(types[i]));
        if (!known)
            fail("unknown type", line, len);
    }
    for (; help && p < end; p++) {
        if (om && *p == '"') /* OpenMetrics: a quote in HELP is escaped too */
            fail("raw quote in help", line, len);
        if (*p != '\\')
            continue;
        p++;
        if (p >= end || (*p != '\\' && *p != 'n' && !(om && *p == '"')))
            fail("bad escape in help", line, len);
    }
    if (!sonde_valid_utf8(line, len))
        fail("comment line not UTF-8", line, len);
}

static void check_render(model *m, const char *text, size_t len, int om)
{
    for (size_t i = 0; i < m->n; i++)
        for (size_t j = 0; j < m->f[i].n; j++)
            m->f[i].s[j].seen = 0;
    if (len == 0 || text[len - 1] != '\n')
        fail("rendering does not end with a newline", text, len);
    int eof = 0;
    for (const char *line = text; line < text + len;) {
        const char *nl = memchr(line, '\n', (size_t)(text + len - line));
        size_t n = (size_t)(nl - line);
        if (eof)
            fail("text after # EOF", line, n);
        if (n == 5 && !memcmp(line, "# EOF", 5) && om)
            eof = 1;
        else if (n >= 2 && line[0] == '#' && line[1] == ' ')
            check_meta(line, n, om);
        else
            check_sample(m, line, n, om);
        line = nl + 1;
    }
    if (om && !eof)
        fail("OpenMetrics without # EOF", text, len);
    for (size_t i = 0; i < m->n; i++)
        for (size_t j = 0; j < m->f[i].n; j++)
            if (m->f[i].name[0] && !m->f[i].s[j].seen)
                fail("a created series is missing", m->f[i].name, strlen(m->f[i].name));
}

static void build(fuzz_input *in, sonde_registry *reg, model *m)
{
    m->n = 1 + fuzz_below(in, MAX_FAMILIES);
    for (size_t i = 0; i < m->n; i++) {
        family *f = &m->f[i];
        memset(f, 0, sizeof *f);
        static const sonde_type types[] = {SONDE_COUNTER, SONDE_GAUGE, SONDE_HISTOGRAM,
                                           SONDE_SUMMARY};
        f->type = types[fuzz_below(in, 4)];
        char suffix[32], help[64], unit[16];
        fuzz_name(in, suffix, sizeof suffix);
        snprintf(f->name, sizeof f->name, "f%zu_%s", i, suffix);
        fuzz_string(in, help, sizeof help);
        int with_unit = fuzz_byte(in) & 1;
        fuzz_name(in, unit, sizeof unit);
        if (with_unit) /* often a suffix of the name, as OpenMetrics wants */
            snprintf(f->name + strlen(f->name), sizeof f->name - strlen(f->name), "_%s", unit);
        f->label_count = fuzz_below(in, MAX_LABELS + 1);
        const char *lnames[MAX_LABELS];
        for (size_t j = 0; j < f->label_count; j++) {
            fuzz_name(in, f->labels[j], sizeof f->labels[j]);
            lnames[j] = f->labels[j];
        }
        double bounds[4];
        size_t nb = fuzz_below(in, 5);
        for (size_t j = 0; j < nb; j++)
            bounds[j] = fuzz_double(in);
        sonde_metric_opts o = {.type = f->type, .name = f->name, .help = help,
                               .unit = with_unit ? unit : NULL, .label_names = lnames,
                               .label_count = f->label_count, .buckets = {bounds, nb}};
        sonde_metric *metric = NULL;
        if (sonde_register(reg, &o, &metric) != SONDE_OK) {
            f->name[0] = '\0';
            continue;
        }
        snprintf(f->name, sizeof f->name, "%s", sonde_metric_name(metric));
        if (f->label_count == 0)
            f->n = 1; /* an unlabelled family has its one series from the start, at 0 */
        size_t want = fuzz_below(in, MAX_SERIES + 1);
        for (size_t k = 0; k < want; k++) {
            char vals[MAX_LABELS][48];
            const char *vp[MAX_LABELS];
            for (size_t j = 0; j < f->label_count; j++) {
                fuzz_string(in, vals[j], sizeof vals[j]);
                vp[j] = vals[j];
            }
            void *child = NULL;
            double v = fuzz_double(in);
            if (sonde_metric_child(metric, f->label_count ? vp : NULL, &child) != SONDE_OK)
                continue;
            series *s = NULL;
            for (size_t x = 0; x < f->n && !s; x++) {
                int same = 1;
                for (size_t j = 0; j < f->label_count; j++)
                    same &= !strcmp(f->s[x].values[j], vals[j]);
                if (same)
                    s = &f->s[x];
            }
            if (!s) {
                s = &f->s[f->n++];
                for (size_t j = 0; j < f->label_count; j++)
                    memcpy(s->values[j], vals[j], sizeof vals[j]);
            }
            /* a fuzzed context: sampled or not, ids possibly all zero */
            sonde_span_context ctx;
            memset(&ctx, 0, sizeof ctx);
            int with_exemplar = fuzz_byte(in) & 1;
            if (with_exemplar) {
                uint8_t shape = fuzz_byte(in);
                for (int b = 0; b < 16; b++)
                    ctx.trace_id[b] = shape & 2 ? fuzz_byte(in) : 0;
                for (int b = 0; b < 8; b++)
                    ctx.span_id[b] = shape & 4 ? fuzz_byte(in) : 0;
                ctx.flags = shape & 1 ? SONDE_TRACE_FLAG_SAMPLED : 0;
            }
            switch (f->type) {
            case SONDE_COUNTER:
                if (!with_exemplar) {
                    sonde_counter_add(child, v);
                    break;
                }
                if (sonde_counter_add_exemplar(child, v, &ctx) == SONDE_OK && sonde_span_context_valid(&ctx) &&
                    (ctx.flags & SONDE_TRACE_FLAG_SAMPLED)) {
                    char tid[33], sid[17], num[32];
                    sonde_trace_id_hex(ctx.trace_id, tid);
                    sonde_span_id_hex(ctx.span_id, sid);
                    sonde_format_double(v, num);
                    snprintf(s->exemplar, sizeof s->exemplar, "{trace_id=\"%s\",span_id=\"%s\"} %s", tid,
                             sid, num);
                }
                break;
            case SONDE_GAUGE:
                sonde_gauge_set(child, v);
                s->gauge = v;
                break;
            case SONDE_HISTOGRAM:
                if (with_exemplar)
                    sonde_histogram_observe_exemplar(child, v, &ctx);
                else
                    sonde_histogram_observe(child, v);
                break;
            default:
                sonde_summary_observe(child, v);
                break;
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size};
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    sonde_registry *reg = NULL;
    if (sonde_registry_new(&cfg, &reg))
        return 0;
    static model m;
    build(&in, reg, &m);
    for (int om = 0; om < 2; om++) {
        size_t len = 0;
        char *text = sonde_expose_alloc(reg, om ? SONDE_FORMAT_OPENMETRICS : SONDE_FORMAT_TEXT, &len);
        if (!text)
            abort();
        if (len)
            check_render(&m, text, len, om);
        else if (om)
            fail("empty OpenMetrics", "", 0);
        free(text);
    }
    sonde_registry_free(reg);
    return 0;
}
