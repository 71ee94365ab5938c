/*
 * test_http_mhd_trace.c - the libmicrohttpd adapter with a tracer, on a real
 * daemon on 127.0.0.1 called by the curl program: a request carrying a
 * traceparent and a tracestate is a SERVER span continuing that trace (same
 * trace id, the caller's span as parent), the request's span is the
 * thread's current span while the service's handler runs (a span the
 * handler starts with no parent is its child), a 500 is an error span, and
 * an invalid traceparent still gets its 200 and starts a new trace. The
 * daemon's thread ends the spans, the test thread reads them: under TSan.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "sonde/http_mhd.h"
#include "sonde/sonde.h"
#include "span_sink.h"

#define TRACE_HEX "4bf92f3577b34da6a3ce929d0e0e4736"
#define PARENT_HEX "00f067aa0ba902b7"

static sonde_http_mhd *adapter;
static sonde_tracer *tracer;

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const char *t)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(t), (void *)t, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ok = sonde_http_mhd_respond(adapter, c, status, r, strlen(t));
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *data,
                               size_t *size, void **con_cls)
{
    (void)cls, (void)method, (void)version, (void)data;
    if (!*con_cls) {
        *con_cls = (void *)1;
        return MHD_YES;
    }
    *size = 0;
    /* the request's span is current: this one is its child */
    sonde_span *work = sonde_span_start(tracer, "handler work", SONDE_SPAN_INTERNAL, NULL);
    sonde_span_set_bool(work, "had_current", sonde_span_current() != NULL);
    sonde_span_end(work);
    if (!strcmp(url, "/boom"))
        return respond(c, 500, "boom\n");
    return respond(c, 200, "ok\n");
}

/* curl's status for GET url with the headers given (NULL: none); -1 when curl did not run. */
static int curl_get(int port, const char *path, const char *traceparent, const char *tracestate)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "curl -s -o /dev/null -w '%%{http_code}' --max-time 20 %s%s%s %s%s%s "
             "http://127.0.0.1:%d%s",
             traceparent ? "-H 'traceparent: " : "", traceparent ? traceparent : "",
             traceparent ? "'" : "", tracestate ? "-H 'tracestate: " : "",
             tracestate ? tracestate : "", tracestate ? "'" : "", port, path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    int code = -1;
    if (fscanf(p, "%d", &code) != 1)
        code = -1;
    return pclose(p) == 0 ? code : -1;
}

/* Spans are ended at libmicrohttpd's completion, which may follow curl's answer. */
static int wait_spans(span_sink *k, size_t n)
{
    for (int i = 0; i < 1000; i++) {
        sonde_tracer_flush(tracer, 5000);
        if (span_sink_count(k) >= n)
            return 1;
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    return 0;
}

static const sunk_span *find_in_trace(span_sink *k, const char *name, const uint8_t *trace)
{
    for (size_t i = 0; i < span_sink_count(k); i++)
        if (!strcmp(k->spans[i].name, name) && !memcmp(k->spans[i].trace_id, trace, 16))
            return &k->spans[i];
    return NULL;
}

TEST(requests_continue_the_callers_trace)
{
    span_sink k;
    tracer = span_sink_tracer(&k, SONDE_SAMPLER_PARENTBASED_ALWAYS_ON);
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    sonde_registry *reg = NULL;
    CHECK_EQ_INT(sonde_registry_new(&cfg, &reg), SONDE_OK);
    sonde_http_opts o = {.registry = reg, .tracer = tracer};
    sonde_http *h = NULL;
    CHECK_EQ_INT(sonde_http_new(&o, &h), SONDE_OK);
    CHECK_EQ_INT(sonde_http_route_add(h, "/items/{id}"), SONDE_OK);
    static struct sockaddr_in sin;
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_OptionItem opts[] = {{MHD_OPTION_SOCK_ADDR, 0, &sin}, {MHD_OPTION_END, 0, NULL}};
    CHECK_EQ_INT(sonde_http_mhd_start(h, MHD_USE_AUTO_INTERNAL_THREAD, 0, handler, NULL, opts,
                                      &adapter),
                 SONDE_OK);
    const union MHD_DaemonInfo *di =
        MHD_get_daemon_info(sonde_http_mhd_daemon(adapter), MHD_DAEMON_INFO_BIND_PORT);
    int port = di ? di->port : 0;
    CHECK(port > 0);

    CHECK_EQ_INT(curl_get(port, "/items/42", "00-" TRACE_HEX "-" PARENT_HEX "-01", "vendor=opaque"),
                 200);
    CHECK_EQ_INT(curl_get(port, "/boom", "00-" TRACE_HEX "-" PARENT_HEX "-01", NULL), 500);
    CHECK_EQ_INT(curl_get(port, "/items/7", "00-not-a-valid-header-01", NULL), 200);
    CHECK(wait_spans(&k, 6)); /* three server spans, three handler spans */

    uint8_t trace[16];
    sonde_span_context in;
    CHECK_EQ_INT(sonde_traceparent_parse("00-" TRACE_HEX "-" PARENT_HEX "-01", NULL, &in),
                 SONDE_OK);
    memcpy(trace, in.trace_id, 16);
    const sunk_span *srv = find_in_trace(&k, "GET /items/{id}", trace);
    CHECK(srv != NULL);
    if (srv) {
        CHECK_EQ_INT(srv->kind, SONDE_SPAN_SERVER);
        CHECK(srv->has_parent && !memcmp(srv->parent, in.span_id, 8));
        CHECK_EQ_STR(sunk_str(srv, "http.request.method"), "GET");
        CHECK_EQ_STR(sunk_str(srv, "http.route"), "/items/{id}");
        CHECK_EQ_INT(sunk_int(srv, "http.response.status_code"), 200);
        CHECK_EQ_INT(srv->status, SONDE_STATUS_UNSET);
        /* the handler's span is the server span's child */
        int children = 0;
        for (size_t i = 0; i < span_sink_count(&k); i++) {
            const sunk_span *s = &k.spans[i];
            if (!strcmp(s->name, "handler work") && !memcmp(s->parent, srv->span_id, 8)) {
                children++;
                CHECK(!memcmp(s->trace_id, trace, 16));
                CHECK(sunk_get(s, "had_current") && sunk_get(s, "had_current")->b == 1);
            }
        }
        CHECK_EQ_INT(children, 1);
    }
    const sunk_span *boom = find_in_trace(&k, "GET /boom", trace);
    CHECK(boom && boom->status == SONDE_STATUS_ERROR);
    CHECK_EQ_STR(sunk_str(boom, "error.type"), "500");

    /* the invalid header: a root span of a new trace, and the request answered */
    const sunk_span *fresh = NULL;
    for (size_t i = 0; i < span_sink_count(&k); i++)
        if (!strcmp(k.spans[i].name, "GET /items/{id}") && memcmp(k.spans[i].trace_id, trace, 16))
            fresh = &k.spans[i];
    CHECK(fresh != NULL);
    CHECK(fresh && !fresh->has_parent);
    CHECK_EQ_INT(sunk_int(fresh, "http.response.status_code"), 200);

    sonde_http_mhd_stop(adapter);
    sonde_http_free(h);
    sonde_registry_free(reg);
    span_sink_free(&k, tracer);
}

int main(void)
{
    RUN(requests_continue_the_callers_trace);
    return check_report();
}
