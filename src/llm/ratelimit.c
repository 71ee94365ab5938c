/*
 * ratelimit.c - counting requests a rate limit refused, by reason
 * (P_rate_limit_rejections_total). Reasons are few and fixed by the service
 * (requests_per_minute, tokens_per_minute, concurrency, ...), so the child is
 * looked up on each call; the lookup allocates only the first time.
 */
#include <string.h>

#include "llm_internal.h"

int sonde_llm_rate_limited(sonde_llm *llm, const char *reason)
{
    if (!llm)
        return SONDE_OK; /* instrumentation off */
    if (!reason || !*reason)
        return SONDE_EINVAL;
    if (!sonde_valid_utf8(reason, strlen(reason)))
        return SONDE_EUTF8;
    if (!llm->fam[F_RATE_LIMIT])
        return SONDE_OK; /* disabled registry */
    void *child;
    int rc = sonde_metric_child(llm->fam[F_RATE_LIMIT], &reason, &child);
    if (rc == SONDE_OK)
        sonde_counter_inc(child);
    return rc;
}
