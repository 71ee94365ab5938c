/*
 * probes.c - the liveness and readiness endpoints.
 *
 * /health answers 200 as long as the server can answer at all, with a small
 * JSON body: {"status":"ok","uptime":<seconds since the server was
 * created, three decimals>,"version":"<libsonde version>","timestamp":"<now,
 * RFC 3339 UTC with milliseconds>"}. The uptime is written from integer
 * milliseconds and the timestamp from gmtime_r's integers, so no locale can
 * make either "1,250".
 *
 * /ready runs every registered check in registration order and answers 200
 * {"status":"ready","checks":{"<name>":"ok",...}} when all pass, else 503 with
 * "not_ready" and "fail" for each failing check. Check names are restricted
 * at registration (printable ASCII, no quote or backslash), so they go into
 * the JSON without escaping. The checks run under the server lock, which
 * only registration also takes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_iface.h"
#include "server_internal.h"

static const char json_type[] = "application/json";

int server_health(sonde_server *s, sonde_server_response *resp)
{
    unsigned long long up_ms = (sonde_now_ns() - s->started_ns) / 1000000u;
    char now[SONDE_RFC3339_MAX];
    sonde_internal_rfc3339(sonde_internal_wall_ns(), 3, now);
    char *body = malloc(192);
    if (!body)
        return SONDE_ENOMEM;
    int n = snprintf(body, 192,
                     "{\"status\":\"ok\",\"uptime\":%llu.%03u,\"version\":\"%s\",\"timestamp\":\"%s\"}\n",
                     up_ms / 1000, (unsigned)(up_ms % 1000), sonde_version(), now);
    resp->status = 200;
    resp->body = body;
    resp->body_len = (size_t)n;
    server_header(resp, "Content-Type", json_type);
    server_header(resp, "Cache-Control", "no-store");
    return SONDE_OK;
}

static int valid_check_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= sizeof(((ready_check *)0)->name))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (name[i] < 0x20 || name[i] > 0x7e || name[i] == '"' || name[i] == '\\')
            return 0;
    return 1;
}

int sonde_server_ready_add(sonde_server *s, const char *name, sonde_ready_fn fn, void *ud)
{
    if (!s || !name || !fn || !valid_check_name(name))
        return SONDE_EINVAL;
    int rc = SONDE_OK;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->check_count && !rc; i++)
        if (!strcmp(s->checks[i].name, name))
            rc = SONDE_EEXIST;
    if (!rc && s->check_count == SONDE_SERVER_MAX_READY_CHECKS)
        rc = SONDE_ELIMIT;
    if (!rc) {
        ready_check *c = &s->checks[s->check_count++];
        strcpy(c->name, name);
        c->fn = fn;
        c->ud = ud;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int server_ready(sonde_server *s, sonde_server_response *resp)
{
    size_t cap = 64 + SONDE_SERVER_MAX_READY_CHECKS * (sizeof s->checks[0].name + 16);
    char *body = malloc(cap);
    if (!body)
        return SONDE_ENOMEM;
    char checks[SONDE_SERVER_MAX_READY_CHECKS * (sizeof s->checks[0].name + 16) + 1];
    size_t n = 0;
    int ready = 1;
    checks[0] = '\0';
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->check_count; i++) {
        int ok = s->checks[i].fn(s->checks[i].ud) != 0;
        ready &= ok;
        n += (size_t)snprintf(checks + n, sizeof checks - n, "%s\"%s\":\"%s\"", i ? "," : "",
                              s->checks[i].name, ok ? "ok" : "fail");
    }
    pthread_mutex_unlock(&s->lock);
    int len = snprintf(body, cap, "{\"status\":\"%s\",\"checks\":{%s}}\n",
                       ready ? "ready" : "not_ready", checks);
    resp->status = ready ? 200 : 503;
    resp->body = body;
    resp->body_len = (size_t)len;
    server_header(resp, "Content-Type", json_type);
    server_header(resp, "Cache-Control", "no-store");
    return SONDE_OK;
}
