/*
 * hello_server.c - a small libmicrohttpd service instrumented with sonde.
 *
 *   hello-server --port N [--addr A] [--metrics-port M] [--no-metrics]
 *                [--threads T] [--tls-cert F --tls-key F] [--bench-series K]
 *
 * Serves GET /hello and GET /items/<id>. With metrics on (the default) every
 * request goes through the HTTP middleware (route template /items/{id}) and
 * /metrics, /health and /ready are answered on the same port by
 * sonde_server_handle(), or by the embedded server on port M when
 * --metrics-port is given (with TLS when --tls-cert/--tls-key name PEM
 * files). --no-metrics runs the very same service without any
 * instrumentation, for comparison. --bench-series K adds a counter with K
 * series (labels method, path, status), the registry of the scrape
 * benchmark. SIGINT or SIGTERM stop it cleanly (exit 0).
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sonde/http_mhd.h"
#include "sonde/sonde.h"

static sonde_http_mhd *adapter;
static sonde_server *metrics; /* answers /metrics /health /ready on the service port */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             char *body, size_t len, const sonde_server_header *hdrs,
                             size_t nhdrs)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    if (type)
        MHD_add_response_header(r, "Content-Type", type);
    for (size_t i = 0; i < nhdrs; i++)
        MHD_add_response_header(r, hdrs[i].name, hdrs[i].value);
    enum MHD_Result ok = sonde_http_mhd_respond(adapter, c, status, r, len);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *text)
{
    char *body = strdup(text);
    return body ? reply(c, status, "text/plain; charset=utf-8", body, strlen(body), NULL, 0)
                : MHD_NO;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    if (!*con_cls) { /* headers only; the body (if any) follows */
        *con_cls = (void *)1;
        return MHD_YES;
    }
    if (*upload_data_size) { /* this service takes no bodies: consume and ignore */
        *upload_data_size = 0;
        return MHD_YES;
    }
    int get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    if (!strcmp(url, "/hello"))
        return get ? reply_text(c, 200, "hello, world\n") : reply_text(c, 405, "GET only\n");
    if (!strncmp(url, "/items/", 7) && url[7] && !strchr(url + 7, '/')) {
        if (!get)
            return reply_text(c, 405, "GET only\n");
        size_t n = strspn(url + 7, "0123456789abcdefghijklmnopqrstuvwxyz-");
        if (url[7 + n])
            return reply_text(c, 400, "bad item id\n");
        char *body = malloc(n + 32);
        if (!body)
            return MHD_NO;
        int len = snprintf(body, n + 32, "{\"id\":\"%s\"}\n", url + 7);
        return reply(c, 200, "application/json", body, (size_t)len, NULL, 0);
    }
    if (metrics) {
        sonde_server_request req = {
            .method = method,
            .path = url,
            .accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept"),
            .accept_encoding = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept-Encoding"),
            .authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"),
        };
        sonde_server_response resp;
        if (sonde_server_handle(metrics, &req, &resp) == SONDE_OK && resp.status != 404)
            return reply(c, (unsigned)resp.status, NULL, resp.body, resp.body_len, resp.headers,
                         resp.header_count);
        sonde_server_response_free(&resp);
    }
    return reply_text(c, 404, "not found\n");
}

static int always_ready(void *ud)
{
    return *(volatile int *)ud;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[4096];
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        char *b = len + n + 1 > cap ? realloc(buf, cap = 2 * (len + n + 1)) : buf;
        if (!b) {
            free(buf);
            fclose(f);
            return NULL;
        }
        buf = b;
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

static int add_bench_series(sonde_registry *reg, long k)
{
    static const char *const labels[] = {"method", "path", "status"};
    sonde_metric_opts o = {.type = SONDE_COUNTER,
                           .name = "bench_requests_total",
                           .help = "Synthetic series for the scrape benchmark.",
                           .label_names = labels,
                           .label_count = 3,
                           .cardinality_limit = (size_t)k + 1};
    sonde_metric *m;
    int rc = sonde_register(reg, &o, &m);
    for (long i = 0; !rc && i < k; i++) {
        char path[64];
        snprintf(path, sizeof path, "/api/v1/items/%ld", i);
        const char *v[] = {"GET", path, "200"};
        sonde_counter_inc(sonde_counter_with(m, v));
    }
    return rc;
}

static void usage(void)
{
    fprintf(stderr, "usage: hello-server --port N [--addr A] [--metrics-port M] [--no-metrics]\n"
                    "                    [--threads T] [--tls-cert F --tls-key F]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int port = -1, metrics_port = -1, on = 1, threads = 2;
    long bench_series = 0;
    const char *addr = NULL, *cert_file = NULL, *key_file = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--no-metrics"))
            on = 0;
        else if (!v)
            usage();
        else if (!strcmp(a, "--port"))
            port = atoi(argv[++i]);
        else if (!strcmp(a, "--metrics-port"))
            metrics_port = atoi(argv[++i]);
        else if (!strcmp(a, "--addr"))
            addr = argv[++i];
        else if (!strcmp(a, "--threads"))
            threads = atoi(argv[++i]);
        else if (!strcmp(a, "--tls-cert"))
            cert_file = argv[++i];
        else if (!strcmp(a, "--tls-key"))
            key_file = argv[++i];
        else if (!strcmp(a, "--bench-series"))
            bench_series = atol(argv[++i]);
        else
            usage();
    }
    if (port < 0 || port > 65535 || metrics_port > 65535 || threads < 1)
        usage();

    /* signals are taken by sigwait() below, never by the server threads */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    sonde_registry *reg = sonde_default_registry();
    sonde_http *http = NULL;
    sonde_server *standalone = NULL;
    volatile int ready = 1;
    char *cert = NULL, *key = NULL;
    if (on) {
        if (bench_series > 0 && add_bench_series(reg, bench_series) != SONDE_OK) {
            fprintf(stderr, "hello-server: cannot create the benchmark series\n");
            return 1;
        }
        int rc = sonde_http_new(NULL, &http);
        if (!rc)
            rc = sonde_http_route_add(http, "/items/{id}");
        if (rc) {
            fprintf(stderr, "hello-server: middleware: %s\n", sonde_strerror(rc));
            return 1;
        }
        if ((cert_file && !(cert = slurp(cert_file))) || (key_file && !(key = slurp(key_file)))) {
            fprintf(stderr, "hello-server: cannot read %s\n", cert ? key_file : cert_file);
            return 1;
        }
        sonde_config cfg = *sonde_registry_config(reg);
        cfg.listen_addr = addr;
        if (metrics_port >= 0)
            cfg.port = metrics_port;
        sonde_server_opts so;
        sonde_server_opts_init(&so);
        so.config = &cfg;
        so.tls_cert_pem = cert;
        so.tls_key_pem = key;
        char err[256];
        sonde_server *s;
        rc = sonde_server_new(&so, err, sizeof err, &s);
        if (!rc)
            rc = sonde_server_ready_add(s, "service", always_ready, (void *)&ready);
        if (!rc && metrics_port >= 0 && (rc = sonde_server_start(s)) != SONDE_OK)
            snprintf(err, sizeof err, "%s", sonde_server_errmsg(s));
        if (rc) {
            fprintf(stderr, "hello-server: metrics server: %s (%s)\n", sonde_strerror(rc), err);
            return 1;
        }
        if (metrics_port >= 0)
            standalone = s;
        else
            metrics = s;
    }

    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_CONNECTION_TIMEOUT, 30, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, 1024, NULL},
        {threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, threads, NULL},
        {MHD_OPTION_END, 0, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    if (addr) {
        if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
            fprintf(stderr, "hello-server: --addr wants an IPv4 address\n");
            return 2;
        }
        opts[threads > 1 ? 3 : 2] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &sin};
    }
    if (sonde_http_mhd_start(http, MHD_USE_AUTO_INTERNAL_THREAD, (uint16_t)port, handle, NULL,
                             opts, &adapter) != SONDE_OK) {
        fprintf(stderr, "hello-server: cannot listen on port %d\n", port);
        return 1;
    }
    const union MHD_DaemonInfo *di =
        MHD_get_daemon_info(sonde_http_mhd_daemon(adapter), MHD_DAEMON_INFO_BIND_PORT);
    printf("hello-server: listening on port %d, metrics %s", di ? (int)di->port : port,
           !on ? "off" : standalone ? "on port" : "on this port");
    if (standalone)
        printf(" %d", sonde_server_port(standalone));
    printf("\n");
    fflush(stdout);

    int sig;
    sigwait(&stop, &sig);
    ready = 0;
    sonde_http_mhd_stop(adapter);
    sonde_server_free(standalone);
    sonde_server_free(metrics);
    sonde_http_free(http);
    free(cert);
    free(key);
    return 0;
}
