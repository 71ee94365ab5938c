/*
 * http_client.h - the HTTP request machinery every sender of libsonde-otlp
 * shares (the OTLP transport, the Pushgateway client, the remote-write
 * sender): one attempt of a request on a kept libcurl handle with a bounded
 * answer, authentication and TLS options, which answers are worth retrying,
 * how long to wait before the next attempt (the server's Retry-After, else
 * a capped exponential backoff with jitter) and a printable excerpt of an
 * answer for the logger. The retry loops stay with each sender, since they
 * differ (the OTLP transport waits in the caller's thread until a deadline,
 * the remote-write sender waits in its own thread and keeps snapshotting).
 */
#ifndef SONDE_HTTP_CLIENT_H
#define SONDE_HTTP_CLIENT_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

/* Credentials and TLS of one destination; every field may be NULL / 0. */
typedef struct hc_auth {
    const char *basic_user, *basic_password; /* HTTP basic authentication */
    const char *ca_file;                     /* PEM bundle that verifies the server */
    int insecure;                            /* 1: accept any certificate (tests only) */
} hc_auth;

typedef struct hc_request {
    const char *method; /* "POST", "PUT" or "DELETE" */
    const char *url;
    const struct curl_slist *headers;
    const void *body;
    size_t len;
    long timeout_ms;    /* the whole attempt, connecting included */
    const char *user_agent;
    const hc_auth *auth; /* may be NULL */
} hc_request;

typedef struct hc_answer {
    CURLcode cr;          /* CURLE_OK when an HTTP answer came */
    long status;          /* its status, 0 without one */
    char body[4096];      /* its first bytes; the rest is read and dropped */
    size_t len;
    long retry_after_ms;  /* Retry-After, -1 when absent or malformed */
    char err[CURL_ERROR_SIZE];
} hc_answer;

/* libcurl's global initialisation, once per process; 0 when it failed. */
int hc_start(void);

/* One attempt of rq on c (reset first, so the handle keeps only its connections). */
void hc_perform(CURL *c, const hc_request *rq, hc_answer *a);

/* 1 for a 2xx answer. */
static inline int hc_ok(const hc_answer *a) { return a->cr == CURLE_OK && a->status >= 200 && a->status < 300; }

/* Worth another attempt: no answer at all (connection failed, timed out; not a server
 * certificate that failed verification), 429, and either
 * every 5xx (any_5xx) or only 502, 503 and 504 (the OTLP set). */
int hc_retryable(const hc_answer *a, int any_5xx);

/* The wait before the next attempt: the answer's Retry-After when it has one, else *backoff
 * with jitter (x 0.5 .. 1.5), *backoff then doubling up to max_ms. */
long hc_wait_ms(const hc_answer *a, long *backoff, long max_ms);

/* What went wrong, for a log record: libcurl's message without an answer, else the
 * answer's first bytes with every byte outside printable ASCII shown as '.'. */
void hc_describe(const hc_answer *a, char *out, size_t cap);

/* Retry-After: seconds, or an HTTP date; ms to wait, -1 when absent or malformed. */
long sonde_otlp_retry_after_ms(const char *value);

uint64_t hc_mono_ms(void);

#endif
