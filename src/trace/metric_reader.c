/*
 * metric_reader.c - the periodic metric reader: its options resolved (code,
 * then OTEL_METRIC_EXPORT_INTERVAL / _TIMEOUT, then the OpenTelemetry
 * defaults), its resource (resource.c, as the tracer's), and one thread
 * that sleeps an interval, encodes the registry (encode_metrics.c)
 * and hands the request to the exporter with a deadline of now + the
 * timeout. Exports are serialised by a mutex, so an explicit export and the
 * last one at free never overlap the thread's. The values are cumulative:
 * a failed export loses nothing but the points of that interval, counted.
 * Counters are atomics, exposed on the registry by a collector.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "trace_internal.h"

struct sonde_metric_reader {
    sonde_registry *registry;
    sonde_metric_exporter exporter;
    trace_resource res;
    sonde_logger *logger;
    long interval_ms, timeout_ms;
    uint64_t start_ns;           /* wall: the start of series that have no creation time */
    sonde_buf request;           /* under export_mu: the request, kept from export to export
                                    (a large registry's is megabytes: allocating and faulting
                                    it in anew each time cost a tenth of the encoding) */
    sonde_collector *collector;
    pthread_mutex_t export_mu;   /* one export at a time */
    pthread_mutex_t mu;          /* stop flag and the thread's sleep */
    pthread_cond_t wake;
    int stopping, running;
    pthread_t thread;
    _Atomic uint64_t exports, export_failures, points_exported, points_failed, points_rejected;
};

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void sonde_metric_reader_opts_init(sonde_metric_reader_opts *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->interval_ms = o->timeout_ms = -1;
    o->disabled = -1;
    o->read_env = 1;
}

static long pick(sonde_logger *lg, int read_env, long code, const char *var, long def)
{
    long v;
    if (code >= 0)
        return code;
    if (read_env && sonde_env_long(lg, var, &v) == 1)
        return v;
    return def;
}

/* Encode into b (kept or fresh); on failure b's memory is released. */
static int encode_into(sonde_metric_reader *r, sonde_buf *b, size_t *points)
{
    int rc = sonde_metrics_encode_otlp_res(r->registry, &r->res, wall_ns(), r->start_ns, b, points);
    if (rc != SONDE_OK) {
        free(b->p);
        memset(b, 0, sizeof *b);
    }
    return rc;
}

int sonde_metric_reader_encode(sonde_metric_reader *r, char **out, size_t *len, size_t *points)
{
    size_t n = 0;
    if (!r || !out || !len)
        return SONDE_EINVAL;
    *out = NULL;
    *len = 0;
    sonde_buf b = {0};
    int rc = encode_into(r, &b, &n);
    if (rc == SONDE_OK) {
        *out = b.p;
        *len = b.len;
    }
    if (points)
        *points = n;
    return rc;
}

static int export_now(sonde_metric_reader *r, long timeout_ms)
{
    if (!r->exporter.export_fn)
        return SONDE_EINVAL;
    if (timeout_ms < 0 || timeout_ms > r->timeout_ms)
        timeout_ms = r->timeout_ms;
    uint64_t deadline = sonde_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    pthread_mutex_lock(&r->export_mu);
    size_t points = 0, rejected = 0;
    int rc = encode_into(r, &r->request, &points);
    if (rc == SONDE_OK)
        rc = r->exporter.export_fn(r->exporter.ud, r->request.p, r->request.len, points, deadline,
                                   &rejected);
    if (rc < 0) {
        atomic_fetch_add(&r->export_failures, 1);
        atomic_fetch_add(&r->points_failed, points);
        sonde_attr f[2] = {SONDE_ATTR_INT("points", (int64_t)points),
                           SONDE_ATTR_STR("error", sonde_strerror(rc))};
        /* the exporter reports the cause (libsonde-otlp does, once per export) */
        sonde_diag(r->logger, SONDE_LOG_DEBUG, "metric export failed, points dropped", f, 2);
    } else {
        if (rejected > points)
            rejected = points;
        atomic_fetch_add(&r->exports, 1);
        atomic_fetch_add(&r->points_rejected, rejected);
        atomic_fetch_add(&r->points_exported, points - rejected);
    }
    pthread_mutex_unlock(&r->export_mu);
    return rc;
}

int sonde_metric_reader_export(sonde_metric_reader *r, long timeout_ms)
{
    return r ? export_now(r, timeout_ms) : SONDE_OK;
}

static void *run(void *ud)
{
    sonde_metric_reader *r = ud;
    pthread_mutex_lock(&r->mu);
    while (!r->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t ns = (uint64_t)ts.tv_nsec + (uint64_t)(r->interval_ms % 1000) * 1000000ull;
        ts.tv_sec += (time_t)(r->interval_ms / 1000 + (long)(ns / 1000000000ull));
        ts.tv_nsec = (long)(ns % 1000000000ull);
        int w = 0;
        while (!r->stopping && w != ETIMEDOUT)
            w = pthread_cond_timedwait(&r->wake, &r->mu, &ts);
        if (r->stopping)
            break;
        pthread_mutex_unlock(&r->mu);
        export_now(r, -1);
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static int collect(sonde_emitter *e, void *ud)
{
    sonde_metric_reader_stats st;
    sonde_metric_reader_stats_get(ud, &st);
    if (sonde_emit_family(e, "sonde_metric_exports_total",
                          "Metric exports by result (each carries every series).", SONDE_COUNTER,
                          NULL) == SONDE_OK) {
        sonde_label l[2] = {{"result", "delivered"}, {"result", "failed"}};
        sonde_emit_sample(e, NULL, &l[0], 1, (double)st.exports);
        sonde_emit_sample(e, NULL, &l[1], 1, (double)st.export_failures);
    }
    if (sonde_emit_family(e, "sonde_metric_points_exported_total",
                          "Metric data points the exporter delivered.", SONDE_COUNTER,
                          NULL) == SONDE_OK)
        sonde_emit_sample(e, NULL, NULL, 0, (double)st.points_exported);
    if (sonde_emit_family(e, "sonde_metric_points_dropped_total",
                          "Metric data points not delivered, by reason.", SONDE_COUNTER,
                          NULL) == SONDE_OK) {
        sonde_label l[2] = {{"reason", "export_failed"}, {"reason", "rejected"}};
        sonde_emit_sample(e, NULL, &l[0], 1, (double)st.points_failed);
        sonde_emit_sample(e, NULL, &l[1], 1, (double)st.points_rejected);
    }
    return 0;
}

static void reader_destroy(sonde_metric_reader *r)
{
    sonde_resource_free(&r->res);
    free(r->request.p);
    pthread_mutex_destroy(&r->export_mu);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->wake);
    free(r);
}

/* OTEL_METRICS_EXPORTER=none (alone in the list) turns metrics off. */
static int exporter_none(const sonde_metric_reader_opts *o)
{
    const char *v = o->read_env ? sonde_env_get("OTEL_METRICS_EXPORTER") : NULL;
    return v && strcasecmp(v, "none") == 0;
}

int sonde_metric_reader_new(const sonde_metric_reader_opts *opts, sonde_metric_reader **out)
{
    if (!out)
        return SONDE_EINVAL;
    *out = NULL;
    if (!opts || !opts->registry)
        return SONDE_EINVAL;
    int disabled = opts->disabled >= 0
                       ? opts->disabled
                       : opts->read_env && (sonde_env_bool(opts->logger, "OTEL_SDK_DISABLED") ||
                                            exporter_none(opts));
    if (disabled)
        return SONDE_OK;
    sonde_metric_reader *r = calloc(1, sizeof *r);
    if (!r)
        return SONDE_ENOMEM;
    r->registry = opts->registry;
    r->exporter = opts->exporter;
    r->logger = opts->logger;
    r->start_ns = wall_ns();
    pthread_mutex_init(&r->export_mu, NULL);
    pthread_mutex_init(&r->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->wake, &ca);
    pthread_condattr_destroy(&ca);
    r->interval_ms = pick(r->logger, opts->read_env, opts->interval_ms, "OTEL_METRIC_EXPORT_INTERVAL", 60000);
    r->timeout_ms = pick(r->logger, opts->read_env, opts->timeout_ms, "OTEL_METRIC_EXPORT_TIMEOUT", 30000);
    if (r->interval_ms < 1)
        r->interval_ms = 60000;
    if (r->interval_ms > 86400000L * 365)
        r->interval_ms = 86400000L * 365;
    if (r->timeout_ms > 86400000L)
        r->timeout_ms = 86400000L;
    resource_opts ro = {opts->service_name, opts->service_version, opts->deployment_environment,
                        opts->resource_attributes, opts->scope_name, opts->scope_version,
                        opts->config, opts->read_env};
    int rc = sonde_resource_build(&r->res, &ro, r->logger);
    if (rc == SONDE_OK && r->exporter.export_fn) {
        if (pthread_create(&r->thread, NULL, run, r) != 0)
            rc = SONDE_EIO;
        else
            r->running = 1;
    }
    if (rc != SONDE_OK) {
        reader_destroy(r);
        return rc;
    }
    sonde_collector_add(r->registry, "sonde_metric_reader", collect, r, &r->collector);
    *out = r;
    return SONDE_OK;
}

void sonde_metric_reader_free(sonde_metric_reader *r, long timeout_ms)
{
    if (!r)
        return;
    if (r->running) {
        pthread_mutex_lock(&r->mu);
        r->stopping = 1;
        pthread_cond_signal(&r->wake);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->thread, NULL);
    }
    if (r->exporter.export_fn && timeout_ms != 0)
        export_now(r, timeout_ms);
    if (r->collector)
        sonde_collector_remove(r->registry, r->collector);
    if (r->exporter.shutdown_fn)
        r->exporter.shutdown_fn(r->exporter.ud);
    reader_destroy(r);
}

void sonde_metric_reader_stats_get(const sonde_metric_reader *r, sonde_metric_reader_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!r)
        return;
    sonde_metric_reader *m = (sonde_metric_reader *)r;
    out->exports = atomic_load(&m->exports);
    out->export_failures = atomic_load(&m->export_failures);
    out->points_exported = atomic_load(&m->points_exported);
    out->points_failed = atomic_load(&m->points_failed);
    out->points_rejected = atomic_load(&m->points_rejected);
}
