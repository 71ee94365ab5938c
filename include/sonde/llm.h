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
 * P_agent_duration_seconds, P_agent_runs_in_flight,
 * P_pipeline_executions_total, P_pipeline_duration_seconds,
 * P_pipeline_runs_in_flight, P_rate_limit_rejections_total, P_cost_total,
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
 * Tools, agents and pipelines use the same tracker (sonde_llm_tool_begin,
 * sonde_llm_agent_begin, sonde_llm_pipeline_begin) and end with
 * sonde_llm_call_end.
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
 * Tracing. With a tracer in sonde_llm_opts, every call, tool execution and
 * agent run is also a span after the GenAI conventions:
 *   "{gen_ai.operation.name} {gen_ai.request.model}" (CLIENT; "{operation}"
 *       when no model is known) with gen_ai.operation.name,
 *       gen_ai.provider.name, gen_ai.request.model, server.address,
 *       server.port, and at end gen_ai.response.model, gen_ai.response.id,
 *       gen_ai.response.finish_reasons, gen_ai.usage.input_tokens,
 *       gen_ai.usage.output_tokens;
 *   "execute_tool {gen_ai.tool.name}" (INTERNAL) with gen_ai.tool.name,
 *       gen_ai.tool.call.id, gen_ai.tool.type, gen_ai.tool.description;
 *   "invoke_agent {gen_ai.agent.name}" (INTERNAL) with gen_ai.agent.name,
 *       gen_ai.agent.id, gen_ai.agent.description, gen_ai.request.model;
 *   "invoke_workflow {name}" (INTERNAL) with gen_ai.workflow.name for a
 *       pipeline run;
 * a failed one with error.type and status ERROR. Parent: the request's
 * parent context when given, else the thread's current span (else a new
 * trace). Message content (gen_ai.input.messages, gen_ai.system_instructions,
 * gen_ai.output.messages, gen_ai.tool.call.arguments, gen_ai.tool.call.result)
 * is recorded only when capture is on: opts.capture_message_content, or
 * OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true read once by
 * sonde_llm_new(). Without a tracer nothing of this runs.
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
#include "trace.h"

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
    sonde_tracer *tracer;     /* NULL = no spans; else GenAI spans (see "Tracing" above).
                                 Must outlive the module */
    int capture_message_content; /* 0 = OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT
                                 ("true" turns it on; read once, here), > 0 on, < 0 off.
                                 On: the content fields below go on the spans */
} sonde_llm_opts;

/* How a call, tool execution or agent run ended; the status label's values. */
typedef enum sonde_llm_status {
    SONDE_LLM_OK = 0,       /* "ok" */
    SONDE_LLM_ERROR,        /* "error", error_type "_OTHER" unless given */
    SONDE_LLM_CANCELLED,    /* "cancelled", error_type "cancelled" unless given */
    SONDE_LLM_TIMEOUT,      /* "timeout", error_type "timeout" unless given */
    SONDE_LLM_RATE_LIMITED, /* "rate_limited", error_type "rate_limited" unless given */
    SONDE_LLM_TERMINATED    /* "terminated", error_type "terminated" unless given: stopped by
                               the host or a policy (step or budget limit, guardrail, operator,
                               shutdown), where cancelled is the caller giving up */
} sonde_llm_status;

/* What a model call asks for. */
typedef struct sonde_llm_request {
    const char *operation;      /* required: "chat", "text_completion", "embeddings", ... */
    const char *provider;       /* required; normalised (sonde_llm_provider_normalize) */
    const char *model;          /* request model; NULL = unknown */
    const char *server_address; /* NULL = unknown */
    int server_port;            /* 1..65535; 0 = unknown */
    int streaming;              /* non-zero for a streamed response */
    /* Tracing only (ignored without a tracer): */
    const sonde_span_context *parent; /* the span's parent; NULL = the thread's current span */
    const char *input_messages; /* content: gen_ai.input.messages (JSON), capture on only */
    const char *system_instructions; /* content: gen_ai.system_instructions, capture on only */
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
    /* Tracing only (ignored without a tracer): */
    const char *response_id;    /* gen_ai.response.id; NULL = unknown */
    const char *output_messages; /* content, capture on only: gen_ai.output.messages (JSON);
                                   for a tool execution gen_ai.tool.call.result */
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
    sonde_span *span_; /* NULL without a tracer */
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
 * Begin an agent run (operation invoke_agent): P_agent_runs_in_flight{name}
 * rises until the end, which records P_agent_executions_total{name,status},
 * P_agent_duration_seconds{name} and the GenAI operation duration. provider
 * and model may be NULL.
 */
SONDE_API int sonde_llm_agent_begin(sonde_llm *llm, sonde_llm_call *call, const char *name,
                                    const char *provider, const char *model);

/*
 * Begin a pipeline (workflow) run: a fixed sequence of steps (model calls, tools, agents)
 * that the host drives, where an agent run decides its own steps. Counted apart from agents:
 * P_pipeline_runs_in_flight{name} rises until the end, which records
 * P_pipeline_executions_total{name,status}, P_pipeline_duration_seconds{name} and the GenAI
 * operation duration under operation "invoke_workflow" (the conventions name no pipeline
 * operation yet); with a tracer an INTERNAL span "invoke_workflow {name}" with
 * gen_ai.workflow.name, the parent of the calls inside when made current. Errors as
 * sonde_llm_agent_begin (name must be non-empty).
 */
SONDE_API int sonde_llm_pipeline_begin(sonde_llm *llm, sonde_llm_call *call, const char *name);

/* A tool execution, for sonde_llm_tool_begin_ex(). */
typedef struct sonde_llm_tool_request {
    const char *name;        /* required: the tool label and gen_ai.tool.name */
    const char *provider;    /* may be NULL */
    /* Tracing only (ignored without a tracer): */
    const char *call_id;     /* gen_ai.tool.call.id, e.g. the model's "call_..."; NULL = none */
    const char *type;        /* gen_ai.tool.type: "function", "extension", "datastore" */
    const char *description; /* gen_ai.tool.description */
    const char *arguments;   /* content: gen_ai.tool.call.arguments, capture on only */
    const sonde_span_context *parent; /* NULL = the thread's current span */
} sonde_llm_tool_request;

/* sonde_llm_tool_begin() with the span's attributes and parent. Errors as
 * sonde_llm_tool_begin (SONDE_EINVAL for a NULL req with a module). */
SONDE_API int sonde_llm_tool_begin_ex(sonde_llm *llm, sonde_llm_call *call,
                                      const sonde_llm_tool_request *req);

/* An agent or pipeline run, for sonde_llm_agent_begin_ex(). */
typedef struct sonde_llm_agent_request {
    const char *name;        /* required: the name label and gen_ai.agent.name */
    const char *provider;    /* may be NULL */
    const char *model;       /* may be NULL */
    /* Tracing only (ignored without a tracer): */
    const char *id;          /* gen_ai.agent.id */
    const char *description; /* gen_ai.agent.description */
    const sonde_span_context *parent; /* NULL = the thread's current span */
} sonde_llm_agent_request;

/* sonde_llm_agent_begin() with the span's attributes and parent. Errors as
 * sonde_llm_agent_begin (SONDE_EINVAL for a NULL req with a module). */
SONDE_API int sonde_llm_agent_begin_ex(sonde_llm *llm, sonde_llm_call *call,
                                       const sonde_llm_agent_request *req);

/*
 * The span of an open call, tool execution or agent run (sampled or not), or
 * NULL (no tracer, inert, ended). Its context is the parent of what the call
 * contains (the model calls and tools of an agent run) and what goes into
 * the upstream request's headers (sonde_trace_headers_fill); the caller may
 * add attributes (gen_ai.request.temperature, ...). Valid until the call ends.
 */
SONDE_API sonde_span *sonde_llm_call_span(const sonde_llm_call *call);

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
