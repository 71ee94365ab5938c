/*
 * transport.c - the OTLP/HTTP transport: one libcurl easy handle per signal
 * (kept, so connections are reused), a body optionally gzipped with libdeflate,
 * and the retry loop. An export has one deadline (the caller's, cut to the
 * signal's timeout); each attempt gets what is left of it. Retryable
 * answers (429, 502, 503, 504) and connection failures wait the server's
 * Retry-After, else an exponential backoff with jitter, and try again while
 * the deadline allows; anything else is final. Failures and partial
 * successes are reported through the logger, one record per export. One
 * attempt, the retry rule and the backoff are http_client.c's, shared with
 * the Pushgateway client and the remote-write sender.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libdeflate.h>

#include "otlp_internal.h"

static const char *const signal_name[OTLP_SIGNALS] = {"traces", "logs", "metrics"};

void sonde_otlp_opts_init(sonde_otlp_opts *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->timeout_ms = -1;
    opts->compression = -1;
    opts->read_env = 1;
}

void sonde_otlp_free(sonde_otlp *o)
{
    if (!o)
        return;
    for (int s = 0; s < OTLP_SIGNALS; s++) {
        otlp_dest *d = &o->dest[s];
        free(d->url);
        curl_slist_free_all(d->headers);
        if (d->curl)
            curl_easy_cleanup(d->curl);
        pthread_mutex_destroy(&d->mu);
    }
    free(o);
}

int sonde_otlp_new(const sonde_otlp_opts *opts, sonde_otlp **out)
{
    if (!out)
        return SONDE_EINVAL;
    *out = NULL;
    sonde_otlp_opts defaults;
    if (!opts) {
        sonde_otlp_opts_init(&defaults);
        opts = &defaults;
    }
    if (!hc_start())
        return SONDE_EIO;
    sonde_otlp *o = calloc(1, sizeof *o);
    if (!o)
        return SONDE_ENOMEM;
    o->logger = opts->logger;
    o->backoff_initial_ms = 1000;
    o->backoff_max_ms = 30000;
    for (int s = 0; s < OTLP_SIGNALS; s++)
        pthread_mutex_init(&o->dest[s].mu, NULL);
    int rc = sonde_otlp_config(o, opts);
    for (int s = 0; s < OTLP_SIGNALS && rc == SONDE_OK; s++)
        if (!(o->dest[s].curl = curl_easy_init()))
            rc = SONDE_EIO;
    if (rc != SONDE_OK) {
        sonde_otlp_free(o);
        return rc;
    }
    *out = o;
    return SONDE_OK;
}

const char *sonde_otlp_endpoint(const sonde_otlp *o, sonde_otlp_signal signal)
{
    if (!o || (unsigned)signal >= OTLP_SIGNALS)
        return "";
    return o->dest[signal].url;
}

int sonde_otlp_gzip(const void *body, size_t len, char **out, size_t *out_len)
{
    /* libdeflate at level 1: on the 12 MB request of bench-otlp (100,000 counter and 10,000
     * histogram series) zlib took 2.6x longer at its default level 6 and 1.6x longer at
     * level 1, for about the same bytes (0.79 MB here, 0.82 at zlib 1, 0.76 at zlib 6): the
     * host's CPU is worth more than the collector's bandwidth */
    struct libdeflate_compressor *z = libdeflate_alloc_compressor(1);
    if (!z)
        return SONDE_ENOMEM;
    size_t cap = libdeflate_gzip_compress_bound(z, len);
    char *buf = malloc(cap);
    size_t n = buf ? libdeflate_gzip_compress(z, body, len, buf, cap) : 0;
    libdeflate_free_compressor(z);
    if (!n) { /* cannot happen with the bound's room, but never send half a body */
        free(buf);
        return SONDE_ENOMEM;
    }
    *out = buf;
    *out_len = n;
    return SONDE_OK;
}

static void report(sonde_otlp *o, sonde_log_level level, const char *msg, int signal, long status,
                   const char *detail)
{
    if (!o->logger)
        return;
    sonde_attr f[4] = {SONDE_ATTR_STR("signal", signal_name[signal]),
                       SONDE_ATTR_STR("endpoint", o->dest[signal].url),
                       SONDE_ATTR_INT("status", status), SONDE_ATTR_STR("detail", detail)};
    sonde_log(o->logger, level, msg, f, 4);
}

int sonde_otlp_send(sonde_otlp *o, sonde_otlp_signal signal, const void *body, size_t len,
                    long timeout_ms, size_t *rejected)
{
    if (rejected)
        *rejected = 0;
    if (!o || (unsigned)signal >= OTLP_SIGNALS || (len && !body))
        return SONDE_EINVAL;
    otlp_dest *d = &o->dest[signal];
    if (timeout_ms < 0 || timeout_ms > d->timeout_ms)
        timeout_ms = d->timeout_ms;
    uint64_t deadline = hc_mono_ms() + (uint64_t)timeout_ms;
    char *zbody = NULL;
    size_t zlen = 0;
    if (d->gzip) {
        if (sonde_otlp_gzip(body, len, &zbody, &zlen) != SONDE_OK) {
            atomic_fetch_add(&o->failed, 1);
            return SONDE_ENOMEM;
        }
        body = zbody;
        len = zlen;
    }
    pthread_mutex_lock(&d->mu);
    hc_answer *a = malloc(sizeof *a);
    int rc = SONDE_EIO;
    long backoff = o->backoff_initial_ms;
    hc_request rq = {.method = "POST", .url = d->url, .headers = d->headers, .body = body,
                     .len = len, .user_agent = "sonde-otlp/" SONDE_VERSION_STRING};
    char detail[160];
    for (int attempt = 0; a; attempt++) {
        uint64_t now = hc_mono_ms();
        if (now >= deadline) {
            report(o, SONDE_LOG_ERROR, "OTLP export gave up at its deadline", signal, 0,
                   "timeout");
            break;
        }
        rq.timeout_ms = (long)(deadline - now);
        atomic_fetch_add(&o->requests, 1);
        if (attempt)
            atomic_fetch_add(&o->retries, 1);
        hc_perform(d->curl, &rq, a);
        if (hc_ok(a)) {
            int64_t rej = 0;
            char msg[512];
            if (sonde_otlp_partial_success(a->body, a->len, &rej, msg, sizeof msg) == 1) {
                if (rej < 0)
                    rej = 0;
                atomic_fetch_add(&o->rejected, (uint64_t)rej);
                if (rejected)
                    *rejected = (size_t)rej;
                report(o, SONDE_LOG_WARN, "OTLP receiver rejected part of an export", signal,
                       rej, msg);
            }
            atomic_fetch_add(&o->delivered, 1);
            rc = SONDE_OK;
            break;
        }
        hc_describe(a, detail, sizeof detail);
        if (!hc_retryable(a, 0)) {
            report(o, SONDE_LOG_ERROR, "OTLP receiver refused an export; dropped", signal,
                   a->status, detail);
            break;
        }
        long wait = hc_wait_ms(a, &backoff, o->backoff_max_ms);
        if (hc_mono_ms() + (uint64_t)wait >= deadline) {
            report(o, SONDE_LOG_ERROR, "OTLP export failed and its deadline leaves no retry",
                   signal, a->status, a->cr != CURLE_OK ? detail : "retryable");
            break;
        }
        struct timespec ts = {wait / 1000, (wait % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0)
            ;
    }
    if (rc != SONDE_OK)
        atomic_fetch_add(&o->failed, 1);
    pthread_mutex_unlock(&d->mu);
    free(a);
    free(zbody);
    return rc;
}

void sonde_otlp_stats_get(const sonde_otlp *o, sonde_otlp_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!o)
        return;
    sonde_otlp *m = (sonde_otlp *)o;
    out->requests = atomic_load(&m->requests);
    out->retries = atomic_load(&m->retries);
    out->delivered = atomic_load(&m->delivered);
    out->failed = atomic_load(&m->failed);
    out->rejected = atomic_load(&m->rejected);
}
