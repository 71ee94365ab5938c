/*
 * test_http_mhd.c - the libmicrohttpd adapter on a real daemon on
 * 127.0.0.1: methods, routes (with a template), statuses, request and
 * response sizes, a streaming response, requests MHD rejects by itself,
 * chaining of the service's own callbacks, and the NULL (off) mode.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "http_test_client.h"
#include "sonde/http_mhd.h"
#include "sonde/sonde.h"

static sonde_registry *reg;
static sonde_http_mhd *adapter;
static atomic_int user_completed, user_uri, user_conn_started, user_conn_closed;
static double streaming_seen = -1;

static enum MHD_Result respond_text(struct MHD_Connection *c, unsigned status, const char *t)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(t), (void *)t, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ok = sonde_http_mhd_respond(adapter, c, status, r, strlen(t));
    MHD_destroy_response(r);
    return ok;
}

static ssize_t stream_chunk(void *cls, uint64_t pos, char *buf, size_t max)
{
    if (pos == 0)
        streaming_seen = sonde_gauge_value(
            sonde_gauge_of(sonde_registry_find(reg, "http_responses_streaming")));
    if (pos >= 30)
        return MHD_CONTENT_READER_END_OF_STREAM;
    memcpy(buf, "data: tick\n\n", 10);
    return 10;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *data,
                               size_t *size, void **con_cls)
{
    if (*con_cls == &user_uri) { /* the service's URI log callback set this */
        *con_cls = (void *)1;
        return MHD_YES;
    }
    if (*size) {
        *size = 0; /* consume */
        return MHD_YES;
    }
    if (!strcmp(url, "/upload"))
        return respond_text(c, 201, "stored\n");
    if (!strncmp(url, "/items/", 7))
        return respond_text(c, 200, "{\"item\":true}\n");
    if (!strcmp(url, "/plain")) { /* queued without the adapter: no response size */
        struct MHD_Response *r = MHD_create_response_from_buffer(3, "abc", MHD_RESPMEM_PERSISTENT);
        enum MHD_Result ok = MHD_queue_response(c, 202, r);
        MHD_destroy_response(r);
        return ok;
    }
    if (!strcmp(url, "/events")) {
        struct MHD_Response *r =
            MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64, stream_chunk, NULL, NULL);
        sonde_http_mhd_stream_begin(adapter, c);
        enum MHD_Result ok = sonde_http_mhd_respond(adapter, c, 200, r, SONDE_HTTP_SIZE_UNKNOWN);
        MHD_destroy_response(r);
        return ok;
    }
    return respond_text(c, 404, "no\n");
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    atomic_fetch_add(&user_uri, 1);
    return &user_uri;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    atomic_fetch_add(&user_completed, 1);
}

static void on_conn(void *cls, struct MHD_Connection *c, void **ctx,
                    enum MHD_ConnectionNotificationCode toe)
{
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        *ctx = &user_conn_started; /* the service's own socket context */
        atomic_fetch_add(&user_conn_started, 1);
    } else if (*ctx == &user_conn_started) {
        atomic_fetch_add(&user_conn_closed, 1);
    }
}

static int start(sonde_http *h)
{
    static struct sockaddr_in sin;
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_SOCK_ADDR, 0, &sin},
        {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, NULL},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL},
        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_conn, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    CHECK_EQ_INT(sonde_http_mhd_start(h, MHD_USE_AUTO_INTERNAL_THREAD, 0, handler, NULL, opts,
                                      &adapter),
                 SONDE_OK);
    const union MHD_DaemonInfo *di =
        MHD_get_daemon_info(sonde_http_mhd_daemon(adapter), MHD_DAEMON_INFO_BIND_PORT);
    return di ? di->port : 0;
}

static double requests(const char *m, const char *r, const char *s)
{
    const char *v[] = {m, r, s};
    return sonde_counter_value(
        sonde_counter_with(sonde_registry_find(reg, "http_requests_total"), v));
}

static uint64_t hist(const char *name, const char *m, const char *r, double *sum)
{
    const char *v[] = {m, r};
    uint64_t n = 0;
    sonde_histogram_read(sonde_histogram_with(sonde_registry_find(reg, name), v), &n, sum, NULL);
    return n;
}

/* The completion callback may run just after the client saw the response: wait for it. */
static void settle(void)
{
    sonde_gauge *g = sonde_gauge_of(sonde_registry_find(reg, "http_requests_in_flight"));
    for (int i = 0; i < 500 && sonde_gauge_value(g) != 0; i++)
        nanosleep(&(struct timespec){0, 10000000}, NULL);
}

TEST(adapter_records)
{
    sonde_http *h;
    sonde_http_opts o;
    memset(&o, 0, sizeof o);
    o.registry = reg;
    CHECK_EQ_INT(sonde_http_new(&o, &h), SONDE_OK);
    sonde_http_route_add(h, "/items/{id}");
    int port = start(h);
    CHECK(port > 0);
    http_answer a;
    for (int i = 0; i < 3; i++) {
        tc_request(port, "GET", "/items/42?x=1", NULL, &a);
        CHECK_EQ_INT(a.status, 200);
        tc_free(&a);
    }
    char body[400];
    int n = snprintf(body, sizeof body, "Content-Length: 300\r\n\r\n%0300d", 0);
    CHECK(n > 300);
    tc_request(port, "POST", "/upload", body, &a);
    CHECK_EQ_INT(a.status, 201);
    tc_free(&a);
    tc_request(port, "BREW", "/coffee/5", NULL, &a);
    CHECK_EQ_INT(a.status, 404);
    tc_free(&a);
    tc_request(port, "GET", "/plain", NULL, &a);
    CHECK_EQ_INT(a.status, 202);
    tc_free(&a);
    tc_request(port, "GET", "/events", NULL, &a);
    CHECK_EQ_INT(a.status, 200);
    CHECK_CONTAINS(a.body, "data: tick");
    tc_free(&a);
    tc_send(port, "GARBAGE\r\n\r\n", 11, &a);
    tc_free(&a);
    settle();

    CHECK_EQ_DBL(requests("GET", "/items/{id}", "200"), 3);
    CHECK_EQ_DBL(requests("POST", "/upload", "201"), 1);
    CHECK_EQ_DBL(requests("OTHER", "/coffee/:id", "404"), 1);
    CHECK_EQ_DBL(requests("GET", "/plain", "202"), 1);
    CHECK_EQ_DBL(requests("GET", "/events", "200"), 1);
    double sum = 0;
    CHECK_EQ_INT(hist("http_response_size_bytes", "GET", "/items/{id}", &sum), 3);
    CHECK_EQ_DBL(sum, 3 * strlen("{\"item\":true}\n"));
    CHECK_EQ_INT(hist("http_request_size_bytes", "POST", "/upload", &sum), 1);
    CHECK_EQ_DBL(sum, 300);
    CHECK_EQ_INT(hist("http_response_size_bytes", "GET", "/plain", &sum), 0);
    CHECK_EQ_INT(hist("http_request_duration_seconds", "GET", "/plain", &sum), 1);
    CHECK_EQ_INT(hist("http_response_size_bytes", "GET", "/events", &sum), 0);
    CHECK_EQ_DBL(streaming_seen, 1);
    CHECK_EQ_DBL(sonde_gauge_value(sonde_gauge_of(sonde_registry_find(reg, "http_responses_streaming"))), 0);
    CHECK_EQ_DBL(sonde_gauge_value(sonde_gauge_of(sonde_registry_find(reg, "http_requests_in_flight"))), 0);
    /* the service's own callbacks still ran */
    CHECK(atomic_load(&user_uri) >= 7);
    CHECK(atomic_load(&user_completed) >= 7);
    sonde_http_mhd_stop(adapter);
    CHECK(atomic_load(&user_conn_started) >= 8);
    CHECK_EQ_INT(atomic_load(&user_conn_closed), atomic_load(&user_conn_started));
    sonde_http_free(h);
}

TEST(adapter_off)
{
    char *before = sonde_expose_alloc(reg, SONDE_FORMAT_TEXT, NULL);
    int port = start(NULL);
    http_answer a;
    tc_request(port, "GET", "/items/1", NULL, &a);
    CHECK_EQ_INT(a.status, 200);
    tc_free(&a);
    sonde_http_mhd_stop(adapter);
    char *after = sonde_expose_alloc(reg, SONDE_FORMAT_TEXT, NULL);
    CHECK_EQ_STR(after, before);
    free(before);
    free(after);
}

TEST(adapter_bad_arguments)
{
    sonde_http_mhd *x = (sonde_http_mhd *)&x;
    struct MHD_OptionItem nested[] = {{MHD_OPTION_ARRAY, 0, NULL}, {MHD_OPTION_END, 0, NULL}};
    CHECK_EQ_INT(sonde_http_mhd_start(NULL, 0, 0, NULL, NULL, NULL, &x), SONDE_EINVAL);
    CHECK(x == NULL);
    CHECK_EQ_INT(sonde_http_mhd_start(NULL, 0, 0, handler, NULL, nested, &x), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_http_mhd_start(NULL, 0, 0, handler, NULL, NULL, NULL), SONDE_EINVAL);
    sonde_http_mhd_stop(NULL);
    CHECK(sonde_http_mhd_daemon(NULL) == NULL);
}

int main(void)
{
    CHECK_EQ_INT(sonde_registry_new(NULL, &reg), SONDE_OK);
    RUN(adapter_records);
    RUN(adapter_off);
    RUN(adapter_bad_arguments);
    sonde_registry_free(reg);
    return check_report();
}
