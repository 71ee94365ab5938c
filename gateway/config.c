/*
 * config.c - the gateway's configuration: built-in defaults, then a JSON file
 * (parsed with jansson), then command-line flags (main.c).
 *
 * The file format is documented in docs/gateway.md. There is always an
 * upstream named "sim" (the simulator, which the file may retune) and a model
 * named "sonde-sim" on it (which the file may redefine). Models not listed
 * are refused with 404 unless "default_upstream" names an upstream to pass
 * them to (labelled "_other", see labels.c). Model and tool names are label
 * values, so they are bounded (SONDE_LABEL_VALUE_MAX bytes) and "_other" is
 * reserved. Unknown keys are errors, so a typo never passes silently.
 * Secrets may come from the environment (api_key_env, key_env, password_env)
 * so they need not be written in the file. "redis" names the Redis that
 * several gateways share their keys' limits and daily budgets through
 * (limits.c); a key's "daily_budget" bounds its tokens and cost per UTC day.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "mcp_client.h"

static gw_upstream *upstream_new(const char *name, gw_upstream_kind kind)
{
    gw_upstream *u = calloc(1, sizeof *u);
    if (!u) return NULL;
    u->name = strdup(name);
    u->kind = kind;
    u->provider = strdup(kind == GW_UP_SIM ? "sonde.sim" : "openai");
    u->sim = (gw_sim_opts){.ttft_ms = 200, .itl_ms = 20, .jitter_ms = 5, .output_tokens = 64,
                           .error_rate = 0, .timeout_rate = 0, .embedding_dims = 8,
                           .ratelimit_window_ms = 60000};
    pthread_mutex_init(&u->sim_window.mu, NULL);
    u->connect_timeout_ms = GW_CONNECT_TIMEOUT_MS;
    u->first_byte_timeout_ms = GW_FIRST_BYTE_TIMEOUT_MS;
    u->idle_timeout_ms = GW_IDLE_TIMEOUT_MS;
    u->timeout_ms = 60000;
    atomic_init(&u->up, kind == GW_UP_SIM);
    if (kind == GW_UP_SIM) u->host = strdup("sim");
    if (!u->name || !u->provider) {
        free(u->name);
        free(u->provider);
        free(u->host);
        pthread_mutex_destroy(&u->sim_window.mu);
        free(u);
        return NULL;
    }
    return u;
}

static void upstream_free(gw_upstream *u)
{
    if (!u) return;
    free(u->name);
    free(u->provider);
    free(u->url);
    free(u->api_key);
    free(u->host);
    pthread_mutex_destroy(&u->sim_window.mu);
    free(u);
}

static gw_upstream *find_upstream(gw_config *c, const char *name)
{
    for (size_t i = 0; i < c->nups; i++)
        if (strcmp(c->ups[i]->name, name) == 0) return c->ups[i];
    return NULL;
}

static int add_upstream(gw_config *c, gw_upstream *u)
{
    gw_upstream **n = realloc(c->ups, (c->nups + 1) * sizeof *n);
    if (!n) return -1;
    c->ups = n;
    c->ups[c->nups++] = u;
    return 0;
}

int gw_config_defaults(gw_config *c)
{
    memset(c, 0, sizeof *c);
    c->port = 8080;
    c->threads = 4;
    c->console = 1;
    c->console_interval_ms = 5000;
    c->console_retention_s = 3600;
    c->console_max_bytes = 32 << 20;
    c->max_body = 1 << 20;
    c->max_depth = 64;
    c->responses_max = GW_RESPONSES_MAX;
    c->responses_max_age_s = GW_RESPONSES_MAX_AGE_S;
    c->max_connections = 4096;
    c->client_idle_timeout_ms = GW_CLIENT_IDLE_TIMEOUT_MS;
    c->mcp.max_iterations = GW_AGENT_MAX_ITERATIONS;
    c->telemetry.sampler_ratio = -1;
    c->redis.connect_timeout_ms = GW_REDIS_CONNECT_TIMEOUT_MS;
    c->redis.command_timeout_ms = GW_REDIS_COMMAND_TIMEOUT_MS;
    gw_upstream *sim = upstream_new("sim", GW_UP_SIM);
    if (!sim || add_upstream(c, sim) != 0) {
        upstream_free(sim);
        return -1;
    }
    c->models = calloc(1, sizeof *c->models);
    if (!c->models) return -1;
    c->nmodels = 1;
    gw_model *m = &c->models[0];
    m->name = strdup(GW_SIM_MODEL);
    m->upstream_model = strdup(GW_SIM_MODEL);
    m->currency = strdup("USD");
    m->up = sim;
    return m->name && m->upstream_model && m->currency ? 0 : -1;
}

/* http(s)://host[:port]/path, parsed by libcurl's URL API (the same parser that will
 * fetch it) -> host and port labels; no query or fragment, since paths are appended. */
int gw_upstream_parse_url(gw_upstream *u, char *err, size_t errlen)
{
    CURLU *h = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *query = NULL, *fragment = NULL;
    int rc = -1;
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (curl_url_set(h, CURLUPART_URL, u->url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
        curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
        snprintf(err, errlen, "upstream %s: malformed url '%s' (want http://host[:port]/path)",
                 u->name, u->url);
        goto out;
    }
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        snprintf(err, errlen, "upstream %s: url must start with http:// or https://", u->name);
        goto out;
    }
    if (curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host ||
        curl_url_get(h, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
        atoi(port) < 1) {
        snprintf(err, errlen, "upstream %s: malformed url '%s'", u->name, u->url);
        goto out;
    }
    if (curl_url_get(h, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
        curl_url_get(h, CURLUPART_FRAGMENT, &fragment, 0) == CURLUE_OK) {
        snprintf(err, errlen, "upstream %s: url must have no query or fragment", u->name);
        goto out;
    }
    free(u->host);
    u->host = strdup(host);
    u->port = atoi(port); /* curl checked it is at most 65535 */
    /* drop one trailing slash so "<url>/chat/completions" is well formed */
    size_t ul = strlen(u->url);
    if (ul && u->url[ul - 1] == '/') u->url[ul - 1] = 0;
    rc = u->host ? 0 : -1;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(query);
    curl_free(fragment);
    curl_url_cleanup(h);
    return rc;
}

int gw_config_set_fallback_url(gw_config *c, const char *url, const char *api_key, char *err,
                               size_t errlen)
{
    gw_upstream *u = find_upstream(c, "upstream");
    if (!u) {
        u = upstream_new("upstream", GW_UP_OPENAI);
        if (!u || add_upstream(c, u) != 0) {
            upstream_free(u);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    u->kind = GW_UP_OPENAI;
    atomic_store(&u->up, 0);
    free(u->url);
    u->url = strdup(url);
    if (api_key) {
        free(u->api_key);
        u->api_key = strdup(api_key);
    }
    if (!u->url || gw_upstream_parse_url(u, err, errlen) != 0) return -1;
    c->fallback = u;
    return 0;
}

/* ---- JSON helpers -------------------------------------------------------- */

static int check_keys(json_t *obj, const char *what, const char *const *allowed, char *err,
                      size_t errlen)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, k) == 0) ok = 1;
        if (!ok) {
            snprintf(err, errlen, "%s: unknown key '%s'", what, k);
            return -1;
        }
    }
    return 0;
}

static int get_num(json_t *obj, const char *key, double lo, double hi, double *out,
                   const char *what, char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    if (!v) return 0;
    if (!json_is_number(v) || json_number_value(v) < lo || json_number_value(v) > hi) {
        snprintf(err, errlen, "%s: '%s' must be a number in [%g, %g]", what, key, lo, hi);
        return -1;
    }
    *out = json_number_value(v);
    return 0;
}

/* A duration in milliseconds, 1 ms to 1 hour. */
static int get_ms(json_t *obj, const char *key, long *out, const char *what, char *err,
                  size_t errlen)
{
    double d = (double)*out;
    if (get_num(obj, key, 1, 3600e3, &d, what, err, errlen)) return -1;
    *out = (long)d;
    return 0;
}

static int get_str(json_t *obj, const char *key, char **out, const char *what, char *err,
                   size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    if (!v) return 0;
    if (!json_is_string(v) || json_string_length(v) == 0) {
        snprintf(err, errlen, "%s: '%s' must be a non-empty string", what, key);
        return -1;
    }
    free(*out);
    *out = strdup(json_string_value(v));
    return *out ? 0 : -1;
}

/* key_env style: the secret from an environment variable. */
static int get_env_str(json_t *obj, const char *key, char **out, const char *what, char *err,
                       size_t errlen)
{
    char *var = NULL;
    if (get_str(obj, key, &var, what, err, errlen) != 0) return -1;
    if (!var) return 0;
    const char *val = getenv(var);
    if (!val || !*val) {
        snprintf(err, errlen, "%s: environment variable %s (from '%s') is not set", what, var, key);
        free(var);
        return -1;
    }
    free(var);
    free(*out);
    *out = strdup(val);
    return *out ? 0 : -1;
}

static int load_upstream(gw_config *c, const char *name, json_t *o, char *err, size_t errlen)
{
    static const char *const allowed[] = {"type", "provider", "url", "api_key", "api_key_env",
        "connect_timeout_ms", "first_byte_timeout_ms", "idle_timeout_ms", "timeout_ms", "ttft_ms", "inter_token_ms", "jitter_ms",
        "output_tokens", "error_rate", "timeout_rate", "embedding_dims", "ratelimit_requests",
        "ratelimit_tokens", "ratelimit_window_ms", NULL};
    char what[300];
    snprintf(what, sizeof what, "upstreams.%s", name);
    if (!json_is_object(o)) {
        snprintf(err, errlen, "%s must be an object", what);
        return -1;
    }
    if (check_keys(o, what, allowed, err, errlen) != 0) return -1;
    const char *type = json_string_value(json_object_get(o, "type"));
    gw_upstream_kind kind;
    if (!type) type = strcmp(name, "sim") == 0 ? "sim" : "";
    if (strcmp(type, "sim") == 0) kind = GW_UP_SIM;
    else if (strcmp(type, "openai") == 0) kind = GW_UP_OPENAI;
    else {
        snprintf(err, errlen, "%s: 'type' must be \"sim\" or \"openai\"", what);
        return -1;
    }
    gw_upstream *u = find_upstream(c, name);
    if (u && u->kind != kind) {
        snprintf(err, errlen, "%s: the built-in sim upstream must stay of type sim", what);
        return -1;
    }
    if (!u) {
        u = upstream_new(name, kind);
        if (!u || add_upstream(c, u) != 0) {
            upstream_free(u);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    double d;
    gw_sim_opts *s = &u->sim;
    if (get_str(o, "provider", &u->provider, what, err, errlen)) return -1;
    if (kind == GW_UP_SIM) {
        if (get_ms(o, "timeout_ms", &u->timeout_ms, what, err, errlen)) return -1;
        if (json_object_get(o, "connect_timeout_ms") || json_object_get(o, "first_byte_timeout_ms") ||
            json_object_get(o, "idle_timeout_ms")) {
            snprintf(err, errlen, "%s: a sim upstream has no connect, first-byte or idle timeout "
                     "(timeout_ms is how long its stalled calls wait)", what);
            return -1;
        }
        if (get_num(o, "ttft_ms", 0, 3600e3, &s->ttft_ms, what, err, errlen) ||
            get_num(o, "inter_token_ms", 0, 3600e3, &s->itl_ms, what, err, errlen) ||
            get_num(o, "jitter_ms", 0, 3600e3, &s->jitter_ms, what, err, errlen) ||
            get_num(o, "error_rate", 0, 1, &s->error_rate, what, err, errlen) ||
            get_num(o, "timeout_rate", 0, 1, &s->timeout_rate, what, err, errlen))
            return -1;
        d = s->output_tokens;
        if (get_num(o, "output_tokens", 1, 1e6, &d, what, err, errlen)) return -1;
        s->output_tokens = (int)d;
        d = s->embedding_dims;
        if (get_num(o, "embedding_dims", 1, 65536, &d, what, err, errlen)) return -1;
        s->embedding_dims = (int)d;
        d = (double)s->ratelimit_requests;
        if (get_num(o, "ratelimit_requests", 0, 1e9, &d, what, err, errlen)) return -1;
        s->ratelimit_requests = (long)d;
        d = (double)s->ratelimit_tokens;
        if (get_num(o, "ratelimit_tokens", 0, 1e12, &d, what, err, errlen)) return -1;
        s->ratelimit_tokens = (long)d;
        d = (double)s->ratelimit_window_ms;
        if (get_num(o, "ratelimit_window_ms", 1, GW_RL_RESET_MAX * 1000, &d, what, err, errlen))
            return -1;
        s->ratelimit_window_ms = (long)d;
        if (json_object_get(o, "url")) {
            snprintf(err, errlen, "%s: a sim upstream has no url", what);
            return -1;
        }
        return 0;
    }
    if (json_object_get(o, "timeout_ms")) { /* a whole-call limit would blame slow clients */
        snprintf(err, errlen, "%s: 'timeout_ms' is for sim upstreams; an openai upstream has "
                 "connect_timeout_ms, first_byte_timeout_ms and idle_timeout_ms", what);
        return -1;
    }
    if (get_ms(o, "connect_timeout_ms", &u->connect_timeout_ms, what, err, errlen) ||
        get_ms(o, "first_byte_timeout_ms", &u->first_byte_timeout_ms, what, err, errlen) ||
        get_ms(o, "idle_timeout_ms", &u->idle_timeout_ms, what, err, errlen))
        return -1;
    if (get_str(o, "url", &u->url, what, err, errlen) ||
        get_str(o, "api_key", &u->api_key, what, err, errlen) ||
        get_env_str(o, "api_key_env", &u->api_key, what, err, errlen))
        return -1;
    if (!u->url) {
        snprintf(err, errlen, "%s: 'url' is required for type openai", what);
        return -1;
    }
    return gw_upstream_parse_url(u, err, errlen);
}

/* A model or tool name: it becomes a label value. */
static int check_label_name(const char *what, const char *name, char *err, size_t errlen)
{
    if (!*name || strlen(name) > SONDE_LABEL_VALUE_MAX || strcmp(name, GW_OTHER) == 0) {
        snprintf(err, errlen, "%s: a name must have 1 to %d bytes and not be \"%s\"", what,
                 SONDE_LABEL_VALUE_MAX, GW_OTHER);
        return -1;
    }
    return 0;
}

static void model_clear(gw_model *m)
{
    free(m->name);
    free(m->upstream_model);
    free(m->currency);
    for (size_t i = 0; i < m->ndeps; i++) {
        free(m->deps[i].name);
        free(m->deps[i].upstream_model);
        gw_breaker_destroy(&m->deps[i].breaker);
    }
    free(m->deps);
    for (size_t i = 0; i < m->nfallbacks; i++) free(m->fallbacks[i]);
    free(m->fallbacks);
    memset(m, 0, sizeof *m);
}

/* deployments[i]: {"upstream": NAME, "upstream_model": NAME, "name": LABEL, "weight": W}. */
static int load_deployment(gw_config *c, gw_model *m, gw_deployment *d, json_t *o,
                           const char *what, char *err, size_t errlen)
{
    static const char *const allowed[] = {"upstream", "upstream_model", "name", "weight", NULL};
    if (!json_is_object(o)) {
        snprintf(err, errlen, "%s must be an object", what);
        return -1;
    }
    char *up = NULL;
    d->weight = 1;
    if (check_keys(o, what, allowed, err, errlen) || get_str(o, "upstream", &up, what, err, errlen) ||
        get_str(o, "upstream_model", &d->upstream_model, what, err, errlen) ||
        get_str(o, "name", &d->name, what, err, errlen) ||
        get_num(o, "weight", 0, 1e6, &d->weight, what, err, errlen)) {
        free(up);
        return -1;
    }
    d->up = up ? find_upstream(c, up) : NULL;
    if (!d->up) {
        snprintf(err, errlen, "%s: 'upstream' must name an upstream (got '%s')", what,
                 up ? up : "nothing");
        free(up);
        return -1;
    }
    free(up);
    if (!d->name && !(d->name = strdup(d->up->name))) return -1;
    if (check_label_name(what, d->name, err, errlen)) return -1;
    if (!d->upstream_model && !(d->upstream_model = strdup(m->name))) return -1;
    return 0;
}

/* The routing of a model: its deployments (or the one "upstream"), choice, retries,
 * breaker and fallbacks (the fallback names are checked once every model is loaded). */
static int load_routing(gw_config *c, gw_model *m, json_t *o, const char *what, char *err,
                        size_t errlen)
{
    static const char *const ballowed[] = {"failures", "cooldown_ms", NULL};
    json_t *deps = json_object_get(o, "deployments");
    if (deps && (json_object_get(o, "upstream") || json_object_get(o, "upstream_model"))) {
        snprintf(err, errlen, "%s: give either 'deployments' or 'upstream' (and 'upstream_model'), "
                 "not both", what);
        return -1;
    }
    if (deps && (!json_is_array(deps) || json_array_size(deps) < 1 ||
                 json_array_size(deps) > GW_MAX_DEPLOYMENTS)) {
        snprintf(err, errlen, "%s.deployments must be an array of 1 to %d deployments", what,
                 GW_MAX_DEPLOYMENTS);
        return -1;
    }
    double failures = 0; /* no breaker unless configured */
    long cooldown = GW_BREAKER_COOLDOWN_MS;
    json_t *b = json_object_get(o, "breaker");
    char bw[320];
    snprintf(bw, sizeof bw, "%s.breaker", what);
    if (b && (!json_is_object(b) || check_keys(b, bw, ballowed, err, errlen))) {
        if (!json_is_object(b)) snprintf(err, errlen, "%s must be an object", bw);
        return -1;
    }
    if (b) failures = GW_BREAKER_FAILURES;
    if (b && (get_num(b, "failures", 1, 1e6, &failures, bw, err, errlen) ||
              get_ms(b, "cooldown_ms", &cooldown, bw, err, errlen)))
        return -1;
    size_t n = deps ? json_array_size(deps) : 1;
    if (!(m->deps = calloc(n, sizeof *m->deps))) return -1;
    for (size_t i = 0; i < n; i++)
        gw_breaker_init(&m->deps[i].breaker, (int)failures, (uint64_t)cooldown * 1000000u);
    m->ndeps = n;
    if (deps) {
        for (size_t i = 0; i < n; i++) {
            char dw[340];
            snprintf(dw, sizeof dw, "%s.deployments[%zu]", what, i);
            if (load_deployment(c, m, &m->deps[i], json_array_get(deps, i), dw, err, errlen))
                return -1;
            for (size_t j = 0; j < i; j++)
                if (strcmp(m->deps[j].name, m->deps[i].name) == 0) {
                    snprintf(err, errlen, "%s: deployment name '%s' is used twice (give each a "
                             "distinct 'name')", dw, m->deps[i].name);
                    return -1;
                }
        }
    } else {
        gw_deployment *d = &m->deps[0];
        d->up = m->up;
        d->weight = 1;
        if (!(d->name = strdup(m->up->name)) || !(d->upstream_model = strdup(m->upstream_model)))
            return -1;
    }
    m->up = m->deps[0].up;
    free(m->upstream_model);
    if (!(m->upstream_model = strdup(m->deps[0].upstream_model))) return -1;
    const char *routing = json_string_value(json_object_get(o, "routing"));
    if (json_object_get(o, "routing") && (!routing || (strcmp(routing, "weighted") != 0 &&
                                                       strcmp(routing, "least_in_flight") != 0))) {
        snprintf(err, errlen, "%s: 'routing' must be \"weighted\" or \"least_in_flight\"", what);
        return -1;
    }
    m->routing = routing && strcmp(routing, "least_in_flight") == 0 ? GW_ROUTE_LEAST_IN_FLIGHT
                                                                    : GW_ROUTE_WEIGHTED;
    double retries = (double)n - 1;
    m->backoff_ms = GW_RETRY_BACKOFF_MS;
    if (get_num(o, "retries", 0, GW_MAX_DEPLOYMENTS, &retries, what, err, errlen) ||
        get_ms(o, "retry_backoff_ms", &m->backoff_ms, what, err, errlen))
        return -1;
    m->retries = (int)retries;
    json_t *fb = json_object_get(o, "fallbacks");
    if (fb && (!json_is_array(fb) || json_array_size(fb) > GW_MAX_FALLBACKS)) {
        snprintf(err, errlen, "%s.fallbacks must be an array of at most %d model names", what,
                 GW_MAX_FALLBACKS);
        return -1;
    }
    if (fb && json_array_size(fb) && !(m->fallbacks = calloc(json_array_size(fb), sizeof(char *))))
        return -1;
    size_t i;
    json_t *v;
    json_array_foreach(fb, i, v) {
        if (!json_is_string(v)) {
            snprintf(err, errlen, "%s.fallbacks[%zu] must be a model name", what, i);
            return -1;
        }
        if (!(m->fallbacks[m->nfallbacks++] = strdup(json_string_value(v)))) return -1;
    }
    return 0;
}

/* Each fallback names another configured model. */
static int check_fallbacks(const gw_config *c, char *err, size_t errlen)
{
    for (size_t i = 0; i < c->nmodels; i++) {
        const gw_model *m = &c->models[i];
        for (size_t j = 0; j < m->nfallbacks; j++) {
            size_t k = 0;
            while (k < c->nmodels && strcmp(c->models[k].name, m->fallbacks[j]) != 0) k++;
            if (k == c->nmodels || k == i || c->models[k].ndeps == 0) {
                snprintf(err, errlen, "models.%s.fallbacks[%zu]: '%s' must name another configured "
                         "model", m->name, j, m->fallbacks[j]);
                return -1;
            }
        }
    }
    return 0;
}

static int load_model(gw_config *c, const char *name, json_t *o, char *err, size_t errlen)
{
    static const char *const allowed[] = {"upstream", "upstream_model", "price", "deployments",
        "routing", "retries", "retry_backoff_ms", "fallbacks", "breaker", NULL};
    static const char *const pallowed[] = {"input_per_million", "output_per_million", "currency",
                                           NULL};
    char what[300];
    snprintf(what, sizeof what, "models.%s", name);
    if (!json_is_object(o) || check_keys(o, what, allowed, err, errlen) != 0) {
        if (!json_is_object(o)) snprintf(err, errlen, "%s must be an object", what);
        return -1;
    }
    if (check_label_name("models", name, err, errlen)) return -1;
    gw_model *m = NULL;
    for (size_t i = 0; i < c->nmodels; i++) /* the built-in sonde-sim, redefined */
        if (strcmp(c->models[i].name, name) == 0) {
            m = &c->models[i];
            model_clear(m);
        }
    if (!m) {
        gw_model *n = realloc(c->models, (c->nmodels + 1) * sizeof *n);
        if (!n) return -1;
        c->models = n;
        m = &c->models[c->nmodels++];
        memset(m, 0, sizeof *m);
    }
    m->name = strdup(name);
    char *up = NULL;
    if (get_str(o, "upstream", &up, what, err, errlen)) return -1;
    m->up = find_upstream(c, up ? up : "sim");
    if (!m->up) {
        snprintf(err, errlen, "%s: unknown upstream '%s'", what, up);
        free(up);
        return -1;
    }
    free(up);
    if (get_str(o, "upstream_model", &m->upstream_model, what, err, errlen)) return -1;
    if (!m->upstream_model) m->upstream_model = strdup(name);
    json_t *p = json_object_get(o, "price");
    if (p) {
        char pw[320];
        snprintf(pw, sizeof pw, "%s.price", what);
        if (!json_is_object(p) || check_keys(p, pw, pallowed, err, errlen) != 0) {
            if (!json_is_object(p)) snprintf(err, errlen, "%s must be an object", pw);
            return -1;
        }
        if (get_num(p, "input_per_million", 0, 1e9, &m->price_input, pw, err, errlen) ||
            get_num(p, "output_per_million", 0, 1e9, &m->price_output, pw, err, errlen) ||
            get_str(p, "currency", &m->currency, pw, err, errlen))
            return -1;
    }
    if (!m->currency) m->currency = strdup("USD");
    if (!m->name || !m->upstream_model || !m->currency) return -1;
    return load_routing(c, m, o, what, err, errlen);
}

/* "daily_budget": {"tokens": N, "cost": X, "currency": "USD"} (each optional). */
static int load_budget(gw_key *k, json_t *o, const char *what, char *err, size_t errlen)
{
    static const char *const allowed[] = {"tokens", "cost", "currency", NULL};
    char bw[96];
    snprintf(bw, sizeof bw, "%s.daily_budget", what);
    if (!json_is_object(o)) {
        snprintf(err, errlen, "%s must be an object", bw);
        return -1;
    }
    if (check_keys(o, bw, allowed, err, errlen) ||
        get_num(o, "tokens", 0, 1e15, &k->daily_tokens, bw, err, errlen) ||
        get_num(o, "cost", 0, 1e12, &k->daily_cost, bw, err, errlen) ||
        get_str(o, "currency", &k->budget_currency, bw, err, errlen))
        return -1;
    if (k->budget_currency && strlen(k->budget_currency) > 16) {
        snprintf(err, errlen, "%s: 'currency' must have 1 to 16 bytes", bw);
        return -1;
    }
    return 0;
}

/* "mcp": the MCP servers of the agentic loop (docs/gateway.md). */
static int load_mcp_server(gw_config *c, size_t i, json_t *o, char *err, size_t errlen)
{
    static const char *const allowed[] = {"name", "url", "headers", "allowed_tools",
        "connect_timeout_ms", "timeout_ms", "max_answer_bytes", NULL};
    char what[48];
    snprintf(what, sizeof what, "mcp.servers[%zu]", i);
    if (!json_is_object(o) || check_keys(o, what, allowed, err, errlen)) {
        if (!*err) snprintf(err, errlen, "%s must be an object", what);
        return -1;
    }
    const char *name = json_string_value(json_object_get(o, "name"));
    const char *url = json_string_value(json_object_get(o, "url"));
    json_t *headers = json_object_get(o, "headers"), *tools = json_object_get(o, "allowed_tools");
    const char *hk;
    json_t *hv;
    int bad_headers = headers && !json_is_object(headers);
    json_object_foreach(headers, hk, hv)
        if (!json_is_string(hv) || strpbrk(hk, ":\r\n") || strpbrk(json_string_value(hv), "\r\n"))
            bad_headers = 1;
    if (!name || !*name || strlen(name) > 64 || bad_headers || (tools && !json_is_array(tools))) {
        snprintf(err, errlen, "%s: needs a 'name' (1-64 bytes); 'headers' is an object of "
                 "strings, 'allowed_tools' an array", what);
        return -1;
    }
    for (size_t j = 0; j < c->mcp.nservers; j++)
        if (strcmp(c->mcp.servers[j]->name, name) == 0) {
            snprintf(err, errlen, "%s: the name '%s' is taken", what, name);
            return -1;
        }
    gw_mcp_server *s = gw_mcp_server_new(name, url, headers, tools);
    if (!s) {
        snprintf(err, errlen, "%s: 'url' must be an http:// or https:// URL", what);
        return -1;
    }
    c->mcp.servers[c->mcp.nservers++] = s;
    double d = (double)s->max_answer;
    if (get_ms(o, "connect_timeout_ms", &s->connect_timeout_ms, what, err, errlen) ||
        get_ms(o, "timeout_ms", &s->timeout_ms, what, err, errlen) ||
        get_num(o, "max_answer_bytes", 1024, 64 << 20, &d, what, err, errlen))
        return -1;
    s->max_answer = (size_t)d;
    return 0;
}

static int load_mcp(gw_config *c, json_t *o, char *err, size_t errlen)
{
    static const char *const allowed[] = {"servers", "max_iterations", "allow_request_urls", NULL};
    if (!json_is_object(o) || check_keys(o, "mcp", allowed, err, errlen)) {
        if (!*err) snprintf(err, errlen, "mcp must be an object");
        return -1;
    }
    double d = c->mcp.max_iterations;
    if (get_num(o, "max_iterations", 1, 64, &d, "mcp", err, errlen)) return -1;
    c->mcp.max_iterations = (int)d;
    json_t *allow = json_object_get(o, "allow_request_urls");
    if (allow && !json_is_boolean(allow)) {
        snprintf(err, errlen, "mcp: 'allow_request_urls' must be true or false");
        return -1;
    }
    c->mcp.allow_request_urls = json_is_true(allow);
    json_t *servers = json_object_get(o, "servers");
    if (servers && (!json_is_array(servers) || json_array_size(servers) > GW_MCP_MAX_SERVERS)) {
        snprintf(err, errlen, "mcp: 'servers' must be an array of at most %d servers",
                 GW_MCP_MAX_SERVERS);
        return -1;
    }
    c->mcp.servers = calloc(json_array_size(servers) + 1, sizeof *c->mcp.servers);
    if (!c->mcp.servers) return -1;
    size_t i;
    json_t *v;
    json_array_foreach(servers, i, v)
        if (load_mcp_server(c, i, v, err, errlen)) return -1;
    return 0;
}

/* "redis": where the keys' limits and budgets are shared (docs/gateway.md). */
static int load_redis(gw_config *c, json_t *o, char *err, size_t errlen)
{
    static const char *const allowed[] = {"url", "password_env", "fail_mode",
        "connect_timeout_ms", "command_timeout_ms", "key_prefix", NULL};
    gw_redis_opts *r = &c->redis;
    if (!json_is_object(o)) {
        snprintf(err, errlen, "redis must be an object");
        return -1;
    }
    char *mode = NULL;
    if (check_keys(o, "redis", allowed, err, errlen) ||
        get_str(o, "url", &r->url, "redis", err, errlen) ||
        get_env_str(o, "password_env", &r->password, "redis", err, errlen) ||
        get_str(o, "key_prefix", &r->key_prefix, "redis", err, errlen) ||
        get_str(o, "fail_mode", &mode, "redis", err, errlen))
        return -1;
    double d = (double)r->connect_timeout_ms;
    if (get_num(o, "connect_timeout_ms", 1, 60000, &d, "redis", err, errlen)) goto bad;
    r->connect_timeout_ms = (long)d;
    d = (double)r->command_timeout_ms;
    if (get_num(o, "command_timeout_ms", 1, 60000, &d, "redis", err, errlen)) goto bad;
    r->command_timeout_ms = (long)d;
    if (mode && gw_config_set_fail_mode(c, mode) != 0) {
        snprintf(err, errlen, "redis: 'fail_mode' must be \"open\" or \"closed\"");
        goto bad;
    }
    if (r->key_prefix && strlen(r->key_prefix) > GW_REDIS_PREFIX_MAX) {
        snprintf(err, errlen, "redis: 'key_prefix' must have at most %d bytes",
                 GW_REDIS_PREFIX_MAX);
        goto bad;
    }
    free(mode);
    return 0;
bad:
    free(mode);
    return -1;
}

int gw_config_set_fail_mode(gw_config *c, const char *mode)
{
    if (strcmp(mode, "open") == 0) c->redis.fail_closed = 0;
    else if (strcmp(mode, "closed") == 0) c->redis.fail_closed = 1;
    else return -1;
    return 0;
}

static int load_key(gw_config *c, size_t i, json_t *o, char *err, size_t errlen)
{
    static const char *const allowed[] = {"name", "key", "key_env", "requests_per_minute",
                                          "tokens_per_minute", "daily_budget", NULL};
    char what[64];
    snprintf(what, sizeof what, "keys[%zu]", i);
    if (!json_is_object(o)) {
        snprintf(err, errlen, "%s must be an object", what);
        return -1;
    }
    if (check_keys(o, what, allowed, err, errlen) != 0) return -1;
    gw_key *k = &c->keys[i];
    gw_bucket_init(&k->requests, 0); /* initialised first: gw_config_free destroys them */
    gw_bucket_init(&k->tokens, 0);
    gw_budget_init(&k->spent);
    json_t *budget = json_object_get(o, "daily_budget");
    if (budget && load_budget(k, budget, what, err, errlen)) return -1;
    if (!k->budget_currency && !(k->budget_currency = strdup("USD"))) return -1;
    if (get_str(o, "name", &k->name, what, err, errlen) ||
        (k->name && check_label_name(what, k->name, err, errlen)) ||
        get_str(o, "key", &k->secret, what, err, errlen) ||
        get_env_str(o, "key_env", &k->secret, what, err, errlen) ||
        get_num(o, "requests_per_minute", 0, 1e9, &k->rpm, what, err, errlen) ||
        get_num(o, "tokens_per_minute", 0, 1e12, &k->tpm, what, err, errlen))
        return -1;
    if (!k->name || !k->secret) {
        snprintf(err, errlen, "%s: 'name' and 'key' (or 'key_env') are required", what);
        return -1;
    }
    for (size_t j = 0; j < i; j++)
        if (strcmp(c->keys[j].name, k->name) == 0 || strcmp(c->keys[j].secret, k->secret) == 0) {
            snprintf(err, errlen, "%s: duplicate key name or secret", what);
            return -1;
        }
    gw_bucket_destroy(&k->requests);
    gw_bucket_destroy(&k->tokens);
    gw_bucket_init(&k->requests, k->rpm);
    gw_bucket_init(&k->tokens, k->tpm);
    return 0;
}

int gw_trace_profile_parse(const char *s, gw_trace_profile *out)
{
    if (strcmp(s, "production") == 0) *out = GW_PROFILE_PRODUCTION;
    else if (strcmp(s, "demo") == 0) *out = GW_PROFILE_DEMO;
    else return -1;
    return 0;
}

int gw_otlp_endpoint_check(const char *url)
{
    return strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0 ? 0 : -1;
}

/* The "telemetry" section: tracing profile and ratio, service name, OTLP endpoint,
 * access log. */
static int load_telemetry(gw_telemetry_cfg *t, json_t *o, char *err, size_t errlen)
{
    static const char *const allowed[] = {"profile", "sampler_ratio", "service_name",
                                          "otlp_endpoint", "access_log", NULL};
    if (!json_is_object(o)) {
        snprintf(err, errlen, "telemetry must be an object");
        return -1;
    }
    if (check_keys(o, "telemetry", allowed, err, errlen)) return -1;
    char *profile = NULL;
    if (get_str(o, "profile", &profile, "telemetry", err, errlen)) return -1;
    int bad = profile && gw_trace_profile_parse(profile, &t->profile) != 0;
    free(profile);
    if (bad) {
        snprintf(err, errlen, "telemetry: 'profile' must be \"production\" or \"demo\"");
        return -1;
    }
    if (get_num(o, "sampler_ratio", 0, 1, &t->sampler_ratio, "telemetry", err, errlen) ||
        get_str(o, "service_name", &t->service_name, "telemetry", err, errlen) ||
        get_str(o, "otlp_endpoint", &t->otlp_endpoint, "telemetry", err, errlen) ||
        get_str(o, "access_log", &t->access_log, "telemetry", err, errlen))
        return -1;
    if (t->service_name && strlen(t->service_name) > SONDE_LABEL_VALUE_MAX) {
        snprintf(err, errlen, "telemetry: 'service_name' must have at most %d bytes",
                 SONDE_LABEL_VALUE_MAX);
        return -1;
    }
    if (t->otlp_endpoint && gw_otlp_endpoint_check(t->otlp_endpoint) != 0) {
        snprintf(err, errlen, "telemetry: 'otlp_endpoint' must be an http:// or https:// URL");
        return -1;
    }
    return 0;
}

int gw_config_load(gw_config *c, const char *path, char *err, size_t errlen)
{
    static const char *const allowed[] = {"listen", "threads", "max_body_bytes", "max_json_depth",
        "max_connections", "client_idle_timeout_ms", "upstreams", "models", "default_upstream",
        "keys", "tools", "otlp_metrics", "redis", "remote_write", "pushgateway", "mcp",
        "responses", "telemetry", "console", "alerts", NULL};
    static const char *const alallowed[] = {"rules", "webhook", "alertmanager_url", NULL};
    static const char *const lallowed[] = {"address", "port", "metrics_port", NULL};
    static const char *const rwallowed[] = {"url", "interval_s", NULL};
    static const char *const pgallowed[] = {"url", "job", NULL};
    static const char *const rsallowed[] = {"store", "max_count", "max_age_s", NULL};
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        snprintf(err, errlen, "%s:%d:%d: %s", path, je.line, je.column, je.text);
        return -1;
    }
    int rc = -1;
    const char *k;
    json_t *v;
    double d;
    if (!json_is_object(root)) {
        snprintf(err, errlen, "%s: the top level must be an object", path);
        goto out;
    }
    if (check_keys(root, "config", allowed, err, errlen)) goto out;
    json_t *l = json_object_get(root, "listen");
    if (l) {
        if (!json_is_object(l) || check_keys(l, "listen", lallowed, err, errlen)) {
            if (!json_is_object(l)) snprintf(err, errlen, "listen must be an object");
            goto out;
        }
        if (get_str(l, "address", &c->address, "listen", err, errlen)) goto out;
        d = c->port;
        if (get_num(l, "port", 0, 65535, &d, "listen", err, errlen)) goto out;
        c->port = (int)d;
        d = c->metrics_port;
        if (get_num(l, "metrics_port", 0, 65535, &d, "listen", err, errlen)) goto out;
        c->metrics_port = (int)d;
    }
    d = c->threads;
    if (get_num(root, "threads", 1, 256, &d, "config", err, errlen)) goto out;
    c->threads = (int)d;
    d = (double)c->max_body;
    if (get_num(root, "max_body_bytes", 64, 1 << 30, &d, "config", err, errlen)) goto out;
    c->max_body = (size_t)d;
    d = c->max_depth;
    if (get_num(root, "max_json_depth", 1, 10000, &d, "config", err, errlen)) goto out;
    c->max_depth = (int)d;
    d = c->max_connections;
    if (get_num(root, "max_connections", 1, 1e6, &d, "config", err, errlen)) goto out;
    c->max_connections = (unsigned)d;
    if (get_ms(root, "client_idle_timeout_ms", &c->client_idle_timeout_ms, "config", err, errlen))
        goto out;
    json_t *om = json_object_get(root, "otlp_metrics");
    if (om) {
        static const char *const oallowed[] = {"endpoint", "interval_ms", NULL};
        if (!json_is_object(om) || check_keys(om, "otlp_metrics", oallowed, err, errlen)) {
            if (!json_is_object(om)) snprintf(err, errlen, "otlp_metrics must be an object");
            goto out;
        }
        if (get_str(om, "endpoint", &c->otlp_metrics_endpoint, "otlp_metrics", err, errlen) ||
            get_ms(om, "interval_ms", &c->otlp_metrics_interval_ms, "otlp_metrics", err, errlen))
            goto out;
    }
    json_t *con = json_object_get(root, "console");
    if (con) {
        static const char *const callowed[] = {"enabled", "interval_ms", "retention_s",
                                               "max_bytes", NULL};
        if (!json_is_object(con) || check_keys(con, "console", callowed, err, errlen)) {
            if (!json_is_object(con)) snprintf(err, errlen, "console must be an object");
            goto out;
        }
        json_t *en = json_object_get(con, "enabled");
        if (en && !json_is_boolean(en)) {
            snprintf(err, errlen, "console: 'enabled' must be true or false");
            goto out;
        }
        if (en) c->console = json_is_true(en);
        d = (double)c->console_interval_ms;
        if (get_num(con, "interval_ms", 100, 3600e3, &d, "console", err, errlen)) goto out;
        c->console_interval_ms = (long)d;
        d = (double)c->console_retention_s;
        if (get_num(con, "retention_s", 1, 31 * 86400, &d, "console", err, errlen)) goto out;
        c->console_retention_s = (long)d;
        if (get_num(con, "max_bytes", 65536, 1e12, &c->console_max_bytes, "console", err, errlen))
            goto out;
    }
    json_t *rw = json_object_get(root, "remote_write");
    if (rw) {
        if (!json_is_object(rw)) {
            snprintf(err, errlen, "remote_write must be an object");
            goto out;
        }
        if (check_keys(rw, "remote_write", rwallowed, err, errlen) ||
            get_str(rw, "url", &c->remote_write_url, "remote_write", err, errlen) ||
            get_num(rw, "interval_s", 0.001, 86400, &c->remote_write_interval, "remote_write", err,
                    errlen))
            goto out;
    }
    json_t *al = json_object_get(root, "alerts");
    if (al) {
        if (!json_is_object(al)) {
            snprintf(err, errlen, "alerts must be an object");
            goto out;
        }
        if (check_keys(al, "alerts", alallowed, err, errlen) ||
            get_str(al, "rules", &c->alert_rules, "alerts", err, errlen) ||
            get_str(al, "webhook", &c->alert_webhook, "alerts", err, errlen) ||
            get_str(al, "alertmanager_url", &c->alertmanager_url, "alerts", err, errlen))
            goto out;
        if ((c->alert_webhook && gw_otlp_endpoint_check(c->alert_webhook) != 0) ||
            (c->alertmanager_url && gw_otlp_endpoint_check(c->alertmanager_url) != 0)) {
            snprintf(err, errlen, "alerts: 'webhook' and 'alertmanager_url' must be http:// or https:// URLs");
            goto out;
        }
    }
    json_t *pg = json_object_get(root, "pushgateway");
    if (pg) {
        if (!json_is_object(pg)) {
            snprintf(err, errlen, "pushgateway must be an object");
            goto out;
        }
        if (check_keys(pg, "pushgateway", pgallowed, err, errlen) ||
            get_str(pg, "url", &c->pushgateway_url, "pushgateway", err, errlen) ||
            get_str(pg, "job", &c->pushgateway_job, "pushgateway", err, errlen))
            goto out;
    }
    json_t *rs = json_object_get(root, "responses");
    if (rs) {
        if (!json_is_object(rs)) {
            snprintf(err, errlen, "responses must be an object");
            goto out;
        }
        double cnt = (double)c->responses_max, age = (double)c->responses_max_age_s;
        if (check_keys(rs, "responses", rsallowed, err, errlen) ||
            get_str(rs, "store", &c->responses_db, "responses", err, errlen) ||
            get_num(rs, "max_count", 1, 1e9, &cnt, "responses", err, errlen) ||
            get_num(rs, "max_age_s", 1, 1e10, &age, "responses", err, errlen))
            goto out;
        c->responses_max = (long)cnt;
        c->responses_max_age_s = (long)age;
    }
    json_t *ups = json_object_get(root, "upstreams");
    if (ups) {
        if (!json_is_object(ups)) {
            snprintf(err, errlen, "upstreams must be an object");
            goto out;
        }
        json_object_foreach(ups, k, v)
            if (load_upstream(c, k, v, err, errlen)) goto out;
    }
    json_t *models = json_object_get(root, "models");
    if (models) {
        if (!json_is_object(models)) {
            snprintf(err, errlen, "models must be an object");
            goto out;
        }
        json_object_foreach(models, k, v)
            if (load_model(c, k, v, err, errlen)) goto out;
        if (check_fallbacks(c, err, errlen)) goto out;
    }
    json_t *du = json_object_get(root, "default_upstream");
    if (json_is_null(du)) c->fallback = NULL;
    else if (du) {
        if (!json_is_string(du) || !(c->fallback = find_upstream(c, json_string_value(du)))) {
            snprintf(err, errlen, "default_upstream must name an upstream or be null");
            goto out;
        }
    }
    json_t *tools = json_object_get(root, "tools");
    if (tools) {
        if (!json_is_array(tools) || json_array_size(tools) > 1000) {
            snprintf(err, errlen, "tools must be an array of at most 1000 names");
            goto out;
        }
        c->tools = calloc(json_array_size(tools) + 1, sizeof *c->tools);
        if (!c->tools) goto out;
        size_t i;
        json_array_foreach(tools, i, v) {
            if (!json_is_string(v)) {
                snprintf(err, errlen, "tools[%zu] must be a string", i);
                goto out;
            }
            if (check_label_name("tools", json_string_value(v), err, errlen)) goto out;
            if (!(c->tools[c->ntools] = strdup(json_string_value(v)))) goto out;
            c->ntools++;
        }
    }
    json_t *tel = json_object_get(root, "telemetry");
    if (tel && load_telemetry(&c->telemetry, tel, err, errlen)) goto out;
    json_t *redis = json_object_get(root, "redis");
    if (redis && load_redis(c, redis, err, errlen)) goto out;
    json_t *mcp = json_object_get(root, "mcp");
    if (mcp && load_mcp(c, mcp, err, errlen)) goto out;
    json_t *keys = json_object_get(root, "keys");
    if (keys) {
        if (!json_is_array(keys)) {
            snprintf(err, errlen, "keys must be an array");
            goto out;
        }
        c->keys = calloc(json_array_size(keys) + 1, sizeof *c->keys);
        if (!c->keys) goto out;
        size_t i;
        json_array_foreach(keys, i, v) {
            c->nkeys = i + 1;
            if (load_key(c, i, v, err, errlen)) goto out;
        }
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

const gw_model *gw_config_model(const gw_config *c, const char *name, gw_model *tmp)
{
    for (size_t i = 0; i < c->nmodels; i++)
        if (strcmp(c->models[i].name, name) == 0) return &c->models[i];
    if (!c->fallback) return NULL;
    memset(tmp, 0, sizeof *tmp);
    tmp->name = (char *)GW_OTHER;
    tmp->upstream_model = (char *)name;
    tmp->up = c->fallback;
    tmp->currency = "USD";
    return tmp;
}

void gw_config_free(gw_config *c)
{
    free(c->responses_db);
    free(c->remote_write_url);
    free(c->pushgateway_url);
    free(c->pushgateway_job);
    free(c->alert_rules);
    free(c->alert_webhook);
    free(c->alertmanager_url);
    for (size_t i = 0; i < c->nups; i++) upstream_free(c->ups[i]);
    free(c->ups);
    for (size_t i = 0; i < c->nmodels; i++) model_clear(&c->models[i]);
    free(c->models);
    for (size_t i = 0; i < c->ntools; i++) free(c->tools[i]);
    free(c->tools);
    for (size_t i = 0; i < c->nkeys; i++) {
        free(c->keys[i].name);
        free(c->keys[i].secret);
        gw_bucket_destroy(&c->keys[i].requests);
        gw_bucket_destroy(&c->keys[i].tokens);
        gw_budget_destroy(&c->keys[i].spent);
        free(c->keys[i].budget_currency);
    }
    free(c->keys);
    for (size_t i = 0; i < c->mcp.nservers; i++) gw_mcp_server_free(c->mcp.servers[i]);
    free(c->mcp.servers);
    free(c->telemetry.service_name);
    free(c->telemetry.otlp_endpoint);
    free(c->telemetry.access_log);
    free(c->address);
    free(c->otlp_metrics_endpoint);
    free(c->redis.url);
    free(c->redis.password);
    free(c->redis.key_prefix);
    memset(c, 0, sizeof *c);
}

int gw_address_is_loopback(const char *addr)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (!addr || !*addr) return 1; /* the default: 127.0.0.1 and ::1 */
    if (inet_pton(AF_INET, addr, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, addr, &a6) != 1) return 0;
    if (IN6_IS_ADDR_LOOPBACK(&a6)) return 1;
    return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
}

const gw_upstream *gw_config_exposed_key(const gw_config *c)
{
    if (gw_address_is_loopback(c->address) || c->nkeys > 0) return NULL;
    for (size_t i = 0; i < c->nups; i++)
        if (c->ups[i]->api_key) return c->ups[i];
    return NULL;
}
