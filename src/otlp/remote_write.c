/*
 * remote_write.c - the Prometheus remote write 1.0 sender (sonde/push.h).
 *
 * One thread of its own does everything, so the host's threads never wait
 * on it: every interval it snapshots the registry into a WriteRequest
 * (sonde_remote_write_encode, libsonde), compresses it with snappy (block
 * format) and appends it to a bounded queue of snapshots; between snapshots
 * it sends the queue's oldest entry, one request at a time, so a series'
 * samples reach the receiver in time order and never twice from here.
 * A 2xx removes the entry. 5xx, 429 and connection failures keep it and wait
 * the server's Retry-After, else a capped exponential backoff with jitter
 * (http_client.c, shared with the OTLP transport); snapshots go on being
 * taken meanwhile, and when the queue is full the oldest snapshot is dropped
 * and its samples counted as dropped. Any other answer (400, 401, 413, ...)
 * drops the entry at once, counted as failed and logged with its status and
 * the first bytes of the answer: resending what the receiver refused cannot
 * succeed. A request takes at most timeout_ms; a snapshot that fell due
 * meanwhile is taken when it returns.
 *
 * The counts are kept as atomics for sonde_remote_write_stats_get and
 * mirrored in the sonde_remote_write_* families of the stats registry.
 */
#include <pthread.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "push_internal.h"

typedef struct snapshot {
    char *body; /* snappy-compressed WriteRequest */
    size_t len;
    size_t samples;
} snapshot;

struct sonde_remote_write {
    sonde_registry *reg, *stats_reg;
    char *url;
    sonde_label *external;
    size_t external_count;
    push_dest dest;
    long interval_ms, timeout_ms, backoff_initial_ms, backoff_max_ms;
    sonde_logger *logger;
    CURL *curl;
    hc_answer answer; /* the thread's, reused by every request */

    snapshot *queue; /* ring of max_backlog entries, touched by the thread only */
    size_t cap, head, count;

    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop, snap_now; /* under mu */
    long drain_ms;      /* under mu */

    _Atomic uint64_t snapshots, samples, failed, dropped, dropped_snapshots, retries, requests;
    _Atomic size_t queue_len;
    _Atomic uint64_t last_success_bits; /* a double's bits */

    sonde_counter *m_samples, *m_failed, *m_dropped, *m_retries;
    sonde_gauge *m_queue, *m_last;
    sonde_metric *families[6];
};

static const char *const family_names[6] = {
    "sonde_remote_write_samples_total", "sonde_remote_write_samples_failed_total",
    "sonde_remote_write_samples_dropped_total", "sonde_remote_write_retries_total",
    "sonde_remote_write_queue_length", "sonde_remote_write_last_success_timestamp_seconds"};
static const char *const family_help[6] = {
    "Samples the remote-write receiver accepted.",
    "Samples given up after an answer that is not retried (4xx other than 429).",
    "Samples of snapshots dropped, oldest first, from a full backlog.",
    "Remote-write requests that were retries.",
    "Snapshots waiting to be sent.",
    "Unix time of the last request the receiver accepted."};

void sonde_remote_write_opts_init(sonde_remote_write_opts *opts)
{
    if (opts)
        memset(opts, 0, sizeof *opts);
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void log_event(sonde_remote_write *rw, sonde_log_level level, const char *msg, long status,
                      const char *detail, uint64_t samples)
{
    if (!rw->logger)
        return;
    sonde_attr f[4] = {SONDE_ATTR_STR("url", rw->url), SONDE_ATTR_INT("status", status),
                       SONDE_ATTR_STR("detail", detail), SONDE_ATTR_INT("samples", (int64_t)samples)};
    sonde_log(rw->logger, level, msg, f, 4);
}

static void set_queue(sonde_remote_write *rw)
{
    atomic_store(&rw->queue_len, rw->count);
    sonde_gauge_set(rw->m_queue, (double)rw->count);
}

static void pop(sonde_remote_write *rw)
{
    free(rw->queue[rw->head].body);
    rw->head = (rw->head + 1) % rw->cap;
    rw->count--;
    set_queue(rw);
}

static void take_snapshot(sonde_remote_write *rw)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    char *pb;
    size_t len, samples;
    if (sonde_remote_write_encode(rw->reg, rw->external, rw->external_count, ms, &pb, &len,
                                  &samples) != SONDE_OK) {
        log_event(rw, SONDE_LOG_ERROR, "remote write: snapshot failed (out of memory)", 0, "", 0);
        return;
    }
    size_t zcap = snappy_max_compressed_length(len);
    char *z = malloc(zcap);
    if (!z || snappy_compress(pb, len, z, &zcap) != SNAPPY_OK) {
        free(z);
        free(pb);
        log_event(rw, SONDE_LOG_ERROR, "remote write: compression failed", 0, "", samples);
        return;
    }
    free(pb);
    atomic_fetch_add(&rw->snapshots, 1);
    if (rw->count == rw->cap) { /* full: the oldest goes */
        size_t lost = rw->queue[rw->head].samples;
        pop(rw);
        atomic_fetch_add(&rw->dropped, lost);
        atomic_fetch_add(&rw->dropped_snapshots, 1);
        sonde_counter_add(rw->m_dropped, (double)lost);
        log_event(rw, SONDE_LOG_WARN, "remote write: backlog full, oldest snapshot dropped", 0,
                  "", lost);
    }
    rw->queue[(rw->head + rw->count) % rw->cap] = (snapshot){z, zcap, samples};
    rw->count++;
    set_queue(rw);
}

/* One attempt at the oldest snapshot within timeout_ms: 0 done with it (sent or refused),
 * else the ms to wait before the next attempt. */
static long send_head(sonde_remote_write *rw, long *backoff, int attempt, long timeout_ms)
{
    snapshot *s = &rw->queue[rw->head];
    hc_answer *a = &rw->answer;
    hc_request rq = {.method = "POST", .url = rw->url, .headers = rw->dest.headers,
                     .body = s->body, .len = s->len, .timeout_ms = timeout_ms,
                     .user_agent = "sonde-remote-write/" SONDE_VERSION_STRING,
                     .auth = &rw->dest.auth};
    atomic_fetch_add(&rw->requests, 1);
    if (attempt) {
        atomic_fetch_add(&rw->retries, 1);
        sonde_counter_inc(rw->m_retries);
    }
    hc_perform(rw->curl, &rq, a);
    if (hc_ok(a)) {
        double now = wall_s();
        uint64_t bits;
        memcpy(&bits, &now, sizeof bits);
        atomic_store(&rw->last_success_bits, bits);
        atomic_fetch_add(&rw->samples, s->samples);
        sonde_counter_add(rw->m_samples, (double)s->samples);
        sonde_gauge_set(rw->m_last, now);
        pop(rw);
        *backoff = rw->backoff_initial_ms;
        return 0;
    }
    char detail[200];
    hc_describe(a, detail, sizeof detail);
    if (!hc_retryable(a, 1)) {
        atomic_fetch_add(&rw->failed, s->samples);
        sonde_counter_add(rw->m_failed, (double)s->samples);
        log_event(rw, SONDE_LOG_ERROR, "remote write: receiver refused a snapshot; dropped",
                  a->status, detail, s->samples);
        pop(rw);
        *backoff = rw->backoff_initial_ms;
        return 0;
    }
    long wait = hc_wait_ms(a, backoff, rw->backoff_max_ms);
    if (wait > 3600000)
        wait = 3600000;
    if (attempt == 0) /* once per snapshot, not per retry */
        log_event(rw, SONDE_LOG_WARN, "remote write: send failed; retrying", a->status, detail,
                  s->samples);
    return wait > 0 ? wait : 1;
}

static void wait_until(sonde_remote_write *rw, uint64_t when_ms)
{
    if (when_ms <= hc_mono_ms())
        return;
    struct timespec until = {(time_t)(when_ms / 1000), (long)(when_ms % 1000) * 1000000L};
    pthread_cond_timedwait(&rw->cv, &rw->mu, &until); /* the cv's clock is CLOCK_MONOTONIC */
}

static void *run(void *p)
{
    sonde_remote_write *rw = p;
    uint64_t next_snap = hc_mono_ms() + (uint64_t)rw->interval_ms, retry_at = 0;
    long backoff = rw->backoff_initial_ms;
    int attempt = 0;
    pthread_mutex_lock(&rw->mu);
    while (!rw->stop) {
        uint64_t now = hc_mono_ms();
        if (rw->snap_now || now >= next_snap) {
            if (!rw->snap_now || now >= next_snap) {
                next_snap += (uint64_t)rw->interval_ms;
                if (next_snap <= now) /* fell behind (a slow request): no burst */
                    next_snap = now + (uint64_t)rw->interval_ms;
            }
            rw->snap_now = 0;
            pthread_mutex_unlock(&rw->mu);
            take_snapshot(rw);
            pthread_mutex_lock(&rw->mu);
            continue;
        }
        if (rw->count && now >= retry_at) {
            pthread_mutex_unlock(&rw->mu);
            long wait = send_head(rw, &backoff, attempt, rw->timeout_ms);
            attempt = wait ? attempt + 1 : 0;
            retry_at = wait ? hc_mono_ms() + (uint64_t)wait : 0;
            pthread_mutex_lock(&rw->mu);
            continue;
        }
        wait_until(rw, rw->count && retry_at < next_snap ? retry_at : next_snap);
    }
    /* stopping: a last snapshot, then drain while the deadline allows */
    uint64_t deadline = hc_mono_ms() + (uint64_t)(rw->drain_ms > 0 ? rw->drain_ms : 0);
    pthread_mutex_unlock(&rw->mu);
    take_snapshot(rw);
    for (uint64_t now; rw->count && (now = hc_mono_ms()) < deadline;) {
        long left = (long)(deadline - now);
        long wait = send_head(rw, &backoff, attempt, left < rw->timeout_ms ? left : rw->timeout_ms);
        attempt = wait ? attempt + 1 : 0;
        if (wait && hc_mono_ms() + (uint64_t)wait >= deadline)
            break;
        if (wait) {
            struct timespec ts = {wait / 1000, (wait % 1000) * 1000000L};
            while (nanosleep(&ts, &ts) != 0)
                ;
        }
    }
    uint64_t lost = 0;
    while (rw->count) {
        lost += rw->queue[rw->head].samples;
        pop(rw);
    }
    if (lost) {
        atomic_fetch_add(&rw->dropped, lost);
        sonde_counter_add(rw->m_dropped, (double)lost);
        log_event(rw, SONDE_LOG_WARN, "remote write: stopped with snapshots unsent; dropped", 0,
                  "", lost);
    }
    return NULL;
}

static void unregister_families(sonde_remote_write *rw)
{
    for (int i = 0; i < 6; i++)
        if (rw->families[i])
            sonde_unregister(rw->families[i]);
}

static void destroy(sonde_remote_write *rw)
{
    unregister_families(rw);
    for (size_t i = 0; i < rw->external_count; i++) {
        free((char *)rw->external[i].name);
        free((char *)rw->external[i].value);
    }
    free(rw->external);
    free(rw->url);
    free(rw->queue);
    sonde_push_dest_free(&rw->dest);
    if (rw->curl)
        curl_easy_cleanup(rw->curl);
    pthread_mutex_destroy(&rw->mu);
    pthread_cond_destroy(&rw->cv);
    free(rw);
}

static int register_families(sonde_remote_write *rw)
{
    sonde_registry *r = rw->stats_reg;
    for (int i = 0; i < 6; i++)
        if (sonde_registry_find(r, family_names[i]))
            return SONDE_EEXIST;
    int rc = SONDE_OK;
    sonde_counter **counters[4] = {&rw->m_samples, &rw->m_failed, &rw->m_dropped, &rw->m_retries};
    for (int i = 0; i < 4 && rc == SONDE_OK; i++)
        rc = sonde_counter_new(r, family_names[i], family_help[i], counters[i]);
    if (rc == SONDE_OK)
        rc = sonde_gauge_new(r, family_names[4], family_help[4], &rw->m_queue);
    if (rc == SONDE_OK)
        rc = sonde_gauge_new(r, family_names[5], family_help[5], &rw->m_last);
    for (int i = 0; i < 6; i++)
        rw->families[i] = sonde_registry_find(r, family_names[i]);
    return rc;
}

int sonde_remote_write_new(const sonde_remote_write_opts *opts, sonde_remote_write **out)
{
    if (!out)
        return SONDE_EINVAL;
    *out = NULL;
    if (!opts || !opts->registry || !opts->url || (opts->external_label_count && !opts->external_labels))
        return SONDE_EINVAL;
    if (!sonde_push_http_url(opts->url))
        return SONDE_ECONFIG;
    for (size_t i = 0; i < opts->external_label_count; i++) { /* as the encoder checks them */
        const sonde_label *l = &opts->external_labels[i];
        if (!sonde_internal_valid_label_name(l->name) || strncmp(l->name, "__", 2) == 0 ||
            !l->value || !sonde_internal_valid_utf8(l->value, strlen(l->value)))
            return SONDE_ECONFIG;
    }
    if (!hc_start())
        return SONDE_EIO;
    sonde_remote_write *rw = calloc(1, sizeof *rw);
    if (!rw)
        return SONDE_ENOMEM;
    pthread_mutex_init(&rw->mu, NULL);
    pthread_condattr_t ca; /* waits are measured on the monotonic clock */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&rw->cv, &ca);
    pthread_condattr_destroy(&ca);
    rw->reg = opts->registry;
    rw->stats_reg = opts->stats_registry ? opts->stats_registry : opts->registry;
    rw->logger = opts->logger;
    rw->interval_ms = opts->interval_ms > 0 ? opts->interval_ms : 15000;
    rw->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 10000;
    rw->backoff_initial_ms = opts->backoff_initial_ms > 0 ? opts->backoff_initial_ms : 500;
    rw->backoff_max_ms = opts->backoff_max_ms > 0 ? opts->backoff_max_ms : 30000;
    if (rw->backoff_max_ms < rw->backoff_initial_ms)
        rw->backoff_max_ms = rw->backoff_initial_ms;
    rw->cap = opts->max_backlog ? opts->max_backlog : 60;
    static const char *const extra[] = {"Content-Encoding: snappy",
                                        "X-Prometheus-Remote-Write-Version: 0.1.0", NULL};
    int rc = SONDE_ENOMEM;
    if (rw->cap > 1000000 || !(rw->queue = calloc(rw->cap, sizeof *rw->queue)) ||
        !(rw->url = strdup(opts->url)))
        goto fail;
    if (opts->external_label_count &&
        !(rw->external = calloc(opts->external_label_count, sizeof *rw->external)))
        goto fail;
    for (size_t i = 0; i < opts->external_label_count; i++, rw->external_count++)
        if (!(rw->external[i].name = strdup(opts->external_labels[i].name)) ||
            !(rw->external[i].value = strdup(opts->external_labels[i].value))) {
            free((char *)rw->external[i].name);
            goto fail;
        }
    if ((rc = sonde_push_dest_init(&rw->dest, &opts->auth, "application/x-protobuf", extra)) !=
        SONDE_OK)
        goto fail;
    if ((rc = register_families(rw)) != SONDE_OK)
        goto fail;
    rc = SONDE_EIO;
    if (!(rw->curl = curl_easy_init()) || pthread_create(&rw->thread, NULL, run, rw) != 0)
        goto fail;
    *out = rw;
    return SONDE_OK;
fail:
    destroy(rw);
    return rc;
}

int sonde_remote_write_snapshot_now(sonde_remote_write *rw)
{
    if (!rw)
        return SONDE_EINVAL;
    pthread_mutex_lock(&rw->mu);
    rw->snap_now = 1;
    pthread_cond_signal(&rw->cv);
    pthread_mutex_unlock(&rw->mu);
    return SONDE_OK;
}

void sonde_remote_write_free(sonde_remote_write *rw, long drain_ms)
{
    if (!rw)
        return;
    pthread_mutex_lock(&rw->mu);
    rw->stop = 1;
    rw->drain_ms = drain_ms;
    pthread_cond_signal(&rw->cv);
    pthread_mutex_unlock(&rw->mu);
    pthread_join(rw->thread, NULL);
    destroy(rw);
}

void sonde_remote_write_stats_get(const sonde_remote_write *rw, sonde_remote_write_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!rw)
        return;
    sonde_remote_write *m = (sonde_remote_write *)rw;
    out->snapshots = atomic_load(&m->snapshots);
    out->samples = atomic_load(&m->samples);
    out->failed = atomic_load(&m->failed);
    out->dropped = atomic_load(&m->dropped);
    out->dropped_snapshots = atomic_load(&m->dropped_snapshots);
    out->retries = atomic_load(&m->retries);
    out->requests = atomic_load(&m->requests);
    out->queue = atomic_load(&m->queue_len);
    uint64_t bits = atomic_load(&m->last_success_bits);
    memcpy(&out->last_success, &bits, sizeof bits);
}
