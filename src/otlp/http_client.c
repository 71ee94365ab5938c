/*
 * http_client.c - one attempt of an HTTP request for every sender of
 * libsonde-otlp (see http_client.h): the libcurl options, the bounded
 * answer (first 4 KiB of the body, the Retry-After header), the retry rule
 * and the backoff with jitter. Protocols are limited to http and https, no
 * signals are used (threads), and the certificate is verified unless the
 * destination is configured otherwise.
 */
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core_iface.h"
#include "http_client.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_ok;
static void curl_start(void) { curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }

int hc_start(void)
{
    pthread_once(&curl_once, curl_start);
    return curl_ok;
}

uint64_t hc_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    hc_answer *a = ud;
    size_t bytes = size * n, room = sizeof a->body - a->len;
    size_t take = bytes < room ? bytes : room; /* bounded: the rest is read and ignored */
    memcpy(a->body + a->len, p, take);
    a->len += take;
    return bytes;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    hc_answer *a = ud;
    size_t bytes = size * n;
    if (bytes > 12 && bytes < 256 && strncasecmp(p, "Retry-After:", 12) == 0) {
        char v[256];
        memcpy(v, p + 12, bytes - 12);
        v[bytes - 12] = '\0';
        a->retry_after_ms = sonde_otlp_retry_after_ms(v);
    }
    return bytes;
}

void hc_perform(CURL *c, const hc_request *rq, hc_answer *a)
{
    a->len = 0;
    a->status = 0;
    a->retry_after_ms = -1;
    a->err[0] = '\0';
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, rq->url);
    if (strcmp(rq->method, "POST") == 0 || strcmp(rq->method, "PUT") == 0) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->len ? rq->body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->len);
    }
    if (strcmp(rq->method, "POST") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, rq->headers);
    curl_easy_setopt(c, CURLOPT_USERAGENT, rq->user_agent);
    long t = rq->timeout_ms > 0 ? rq->timeout_ms : 1;
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, t);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, t);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, a->err);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    const hc_auth *au = rq->auth;
    if (au && au->basic_user) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, au->basic_user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, au->basic_password ? au->basic_password : "");
    }
    if (au && au->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, au->ca_file);
    if (au && au->insecure) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    a->cr = curl_easy_perform(c);
    if (a->cr == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
}

int hc_retryable(const hc_answer *a, int any_5xx)
{
    if (a->cr != CURLE_OK) /* a certificate that failed verification will fail again */
        return a->cr != CURLE_PEER_FAILED_VERIFICATION && a->cr != CURLE_SSL_CACERT_BADFILE &&
               a->cr != CURLE_SSL_CERTPROBLEM;
    long s = a->status;
    return s == 429 || (any_5xx ? s >= 500 && s < 600 : s == 502 || s == 503 || s == 504);
}

long hc_wait_ms(const hc_answer *a, long *backoff, long max_ms)
{
    if (a->retry_after_ms >= 0)
        return a->retry_after_ms;
    long wait = *backoff;
    uint64_t r = sonde_now_ns() * 0x9e3779b97f4a7c15ull;
    r ^= r >> 29;
    wait = wait / 2 + (long)(r % (uint64_t)(wait + 1)); /* jitter: x 0.5 .. 1.5 */
    *backoff = *backoff * 2 > max_ms ? max_ms : *backoff * 2;
    return wait;
}

void hc_describe(const hc_answer *a, char *out, size_t cap)
{
    if (!cap)
        return;
    if (a->cr != CURLE_OK) {
        const char *m = a->err[0] ? a->err : curl_easy_strerror(a->cr);
        size_t n = strlen(m) < cap - 1 ? strlen(m) : cap - 1;
        memcpy(out, m, n);
        out[n] = '\0';
        return;
    }
    size_t n = a->len < cap - 1 ? a->len : cap - 1;
    for (size_t i = 0; i < n; i++) /* the answer's text, printable bytes only */
        out[i] = a->body[i] >= 32 && a->body[i] < 127 ? a->body[i] : '.';
    out[n] = '\0';
}
