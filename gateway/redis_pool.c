/*
 * redis_pool.c - the gateway's connections to Redis: a fixed pool of
 * blocking hiredis connections, each behind its own mutex, that run one Lua
 * script (limits.c's) and nothing else.
 *
 * Blocking, but bounded: every connect and every command has a short timeout
 * (connect_timeout_ms, command_timeout_ms), so an HTTP thread that checks a
 * limit waits at most that long. A caller takes the first free connection
 * from a round-robin start (trylock), else waits for its start slot, whose
 * holder is itself bounded by the timeout. Connections open lazily, each
 * loads the script (SCRIPT LOAD gives its SHA1), authenticates and selects
 * the database of the URL. A call runs EVALSHA; a NOSCRIPT answer (Redis
 * restarted or flushed its scripts behind a kept connection) runs EVAL with
 * the script's text once, which caches it again.
 *
 * Failures back off for the whole pool: after a failed connect or a broken,
 * timed-out connection, no connection is tried until the back-off has passed
 * (50 ms doubling to 2 s, reset by a success), and every connection opened
 * before the failure is dropped (a generation count), since they most likely
 * point at the same dead server. During the back-off a call returns at once
 * (GW_REDIS_BACKOFF), so a dead Redis costs the request path nothing. Each
 * status names its reason for the caller's fallback metric.
 *
 * The URL is parsed by libcurl's URL API (the gateway's one URL parser):
 * redis://[[user]:password@]host[:port][/db]. A host name is resolved by the
 * system resolver when connecting, outside the connect timeout; use an IP
 * address or a name the host resolves locally.
 */
#include <curl/curl.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "redis_pool.h"

#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 2000
#define ARGS_MAX 16

typedef struct slot {
    pthread_mutex_t mu;
    redisContext *c;
    unsigned gen;          /* the pool generation it was opened in */
    char sha[48];
} slot;

struct gw_redis {
    char *host, *user, *password, *script;
    int port;
    long db;
    struct timeval connect_tv, command_tv;
    slot *slots;
    size_t n;
    atomic_uint next;
    atomic_uint gen;                /* bumped by each failure: older connections are dropped */
    _Atomic uint64_t retry_at_ns;   /* no connect before this */
    atomic_long backoff_ms;
    atomic_int up;
};

const char *gw_redis_status_name(gw_redis_status s)
{
    switch (s) {
    case GW_REDIS_OK: return "ok";
    case GW_REDIS_BACKOFF: return "backoff";
    case GW_REDIS_UNREACHABLE: return "unreachable";
    case GW_REDIS_TIMEOUT: return "timeout";
    default: return "error";
    }
}

static struct timeval tv_of(long ms)
{
    return (struct timeval){.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
}

static int parse_url(gw_redis *r, const char *url, char *err, size_t errlen)
{
    CURLU *h = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *pass = NULL, *path = NULL,
         *query = NULL;
    int rc = -1;
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (strlen(url) > 2048 ||
        curl_url_set(h, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
        curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        strcmp(scheme, "redis") != 0 ||
        curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host) {
        snprintf(err, errlen, "redis url: want redis://[[user]:password@]host[:port][/db]");
        goto out;
    }
    if (curl_url_get(h, CURLUPART_QUERY, &query, 0) == CURLUE_OK) {
        snprintf(err, errlen, "redis url: no query allowed");
        goto out;
    }
    r->port = 6379;
    if (curl_url_get(h, CURLUPART_PORT, &port, 0) == CURLUE_OK) {
        r->port = atoi(port); /* curl takes "redis://h:0" (and checks <= 65535) */
        if (r->port < 1 || r->port > 65535) {
            snprintf(err, errlen, "redis url: the port must be 1 to 65535");
            goto out;
        }
    }
    r->db = 0;
    if (curl_url_get(h, CURLUPART_PATH, &path, 0) == CURLUE_OK && strcmp(path, "/") != 0) {
        char *end;
        errno = 0;
        r->db = strtol(path + 1, &end, 10);
        if (errno || end == path + 1 || *end || r->db < 0 || r->db > 65535) {
            snprintf(err, errlen, "redis url: the path must be a database number (/0)");
            goto out;
        }
    }
    if (curl_url_get(h, CURLUPART_USER, &user, CURLU_URLDECODE) == CURLUE_OK && *user)
        r->user = strdup(user);
    if (curl_url_get(h, CURLUPART_PASSWORD, &pass, CURLU_URLDECODE) == CURLUE_OK && *pass)
        r->password = strdup(pass);
    /* an IPv6 literal comes back in brackets; the resolver wants it bare */
    size_t hl = strlen(host);
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') r->host = strndup(host + 1, hl - 2);
    else r->host = strdup(host);
    rc = r->host ? 0 : -1;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(user);
    curl_free(pass);
    curl_free(path);
    curl_free(query);
    curl_url_cleanup(h);
    return rc;
}

int gw_redis_new(const gw_redis_opts *o, size_t size, const char *script, char *err,
                 size_t errlen, gw_redis **out)
{
    *out = NULL;
    gw_redis *r = calloc(1, sizeof *r);
    if (!r) return -1;
    if (parse_url(r, o->url, err, errlen) != 0) {
        gw_redis_free(r);
        return -1;
    }
    if (o->password) { /* the environment's password wins over one in the URL */
        free(r->password);
        r->password = strdup(o->password);
    }
    r->script = strdup(script);
    r->n = size ? size : 1;
    r->slots = calloc(r->n, sizeof *r->slots);
    if (!r->script || !r->slots || (o->password && !r->password)) {
        gw_redis_free(r);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < r->n; i++) pthread_mutex_init(&r->slots[i].mu, NULL);
    r->connect_tv = tv_of(o->connect_timeout_ms);
    r->command_tv = tv_of(o->command_timeout_ms);
    atomic_init(&r->backoff_ms, BACKOFF_MIN_MS);
    *out = r;
    return 0;
}

void gw_redis_free(gw_redis *r)
{
    if (!r) return;
    for (size_t i = 0; r->slots && i < r->n; i++) {
        if (r->slots[i].c) redisFree(r->slots[i].c);
        pthread_mutex_destroy(&r->slots[i].mu);
    }
    free(r->slots);
    free(r->host);
    free(r->user);
    free(r->password);
    free(r->script);
    free(r);
}

void gw_redis_endpoint(const gw_redis *r, const char **host, int *port, long *db)
{
    *host = r->host;
    *port = r->port;
    *db = r->db;
}

int gw_redis_up(const gw_redis *r)
{
    return atomic_load(&((gw_redis *)r)->up);
}

/* A connection failed: drop every connection of this generation, back off. */
static void note_failure(gw_redis *r)
{
    atomic_store(&r->up, 0);
    atomic_fetch_add(&r->gen, 1);
    long b = atomic_load(&r->backoff_ms);
    atomic_store(&r->retry_at_ns, gw_now_ns() + (uint64_t)b * 1000000u);
    atomic_store(&r->backoff_ms, b * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : b * 2);
}

/* Redis answered: the other slots may connect at once (a back-off left from the last
 * failure would otherwise send their requests to the fallback while the pool reads up). */
static void note_success(gw_redis *r)
{
    atomic_store(&r->retry_at_ns, 0);
    atomic_store(&r->backoff_ms, BACKOFF_MIN_MS);
    atomic_store(&r->up, 1);
}

/* Why the context's last call failed: a timeout or a broken connection. */
static gw_redis_status io_status(const redisContext *c, int saved_errno)
{
    if (c->err == REDIS_ERR_IO && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK ||
                                   saved_errno == ETIMEDOUT || saved_errno == EINPROGRESS))
        return GW_REDIS_TIMEOUT;
    return GW_REDIS_UNREACHABLE;
}

static void set_detail(char *detail, size_t len, const char *what, const char *msg)
{
    if (detail && len) snprintf(detail, len, "%s: %s", what, msg ? msg : "?");
}

/* One command on an open connection; NULL after a failure (then *st says which). */
static redisReply *command(slot *s, int argc, const char **argv, const size_t *lens,
                           gw_redis_status *st, char *detail, size_t dlen)
{
    errno = 0;
    redisReply *rep = redisCommandArgv(s->c, argc, argv, lens);
    int e = errno;
    if (!rep) {
        *st = io_status(s->c, e);
        set_detail(detail, dlen, argv[0], s->c->errstr);
        return NULL;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        *st = GW_REDIS_ERROR;
        set_detail(detail, dlen, argv[0], rep->str);
    }
    return rep;
}

/* Open s's connection: connect, AUTH, SELECT, SCRIPT LOAD. */
static gw_redis_status connect_slot(gw_redis *r, slot *s, char *detail, size_t dlen)
{
    errno = 0;
    redisContext *c = redisConnectWithTimeout(r->host, r->port, r->connect_tv);
    int e = errno;
    if (!c || c->err) {
        gw_redis_status st = c ? io_status(c, e) : GW_REDIS_UNREACHABLE;
        set_detail(detail, dlen, "connect", c ? c->errstr : "out of memory");
        if (c) redisFree(c);
        return st;
    }
    if (redisSetTimeout(c, r->command_tv) != REDIS_OK) {
        set_detail(detail, dlen, "connect", "cannot set the command timeout");
        redisFree(c);
        return GW_REDIS_ERROR;
    }
    s->c = c;
    gw_redis_status st = GW_REDIS_OK;
    redisReply *rep;
    if (r->password) {
        const char *a[] = {"AUTH", r->user, r->password};
        int skip = r->user ? 0 : 1; /* AUTH password, or AUTH user password (Redis 6 ACLs) */
        a[skip] = "AUTH";
        rep = command(s, 3 - skip, a + skip, NULL, &st, detail, dlen);
        if (rep) freeReplyObject(rep);
    }
    if (st == GW_REDIS_OK && r->db) {
        char db[24];
        snprintf(db, sizeof db, "%ld", r->db);
        const char *a[] = {"SELECT", db};
        rep = command(s, 2, a, NULL, &st, detail, dlen);
        if (rep) freeReplyObject(rep);
    }
    if (st == GW_REDIS_OK) {
        const char *a[] = {"SCRIPT", "LOAD", r->script};
        rep = command(s, 3, a, NULL, &st, detail, dlen);
        if (rep && st == GW_REDIS_OK) {
            if (rep->type == REDIS_REPLY_STRING && rep->len < sizeof s->sha) {
                memcpy(s->sha, rep->str, rep->len);
                s->sha[rep->len] = 0;
            } else {
                st = GW_REDIS_ERROR;
                set_detail(detail, dlen, "SCRIPT LOAD", "unexpected reply");
            }
        }
        if (rep) freeReplyObject(rep);
    }
    if (st != GW_REDIS_OK) {
        redisFree(c);
        s->c = NULL;
    }
    return st;
}

/* Take a connection: the first free one from a round-robin start, else wait for the start. */
static slot *take(gw_redis *r)
{
    size_t start = atomic_fetch_add(&r->next, 1) % r->n;
    for (size_t i = 0; i < r->n; i++) {
        slot *s = &r->slots[(start + i) % r->n];
        if (pthread_mutex_trylock(&s->mu) == 0) return s;
    }
    slot *s = &r->slots[start];
    pthread_mutex_lock(&s->mu);
    return s;
}

/* Make s usable: drop a connection of an older generation, connect unless backing off. */
static gw_redis_status ready(gw_redis *r, slot *s, char *detail, size_t dlen)
{
    unsigned gen = atomic_load(&r->gen);
    if (s->c && s->gen != gen) {
        redisFree(s->c);
        s->c = NULL;
    }
    if (s->c) return GW_REDIS_OK;
    if (gw_now_ns() < atomic_load(&r->retry_at_ns)) {
        set_detail(detail, dlen, "connect", "backing off after a failure");
        return GW_REDIS_BACKOFF;
    }
    gw_redis_status st = connect_slot(r, s, detail, dlen);
    if (st != GW_REDIS_OK) {
        note_failure(r);
        return st;
    }
    s->gen = atomic_load(&r->gen);
    return GW_REDIS_OK;
}

/* After a command: a broken connection is closed and backs the pool off. */
static void settle(gw_redis *r, slot *s, gw_redis_status st)
{
    if (st == GW_REDIS_UNREACHABLE || st == GW_REDIS_TIMEOUT) {
        redisFree(s->c); /* a timed-out connection may still deliver the late answer */
        s->c = NULL;
        note_failure(r);
    } else {
        note_success(r); /* Redis answered, even with an error */
    }
}

gw_redis_status gw_redis_script(gw_redis *r, int nkeys, const char *const *argv, size_t argc,
                                long long *out, size_t nout, char *detail, size_t dlen)
{
    if (argc + 3 > ARGS_MAX || nkeys < 0 || (size_t)nkeys > argc) {
        set_detail(detail, dlen, "EVALSHA", "too many arguments");
        return GW_REDIS_ERROR;
    }
    slot *s = take(r);
    gw_redis_status st = ready(r, s, detail, dlen);
    if (st != GW_REDIS_OK) {
        pthread_mutex_unlock(&s->mu);
        return st;
    }
    char nk[16];
    snprintf(nk, sizeof nk, "%d", nkeys);
    const char *a[ARGS_MAX] = {"EVALSHA", s->sha, nk};
    for (size_t i = 0; i < argc; i++) a[3 + i] = argv[i];
    redisReply *rep = command(s, (int)argc + 3, a, NULL, &st, detail, dlen);
    if (rep && rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOSCRIPT", 8) == 0) {
        freeReplyObject(rep);
        a[0] = "EVAL";
        a[1] = r->script;
        st = GW_REDIS_OK;
        rep = command(s, (int)argc + 3, a, NULL, &st, detail, dlen);
    }
    if (rep && st == GW_REDIS_OK) {
        if (rep->type != REDIS_REPLY_ARRAY || rep->elements < nout) {
            st = GW_REDIS_ERROR;
            set_detail(detail, dlen, "EVALSHA", "unexpected reply");
        } else {
            for (size_t i = 0; i < nout; i++) {
                const redisReply *e = rep->element[i];
                if (e->type != REDIS_REPLY_INTEGER) {
                    st = GW_REDIS_ERROR;
                    set_detail(detail, dlen, "EVALSHA", "unexpected reply");
                    break;
                }
                out[i] = e->integer;
            }
        }
    }
    if (rep) freeReplyObject(rep);
    settle(r, s, st);
    pthread_mutex_unlock(&s->mu);
    return st;
}

gw_redis_status gw_redis_ping(gw_redis *r, char *detail, size_t dlen)
{
    slot *s = take(r);
    gw_redis_status st = ready(r, s, detail, dlen);
    if (st == GW_REDIS_OK) {
        const char *a[] = {"PING"};
        redisReply *rep = command(s, 1, a, NULL, &st, detail, dlen);
        if (rep) freeReplyObject(rep);
        settle(r, s, st);
    }
    pthread_mutex_unlock(&s->mu);
    return st;
}
