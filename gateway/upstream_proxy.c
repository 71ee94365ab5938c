/*
 * upstream_proxy.c - calls to OpenAI-compatible HTTP upstreams with libcurl.
 *
 * One worker thread runs a curl multi handle; new calls are queued to it and
 * it is woken with curl_multi_wakeup(). A streamed answer is passed on event
 * by event as it arrives: the write callback feeds the upstream's bytes to
 * the WHATWG event-stream parser (sse_parse.c) and forwards each complete
 * event to the client at once (never buffering the answer). JSON events are
 * read for what the meters need (the first token, tool-call names, the usage)
 * and carry the model name the client asked for, as whole answers do; other
 * events (non-JSON data, named events) are passed on verbatim. The gateway
 * always asks the upstream for usage (stream_options.include_usage) and drops
 * the usage-only chunk again when the client did not ask for it. Whole
 * answers and error bodies are collected (bounded), then forwarded with the
 * upstream's usage.
 *
 * A client slower than its upstream does not make the gateway buffer without
 * bound: past 1 MiB not yet taken by the client the transfer is paused, and
 * the worker resumes it once the backlog is under 256 KiB. A client that has
 * taken nothing of what waits for it for client_idle_timeout_ms is dropped
 * (gw_req_abort) and the call recorded cancelled.
 *
 * Timeouts blame the side that is slow. Curl bounds the connect
 * (connect_timeout_ms); the worker checks the rest after every wakeup (at
 * least every 200 ms): no first byte of the answer within
 * first_byte_timeout_ms of the request being sent, or no byte for
 * idle_timeout_ms between two reads. Time the transfer spends paused for a
 * slow client is never counted: the idle clock restarts when it resumes.
 *
 * Upstream answers map to client statuses, call statuses and
 * gateway_upstream_errors_total types: connect failure 502 / error / connect
 * (and the upstream is marked down in gateway_upstream_up until the next
 * answer or probe); connect, first-byte or idle timeout 504 / timeout /
 * timeout; 401 and 403 (the upstream refused the gateway's own key) 502 /
 * error / auth; 429 429 with the upstream's Retry-After (else computed from
 * retry-after-ms or x-ratelimit-reset-*, else 1 s) / rate_limited /
 * rate_limited (each 429 also in gateway_upstream_rate_limited_total); other 4xx
 * the upstream's own status and body / error /
 * http_4xx; 5xx 502 / error / http_5xx; a broken answer 502 / error /
 * protocol. After a stream has begun, failures are sent as an SSE error
 * event. A client that goes away marks its request gone; the worker checks
 * the calls it runs after each wakeup and removes theirs, which closes the
 * upstream connection.
 *
 * Each request sent upstream is one attempt: a CLIENT span "POST" (child of
 * the call's GenAI span; http.request.method, server.address, server.port,
 * gateway.upstream, then http.response.status_code, and error.type with
 * status ERROR when it failed) whose context goes upstream as traceparent
 * (and tracestate), sampled or not, so an upstream that traces (another
 * gateway) continues the trace and follows its sampling decision. A
 * call routed over several deployments (route.c) has one such span per
 * attempt: a retried attempt's span ends with its failure before the next begins.
 *
 * Every answer's x-ratelimit-{limit,remaining,reset}-{requests,tokens} headers
 * (upstream_ratelimit.c parses them strictly) set the upstream's
 * gateway_upstream_ratelimit_* gauges once the header block has ended.
 *
 * gw_probe_all() checks that each upstream accepts TCP connections (for
 * /ready and gateway_upstream_up). The worker, its multi handle and queue
 * are the gateway's gw_proxy.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gateway.h"
#include "sse_parse.h"

#define MAX_COLLECT (16u << 20)
#define PAUSE_ABOVE (1u << 20)
#define RESUME_BELOW (256u << 10)
#define MAX_USAGE_TOKENS 1000000000 /* per call; more is not a real count */
#define MAX_EVENT (4u << 20)         /* one upstream SSE line or event */
#define MS (1000000ull)              /* nanoseconds */

typedef struct xfer {
    gw_call *c;
    CURL *e;
    struct curl_slist *hdrs;
    char *post;
    long status;
    int started;      /* the client stream has begun */
    int done_seen;    /* [DONE] arrived */
    int too_big;
    int paused;       /* receiving paused: the client is behind */
    int first_byte;   /* the upstream has begun to answer */
    int counted;      /* the failure is already in gateway_upstream_errors_total */
    uint64_t start_ns, last_rx_ns;
    double retry_after;      /* Retry-After of the answer, seconds; < 0 = none */
    double retry_after_hint; /* retry-after-ms; < 0 = none */
    gw_ratelimit rl;         /* the x-ratelimit-* headers of the answer */
    gw_sse_parser sse;  /* the upstream's event stream */
    sonde_span *span;   /* the attempt's CLIENT span, until attempt_end() */
    char *line;       /* collected body (whole answers, errors) */
    size_t len, cap;
    struct xfer *next;
} xfer;

struct gw_proxy {
    gateway *gw;
    CURLM *multi;
    pthread_t worker;
    pthread_mutex_t qmu;
    xfer *queue, *active;
    int stop_flag;
};

static int grow(xfer *x, const char *d, size_t n)
{
    if (x->len + n + 1 > x->cap) {
        if (x->len + n + 1 > MAX_COLLECT) {
            x->too_big = 1;
            return -1;
        }
        size_t ncap = x->cap ? x->cap : 4096;
        while (ncap < x->len + n + 1) ncap *= 2;
        char *p = realloc(x->line, ncap);
        if (!p) return -1;
        x->line = p;
        x->cap = ncap;
    }
    memcpy(x->line + x->len, d, n);
    x->len += n;
    x->line[x->len] = 0;
    return 0;
}

/* A token count as the upstream reports it, if it is one: a broken or hostile
 * upstream must not move counters backwards or by 2^63 (nor overflow the sum
 * charged to the key's bucket). */
static int usage_count(json_t *v, long *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > MAX_USAGE_TOKENS)
        return 0;
    *out = (long)json_integer_value(v);
    return 1;
}

static void take_usage(gw_call *c, json_t *usage)
{
    if (!json_is_object(usage)) return;
    long in, out;
    if (usage_count(json_object_get(usage, "prompt_tokens"), &in)) c->input_tokens = in;
    c->output_tokens = usage_count(json_object_get(usage, "completion_tokens"), &out) ? out : 0;
    c->usage_known = 1;
}

/* Look at one streamed event; returns 0 to forward it, 1 to drop it. */
static int inspect_event(gw_call *c, json_t *ev)
{
    json_t *choices = json_object_get(ev, "choices");
    json_t *ch0 = json_array_get(choices, 0);
    json_t *delta = json_object_get(ch0, "delta");
    json_t *content = delta ? json_object_get(delta, "content") : json_object_get(ch0, "text");
    json_t *tools = json_object_get(delta, "tool_calls");
    unsigned tokens = 0;
    if ((json_is_string(content) && json_string_length(content) > 0) || json_array_size(tools) > 0) {
        tokens = 1; /* one per content chunk, until the upstream reports usage */
        if (!c->usage_known) c->output_tokens++;
    }
    const char *fin = json_string_value(json_object_get(ch0, "finish_reason"));
    if (fin) snprintf(c->finish, sizeof c->finish, "%s", fin);
    const char *model = json_string_value(json_object_get(ev, "model"));
    if (model && !c->resp_model[0]) snprintf(c->resp_model, sizeof c->resp_model, "%s", model);
    const char *id = json_string_value(json_object_get(ev, "id"));
    if (id && !c->resp_id[0]) snprintf(c->resp_id, sizeof c->resp_id, "%s", id);
    if (json_array_size(choices) > 0) gw_meter_call_chunk(c, tokens);
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) {
        const char *name = json_string_value(json_object_get(json_object_get(t, "function"), "name"));
        if (name) gw_meter_call_tool(c, name);
    }
    json_t *usage = json_object_get(ev, "usage");
    if (json_is_object(usage)) {
        take_usage(c, usage);
        if (json_array_size(choices) == 0 && !c->include_usage) return 1;
    }
    return 0;
}

/* One event from the upstream's stream (sse_parse.c calls back). */
static int stream_event(void *ud, const gw_sse_event *ev)
{
    xfer *x = ud;
    gw_call *c = x->c;
    if (ev->data_len == 6 && memcmp(ev->data, "[DONE]", 6) == 0) {
        x->done_seen = 1; /* gw_stream_finish() sends our own at the end */
        return 0;
    }
    json_t *j = ev->data_len && ev->data[0] == '{' ? json_loadb(ev->data, ev->data_len, 0, NULL) : NULL;
    if (!json_is_object(j)) { /* not JSON: passed on as it came */
        json_decref(j);
        return gw_stream_sse(c->req, ev->type, ev->data, ev->data_len) == 0 ? 0 : -1;
    }
    int rc = 0;
    if (inspect_event(c, j) == 0) {
        if (json_object_get(j, "model")) json_object_set_new(j, "model", json_string(c->model_name));
        char *out = gw_json_dumps(j);
        rc = out && gw_stream_sse(c->req, ev->type, out, strlen(out)) == 0 ? 0 : -1;
        free(out);
    }
    json_decref(j);
    return rc;
}

static void received(xfer *x)
{
    x->first_byte = 1;
    x->last_rx_ns = gw_now_ns();
}

static size_t on_data(char *d, size_t sz, size_t nm, void *ud)
{
    xfer *x = ud;
    size_t n = sz * nm;
    received(x);
    if (!x->status) curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &x->status);
    if (x->status == 200 && x->c->stream) {
        if (!x->started) {
            x->started = 1;
            gw_sse_parser_init(&x->sse, MAX_EVENT);
            gw_reply_stream(x->c->req);
        }
        if (gw_req_gone(x->c->req)) return 0;
        int rc = gw_sse_feed(&x->sse, d, n, stream_event, x);
        if (rc == GW_SSE_E_TOO_LARGE) x->too_big = 1;
        if (rc != 0) return 0;
        if (gw_stream_backlog(x->c->req) > PAUSE_ABOVE && curl_easy_pause(x->e, CURLPAUSE_RECV) == CURLE_OK)
            x->paused = 1;
        return n;
    }
    return grow(x, d, n) == 0 ? n : 0;
}

/* Headers of the answer: the first byte, the rate limits the upstream reports
 * (gateway_upstream_ratelimit_*, once the header block is complete), and on a 429 how
 * long to wait. */
static size_t on_header(char *d, size_t sz, size_t nm, void *ud)
{
    xfer *x = ud;
    size_t n = sz * nm;
    received(x);
    if (gw_ratelimit_header(&x->rl, d, n) != 0) return n;
    char h[256];
    size_t hl = n < sizeof h - 1 ? n : sizeof h - 1;
    memcpy(h, d, hl);
    h[hl] = 0;
    char *colon = strchr(h, ':');
    if (!colon) {
        if (strncmp(h, "HTTP/", 5) == 0) { /* (again after a 100) */
            x->retry_after = x->retry_after_hint = -1;
            memset(&x->rl, 0, sizeof x->rl);
        } else if (h[strspn(h, "\r\n")] == 0 && x->rl.seen) { /* the end of the block */
            gw_meter_upstream_ratelimit(&x->c->gw->meter, x->c->model->up, &x->rl);
        }
        return n;
    }
    *colon = 0;
    char *v = colon + 1;
    while (*v == ' ' || *v == '\t') v++;
    double secs = -1;
    if (strcasecmp(h, "retry-after") == 0) {
        if (isdigit((unsigned char)*v)) secs = strtod(v, NULL);
        else {
            v[strcspn(v, "\r\n")] = 0;
            time_t t = curl_getdate(v, NULL);
            if (t > 0) secs = difftime(t, time(NULL));
            if (secs < 0 && t > 0) secs = 0;
        }
        if (secs >= 0) x->retry_after = secs; /* the standard header wins */
        return n;
    }
    if (strcasecmp(h, "retry-after-ms") == 0 && isdigit((unsigned char)*v)) secs = strtod(v, NULL) / 1000;
    if (secs > x->retry_after_hint) x->retry_after_hint = secs;
    return n;
}

/* How long a 429 asks to wait when it has no Retry-After: retry-after-ms or the longest
 * x-ratelimit-reset-*; < 0 = none. */
static double retry_hint(const xfer *x)
{
    double hint = x->retry_after_hint;
    for (int k = 0; k < GW_RL_KINDS; k++)
        if (gw_ratelimit_has(&x->rl, k, GW_RL_RESET) && x->rl.value[k][GW_RL_RESET] > hint)
            hint = x->rl.value[k][GW_RL_RESET];
    return hint;
}

static char *rewrite_body(gw_call *c)
{
    json_t *b = gw_json_clone(c->body);
    if (!b) return NULL;
    json_object_set_new(b, "model", json_string(c->model->upstream_model));
    if (c->stream) {
        json_t *so = json_object_get(b, "stream_options");
        if (!json_is_object(so)) {
            so = json_object();
            json_object_set_new(b, "stream_options", so);
        }
        json_object_set_new(so, "include_usage", json_true());
    }
    char *s = gw_json_dumps(b);
    json_decref(b);
    return s;
}

/* End the attempt's span once: its HTTP status, and error.type when it failed (the
 * gateway's type, or the status code of a 4xx/5xx answer, as the HTTP conventions say). */
static void attempt_end(xfer *x, const char *error_type)
{
    if (!x->span) return;
    char code[24];
    if (x->status > 0) sonde_span_set_int(x->span, "http.response.status_code", x->status);
    if (!error_type && x->status >= 400) {
        snprintf(code, sizeof code, "%ld", x->status);
        error_type = code;
    }
    if (error_type) {
        sonde_span_set_str(x->span, "error.type", error_type);
        sonde_span_set_status(x->span, SONDE_STATUS_ERROR, NULL);
    }
    sonde_span_end(x->span);
    x->span = NULL;
}

static void fail(xfer *x, const char *type, unsigned status, sonde_llm_status st, const char *msg)
{
    gw_call *c = x->c;
    attempt_end(x, type);
    if (!x->counted) gw_meter_upstream_error(&c->gw->meter, c->model->up, type);
    gw_call_finish(c, st, type); /* before the answer leaves (see call.c) */
    if (x->started) { /* the stream has begun: tell the client in-band, then end it */
        json_t *e = json_pack("{s:{s:s, s:s, s:s}}", "error", "message", msg, "type",
                              "upstream_error", "code", type);
        gw_stream_event(c->req, e);
        json_decref(e);
        gw_stream_finish(c->req);
    } else {
        char code[40];
        snprintf(code, sizeof code, "upstream_%s", type);
        gw_reply_error(c->req, status, "upstream_error", code, -1, "upstream '%s': %s",
                       c->model->up->name, msg);
    }
}

/* The upstream's reachability as the last call found it (probes also set it). */
static void mark_up(gw_call *c, int up)
{
    gw_upstream *u = c->model->up;
    if (atomic_exchange(&u->up, up) == up) return;
    gw_meter_upstream_up(&c->gw->meter, u, up);
    if (!up) {
        atomic_store(&c->gw->ready, 0);
        gw_meter_ready(&c->gw->meter, 0);
    }
}

/* A failure another deployment may be asked to answer instead (route.c): nothing of
 * the answer has reached the client yet. Its upstream_errors type, or NULL. */
static const char *retryable(xfer *x, CURLcode res)
{
    if (x->started) return NULL;
    if (res == CURLE_OPERATION_TIMEDOUT && !x->first_byte) return "timeout";
    if (res == CURLE_COULDNT_CONNECT || res == CURLE_COULDNT_RESOLVE_HOST) return "connect";
    if (res != CURLE_OK) return NULL;
    if (x->status == 429) return "rate_limited";
    return x->status >= 500 ? "http_5xx" : NULL;
}

static void complete(xfer *x, CURLcode res)
{
    gw_call *c = x->c;
    const char *up_name = c->model->up->name;
    if (!x->status) curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &x->status);
    if (x->status == 429) gw_meter_upstream_rate_limited(&c->gw->meter, c->model->up);
    if (gw_req_gone(c->req)) {
        attempt_end(x, "cancelled");
        gw_call_finish(c, SONDE_LLM_CANCELLED, NULL);
        return;
    }
    const char *retry = retryable(x, res);
    if (retry) {
        if (strcmp(retry, "connect") == 0 || strcmp(retry, "timeout") == 0) mark_up(c, 0);
        gw_meter_upstream_error(&c->gw->meter, c->model->up, retry);
        attempt_end(x, x->status == 429 ? NULL : retry); /* each retry: a span of its own */
        if (gw_route_retry(c, retry) == 0) {
            x->c = NULL; /* another deployment has it now */
            return;
        }
        x->counted = 1;
    }
    if (res == CURLE_OPERATION_TIMEDOUT && !x->first_byte) { /* only curl's connect timeout is set */
        mark_up(c, 0);
        fail(x, "timeout", 504, SONDE_LLM_TIMEOUT, "could not connect in time");
        return;
    }
    if (res == CURLE_COULDNT_CONNECT || res == CURLE_COULDNT_RESOLVE_HOST) {
        mark_up(c, 0);
        fail(x, "connect", 502, SONDE_LLM_ERROR, curl_easy_strerror(res));
        return;
    }
    if (x->status > 0) mark_up(c, 1);
    if (res != CURLE_OK) {
        fail(x, "protocol", 502, SONDE_LLM_ERROR, x->too_big ? "answer too large" : curl_easy_strerror(res));
        return;
    }
    if (x->status >= 500) {
        char m[64];
        snprintf(m, sizeof m, "answered HTTP %ld", x->status);
        fail(x, "http_5xx", 502, SONDE_LLM_ERROR, m);
        return;
    }
    if (x->status == 401 || x->status == 403) { /* the gateway's own credentials, not the client's */
        char m[160];
        snprintf(m, sizeof m, "refused the gateway's API key for this upstream (HTTP %ld); "
                 "the gateway's configuration must be fixed", x->status);
        fail(x, "auth", 502, SONDE_LLM_ERROR, m);
        return;
    }
    /* the failures above ended the span in fail(); an answer ends it here */
    attempt_end(x, c->stream && x->status == 200 && !(x->started && x->done_seen) ? "protocol"
                                                                                    : NULL);
    if (x->status == 429) {
        double hint = retry_hint(x);
        double ra = x->retry_after >= 0 ? x->retry_after : hint >= 0 ? hint : 1;
        if (ra > GW_RETRY_AFTER_MAX) ra = GW_RETRY_AFTER_MAX;
        int secs = (int)ceil(ra);
        if (!x->counted) gw_meter_upstream_error(&c->gw->meter, c->model->up, "rate_limited");
        gw_call_finish(c, SONDE_LLM_RATE_LIMITED, NULL);
        gw_reply_error(c->req, 429, "rate_limit_exceeded", "upstream_rate_limited", secs,
                       "upstream '%s' is rate limiting the gateway; retry in %d s", up_name, secs);
        return;
    }
    if (x->status >= 400) { /* the client's request as the upstream saw it: pass it on */
        gw_meter_upstream_error(&c->gw->meter, c->model->up, "http_4xx");
        gw_call_finish(c, SONDE_LLM_ERROR, "http_4xx");
        json_t *j = x->line ? json_loads(x->line, 0, NULL) : NULL;
        if (j) gw_reply_json(c->req, (unsigned)x->status, gw_json_dumps(j), -1);
        else gw_reply_error(c->req, (unsigned)x->status, "upstream_error", "upstream_http_4xx", -1,
                            "upstream '%s' answered HTTP %ld", up_name, x->status);
        json_decref(j);
        return;
    }
    if (c->stream) {
        if (x->status != 200 || !x->started) {
            fail(x, "protocol", 502, SONDE_LLM_ERROR, "no event stream");
            return;
        }
        /* an event left unfinished at the end is dropped (WHATWG); without [DONE] the
         * stream is incomplete */
        gw_call_finish(c, x->done_seen ? SONDE_LLM_OK : SONDE_LLM_ERROR, x->done_seen ? NULL : "protocol");
        if (!x->done_seen) gw_meter_upstream_error(&c->gw->meter, c->model->up, "protocol");
        gw_stream_finish(c->req);
        return;
    }
    json_t *j = x->line ? json_loads(x->line, 0, NULL) : NULL;
    if (!json_is_object(j)) {
        json_decref(j);
        char m[96];
        snprintf(m, sizeof m, "the answer (HTTP %ld, %zu bytes) is not a JSON object", x->status, x->len);
        fail(x, "protocol", 502, SONDE_LLM_ERROR, m);
        return;
    }
    take_usage(c, json_object_get(j, "usage"));
    const char *model = json_string_value(json_object_get(j, "model"));
    if (model) snprintf(c->resp_model, sizeof c->resp_model, "%s", model);
    const char *id = json_string_value(json_object_get(j, "id"));
    if (id) snprintf(c->resp_id, sizeof c->resp_id, "%s", id);
    const char *fin = json_string_value(json_object_get(json_array_get(json_object_get(j, "choices"), 0),
                                                        "finish_reason"));
    if (fin) snprintf(c->finish, sizeof c->finish, "%s", fin);
    if (c->op == GW_OP_EMBEDDINGS) c->output_tokens = 0;
    size_t i;
    json_t *ch;
    json_array_foreach(json_object_get(j, "choices"), i, ch) {
        size_t k;
        json_t *t;
        json_array_foreach(json_object_get(json_object_get(ch, "message"), "tool_calls"), k, t) {
            const char *name = json_string_value(json_object_get(json_object_get(t, "function"), "name"));
            if (name) gw_meter_call_tool(c, name);
        }
    }
    json_object_set_new(j, "model", json_string(c->model_name));
    gw_call_finish(c, SONDE_LLM_OK, NULL);
    gw_reply_json(c->req, 200, gw_json_dumps(j), -1);
    json_decref(j);
}

static void xfer_free(gw_proxy *p, xfer *x)
{
    attempt_end(x, "cancelled"); /* ended already unless the call was given up */
    if (x->e) {
        curl_multi_remove_handle(p->multi, x->e);
        curl_easy_cleanup(x->e);
    }
    curl_slist_free_all(x->hdrs);
    gw_sse_parser_free(&x->sse);
    free(x->post);
    free(x->line);
    if (x->c) gw_call_free(x->c);
    free(x);
}

static int add(xfer *x)
{
    gw_call *c = x->c;
    const gw_upstream *u = c->model->up;
    const char *path = c->op == GW_OP_CHAT ? "/chat/completions"
                       : c->op == GW_OP_COMPLETION ? "/completions" : "/embeddings";
    char url[2048];
    snprintf(url, sizeof url, "%s%s", u->url, path);
    x->post = rewrite_body(c);
    x->e = curl_easy_init();
    if (!x->post || !x->e) return -1;
    x->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    x->hdrs = curl_slist_append(x->hdrs, c->stream ? "Accept: text/event-stream"
                                                    : "Accept: application/json");
    if (u->api_key) {
        char auth[1024];
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", u->api_key);
        x->hdrs = curl_slist_append(x->hdrs, auth);
    }
    x->span = sonde_span_start(c->gw->tracer, "POST", SONDE_SPAN_CLIENT, &c->trace);
    if (x->span) {
        sonde_attr a[4] = {SONDE_ATTR_STR("http.request.method", "POST"),
                           SONDE_ATTR_STR("server.address", u->host),
                           SONDE_ATTR_INT("server.port", u->port),
                           SONDE_ATTR_STR("gateway.upstream", u->name)};
        sonde_span_set_attrs(x->span, a, 4);
        sonde_span_context sc;
        sonde_trace_headers h;
        sonde_span_get_context(x->span, &sc);
        if (sonde_trace_headers_fill(&sc, &h) == SONDE_OK) { /* also unsampled: flags 00 */
            x->hdrs = curl_slist_append(x->hdrs, h.traceparent);
            if (h.tracestate[0]) x->hdrs = curl_slist_append(x->hdrs, h.tracestate);
        }
    }
    curl_easy_setopt(x->e, CURLOPT_URL, url);
    curl_easy_setopt(x->e, CURLOPT_HTTPHEADER, x->hdrs);
    curl_easy_setopt(x->e, CURLOPT_POSTFIELDS, x->post);
    curl_easy_setopt(x->e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(x->e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(x->e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(x->e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(x->e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(x->e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x->e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(x->e, CURLOPT_CONNECTTIMEOUT_MS, u->connect_timeout_ms);
    x->start_ns = gw_now_ns();
    curl_easy_setopt(x->e, CURLOPT_USERAGENT, "sonde-gateway/" SONDE_VERSION_STRING);
    return curl_multi_add_handle(c->gw->proxy->multi, x->e) == CURLM_OK ? 0 : -1;
}

/* The client has taken nothing of what waits for it for too long. */
static int client_stalled(const gw_proxy *p, xfer *x, uint64_t now)
{
    long limit = p->gw->cfg->client_idle_timeout_ms;
    return limit > 0 && gw_stream_unread_ns(x->c->req, now) > (uint64_t)limit * MS;
}

/* Why the upstream is too slow, or NULL: no first byte in time after the request
 * was sent (curl's pretransfer time), or silent mid-answer while not paused. */
static const char *upstream_slow(xfer *x, uint64_t now)
{
    const gw_upstream *u = x->c->model->up;
    if (!x->first_byte) {
        curl_off_t sent_us = 0;
        if (curl_easy_getinfo(x->e, CURLINFO_PRETRANSFER_TIME_T, &sent_us) != CURLE_OK || sent_us <= 0)
            return NULL; /* still connecting: curl's connect timeout applies */
        uint64_t sent_ns = x->start_ns + (uint64_t)sent_us * 1000u;
        return now > sent_ns && now - sent_ns > (uint64_t)u->first_byte_timeout_ms * MS
                   ? "no answer within first_byte_timeout_ms" : NULL;
    }
    return !x->paused && now > x->last_rx_ns && now - x->last_rx_ns > (uint64_t)u->idle_timeout_ms * MS
               ? "silent for longer than idle_timeout_ms mid-answer" : NULL;
}

static void *run(void *arg)
{
    gw_proxy *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->qmu);
        xfer *q = p->queue;
        p->queue = NULL;
        int stop = p->stop_flag;
        pthread_mutex_unlock(&p->qmu);
        while (q) {
            xfer *x = q;
            q = q->next;
            if (stop || add(x) != 0) {
                attempt_end(x, stop ? "cancelled" : "_OTHER");
                gw_call_finish(x->c, stop ? SONDE_LLM_CANCELLED : SONDE_LLM_ERROR, stop ? NULL : "_OTHER");
                if (!stop) gw_reply_error(x->c->req, 500, "server_error", NULL, -1,
                                          "could not start the upstream call");
                xfer_free(p, x);
                continue;
            }
            x->next = p->active;
            p->active = x;
        }
        /* resume the transfers whose client caught up, drop the clients that stopped
         * reading, end the transfers whose upstream is too slow, and those whose client
         * is gone (all of them, when stopping) */
        int any_paused = 0;
        uint64_t now = gw_now_ns();
        for (xfer **pp = &p->active; *pp;) {
            xfer *x = *pp;
            if (x->paused && !stop && gw_stream_backlog(x->c->req) < RESUME_BELOW) {
                x->paused = 0;
                x->last_rx_ns = now; /* the upstream is not blamed for the client's pause */
                curl_easy_pause(x->e, CURLPAUSE_CONT);
            }
            any_paused |= x->paused;
            if (!stop && x->started && client_stalled(p, x, now)) gw_req_abort(x->c->req);
            const char *slow = stop ? NULL : upstream_slow(x, now);
            if (stop || slow || gw_req_gone(x->c->req)) {
                *pp = x->next;
                if (slow && !gw_req_gone(x->c->req) && !x->started &&
                    (gw_meter_upstream_error(&p->gw->meter, x->c->model->up, "timeout"),
                     x->counted = 1, attempt_end(x, "timeout"), gw_route_retry(x->c, "timeout") == 0)) {
                    x->c = NULL; /* another deployment has it now */
                } else if (slow && !gw_req_gone(x->c->req)) {
                    fail(x, "timeout", 504, SONDE_LLM_TIMEOUT, slow);
                } else {
                    attempt_end(x, "cancelled");
                    if (x->started) gw_stream_finish(x->c->req);
                    gw_call_finish(x->c, SONDE_LLM_CANCELLED, NULL);
                }
                xfer_free(p, x);
            } else {
                pp = &x->next;
            }
        }
        if (stop) break;
        int running;
        curl_multi_perform(p->multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(p->multi, &left))) {
            if (m->msg != CURLMSG_DONE) continue;
            xfer *x;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            complete(x, m->data.result);
            for (xfer **pp = &p->active; *pp; pp = &(*pp)->next)
                if (*pp == x) {
                    *pp = x->next;
                    break;
                }
            xfer_free(p, x);
        }
        curl_multi_poll(p->multi, NULL, 0, any_paused ? 20 : 200, NULL);
    }
    return NULL;
}

/* curl_global_init() counts its calls (libcurl >= 7.84 also makes it thread-safe),
 * so each proxy takes and releases one reference. */
gw_proxy *gw_proxy_new(gateway *gw)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return NULL;
    gw_proxy *p = calloc(1, sizeof *p);
    if (!p || !(p->multi = curl_multi_init())) goto fail;
    p->gw = gw;
    pthread_mutex_init(&p->qmu, NULL);
    curl_multi_setopt(p->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
    if (pthread_create(&p->worker, NULL, run, p) == 0) return p;
    pthread_mutex_destroy(&p->qmu);
fail:
    if (p) curl_multi_cleanup(p->multi);
    free(p);
    curl_global_cleanup();
    return NULL;
}

int gw_proxy_start(gw_call *c)
{
    gw_proxy *p = c->gw->proxy;
    xfer *x = calloc(1, sizeof *x);
    if (!x) return -1;
    x->c = c;
    x->retry_after = x->retry_after_hint = -1;
    pthread_mutex_lock(&p->qmu);
    int stopping = p->stop_flag;
    if (!stopping) {
        x->next = p->queue;
        p->queue = x;
    }
    pthread_mutex_unlock(&p->qmu);
    if (stopping) {
        free(x);
        return -1;
    }
    curl_multi_wakeup(p->multi);
    return 0;
}

void gw_proxy_wake(gw_proxy *p)
{
    if (p) curl_multi_wakeup(p->multi);
}

void gw_proxy_stop(gw_proxy *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->qmu);
    int was = p->stop_flag;
    p->stop_flag = 1;
    pthread_mutex_unlock(&p->qmu);
    if (was) return;
    curl_multi_wakeup(p->multi);
    pthread_join(p->worker, NULL);
}

void gw_proxy_free(gw_proxy *p)
{
    if (!p) return;
    gw_proxy_stop(p);
    curl_multi_cleanup(p->multi);
    pthread_mutex_destroy(&p->qmu);
    free(p);
    curl_global_cleanup();
}

int gw_probe_all(gateway *gw)
{
    const gw_config *cfg = gw->cfg;
    int all = 1;
    for (size_t i = 0; i < cfg->nups; i++) {
        gw_upstream *u = cfg->ups[i];
        if (u->kind == GW_UP_SIM) continue;
        CURL *e = curl_easy_init();
        int up = 0;
        if (e) {
            curl_easy_setopt(e, CURLOPT_URL, u->url);
            curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
            curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
            curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, u->connect_timeout_ms);
            up = curl_easy_perform(e) == CURLE_OK;
            curl_easy_cleanup(e);
        }
        atomic_store(&u->up, up);
        gw_meter_upstream_up(&gw->meter, u, up);
        all &= up;
    }
    gw_meter_ready(&gw->meter, all);
    atomic_store(&gw->ready, all);
    return all;
}
