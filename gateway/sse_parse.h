/*
 * sse_parse.h - an incremental parser for server-sent event streams, after
 * the WHATWG "event stream interpretation" rules (HTML Living Standard,
 * section 9.2.6).
 *
 * Feed it the bytes of a text/event-stream as they arrive, in pieces of any
 * size (an event, a line, even a CR LF pair may be split across reads); it
 * calls back once per complete event. Lines end with CR LF, LF or CR; a
 * leading UTF-8 byte order mark is skipped; lines starting with ':' are
 * comments; "data:" lines of one event are joined with LF; "event:" names
 * the event type; "id:" sets the last event id (kept across events, ignored
 * when it contains NUL); "retry:" with ASCII digits only sets the
 * reconnection time; any other field is ignored; an event is dispatched at a
 * blank line only when it has data; at the end of the stream an unfinished
 * event is discarded. A line, an event's data, its name or its id longer
 * than the limits given at init makes gw_sse_feed() fail (hostile upstreams
 * must not grow memory without bound).
 */
#ifndef GW_SSE_PARSE_H
#define GW_SSE_PARSE_H

#include <stddef.h>

#define GW_SSE_NAME_MAX 256        /* longest event name or id kept */
#define GW_SSE_E_TOO_LARGE (-1000) /* a line or an event's data passed max_event */
#define GW_SSE_E_NOMEM (-1001)

typedef struct gw_sse_event {
    const char *type;  /* the "event:" name; "" = the default type "message" */
    const char *data;  /* the data lines joined with LF, NUL-terminated (data may hold NUL) */
    size_t data_len;
    const char *id;    /* the last event id ("" when none was set) */
} gw_sse_event;

/* Called once per dispatched event; a non-zero return stops gw_sse_feed(),
 * which then returns that value. The event's strings live until it returns. */
typedef int (*gw_sse_on_event)(void *ud, const gw_sse_event *ev);

typedef struct gw_sse_parser {
    char *line;             /* the line being read (it may span several feeds) */
    size_t line_len, line_cap;
    char *data;             /* the data buffer of the event being read */
    size_t data_len, data_cap;
    char type[GW_SSE_NAME_MAX + 1];
    char id[GW_SSE_NAME_MAX + 1];
    size_t max_event;       /* bound of a line and of an event's data */
    long retry_ms;          /* the last valid "retry:", -1 = none */
    int after_cr;           /* the last byte fed was CR: a LF next ends nothing */
    int bom_state;          /* bytes of the leading BOM seen; -1 = past the start */
} gw_sse_parser;

/* Prepare p; max_event bounds a line and an event's data (bytes). */
void gw_sse_parser_init(gw_sse_parser *p, size_t max_event);
void gw_sse_parser_free(gw_sse_parser *p);
/* Parse n more bytes; 0, a non-zero return of on_event, GW_SSE_E_TOO_LARGE or
 * GW_SSE_E_NOMEM. After a failure the parser must not be fed again. */
int gw_sse_feed(gw_sse_parser *p, const char *buf, size_t n, gw_sse_on_event on_event, void *ud);

#endif
