/*
 * otlp_internal.h - what the files of libsonde-otlp share: the transport
 * object with one resolved destination per signal, and the response reader.
 */
#ifndef SONDE_OTLP_INTERNAL_H
#define SONDE_OTLP_INTERNAL_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>

#include "core_iface.h"
#include "http_client.h"
#include "sonde/otlp.h"

#define OTLP_SIGNALS 3

typedef struct otlp_dest {
    char *url;
    struct curl_slist *headers;
    long timeout_ms;
    int gzip;
    pthread_mutex_t mu; /* one request at a time on the handle */
    CURL *curl;
} otlp_dest;

struct sonde_otlp {
    otlp_dest dest[OTLP_SIGNALS];
    sonde_logger *logger;
    long backoff_initial_ms, backoff_max_ms;
    _Atomic uint64_t requests, retries, delivered, failed, rejected;
};

/* config.c: resolve every signal's destination from opts and the environment. */
int sonde_otlp_config(sonde_otlp *o, const sonde_otlp_opts *opts);

/* response.c: the partial_success of an Export*ServiceResponse body: rejected count and
 * message (cut to cap bytes). Returns 1 when one was present, 0 when not, -1 malformed. */
int sonde_otlp_partial_success(const char *body, size_t len, int64_t *rejected, char *msg, size_t cap);

/* transport.c: body gzipped (a buffer the caller frees). SONDE_OK, SONDE_ENOMEM. */
int sonde_otlp_gzip(const void *body, size_t len, char **out, size_t *out_len);

#endif
