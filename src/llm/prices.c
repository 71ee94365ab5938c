/*
 * prices.c - per-model price tables: prices per million input and output
 * tokens in a currency, built in code (sonde_llm_prices_add) or parsed from
 * text. A table is only read when a new series is created (the price is
 * cached in the series), so a plain array searched linearly is enough.
 * Parsing is all or nothing: lines go into a scratch table first and are
 * moved into the caller's table only when every line is good.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_internal.h"

typedef struct price {
    char *model;
    char *currency;
    double in, out; /* per million tokens */
} price;

struct sonde_llm_prices {
    price *items;
    size_t count, cap;
};

int sonde_llm_prices_new(sonde_llm_prices **out)
{
    if (!out)
        return SONDE_EINVAL;
    *out = calloc(1, sizeof **out);
    return *out ? SONDE_OK : SONDE_ENOMEM;
}

void sonde_llm_prices_free(sonde_llm_prices *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->count; i++) {
        free(p->items[i].model);
        free(p->items[i].currency);
    }
    free(p->items);
    free(p);
}

static const price *find(const sonde_llm_prices *p, const char *model)
{
    for (size_t i = 0; i < p->count; i++)
        if (strcmp(p->items[i].model, model) == 0)
            return &p->items[i];
    return NULL;
}

static int check(const sonde_llm_prices *p, const char *model, double in, double out,
                 const char *currency)
{
    if (!p || !model || !*model || !currency || !*currency || !(in >= 0) || !(out >= 0) ||
        isinf(in) || isinf(out))
        return SONDE_EINVAL;
    if (!sonde_valid_utf8(model, strlen(model)) || !sonde_valid_utf8(currency, strlen(currency)))
        return SONDE_EUTF8;
    return find(p, model) ? SONDE_EEXIST : SONDE_OK;
}

int sonde_llm_prices_add(sonde_llm_prices *p, const char *model, double input_per_million,
                         double output_per_million, const char *currency)
{
    int rc = check(p, model, input_per_million, output_per_million, currency);
    if (rc)
        return rc;
    if (p->count == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        price *items = realloc(p->items, cap * sizeof *items);
        if (!items)
            return SONDE_ENOMEM;
        p->items = items;
        p->cap = cap;
    }
    price *it = &p->items[p->count];
    it->model = strdup(model);
    it->currency = strdup(currency);
    if (!it->model || !it->currency) {
        free(it->model);
        free(it->currency);
        return SONDE_ENOMEM;
    }
    it->in = input_per_million;
    it->out = output_per_million;
    p->count++;
    return SONDE_OK;
}

size_t sonde_llm_prices_count(const sonde_llm_prices *p)
{
    return p ? p->count : 0;
}

int sonde_llm_prices_find(const sonde_llm_prices *p, const char *model, double *input_per_million,
                          double *output_per_million, const char **currency)
{
    if (!p || !model)
        return SONDE_EINVAL;
    const price *it = find(p, model);
    if (!it)
        return SONDE_ENOENT;
    if (input_per_million)
        *input_per_million = it->in;
    if (output_per_million)
        *output_per_million = it->out;
    if (currency)
        *currency = it->currency;
    return SONDE_OK;
}

int llm_prices_copy(const sonde_llm_prices *src, sonde_llm_prices **out)
{
    int rc = sonde_llm_prices_new(out);
    for (size_t i = 0; rc == SONDE_OK && i < src->count; i++)
        rc = sonde_llm_prices_add(*out, src->items[i].model, src->items[i].in, src->items[i].out,
                                  src->items[i].currency);
    if (rc) {
        sonde_llm_prices_free(*out);
        *out = NULL;
    }
    return rc;
}

/* A price field: a finite decimal number >= 0, the whole field. */
static int parse_price(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = sonde_strtod(s, &end);
    return end != s && *end == '\0' && errno == 0 && *v >= 0 && isfinite(*v);
}

/* Split line (modified in place) into at most 5 blank-separated fields; returns the count. */
static size_t split(char *line, char **field)
{
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(line, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
        if (n == 5)
            return 5;
        field[n++] = t;
    }
    return n;
}

static int parse_into(sonde_llm_prices *tmp, const sonde_llm_prices *p, char *text, char *err,
                      size_t errlen)
{
    size_t lineno = 0;
    char *save = NULL;
    for (char *line = text; line; line = save) {
        char *nl = strchr(line, '\n');
        save = nl ? nl + 1 : NULL;
        if (nl)
            *nl = '\0';
        lineno++;
        char *field[5];
        size_t n = split(line, field);
        if (n == 0 || field[0][0] == '#')
            continue;
        if (n != 4)
            return sonde_internal_errorf(err, errlen, SONDE_ECONFIG,
                                "line %zu: expected 4 fields \"model input_price output_price"
                                " currency\", found %zu",
                                lineno, n);
        double in, out;
        if (!parse_price(field[1], &in))
            return sonde_internal_errorf(err, errlen, SONDE_ECONFIG,
                                "line %zu: input price \"%s\" is not a number >= 0", lineno,
                                field[1]);
        if (!parse_price(field[2], &out))
            return sonde_internal_errorf(err, errlen, SONDE_ECONFIG,
                                "line %zu: output price \"%s\" is not a number >= 0", lineno,
                                field[2]);
        if (find(p, field[0]))
            return sonde_internal_errorf(err, errlen, SONDE_EEXIST,
                                "line %zu: model \"%s\" is already priced", lineno, field[0]);
        int rc = sonde_llm_prices_add(tmp, field[0], in, out, field[3]);
        if (rc == SONDE_EEXIST)
            return sonde_internal_errorf(err, errlen, rc, "line %zu: model \"%s\" is priced twice", lineno,
                                field[0]);
        if (rc == SONDE_EUTF8)
            return sonde_internal_errorf(err, errlen, rc, "line %zu: not valid UTF-8", lineno);
        if (rc)
            return sonde_internal_errorf(err, errlen, rc, "line %zu: %s", lineno, sonde_strerror(rc));
    }
    return SONDE_OK;
}

int sonde_llm_prices_parse(sonde_llm_prices *p, const char *text, char *err, size_t errlen)
{
    if (!p || !text)
        return sonde_internal_errorf(err, errlen, SONDE_EINVAL, "no price table or text");
    char *copy = strdup(text);
    sonde_llm_prices *tmp = NULL;
    int rc = copy ? sonde_llm_prices_new(&tmp) : SONDE_ENOMEM;
    if (rc == SONDE_OK)
        rc = parse_into(tmp, p, copy, err, errlen);
    if (rc == SONDE_OK && p->count + tmp->count > p->cap) {
        price *items = realloc(p->items, (p->count + tmp->count) * sizeof *items);
        if (items) {
            p->items = items;
            p->cap = p->count + tmp->count;
        } else {
            rc = SONDE_ENOMEM;
        }
    }
    if (rc == SONDE_OK && tmp->count) { /* an empty text adds nothing (items may be NULL) */
        memcpy(p->items + p->count, tmp->items, tmp->count * sizeof *tmp->items);
        p->count += tmp->count;
        tmp->count = 0;
    } else if (rc == SONDE_ENOMEM) {
        sonde_internal_errorf(err, errlen, rc, "out of memory");
    }
    sonde_llm_prices_free(tmp);
    free(copy);
    return rc;
}

int sonde_llm_prices_load(sonde_llm_prices *p, const char *path, char *err, size_t errlen)
{
    if (!p || !path)
        return sonde_internal_errorf(err, errlen, SONDE_EINVAL, "no price table or path");
    FILE *f = fopen(path, "rb");
    if (!f)
        return sonde_internal_errorf(err, errlen, SONDE_EIO, "%s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = SONDE_OK;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap);
            if (!nb) {
                rc = sonde_internal_errorf(err, errlen, SONDE_ENOMEM, "%s: out of memory", path);
                break;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0) {
            if (ferror(f))
                rc = sonde_internal_errorf(err, errlen, SONDE_EIO, "%s: read error", path);
            break;
        }
    }
    fclose(f);
    if (rc == SONDE_OK) {
        buf[len] = '\0';
        if (memchr(buf, '\0', len))
            rc = sonde_internal_errorf(err, errlen, SONDE_ECONFIG, "%s: contains a NUL byte", path);
        else
            rc = sonde_llm_prices_parse(p, buf, err, errlen);
    }
    free(buf);
    return rc;
}
