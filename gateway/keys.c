/*
 * keys.c - API key lookup. A request presents a secret (Authorization: Bearer
 * or x-api-key); the gateway finds the configured key it belongs to and from
 * then on only ever uses the key's NAME (labels, logs). Secrets are compared
 * in time independent of where they differ, so response timing does not leak
 * how much of a guess was right.
 */
#include <string.h>

#include "gateway.h"

static int same_secret(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = (unsigned char)(la != lb);
    for (size_t i = 0; i < lb; i++) diff |= (unsigned char)(a[i < la ? i : 0] ^ b[i]);
    return diff == 0 && la == lb;
}

const gw_key *gw_key_find(const gw_config *c, const char *secret)
{
    if (!secret || !*secret) return NULL;
    const gw_key *found = NULL;
    for (size_t i = 0; i < c->nkeys; i++)
        if (same_secret(secret, c->keys[i].secret)) found = &c->keys[i];
    return found;
}
