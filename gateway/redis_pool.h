/*
 * redis_pool.h - a small pool of blocking hiredis connections that run one
 * Lua script (redis_pool.c). Private to the gateway.
 */
#ifndef GW_REDIS_POOL_H
#define GW_REDIS_POOL_H

#include <stddef.h>

#include "gateway.h"

typedef struct gw_redis gw_redis;

/* How a call went; every value but OK is a reason to fall back (gw_redis_status_name). */
typedef enum {
    GW_REDIS_OK = 0,
    GW_REDIS_BACKOFF,      /* not tried: waiting to reconnect after a failure */
    GW_REDIS_UNREACHABLE,  /* cannot connect, or the connection broke */
    GW_REDIS_TIMEOUT,      /* connect or command timeout */
    GW_REDIS_ERROR         /* Redis answered an error, or an unexpected reply */
} gw_redis_status;

/* "backoff", "unreachable", "timeout", "error" ("ok" for GW_REDIS_OK). */
const char *gw_redis_status_name(gw_redis_status s);

/* A pool of `size` connections to o->url (parsed here: redis://[[user]:password@]host
 * [:port][/db]) that loads `script` on each connection. Connects lazily. */
int gw_redis_new(const gw_redis_opts *o, size_t size, const char *script, char *err,
                 size_t errlen, gw_redis **out);
void gw_redis_free(gw_redis *r);
/* EVALSHA the script (EVAL when Redis lost it) with nkeys of the argc arguments as keys;
 * the reply, an array of integers, into out[0..nout). On failure *detail says why. */
gw_redis_status gw_redis_script(gw_redis *r, int nkeys, const char *const *argv, size_t argc,
                                long long *out, size_t nout, char *detail, size_t detail_len);
/* PING, reconnecting when the back-off allows. */
gw_redis_status gw_redis_ping(gw_redis *r, char *detail, size_t detail_len);
/* Where the pool connects, as parsed from the URL (for logs). */
void gw_redis_endpoint(const gw_redis *r, const char **host, int *port, long *db);
/* 1 while the last call reached Redis. */
int gw_redis_up(const gw_redis *r);

#endif
