/*
 * http_test_client.h - a raw-socket HTTP/1.1 client for the server tests.
 *
 * Requests are sent byte for byte as given (so tests can send malformed or
 * oversized ones) to 127.0.0.1:port, and the whole answer is read until the
 * server closes the connection (tests send "Connection: close"). Helpers
 * pick the status, a header and the body out of the raw answer.
 */
#ifndef SONDE_HTTP_TEST_CLIENT_H
#define SONDE_HTTP_TEST_CLIENT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

typedef struct http_answer {
    char *raw;  /* NUL-terminated (the body may hold NULs: use body_len) */
    size_t len;
    int status; /* 0 when no status line came back */
    char *body;
    size_t body_len;
} http_answer;

static inline int tc_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Read until EOF (or 10 s without data); fills *a. */
static inline void tc_read_all(int fd, http_answer *a)
{
    size_t cap = 65536;
    a->raw = malloc(cap);
    a->len = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 10000) <= 0)
            break;
        if (a->len + 4096 + 1 > cap)
            a->raw = realloc(a->raw, cap *= 2);
        ssize_t n = recv(fd, a->raw + a->len, cap - a->len - 1, 0);
        if (n <= 0)
            break;
        a->len += (size_t)n;
    }
    a->raw[a->len] = '\0';
    a->status = 0;
    a->body = NULL;
    a->body_len = 0;
    if (a->len > 12 && !strncmp(a->raw, "HTTP/1.", 7))
        a->status = atoi(a->raw + 9);
    char *sep = strstr(a->raw, "\r\n\r\n");
    if (sep) {
        a->body = sep + 4;
        a->body_len = a->len - (size_t)(a->body - a->raw);
    }
}

/* Send a raw request and read the answer. Returns 0, or -1 when connecting failed. */
static inline int tc_send(int port, const char *req, size_t len, http_answer *a)
{
    memset(a, 0, sizeof *a);
    int fd = tc_connect(port);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    tc_read_all(fd, a);
    close(fd);
    return 0;
}

/* A GET-like request with optional extra header lines ("Name: value\r\n..."). */
static inline int tc_request(int port, const char *method, const char *path, const char *extra,
                      http_answer *a)
{
    size_t cap = strlen(method) + strlen(path) + (extra ? strlen(extra) : 0) + 128;
    char *req = malloc(cap);
    int n = snprintf(req, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s\r\n",
                     method, path, extra ? extra : "");
    int rc = tc_send(port, req, (size_t)n, a);
    free(req);
    return rc;
}

/* The value of a response header (case-insensitive name) into buf, or NULL. */
static inline const char *tc_header(const http_answer *a, const char *name, char *buf, size_t cap)
{
    size_t n = strlen(name);
    const char *end = a->body ? a->body : a->raw + a->len;
    for (const char *p = strstr(a->raw, "\r\n"); p && p + 2 < end; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (!strncasecmp(line, name, n) && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            size_t l = e ? (size_t)(e - v) : strlen(v);
            if (l >= cap)
                l = cap - 1;
            memcpy(buf, v, l);
            buf[l] = '\0';
            return buf;
        }
    }
    return NULL;
}

static inline void tc_free(http_answer *a)
{
    free(a->raw);
    memset(a, 0, sizeof *a);
}

/* Inflate a gzip stream; malloc'd NUL-terminated result or NULL. */
static inline char *tc_gunzip(const char *data, size_t len, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 16) != Z_OK)
        return NULL;
    size_t cap = len * 8 + 1024, n = 0;
    char *out = malloc(cap);
    zs.next_in = (Bytef *)data;
    zs.avail_in = (uInt)len;
    int rc;
    do {
        if (cap - n < 4096)
            out = realloc(out, cap *= 2);
        zs.next_out = (Bytef *)out + n;
        zs.avail_out = (uInt)(cap - n - 1);
        rc = inflate(&zs, Z_NO_FLUSH);
        n = (size_t)((char *)zs.next_out - out);
    } while (rc == Z_OK);
    inflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    out[n] = '\0';
    *out_len = n;
    return out;
}

#endif
