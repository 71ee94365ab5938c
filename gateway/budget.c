/*
 * budget.c - a key's daily budgets on one instance: tokens (input + output)
 * and cost, per UTC day. The day is the Unix time divided by 86400 (UTC
 * knows no leap seconds in Unix time), so every gateway and Redis agree on
 * where a day ends whatever their time zone. A call is admitted while the
 * day's spend is below each budget; what it really used is added when it
 * ends, so the call that crosses a budget completes and the day may end a
 * little over it (by what the calls admitted last used). The first check or
 * charge of a new day starts it at zero. The time is a parameter, so the unit
 * test walks across midnight without waiting for it. The shared version of
 * the same arithmetic is limits.c's Lua script.
 */
#include "gateway.h"

int64_t gw_utc_day(int64_t unix_s)
{
    int64_t d = unix_s / GW_DAY_SECONDS;
    return unix_s < 0 && unix_s % GW_DAY_SECONDS ? d - 1 : d; /* floor, before 1970 too */
}

int64_t gw_day_seconds_left(int64_t unix_s)
{
    return (gw_utc_day(unix_s) + 1) * GW_DAY_SECONDS - unix_s;
}

void gw_budget_init(gw_budget *b)
{
    pthread_mutex_init(&b->mu, NULL);
    b->day = 0;
    b->tokens = b->cost = 0;
}

void gw_budget_destroy(gw_budget *b)
{
    pthread_mutex_destroy(&b->mu);
}

/* Start the day of unix_s when the sums belong to an earlier one; b->mu held. */
static void roll(gw_budget *b, int64_t unix_s)
{
    int64_t day = gw_utc_day(unix_s);
    if (day != b->day) {
        b->day = day;
        b->tokens = b->cost = 0;
    }
}

gw_admit gw_budget_check(gw_budget *b, const gw_key *k, int64_t unix_s)
{
    if (k->daily_tokens <= 0 && k->daily_cost <= 0) return GW_ADMIT_OK;
    pthread_mutex_lock(&b->mu);
    roll(b, unix_s);
    gw_admit a = GW_ADMIT_OK;
    if (k->daily_tokens > 0 && b->tokens >= k->daily_tokens) a = GW_ADMIT_DAILY_TOKENS;
    else if (k->daily_cost > 0 && b->cost >= k->daily_cost) a = GW_ADMIT_DAILY_COST;
    pthread_mutex_unlock(&b->mu);
    return a;
}

void gw_budget_charge(gw_budget *b, double tokens, double cost, int64_t unix_s)
{
    if (!(tokens > 0) && !(cost > 0)) return;
    pthread_mutex_lock(&b->mu);
    roll(b, unix_s);
    if (tokens > 0) b->tokens += tokens;
    if (cost > 0) b->cost += cost;
    pthread_mutex_unlock(&b->mu);
}
