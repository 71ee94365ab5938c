/*
 * test_gateway_sse.c - the WHATWG event-stream parser against a table of
 * streams. Each stream is fed whole, then split in two at every byte boundary,
 * then one byte at a time, and must always yield the same events (rendered as
 * "type|id|data" lines, data with its LFs shown as "\n"): line ends CR, LF and
 * CR LF (a CR LF pair split across reads included), multi-line data, event
 * names, ids, comments, retry, a leading BOM, unknown fields, events without
 * data, an unfinished last event, and non-JSON data. Bounds: a line or event
 * longer than the limit fails with GW_SSE_E_TOO_LARGE, in any split.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sse_parse.h"

typedef struct render {
    char out[4096];
    size_t len;
    int stop_after; /* stop the feed after this many events (0 = never) */
    int events;
} render;

static int on_event(void *ud, const gw_sse_event *ev)
{
    render *r = ud;
    char line[1024];
    size_t n = 0;
    n += (size_t)snprintf(line + n, sizeof line - n, "%s|%s|", ev->type, ev->id);
    for (size_t i = 0; i < ev->data_len && n + 3 < sizeof line; i++) {
        if (ev->data[i] == '\n') line[n++] = '\\', line[n++] = 'n';
        else if (ev->data[i] == 0) line[n++] = '\\', line[n++] = '0';
        else line[n++] = ev->data[i];
    }
    line[n++] = '\n';
    if (r->len + n < sizeof r->out) {
        memcpy(r->out + r->len, line, n);
        r->len += n;
        r->out[r->len] = 0;
    }
    r->events++;
    return r->stop_after && r->events >= r->stop_after ? 7 : 0;
}

typedef struct sse_case {
    const char *name;
    const char *in;
    size_t in_len; /* 0 = strlen(in) */
    const char *want;
    long retry_ms;
} sse_case;

static const sse_case cases[] = {
    {"one event, LF", "data: hello\n\n", 0, "||hello\n", -1},
    {"CRLF", "data: a\r\n\r\ndata: b\r\n\r\n", 0, "||a\n||b\n", -1},
    {"CR only", "data: a\r\rdata: b\r\r", 0, "||a\n||b\n", -1},
    {"mixed ends", "data: a\r\ndata: b\rdata: c\n\r\n", 0, "||a\\nb\\nc\n", -1},
    {"multi-line data", "data: one\ndata: two\ndata:three\n\n", 0, "||one\\ntwo\\nthree\n", -1},
    {"event names reset per event",
     "event: response.created\ndata: {\"a\":1}\n\ndata: plain\n\n", 0,
     "response.created||{\"a\":1}\n||plain\n", -1},
    {"comments and keep-alives", ": keep-alive\n:\ndata: x\n: inside\n\n", 0, "||x\n", -1},
    {"only one leading space stripped", "data:  two spaces\ndata:none\n\n", 0,
     "|| two spaces\\nnone\n", -1},
    {"field without colon", "data\n\ndata\ndata\n\n", 0, "||\n||\\n\n", -1},
    {"empty data line dispatches an empty event", "data:\n\n", 0, "||\n", -1},
    {"event without data is not dispatched, type resets", "event: x\n\ndata: y\n\n", 0,
     "||y\n", -1},
    {"ids persist, NUL ids ignored", "id: 7\ndata: a\n\ndata: b\n\nid: 8\0x\ndata: c\n\nid\ndata: d\n\n",
     sizeof "id: 7\ndata: a\n\ndata: b\n\nid: 8\0x\ndata: c\n\nid\ndata: d\n\n" - 1,
     "|7|a\n|7|b\n|7|c\n||d\n", -1},
    {"retry digits only", "retry: 1500\nretry: 12x\nretry:\ndata: r\n\n", 0, "||r\n", 1500},
    {"unknown fields ignored", "foo: bar\nDATA: no\ndata : no\ndata: yes\n\n", 0, "||yes\n", -1},
    {"unfinished last event discarded", "data: a\n\ndata: b\n", 0, "||a\n", -1},
    {"unfinished last line discarded", "data: a\n\ndata: b", 0, "||a\n", -1},
    {"leading BOM skipped once", "\xEF\xBB\xBF" "data: a\n\n\xEF\xBB\xBF" "data: b\n\n", 0,
     "||a\n", -1},
    {"not a BOM", "\xEF\xBB" "data: a\n\ndata: b\n\n", 0, "||b\n", -1},
    {"non-JSON and [DONE] verbatim", "data: {\"x\": [1,\ndata: 2]}\n\ndata: [DONE]\n\n", 0,
     "||{\"x\": [1,\\n2]}\n||[DONE]\n", -1},
    {"NUL inside data", "data: a\0b\n\n", sizeof "data: a\0b\n\n" - 1, "||a\\0b\n", -1},
    {"colon in value", "data: http://x:1/y\n\n", 0, "||http://x:1/y\n", -1},
    {"OpenAI chat stream",
     "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n"
     "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n"
     "data: [DONE]\n\n", 0,
     "||{\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n"
     "||{\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n"
     "||[DONE]\n", -1},
    {"empty stream", "", 0, "", -1},
    {"blank lines only", "\n\r\n\r\r\n", 0, "", -1},
};

/* Feed the stream cut at the given points (sorted, ncut of them); the events rendered. */
static int feed_cut(const sse_case *c, const size_t *cuts, size_t ncut, render *r, long *retry)
{
    size_t len = c->in_len ? c->in_len : strlen(c->in);
    gw_sse_parser p;
    gw_sse_parser_init(&p, 1024);
    memset(r, 0, sizeof *r);
    size_t at = 0;
    int rc = 0;
    for (size_t k = 0; k <= ncut && rc == 0; k++) {
        size_t end = k < ncut ? cuts[k] : len;
        rc = gw_sse_feed(&p, c->in + at, end - at, on_event, r);
        at = end;
    }
    *retry = p.retry_ms;
    gw_sse_parser_free(&p);
    return rc;
}

TEST(table_every_split)
{
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const sse_case *c = &cases[t];
        size_t len = c->in_len ? c->in_len : strlen(c->in);
        render r;
        long retry;
        CHECK_EQ_INT(feed_cut(c, NULL, 0, &r, &retry), 0);
        if (strcmp(r.out, c->want) != 0 || retry != c->retry_ms)
            fprintf(stderr, "case '%s' (whole)\n", c->name);
        CHECK_EQ_STR(r.out, c->want);
        CHECK_EQ_INT(retry, c->retry_ms);
        for (size_t cut = 0; cut <= len; cut++) {
            CHECK_EQ_INT(feed_cut(c, &cut, 1, &r, &retry), 0);
            if (strcmp(r.out, c->want) != 0 || retry != c->retry_ms) {
                fprintf(stderr, "case '%s' split at %zu\n", c->name, cut);
                CHECK_EQ_STR(r.out, c->want);
                CHECK_EQ_INT(retry, c->retry_ms);
                break;
            }
        }
        size_t *each = malloc((len + 1) * sizeof *each);
        for (size_t i = 0; i < len; i++) each[i] = i + 1;
        CHECK_EQ_INT(feed_cut(c, each, len, &r, &retry), 0);
        if (strcmp(r.out, c->want) != 0) fprintf(stderr, "case '%s' byte by byte\n", c->name);
        CHECK_EQ_STR(r.out, c->want);
        CHECK_EQ_INT(retry, c->retry_ms);
        free(each);
    }
}

TEST(callback_stops_the_feed)
{
    sse_case c = {"stop", "data: 1\n\ndata: 2\n\ndata: 3\n\n", 0, NULL, -1};
    gw_sse_parser p;
    gw_sse_parser_init(&p, 1024);
    render r;
    memset(&r, 0, sizeof r);
    r.stop_after = 2;
    CHECK_EQ_INT(gw_sse_feed(&p, c.in, strlen(c.in), on_event, &r), 7);
    CHECK_EQ_STR(r.out, "||1\n||2\n");
    gw_sse_parser_free(&p);
}

/* A line or an event past the bound fails, however the bytes arrive. */
TEST(bounds)
{
    static char big_line[200], big_event[200];
    memcpy(big_line, "data: ", 6);
    memset(big_line + 6, 'x', 100);
    memcpy(big_line + 106, "\n\n", 3);
    size_t n = 0; /* ten data lines of 9 bytes: each line fits, the event does not */
    for (int i = 0; i < 10; i++) n += (size_t)snprintf(big_event + n, sizeof big_event - n, "data: 12345678\n");
    big_event[n++] = '\n';
    const char *inputs[] = {big_line, big_event};
    for (int k = 0; k < 2; k++) {
        size_t len = strlen(inputs[k]);
        for (size_t cut = 0; cut <= len; cut++) {
            gw_sse_parser p;
            gw_sse_parser_init(&p, 64);
            render r;
            memset(&r, 0, sizeof r);
            int rc = gw_sse_feed(&p, inputs[k], cut, on_event, &r);
            if (rc == 0) rc = gw_sse_feed(&p, inputs[k] + cut, len - cut, on_event, &r);
            CHECK_EQ_INT(rc, GW_SSE_E_TOO_LARGE);
            CHECK_EQ_INT(r.events, 0);
            gw_sse_parser_free(&p);
        }
    }
    /* names and ids longer than GW_SSE_NAME_MAX are cut, never overflow */
    char longname[GW_SSE_NAME_MAX * 2 + 32];
    memcpy(longname, "event: ", 7);
    memset(longname + 7, 'e', GW_SSE_NAME_MAX * 2);
    memcpy(longname + 7 + GW_SSE_NAME_MAX * 2, "\ndata: d\n\n", 11);
    gw_sse_parser p;
    gw_sse_parser_init(&p, 4096);
    render r;
    memset(&r, 0, sizeof r);
    CHECK_EQ_INT(gw_sse_feed(&p, longname, strlen(longname), on_event, &r), 0);
    CHECK_EQ_INT(r.events, 1);
    CHECK_EQ_INT(strlen(p.type), 0);
    CHECK_EQ_INT(strchr(r.out, '|') - r.out, GW_SSE_NAME_MAX);
    gw_sse_parser_free(&p);
}

int main(void)
{
    RUN(table_every_split);
    RUN(callback_stops_the_feed);
    RUN(bounds);
    return check_report();
}
