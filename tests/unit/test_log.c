/*
 * test_log.c - structured logs: the exact JSON line (time format, level, msg,
 * service, fields of every type, escaping, invalid UTF-8, NaN), the level
 * and SONDE_LOG_LEVEL, the trace and span ids inside a span only, the
 * per-call-site rate limit with its "suppressed" count, the ring of recent
 * lines (bounded, newest first), a file destination, the locale (numbers
 * stay "0.5" under de_DE), and an exporter fed through the batch queue.
 */
#define _GNU_SOURCE
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "sonde/sonde.h"

static sonde_logger *ring_logger(int level, double rate, long ring)
{
    sonde_logger_opts o;
    sonde_logger_opts_init(&o);
    o.read_env = 0;
    o.path = ""; /* no lines written: the ring only */
    o.service = "svc";
    o.level = level;
    o.rate_per_sec = rate;
    o.ring_size = ring;
    sonde_logger *lg = NULL;
    CHECK_EQ_INT(sonde_logger_new(&o, &lg), SONDE_OK);
    return lg;
}

static char lines_buf[16][1024];
static char *lines[16];

static size_t recent(sonde_logger *lg)
{
    for (int i = 0; i < 16; i++)
        lines[i] = lines_buf[i];
    return sonde_log_recent(lg, lines, sizeof lines_buf[0], 16);
}

/* The line without its "time" member, which is checked for shape. */
static const char *untimed(const char *line)
{
    static char out[1024];
    const char *p = strstr(line, "\"time\":\"");
    if (!p || p != line + 1)
        return "(no leading time)";
    const char *t = p + 8;
    /* 2026-11-30T17:42:51.123456789Z */
    if (strlen(t) < 31 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' ||
        t[16] != ':' || t[19] != '.' || t[29] != 'Z' || t[30] != '"')
        return "(bad time)";
    snprintf(out, sizeof out, "{%s", t + 32);
    return out;
}

TEST(line_format)
{
    sonde_logger *lg = ring_logger(SONDE_LOG_DEBUG, -1, 8);
    sonde_attr f[6] = {SONDE_ATTR_STR("model", "gpt \"4o\"\n\x01"), SONDE_ATTR_INT("status", -502),
                       SONDE_ATTR_DBL("latency", 0.25), SONDE_ATTR_BOOL("ok", 0),
                       SONDE_ATTR_DBL("nan", NAN), SONDE_ATTR_STR("bad", "\xff")};
    sonde_log(lg, SONDE_LOG_WARN, "upstream \\ slow", f, 6);
    sonde_log(lg, SONDE_LOG_DEBUG, "plain", NULL, 0);
    CHECK_EQ_INT(recent(lg), 2);
    CHECK_EQ_STR(untimed(lines[0]), "{\"level\":\"debug\",\"msg\":\"plain\",\"service\":\"svc\"}");
    CHECK_EQ_STR(untimed(lines[1]),
                 "{\"level\":\"warn\",\"msg\":\"upstream \\\\ slow\",\"service\":\"svc\","
                 "\"fields\":{\"model\":\"gpt \\\"4o\\\"\\n\\u0001\",\"status\":-502,"
                 "\"latency\":0.25,\"ok\":false,\"nan\":\"NaN\",\"bad\":\"\xef\xbf\xbd\"}}");
    sonde_logger_free(lg, 0);
}

TEST(levels)
{
    sonde_logger *lg = ring_logger(SONDE_LOG_WARN, -1, 8);
    CHECK(!sonde_log_enabled(lg, SONDE_LOG_INFO));
    CHECK(sonde_log_enabled(lg, SONDE_LOG_ERROR));
    sonde_log(lg, SONDE_LOG_INFO, "hidden", NULL, 0);
    sonde_log(lg, SONDE_LOG_ERROR, "shown", NULL, 0);
    CHECK_EQ_INT(recent(lg), 1);
    sonde_log_stats st;
    sonde_logger_stats_get(lg, &st);
    CHECK_EQ_INT(st.below_level, 1);
    CHECK_EQ_INT(st.written, 1);
    sonde_logger_free(lg, 0);
    setenv("SONDE_LOG_LEVEL", "error", 1);
    sonde_logger_opts o;
    sonde_logger_opts_init(&o);
    o.path = "";
    CHECK_EQ_INT(sonde_logger_new(&o, &lg), SONDE_OK);
    CHECK(!sonde_log_enabled(lg, SONDE_LOG_WARN));
    CHECK(sonde_log_enabled(lg, SONDE_LOG_ERROR));
    sonde_logger_free(lg, 0);
    setenv("SONDE_LOG_LEVEL", "loud", 1); /* malformed: info, and a warning */
    CHECK_EQ_INT(sonde_logger_new(&o, &lg), SONDE_OK);
    CHECK(sonde_log_enabled(lg, SONDE_LOG_INFO) && !sonde_log_enabled(lg, SONDE_LOG_DEBUG));
    CHECK_EQ_INT(recent(lg), 1);
    CHECK_CONTAINS(lines[0], "SONDE_LOG_LEVEL");
    sonde_logger_free(lg, 0);
    unsetenv("SONDE_LOG_LEVEL");
    sonde_log_level l;
    CHECK_EQ_INT(sonde_log_level_parse("WARNING", &l), SONDE_OK);
    CHECK_EQ_INT(l, SONDE_LOG_WARN);
    CHECK_EQ_INT(sonde_log_level_parse("verbose", &l), SONDE_EINVAL);
    CHECK_EQ_STR(sonde_log_level_name(SONDE_LOG_ERROR), "error");
}

TEST(trace_ids_inside_spans)
{
    sonde_logger *lg = ring_logger(SONDE_LOG_INFO, -1, 8);
    sonde_tracer_opts to;
    sonde_tracer_opts_init(&to);
    to.read_env = 0;
    sonde_tracer *t;
    CHECK_EQ_INT(sonde_tracer_new(&to, &t), SONDE_OK);
    sonde_span *s = sonde_span_start(t, "op", SONDE_SPAN_SERVER, NULL);
    sonde_span *prev = sonde_span_enter(s);
    sonde_log(lg, SONDE_LOG_INFO, "inside", NULL, 0);
    sonde_span_exit(prev);
    sonde_log(lg, SONDE_LOG_INFO, "outside", NULL, 0);
    sonde_span_context c;
    sonde_span_get_context(s, &c);
    sonde_span_end(s);
    char tid[33], sid[17], want[128];
    sonde_trace_id_hex(c.trace_id, tid);
    sonde_span_id_hex(c.span_id, sid);
    CHECK_EQ_INT(recent(lg), 2);
    snprintf(want, sizeof want, ",\"trace_id\":\"%s\",\"span_id\":\"%s\"}", tid, sid);
    CHECK_CONTAINS(lines[1], want);
    CHECK(strstr(lines[0], "trace_id") == NULL);
    sonde_tracer_free(t, 1000);
    sonde_logger_free(lg, 0);
}

TEST(rate_limit_per_call_site)
{
    sonde_logger *lg = ring_logger(SONDE_LOG_INFO, 1000, 16);
    for (int i = 0; i < 100; i++)
        sonde_log(lg, SONDE_LOG_ERROR, "hot path", NULL, 0);
    sonde_log(lg, SONDE_LOG_ERROR, "another site", NULL, 0); /* its own bucket */
    sonde_log_stats st;
    sonde_logger_stats_get(lg, &st);
    CHECK_EQ_INT(st.written, SONDE_LOG_RATE_BURST + 1);
    CHECK_EQ_INT(st.rate_limited, 100 - SONDE_LOG_RATE_BURST);
    struct timespec ts = {0, 50 * 1000000L}; /* refill: 1000/s for 50 ms, capped at the burst */
    nanosleep(&ts, NULL);
    sonde_log(lg, SONDE_LOG_ERROR, "hot path", NULL, 0);
    CHECK(recent(lg) >= 1);
    CHECK_CONTAINS(lines[0], "\"fields\":{\"suppressed\":90}");
    sonde_logger_free(lg, 0);
}

TEST(ring_bounded)
{
    sonde_logger *lg = ring_logger(SONDE_LOG_INFO, -1, 3);
    sonde_attr f[1];
    for (int i = 0; i < 10; i++) {
        f[0] = SONDE_ATTR_INT("i", i);
        sonde_log(lg, SONDE_LOG_INFO, "n", f, 1);
    }
    CHECK_EQ_INT(recent(lg), 3);
    CHECK_CONTAINS(lines[0], "\"i\":9}");
    CHECK_CONTAINS(lines[2], "\"i\":7}");
    sonde_logger_free(lg, 0);
}

TEST(file_and_locale)
{
    char path[] = "/tmp/sonde_test_log_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    sonde_logger_opts o;
    sonde_logger_opts_init(&o);
    o.read_env = 0;
    o.path = path;
    o.service = "svc";
    sonde_logger *lg;
    CHECK_EQ_INT(sonde_logger_new(&o, &lg), SONDE_OK);
    const char *had = setlocale(LC_NUMERIC, "de_DE.UTF-8"); /* "0,5" if the locale leaked */
    sonde_attr f[1] = {SONDE_ATTR_DBL("ratio", 0.5)};
    sonde_log(lg, SONDE_LOG_INFO, "one", f, 1);
    sonde_log(lg, SONDE_LOG_INFO, "two", NULL, 0);
    setlocale(LC_NUMERIC, "C");
    sonde_logger_free(lg, 0);
    CHECK(had != NULL); /* the locale exists (the ctest fixture locale_de generates it) */
    FILE *fp = fopen(path, "r");
    char a[512] = "", b[512] = "";
    CHECK(fp && fgets(a, sizeof a, fp) && fgets(b, sizeof b, fp));
    if (fp)
        fclose(fp);
    CHECK_CONTAINS(a, "\"fields\":{\"ratio\":0.5}}\n");
    CHECK_CONTAINS(b, "\"msg\":\"two\"");
    unlink(path);
    o.path = "/nonexistent-dir/x.log";
    CHECK_EQ_INT(sonde_logger_new(&o, &lg), SONDE_EIO);
    CHECK(lg == NULL);
}

typedef struct got {
    size_t records;
    char first_msg[64];
    int has_field;
} got;

static int log_export(void *ud, const sonde_log_record *const *r, size_t n, uint64_t deadline_ns,
                      size_t *rejected)
{
    (void)deadline_ns;
    (void)rejected;
    got *g = ud;
    if (!g->records && n) {
        snprintf(g->first_msg, sizeof g->first_msg, "%s", r[0]->msg);
        g->has_field = r[0]->field_count == 1 && strcmp(r[0]->fields[0].key, "k") == 0 &&
                       strcmp(r[0]->fields[0].v.s, "v") == 0;
    }
    g->records += n;
    char *body;
    size_t len;
    CHECK_EQ_INT(sonde_log_encode_otlp(r, n, &body, &len), SONDE_OK);
    CHECK(len > 0 && memmem(body, len, "svc", 3) != NULL);
    free(body);
    return SONDE_OK;
}

TEST(exporter)
{
    got g = {0};
    sonde_logger_opts o;
    sonde_logger_opts_init(&o);
    o.read_env = 0;
    o.path = "";
    o.service = "svc";
    o.exporter = (sonde_log_exporter){log_export, NULL, &g};
    o.schedule_delay_ms = 3600000;
    sonde_logger *lg;
    CHECK_EQ_INT(sonde_logger_new(&o, &lg), SONDE_OK);
    char msg[] = "first message"; /* the record must be copied: we change it after */
    sonde_attr f[1] = {SONDE_ATTR_STR("k", "v")};
    sonde_log(lg, SONDE_LOG_INFO, msg, f, 1);
    memcpy(msg, "XXXXX", 5);
    for (int i = 0; i < 4; i++)
        sonde_log(lg, SONDE_LOG_INFO, "more", NULL, 0);
    sonde_logger_free(lg, 5000); /* the export happens at shutdown */
    CHECK_EQ_INT(g.records, 5);
    CHECK_EQ_STR(g.first_msg, "first message");
    CHECK(g.has_field);
}

int main(void)
{
    RUN(line_format);
    RUN(levels);
    RUN(trace_ids_inside_spans);
    RUN(rate_limit_per_call_site);
    RUN(ring_bounded);
    RUN(file_and_locale);
    RUN(exporter);
    return check_report();
}
