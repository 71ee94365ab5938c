/*
 * api_logs.c - /console/api/logs and /console/api/logs/stream: the logger's
 * ring of recent records, filtered.
 *
 *   logs?level=info&q=text&trace_id=HEX&after=SEQ&limit=N
 *       {"logging", "records": [{"seq", "time_unix_ns", "level", "msg",
 *        "trace_id", "span_id", "fields"}], "last_seq", "truncated"}: the
 *       records at or above level, whose message, a field's key or a field's
 *       string value contains q (ASCII case folded), of one trace, after seq
 *       SEQ; oldest first, the newest limit of them (default 200, at most
 *       LOGS_LIMIT_MAX).
 *   logs/stream?level=..&q=..&trace_id=..  (text/event-stream)
 *       "retry: 1000", then per record "id: <seq>", "event: log",
 *       "data: <record JSON>", then the answer ends. The records are those
 *       after the request's Last-Event-ID (else after=, else the newest
 *       limit, default 100): at most LOGS_STREAM_MAX, oldest first, and
 *       when the answer holds them all a last "id: <last_seq>" with no data
 *       moves the browser's cursor past the records the filter skipped. So
 *       no server thread is held: the browser's EventSource reconnects after
 *       the retry interval with Last-Event-ID and gets what came since. A
 *       Last-Event-ID above the logger's last seq (the process restarted)
 *       starts over from the oldest record held.
 *
 * The ring is scanned under the logger's lock only to copy the candidate
 * lines (level and trace id are compared there, q on the raw line when it
 * cannot be hidden by JSON escaping); lines are parsed (jansson) and matched
 * exactly after the lock is released.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "console_obs.h"

#define LOGS_LIMIT_MAX 1000
#define LOGS_STREAM_MAX 500

typedef struct log_copy {
    sonde_log_entry e; /* json: a malloc'd copy */
} log_copy;

typedef struct log_filter {
    sonde_log_level level;
    const char *q;     /* NULL: any */
    int raw_q;         /* q can be looked for in the raw line */
    uint8_t trace_id[16];
    int by_trace;
    log_copy *v;
    size_t n, cap;
    int failed;
} log_filter;

/* ASCII case-folding substring search. */
static int contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    if (!n)
        return 1;
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

static int collect(void *ud, const sonde_log_entry *e)
{
    log_filter *f = ud;
    if ((int)e->level < (int)f->level || (f->by_trace && memcmp(e->trace_id, f->trace_id, 16)) ||
        (f->raw_q && !contains(e->json, f->q)))
        return 0;
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        log_copy *v = realloc(f->v, cap * sizeof *v);
        if (!v) {
            f->failed = 1;
            return 1;
        }
        f->v = v;
        f->cap = cap;
    }
    char *copy = strdup(e->json);
    if (!copy) {
        f->failed = 1;
        return 1;
    }
    f->v[f->n].e = *e;
    f->v[f->n++].e.json = copy;
    return 0;
}

static int skip_all(void *ud, const sonde_log_entry *e)
{
    (void)ud, (void)e;
    return 1;
}

/* Whether the parsed record matches q exactly: its message, a field key or string value. */
static int matches_text(json_t *rec, const char *raw, const char *q)
{
    if (!rec)
        return contains(raw, q);
    const char *msg = json_string_value(json_object_get(rec, "msg"));
    if (msg && contains(msg, q))
        return 1;
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(rec, "fields"), key, v) {
        if (contains(key, q) || (json_is_string(v) && contains(json_string_value(v), q)))
            return 1;
    }
    return 0;
}

static void json_value(console_json *j, json_t *v)
{
    if (json_is_string(v)) {
        cj_str(j, json_string_value(v));
    } else if (json_is_real(v)) {
        cj_num(j, json_real_value(v)); /* the shortest text that reads back the same */
    } else if (json_is_integer(v)) {
        char num[24];
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        cj_raw(j, num);
    } else if (json_is_boolean(v) || json_is_null(v)) {
        cj_raw(j, json_is_true(v) ? "true" : json_is_false(v) ? "false" : "null");
    } else {
        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        cj_str(j, s ? s : ""); /* nested values (none today) as their JSON text */
        free(s);
    }
}

/* One record's JSON object: rec is the parsed line (NULL when it was cut: the raw line is
 * the message then). */
static void record_json(console_json *j, const sonde_log_entry *e, json_t *rec)
{
    char hex[33];
    cj_raw(j, "{");
    cj_key(j, "seq");
    cj_u64(j, e->seq);
    cj_key(j, "time_unix_ns");
    console_json_u64_string(j, e->unix_ns);
    cj_key(j, "level");
    cj_str(j, sonde_log_level_name(e->level));
    cj_key(j, "msg");
    const char *msg = rec ? json_string_value(json_object_get(rec, "msg")) : e->json;
    cj_str(j, msg ? msg : "");
    static const uint8_t zero[16];
    cj_key(j, "trace_id");
    if (memcmp(e->trace_id, zero, 16)) {
        sonde_trace_id_hex(e->trace_id, hex);
        cj_str(j, hex);
        cj_key(j, "span_id");
        sonde_span_id_hex(e->span_id, hex);
        cj_str(j, hex);
    } else {
        cj_raw(j, "null");
        cj_key(j, "span_id");
        cj_raw(j, "null");
    }
    cj_key(j, "fields");
    cj_raw(j, "{");
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(rec, "fields"), key, v) {
        cj_key(j, key);
        json_value(j, v);
    }
    cj_raw(j, "}}");
}

static void filter_free(log_filter *f)
{
    for (size_t i = 0; i < f->n; i++)
        free((char *)f->v[i].e.json);
    free(f->v);
}

/* Parse the filter parameters; 0, or an error answer already written in *rc. */
static int filter_params(const console_params *p, log_filter *f, sonde_server_response *resp,
                         int *rc)
{
    memset(f, 0, sizeof *f);
    f->level = SONDE_LOG_DEBUG;
    const char *level = console_param(p, "level");
    if (level && level[0] && sonde_log_level_parse(level, &f->level) != SONDE_OK) {
        *rc = console_respond_error(resp, 400, "level must be debug, info, warn or error");
        return -1;
    }
    const char *q = console_param(p, "q");
    if (q && q[0]) {
        f->q = q;
        f->raw_q = !strpbrk(q, "\"\\");
        for (const char *s = q; *s && f->raw_q; s++)
            if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
                f->raw_q = 0;
    }
    const char *trace = console_param(p, "trace_id");
    if (trace && trace[0]) {
        if (!console_trace_id_parse(trace, f->trace_id)) {
            *rc = console_respond_error(resp, 400, "trace_id must be 32 hex digits, not all zero");
            return -1;
        }
        f->by_trace = 1;
    }
    return 0;
}

/* A seq: digits only, at most 19 of them. */
static int parse_seq(const char *s, uint64_t *out)
{
    size_t n = strlen(s);
    if (!n || n > 19 || strspn(s, "0123456789") != n)
        return 0;
    *out = strtoull(s, NULL, 10);
    return 1;
}

/* The matching records of the ring after seq `after`, parsed: fills recs (NULL for a cut
 * line) and keeps f->v in step; records that fail the exact q are removed. */
static int scan(sonde_logger *lg, log_filter *f, uint64_t after, json_t ***recs, uint64_t *last)
{
    *last = sonde_log_scan(lg, after, collect, f);
    if (f->failed)
        return SONDE_ENOMEM;
    *recs = f->n ? calloc(f->n, sizeof **recs) : NULL;
    if (f->n && !*recs)
        return SONDE_ENOMEM;
    size_t w = 0;
    for (size_t i = 0; i < f->n; i++) {
        json_t *rec = json_loads(f->v[i].e.json, 0, NULL);
        if (rec && !json_is_object(rec)) {
            json_decref(rec);
            rec = NULL;
        }
        if (f->q && !matches_text(rec, f->v[i].e.json, f->q)) {
            json_decref(rec);
            free((char *)f->v[i].e.json);
            continue;
        }
        f->v[w] = f->v[i];
        (*recs)[w++] = rec;
    }
    f->n = w;
    return SONDE_OK;
}

static void recs_free(json_t **recs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref(recs[i]);
    free(recs);
}

static int logs_json(sonde_console *c, const console_params *p, sonde_server_response *resp)
{
    log_filter f;
    int rc;
    if (filter_params(p, &f, resp, &rc))
        return rc;
    long limit;
    char err[128];
    uint64_t after = 0;
    const char *after_s = console_param(p, "after");
    if (console_param_long(p, "limit", 1, LOGS_LIMIT_MAX, 200, &limit, err, sizeof err))
        return console_respond_error(resp, 400, err);
    if (after_s && !parse_seq(after_s, &after))
        return console_respond_error(resp, 400, "after must be a record's seq");
    json_t **recs = NULL;
    uint64_t last = 0;
    if (c->logger && (rc = scan(c->logger, &f, after, &recs, &last)) != SONDE_OK) {
        filter_free(&f);
        return rc;
    }
    console_json j = {0};
    cj_raw(&j, "{");
    cj_key(&j, "logging");
    cj_bool(&j, c->logger != NULL);
    cj_key(&j, "records");
    cj_raw(&j, "[");
    size_t first = f.n > (size_t)limit ? f.n - (size_t)limit : 0;
    for (size_t i = first; i < f.n; i++) {
        if (i > first)
            cj_raw(&j, ",");
        record_json(&j, &f.v[i].e, recs[i]);
    }
    cj_raw(&j, "]");
    cj_key(&j, "last_seq");
    cj_u64(&j, last);
    cj_key(&j, "truncated");
    cj_bool(&j, first > 0);
    cj_raw(&j, "}");
    recs_free(recs, f.n);
    filter_free(&f);
    return console_respond_json(resp, 200, &j);
}

static int logs_stream(sonde_console *c, const console_params *p, const char *last_event_id,
                       sonde_server_response *resp)
{
    log_filter f;
    int rc;
    if (filter_params(p, &f, resp, &rc))
        return rc;
    long limit;
    char err[128];
    if (console_param_long(p, "limit", 1, LOGS_STREAM_MAX, 100, &limit, err, sizeof err))
        return console_respond_error(resp, 400, err);
    uint64_t after = 0;
    int resume = 0; /* a cursor given: everything after it, oldest first */
    const char *after_s = console_param(p, "after");
    if (last_event_id && last_event_id[0]) {
        if (!parse_seq(last_event_id, &after))
            return console_respond_error(resp, 400, "Last-Event-ID must be a record's seq");
        resume = 1;
    } else if (after_s) {
        if (!parse_seq(after_s, &after))
            return console_respond_error(resp, 400, "after must be a record's seq");
        resume = 1;
    }
    json_t **recs = NULL;
    uint64_t last = 0;
    if (c->logger) {
        if (resume && after > sonde_log_scan(c->logger, UINT64_MAX, skip_all, NULL))
            after = 0; /* the logger restarted: its seqs began again */
        if ((rc = scan(c->logger, &f, after, &recs, &last)) != SONDE_OK) {
            filter_free(&f);
            return rc;
        }
    }
    size_t first = 0, end = f.n;
    if (resume && f.n > (size_t)limit)
        end = (size_t)limit; /* catch up over several answers */
    else if (!resume && f.n > (size_t)limit)
        first = f.n - (size_t)limit;
    console_json j = {0};
    cj_raw(&j, "retry: 1000\n\n");
    if (!c->logger)
        cj_raw(&j, ": logging is off\n\n");
    char line[48];
    uint64_t cursor = 0;
    for (size_t i = first; i < end; i++) {
        snprintf(line, sizeof line, "id: %llu\nevent: log\ndata: ",
                 (unsigned long long)f.v[i].e.seq);
        cj_raw(&j, line);
        record_json(&j, &f.v[i].e, recs[i]); /* one line: strings escape their newlines */
        cj_raw(&j, "\n\n");
        cursor = f.v[i].e.seq;
    }
    if (end == f.n && last > cursor && last > after) {
        snprintf(line, sizeof line, "id: %llu\n\n", (unsigned long long)last);
        cj_raw(&j, line);
    }
    recs_free(recs, f.n);
    filter_free(&f);
    if (j.failed) {
        free(j.p);
        return SONDE_ENOMEM;
    }
    resp->status = 200;
    resp->body = j.p;
    resp->body_len = j.len;
    console_header(resp, "Content-Type", "text/event-stream; charset=utf-8");
    console_header(resp, "Cache-Control", "no-store");
    console_header(resp, "X-Content-Type-Options", "nosniff");
    return SONDE_OK;
}

int console_api_logs(sonde_console *c, const char *sub, const console_params *p,
                     const char *last_event_id, sonde_server_response *resp)
{
    if (!sub[0])
        return logs_json(c, p, resp);
    if (!strcmp(sub, "/stream"))
        return logs_stream(c, p, last_event_id, resp);
    return console_respond_error(resp, 404, "no such logs path");
}
