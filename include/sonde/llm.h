/*
 * sonde/llm.h - LLM, tool and agent instrumentation after the OpenTelemetry
 * GenAI semantic conventions.
 *
 * A sonde_llm module registers, on one registry, the GenAI families
 * (gen_ai_client_operation_duration_seconds, gen_ai_client_token_usage,
 * gen_ai_client_time_to_first_chunk_seconds,
 * gen_ai_client_time_per_output_chunk_seconds,
 * gen_ai_server_request_duration_seconds,
 * gen_ai_server_time_to_first_token_seconds,
 * gen_ai_server_time_per_output_token_seconds) with the conventions' labels
 * and advised buckets, and the service families under a prefix P
 * (P_provider_calls_total, P_provider_latency_seconds, P_tokens_total,
 * P_streams_in_flight, P_calls_in_flight, P_tool_executions_total,
 * P_tool_duration_seconds, P_agent_executions_total,
 * P_agent_duration_seconds, P_rate_limit_rejections_total, P_cost_total,
 * P_finish_reasons_total). docs/llm.md is the full metric reference.
 *
 * Around every model call the service runs a call tracker:
 *
 *   sonde_llm_call call;                       // caller's memory, no allocation
 *   sonde_llm_request rq = {.operation = "chat", .provider = "openai",
 *                           .model = "gpt-4o", .server_address = "api.openai.com",
 *                           .server_port = 443, .streaming = 1};
 *   sonde_llm_call_begin(llm, &call, &rq);
 *   for each streamed chunk: sonde_llm_call_tokens(&call, tokens_in_chunk);
 *   sonde_llm_result res = {.status = SONDE_LLM_OK, .response_model = "gpt-4o-2024-08-06",
 *                           .input_tokens = 120, .output_tokens = -1,
 *                           .finish_reason = "stop"};
 *   sonde_llm_call_end(&call, &res);
 *
 * Tools and agents use the same tracker (sonde_llm_tool_begin,
 * sonde_llm_agent_begin) and end with sonde_llm_call_end.
 *
 * Cost. Once the label tuples of a call have been seen, begin and end only
 * look cached series up (no lock, no allocation) and update them; the first
 * call of a new tuple creates its series. Durations use the library's
 * monotonic clock (sonde_now_ns; tests may replace it with sonde_set_clock).
 *
 * Cardinality. Every family has the module's cardinality limit; a call whose
 * tuple lands past a family's limit is dropped by that family as in the core.
 * The module also caches at most that many (operation, provider, model,
 * server, tool/agent name) tuples: past it, begin returns SONDE_ELIMIT and the
 * call records nothing.
 *
 * Thread safety. Every function may run on any thread. A call may be begun on
 * one thread and ended (or abandoned) on another, also while a third thread
 * still reports tokens. sonde_llm_call_tokens() calls of one call must not run
 * concurrently with each other (one thread reads a stream at a time).
 */
#ifndef SONDE_LLM_H
#define SONDE_LLM_H

#include <stddef.h>
#include <stdint.h>

#include "export.h"
#include "metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sonde_llm sonde_llm;
typedef struct sonde_llm_prices sonde_llm_prices;

/* Which side of the model call this process measures (sonde_llm_opts.roles). */
#define SONDE_LLM_CLIENT 1 /* gen_ai_client_* families */
#define SONDE_LLM_SERVER 2 /* gen_ai_server_* families */

/* A token count that is not known (sonde_llm_result). */
#define SONDE_LLM_UNKNOWN (-1)

/* Options of a module. Zero-initialise, then fill. */
typedef struct sonde_llm_opts {
    const char *prefix;       /* service families' prefix without the '_', e.g. "gateway";
                                 NULL or "" = none ("provider_calls_total") */
    int roles;                /* SONDE_LLM_CLIENT | SONDE_LLM_SERVER; 0 = both */
    int legacy_system_label;  /* non-zero: the GenAI families also carry gen_ai_system
                                 (same value as gen_ai_provider_name) for older dashboards */
    const sonde_llm_prices *prices; /* per-model prices, copied; NULL = no P_cost_total */
    size_t cardinality_limit; /* per family, and tuples cached; 0 = the registry's limit */
    int native_histograms;    /* non-zero: the gen_ai_ histograms (operation and request
                                 duration, time to first token/chunk, time per output
                                 token/chunk, token usage) are native too (schema 3, at most
                                 160 buckets), keeping their classic GenAI buckets for
                                 scrapers that do not ask for protobuf */
} sonde_llm_opts;

/* How a call, tool execution or agent run ended; the status label's values. */
typedef enum sonde_llm_status {
    SONDE_LLM_OK = 0,       /* "ok" */
    SONDE_LLM_ERROR,        /* "error", error_type "_OTHER" unless given */
    SONDE_LLM_CANCELLED,    /* "cancelled", error_type "cancelled" unless given */
    SONDE_LLM_TIMEOUT,      /* "timeout", error_type "timeout" unless given */
    SONDE_LLM_RATE_LIMITED  /* "rate_limited", error_type "rate_limited" unless given */
} sonde_llm_status;

/* What a model call asks for. */
typedef struct sonde_llm_request {
    const char *operation;      /* required: "chat", "text_completion", "embeddings", ... */
    const char *provider;       /* required; normalised (sonde_llm_provider_normalize) */
    const char *model;          /* request model; NULL = unknown */
    const char *server_address; /* NULL = unknown */
    int server_port;            /* 1..65535; 0 = unknown */
    int streaming;              /* non-zero for a streamed response */
} sonde_llm_request;

/* How a call ended. A NULL result means {SONDE_LLM_OK} with unknown tokens. */
typedef struct sonde_llm_result {
    sonde_llm_status status;
    const char *error_type;     /* NULL or "" = the status's default. With SONDE_LLM_OK a
                                   non-empty error_type makes the call an SONDE_LLM_ERROR. */
    const char *response_model; /* NULL = unknown (label "") */
    int64_t input_tokens;       /* < 0 = unknown (not recorded) */
    int64_t output_tokens;      /* < 0 = unknown; the larger of this and the count reported
                                   through sonde_llm_call_tokens() is used */
    const char *finish_reason;  /* e.g. "stop", "length"; NULL = none */
} sonde_llm_result;

/*
 * A call tracker: a plain struct in the caller's memory (stack, request
 * object). Its fields are private. begin fills it; nothing else needs
 * initialising. After end or abandon it may be begun again.
 */
typedef struct sonde_llm_call {
    void *route_;
    uint64_t start_ns_;
    uint64_t first_token_ns_;
    uint64_t first_chunk_ns_;
    uint64_t chunks_;
    uint64_t tokens_;
    int state_;
    int streaming_;
} sonde_llm_call;

/* ---- the module ------------------------------------------------------ */

/*
 * Register every family on reg and create the module. opts NULL = defaults.
 * SONDE_EINVAL (NULL reg/out, bad roles), SONDE_ENAME (bad prefix),
 * SONDE_EEXIST (a family is already registered: one module per registry and
 * prefix), SONDE_ENOMEM. On error nothing stays registered.
 */
SONDE_API int sonde_llm_new(sonde_registry *reg, const sonde_llm_opts *opts, sonde_llm **out);

/*
 * Free the module's own memory; its families stay in the registry with their
 * values. Returns the number of calls still open, which the caller must not
 * touch afterwards. The registry may be freed before or after.
 */
SONDE_API size_t sonde_llm_free(sonde_llm *llm);

/* Calls, tool executions and agent runs begun and not yet ended or abandoned. */
SONDE_API size_t sonde_llm_open_calls(const sonde_llm *llm);

/* ---- model calls ------------------------------------------------------ */

/*
 * Begin a model call now: calls in flight (and streams in flight when
 * streaming) rise. SONDE_EINVAL (NULL call or req, empty operation or provider,
 * provider longer than 128 bytes, port out of range), SONDE_EUTF8 (a string is not UTF-8),
 * SONDE_ETOOLONG (a string is longer than the registry's label_value_max; nothing is kept),
 * SONDE_ELIMIT (too many tuples), SONDE_ENOMEM. On error the call is inert: the functions below
 * do nothing with it and return SONDE_OK. A NULL llm (instrumentation off)
 * makes the call inert and returns SONDE_OK.
 */
SONDE_API int sonde_llm_call_begin(sonde_llm *llm, sonde_llm_call *call, const sonde_llm_request *req);

/* Mark the first output token now (only the first mark counts). For callers that
 * know it without streaming; sonde_llm_call_tokens() marks it too. */
SONDE_API void sonde_llm_call_first_token(sonde_llm_call *call);

/*
 * One streamed chunk arrived carrying n output tokens (n may be 0, as in a
 * first chunk with only a role). Counts only: no clock read except at the
 * first chunk and the first token.
 */
SONDE_API void sonde_llm_call_tokens(sonde_llm_call *call, uint32_t n);

/*
 * End the call now and record it (res NULL = ok, tokens unknown). Records
 * the durations (client and server), tokens, the provider families, cost,
 * finish reason, and on success: time to first token (when marked), time per
 * output token (duration - TTFT) / (output tokens - 1) when >= 2 output
 * tokens, and for streamed calls time to first chunk and time per output
 * chunk (duration - TTFC) / (chunks - 1), the latter as one observation per
 * chunk after the first. Token counts are recorded on success, and on
 * failure when above zero (a cancelled stream still consumed them).
 * Returns SONDE_OK, or SONDE_EINVAL (call NULL, never begun, already ended;
 * bad result strings: the call stays open), SONDE_EUTF8 or SONDE_ETOOLONG (a result string
 * is not UTF-8 or longer than the label-value limit: the call stays open), SONDE_ENOMEM.
 */
SONDE_API int sonde_llm_call_end(sonde_llm_call *call, const sonde_llm_result *res);

/* End an open call as cancelled (status SONDE_LLM_CANCELLED) with what it streamed. */
SONDE_API int sonde_llm_call_abandon(sonde_llm_call *call);

/* ---- tools, agents, rate limits --------------------------------------- */

/*
 * Begin a tool execution (operation execute_tool): on end, P_tool_executions_total
 * {tool,status}, P_tool_duration_seconds{tool} and the GenAI operation duration.
 * provider may be NULL. Errors as sonde_llm_call_begin (tool must be non-empty).
 */
SONDE_API int sonde_llm_tool_begin(sonde_llm *llm, sonde_llm_call *call, const char *tool,
                                   const char *provider);

/*
 * Begin an agent or pipeline run (operation invoke_agent): on end,
 * P_agent_executions_total{name,status}, P_agent_duration_seconds{name} and
 * the GenAI operation duration. provider and model may be NULL.
 */
SONDE_API int sonde_llm_agent_begin(sonde_llm *llm, sonde_llm_call *call, const char *name,
                                    const char *provider, const char *model);

/* Count one request refused by a rate limit: P_rate_limit_rejections_total{reason}.
 * reason e.g. "requests_per_minute", "tokens_per_minute". SONDE_EINVAL (NULL or empty
 * reason), SONDE_EUTF8; a NULL llm is a no-op (SONDE_OK). */
SONDE_API int sonde_llm_rate_limited(sonde_llm *llm, const char *reason);

/*
 * Write the conventions' provider name for name into out[0..cap): "OpenAI"
 * -> "openai", "azure" -> "azure.ai.openai", "bedrock" -> "aws.bedrock",
 * "gemini" -> "gcp.gemini", "vertex" -> "gcp.vertex_ai", "mistral" ->
 * "mistral_ai", "xai" -> "x_ai", "watsonx" -> "ibm.watsonx.ai", ...; other
 * names lower-cased (ASCII letters). SONDE_EINVAL (NULL, empty or longer
 * than 128 bytes), SONDE_EUTF8, SONDE_ETRUNC (cap too small; out unchanged).
 */
SONDE_API int sonde_llm_provider_normalize(const char *name, char *out, size_t cap);

/* ---- price tables ----------------------------------------------------- */

/* An empty price table in *out: SONDE_EINVAL (NULL out), SONDE_ENOMEM. */
SONDE_API int sonde_llm_prices_new(sonde_llm_prices **out);
/* Free a price table (NULL is a no-op). */
SONDE_API void sonde_llm_prices_free(sonde_llm_prices *p);

/*
 * Add a model's prices per million input and output tokens in currency
 * (e.g. "USD"). SONDE_EINVAL (empty model or currency, negative or non-finite
 * price), SONDE_EUTF8, SONDE_EEXIST (model already priced), SONDE_ENOMEM.
 */
SONDE_API int sonde_llm_prices_add(sonde_llm_prices *p, const char *model, double input_per_million,
                                   double output_per_million, const char *currency);

/*
 * Add the prices of a text: one "model input_price output_price currency"
 * per line, separated by blanks; empty lines and lines starting with '#'
 * are skipped. All or nothing: on error nothing is added and err receives
 * "line N: <problem>" (err may be NULL). SONDE_ECONFIG for a malformed line,
 * SONDE_EEXIST for a model priced twice, SONDE_EINVAL for NULL arguments.
 */
SONDE_API int sonde_llm_prices_parse(sonde_llm_prices *p, const char *text, char *err, size_t errlen);

/* sonde_llm_prices_parse() of a file's contents; SONDE_EIO if it cannot be read
 * ("<path>: <reason>" in err). */
SONDE_API int sonde_llm_prices_load(sonde_llm_prices *p, const char *path, char *err, size_t errlen);

/* Number of models priced. */
SONDE_API size_t sonde_llm_prices_count(const sonde_llm_prices *p);

/* Look a model up: SONDE_OK with the prices per million tokens, SONDE_ENOENT, or
 * SONDE_EINVAL for a NULL table or model. */
SONDE_API int sonde_llm_prices_find(const sonde_llm_prices *p, const char *model, double *input_per_million,
                                    double *output_per_million, const char **currency);

#ifdef __cplusplus
}
#endif
#endif
