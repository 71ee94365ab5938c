/*
 * mcp_client.c - the MCP client of mcp_client.h: JSON-RPC 2.0 over one HTTP
 * endpoint (the streamable HTTP transport), with libcurl easy transfers.
 *
 * Each request is one POST; its answer is read into a buffer bounded by the
 * server's max_answer (a longer answer aborts the transfer), then parsed by
 * gw_mcp_parse_answer: a JSON body (one message or a batch) or an event
 * stream (sse_parse.c) whose "message" events hold JSON-RPC messages, of
 * which the one answering our id is taken; notifications and requests the
 * server interleaves are skipped. Nothing from the server is trusted: ids,
 * types and sizes are checked, and a session id is kept only when it is
 * visible ASCII of bounded length (the transport's rule).
 */
#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway.h" /* gw_json_dumps */
#include "mcp_client.h"
#include "sse_parse.h"

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
    (void)h;
    (void)access;
    gw_mcp_server *s = ud;
    pthread_mutex_lock(&s->share_mu[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ud)
{
    (void)h;
    gw_mcp_server *s = ud;
    pthread_mutex_unlock(&s->share_mu[data]);
}

gw_mcp_server *gw_mcp_server_new(const char *name, const char *url, const json_t *headers,
                                 const json_t *allowed_tools)
{
    if (!name || !url || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
        return NULL;
    gw_mcp_server *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->name = strdup(name);
    s->url = strdup(url);
    s->headers = headers ? json_deep_copy(headers) : json_object();
    s->allowed_tools = allowed_tools ? json_deep_copy(allowed_tools) : NULL;
    s->connect_timeout_ms = GW_MCP_CONNECT_TIMEOUT_MS;
    s->timeout_ms = GW_MCP_TIMEOUT_MS;
    s->max_answer = GW_MCP_MAX_ANSWER;
    s->next_id = 1;
    pthread_mutex_init(&s->mu, NULL);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++) pthread_mutex_init(&s->share_mu[i], NULL);
    s->connections = curl_share_init();
    if (s->connections &&
        (curl_share_setopt(s->connections, CURLSHOPT_LOCKFUNC, share_lock) != CURLSHE_OK ||
         curl_share_setopt(s->connections, CURLSHOPT_UNLOCKFUNC, share_unlock) != CURLSHE_OK ||
         curl_share_setopt(s->connections, CURLSHOPT_USERDATA, s) != CURLSHE_OK ||
         curl_share_setopt(s->connections, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK)) {
        curl_share_cleanup(s->connections);
        s->connections = NULL;
    }
    if (!s->name || !s->url || !s->headers || (allowed_tools && !s->allowed_tools) ||
        !s->connections) {
        gw_mcp_server_free(s);
        return NULL;
    }
    return s;
}

void gw_mcp_server_free(gw_mcp_server *s)
{
    if (!s) return;
    curl_share_cleanup(s->connections); /* after the last transfer: the caller's promise */
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++) pthread_mutex_destroy(&s->share_mu[i]);
    pthread_mutex_destroy(&s->mu);
    free(s->name);
    free(s->url);
    json_decref(s->headers);
    json_decref(s->allowed_tools);
    json_decref(s->tools);
    free(s);
}

/* ---- answers ------------------------------------------------------------- */

typedef struct match {
    long id;
    json_t *result;
    char *err;
    size_t errlen;
    int found;
} match;

/* 1 when msg answers m->id (result or error taken), 0 when it is something else. */
static int take(match *m, json_t *msg)
{
    json_t *id = json_object_get(msg, "id");
    if (!json_is_integer(id) || json_integer_value(id) != m->id) return 0;
    json_t *res = json_object_get(msg, "result"), *e = json_object_get(msg, "error");
    m->found = 1;
    if (json_is_object(res)) {
        m->result = json_incref(res);
    } else if (json_is_object(e)) {
        const char *text = json_string_value(json_object_get(e, "message"));
        json_t *code = json_object_get(e, "code");
        snprintf(m->err, m->errlen, "MCP error %lld: %.200s",
                 json_is_integer(code) ? (long long)json_integer_value(code) : 0LL,
                 text ? text : "(no message)");
    } else {
        snprintf(m->err, m->errlen, "the answer to request %ld has neither result nor error",
                 m->id);
    }
    return 1;
}

static int take_json(match *m, json_t *j)
{
    if (json_is_object(j)) return take(m, j);
    if (json_is_array(j)) { /* a batch */
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) if (json_is_object(v) && take(m, v)) return 1;
    }
    return 0;
}

static int on_event(void *ud, const gw_sse_event *ev)
{
    match *m = ud;
    if (*ev->type && strcmp(ev->type, "message") != 0) return 0;
    json_t *j = json_loadb(ev->data, ev->data_len, 0, NULL);
    int done = j && take_json(m, j);
    json_decref(j);
    return done;
}

int gw_mcp_parse_answer(const char *ctype, const char *body, size_t len, long id, json_t **result,
                        char *err, size_t errlen)
{
    *result = NULL;
    match m = {.id = id, .err = err, .errlen = errlen};
    if (errlen) err[0] = 0;
    if (ctype && strncasecmp(ctype, "text/event-stream", 17) == 0) {
        gw_sse_parser p;
        gw_sse_parser_init(&p, len + 1);
        int rc = gw_sse_feed(&p, body, len, on_event, &m);
        if (rc == 0) rc = gw_sse_feed(&p, "\n\n", 2, on_event, &m); /* a last unended event */
        gw_sse_parser_free(&p);
        if (rc < 0) {
            snprintf(err, errlen, "the MCP server's event stream is malformed");
            return -1;
        }
    } else {
        json_error_t je;
        json_t *j = json_loadb(body, len, 0, &je);
        if (!j) {
            snprintf(err, errlen, "the MCP server answered something that is not JSON: %.100s",
                     je.text);
            return -1;
        }
        take_json(&m, j);
        json_decref(j);
    }
    if (!m.found) {
        snprintf(err, errlen, "the MCP server's answer holds no answer to request %ld", id);
        return -1;
    }
    if (!m.result) return -1;
    *result = m.result;
    return 0;
}

char *gw_mcp_result_text(const json_t *result, size_t max)
{
    size_t cap = 256, len = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    out[0] = 0;
    size_t i;
    json_t *part;
    json_array_foreach(json_object_get(result, "content"), i, part) {
        const char *type = json_string_value(json_object_get(part, "type"));
        char *dump = NULL;
        const char *t;
        if (type && strcmp(type, "text") == 0 && json_is_string(json_object_get(part, "text")))
            t = json_string_value(json_object_get(part, "text"));
        else
            t = dump = json_dumps(part, JSON_COMPACT);
        size_t n = t ? strlen(t) : 0, sep = len ? 1 : 0;
        if (len + sep + n + 1 > max) n = max > len + sep + 1 ? max - len - sep - 1 : 0;
        if (len + n + 2 > cap) {
            while (len + n + 2 > cap) cap *= 2;
            char *g = realloc(out, cap);
            if (!g) {
                free(dump);
                free(out);
                return NULL;
            }
            out = g;
        }
        if (sep && n) out[len++] = '\n';
        memcpy(out + len, t, n);
        len += n;
        out[len] = 0;
        free(dump);
    }
    return out;
}

/* ---- transfers ----------------------------------------------------------- */

typedef struct answer {
    char *buf;
    size_t len, cap, max;
    int too_large;
    char session[GW_MCP_SESSION_MAX + 1];
    char ctype[128];  /* the answer's Content-Type, cut */
    gw_mcp_cancel_fn cancel;
    void *cancel_arg;
} answer;

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    answer *a = ud;
    return a->cancel && a->cancel(a->cancel_arg) ? 1 : 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    answer *a = ud;
    size_t k = size * n;
    if (a->len + k > a->max) {
        a->too_large = 1;
        return 0; /* aborts the transfer */
    }
    if (a->len + k + 1 > a->cap) {
        size_t cap = a->cap ? a->cap : 4096;
        while (a->len + k + 1 > cap) cap *= 2;
        char *g = realloc(a->buf, cap);
        if (!g) return 0;
        a->buf = g;
        a->cap = cap;
    }
    memcpy(a->buf + a->len, p, k);
    a->len += k;
    a->buf[a->len] = 0;
    return k;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    answer *a = ud;
    size_t k = size * n;
    if (k > 15 && strncasecmp(p, "mcp-session-id:", 15) == 0) {
        size_t i = 15, o = 0;
        while (i < k && (p[i] == ' ' || p[i] == '\t')) i++;
        while (i < k && p[i] > 0x20 && p[i] < 0x7f && o < GW_MCP_SESSION_MAX) a->session[o++] = p[i++];
        a->session[o] = 0;
        if (i < k && p[i] != '\r' && p[i] != '\n') a->session[0] = 0; /* too long or not visible ASCII */
    }
    return k;
}

/* POST one JSON-RPC message with the caller's handle (reset first when it last served
 * another server: every option is set again each time anyway; its share let go after) or
 * one of its own (curl NULL); *status the HTTP status (0: no answer). The answer's body and
 * session id land in *a (a->buf freed by the caller). 0, or -1 and err. */
static int post(gw_mcp_server *s, CURL *curl, const char *session, int initialized,
                const char *payload, gw_mcp_cancel_fn cancel, void *cancel_arg, answer *a,
                long *status, char *err, size_t errlen)
{
    *status = 0;
    memset(a, 0, sizeof *a);
    a->max = s->max_answer;
    a->cancel = cancel;
    a->cancel_arg = cancel_arg;
    CURL *h = curl ? curl : curl_easy_init();
    if (curl) {
        char *last = NULL;
        curl_easy_getinfo(curl, CURLINFO_PRIVATE, &last);
        if (last != (char *)s) curl_easy_reset(curl);
        curl_easy_setopt(curl, CURLOPT_PRIVATE, (char *)s);
    }
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct curl_slist *hd = NULL, *t;
    char line[GW_MCP_SESSION_MAX + 64];
    hd = curl_slist_append(hd, "Content-Type: application/json");
    if (hd && (t = curl_slist_append(hd, "Accept: application/json, text/event-stream"))) hd = t;
    if (hd && initialized &&
        (t = curl_slist_append(hd, "MCP-Protocol-Version: " GW_MCP_PROTOCOL_VERSION))) hd = t;
    if (hd && session && *session) {
        snprintf(line, sizeof line, "Mcp-Session-Id: %s", session);
        if ((t = curl_slist_append(hd, line))) hd = t;
    }
    const char *k;
    json_t *v;
    json_object_foreach(s->headers, k, v) {
        char *hl = NULL;
        if (!json_is_string(v)) continue;
        size_t n = strlen(k) + json_string_length(v) + 3;
        if ((hl = malloc(n))) {
            snprintf(hl, n, "%s: %s", k, json_string_value(v));
            if (hd && (t = curl_slist_append(hd, hl))) hd = t;
            free(hl);
        }
    }
    curl_easy_setopt(h, CURLOPT_URL, s->url);
    curl_easy_setopt(h, CURLOPT_SHARE, s->connections);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, s->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, s->timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, cancel ? 0L : 1L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, a);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "sonde-gateway");
    CURLcode rc = curl_easy_perform(h);
    int out = 0;
    if (a->too_large) {
        snprintf(err, errlen, "the MCP server '%s' answered more than %zu bytes", s->name,
                 s->max_answer);
        out = -1;
    } else if (rc == CURLE_ABORTED_BY_CALLBACK) {
        snprintf(err, errlen, "the call to MCP server '%s' was cancelled", s->name);
        out = -1;
    } else if (rc != CURLE_OK) {
        snprintf(err, errlen, "the MCP server '%s' could not be reached: %s", s->name,
                 curl_easy_strerror(rc));
        out = -1;
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
        char *ct = NULL;
        curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
        if (ct) snprintf(a->ctype, sizeof a->ctype, "%s", ct);
        if (!a->buf) { /* an empty body */
            a->buf = calloc(1, 2);
            a->cap = 2;
        }
    }
    if (curl) { /* the server's share may go before the handle's next request */
        curl_easy_setopt(h, CURLOPT_SHARE, NULL);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    } else {
        curl_easy_cleanup(h);
    }
    curl_slist_free_all(hd);
    return out;
}

/* Send method(params) and return the result; -2 for a 404 with a session (forgotten). */
static int request(gw_mcp_server *s, CURL *curl, const char *session, int initialized,
                   const char *method,
                   json_t *params, long id, gw_mcp_cancel_fn cancel, void *cancel_arg,
                   json_t **result, char *new_session, char *err, size_t errlen)
{
    json_t *msg = json_pack("{s:s, s:I, s:s}", "jsonrpc", "2.0", "id", (json_int_t)id, "method",
                            method);
    if (msg && params) json_object_set(msg, "params", params);
    char *payload = msg ? gw_json_dumps(msg) : NULL;
    json_decref(msg);
    if (!payload) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    answer a;
    long status;
    int rc = post(s, curl, session, initialized, payload, cancel, cancel_arg, &a, &status, err,
                  errlen);
    free(payload);
    if (rc == 0 && status == 404 && session && *session) rc = -2;
    else if (rc == 0 && status != 200) {
        snprintf(err, errlen, "the MCP server '%s' answered HTTP %ld to %s", s->name, status,
                 method);
        rc = -1;
    } else if (rc == 0) {
        rc = gw_mcp_parse_answer(a.ctype, a.buf, a.len, id, result, err, errlen);
        if (new_session) snprintf(new_session, GW_MCP_SESSION_MAX + 1, "%s", a.session);
    }
    free(a.buf);
    return rc;
}

/* initialize + notifications/initialized; s->mu held. */
static int initialize(gw_mcp_server *s, char *err, size_t errlen)
{
    s->initialized = 0;
    s->session[0] = 0;
    json_t *params = json_pack("{s:s, s:{}, s:{s:s, s:s}}", "protocolVersion",
                               GW_MCP_PROTOCOL_VERSION, "capabilities", "clientInfo", "name",
                               "sonde-gateway", "version", "1");
    json_t *res = NULL;
    int rc = request(s, NULL, NULL, 0, "initialize", params, s->next_id++, NULL, NULL, &res,
                     s->session, err, errlen);
    json_decref(params);
    json_decref(res);
    if (rc != 0) {
        s->session[0] = 0;
        if (rc == -2) snprintf(err, errlen, "the MCP server '%s' answered 404 to initialize", s->name);
        return -1;
    }
    answer a;
    long status;
    rc = post(s, NULL, s->session, 1, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
              NULL, NULL, &a, &status, err, errlen);
    free(a.buf);
    if (rc == 0 && status != 200 && status != 202) {
        snprintf(err, errlen, "the MCP server '%s' answered HTTP %ld to notifications/initialized",
                 s->name, status);
        rc = -1;
    }
    if (rc == 0) s->initialized = 1;
    return rc;
}

static int allowed(const gw_mcp_server *s, const char *name)
{
    if (!s->allowed_tools) return 1;
    size_t i;
    json_t *v;
    json_array_foreach(s->allowed_tools, i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), name) == 0) return 1;
    return 0;
}

int gw_mcp_list_tools(gw_mcp_server *s, json_t **tools, char *err, size_t errlen)
{
    pthread_mutex_lock(&s->mu);
    int rc = 0;
    for (int attempt = 0; !s->tools && attempt < 2; attempt++) {
        if (!s->initialized && (rc = initialize(s, err, errlen)) != 0) break;
        json_t *res = NULL;
        rc = request(s, NULL, s->session, 1, "tools/list", NULL, s->next_id++, NULL, NULL, &res, NULL, err,
                     errlen);
        if (rc == -2) { /* the session was forgotten: once more with a new one */
            s->initialized = 0;
            snprintf(err, errlen, "the MCP server '%s' forgot its session", s->name);
            continue;
        }
        if (rc != 0) break;
        json_t *list = json_object_get(res, "tools"), *keep = json_array();
        size_t i;
        json_t *t;
        json_array_foreach(list, i, t) {
            const char *name = json_string_value(json_object_get(t, "name"));
            if (!json_is_object(t) || !name || !*name || strlen(name) > 64 || !allowed(s, name))
                continue;
            if (json_array_size(keep) >= GW_MCP_MAX_TOOLS) break;
            json_array_append(keep, t);
        }
        int listed = json_is_array(list);
        json_decref(res);
        if (!listed) {
            json_decref(keep);
            snprintf(err, errlen, "the MCP server '%s' answered tools/list without tools", s->name);
            rc = -1;
            break;
        }
        s->tools = keep;
    }
    *tools = s->tools;
    pthread_mutex_unlock(&s->mu);
    return s->tools && rc == 0 ? 0 : -1;
}

int gw_mcp_call_tool(gw_mcp_server *s, const char *name, json_t *arguments, CURL *curl,
                     gw_mcp_cancel_fn cancel, void *cancel_arg, json_t **result, char *err,
                     size_t errlen)
{
    *result = NULL;
    if (!allowed(s, name)) {
        snprintf(err, errlen, "the tool '%.64s' is not allowed on MCP server '%s'", name, s->name);
        return -1;
    }
    json_t *params = json_pack("{s:s, s:o}", "name", name, "arguments",
                               arguments ? json_incref(arguments) : json_object());
    int rc = -1;
    for (int attempt = 0; attempt < 2; attempt++) {
        char session[GW_MCP_SESSION_MAX + 1];
        pthread_mutex_lock(&s->mu);
        rc = s->initialized ? 0 : initialize(s, err, errlen);
        memcpy(session, s->session, sizeof session);
        long id = s->next_id++;
        pthread_mutex_unlock(&s->mu);
        if (rc != 0) break;
        rc = request(s, curl, session, 1, "tools/call", params, id, cancel, cancel_arg, result, NULL,
                     err, errlen);
        if (rc != -2) break;
        pthread_mutex_lock(&s->mu);
        if (strcmp(session, s->session) == 0) s->initialized = 0; /* nobody renewed it yet */
        pthread_mutex_unlock(&s->mu);
        snprintf(err, errlen, "the MCP server '%s' forgot its session", s->name);
        rc = -1;
    }
    json_decref(params);
    return rc;
}
