/*
 * exporters.c - a tracer's, a logger's and a metric reader's exporter over
 * the transport: the batch is encoded by libsonde (sonde_trace_encode_otlp,
 * sonde_log_encode_otlp; the reader hands its request already encoded) and
 * sent with the export's deadline.
 */
#include <stdlib.h>
#include <time.h>

#include "otlp_internal.h"

static long ms_left(uint64_t deadline_ns)
{
    uint64_t now = sonde_now_ns();
    return deadline_ns > now ? (long)((deadline_ns - now) / 1000000ull) : 0;
}

static int export_spans(void *ud, const sonde_span *const *spans, size_t n, uint64_t deadline_ns,
                        size_t *rejected)
{
    char *body;
    size_t len;
    int rc = sonde_trace_encode_otlp(spans, n, &body, &len);
    if (rc != SONDE_OK)
        return rc;
    rc = sonde_otlp_send(ud, SONDE_OTLP_TRACES, body, len, ms_left(deadline_ns), rejected);
    free(body);
    return rc;
}

static int export_logs(void *ud, const sonde_log_record *const *records, size_t n,
                       uint64_t deadline_ns, size_t *rejected)
{
    char *body;
    size_t len;
    int rc = sonde_log_encode_otlp(records, n, &body, &len);
    if (rc != SONDE_OK)
        return rc;
    rc = sonde_otlp_send(ud, SONDE_OTLP_LOGS, body, len, ms_left(deadline_ns), rejected);
    free(body);
    return rc;
}

static int export_metrics(void *ud, const void *request, size_t len, size_t points,
                          uint64_t deadline_ns, size_t *rejected)
{
    (void)points;
    return sonde_otlp_send(ud, SONDE_OTLP_METRICS, request, len, ms_left(deadline_ns), rejected);
}

int sonde_otlp_metric_exporter(sonde_otlp *o, sonde_metric_exporter *out)
{
    if (!o || !out)
        return SONDE_EINVAL;
    *out = (sonde_metric_exporter){export_metrics, NULL, o};
    return SONDE_OK;
}

int sonde_otlp_span_exporter(sonde_otlp *o, sonde_span_exporter *out)
{
    if (!o || !out)
        return SONDE_EINVAL;
    *out = (sonde_span_exporter){export_spans, NULL, o};
    return SONDE_OK;
}

int sonde_otlp_log_exporter(sonde_otlp *o, sonde_log_exporter *out)
{
    if (!o || !out)
        return SONDE_EINVAL;
    *out = (sonde_log_exporter){export_logs, NULL, o};
    return SONDE_OK;
}
