/*
 * tracer.c - the tracer: its options resolved (code, then OTEL_*, then the
 * OpenTelemetry defaults), its resource, sampler and span limits, and the
 * glue between the spans and the batch processor: finished spans go to the
 * recent ring and the exporter on the export thread, then back to the pool
 * (those the ring holds on to later, when newer ones push them out).
 * Counters are atomics (the full queue's drops counted by each thread's ring
 * and summed) read by sonde_tracer_stats_get() and, when a registry
 * is given, exposed as sonde_spans_dropped_total{reason} and
 * sonde_spans_exported_total by a collector.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "recent.h"
#include "trace_internal.h"

void sonde_tracer_opts_init(sonde_tracer_opts *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->sampler_ratio = -1;
    o->attribute_count_limit = o->attribute_value_length_limit = -1;
    o->event_count_limit = o->event_attribute_count_limit = -1;
    o->schedule_delay_ms = o->export_timeout_ms = -1;
    o->max_queue_size = o->max_export_batch_size = -1;
    o->recent_spans = -1;
    o->disabled = -1;
    o->read_env = 1;
}

/* An option: the code's value when set (>= 0), else the first variable set, else def. */
static long pick(sonde_logger *lg, int read_env, long code, const char *var1, const char *var2,
                 long def)
{
    if (code >= 0)
        return code;
    long v;
    if (read_env && var1 && sonde_env_long(lg, var1, &v) == 1)
        return v;
    if (read_env && var2 && sonde_env_long(lg, var2, &v) == 1)
        return v;
    return def;
}

static const struct {
    const char *name;
    sonde_sampler_kind kind;
} samplers[] = {
    {"always_on", SONDE_SAMPLER_ALWAYS_ON},
    {"always_off", SONDE_SAMPLER_ALWAYS_OFF},
    {"traceidratio", SONDE_SAMPLER_TRACEIDRATIO},
    {"parentbased_always_on", SONDE_SAMPLER_PARENTBASED_ALWAYS_ON},
    {"parentbased_always_off", SONDE_SAMPLER_PARENTBASED_ALWAYS_OFF},
    {"parentbased_traceidratio", SONDE_SAMPLER_PARENTBASED_TRACEIDRATIO},
};

static void resolve_sampler(sonde_tracer *t, const sonde_tracer_opts *o)
{
    t->sampler = o->sampler;
    t->ratio = o->sampler_ratio;
    const char *v;
    if (t->sampler == SONDE_SAMPLER_UNSET && o->read_env && (v = sonde_env_get("OTEL_TRACES_SAMPLER"))) {
        for (size_t i = 0; i < sizeof samplers / sizeof samplers[0]; i++)
            if (strcasecmp(v, samplers[i].name) == 0)
                t->sampler = samplers[i].kind;
        if (t->sampler == SONDE_SAMPLER_UNSET) {
            sonde_attr f[2] = {SONDE_ATTR_STR("variable", "OTEL_TRACES_SAMPLER"),
                               SONDE_ATTR_STR("value", v)};
            sonde_diag(t->logger, SONDE_LOG_WARN, "ignoring a malformed environment variable", f, 2);
        }
    }
    if (t->sampler == SONDE_SAMPLER_UNSET)
        t->sampler = SONDE_SAMPLER_PARENTBASED_ALWAYS_ON;
    if (!(t->ratio >= 0 && t->ratio <= 1)) {
        t->ratio = 1.0;
        if (o->read_env && (v = sonde_env_get("OTEL_TRACES_SAMPLER_ARG"))) {
            char *end;
            double r = sonde_strtod(v, &end); /* the C locale's, whatever the host's */
            if (end != v && *end == '\0' && r >= 0 && r <= 1) {
                t->ratio = r;
            } else {
                sonde_attr f[2] = {SONDE_ATTR_STR("variable", "OTEL_TRACES_SAMPLER_ARG"),
                                   SONDE_ATTR_STR("value", v)};
                sonde_diag(t->logger, SONDE_LOG_WARN, "ignoring a malformed environment variable", f, 2);
            }
        }
    }
}

static void deliver(void *ud, void **items, size_t n, uint64_t deadline_ns)
{
    sonde_tracer *t = ud;
    /* The recent ring keeps some spans (it reads the marked ones, span_mark, while the
     * exporter may read them too: both only read); the ones it gives back return to the pool
     * after the export. The exporter sees plain pointers. */
    size_t back = sonde_recent_add(t->recent, items, n, t->release);
    for (size_t i = 0; i < n; i++)
        items[i] = span_unmark(items[i]);
    const sonde_span *const *spans = (const sonde_span *const *)items;
    if (t->exporter.export_fn) {
        size_t rejected = 0;
        int rc = t->exporter.export_fn(t->exporter.ud, spans, n, deadline_ns, &rejected);
        if (rc < 0) {
            atomic_fetch_add(&t->export_failed, n);
            sonde_attr f[2] = {SONDE_ATTR_INT("spans", (int64_t)n),
                               SONDE_ATTR_STR("error", sonde_strerror(rc))};
            /* counted; the exporter reports the cause (libsonde-otlp does, once per export),
             * so this record is for debugging only */
            sonde_diag(t->logger, SONDE_LOG_DEBUG, "span export failed, spans dropped", f, 2);
        } else {
            if (rejected > n)
                rejected = n;
            atomic_fetch_add(&t->rejected, rejected);
            atomic_fetch_add(&t->exported, n - rejected);
        }
    }
    sonde_span_pool_put_batch(&t->pool, t->release, back);
}

static void drop(void *ud, void **items, size_t n)
{
    sonde_tracer *t = ud;
    sonde_span_pool_put_batch(&t->pool, items, n);
}

static int collect(sonde_emitter *e, void *ud)
{
    sonde_tracer_stats st;
    sonde_tracer_stats_get(ud, &st);
    if (sonde_emit_family(e, "sonde_spans_dropped_total",
                          "Finished sampled spans that were not exported, by reason.",
                          SONDE_COUNTER, NULL) == SONDE_OK) {
        const char *reasons[] = {"queue_full", "export_failed", "rejected", "shutdown"};
        uint64_t v[] = {st.dropped_queue_full, st.dropped_export_failed, st.dropped_rejected,
                        st.dropped_shutdown};
        for (int i = 0; i < 4; i++) {
            sonde_label l = {"reason", reasons[i]};
            sonde_emit_sample(e, NULL, &l, 1, (double)v[i]);
        }
    }
    if (sonde_emit_family(e, "sonde_spans_exported_total", "Spans the exporter delivered.",
                          SONDE_COUNTER, NULL) == SONDE_OK)
        sonde_emit_sample(e, NULL, NULL, 0, (double)st.exported);
    return 0;
}

static void tracer_destroy(sonde_tracer *t)
{
    if (t->recent) {
        sonde_recent_destroy(t->recent);
        free(t->recent);
    }
    free(t->release);
    sonde_span_pool_destroy(&t->pool);
    sonde_resource_free(&t->res);
    free(t);
}

int sonde_tracer_new(const sonde_tracer_opts *opts, sonde_tracer **out)
{
    if (!out)
        return SONDE_EINVAL;
    *out = NULL;
    sonde_tracer_opts defaults;
    if (!opts) {
        sonde_tracer_opts_init(&defaults);
        opts = &defaults;
    }
    int disabled = opts->disabled >= 0 ? opts->disabled
                                       : opts->read_env && sonde_env_bool(opts->logger, "OTEL_SDK_DISABLED");
    if (disabled)
        return SONDE_OK;
    sonde_tracer *t = sonde_batch_owner_alloc(sizeof *t);
    if (!t)
        return SONDE_ENOMEM;
    t->logger = opts->logger;
    t->exporter = opts->exporter;
    int env = opts->read_env;
    sonde_logger *lg = t->logger;
    resolve_sampler(t, opts);
    long attrs = pick(lg, env, opts->attribute_count_limit, "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
                      "OTEL_ATTRIBUTE_COUNT_LIMIT", 128);
    long vlen = pick(lg, env, opts->attribute_value_length_limit,
                     "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", 0);
    long events = pick(lg, env, opts->event_count_limit, "OTEL_SPAN_EVENT_COUNT_LIMIT", NULL, 128);
    long ev_attrs = pick(lg, env, opts->event_attribute_count_limit,
                         "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", NULL, 128);
    t->limits.attrs = (uint32_t)(attrs > 65536 ? 65536 : attrs);
    t->limits.value_len = (uint32_t)(vlen > (1L << 24) ? (1L << 24) : vlen);
    t->limits.events = (uint32_t)(events > 65536 ? 65536 : events);
    t->limits.event_attrs = (uint32_t)(ev_attrs > 65536 ? 65536 : ev_attrs);
    long delay = pick(lg, env, opts->schedule_delay_ms, "OTEL_BSP_SCHEDULE_DELAY", NULL, 5000);
    long timeout = pick(lg, env, opts->export_timeout_ms, "OTEL_BSP_EXPORT_TIMEOUT", NULL, 30000);
    long queue = pick(lg, env, opts->max_queue_size, "OTEL_BSP_MAX_QUEUE_SIZE", NULL, 2048);
    long batch = pick(lg, env, opts->max_export_batch_size, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
                      NULL, 512);
    long recent = pick(lg, env, opts->recent_spans, "SONDE_TRACE_RECENT", NULL, 256);
    if (queue < 1 || queue > (1L << 24))
        queue = 2048;
    if (batch < 1 || batch > queue)
        batch = batch < 1 ? 512 : queue; /* the spec: at most the queue size */
    if (batch > queue)
        batch = queue;
    if (recent > 65536)
        recent = 65536;
    t->export_timeout_ms = timeout;
    sonde_span_pool_init(&t->pool, (size_t)queue + (size_t)batch);
    resource_opts ro = {opts->service_name, opts->service_version, opts->deployment_environment,
                        opts->resource_attributes, opts->scope_name, opts->scope_version,
                        opts->config, opts->read_env};
    int rc = sonde_resource_build(&t->res, &ro, t->logger);
    if (rc == SONDE_OK && !(t->release = malloc((size_t)batch * sizeof *t->release)))
        rc = SONDE_ENOMEM;
    /* its hints sit on cache lines of their own */
    if (rc == SONDE_OK && !(t->recent = aligned_alloc(64, (sizeof *t->recent + 63) / 64 * 64)))
        rc = SONDE_ENOMEM;
    t->recent_names = recent > 0;
    if (rc == SONDE_OK && (rc = sonde_recent_init(t->recent, (size_t)recent)) != SONDE_OK) {
        free(t->recent);
        t->recent = NULL;
    }
    if (rc == SONDE_OK)
        rc = sonde_batch_start(&t->batch, (size_t)queue, (size_t)batch, (uint64_t)delay * 1000000ull,
                         (uint64_t)timeout * 1000000ull, (batch_ops){deliver, drop, t});
    if (rc != SONDE_OK) {
        tracer_destroy(t);
        return rc;
    }
    if (opts->registry) {
        t->registry = opts->registry;
        sonde_collector_add(opts->registry, "sonde_spans", collect, t, &t->collector);
    }
    *out = t;
    return SONDE_OK;
}

int sonde_tracer_flush(sonde_tracer *t, long timeout_ms)
{
    if (!t)
        return SONDE_OK;
    if (timeout_ms < 0)
        timeout_ms = t->export_timeout_ms;
    return sonde_batch_flush(&t->batch, (uint64_t)timeout_ms * 1000000ull);
}

void sonde_tracer_free(sonde_tracer *t, long timeout_ms)
{
    if (!t)
        return;
    if (timeout_ms < 0)
        timeout_ms = t->export_timeout_ms;
    if (t->collector)
        sonde_collector_remove(t->registry, t->collector);
    sonde_batch_stop(&t->batch, (uint64_t)timeout_ms * 1000000ull);
    if (t->exporter.shutdown_fn)
        t->exporter.shutdown_fn(t->exporter.ud);
    tracer_destroy(t);
}

void sonde_tracer_stats_get(const sonde_tracer *t, sonde_tracer_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!t)
        return;
    sonde_tracer *m = (sonde_tracer *)t;
    out->exported = atomic_load(&m->exported);
    out->dropped_queue_full = sonde_batch_dropped_full(&m->batch);
    out->dropped_export_failed = atomic_load(&m->export_failed);
    out->dropped_rejected = atomic_load(&m->rejected);
    out->dropped_shutdown = atomic_load(&m->batch.dropped_shutdown);
}

size_t sonde_tracer_trace(sonde_tracer *t, const uint8_t trace_id[16], sonde_span_visit_fn fn,
                          void *ud)
{
    if (!t || !trace_id || !fn || !t->recent)
        return 0;
    return sonde_recent_trace(t->recent, trace_id, fn, ud);
}

size_t sonde_tracer_recent(sonde_tracer *t, sonde_recent_kind kind, sonde_span_summary *out,
                           size_t max)
{
    if (!t || !out)
        return 0;
    return sonde_recent_read(t->recent, kind, out, max);
}
