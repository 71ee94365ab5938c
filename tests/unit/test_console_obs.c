/*
 * test_console_obs.c - the console's traces, logs and alerts API through
 * sonde_console_handle(), on a real logger and tracer:
 *   - logs: every filter (level, q on message and fields, trace_id, after,
 *     limit with truncated), bad parameters 400, hostile field values come
 *     back as the same strings in valid JSON;
 *   - the SSE tail: retry first, one id/event/data block per record, resume
 *     after Last-Event-ID (or after=), the trailing id past filtered records,
 *     a restarted logger (Last-Event-ID ahead of it) starting over;
 *   - traces: recent, errors and per name lists, one trace's spans with
 *     attributes, events and status, hostile attribute values (quotes,
 *     control characters, invalid UTF-8, markup) in valid JSON, 400/404;
 *     "tracing": false and "logging": false without them;
 *   - alerts: a rules file's rules and states in the API; a bad file refuses
 *     sonde_console_new with the rule and field named.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "check.h"
#include "registry_fixture.h"
#include "sonde/console.h"
#include "sonde/sonde.h"

static sonde_console *new_console(sonde_registry *reg, sonde_tracer *t, sonde_logger *lg,
                                  const char *rules)
{
    sonde_console_opts o;
    sonde_console_opts_init(&o);
    o.registry = reg;
    o.tracer = t;
    o.logger = lg;
    o.rules_path = rules;
    o.alertmanager_url = "http://127.0.0.1:9093";
    sonde_console *c = NULL;
    char err[256] = "";
    CHECK_EQ_INT(sonde_console_new(&o, &c, err, sizeof err), SONDE_OK);
    return c;
}

/* GET path; the status, the body in *body (caller frees), the Content-Type. */
static int get(sonde_console *c, const char *path, const char *last_event_id, char **body,
               const char **type)
{
    sonde_server_request rq = {.method = "GET", .path = path, .last_event_id = last_event_id};
    sonde_server_response rs;
    CHECK_EQ_INT(sonde_console_handle(c, &rq, &rs), SONDE_OK);
    *body = rs.body;
    *type = "";
    for (size_t i = 0; i < rs.header_count; i++)
        if (!strcmp(rs.headers[i].name, "Content-Type"))
            *type = rs.headers[i].value;
    return rs.status;
}

/* GET a JSON answer (strictly parsed: an unescaped control character fails it). */
static json_t *get_json(sonde_console *c, const char *path, int expect_status)
{
    char *body;
    const char *type;
    CHECK_EQ_INT(get(c, path, NULL, &body, &type), expect_status);
    CHECK_EQ_STR(type, "application/json");
    json_error_t je;
    json_t *j = json_loads(body, 0, &je);
    if (!j)
        fprintf(stderr, "not JSON (%s): %s\n", je.text, body);
    CHECK(j != NULL);
    free(body);
    return j;
}

static size_t records(json_t *j) { return json_array_size(json_object_get(j, "records")); }
static json_t *record(json_t *j, size_t i) { return json_array_get(json_object_get(j, "records"), i); }
static const char *str(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static sonde_logger *new_logger(void)
{
    sonde_logger_opts lo;
    sonde_logger_opts_init(&lo);
    lo.path = ""; /* ring only */
    lo.level = SONDE_LOG_DEBUG;
    lo.rate_per_sec = -1;
    lo.ring_size = 64;
    lo.read_env = 0;
    sonde_logger *lg = NULL;
    CHECK_EQ_INT(sonde_logger_new(&lo, &lg), SONDE_OK);
    return lg;
}

static sonde_tracer *new_tracer(void)
{
    sonde_tracer_opts to;
    sonde_tracer_opts_init(&to);
    to.read_env = 0;
    to.sampler = SONDE_SAMPLER_ALWAYS_ON;
    to.service_name = "test";
    sonde_tracer *t = NULL;
    CHECK_EQ_INT(sonde_tracer_new(&to, &t), SONDE_OK);
    return t;
}

#define HOSTILE "</script><img src=x onerror=alert(1)>\"quoted\"\\\n\t\x01"

/* Five records: seq 1 info, 2 debug, 3 warn, 4 error inside a span, 5 info. */
static void write_logs(sonde_logger *lg, sonde_tracer *t, char trace_hex[33])
{
    sonde_attr f1[] = {SONDE_ATTR_STR("user", HOSTILE), SONDE_ATTR_INT("n", 7),
                       SONDE_ATTR_DBL("ms", 0.068678), SONDE_ATTR_BOOL("ok", 1)};
    sonde_log(lg, SONDE_LOG_INFO, "hello", f1, 4);
    sonde_log(lg, SONDE_LOG_DEBUG, "details", NULL, 0);
    sonde_log(lg, SONDE_LOG_WARN, "disk low", NULL, 0);
    sonde_span *s = sonde_span_start(t, "work", SONDE_SPAN_INTERNAL, NULL);
    sonde_span *prev = sonde_span_enter(s);
    sonde_attr f4[] = {SONDE_ATTR_STR("model", "m1")};
    sonde_log(lg, SONDE_LOG_ERROR, "Upstream failed", f4, 1);
    sonde_span_exit(prev);
    sonde_span_context ctx;
    sonde_span_get_context(s, &ctx);
    sonde_trace_id_hex(ctx.trace_id, trace_hex);
    sonde_span_end(s);
    sonde_log(lg, SONDE_LOG_INFO, "bye", NULL, 0);
}

TEST(logs_filter)
{
    sonde_registry *reg = new_reg();
    sonde_logger *lg = new_logger();
    sonde_tracer *t = new_tracer();
    char trace[33], path[160], *body;
    const char *type;
    write_logs(lg, t, trace);
    sonde_console *c = new_console(reg, NULL, lg, NULL);
    json_t *j = get_json(c, "/console/api/logs", 200);
    CHECK(json_is_true(json_object_get(j, "logging")));
    CHECK_EQ_INT(records(j), 5);
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "last_seq")), 5);
    CHECK_EQ_INT(json_integer_value(json_object_get(record(j, 0), "seq")), 1);
    CHECK_EQ_STR(str(record(j, 0), "msg"), "hello");
    CHECK_EQ_STR(str(record(j, 0), "level"), "info");
    CHECK(json_is_string(json_object_get(record(j, 0), "time_unix_ns")));
    CHECK(json_is_null(json_object_get(record(j, 0), "trace_id")));
    json_t *fields = json_object_get(record(j, 0), "fields");
    CHECK_EQ_STR(str(fields, "user"), HOSTILE); /* the same string, through valid JSON */
    CHECK_EQ_INT(json_integer_value(json_object_get(fields, "n")), 7);
    CHECK(json_is_true(json_object_get(fields, "ok")));
    CHECK_EQ_DBL(json_real_value(json_object_get(fields, "ms")), 0.068678);
    CHECK_EQ_INT(get(c, "/console/api/logs?limit=5", NULL, &body, &type), 200);
    CHECK_CONTAINS(body, "\"ms\":0.068678,"); /* as the logger wrote it, not 0.06867800000000001 */
    free(body);
    CHECK_EQ_STR(str(record(j, 3), "trace_id"), trace);
    CHECK_EQ_STR(str(record(j, 3), "msg"), "Upstream failed");
    json_decref(j);

    j = get_json(c, "/console/api/logs?level=warn", 200);
    CHECK_EQ_INT(records(j), 2);
    CHECK_EQ_STR(str(record(j, 0), "msg"), "disk low");
    json_decref(j);
    j = get_json(c, "/console/api/logs?q=UPSTREAM", 200); /* the message, case folded */
    CHECK_EQ_INT(records(j), 1);
    json_decref(j);
    j = get_json(c, "/console/api/logs?q=%3Cimg", 200); /* a field's value */
    CHECK_EQ_INT(records(j), 1);
    CHECK_EQ_STR(str(record(j, 0), "msg"), "hello");
    json_decref(j);
    j = get_json(c, "/console/api/logs?q=%22quoted", 200); /* escaped in the line: exact match */
    CHECK_EQ_INT(records(j), 1);
    json_decref(j);
    j = get_json(c, "/console/api/logs?q=level", 200); /* a key of the line, not of fields */
    CHECK_EQ_INT(records(j), 0);
    json_decref(j);
    snprintf(path, sizeof path, "/console/api/logs?trace_id=%s", trace);
    j = get_json(c, path, 200);
    CHECK_EQ_INT(records(j), 1);
    CHECK_EQ_STR(str(record(j, 0), "msg"), "Upstream failed");
    json_decref(j);
    j = get_json(c, "/console/api/logs?after=3", 200);
    CHECK_EQ_INT(records(j), 2);
    CHECK_EQ_INT(json_integer_value(json_object_get(record(j, 0), "seq")), 4);
    CHECK(json_is_false(json_object_get(j, "truncated")));
    json_decref(j);
    j = get_json(c, "/console/api/logs?limit=2", 200); /* the newest two */
    CHECK_EQ_INT(records(j), 2);
    CHECK_EQ_INT(json_integer_value(json_object_get(record(j, 1), "seq")), 5);
    CHECK(json_is_true(json_object_get(j, "truncated")));
    json_decref(j);
    json_decref(get_json(c, "/console/api/logs?level=loud", 400));
    json_decref(get_json(c, "/console/api/logs?trace_id=xyz", 400));
    json_decref(get_json(c, "/console/api/logs?after=-1", 400));
    json_decref(get_json(c, "/console/api/logs?limit=0", 400));
    json_decref(get_json(c, "/console/api/logs/other", 404));
    sonde_console_free(c);

    c = new_console(reg, NULL, NULL, NULL); /* no logger */
    j = get_json(c, "/console/api/logs", 200);
    CHECK(json_is_false(json_object_get(j, "logging")));
    CHECK_EQ_INT(records(j), 0);
    json_decref(j);
    sonde_console_free(c);
    sonde_tracer_free(t, 0);
    sonde_logger_free(lg, 0);
    sonde_registry_free(reg);
}

/* The events of an SSE body: ids[i] (-1: none), data[i] parsed (NULL: none). */
typedef struct sse {
    int n;
    long ids[16];
    json_t *data[16];
    int retry;
} sse;

static void sse_parse(const char *body, sse *out)
{
    memset(out, 0, sizeof *out);
    const char *p = body;
    while (*p && out->n < 16) {
        const char *end = strstr(p, "\n\n");
        CHECK(end != NULL); /* every block ends with a blank line */
        if (!end)
            break;
        long id = -1;
        json_t *data = NULL;
        int is_log = 0;
        for (const char *line = p; line < end;) {
            const char *nl = memchr(line, '\n', (size_t)(end - line));
            size_t len = nl ? (size_t)(nl - line) : (size_t)(end - line);
            if (!strncmp(line, "retry: ", 7))
                out->retry = atoi(line + 7);
            else if (!strncmp(line, "id: ", 4))
                id = atol(line + 4);
            else if (len == 10 && !strncmp(line, "event: log", 10))
                is_log = 1;
            else if (!strncmp(line, "data: ", 6))
                data = json_loadb(line + 6, len - 6, 0, NULL);
            else
                CHECK(line[0] == ':'); /* a comment, nothing else */
            line += len + 1;
        }
        CHECK(!data || is_log);
        if (id >= 0 || data) {
            out->ids[out->n] = id;
            out->data[out->n++] = data;
        }
        p = end + 2;
    }
}

static void sse_free(sse *s)
{
    for (int i = 0; i < s->n; i++)
        json_decref(s->data[i]);
}

TEST(log_stream_framing_and_resume)
{
    sonde_registry *reg = new_reg();
    sonde_logger *lg = new_logger();
    sonde_tracer *t = new_tracer();
    char trace[33];
    write_logs(lg, t, trace);
    sonde_console *c = new_console(reg, NULL, lg, NULL);
    char *body;
    const char *type;
    sse s;
    CHECK_EQ_INT(get(c, "/console/api/logs/stream", NULL, &body, &type), 200);
    CHECK_EQ_STR(type, "text/event-stream; charset=utf-8");
    CHECK(!strncmp(body, "retry: 1000\n\n", 13));
    sse_parse(body, &s);
    CHECK_EQ_INT(s.retry, 1000);
    CHECK_EQ_INT(s.n, 5); /* every record, no trailer: the last is the newest */
    for (int i = 0; i < s.n; i++) {
        CHECK_EQ_INT(s.ids[i], i + 1);
        CHECK(s.data[i] != NULL);
        CHECK_EQ_INT(json_integer_value(json_object_get(s.data[i], "seq")), i + 1);
    }
    CHECK_EQ_STR(str(json_object_get(s.data[0], "fields"), "user"), HOSTILE);
    sse_free(&s);
    free(body);
    /* The browser reconnects with the last id it saw. */
    CHECK_EQ_INT(get(c, "/console/api/logs/stream", "3", &body, &type), 200);
    sse_parse(body, &s);
    CHECK_EQ_INT(s.n, 2);
    CHECK_EQ_INT(s.ids[0], 4);
    CHECK_EQ_INT(s.ids[1], 5);
    sse_free(&s);
    free(body);
    /* Nothing new: only the retry, no event. */
    CHECK_EQ_INT(get(c, "/console/api/logs/stream", "5", &body, &type), 200);
    CHECK_EQ_STR(body, "retry: 1000\n\n");
    free(body);
    /* A filter: the error record, then an id past the info record it skipped. */
    CHECK_EQ_INT(get(c, "/console/api/logs/stream?level=error&after=0", NULL, &body, &type), 200);
    sse_parse(body, &s);
    CHECK_EQ_INT(s.n, 2);
    CHECK_EQ_INT(s.ids[0], 4);
    CHECK(s.data[0] != NULL);
    CHECK_EQ_INT(s.ids[1], 5);
    CHECK(s.data[1] == NULL);
    sse_free(&s);
    free(body);
    /* Ahead of the logger (the process restarted): from the oldest record again. */
    CHECK_EQ_INT(get(c, "/console/api/logs/stream", "99", &body, &type), 200);
    sse_parse(body, &s);
    CHECK_EQ_INT(s.n, 5);
    CHECK_EQ_INT(s.ids[0], 1);
    sse_free(&s);
    free(body);
    /* A catch-up larger than limit comes in order over several answers. */
    CHECK_EQ_INT(get(c, "/console/api/logs/stream?limit=2", "1", &body, &type), 200);
    sse_parse(body, &s);
    CHECK_EQ_INT(s.n, 2);
    CHECK_EQ_INT(s.ids[0], 2);
    CHECK_EQ_INT(s.ids[1], 3);
    sse_free(&s);
    free(body);
    CHECK_EQ_INT(get(c, "/console/api/logs/stream", "x1", &body, &type), 400);
    free(body);
    sonde_console_free(c);
    sonde_tracer_free(t, 0);
    sonde_logger_free(lg, 0);
    sonde_registry_free(reg);
}

static json_t *span_named(json_t *spans, const char *name)
{
    for (size_t i = 0; i < json_array_size(spans); i++)
        if (!strcmp(str(json_array_get(spans, i), "name"), name))
            return json_array_get(spans, i);
    return NULL;
}

TEST(traces_lists_and_waterfall)
{
    sonde_registry *reg = new_reg();
    sonde_tracer *t = new_tracer();
    sonde_span *root = sonde_span_start(t, "GET /v1/chat", SONDE_SPAN_SERVER, NULL);
    sonde_span_context rc;
    sonde_span_get_context(root, &rc);
    sonde_span *child = sonde_span_start(t, "chat gpt-4o", SONDE_SPAN_CLIENT, &rc);
    sonde_span_set_str(child, "hostile", HOSTILE);
    sonde_span_set_str(child, "bad.utf8", "a\xff\xfe" "b");
    sonde_span_set_int(child, "gen_ai.usage.output_tokens", 42);
    sonde_span_set_str(child, "empty", "");
    sonde_span_set_bool(child, "stream", 1);
    sonde_attr ev[] = {SONDE_ATTR_STR("exception.message", "<b>boom</b>")};
    sonde_span_add_event(child, "exception", ev, 1);
    sonde_span_set_status(child, SONDE_STATUS_ERROR, "upstream \"502\"");
    sonde_span_end(child);
    sonde_span_end(root);
    sonde_span *other = sonde_span_start(t, "other", SONDE_SPAN_INTERNAL, NULL);
    sonde_span_end(other);
    CHECK_EQ_INT(sonde_tracer_flush(t, 5000), SONDE_OK);
    sonde_console *c = new_console(reg, t, NULL, NULL);

    json_t *j = get_json(c, "/console/api/traces", 200);
    CHECK(json_is_true(json_object_get(j, "tracing")));
    json_t *spans = json_object_get(j, "spans");
    CHECK_EQ_INT(json_array_size(spans), 3);
    CHECK_EQ_STR(str(json_array_get(spans, 0), "name"), "other"); /* newest first */
    json_decref(j);
    j = get_json(c, "/console/api/traces?kind=errors", 200);
    spans = json_object_get(j, "spans");
    CHECK_EQ_INT(json_array_size(spans), 1);
    json_t *e = json_array_get(spans, 0);
    CHECK_EQ_STR(str(e, "name"), "chat gpt-4o");
    CHECK_EQ_STR(str(e, "status"), "error");
    CHECK_EQ_STR(str(e, "status_message"), "upstream \"502\"");
    CHECK_EQ_STR(str(e, "kind"), "client");
    char trace[33], root_id[17];
    sonde_trace_id_hex(rc.trace_id, trace);
    sonde_span_id_hex(rc.span_id, root_id);
    CHECK_EQ_STR(str(e, "trace_id"), trace);
    CHECK_EQ_STR(str(e, "parent_span_id"), root_id);
    json_decref(j);
    j = get_json(c, "/console/api/traces?kind=slowest&name=other", 200);
    CHECK_EQ_INT(json_array_size(json_object_get(j, "spans")), 1);
    json_decref(j);
    json_decref(get_json(c, "/console/api/traces?kind=fastest", 400));

    char path[128];
    snprintf(path, sizeof path, "/console/api/traces/%s", trace);
    j = get_json(c, path, 200);
    CHECK_EQ_STR(str(j, "trace_id"), trace);
    spans = json_object_get(j, "spans");
    CHECK_EQ_INT(json_array_size(spans), 2);
    json_t *root_j = span_named(spans, "GET /v1/chat"), *child_j = span_named(spans, "chat gpt-4o");
    CHECK(root_j && child_j);
    if (root_j && child_j) {
        CHECK(json_is_null(json_object_get(root_j, "parent_span_id")));
        CHECK(json_is_true(json_object_get(child_j, "detail")));
        json_t *attrs = json_object_get(child_j, "attributes");
        CHECK_EQ_STR(str(attrs, "hostile"), HOSTILE);
        CHECK_EQ_STR(str(attrs, "bad.utf8"), "a\xef\xbf\xbd\xef\xbf\xbd" "b"); /* U+FFFD each */
        CHECK_EQ_INT(json_integer_value(json_object_get(attrs, "gen_ai.usage.output_tokens")), 42);
        CHECK(json_is_true(json_object_get(attrs, "stream")));
        CHECK_EQ_STR(str(attrs, "empty"), "");
        json_t *events = json_object_get(child_j, "events");
        CHECK_EQ_INT(json_array_size(events), 1);
        CHECK_EQ_STR(str(json_array_get(events, 0), "name"), "exception");
        CHECK_EQ_STR(str(json_object_get(json_array_get(events, 0), "attributes"),
                         "exception.message"),
                     "<b>boom</b>");
        CHECK_EQ_INT(json_integer_value(json_object_get(child_j, "dropped_attributes")), 0);
    }
    json_decref(j);
    json_decref(get_json(c, "/console/api/traces/0123456789abcdef0123456789abcdef", 404));
    json_decref(get_json(c, "/console/api/traces/not-a-trace", 400));
    json_decref(get_json(c, "/console/api/traces/00000000000000000000000000000000", 400));
    sonde_console_free(c);

    c = new_console(reg, NULL, NULL, NULL);
    j = get_json(c, "/console/api/traces", 200);
    CHECK(json_is_false(json_object_get(j, "tracing")));
    CHECK_EQ_INT(json_array_size(json_object_get(j, "spans")), 0);
    json_decref(j);
    sonde_console_free(c);
    sonde_tracer_free(t, 0);
    sonde_registry_free(reg);
}

TEST(trace_detail_is_bounded)
{
    sonde_registry *reg = new_reg();
    sonde_tracer *t = new_tracer();
    sonde_span *s = sonde_span_start(t, "big", SONDE_SPAN_INTERNAL, NULL);
    char key[32], value[600];
    memset(value, 'v', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof key, "k%02d", i);
        sonde_span_set_str(s, key, value);
    }
    for (int i = 0; i < 12; i++)
        sonde_span_add_event(s, "tick", NULL, 0);
    sonde_span_context ctx;
    sonde_span_get_context(s, &ctx);
    sonde_span_end(s);
    CHECK_EQ_INT(sonde_tracer_flush(t, 5000), SONDE_OK);
    sonde_console *c = new_console(reg, t, NULL, NULL);
    char path[128], hex[33];
    sonde_trace_id_hex(ctx.trace_id, hex);
    snprintf(path, sizeof path, "/console/api/traces/%s", hex);
    json_t *j = get_json(c, path, 200);
    json_t *sp = json_array_get(json_object_get(j, "spans"), 0);
    size_t kept = json_object_size(json_object_get(sp, "attributes"));
    CHECK(kept >= 1 && kept <= 16);
    CHECK_EQ_INT(json_integer_value(json_object_get(sp, "dropped_attributes")), 40 - (long)kept);
    CHECK_EQ_INT(strlen(str(json_object_get(sp, "attributes"), "k00")), 256); /* cut */
    CHECK_EQ_INT(json_array_size(json_object_get(sp, "events")), 8);
    CHECK_EQ_INT(json_integer_value(json_object_get(sp, "dropped_events")), 4);
    json_decref(j);
    sonde_console_free(c);
    sonde_tracer_free(t, 0);
    sonde_registry_free(reg);
}

TEST(alerts_api_and_rules_file)
{
    sonde_registry *reg = new_reg();
    char path[] = "/tmp/sonde-rules-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    const char *rules = "{\"rules\": [{\"name\": \"Hot\", \"severity\": \"critical\", "
                        "\"summary\": \"<i>hot</i>\", \"family\": \"temp\", \"fn\": \"value\", "
                        "\"op\": \">=\", \"threshold\": 30, \"for_s\": 60}]}";
    CHECK_EQ_INT(write(fd, rules, strlen(rules)), (long)strlen(rules));
    close(fd);
    sonde_console *c = new_console(reg, NULL, NULL, path);
    json_t *j = get_json(c, "/console/api/alerts", 200);
    CHECK_EQ_STR(str(j, "alertmanager_url"), "http://127.0.0.1:9093");
    json_t *r = json_array_get(json_object_get(j, "rules"), 0);
    CHECK_EQ_INT(json_array_size(json_object_get(j, "rules")), 1);
    CHECK_EQ_STR(str(r, "name"), "Hot");
    CHECK_EQ_STR(str(r, "summary"), "<i>hot</i>");
    CHECK_EQ_STR(str(r, "expr"), "temp");
    CHECK_EQ_STR(str(r, "op"), ">=");
    CHECK_EQ_INT(json_integer_value(json_object_get(r, "for_s")), 60);
    CHECK_EQ_STR(str(r, "state"), "inactive");
    CHECK(json_is_null(json_object_get(r, "value")));
    CHECK(json_is_null(json_object_get(r, "active_since")));
    CHECK_EQ_INT(json_array_size(json_object_get(r, "history")), 0);
    json_decref(j);
    sonde_console_free(c);
    c = new_console(reg, NULL, NULL, NULL); /* the defaults */
    j = get_json(c, "/console/api/alerts", 200);
    CHECK(json_array_size(json_object_get(j, "rules")) >= 6);
    json_decref(j);
    sonde_console_free(c);

    FILE *f = fopen(path, "w");
    fputs("{\"rules\": [{\"name\": \"Hot\", \"family\": \"temp\", \"fn\": \"value\", \"op\": \"=\", "
          "\"threshold\": 30}]}",
          f);
    fclose(f);
    sonde_console_opts o;
    sonde_console_opts_init(&o);
    o.registry = reg;
    o.rules_path = path;
    char err[256] = "";
    c = (sonde_console *)&o;
    CHECK_EQ_INT(sonde_console_new(&o, &c, err, sizeof err), SONDE_ECONFIG);
    CHECK(c == NULL);
    CHECK_CONTAINS(err, "rule 1 (\"Hot\"): \"op\" must be");
    unlink(path);
    sonde_registry_free(reg);
}

int main(void)
{
    RUN(logs_filter);
    RUN(log_stream_framing_and_resume);
    RUN(traces_lists_and_waterfall);
    RUN(trace_detail_is_bounded);
    RUN(alerts_api_and_rules_file);
    return check_report();
}
