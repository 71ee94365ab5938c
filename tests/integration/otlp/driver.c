/*
 * driver.c - the program test_otlp_export.sh runs against its OTLP receiver:
 * a tracer and a logger exporting through libsonde-otlp, configured by the
 * OTEL_* environment the test sets. Prints one JSON object on stdout with
 * what it made (ids as hex) and the counters afterwards, for the test to
 * compare with what the receiver decoded.
 *
 *   driver trace [TRACEPARENT]  a server span (continuing TRACEPARENT), a client
 *                               span with attributes of every type, an event and
 *                               an error status, an internal span with status ok,
 *                               log records inside and outside the spans
 *   driver flood N              N spans as fast as possible (the receiver refuses
 *                               or is down): reports how long the N span ends took
 *                               in total and the counters
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sonde/otlp.h"
#include "sonde/sonde.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void hexes(const sonde_span *s, char *trace, char *span)
{
    sonde_span_context c;
    sonde_span_get_context(s, &c);
    sonde_trace_id_hex(c.trace_id, trace);
    sonde_span_id_hex(c.span_id, span);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    sonde_logger_opts lo;
    sonde_logger_opts_init(&lo);
    sonde_logger *diag = NULL; /* the library's diagnostics: JSON lines on stderr */
    if (sonde_logger_new(&lo, &diag) != SONDE_OK)
        return 1;
    sonde_otlp_opts oo;
    sonde_otlp_opts_init(&oo);
    oo.logger = diag;
    sonde_otlp *otlp;
    int rc = sonde_otlp_new(&oo, &otlp);
    if (rc != SONDE_OK) {
        fprintf(stderr, "otlp: %s\n", sonde_strerror(rc));
        return 1;
    }
    sonde_log_exporter lexp;
    sonde_otlp_log_exporter(otlp, &lexp);
    lo.exporter = lexp;
    lo.path = getenv("DRIVER_LOG_FILE");
    sonde_logger *app;
    if (sonde_logger_new(&lo, &app) != SONDE_OK)
        return 1;
    sonde_registry *reg;
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    if (sonde_registry_new(&cfg, &reg) != SONDE_OK)
        return 1;
    sonde_tracer_opts to;
    sonde_tracer_opts_init(&to);
    sonde_otlp_span_exporter(otlp, &to.exporter);
    to.logger = diag;
    to.registry = reg;
    to.service_version = "1.2.3";
    sonde_tracer *tr;
    if (sonde_tracer_new(&to, &tr) != SONDE_OK || !tr)
        return 1;

    if (strcmp(argv[1], "trace") == 0) {
        sonde_span_context parent;
        int remote = argc > 2 && sonde_traceparent_parse(argv[2], "vendor=abc", &parent) == SONDE_OK;
        char t[33], server_id[17], client_id[17], tool_id[17];
        sonde_log(app, SONDE_LOG_INFO, "starting", NULL, 0);
        sonde_span *server = sonde_span_start(tr, "POST /v1/chat/completions", SONDE_SPAN_SERVER,
                                              remote ? &parent : NULL);
        sonde_span *prev = sonde_span_enter(server);
        sonde_span_set_str(server, "http.request.method", "POST");
        sonde_span *client = sonde_span_start(tr, "chat gpt-4o-mini", SONDE_SPAN_CLIENT, NULL);
        sonde_span_set_str(client, "gen_ai.operation.name", "chat");
        sonde_span_set_int(client, "gen_ai.usage.output_tokens", 128);
        sonde_span_set_double(client, "gen_ai.request.temperature", 0.25);
        sonde_span_set_bool(client, "gen_ai.stream", 1);
        sonde_attr ev[2] = {SONDE_ATTR_STR("phase", "first_token"), SONDE_ATTR_INT("index", 0)};
        sonde_span_add_event(client, "gen_ai.first_token", ev, 2);
        sonde_span_set_status(client, SONDE_STATUS_ERROR, "upstream answered 502");
        sonde_span_enter(client);
        sonde_attr f[2] = {SONDE_ATTR_INT("status", 502), SONDE_ATTR_DBL("latency_s", 0.5)};
        sonde_log(app, SONDE_LOG_ERROR, "upstream failed", f, 2);
        hexes(client, t, client_id);
        sonde_span_end(client); /* the server span is current again */
        sonde_span *tool = sonde_span_start(tr, "execute_tool search", SONDE_SPAN_INTERNAL, NULL);
        sonde_span_set_status(tool, SONDE_STATUS_OK, NULL);
        hexes(tool, t, tool_id);
        sonde_span_end(tool);
        hexes(server, t, server_id);
        sonde_span_set_int(server, "http.response.status_code", 502);
        sonde_span_end(server);
        sonde_span_exit(prev);
        sonde_log(app, SONDE_LOG_INFO, "done", NULL, 0);
        sonde_tracer_flush(tr, 20000);
        sonde_tracer_stats st;
        sonde_tracer_stats_get(tr, &st);
        sonde_tracer_free(tr, 20000);
        sonde_logger_free(app, 20000);
        sonde_otlp_stats os;
        sonde_otlp_stats_get(otlp, &os);
        printf("{\"trace_id\":\"%s\",\"server\":\"%s\",\"client\":\"%s\",\"tool\":\"%s\","
               "\"requests\":%llu,\"retries\":%llu,\"delivered\":%llu,\"failed\":%llu,"
               "\"rejected\":%llu,\"exported\":%llu,\"export_failed\":%llu,"
               "\"dropped_rejected\":%llu}\n",
               t, server_id, client_id, tool_id, (unsigned long long)os.requests,
               (unsigned long long)os.retries, (unsigned long long)os.delivered,
               (unsigned long long)os.failed, (unsigned long long)os.rejected,
               (unsigned long long)st.exported, (unsigned long long)st.dropped_export_failed,
               (unsigned long long)st.dropped_rejected);
    } else if (strcmp(argv[1], "flood") == 0 && argc > 2) {
        long n = atol(argv[2]);
        double ends = 0, worst = 0;
        for (long i = 0; i < n; i++) {
            sonde_span *s = sonde_span_start(tr, "flood", SONDE_SPAN_INTERNAL, NULL);
            sonde_span_set_int(s, "i", i);
            double t0 = now_s();
            sonde_span_end(s);
            double d = now_s() - t0;
            ends += d;
            if (d > worst)
                worst = d;
        }
        sonde_tracer_stats st;
        sonde_tracer_stats_get(tr, &st);
        char *text = sonde_expose_alloc(reg, SONDE_FORMAT_TEXT, NULL);
        const char *qf = text ? strstr(text, "sonde_spans_dropped_total{reason=\"queue_full\"} ") : NULL;
        double t0 = now_s();
        sonde_tracer_free(tr, 1000);
        double shutdown = now_s() - t0;
        sonde_otlp_stats os;
        sonde_otlp_stats_get(otlp, &os);
        printf("{\"spans\":%ld,\"end_total_s\":%.6f,\"end_worst_s\":%.6f,\"shutdown_s\":%.3f,"
               "\"exported\":%llu,\"queue_full\":%llu,\"export_failed\":%llu,"
               "\"exposed_queue_full\":%s,\"requests\":%llu,\"failed\":%llu}\n",
               n, ends, worst, shutdown, (unsigned long long)st.exported,
               (unsigned long long)st.dropped_queue_full,
               (unsigned long long)st.dropped_export_failed,
               qf ? strtok((char *)qf + strlen("sonde_spans_dropped_total{reason=\"queue_full\"} "), "\n") : "null",
               (unsigned long long)os.requests, (unsigned long long)os.failed);
        free(text);
        sonde_logger_free(app, 1000);
    } else {
        return 2;
    }
    sonde_registry_free(reg);
    sonde_otlp_free(otlp);
    sonde_logger_free(diag, 0);
    return 0;
}
