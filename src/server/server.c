/*
 * server.c - the lifecycle of a sonde_server: options, validation, the
 * listening socket, start and stop.
 *
 * sonde_server_new() copies and checks everything up front, so that a bad
 * option is an error at creation, never a surprise at the first request. The
 * listening socket is opened here rather than by libmicrohttpd so that the
 * reason of a failed bind is known (port in use -> SONDE_EBUSY, address not
 * local -> SONDE_ECONFIG) and port 0 can be resolved to the port the kernel
 * chose. Without a bind address the socket is IPv6 dual-stack ("::"), or
 * IPv4 0.0.0.0 where IPv6 is unavailable.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core_iface.h"
#include "server_internal.h"

void sonde_server_opts_init(sonde_server_opts *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->max_connections = 64;
    o->connection_timeout = 10;
    o->max_request_size = 16384;
    o->max_scrapes = 4;
    o->threads = 2;
    o->gzip = 1;
}

static char *dup_or_null(const char *s, int *oom)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = 1;
    return d;
}

static int check_opts(const sonde_server_opts *o, const sonde_config *cfg, char *eb, size_t el)
{
    int rc = sonde_config_validate(cfg, eb, el);
    if (rc)
        return rc;
    const char *path = cfg->metrics_path ? cfg->metrics_path : "/metrics";
    if (!strcmp(path, "/health") || !strcmp(path, "/ready") || strchr(path, '?'))
        return sonde_internal_errorf(eb, el, SONDE_ECONFIG, "metrics path \"%s\" is reserved or not a path",
                            path);
    if (cfg->listen_addr && cfg->listen_addr[0]) {
        unsigned char a[16];
        if (inet_pton(AF_INET, cfg->listen_addr, a) != 1 &&
            inet_pton(AF_INET6, cfg->listen_addr, a) != 1)
            return sonde_internal_errorf(eb, el, SONDE_ECONFIG, "listen address \"%s\" is not an IP address",
                                cfg->listen_addr);
    }
    if (!o->basic_user != !o->basic_password)
        return sonde_internal_errorf(eb, el, SONDE_ECONFIG, "basic auth needs both a user and a password");
    if (o->basic_user && (!o->basic_user[0] || strchr(o->basic_user, ':')))
        return sonde_internal_errorf(eb, el, SONDE_ECONFIG, "basic auth user must be non-empty without ':'");
    if (o->bearer_token && !o->bearer_token[0])
        return sonde_internal_errorf(eb, el, SONDE_ECONFIG, "bearer token is empty");
    if (!o->tls_cert_pem != !o->tls_key_pem)
        return sonde_internal_errorf(eb, el, SONDE_ECONFIG, "TLS needs both a certificate and a key");
    if (o->tls_cert_pem && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return sonde_internal_errorf(eb, el, SONDE_ECONFIG,
                            "this libmicrohttpd was built without TLS support");
    if (o->threads > 64 || o->max_connections > 100000 || o->max_scrapes > 1024 ||
        (o->max_request_size && o->max_request_size < 256) ||
        o->max_request_size > (64u << 20))
        return sonde_internal_errorf(eb, el, SONDE_ECONFIG,
                            "limits out of range (threads <= 64, connections <= 100000, scrapes <= "
                            "1024, request size 256 B .. 64 MiB)");
    return SONDE_OK;
}

int sonde_server_new(const sonde_server_opts *opts, char *errbuf, size_t errlen,
                     sonde_server **out)
{
    if (errbuf && errlen)
        errbuf[0] = '\0';
    if (!out)
        return SONDE_EINVAL;
    *out = NULL;
    sonde_server_opts defaults;
    if (!opts) {
        sonde_server_opts_init(&defaults);
        opts = &defaults;
    }
    sonde_registry *reg = opts->registry ? opts->registry : sonde_default_registry();
    const sonde_config *cfg = opts->config ? opts->config : sonde_registry_config(reg);
    int rc = check_opts(opts, cfg, errbuf, errlen);
    if (rc)
        return rc;
    sonde_server *s = calloc(1, sizeof *s);
    if (!s)
        return SONDE_ENOMEM;
    int oom = 0;
    s->reg = reg;
    s->metrics_path = dup_or_null(cfg->metrics_path ? cfg->metrics_path : "/metrics", &oom);
    s->listen_addr =
        cfg->listen_addr && cfg->listen_addr[0] ? dup_or_null(cfg->listen_addr, &oom) : NULL;
    s->port = cfg->port;
    s->enabled = cfg->enabled;
    s->max_connections = opts->max_connections ? opts->max_connections : 64;
    s->connection_timeout = opts->connection_timeout ? opts->connection_timeout : 10;
    s->max_request_size = opts->max_request_size ? opts->max_request_size : 16384;
    s->max_scrapes = opts->max_scrapes ? opts->max_scrapes : 4;
    s->threads = opts->threads ? opts->threads : 2;
    s->gzip = opts->gzip;
    s->console = opts->console;
    if (opts->basic_user) {
        size_t ul = strlen(opts->basic_user), pl = strlen(opts->basic_password);
        char *pair = malloc(ul + pl + 2);
        if (pair) {
            memcpy(pair, opts->basic_user, ul);
            pair[ul] = ':';
            memcpy(pair + ul + 1, opts->basic_password, pl + 1);
            s->basic_expected = sonde_base64(pair, ul + pl + 1);
            free(pair);
        }
        oom |= !s->basic_expected;
    }
    s->bearer_expected = dup_or_null(opts->bearer_token, &oom);
    s->tls_cert = dup_or_null(opts->tls_cert_pem, &oom);
    s->tls_key = dup_or_null(opts->tls_key_pem, &oom);
    s->started_ns = sonde_now_ns();
    s->listen_fd = -1;
    atomic_init(&s->scrapes, 0);
    if (oom || pthread_mutex_init(&s->lock, NULL)) {
        free(s->metrics_path);
        free(s->listen_addr);
        free(s->basic_expected);
        free(s->bearer_expected);
        free(s->tls_cert);
        free(s->tls_key);
        free(s);
        return SONDE_ENOMEM;
    }
    *out = s;
    return SONDE_OK;
}

static int start_fail(sonde_server *s, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->errmsg, sizeof s->errmsg, fmt, ap);
    va_end(ap);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    s->listen_fd = -1;
    return rc;
}

/* Open, bind and listen; on success s->listen_fd and s->bound_port are set. */
static int open_listener(sonde_server *s)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    const char *shown = s->listen_addr ? s->listen_addr : "all interfaces";
    int family = AF_INET6;
    if (s->listen_addr && inet_pton(AF_INET, s->listen_addr, &in4->sin_addr) == 1)
        family = AF_INET;
    else if (s->listen_addr)
        inet_pton(AF_INET6, s->listen_addr, &in6->sin6_addr);
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 && family == AF_INET6 && !s->listen_addr && errno == EAFNOSUPPORT) {
        family = AF_INET; /* no IPv6 on this host: 0.0.0.0 */
        fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    }
    if (fd < 0)
        return start_fail(s, SONDE_EIO, "socket: %s", strerror(errno));
    s->listen_fd = fd;
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (family == AF_INET6) {
        if (!s->listen_addr)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)s->port);
        sl = sizeof *in6;
    } else {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)s->port);
        sl = sizeof *in4;
    }
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
        int e = errno;
        if (e == EADDRINUSE)
            return start_fail(s, SONDE_EBUSY, "port %d on %s is already in use", s->port, shown);
        if (e == EADDRNOTAVAIL || e == EINVAL)
            return start_fail(s, SONDE_ECONFIG, "cannot bind to %s: %s", shown, strerror(e));
        return start_fail(s, SONDE_EIO, "cannot bind port %d on %s: %s", s->port, shown,
                          strerror(e));
    }
    if (listen(fd, 128) != 0)
        return start_fail(s, SONDE_EIO, "listen: %s", strerror(errno));
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        return start_fail(s, SONDE_EIO, "getsockname: %s", strerror(errno));
    s->bound_port = ntohs(ss.ss_family == AF_INET6 ? in6->sin6_port : in4->sin_port);
    return SONDE_OK;
}

int sonde_server_start(sonde_server *s)
{
    if (!s)
        return SONDE_EINVAL;
    if (s->daemon) {
        snprintf(s->errmsg, sizeof s->errmsg, "the server is already running");
        return SONDE_EBUSY;
    }
    if (!s->enabled) {
        snprintf(s->errmsg, sizeof s->errmsg, "metrics are disabled by configuration");
        return SONDE_EDISABLED;
    }
    s->errmsg[0] = '\0';
    int rc = open_listener(s);
    if (rc)
        return rc;
    if (server_mhd_start(s) != SONDE_OK) {
        s->bound_port = 0;
        return start_fail(s, SONDE_EIO, "libmicrohttpd could not start the server");
    }
    return SONDE_OK;
}

void sonde_server_stop(sonde_server *s)
{
    if (!s || !s->daemon)
        return;
    server_mhd_stop(s);
    close(s->listen_fd);
    s->listen_fd = -1;
    s->bound_port = 0;
}

void sonde_server_free(sonde_server *s)
{
    if (!s)
        return;
    sonde_server_stop(s);
    pthread_mutex_destroy(&s->lock);
    free(s->metrics_path);
    free(s->listen_addr);
    free(s->basic_expected);
    free(s->bearer_expected);
    free(s->tls_cert);
    free(s->tls_key);
    free(s);
}

int sonde_server_port(const sonde_server *s)
{
    return s && s->daemon ? s->bound_port : 0;
}

const char *sonde_server_errmsg(const sonde_server *s)
{
    return s ? s->errmsg : "";
}
