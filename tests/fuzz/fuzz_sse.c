/*
 * fuzz_sse.c - libFuzzer target for the gateway's event-stream parser
 * (gateway/sse_parse.c).
 *
 * The input is an upstream's bytes. The first byte picks where the rest is
 * cut in two; the parser is run on the whole rest and on the two pieces, and
 * both runs must dispatch the same events (a hash of every type, id and data)
 * and end in the same state: splitting a stream anywhere never changes what
 * it means. Each event must be well formed (data NUL-terminated at data_len,
 * within the bound). A small event bound makes the too-large path reachable.
 * Seeds: tests/fuzz/corpus/sse/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sse_parse.h"

#define MAX_EVENT 512

typedef struct digest {
    uint64_t h;
    size_t events;
} digest;

static void mix(digest *d, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) d->h = (d->h ^ b[i]) * 0x100000001b3ULL; /* FNV-1a */
    d->h = (d->h ^ 0xff) * 0x100000001b3ULL; /* field separator */
}

static int on_event(void *ud, const gw_sse_event *ev)
{
    digest *d = ud;
    if (ev->data[ev->data_len] != 0 || ev->data_len >= MAX_EVENT) abort();
    if (strlen(ev->type) > GW_SSE_NAME_MAX || strlen(ev->id) > GW_SSE_NAME_MAX) abort();
    mix(d, ev->type, strlen(ev->type));
    mix(d, ev->id, strlen(ev->id));
    mix(d, ev->data, ev->data_len);
    d->events++;
    return 0;
}

static int run(const char *s, size_t n, size_t cut, digest *d, long *retry)
{
    gw_sse_parser p;
    gw_sse_parser_init(&p, MAX_EVENT);
    int rc = gw_sse_feed(&p, s, cut, on_event, d);
    if (rc == 0) rc = gw_sse_feed(&p, s + cut, n - cut, on_event, d);
    *retry = p.retry_ms;
    gw_sse_parser_free(&p);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    size_t cut = n ? data[0] % (n + 1) : 0;
    digest whole = {0xcbf29ce484222325ULL, 0}, split = {0xcbf29ce484222325ULL, 0};
    long retry_whole, retry_split;
    int rc_whole = run(s, n, n, &whole, &retry_whole);
    int rc_split = run(s, n, cut, &split, &retry_split);
    if (rc_whole != rc_split) abort();
    /* after a failure the events before it may differ by where the feed stopped */
    if (rc_whole == 0 && (whole.h != split.h || whole.events != split.events ||
                          retry_whole != retry_split))
        abort();
    return 0;
}
