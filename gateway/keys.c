/*
 * keys.c - API key lookup. A request presents a secret (Authorization: Bearer
 * or x-api-key); the gateway finds the configured key it belongs to and from
 * then on only ever uses the key's NAME (labels, logs). Secrets are compared
 * in time independent of where they differ (the library's
 * sonde_secret_equal), so response timing does not leak how much of a guess
 * was right; every key is compared, whichever matches.
 */
#include <string.h>

#include "gateway.h"

const gw_key *gw_key_find(const gw_config *c, const char *secret)
{
    if (!secret || !*secret) return NULL;
    const gw_key *found = NULL;
    size_t len = strlen(secret);
    for (size_t i = 0; i < c->nkeys; i++)
        if (sonde_secret_equal(secret, len, c->keys[i].secret, strlen(c->keys[i].secret)))
            found = &c->keys[i];
    return found;
}
