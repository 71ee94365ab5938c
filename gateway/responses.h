/*
 * responses.h - the Responses API's private parts: the request parser and the
 * translation to and from chat completions (responses_translate.c, pure
 * functions: tested and fuzzed in-process), and the accumulator that turns an
 * upstream's chat completion chunks into output items and, when streaming,
 * into the typed events with their sequence_number.
 *
 * Items are JSON as the API writes them: a message
 * {"type":"message","role",..,"content":[parts]}, a function_call
 * {"call_id","name","arguments"}, a function_call_output {"call_id","output"}.
 * Input is normalised on parse (a string becomes one user message, a
 * message's string content one input_text part, every item gets an id), so
 * stored input items and the conversation context read the same way.
 */
#ifndef GW_RESPONSES_H
#define GW_RESPONSES_H
#include <jansson.h>

#include "gateway.h"

#define GW_RESP_MAX_ITEMS 1024      /* input items of one request */
#define GW_RESP_MAX_CONTEXT 4096    /* items of a whole conversation */
#define GW_RESP_MAX_PARTS 256       /* content parts of one message */
#define GW_RESP_MAX_TOOLS 128
#define GW_RESP_MAX_CALLS 64        /* tool calls in one model answer */
#define GW_RESP_MAX_METADATA 16     /* metadata pairs: key <= 64, value <= 512 bytes */
#define GW_RESP_MAX_ID 128          /* ids and names */
#define GW_RESP_MAX_TEXT (4u << 20) /* output text or arguments of one item (bytes) */

/* A parsed request (the body stays the caller's; pointers borrow from it). */
typedef struct gw_resp_request {
    const char *model;
    const char *instructions;         /* NULL: none */
    const char *previous_response_id; /* NULL: none */
    json_t *input;                    /* this request's input items, normalised (owned) */
    int stream, store;
    long max_output_tokens;           /* 0: none */
} gw_resp_request;

/* Validate a /v1/responses body (a JSON object): 0 and *q filled, or -1 and *e names the
 * field (param, e.g. "input[2].role") and the reason. */
int gw_resp_parse(const json_t *body, gw_resp_request *q, gw_invalid *e);
void gw_resp_request_clear(gw_resp_request *q);

/* The chat completions request (streamed, with usage) for the conversation items (a
 * previous context then this input) and the request's settings; NULL when out of memory. */
json_t *gw_resp_chat_request(const json_t *body, const gw_resp_request *q, const json_t *items);

/* A fresh id "<prefix>_" followed by 24 hex digits of randomness. */
void gw_resp_new_id(const char *prefix, char *buf, size_t len);

/* The Response object, status "in_progress", empty output, no usage, echoing body's
 * settings. */
json_t *gw_resp_object(const json_t *body, const gw_resp_request *q, const char *id,
                       long created_at);

/* ---- chunks to output items -------------------------------------------- */

/* Receives each typed event (owned by the caller; it is freed after the call). */
typedef int (*gw_resp_emit_fn)(void *ud, json_t *event);

typedef struct gw_resp_call_state {
    int out_index;  /* its item's index in output */
    char *args;
    size_t len, cap;
} gw_resp_call_state;

typedef struct gw_resp_acc {
    json_t *output;       /* the output items so far */
    int msg_index;        /* the open message item's index, -1: none */
    char *text;           /* its text so far */
    size_t text_len, text_cap;
    gw_resp_call_state calls[GW_RESP_MAX_CALLS]; /* by the chunks' tool_calls index */
    int ncalls;
    long input_tokens, output_tokens;
    int usage_known;
    char finish[32];
    char model[128];
    long seq;             /* the next event's sequence_number */
    gw_resp_emit_fn emit; /* NULL: whole answer, no events */
    void *ud;
    int failed;           /* an emit failed (the client is gone) */
} gw_resp_acc;

void gw_resp_acc_init(gw_resp_acc *a, gw_resp_emit_fn emit, void *ud);
void gw_resp_acc_free(gw_resp_acc *a);
/* Emit one event of type, numbering it, with the fields json_pack(fmt, ...) makes (only
 * when the accumulator emits: a whole answer builds none, so fmt must not steal
 * references ("o")); 0 or -1. */
int gw_resp_acc_event(gw_resp_acc *a, const char *type, const char *fmt, ...);
/* Take one chat.completion.chunk; 0, or -1 with *why for a chunk that breaks the bounds. */
int gw_resp_acc_chunk(gw_resp_acc *a, const json_t *chunk, const char **why);
/* Close the open items (their done events); then a->output is final. */
int gw_resp_acc_finish(gw_resp_acc *a);
/* Fill resp with the final status from the finish reason (completed or incomplete with
 * incomplete_details), output, usage and completed_at. */
void gw_resp_acc_result(const gw_resp_acc *a, json_t *resp, long completed_at);
#endif
