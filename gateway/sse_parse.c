/*
 * sse_parse.c - the WHATWG event-stream parser (see sse_parse.h for the rules).
 *
 * Design: one pass over each piece fed. A line is gathered in p->line (so a
 * line split across feeds simply continues there) until CR or LF ends it;
 * a CR sets after_cr so that a LF that follows, in this feed or the next,
 * ends no second (empty) line. Each complete line is interpreted at once:
 * data values are appended to p->data, "event" and "id" values copied into
 * fixed buffers, "retry" parsed; a blank line dispatches. Nothing but the
 * current line and the current event is ever held, both bounded by
 * max_event.
 */
#include <stdlib.h>
#include <string.h>

#include "sse_parse.h"

static const unsigned char BOM[3] = {0xEF, 0xBB, 0xBF};

void gw_sse_parser_init(gw_sse_parser *p, size_t max_event)
{
    memset(p, 0, sizeof *p);
    p->max_event = max_event;
    p->retry_ms = -1;
}

void gw_sse_parser_free(gw_sse_parser *p)
{
    free(p->line);
    free(p->data);
    p->line = p->data = NULL;
    p->line_len = p->line_cap = p->data_len = p->data_cap = 0;
}

/* Make room for `more` bytes plus a NUL in *buf, within max bytes. */
static int reserve(char **buf, size_t *cap, size_t len, size_t more, size_t max)
{
    if (more > max || len > max - more) return GW_SSE_E_TOO_LARGE;
    if (len + more + 1 <= *cap) return 0;
    size_t ncap = *cap ? *cap : 256;
    while (ncap < len + more + 1) ncap *= 2;
    char *n = realloc(*buf, ncap);
    if (!n) return GW_SSE_E_NOMEM;
    *buf = n;
    *cap = ncap;
    return 0;
}

static int line_append(gw_sse_parser *p, const char *s, size_t n)
{
    int rc = reserve(&p->line, &p->line_cap, p->line_len, n, p->max_event);
    if (rc) return rc;
    memcpy(p->line + p->line_len, s, n);
    p->line_len += n;
    return 0;
}

static void copy_name(char *dst, const char *v, size_t n)
{
    if (n > GW_SSE_NAME_MAX) n = GW_SSE_NAME_MAX; /* a name is only ever compared or echoed */
    memcpy(dst, v, n);
    dst[n] = 0;
}

static int dispatch(gw_sse_parser *p, gw_sse_on_event on_event, void *ud)
{
    if (p->data_len == 0) { /* no data: nothing is dispatched, the type resets */
        p->type[0] = 0;
        return 0;
    }
    p->data_len--; /* the LF after the last data line */
    p->data[p->data_len] = 0;
    gw_sse_event ev = {.type = p->type, .data = p->data, .data_len = p->data_len, .id = p->id};
    int rc = on_event(ud, &ev);
    p->data_len = 0;
    p->type[0] = 0;
    return rc;
}

/* Interpret one complete line (without its end). */
static int process_line(gw_sse_parser *p, const char *line, size_t n, gw_sse_on_event on_event,
                        void *ud)
{
    if (n == 0) return dispatch(p, on_event, ud);
    if (line[0] == ':') return 0; /* a comment */
    const char *colon = memchr(line, ':', n);
    size_t flen = colon ? (size_t)(colon - line) : n;
    const char *v = colon ? colon + 1 : line + n;
    size_t vlen = colon ? n - flen - 1 : 0;
    if (vlen > 0 && v[0] == ' ') v++, vlen--;
    if (flen == 4 && memcmp(line, "data", 4) == 0) {
        int rc = reserve(&p->data, &p->data_cap, p->data_len, vlen + 1, p->max_event);
        if (rc) return rc;
        memcpy(p->data + p->data_len, v, vlen);
        p->data_len += vlen;
        p->data[p->data_len++] = '\n';
        p->data[p->data_len] = 0;
    } else if (flen == 5 && memcmp(line, "event", 5) == 0) {
        copy_name(p->type, v, vlen);
    } else if (flen == 2 && memcmp(line, "id", 2) == 0) {
        if (!memchr(v, 0, vlen)) copy_name(p->id, v, vlen);
    } else if (flen == 5 && memcmp(line, "retry", 5) == 0) {
        long ms = 0;
        size_t i;
        for (i = 0; i < vlen && v[i] >= '0' && v[i] <= '9'; i++)
            if (ms < 1000000000L) ms = ms * 10 + (v[i] - '0'); /* saturate, stay bounded */
        if (vlen > 0 && i == vlen) p->retry_ms = ms;
    }
    return 0;
}

/* The line in p->line plus buf[0..n) is complete. */
static int end_line(gw_sse_parser *p, const char *buf, size_t n, gw_sse_on_event on_event, void *ud)
{
    if (p->line_len == 0) return process_line(p, buf, n, on_event, ud);
    int rc = line_append(p, buf, n);
    if (rc) return rc;
    rc = process_line(p, p->line, p->line_len, on_event, ud);
    p->line_len = 0;
    return rc;
}

int gw_sse_feed(gw_sse_parser *p, const char *buf, size_t n, gw_sse_on_event on_event, void *ud)
{
    size_t i = 0;
    while (p->bom_state >= 0 && i < n) { /* a BOM may itself arrive in pieces */
        if ((unsigned char)buf[i] == BOM[p->bom_state]) {
            i++;
            if (++p->bom_state == 3) p->bom_state = -1;
            continue;
        }
        int rc = line_append(p, (const char *)BOM, (size_t)p->bom_state); /* not a BOM after all */
        if (rc) return rc;
        p->bom_state = -1;
    }
    if (p->after_cr && i < n) {
        p->after_cr = 0;
        if (buf[i] == '\n') i++;
    }
    size_t start = i;
    while (i < n) {
        char ch = buf[i];
        if (ch != '\n' && ch != '\r') {
            i++;
            continue;
        }
        if (i - start > p->max_event) return GW_SSE_E_TOO_LARGE;
        int rc = end_line(p, buf + start, i - start, on_event, ud);
        if (rc) return rc;
        i++;
        if (ch == '\r') {
            if (i == n) {
                p->after_cr = 1;
            } else if (buf[i] == '\n') {
                i++;
            }
        }
        start = i;
    }
    return start < n ? line_append(p, buf + start, n - start) : 0;
}
