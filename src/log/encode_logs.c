/*
 * encode_logs.c - log records as an OTLP ExportLogsServiceRequest
 * (opentelemetry-proto v1, logs/v1/logs.proto): one ResourceLogs per run of
 * records of one service, scope "sonde", the message as the string body,
 * the fields as attributes, trace and span ids when the record has them.
 */
#include <string.h>

#include "trace_internal.h"

static int zero(const uint8_t *p, size_t n)
{
    uint8_t any = 0;
    for (size_t i = 0; i < n; i++)
        any |= p[i];
    return !any;
}

int sonde_log_encode_otlp(const sonde_log_record *const *records, size_t n, char **out,
                          size_t *len)
{
    if (!out || !len || (n && !records))
        return SONDE_EINVAL;
    *out = NULL;
    *len = 0;
    for (size_t i = 0; i < n; i++)
        if (!records[i] || !records[i]->msg || !records[i]->service)
            return SONDE_EINVAL;
    pb_buf b = {0};
    size_t i = 0;
    while (i < n) {
        const char *service = records[i]->service;
        size_t rl = sonde_pb_open(&b, 1); /* resource_logs */
        sonde_attr svc = SONDE_ATTR_STR("service.name", service);
        sonde_pb_resource(&b, &svc, 1);
        size_t sl = sonde_pb_open(&b, 2); /* scope_logs */
        size_t sc = sonde_pb_open(&b, 1);
        sonde_pb_string(&b, 1, "sonde");
        sonde_pb_string(&b, 2, SONDE_VERSION_STRING);
        sonde_pb_close(&b, sc);
        for (; i < n && strcmp(records[i]->service, service) == 0; i++) {
            const sonde_log_record *r = records[i];
            size_t lr = sonde_pb_open(&b, 2); /* log_records */
            sonde_pb_fixed64(&b, 1, r->unix_ns);
            sonde_pb_varint(&b, 2, (uint64_t)r->level);
            sonde_pb_string(&b, 3, sonde_log_level_name(r->level));
            size_t body = sonde_pb_open(&b, 5);
            sonde_pb_string(&b, 1, r->msg);
            sonde_pb_close(&b, body);
            for (size_t k = 0; k < r->field_count; k++) {
                const sonde_attr *a = &r->fields[k];
                if (a->key && (a->type != SONDE_ATTR_STRING || a->v.s))
                    sonde_pb_key_value(&b, 6, a->key, a->type, a->v.s, a->v.i, a->v.d, a->v.b);
            }
            if (!zero(r->trace_id, 16)) {
                sonde_pb_bytes(&b, 9, r->trace_id, 16);
                sonde_pb_bytes(&b, 10, r->span_id, 8);
                sonde_pb_fixed32(&b, 8, r->trace_flags); /* flags: the W3C trace flags */
            }
            sonde_pb_fixed64(&b, 11, r->unix_ns); /* observed_time_unix_nano */
            sonde_pb_close(&b, lr);
        }
        sonde_pb_close(&b, sl);
        sonde_pb_close(&b, rl);
    }
    return sonde_pb_finish(&b, out, len);
}
