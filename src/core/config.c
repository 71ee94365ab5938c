/*
 * config.c - defaults, environment parsing, validation and deep copies of
 * sonde_config.
 *
 * sonde_config_from_env() parses into a scratch copy and commits only when
 * every variable is well formed, so an error leaves the caller's struct as it
 * was. Strings it produces live in one owned block (owned_) that
 * sonde_config_cleanup() frees. Registries keep their own deep copy
 * (sonde_config_copy) so the caller's memory may go away after creation.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct env_owned {
    sonde_label labels[SONDE_MAX_GLOBAL_LABELS];
    /* path, address, and a name and value for each label of the caller's struct, of
     * SONDE_GLOBAL_LABELS and of the three SONDE_SERVICE_* style variables, even when a
     * later one replaces an earlier one of the same name */
    char *strings[4 * SONDE_MAX_GLOBAL_LABELS + 8];
    size_t string_count;
} env_owned;

void sonde_config_init(sonde_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->enabled = 1;
    cfg->metrics_path = "/metrics";
    cfg->listen_addr = NULL;
    cfg->port = SONDE_DEFAULT_PORT;
    cfg->process_metrics = 1;
    cfg->latency_buckets = SONDE_BUCKETS_DEFAULT;
    cfg->size_buckets = SONDE_BUCKETS_SIZE;
    cfg->cardinality_limit = SONDE_DEFAULT_CARDINALITY_LIMIT;
    cfg->label_value_max = SONDE_LABEL_VALUE_MAX;
}

static void owned_free(env_owned *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->string_count; i++)
        free(o->strings[i]);
    free(o);
}

/* The caller checks owned_full() first: NULL here means out of memory. */
static int owned_full(const env_owned *o, size_t more)
{
    return o->string_count + more > sizeof o->strings / sizeof o->strings[0];
}

static char *owned_dup(env_owned *o, const char *s, size_t len)
{
    if (owned_full(o, 1))
        return NULL;
    char *d = malloc(len + 1);
    if (!d)
        return NULL;
    memcpy(d, s, len);
    d[len] = '\0';
    o->strings[o->string_count++] = d;
    return d;
}

static int parse_bool(const char *s, int *out)
{
    static const char *yes[] = {"1", "true", "yes", "on"}, *no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (sonde_internal_ascii_ncasecmp(s, yes[i], SIZE_MAX) == 0) {
            *out = 1;
            return 1;
        }
        if (sonde_internal_ascii_ncasecmp(s, no[i], SIZE_MAX) == 0) {
            *out = 0;
            return 1;
        }
    }
    return 0;
}

/* Decimal digits only (no sign, blank or locale form), 1..65535. */
static int parse_port(const char *s, int *out)
{
    long v = 0;
    size_t i = 0;
    for (; s[i] >= '0' && s[i] <= '9' && v <= 65535; i++)
        v = v * 10 + (s[i] - '0');
    if (i == 0 || s[i] || v < 1 || v > 65535)
        return 0;
    *out = (int)v;
    return 1;
}

static int valid_address(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* Append one label to the env set, replacing an earlier one of the same name. */
static int add_label(env_owned *o, size_t *n, const char *name, size_t nlen, const char *value,
                     size_t vlen)
{
    if (owned_full(o, 2))
        return SONDE_ELIMIT;
    char *nm = owned_dup(o, name, nlen), *val = owned_dup(o, value, vlen);
    if (!nm || !val)
        return SONDE_ENOMEM;
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(o->labels[i].name, nm) == 0) {
            o->labels[i].value = val;
            return SONDE_OK;
        }
    }
    if (*n == SONDE_MAX_GLOBAL_LABELS)
        return SONDE_ELIMIT;
    o->labels[*n].name = nm;
    o->labels[*n].value = val;
    (*n)++;
    return SONDE_OK;
}

/* Labels sonde writes itself (histogram le, summary quantile, the rejection counter's metric)
 * cannot be global labels: every series of that kind would carry the name twice. */
static int reserved_global(const char *name)
{
    return strcmp(name, "le") == 0 || strcmp(name, "quantile") == 0 || strcmp(name, "metric") == 0;
}

static int parse_global_labels(env_owned *o, size_t *n, const char *s, char *errbuf, size_t errlen)
{
    const char *p = s;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (!eq || eq == p)
            return sonde_internal_errorf(errbuf, errlen, SONDE_ECONFIG,
                                "SONDE_GLOBAL_LABELS: expected k=v,k=v, got \"%.*s\"", (int)len, p);
        char name[128];
        size_t nlen = (size_t)(eq - p);
        if (nlen >= sizeof name)
            return sonde_internal_errorf(errbuf, errlen, SONDE_ECONFIG,
                                "SONDE_GLOBAL_LABELS: label name too long");
        memcpy(name, p, nlen);
        name[nlen] = '\0';
        if (!sonde_valid_label_name(name) || reserved_global(name))
            return sonde_internal_errorf(errbuf, errlen, SONDE_ECONFIG,
                                "SONDE_GLOBAL_LABELS: invalid or reserved label name \"%s\"", name);
        for (const char *q = s; q < p; q++) /* an earlier "name=" in this same variable */
            if ((q == s || q[-1] == ',') && strncmp(q, name, nlen) == 0 && q[nlen] == '=')
                return sonde_internal_errorf(errbuf, errlen, SONDE_ECONFIG,
                                    "SONDE_GLOBAL_LABELS: label %s is given twice", name);
        const char *value = eq + 1;
        size_t vlen = len - nlen - 1;
        if (!sonde_valid_utf8(value, vlen))
            return sonde_internal_errorf(errbuf, errlen, SONDE_ECONFIG,
                                "SONDE_GLOBAL_LABELS: value of %s is not UTF-8", name);
        int rc = add_label(o, n, name, nlen, value, vlen);
        if (rc == SONDE_ELIMIT)
            return sonde_internal_errorf(errbuf, errlen, SONDE_ECONFIG,
                                "SONDE_GLOBAL_LABELS: more than %d labels",
                                SONDE_MAX_GLOBAL_LABELS);
        if (rc)
            return sonde_internal_errorf(errbuf, errlen, rc, "SONDE_GLOBAL_LABELS: out of memory");
        if (!comma)
            break;
        p = comma + 1;
        if (!*p)
            return sonde_internal_errorf(errbuf, errlen, SONDE_ECONFIG,
                                "SONDE_GLOBAL_LABELS: trailing comma");
    }
    return SONDE_OK;
}

int sonde_config_from_env(sonde_config *cfg, char *errbuf, size_t errlen)
{
    if (!cfg)
        return SONDE_EINVAL;
    sonde_config next = *cfg;
    env_owned *o = calloc(1, sizeof *o);
    if (!o)
        return SONDE_ENOMEM;
    const char *v;
    int rc = SONDE_OK;
    if ((v = getenv("SONDE_METRICS_ENABLED")) && !parse_bool(v, &next.enabled))
        rc = sonde_internal_errorf(errbuf, errlen, SONDE_ECONFIG,
                          "SONDE_METRICS_ENABLED: expected true or false, got \"%s\"", v);
    if (!rc && (v = getenv("SONDE_METRICS_PATH"))) {
        if (v[0] != '/' || strpbrk(v, " ?#\t\r\n"))
            rc = sonde_internal_errorf(errbuf, errlen, SONDE_ECONFIG,
                              "SONDE_METRICS_PATH: expected a path such as /metrics, got \"%s\"",
                              v);
        else if (!(next.metrics_path = owned_dup(o, v, strlen(v))))
            rc = SONDE_ENOMEM;
    }
    if (!rc && (v = getenv("SONDE_METRICS_ADDR")) && !*v) {
        next.listen_addr = NULL; /* empty: all interfaces, as in the struct */
    } else if (!rc && v) {
        if (!valid_address(v))
            rc = sonde_internal_errorf(errbuf, errlen, SONDE_ECONFIG,
                              "SONDE_METRICS_ADDR: expected an IPv4 or IPv6 address, got \"%s\"",
                              v);
        else if (!(next.listen_addr = owned_dup(o, v, strlen(v))))
            rc = SONDE_ENOMEM;
    }
    if (!rc && (v = getenv("SONDE_METRICS_PORT")) && !parse_port(v, &next.port))
        rc = sonde_internal_errorf(errbuf, errlen, SONDE_ECONFIG,
                          "SONDE_METRICS_PORT: expected a port 1..65535, got \"%s\"", v);

    size_t n = 0;
    for (size_t i = 0; !rc && i < cfg->global_label_count && cfg->global_labels; i++) {
        const sonde_label *l = &cfg->global_labels[i];
        rc = add_label(o, &n, l->name, strlen(l->name), l->value, strlen(l->value));
    }
    if (!rc && (v = getenv("SONDE_GLOBAL_LABELS")) && *v)
        rc = parse_global_labels(o, &n, v, errbuf, errlen);
    static const char *const named[][2] = {{"SONDE_SERVICE_NAME", "service"},
                                           {"SONDE_SERVICE_VERSION", "version"},
                                           {"SONDE_ENVIRONMENT", "environment"}};
    for (size_t i = 0; !rc && i < 3; i++) {
        if (!(v = getenv(named[i][0])) || !*v)
            continue;
        if (!sonde_valid_utf8(v, strlen(v)))
            rc = sonde_internal_errorf(errbuf, errlen, SONDE_ECONFIG, "%s: not valid UTF-8", named[i][0]);
        else if ((rc = add_label(o, &n, named[i][1], strlen(named[i][1]), v, strlen(v))))
            rc = rc == SONDE_ENOMEM
                     ? sonde_internal_errorf(errbuf, errlen, rc, "%s: out of memory", named[i][0])
                     : sonde_internal_errorf(errbuf, errlen, SONDE_ECONFIG,
                                             "%s: too many global labels", named[i][0]);
    }
    if (rc) {
        owned_free(o);
        return rc;
    }
    next.global_labels = n ? o->labels : NULL;
    next.global_label_count = n;
    owned_free(cfg->owned_);
    next.owned_ = o;
    *cfg = next;
    return SONDE_OK;
}

void sonde_config_cleanup(sonde_config *cfg)
{
    if (!cfg)
        return;
    env_owned *o = cfg->owned_;
    if (o && cfg->global_labels == o->labels) {
        cfg->global_labels = NULL;
        cfg->global_label_count = 0;
    }
    if (o) {
        for (size_t i = 0; i < o->string_count; i++) {
            if (cfg->metrics_path == o->strings[i])
                cfg->metrics_path = "/metrics";
            if (cfg->listen_addr == o->strings[i])
                cfg->listen_addr = NULL;
        }
    }
    owned_free(o);
    cfg->owned_ = NULL;
}

int sonde_config_validate(const sonde_config *cfg, char *errbuf, size_t errlen)
{
    if (!cfg)
        return sonde_internal_errorf(errbuf, errlen, SONDE_EINVAL, "no configuration");
    if (cfg->port < 0 || cfg->port > 65535)
        return sonde_internal_errorf(errbuf, errlen, SONDE_ECONFIG, "port %d is outside 0..65535",
                            cfg->port);
    if (cfg->metrics_path && cfg->metrics_path[0] != '/')
        return sonde_internal_errorf(errbuf, errlen, SONDE_ECONFIG,
                            "metrics path \"%s\" must start with '/'", cfg->metrics_path);
    if (cfg->listen_addr && *cfg->listen_addr && !valid_address(cfg->listen_addr))
        return sonde_internal_errorf(errbuf, errlen, SONDE_ECONFIG,
                            "listen address \"%s\" is not an IP address", cfg->listen_addr);
    if (cfg->global_label_count > SONDE_MAX_GLOBAL_LABELS ||
        (cfg->global_label_count && !cfg->global_labels))
        return sonde_internal_errorf(errbuf, errlen, SONDE_ECONFIG, "global labels: bad count");
    for (size_t i = 0; i < cfg->global_label_count; i++) {
        const sonde_label *l = &cfg->global_labels[i];
        if (!sonde_valid_label_name(l->name) || reserved_global(l->name))
            return sonde_internal_errorf(errbuf, errlen, SONDE_ECONFIG,
                                "global label name \"%s\" is invalid or reserved",
                                l->name ? l->name : "(null)");
        if (!l->value || !sonde_valid_utf8(l->value, strlen(l->value)))
            return sonde_internal_errorf(errbuf, errlen, SONDE_ECONFIG,
                                "global label %s has no valid UTF-8 value", l->name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(cfg->global_labels[j].name, l->name) == 0)
                return sonde_internal_errorf(errbuf, errlen, SONDE_ECONFIG, "global label %s is repeated",
                                    l->name);
    }
    if (cfg->latency_buckets.count &&
        sonde_buckets_check(cfg->latency_buckets.bounds, cfg->latency_buckets.count))
        return sonde_internal_errorf(errbuf, errlen, SONDE_ECONFIG,
                            "latency buckets must be finite and strictly increasing");
    if (cfg->size_buckets.count && sonde_buckets_check(cfg->size_buckets.bounds, cfg->size_buckets.count))
        return sonde_internal_errorf(errbuf, errlen, SONDE_ECONFIG,
                            "size buckets must be finite and strictly increasing");
    if (cfg->cardinality_limit == 0)
        return sonde_internal_errorf(errbuf, errlen, SONDE_ECONFIG, "cardinality limit must be at least 1");
    return SONDE_OK;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Deep copy for a registry: one allocation per string, freed by sonde_config_free_copy(). */
int sonde_config_copy(sonde_config *dst, const sonde_config *src)
{
    memset(dst, 0, sizeof *dst);
    *dst = *src;
    dst->owned_ = NULL;
    dst->metrics_path = dup_or_null(src->metrics_path ? src->metrics_path : "/metrics");
    dst->listen_addr = dup_or_null(src->listen_addr);
    sonde_label *labels = src->global_label_count ? calloc(src->global_label_count, sizeof *labels) : NULL;
    sonde_buckets lat_src = src->latency_buckets.count ? src->latency_buckets : SONDE_BUCKETS_DEFAULT;
    sonde_buckets size_src = src->size_buckets.count ? src->size_buckets : SONDE_BUCKETS_SIZE;
    double *lat = calloc(lat_src.count, sizeof *lat);
    double *size = calloc(size_src.count, sizeof *size);
    dst->global_labels = labels;
    dst->latency_buckets.bounds = lat;
    dst->size_buckets.bounds = size;
    if (!dst->metrics_path || (src->listen_addr && !dst->listen_addr) ||
        (src->global_label_count && !labels) || !lat || !size) {
        sonde_config_free_copy(dst);
        return SONDE_ENOMEM;
    }
    for (size_t i = 0; i < src->global_label_count; i++) {
        labels[i].name = strdup(src->global_labels[i].name);
        labels[i].value = strdup(src->global_labels[i].value);
        if (!labels[i].name || !labels[i].value) {
            sonde_config_free_copy(dst);
            return SONDE_ENOMEM;
        }
    }
    memcpy(lat, lat_src.bounds, lat_src.count * sizeof *lat);
    memcpy(size, size_src.bounds, size_src.count * sizeof *size);
    dst->latency_buckets.count = lat_src.count;
    dst->size_buckets.count = size_src.count;
    return SONDE_OK;
}

void sonde_config_free_copy(sonde_config *c)
{
    free((char *)c->metrics_path);
    free((char *)c->listen_addr);
    for (size_t i = 0; c->global_labels && i < c->global_label_count; i++) {
        free((char *)c->global_labels[i].name);
        free((char *)c->global_labels[i].value);
    }
    free((sonde_label *)c->global_labels);
    free((double *)c->latency_buckets.bounds);
    free((double *)c->size_buckets.bounds);
    memset(c, 0, sizeof *c);
}
