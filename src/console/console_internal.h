/*
 * console_internal.h - the private state of a sonde_console, shared by the
 * files of src/console: console.c (options, lifecycle, the sampler thread),
 * handle.c (routing: /console/api/... to the API table, everything else to
 * the embedded pages), params.c (the query string), json_out.c (JSON
 * answers), history.c (the rings, history.h), query.c (range and instant
 * queries, query.h) and the API handlers (api_*.c).
 */
#ifndef SONDE_CONSOLE_INTERNAL_H
#define SONDE_CONSOLE_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "core_iface.h"
#include "sonde/console.h"

struct console_history;
struct alert_engine;

struct sonde_console {
    sonde_registry *reg;
    sonde_tracer *tracer;
    sonde_logger *logger;
    long interval_ms, retention_s;
    size_t max_bytes;
    char *alertmanager_url;
    char **families; /* the host's, recorded from the start */
    size_t family_count;
    struct console_history *history;
    struct alert_engine *alerts; /* api_alerts.c */
    sonde_metric *evicted_metric; /* sonde_console_history_evicted_total */
    pthread_t thread;
    int running;
    pthread_mutex_t lock; /* stop flag and its condition */
    pthread_cond_t cond;
    int stop;
};

/* ---- the query string (params.c) ------------------------------------- */

#define CONSOLE_QUERY_MAX 4096 /* bytes of "?..." accepted; longer: 400 */
#define CONSOLE_MAX_PARAMS 32  /* key=value pairs; more: 400 */

/* The percent-decoded ("+" is a space) pairs of a query string, in order; keys and values
 * are valid UTF-8 without NUL bytes. */
typedef struct console_params {
    size_t n;
    const char *key[CONSOLE_MAX_PARAMS];
    const char *val[CONSOLE_MAX_PARAMS];
    char buf[CONSOLE_QUERY_MAX + CONSOLE_MAX_PARAMS * 2];
} console_params;

/* Parse query (NULL or "" is empty; no leading '?'). SONDE_OK, or SONDE_EINVAL with a
 * message in err (too long, too many pairs, bad %-escape, NUL, invalid UTF-8). */
int console_params_parse(const char *query, console_params *p, char *err, size_t errlen);
/* The first value of key, or NULL. */
const char *console_param(const console_params *p, const char *key);
/* The values of key (up to max) into out; their number. */
size_t console_param_all(const console_params *p, const char *key, const char **out, size_t max);
/* A whole number in [min, max] from key's value (absent: dflt): SONDE_OK, or SONDE_EINVAL
 * with a message in err. */
int console_param_long(const console_params *p, const char *key, long min, long max, long dflt,
                       long *out, char *err, size_t errlen);

/* ---- JSON answers (json_out.c) ---------------------------------------- */

/* The body being written: the core's growable buffer (failed set when out of memory). */
typedef sonde_buf console_json;
void cj_raw(console_json *j, const char *s);
void cj_str(console_json *j, const char *s);   /* quoted and escaped; NULL: null */
void cj_num(console_json *j, double v);        /* locale-free; NaN and infinities: null */
void cj_u64(console_json *j, uint64_t v);
void cj_i64(console_json *j, int64_t v);
void cj_bool(console_json *j, int v);
void cj_key(console_json *j, const char *key); /* "key": (with a comma unless after { or [) */

/* Fill resp with the JSON body j (taken over) and status; SONDE_ENOMEM when j failed. */
int console_respond_json(sonde_server_response *resp, int status, console_json *j);
/* {"error":{"message":msg}} with status (400, 404, 405, 500). */
int console_respond_error(sonde_server_response *resp, int status, const char *msg);
/* The headers every answer carries (Cache-Control, X-Content-Type-Options). */
void console_header(sonde_server_response *resp, const char *name, const char *value);

/* ---- the API (api_*.c), dispatched by handle.c ------------------------ */

/* One endpoint: sub is what follows its name ("" or "/<rest>"). */
typedef int (*console_api_fn)(sonde_console *c, const char *sub, const console_params *p,
                              sonde_server_response *resp);
int console_api_status(sonde_console *c, const char *sub, const console_params *p,
                       sonde_server_response *resp);
int console_api_families(sonde_console *c, const char *sub, const console_params *p,
                         sonde_server_response *resp);
int console_api_series(sonde_console *c, const char *sub, const console_params *p,
                       sonde_server_response *resp);
int console_api_query(sonde_console *c, const char *sub, const console_params *p,
                      sonde_server_response *resp);
int console_api_overview(sonde_console *c, const char *sub, const console_params *p,
                         sonde_server_response *resp);

/* api_overview.c: watch the overview's and the host's families that exist now. */
void console_watch_pinned(sonde_console *c);

#endif
