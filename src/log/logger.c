/*
 * logger.c - structured logs. sonde_log() checks the level, the call site's
 * token bucket (sites are the msg pointers, hashed into a fixed table, so a
 * plain function call needs no macro and no registration), writes one JSON
 * line with a single write(2) (O_APPEND for files, so lines of several
 * processes do not interleave), keeps a copy in a ring of recent lines (each
 * numbered by a per-logger sequence, with its level and ids, so that a console
 * filters and tails without parsing every line), and,
 * when an exporter is set, queues a deep copy on a batch processor (batch.c)
 * whose thread hands batches to the exporter. A full queue drops and counts.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "trace_internal.h"

#define SITES 256
#define RING_LINE_MAX 4096

typedef struct log_site {
    double tokens;
    uint64_t last_ns;
    uint64_t suppressed;
} log_site;

struct sonde_logger {
    int level;
    char *service;
    int fd, own_fd;
    double rate;
    pthread_mutex_t mu; /* sites and ring */
    log_site sites[SITES];
    sonde_log_entry *ring; /* json: a malloc'd copy of the line */
    size_t ring_cap, ring_next, ring_count;
    uint64_t last_seq;     /* of the newest record in the ring */
    int exporting;
    sonde_log_exporter exporter;
    sonde_batch batch;
    long export_timeout_ms;
    _Atomic uint64_t written, below_level, rate_limited, exported, export_failed;
};

/* Set on a logger's export thread while it exports: what the export itself logs (an OTLP
 * failure, say) is written and kept in the ring but not queued for export again, so a
 * failing exporter cannot feed itself. */
static TRACE_TLS int exporting_logs;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

const char *sonde_log_level_name(sonde_log_level level)
{
    switch (level) {
    case SONDE_LOG_DEBUG:
        return level_names[0];
    case SONDE_LOG_INFO:
        return level_names[1];
    case SONDE_LOG_WARN:
        return level_names[2];
    case SONDE_LOG_ERROR:
        return level_names[3];
    }
    return "";
}

int sonde_log_level_parse(const char *s, sonde_log_level *out)
{
    static const sonde_log_level levels[] = {SONDE_LOG_DEBUG, SONDE_LOG_INFO, SONDE_LOG_WARN,
                                             SONDE_LOG_ERROR};
    if (!s || !out)
        return SONDE_EINVAL;
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = levels[i];
            return SONDE_OK;
        }
    if (strcasecmp(s, "warning") == 0) {
        *out = SONDE_LOG_WARN;
        return SONDE_OK;
    }
    return SONDE_EINVAL;
}

void sonde_logger_opts_init(sonde_logger_opts *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->ring_size = o->max_queue_size = o->max_export_batch_size = -1;
    o->schedule_delay_ms = o->export_timeout_ms = -1;
    o->read_env = 1;
}

/* ---- queued copies for the exporter ------------------------------------------------- */

typedef struct log_item {
    sonde_log_record rec;
    sonde_attr fields[];
} log_item;

static log_item *item_copy(const sonde_log_record *r)
{
    size_t strings = strlen(r->msg) + strlen(r->service) + 2;
    for (size_t i = 0; i < r->field_count; i++) {
        strings += strlen(r->fields[i].key) + 1;
        if (r->fields[i].type == SONDE_ATTR_STRING)
            strings += strlen(r->fields[i].v.s) + 1;
    }
    log_item *it = malloc(sizeof *it + r->field_count * sizeof(sonde_attr) + strings);
    if (!it)
        return NULL;
    char *p = (char *)(it->fields + r->field_count);
#define COPY(dst, src)                                                                    \
    do {                                                                                  \
        size_t n_ = strlen(src) + 1;                                                      \
        memcpy(p, src, n_);                                                               \
        dst = p;                                                                          \
        p += n_;                                                                          \
    } while (0)
    it->rec = *r;
    it->rec.json = NULL;
    COPY(it->rec.msg, r->msg);
    COPY(it->rec.service, r->service);
    for (size_t i = 0; i < r->field_count; i++) {
        it->fields[i] = r->fields[i];
        COPY(it->fields[i].key, r->fields[i].key);
        if (r->fields[i].type == SONDE_ATTR_STRING)
            COPY(it->fields[i].v.s, r->fields[i].v.s);
    }
#undef COPY
    it->rec.fields = it->fields;
    return it;
}

static void deliver(void *ud, void **items, size_t n, uint64_t deadline_ns)
{
    sonde_logger *lg = ud;
    size_t rejected = 0;
    exporting_logs = 1;
    int rc = lg->exporter.export_fn(lg->exporter.ud, (const sonde_log_record *const *)items, n,
                                    deadline_ns, &rejected);
    exporting_logs = 0;
    if (rc < 0)
        atomic_fetch_add(&lg->export_failed, n);
    else
        atomic_fetch_add(&lg->exported, n - (rejected < n ? rejected : n));
    for (size_t i = 0; i < n; i++)
        free(items[i]);
}

static void drop(void *ud, void **items, size_t n)
{
    (void)ud;
    for (size_t i = 0; i < n; i++)
        free(items[i]);
}

/* ---- construction --------------------------------------------------------------------- */

static long env_or(const sonde_logger_opts *o, long code, const char *var, long def)
{
    long v;
    if (code >= 0)
        return code;
    if (o->read_env && sonde_env_long(NULL, var, &v) == 1)
        return v;
    return def;
}

int sonde_logger_new(const sonde_logger_opts *opts, sonde_logger **out)
{
    if (!out)
        return SONDE_EINVAL;
    *out = NULL;
    sonde_logger_opts defaults;
    if (!opts) {
        sonde_logger_opts_init(&defaults);
        opts = &defaults;
    }
    sonde_logger *lg = sonde_batch_owner_alloc(sizeof *lg);
    if (!lg)
        return SONDE_ENOMEM;
    const char *v;
    sonde_log_level level = SONDE_LOG_INFO;
    if (opts->level)
        level = (sonde_log_level)opts->level;
    else if (opts->read_env && (v = sonde_env_get("SONDE_LOG_LEVEL")))
        sonde_log_level_parse(v, &level); /* a bad value keeps info (warned below) */
    lg->level = level;
    const char *service = opts->service;
    if (!service && opts->read_env)
        service = sonde_env_get("OTEL_SERVICE_NAME");
    lg->service = strdup(service ? service : "unknown_service");
    double rate = opts->rate_per_sec;
    if (rate == 0 && opts->read_env && (v = sonde_env_get("SONDE_LOG_RATE"))) {
        long r;
        if (sonde_env_long(NULL, "SONDE_LOG_RATE", &r) == 1)
            rate = (double)r;
    }
    lg->rate = rate == 0 ? 10 : rate;
    const char *path = opts->path;
    if (!path && opts->read_env)
        path = sonde_env_get("SONDE_LOG_FILE");
    lg->fd = STDERR_FILENO;
    if (path && strcmp(path, "-") != 0) {
        if (!path[0]) {
            lg->fd = -1;
        } else {
            lg->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
            if (lg->fd < 0) {
                free(lg->service);
                free(lg);
                return SONDE_EIO;
            }
            lg->own_fd = 1;
        }
    }
    long ring = env_or(opts, opts->ring_size, "SONDE_LOG_RING", 256);
    if (ring > 65536)
        ring = 65536;
    lg->ring_cap = (size_t)ring;
    lg->ring = lg->ring_cap ? calloc(lg->ring_cap, sizeof *lg->ring) : NULL;
    pthread_mutex_init(&lg->mu, NULL);
    int rc = !lg->service || (lg->ring_cap && !lg->ring) ? SONDE_ENOMEM : SONDE_OK;
    if (rc == SONDE_OK && opts->exporter.export_fn) {
        lg->exporter = opts->exporter;
        long queue = env_or(opts, opts->max_queue_size, "OTEL_BLRP_MAX_QUEUE_SIZE", 2048);
        long batch = env_or(opts, opts->max_export_batch_size, "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", 512);
        long delay = env_or(opts, opts->schedule_delay_ms, "OTEL_BLRP_SCHEDULE_DELAY", 1000);
        lg->export_timeout_ms = env_or(opts, opts->export_timeout_ms, "OTEL_BLRP_EXPORT_TIMEOUT", 30000);
        if (queue < 1 || queue > (1L << 24))
            queue = 2048;
        if (batch < 1 || batch > queue)
            batch = queue < 512 ? queue : 512;
        rc = sonde_batch_start(&lg->batch, (size_t)queue, (size_t)batch, (uint64_t)delay * 1000000ull,
                         (uint64_t)lg->export_timeout_ms * 1000000ull,
                         (batch_ops){deliver, drop, lg});
        lg->exporting = rc == SONDE_OK;
    }
    if (rc != SONDE_OK) {
        sonde_logger_free(lg, 0);
        return rc;
    }
    if (opts->read_env && (v = sonde_env_get("SONDE_LOG_LEVEL")) && !opts->level) {
        sonde_log_level ignored;
        if (sonde_log_level_parse(v, &ignored) != SONDE_OK) {
            sonde_attr f[2] = {SONDE_ATTR_STR("variable", "SONDE_LOG_LEVEL"),
                               SONDE_ATTR_STR("value", v)};
            sonde_log(lg, SONDE_LOG_WARN, "ignoring a malformed environment variable", f, 2);
        }
    }
    *out = lg;
    return SONDE_OK;
}

void sonde_logger_free(sonde_logger *lg, long timeout_ms)
{
    if (!lg)
        return;
    if (lg->exporting) {
        sonde_batch_stop(&lg->batch, (uint64_t)(timeout_ms < 0 ? lg->export_timeout_ms : timeout_ms) *
                                   1000000ull);
        if (lg->exporter.shutdown_fn)
            lg->exporter.shutdown_fn(lg->exporter.ud);
    }
    if (lg->own_fd)
        close(lg->fd);
    for (size_t i = 0; lg->ring && i < lg->ring_cap; i++)
        free((char *)lg->ring[i].json);
    free(lg->ring);
    pthread_mutex_destroy(&lg->mu);
    free(lg->service);
    free(lg);
}

int sonde_log_enabled(const sonde_logger *lg, sonde_log_level level)
{
    return lg && (int)level >= lg->level;
}

/* ---- one record ------------------------------------------------------------------------- */

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Take a token of the site's bucket; 0 when empty. *suppressed: what it dropped since. */
static int site_admit(sonde_logger *lg, const char *msg, uint64_t now, uint64_t *suppressed)
{
    if (lg->rate < 0)
        return 1;
    uintptr_t h = (uintptr_t)msg;
    h ^= h >> 17;
    h *= 0x9e3779b97f4a7c15ull;
    log_site *s = &lg->sites[(h >> 56) % SITES];
    pthread_mutex_lock(&lg->mu);
    if (s->last_ns == 0) {
        s->tokens = SONDE_LOG_RATE_BURST;
    } else {
        s->tokens += (double)(now - s->last_ns) / 1e9 * lg->rate;
        if (s->tokens > SONDE_LOG_RATE_BURST)
            s->tokens = SONDE_LOG_RATE_BURST;
    }
    s->last_ns = now;
    int ok = s->tokens >= 1;
    if (ok) {
        s->tokens -= 1;
        *suppressed = s->suppressed;
        s->suppressed = 0;
    } else {
        s->suppressed++;
    }
    pthread_mutex_unlock(&lg->mu);
    return ok;
}

static void format_time(sonde_json_buf *b, uint64_t ns)
{
    char t[SONDE_RFC3339_MAX + 2] = "\"";
    size_t n = 1 + sonde_internal_rfc3339(ns, 9, t + 1);
    t[n++] = '"';
    sonde_json_raw(b, t, n);
}

static void ring_put(sonde_logger *lg, const sonde_log_record *rec, const char *line, size_t n)
{
    if (!lg->ring_cap)
        return;
    if (n >= RING_LINE_MAX)
        n = RING_LINE_MAX - 1;
    char *copy = malloc(n + 1);
    if (!copy)
        return;
    memcpy(copy, line, n);
    copy[n] = '\0';
    pthread_mutex_lock(&lg->mu);
    sonde_log_entry *e = &lg->ring[lg->ring_next];
    free((char *)e->json);
    *e = (sonde_log_entry){.seq = ++lg->last_seq, .unix_ns = rec->unix_ns, .level = rec->level,
                           .json = copy};
    memcpy(e->trace_id, rec->trace_id, 16);
    memcpy(e->span_id, rec->span_id, 8);
    lg->ring_next = (lg->ring_next + 1) % lg->ring_cap;
    if (lg->ring_count < lg->ring_cap)
        lg->ring_count++;
    pthread_mutex_unlock(&lg->mu);
}

void sonde_log(sonde_logger *lg, sonde_log_level level, const char *msg, const sonde_attr *fields,
               size_t n)
{
    if (!lg || !msg || (n && !fields))
        return;
    if ((int)level < lg->level) {
        atomic_fetch_add_explicit(&lg->below_level, 1, memory_order_relaxed);
        return;
    }
    uint64_t now = wall_ns(), suppressed = 0;
    if (!site_admit(lg, msg, now, &suppressed)) {
        atomic_fetch_add_explicit(&lg->rate_limited, 1, memory_order_relaxed);
        return;
    }
    sonde_log_record rec = {.unix_ns = now, .level = level, .msg = msg, .service = lg->service,
                            .fields = fields, .field_count = n};
    const sonde_span *cur = sonde_trace_current_span;
    sonde_json_buf b = {0};
    sonde_json_raw(&b, "{\"time\":", 8);
    format_time(&b, now);
    sonde_json_raw(&b, ",\"level\":", 9);
    sonde_json_string(&b, sonde_log_level_name(level));
    sonde_json_raw(&b, ",\"msg\":", 7);
    sonde_json_string(&b, msg);
    sonde_json_raw(&b, ",\"service\":", 11);
    sonde_json_string(&b, lg->service);
    if (cur) {
        char hex[33];
        memcpy(rec.trace_id, cur->ctx.trace_id, 16);
        memcpy(rec.span_id, cur->ctx.span_id, 8);
        rec.trace_flags = cur->ctx.flags;
        sonde_trace_id_hex(rec.trace_id, hex);
        sonde_json_raw(&b, ",\"trace_id\":\"", 13);
        sonde_json_raw(&b, hex, 32);
        sonde_span_id_hex(rec.span_id, hex);
        sonde_json_raw(&b, "\",\"span_id\":\"", 13);
        sonde_json_raw(&b, hex, 16);
        sonde_json_raw(&b, "\"", 1);
    }
    if (n || suppressed) {
        sonde_json_raw(&b, ",\"fields\":{", 11);
        size_t written = 0;
        for (size_t i = 0; i < n; i++) {
            if (!fields[i].key || (fields[i].type == SONDE_ATTR_STRING && !fields[i].v.s))
                continue;
            if (written++)
                sonde_json_raw(&b, ",", 1);
            sonde_json_string(&b, fields[i].key);
            sonde_json_raw(&b, ":", 1);
            sonde_json_attr_value(&b, &fields[i]);
        }
        if (suppressed) {
            char num[32];
            int k = snprintf(num, sizeof num, "%s\"suppressed\":%llu", written ? "," : "",
                             (unsigned long long)suppressed);
            sonde_json_raw(&b, num, (size_t)k);
        }
        sonde_json_raw(&b, "}", 1);
    }
    sonde_json_raw(&b, "}\n", 2);
    if (b.failed) {
        free(b.p);
        return;
    }
    if (lg->fd >= 0) {
        ssize_t w = write(lg->fd, b.p, b.len);
        (void)w; /* a log line that cannot be written is not an error of the caller */
    }
    ring_put(lg, &rec, b.p, b.len - 1);
    atomic_fetch_add_explicit(&lg->written, 1, memory_order_relaxed);
    if (lg->exporting && !exporting_logs) {
        for (size_t i = 0; i < n; i++)
            if (!fields[i].key || (fields[i].type == SONDE_ATTR_STRING && !fields[i].v.s))
                rec.field_count = 0; /* a malformed field list is not exported */
        log_item *it = item_copy(&rec);
        if (it && sonde_batch_push(&lg->batch, it) != 0)
            free(it);
    }
    free(b.p);
}

size_t sonde_log_recent(sonde_logger *lg, char **out, size_t cap, size_t max)
{
    if (!lg || !out || !cap)
        return 0;
    size_t w = 0;
    pthread_mutex_lock(&lg->mu);
    for (size_t i = 0; i < lg->ring_count && w < max; i++) {
        const char *line = lg->ring[(lg->ring_next + lg->ring_cap - 1 - i) % lg->ring_cap].json;
        if (!out[w])
            break;
        size_t n = strlen(line);
        if (n >= cap)
            n = cap - 1;
        memcpy(out[w], line, n);
        out[w][n] = '\0';
        w++;
    }
    pthread_mutex_unlock(&lg->mu);
    return w;
}

uint64_t sonde_log_scan(sonde_logger *lg, uint64_t after_seq, sonde_log_scan_fn fn, void *ud)
{
    if (!lg || !fn)
        return 0;
    pthread_mutex_lock(&lg->mu);
    uint64_t last = lg->last_seq;
    /* The ring holds seqs last - count + 1 .. last, oldest at ring_next - count. */
    size_t skip = 0;
    if (after_seq >= last)
        skip = lg->ring_count;
    else if (last - after_seq < lg->ring_count)
        skip = lg->ring_count - (size_t)(last - after_seq);
    for (size_t i = skip; i < lg->ring_count; i++) {
        const sonde_log_entry *e =
            &lg->ring[(lg->ring_next + lg->ring_cap - lg->ring_count + i) % lg->ring_cap];
        if (fn(ud, e))
            break;
    }
    pthread_mutex_unlock(&lg->mu);
    return last;
}

void sonde_logger_stats_get(const sonde_logger *lg, sonde_log_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!lg)
        return;
    sonde_logger *m = (sonde_logger *)lg;
    out->written = atomic_load(&m->written);
    out->below_level = atomic_load(&m->below_level);
    out->rate_limited = atomic_load(&m->rate_limited);
    out->exported = atomic_load(&m->exported);
    out->export_failed = atomic_load(&m->export_failed);
    if (m->exporting)
        out->dropped_queue_full = sonde_batch_dropped_full(&m->batch);
}
