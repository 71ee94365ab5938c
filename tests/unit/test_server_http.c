/*
 * test_server_http.c - the embedded server over real sockets on 127.0.0.1:
 * start/stop, port 0, Content-Length for GET and HEAD, gzip on the wire,
 * auth, malformed and oversized requests, the connection limit, the idle
 * timeout that frees a slot from a silent client, port in use, address not
 * local, disabled config.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "http_test_client.h"
#include "sonde/sonde.h"

static sonde_registry *reg;

static sonde_server *start(sonde_server_opts *o, int *port)
{
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.listen_addr = "127.0.0.1";
    cfg.port = 0;
    o->registry = reg;
    o->config = &cfg;
    sonde_server *s = NULL;
    char err[160];
    CHECK_EQ_INT(sonde_server_new(o, err, sizeof err, &s), SONDE_OK);
    CHECK_EQ_INT(sonde_server_start(s), SONDE_OK);
    *port = sonde_server_port(s);
    CHECK(*port > 0);
    return s;
}

static sonde_server *start_default(int *port)
{
    sonde_server_opts o;
    sonde_server_opts_init(&o);
    return start(&o, port);
}

TEST(get_and_head)
{
    int port;
    sonde_server *s = start_default(&port);
    http_answer a;
    char v[256];
    CHECK_EQ_INT(tc_request(port, "GET", "/metrics", NULL, &a), 0);
    CHECK_EQ_INT(a.status, 200);
    CHECK_EQ_STR(tc_header(&a, "Content-Type", v, sizeof v),
                 "text/plain; version=0.0.4; charset=utf-8");
    CHECK(tc_header(&a, "Content-Length", v, sizeof v) && (size_t)atol(v) == a.body_len);
    CHECK_CONTAINS(a.body, "srv_requests_total 7");
    size_t get_len = a.body_len;
    tc_free(&a);

    CHECK_EQ_INT(tc_request(port, "HEAD", "/metrics", NULL, &a), 0);
    CHECK_EQ_INT(a.status, 200);
    CHECK(tc_header(&a, "Content-Length", v, sizeof v) && (size_t)atol(v) == get_len);
    CHECK_EQ_INT(a.body_len, 0);
    tc_free(&a);

    CHECK_EQ_INT(tc_request(port, "GET", "/metrics",
                            "Accept: application/openmetrics-text;version=1.0.0,text/plain;"
                            "version=0.0.4;q=0.5\r\n",
                            &a),
                 0);
    CHECK_EQ_STR(tc_header(&a, "Content-Type", v, sizeof v),
                 "application/openmetrics-text; version=1.0.0; charset=utf-8");
    CHECK_CONTAINS(a.body, "# EOF\n");
    tc_free(&a);

    CHECK_EQ_INT(tc_request(port, "GET", "/health", NULL, &a), 0);
    CHECK_EQ_INT(a.status, 200);
    CHECK_CONTAINS(a.body, "\"status\":\"ok\"");
    tc_free(&a);
    CHECK_EQ_INT(tc_request(port, "GET", "/ready", NULL, &a), 0);
    CHECK_EQ_INT(a.status, 200);
    tc_free(&a);
    CHECK_EQ_INT(tc_request(port, "GET", "/elsewhere", NULL, &a), 0);
    CHECK_EQ_INT(a.status, 404);
    tc_free(&a);
    CHECK_EQ_INT(tc_request(port, "DELETE", "/metrics", NULL, &a), 0);
    CHECK_EQ_INT(a.status, 405);
    CHECK_EQ_STR(tc_header(&a, "Allow", v, sizeof v), "GET, HEAD");
    tc_free(&a);
    sonde_server_free(s);
}

TEST(gzip_on_the_wire)
{
    int port;
    sonde_server *s = start_default(&port);
    http_answer plain, z;
    char v[64];
    tc_request(port, "GET", "/metrics", NULL, &plain);
    tc_request(port, "GET", "/metrics", "Accept-Encoding: gzip, deflate\r\n", &z);
    CHECK_EQ_INT(z.status, 200);
    CHECK_EQ_STR(tc_header(&z, "Content-Encoding", v, sizeof v), "gzip");
    CHECK(tc_header(&z, "Content-Length", v, sizeof v) && (size_t)atol(v) == z.body_len);
    size_t n = 0;
    char *text = tc_gunzip(z.body, z.body_len, &n);
    CHECK(text && n == plain.body_len && !memcmp(text, plain.body, n));
    free(text);
    tc_free(&plain);
    tc_free(&z);
    sonde_server_free(s);
}

TEST(auth_over_http)
{
    int port;
    sonde_server_opts o;
    sonde_server_opts_init(&o);
    o.bearer_token = "let-me-in";
    sonde_server *s = start(&o, &port);
    http_answer a;
    char v[64];
    tc_request(port, "GET", "/metrics", NULL, &a);
    CHECK_EQ_INT(a.status, 401);
    CHECK_EQ_STR(tc_header(&a, "WWW-Authenticate", v, sizeof v), "Bearer realm=\"metrics\"");
    tc_free(&a);
    tc_request(port, "GET", "/metrics", "Authorization: Bearer let-me-out\r\n", &a);
    CHECK_EQ_INT(a.status, 401);
    tc_free(&a);
    tc_request(port, "GET", "/metrics", "Authorization: Bearer let-me-in\r\n", &a);
    CHECK_EQ_INT(a.status, 200);
    CHECK_CONTAINS(a.body, "srv_requests_total");
    tc_free(&a);
    sonde_server_free(s);
}

TEST(malformed_requests)
{
    int port;
    sonde_server *s = start_default(&port);
    static const char *const garbage[] = {
        "GARBAGE\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n", /* HTTP/1.1 without Host */
        "GET /metrics HTTP/9.9\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: x\r\nBroken header line\r\nConnection: close\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
        http_answer a;
        CHECK_EQ_INT(tc_send(port, garbage[i], strlen(garbage[i]), &a), 0);
        /* MHD answers 400/505, or closes on a request line it cannot parse at all */
        CHECK(i == 0 ? a.status == 0 || a.status == 400 : a.status == 400 || a.status == 505);
        CHECK(!a.body || !strstr(a.body, "srv_requests_total"));
        tc_free(&a);
    }
    /* binary noise: the server answers an error or closes, and keeps serving others */
    char noise[512];
    for (size_t i = 0; i < sizeof noise; i++)
        noise[i] = (char)(i * 131 + 7);
    http_answer a;
    tc_send(port, noise, sizeof noise, &a);
    CHECK(a.status == 0 || a.status >= 400);
    tc_free(&a);
    tc_request(port, "GET", "/metrics", NULL, &a);
    CHECK_EQ_INT(a.status, 200);
    tc_free(&a);
    sonde_server_free(s);
}

TEST(oversized_requests)
{
    int port;
    sonde_server_opts o;
    sonde_server_opts_init(&o);
    o.max_request_size = 2048;
    sonde_server *s = start(&o, &port);
    http_answer a;
    /* headers beyond the limit */
    char *big = malloc(8192);
    memset(big, 'a', 8192);
    memcpy(big, "X-Big: ", 7);
    memcpy(big + 8188, "\r\n", 3);
    tc_request(port, "GET", "/metrics", big, &a);
    CHECK(a.status == 431 || a.status == 413);
    tc_free(&a);
    /* headers beyond MHD's own memory for a connection */
    char *huge = malloc(200000);
    memset(huge, 'b', 200000);
    memcpy(huge, "X-Huge: ", 8);
    memcpy(huge + 199996, "\r\n", 3);
    tc_request(port, "GET", "/metrics", huge, &a);
    CHECK(a.status == 431 || a.status == 413 || a.status == 414 || a.status == 0);
    tc_free(&a);
    /* an announced body beyond the limit */
    tc_request(port, "GET", "/metrics", "Content-Length: 100000\r\n", &a);
    CHECK_EQ_INT(a.status, 413);
    tc_free(&a);
    /* a chunked body that grows beyond the limit: the connection is closed unanswered */
    char req[8192];
    int n = snprintf(req, sizeof req,
                     "POST /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 3; i++)
        n += snprintf(req + n, sizeof req - (size_t)n, "3e8\r\n%01000d\r\n", 0);
    tc_send(port, req, (size_t)n, &a);
    CHECK_EQ_INT(a.status, 0);
    CHECK_EQ_INT(a.len, 0);
    tc_free(&a);
    /* a small body is read and the request answered (405: metrics take no POST) */
    tc_request(port, "POST", "/metrics", "Content-Length: 5\r\n\r\nhello", &a);
    CHECK_EQ_INT(a.status, 405);
    tc_free(&a);
    tc_request(port, "GET", "/metrics", NULL, &a);
    CHECK_EQ_INT(a.status, 200);
    tc_free(&a);
    free(big);
    free(huge);
    sonde_server_free(s);
}

/* Wait (up to ~8 s) until the peer closes fd; 1 when it did. */
static int closed_by_peer(int fd)
{
    char buf[256];
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 8000) <= 0)
            return 0;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            return 1;
    }
}

/* Whether the peer has closed fd already (no waiting). */
static int closed_now(int fd)
{
    char c;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1 && recv(fd, &c, 1, MSG_PEEK) <= 0;
}

TEST(connection_limit_and_idle_timeout)
{
    int port;
    sonde_server_opts o;
    sonde_server_opts_init(&o);
    o.max_connections = 2;
    o.threads = 1;
    o.connection_timeout = 2;
    sonde_server *s = start(&o, &port);
    /* two silent clients take both slots */
    int a = tc_connect(port), b = tc_connect(port);
    CHECK(a >= 0 && b >= 0);
    send(a, "GET /met", 8, MSG_NOSIGNAL); /* a slow client, half a request line */
    http_answer ans;
    /* a third client waits in the backlog until a silent one is timed out: when its
     * answer comes, one of the two is closed already */
    tc_request(port, "GET", "/health", NULL, &ans);
    CHECK_EQ_INT(ans.status, 200);
    CHECK(closed_now(a) || closed_now(b));
    tc_free(&ans);
    /* the idle timeout closes the silent clients */
    CHECK(closed_by_peer(a));
    CHECK(closed_by_peer(b));
    close(a);
    close(b);
    tc_request(port, "GET", "/health", NULL, &ans);
    CHECK_EQ_INT(ans.status, 200);
    tc_free(&ans);
    sonde_server_free(s);
}

TEST(port_in_use_and_restart)
{
    int port;
    sonde_server *s = start_default(&port);
    CHECK_EQ_INT(sonde_server_start(s), SONDE_EBUSY); /* already running */
    CHECK_CONTAINS(sonde_server_errmsg(s), "already running");

    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.listen_addr = "127.0.0.1";
    cfg.port = port;
    sonde_server_opts o;
    sonde_server_opts_init(&o);
    o.registry = reg;
    o.config = &cfg;
    sonde_server *t;
    CHECK_EQ_INT(sonde_server_new(&o, NULL, 0, &t), SONDE_OK);
    CHECK_EQ_INT(sonde_server_start(t), SONDE_EBUSY);
    char want[64];
    snprintf(want, sizeof want, "port %d on 127.0.0.1 is already in use", port);
    CHECK_EQ_STR(sonde_server_errmsg(t), want);
    CHECK_EQ_INT(sonde_server_port(t), 0);

    /* after the first stops, the second can take the port; the first restarts elsewhere */
    sonde_server_stop(s);
    CHECK_EQ_INT(sonde_server_port(s), 0);
    sonde_server_stop(s); /* twice is a no-op */
    CHECK_EQ_INT(sonde_server_start(t), SONDE_OK);
    CHECK_EQ_INT(sonde_server_port(t), port);
    http_answer a;
    tc_request(port, "GET", "/health", NULL, &a);
    CHECK_EQ_INT(a.status, 200);
    tc_free(&a);
    sonde_server_free(t);
    sonde_server_free(s);
}

TEST(address_not_local_and_disabled)
{
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.listen_addr = "192.0.2.1"; /* TEST-NET-1, never local */
    cfg.port = 0;
    sonde_server_opts o;
    sonde_server_opts_init(&o);
    o.registry = reg;
    o.config = &cfg;
    sonde_server *s;
    CHECK_EQ_INT(sonde_server_new(&o, NULL, 0, &s), SONDE_OK);
    CHECK_EQ_INT(sonde_server_start(s), SONDE_ECONFIG);
    CHECK_CONTAINS(sonde_server_errmsg(s), "192.0.2.1");
    sonde_server_free(s);

    cfg.listen_addr = "127.0.0.1";
    cfg.enabled = 0;
    CHECK_EQ_INT(sonde_server_new(&o, NULL, 0, &s), SONDE_OK);
    CHECK_EQ_INT(sonde_server_start(s), SONDE_EDISABLED);
    CHECK_EQ_INT(sonde_server_port(s), 0);
    sonde_server_free(s);
    sonde_server_free(NULL);
    CHECK_EQ_INT(sonde_server_start(NULL), SONDE_EINVAL);
    CHECK_EQ_STR(sonde_server_errmsg(NULL), "");
}

TEST(ipv6_and_all_interfaces)
{
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.port = 0; /* listen_addr NULL: all interfaces, dual-stack where possible */
    sonde_server_opts o;
    sonde_server_opts_init(&o);
    o.registry = reg;
    o.config = &cfg;
    sonde_server *s;
    CHECK_EQ_INT(sonde_server_new(&o, NULL, 0, &s), SONDE_OK);
    CHECK_EQ_INT(sonde_server_start(s), SONDE_OK);
    http_answer a;
    tc_request(sonde_server_port(s), "GET", "/health", NULL, &a); /* over IPv4 loopback */
    CHECK_EQ_INT(a.status, 200);
    tc_free(&a);
    sonde_server_free(s);
}

int main(void)
{
    CHECK_EQ_INT(sonde_registry_new(NULL, &reg), SONDE_OK);
    sonde_counter *c;
    CHECK_EQ_INT(sonde_counter_new(reg, "srv_requests_total", "Requests.", &c), SONDE_OK);
    sonde_counter_add(c, 7);
    for (int i = 0; i < 300; i++) { /* a body big enough for gzip to matter */
        char name[64];
        snprintf(name, sizeof name, "filler_%03d", i);
        sonde_gauge *g;
        CHECK_EQ_INT(sonde_gauge_new(reg, name, "Filler gauge for a larger body.", &g), SONDE_OK);
        sonde_gauge_set(g, i);
    }
    RUN(get_and_head);
    RUN(gzip_on_the_wire);
    RUN(auth_over_http);
    RUN(malformed_requests);
    RUN(oversized_requests);
    RUN(connection_limit_and_idle_timeout);
    RUN(port_in_use_and_restart);
    RUN(address_not_local_and_disabled);
    RUN(ipv6_and_all_interfaces);
    sonde_registry_free(reg);
    return check_report();
}
