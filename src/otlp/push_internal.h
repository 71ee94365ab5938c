/*
 * push_internal.h - what the Pushgateway client, the remote-write sender
 * and their environment reader share: a destination's copied credentials and
 * prepared request headers.
 */
#ifndef SONDE_PUSH_INTERNAL_H
#define SONDE_PUSH_INTERNAL_H

#include "core_iface.h"
#include "http_client.h"
#include "sonde/push.h"

typedef struct push_dest {
    hc_auth auth;                /* strings owned */
    struct curl_slist *headers;  /* Content-Type, extra, Authorization: Bearer */
} push_dest;

/* Copy auth and prepare the headers: Content-Type: content_type, then each of extra (a
 * NULL-terminated list, may be NULL). SONDE_ECONFIG for a token with CR or LF,
 * SONDE_ENOMEM. */
int sonde_push_dest_init(push_dest *d, const sonde_push_auth *auth, const char *content_type,
                         const char *const *extra);
void sonde_push_dest_free(push_dest *d);

/* 1 when u is an http:// or https:// URL without spaces or control characters. */
int sonde_push_http_url(const char *u);

#endif
