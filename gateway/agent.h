/*
 * agent.h - the agentic tool loop of sonde-gateway (private to the program).
 *
 * A run is given a chat-completions request (model, messages, function
 * tools) and the request's MCP tools ({"type":"mcp", "server_label",
 * "server_url", "allowed_tools", "headers", "require_approval":"never"}); it
 * lists the MCP servers' tools (mcp_client.c, cached per server), offers them
 * to the model as function tools, executes the model's calls of them (the
 * calls of one answer concurrently), appends each result as a tool message,
 * and calls the model again until it answers without MCP tool calls, or
 * max_tool_calls or the configured iteration cap is reached. It runs on one
 * of the gateway's agent workers (never an HTTP thread: a pool of threads
 * started as runs need them, at most GW_AGENT_MAX_RUNS, of which up to
 * GW_AGENT_IDLE_WORKERS stay for the next runs); model calls go through the
 * gateway's upstream path (sim or proxy) with a tapped request (gw_req_tap)
 * so that every provider call is metered and charged to the key as any
 * other; each tool execution is an execute_tool record with its status and
 * duration, the run one invoke_agent record (agent name "gateway"); with a
 * tracer, their GenAI spans (the run's a child of the request's SERVER span,
 * its model calls and execute_tool spans children of the run's).
 *
 * The boundary for front ends (chat completions and /v1/responses use it):
 * input = model, messages, tools, MCP tools; output = gw_agent_result, the
 * last model answer with the usage summed over the loop and the mcp_call
 * items (after the Responses API's item of that name).
 */
#ifndef GW_AGENT_H
#define GW_AGENT_H

#include "gateway.h"

#define GW_AGENT_MAX_RUNS 256        /* concurrent runs per gateway */
#define GW_AGENT_IDLE_WORKERS 4      /* idle workers kept for the next runs */
#define GW_AGENT_MAX_TOOL_CALLS 64   /* tool calls per run when the request names none */
#define GW_AGENT_PARALLEL_MAX 16     /* tool calls executed at once */
#define GW_AGENT_TOOL_OUTPUT_MAX (64u << 10) /* bytes of a tool's text kept */

typedef struct gw_agent_result {
    unsigned status;      /* 200, or the HTTP status of the failure */
    json_t *answer;       /* 200: the last chat completion (usage = the loop's sums);
                             else the error body ({"error": {...}}) */
    json_t *items;        /* [{"type":"mcp_call","id","server_label","name","arguments",
                             "output" | "error"}] in execution order */
    json_t *listed;       /* [{"server_label", "tools": the server's tools/list tools}]: the
                             servers whose tools the run offered, in the request's order */
    long input_tokens, output_tokens;
    int iterations;       /* model calls made */
    const char *stop;     /* "answered", "max_tool_calls", "max_iterations", "error",
                             "cancelled" */
} gw_agent_result;

/* Called once, on the run's worker, when the run ends; res is freed after it returns (done
 * may take res->answer, items and listed: it sets them NULL). */
typedef void (*gw_agent_done_fn)(void *arg, gw_agent_result *res);

/* Set up the gateway's run accounting / wait for its runs to end (gateway.c). */
int gw_agents_init(gateway *gw);
void gw_agents_drain(gateway *gw);

/* Whether a chat request's tools hold an MCP tool. */
int gw_agent_wanted(const json_t *body);

/*
 * Start a run for client request r: body is the validated chat request (taken: its MCP tools
 * are moved out, "stream" and "max_tool_calls" removed). 0 when started (done is called
 * later); else the HTTP status to refuse with (400: unknown server label, or a URL not
 * allowed; 503: too many runs) and err says why; body is freed either way.
 */
unsigned gw_agent_start(gateway *gw, gw_req *r, const gw_key *key, json_t *body,
                        gw_agent_done_fn done, void *arg, char *err, size_t errlen);

/* The chat completions front end: start a run that answers r with the final chat
 * completion plus "mcp_calls" (the items); refusals answered at once. */
void gw_agent_chat(gateway *gw, gw_req *r, const gw_key *key, json_t *body);

#endif
