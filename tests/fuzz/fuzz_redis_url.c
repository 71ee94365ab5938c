/*
 * fuzz_redis_url.c - the Redis URL of sonde-gateway's shared limits
 * (gateway/redis_pool.c: libcurl's URL API, then the database path, the
 * user and password, an IPv6 literal's brackets). The input is the URL, and
 * the first byte picks whether an environment password is given too.
 * Checks: a refusal says why in a NUL-terminated message; an accepted URL
 * gives a non-empty host without brackets, a port in 1..65535 and a database
 * in 0..65535. Nothing connects (the pool connects lazily).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "redis_pool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size};
    int with_password = fuzz_below(&in, 2);
    char *url = malloc(in.left + 1);
    if (!url) return 0;
    memcpy(url, in.p, in.left);
    url[in.left] = 0;
    gw_redis_opts o = {.url = url, .password = with_password ? "pw" : NULL,
                       .connect_timeout_ms = 10, .command_timeout_ms = 10};
    char err[256];
    memset(err, 'x', sizeof err);
    gw_redis *r = NULL;
    if (gw_redis_new(&o, 2, "return {0}", err, sizeof err, &r) != 0) {
        if (r || !memchr(err, 0, sizeof err) || !err[0]) abort();
    } else {
        const char *host;
        int port;
        long db;
        gw_redis_endpoint(r, &host, &port, &db);
        size_t hl = strlen(host);
        if (!hl || host[0] == '[' || host[hl - 1] == ']' || port < 1 || port > 65535 || db < 0 ||
            db > 65535)
            abort();
        if (gw_redis_up(r)) abort(); /* nothing connected */
        gw_redis_free(r);
    }
    free(url);
    return 0;
}
