/*
 * mcp_client.h - a Model Context Protocol client over the streamable HTTP
 * transport (private to sonde-gateway).
 *
 * One gw_mcp_server is one MCP endpoint: JSON-RPC 2.0 requests are POSTed to
 * its URL (Accept: application/json, text/event-stream); the answer is a JSON
 * body or an event stream whose events carry JSON-RPC messages
 * (gw_mcp_parse_answer, pure, fuzzed). The first use sends `initialize`
 * (protocol version, client info), keeps the `Mcp-Session-Id` the server
 * gives and sends it on every later request, then the
 * `notifications/initialized` notification. `tools/list` is asked once and
 * cached; a server that forgot the session (404) is initialized again once.
 * Every request is a blocking libcurl transfer bounded by a connect timeout,
 * a total timeout and a maximum answer size, so callers run it on a worker
 * thread (agent.c), never on an HTTP thread; a tool call may bring the
 * caller's easy handle, kept from one request to the next. A server's state (session, tool
 * cache) is guarded by its mutex; tool calls themselves run concurrently, and
 * share the server's connection cache (a libcurl share object), so a call
 * reuses an idle kept-alive connection instead of connecting again.
 */
#ifndef GW_MCP_CLIENT_H
#define GW_MCP_CLIENT_H

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stddef.h>

#define GW_MCP_PROTOCOL_VERSION "2025-03-26"
#define GW_MCP_CONNECT_TIMEOUT_MS 2000L
#define GW_MCP_TIMEOUT_MS 30000L
#define GW_MCP_MAX_ANSWER (4u << 20)   /* bytes of one answer */
#define GW_MCP_MAX_TOOLS 128           /* tools kept per server */
#define GW_MCP_SESSION_MAX 256         /* bytes of a session id */

typedef struct gw_mcp_server {
    char *name;               /* server_label */
    char *url;
    json_t *headers;          /* object name -> string value, sent on every request */
    json_t *allowed_tools;    /* array of names, NULL = all */
    long connect_timeout_ms, timeout_ms;
    size_t max_answer;
    CURLSH *connections;      /* the connection cache of the server's transfers */
    pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST]; /* its locks, one per kind of data */
    pthread_mutex_t mu;       /* guards what follows */
    char session[GW_MCP_SESSION_MAX + 1];
    int initialized;
    json_t *tools;            /* the cached tools/list result's tools (allowed ones) */
    long next_id;
} gw_mcp_server;

/* A server named `name` at `url` (headers, allowed_tools may be NULL; both are copied).
 * NULL when out of memory or the URL is not http(s). */
gw_mcp_server *gw_mcp_server_new(const char *name, const char *url, const json_t *headers,
                                 const json_t *allowed_tools);
void gw_mcp_server_free(gw_mcp_server *s);

/* The answer to the request with JSON-RPC id `id` in an HTTP answer body whose Content-Type
 * is ctype (JSON, or an event stream of JSON messages): 0 and *result (a new reference) for a
 * result, -1 and err for an error answer, garbage, no answer to id, or more than max bytes. */
int gw_mcp_parse_answer(const char *ctype, const char *body, size_t len, long id, json_t **result,
                        char *err, size_t errlen);

/* The server's tools (borrowed from its cache, valid while the server lives): 0, or -1
 * and err. Initializes the session first when needed. */
int gw_mcp_list_tools(gw_mcp_server *s, json_t **tools, char *err, size_t errlen);

/* Whether a transfer should stop now (its caller's client is gone, the gateway stops):
 * polled by libcurl while the transfer runs (about once a second when idle). */
typedef int (*gw_mcp_cancel_fn)(void *arg);

/* Call tool `name` with arguments (an object, may be NULL): 0 and *result (the
 * CallToolResult, a new reference; its isError may be true), or -1 and err when the
 * server could not be asked or answered an error, or cancel (may be NULL) said stop.
 * curl: the caller's easy handle, reused between its requests (reset before each, its
 * multi handle and caches kept; never used by two threads at once), or NULL for a
 * handle of the request's own. */
int gw_mcp_call_tool(gw_mcp_server *s, const char *name, json_t *arguments, CURL *curl,
                     gw_mcp_cancel_fn cancel, void *cancel_arg, json_t **result, char *err,
                     size_t errlen);

/* The text of a CallToolResult's content (text parts joined with LF; other parts as their
 * JSON), malloc'd and cut at max bytes; NULL when out of memory. */
char *gw_mcp_result_text(const json_t *result, size_t max);

#endif
