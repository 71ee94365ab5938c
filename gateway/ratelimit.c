/*
 * ratelimit.c - per-key token buckets for requests per minute and tokens per
 * minute. A bucket holds up to a minute's allowance and refills continuously
 * at allowance/60 per second. A request takes one unit from the request
 * bucket and needs its estimated input tokens in the token bucket; the
 * tokens really used are charged when the call ends (the level may go below
 * zero, which then delays later requests). A refusal says which bucket
 * refused and how long until it would admit the request (Retry-After).
 */
#include <math.h>

#include "gateway.h"

void gw_bucket_init(gw_bucket *b, double per_minute)
{
    pthread_mutex_init(&b->mu, NULL);
    b->capacity = per_minute;
    b->level = per_minute;
    b->per_second = per_minute / 60.0;
    b->last_ns = gw_now_ns();
}

void gw_bucket_destroy(gw_bucket *b)
{
    pthread_mutex_destroy(&b->mu);
}

static void refill(gw_bucket *b)
{
    uint64_t now = gw_now_ns();
    b->level += (double)(now - b->last_ns) / 1e9 * b->per_second;
    if (b->level > b->capacity) b->level = b->capacity;
    b->last_ns = now;
}

int gw_bucket_take(gw_bucket *b, double need, double n, double *retry_after)
{
    if (b->capacity <= 0) return 1; /* unlimited */
    if (need > b->capacity) need = b->capacity;
    pthread_mutex_lock(&b->mu);
    refill(b);
    int ok = b->level >= need;
    if (ok) b->level -= n;
    else {
        /* a tiny allowance charged a big call can mean years (or, per_second
         * rounded to 0, infinity): cap it so Retry-After stays a sane int */
        *retry_after = (need - b->level) / b->per_second;
        if (!(*retry_after <= GW_RETRY_AFTER_MAX)) *retry_after = GW_RETRY_AFTER_MAX;
    }
    pthread_mutex_unlock(&b->mu);
    return ok;
}

void gw_bucket_charge(gw_bucket *b, double n)
{
    if (b->capacity <= 0 || n <= 0) return;
    pthread_mutex_lock(&b->mu);
    refill(b);
    b->level -= n;
    pthread_mutex_unlock(&b->mu);
}

const char *gw_ratelimit_admit(gw_key *k, double est_tokens, double *retry_after)
{
    /* tokens first: a refusal there must not have consumed a request unit */
    if (!gw_bucket_take(&k->tokens, est_tokens, 0, retry_after)) return "tokens_per_minute";
    if (!gw_bucket_take(&k->requests, 1, 1, retry_after)) return "requests_per_minute";
    return NULL;
}
