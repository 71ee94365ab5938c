/*
 * limits.c - the per-key limits and daily budgets, on one instance or shared
 * by every gateway that points at the same Redis.
 *
 * Local (no Redis URL): requests and tokens per minute are ratelimit.c's
 * token buckets, the daily budgets budget.c's sums; all of it in the key.
 *
 * Shared (a Redis URL): one Lua script (SCRIPT below) decides atomically in
 * Redis, so N gateways enforce one limit. Per key name (never its secret)
 * it keeps two hashes under the configured prefix:
 *   <prefix>rl:<key>                 r = requests, t = tokens of the current
 *                                    one-minute window, which starts at the
 *                                    key's first request and expires 60 s
 *                                    later (PEXPIRE, Redis's clock)
 *   <prefix>budget:<key>:<YYYY-MM-DD> t = tokens, c = cost of that UTC day;
 *                                    expires an hour after the day ends
 * "admit" refuses when the day's spend has reached a budget, when the
 * window's tokens plus the estimate (capped at the limit, as locally) would
 * pass tokens_per_minute, or when the window already holds
 * requests_per_minute requests; else it counts the request. "charge" adds a
 * finished call's tokens to the window and its tokens and cost to the day.
 * The shared per-minute limit is thus a fixed window (at most N requests in
 * any window that starts at a key's first request), where the local one is
 * a bucket refilling continuously; the budgets are the same arithmetic.
 *
 * Fallback: when Redis cannot be used (backing off after a failure, cannot
 * connect, timeout, error reply) the call is decided by the local limits
 * (fail-open, the default: each instance then enforces the whole limit on
 * its own) or refused 503 (fail-closed). Either way it is counted in
 * gateway_limit_backend_fallbacks_total{reason} and logged through the
 * gateway's logger, which rate-limits each call site; the transitions of
 * gateway_limit_backend_up are logged once each. A charge that cannot reach
 * Redis goes to the local limits. Only keys with a limit or a budget touch
 * Redis at all.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "redis_pool.h"

#define WINDOW_MS 60000
#define BUDGET_GRACE_S 3600

static const char SCRIPT[] =
    "local mode = ARGV[1]\n"
    "if mode == 'admit' then\n"
    "  local rpm, tpm, need, win = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])\n"
    "  local btok, bcost = tonumber(ARGV[6]), tonumber(ARGV[7])\n"
    "  if btok > 0 or bcost > 0 then\n"
    "    local b = redis.call('HMGET', KEYS[2], 't', 'c')\n"
    "    if btok > 0 and (tonumber(b[1]) or 0) >= btok then return {3, 0} end\n"
    "    if bcost > 0 and (tonumber(b[2]) or 0) >= bcost then return {4, 0} end\n"
    "  end\n"
    "  if rpm > 0 or tpm > 0 then\n"
    "    local w = redis.call('HMGET', KEYS[1], 'r', 't')\n"
    "    local ttl = redis.call('PTTL', KEYS[1])\n"
    "    if ttl < 0 then ttl = win end\n"
    "    if tpm > 0 and (tonumber(w[2]) or 0) + math.min(need, tpm) > tpm then return {2, ttl} end\n"
    "    if rpm > 0 and (tonumber(w[1]) or 0) + 1 > rpm then return {1, ttl} end\n"
    "    redis.call('HINCRBY', KEYS[1], 'r', 1)\n"
    "    if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], win) end\n"
    "  end\n"
    "  return {0, 0}\n"
    "end\n"
    "local tokens, cost, win = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "if ARGV[6] == '1' and tokens > 0 then\n"
    "  redis.call('HINCRBY', KEYS[1], 't', tokens)\n"
    "  if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], win) end\n"
    "end\n"
    "if ARGV[7] == '1' then\n"
    "  if tokens > 0 then redis.call('HINCRBY', KEYS[2], 't', tokens) end\n"
    "  if cost > 0 then redis.call('HINCRBYFLOAT', KEYS[2], 'c', ARGV[3]) end\n"
    "  redis.call('EXPIREAT', KEYS[2], ARGV[5])\n"
    "end\n"
    "return {0, 0}\n";

struct gw_limits {
    gw_meter *meter;
    sonde_logger *log;
    gw_redis *redis;       /* NULL: local limits only */
    int fail_closed;
    const char *prefix;
    atomic_int was_up;     /* the last state logged: -1 unknown */
};

const char *gw_admit_reason(gw_admit a)
{
    switch (a) {
    case GW_ADMIT_REQUESTS: return "requests_per_minute";
    case GW_ADMIT_TOKENS: return "tokens_per_minute";
    case GW_ADMIT_DAILY_TOKENS: return "daily_token_budget";
    case GW_ADMIT_DAILY_COST: return "daily_cost_budget";
    case GW_ADMIT_UNAVAILABLE: return "limit_backend_unavailable";
    default: return NULL;
    }
}

int gw_limits_new(const gw_config *cfg, gw_meter *meter, sonde_logger *log, char *err,
                  size_t errlen, gw_limits **out)
{
    *out = NULL;
    gw_limits *l = calloc(1, sizeof *l);
    if (!l) return -1;
    l->meter = meter;
    l->log = log;
    l->fail_closed = cfg->redis.fail_closed;
    l->prefix = cfg->redis.key_prefix ? cfg->redis.key_prefix : GW_REDIS_PREFIX;
    atomic_init(&l->was_up, -1);
    /* one connection per HTTP thread, plus the timer, the proxy worker and the prober */
    if (cfg->redis.url && gw_redis_new(&cfg->redis, (size_t)cfg->threads + 3, SCRIPT, err,
                                       errlen, &l->redis) != 0) {
        free(l);
        return -1;
    }
    gw_meter_limit_backend_up(meter, 0);
    if (l->redis) {
        const char *host;
        int port;
        long db;
        gw_redis_endpoint(l->redis, &host, &port, &db);
        sonde_attr f[] = {SONDE_ATTR_STR("host", host), SONDE_ATTR_INT("port", port),
                          SONDE_ATTR_INT("db", db), SONDE_ATTR_STR("prefix", l->prefix),
                          SONDE_ATTR_STR("fail_mode", l->fail_closed ? "closed" : "open")};
        sonde_log(log, SONDE_LOG_INFO, "limits and budgets shared through Redis", f,
                  sizeof f / sizeof *f);
    }
    *out = l;
    return 0;
}

void gw_limits_free(gw_limits *l)
{
    if (!l) return;
    gw_redis_free(l->redis);
    free(l);
}

static int has_limits(const gw_key *k)
{
    return k->rpm > 0 || k->tpm > 0 || k->daily_tokens > 0 || k->daily_cost > 0;
}

static int has_budget(const gw_key *k)
{
    return k->daily_tokens > 0 || k->daily_cost > 0;
}

/* The gauge, and one log line per change of state. */
static void track_up(gw_limits *l)
{
    int up = gw_redis_up(l->redis);
    gw_meter_limit_backend_up(l->meter, up);
    if (atomic_exchange(&l->was_up, up) == up) return;
    if (up)
        sonde_log(l->log, SONDE_LOG_INFO, "limit backend reachable: limits and budgets are shared",
                  NULL, 0);
    else
        sonde_log(l->log, SONDE_LOG_WARN, "limit backend unreachable: falling back", NULL, 0);
}

/* A call that could not use Redis: counted, logged (the logger rate-limits this site). */
static void fallback(gw_limits *l, const gw_key *k, const char *what, gw_redis_status st,
                     const char *detail)
{
    const char *reason = gw_redis_status_name(st);
    gw_meter_limit_fallback(l->meter, reason);
    track_up(l);
    sonde_attr f[] = {
        SONDE_ATTR_STR("reason", reason), SONDE_ATTR_STR("operation", what),
        SONDE_ATTR_STR("key", k->name), SONDE_ATTR_STR("detail", detail),
        SONDE_ATTR_STR("decided_by", l->fail_closed && strcmp(what, "admit") == 0
                                         ? "fail_closed" : "local_limits"),
    };
    sonde_log(l->log, SONDE_LOG_WARN, "limit backend not used", f, sizeof f / sizeof *f);
}

/* The Redis keys of k: its window and the budget of the UTC day of now_s. */
static void redis_keys(const gw_limits *l, const gw_key *k, int64_t now_s, char *win,
                       size_t wlen, char *day, size_t dlen)
{
    time_t t = (time_t)now_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(win, wlen, "%srl:%s", l->prefix, k->name);
    snprintf(day, dlen, "%sbudget:%s:%04d-%02d-%02d", l->prefix, k->name, tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday);
}

/* Names are at most SONDE_LABEL_VALUE_MAX bytes, prefixes GW_REDIS_PREFIX_MAX. */
#define KEY_LEN (GW_REDIS_PREFIX_MAX + SONDE_LABEL_VALUE_MAX + 32)

static gw_redis_status shared_admit(gw_limits *l, const gw_key *k, double est, int64_t now_s,
                                    gw_admit *a, double *retry, char *detail, size_t dlen)
{
    char win[KEY_LEN], day[KEY_LEN], rpm[32], tpm[32], need[32], wms[16], bt[32], bc[32];
    redis_keys(l, k, now_s, win, sizeof win, day, sizeof day);
    sonde_format_double(k->rpm, rpm);
    sonde_format_double(k->tpm, tpm);
    sonde_format_double(est, need);
    snprintf(wms, sizeof wms, "%d", WINDOW_MS);
    sonde_format_double(k->daily_tokens, bt);
    sonde_format_double(k->daily_cost, bc);
    const char *argv[] = {win, day, "admit", rpm, tpm, need, wms, bt, bc};
    long long res[2];
    gw_redis_status st = gw_redis_script(l->redis, 2, argv, sizeof argv / sizeof *argv, res, 2,
                                         detail, dlen);
    if (st != GW_REDIS_OK) return st;
    switch (res[0]) {
    case 0: *a = GW_ADMIT_OK; break;
    case 1: *a = GW_ADMIT_REQUESTS; break;
    case 2: *a = GW_ADMIT_TOKENS; break;
    case 3: *a = GW_ADMIT_DAILY_TOKENS; break;
    case 4: *a = GW_ADMIT_DAILY_COST; break;
    default:
        snprintf(detail, dlen, "admit: unexpected result %lld", res[0]);
        return GW_REDIS_ERROR;
    }
    if (*a == GW_ADMIT_REQUESTS || *a == GW_ADMIT_TOKENS) *retry = (double)res[1] / 1000.0;
    else if (*a != GW_ADMIT_OK) *retry = (double)gw_day_seconds_left(now_s);
    return GW_REDIS_OK;
}

static gw_admit local_admit(gw_key *k, double est, int64_t now_s, double *retry)
{
    gw_admit a = gw_budget_check(&k->spent, k, now_s);
    if (a != GW_ADMIT_OK) {
        *retry = (double)gw_day_seconds_left(now_s);
        return a;
    }
    const char *why = gw_ratelimit_admit(k, est, retry);
    if (!why) return GW_ADMIT_OK;
    return strcmp(why, "tokens_per_minute") == 0 ? GW_ADMIT_TOKENS : GW_ADMIT_REQUESTS;
}

gw_admit gw_limits_admit(gw_limits *l, gw_key *k, double est_tokens, double *retry_after)
{
    if (!has_limits(k)) return GW_ADMIT_OK;
    int64_t now_s = (int64_t)time(NULL);
    if (l->redis) {
        char detail[256] = "";
        gw_admit a = GW_ADMIT_OK;
        gw_redis_status st = shared_admit(l, k, est_tokens, now_s, &a, retry_after, detail,
                                          sizeof detail);
        if (st == GW_REDIS_OK) {
            track_up(l);
            return a;
        }
        fallback(l, k, "admit", st, detail);
        if (l->fail_closed) {
            *retry_after = 1;
            return GW_ADMIT_UNAVAILABLE;
        }
    }
    return local_admit(k, est_tokens, now_s, retry_after);
}

void gw_limits_charge(gw_limits *l, gw_key *k, double tokens, double cost, const char *currency)
{
    if (cost > 0 && currency) gw_meter_key_cost(l->meter, k, currency, cost);
    /* only the tokens-per-minute limit and the budgets count what a call used */
    if ((!(k->tpm > 0) && !has_budget(k)) || (!(tokens > 0) && !(cost > 0))) return;
    double budget_cost = k->daily_cost > 0 && currency && k->budget_currency &&
                         strcmp(currency, k->budget_currency) == 0 ? cost : 0;
    int64_t now_s = (int64_t)time(NULL);
    if (l->redis) {
        char win[KEY_LEN], day[KEY_LEN], tok[32], cst[32], wms[16], exp[24];
        redis_keys(l, k, now_s, win, sizeof win, day, sizeof day);
        snprintf(tok, sizeof tok, "%lld", tokens > 0 ? (long long)llround(tokens) : 0LL);
        sonde_format_double(budget_cost > 0 ? budget_cost : 0, cst);
        snprintf(wms, sizeof wms, "%d", WINDOW_MS);
        snprintf(exp, sizeof exp, "%lld",
                 (long long)(now_s + gw_day_seconds_left(now_s) + BUDGET_GRACE_S));
        const char *argv[] = {win, day, "charge", tok, cst, wms, exp, k->tpm > 0 ? "1" : "0",
                              has_budget(k) ? "1" : "0"};
        char detail[256] = "";
        long long res[1];
        gw_redis_status st = gw_redis_script(l->redis, 2, argv, sizeof argv / sizeof *argv, res,
                                             1, detail, sizeof detail);
        if (st == GW_REDIS_OK) {
            track_up(l);
            return;
        }
        fallback(l, k, "charge", st, detail);
    }
    gw_bucket_charge(&k->tokens, tokens);
    gw_budget_charge(&k->spent, tokens, budget_cost, now_s);
}

void gw_limits_probe(gw_limits *l)
{
    if (!l || !l->redis) return;
    gw_redis_ping(l->redis, NULL, 0);
    track_up(l);
}
