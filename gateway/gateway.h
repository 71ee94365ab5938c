/*
 * gateway.h - the shared types of sonde-gateway (private to the program).
 *
 * The gateway is a libmicrohttpd service in front of model upstreams. One
 * HTTP request (gw_req) lives as long as its MHD connection holds it and as
 * long as an upstream call (gw_call) works for it: both hold a reference.
 * Answers leave in one of two shapes: a whole JSON body (gw_reply_json) or a
 * server-sent-event stream (gw_reply_stream + gw_stream_write/finish), both
 * callable from any thread; the connection is suspended while it waits and
 * resumed when there is something to send, so no thread ever sleeps on a
 * client. Upstreams are the built-in simulator (upstream_sim.c, driven by
 * timers in timer.c) and OpenAI-compatible HTTP endpoints (upstream_proxy.c,
 * one curl-multi worker thread). Everything is metered in meter.c.
 *
 * There are no process globals: one `gateway` object (gateway.c) holds the
 * configuration, the registry, the meters, the timer and proxy workers and the
 * HTTP service, and every part reaches it through what it works on (a request
 * or a call knows its gateway). So several gateways can live in one process,
 * which is how the service, stream and proxy code is unit-tested in-process.
 */
#ifndef GW_GATEWAY_H
#define GW_GATEWAY_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include <sonde/otlp.h>
#include <sonde/sonde.h>

/* ---- configuration (config.c) ---------------------------------------- */

typedef enum { GW_UP_SIM = 0, GW_UP_OPENAI } gw_upstream_kind;

typedef struct gw_sim_opts {
    double ttft_ms;        /* time to first token */
    double itl_ms;         /* delay between output tokens */
    double jitter_ms;      /* each wait varies uniformly by +-jitter */
    int output_tokens;     /* tokens per answer (capped by max_tokens) */
    double error_rate;     /* share of calls answered with an upstream error (0..1) */
    double timeout_rate;   /* share of calls that never answer (0..1) */
    int embedding_dims;    /* length of embedding vectors */
    /* Rate limits the sim enforces and reports as OpenAI does (x-ratelimit-* headers,
     * 429 once spent), per fixed window of ratelimit_window_ms; 0 = none. */
    long ratelimit_requests;
    long ratelimit_tokens;
    long ratelimit_window_ms;
} gw_sim_opts;

/* The sim's current rate-limit window (upstream_sim.c). */
typedef struct gw_sim_window {
    pthread_mutex_t mu;
    uint64_t start_ns;
    long requests;
    double tokens;
} gw_sim_window;

#define GW_CONNECT_TIMEOUT_MS 2000L
#define GW_FIRST_BYTE_TIMEOUT_MS 60000L
#define GW_IDLE_TIMEOUT_MS 30000L
#define GW_CLIENT_IDLE_TIMEOUT_MS 30000L

typedef struct gw_upstream {
    char *name;
    gw_upstream_kind kind;
    char *provider;        /* gen_ai_provider_name label */
    gw_sim_opts sim;
    char *url;             /* OpenAI base URL, e.g. http://127.0.0.1:8081/v1 */
    char *api_key;         /* sent upstream as a bearer token, or NULL */
    char *host;            /* server_address label */
    int port;              /* server_port label */
    long connect_timeout_ms;    /* openai: TCP (and TLS) connect */
    long first_byte_timeout_ms; /* openai: connected -> first byte of the answer */
    long idle_timeout_ms;       /* openai: longest silence between two reads of the answer,
                                   not counting time paused for a slow client */
    long timeout_ms;            /* sim: how long a stalled call waits before its 504 */
    atomic_int up;         /* last probe result (sim: always 1) */
    gw_sim_window sim_window;   /* sim with rate limits: what the window has used */
} gw_upstream;

/* ---- upstream rate-limit headers (upstream_ratelimit.c) ----------------- */

/* x-ratelimit-{limit,remaining,reset}-{requests,tokens} as an upstream reported them. */
enum { GW_RL_REQUESTS = 0, GW_RL_TOKENS, GW_RL_KINDS };
enum { GW_RL_LIMIT = 0, GW_RL_REMAINING, GW_RL_RESET, GW_RL_FIELDS };
#define GW_RL_RESET_MAX (31.0 * 86400) /* seconds; a longer reset is not believed */
typedef struct gw_ratelimit {
    double value[GW_RL_KINDS][GW_RL_FIELDS]; /* counts; reset in seconds */
    unsigned seen;                           /* bit kind * GW_RL_FIELDS + field */
} gw_ratelimit;
/* Read one header line ("Name: value", CR LF allowed): 1 when it is one of the six and
 * its value is valid (stored in rl), -1 when it is one of them but invalid, 0 otherwise. */
int gw_ratelimit_header(gw_ratelimit *rl, const char *line, size_t len);
int gw_ratelimit_has(const gw_ratelimit *rl, int kind, int field);
/* "requests" or "tokens" (the kind label); NULL for another number. */
const char *gw_ratelimit_kind_name(int kind);
/* A Go-style duration ("6m0s", "1.5s", "20ms") in seconds; -1 when invalid or longer
 * than GW_RL_RESET_MAX. */
double gw_parse_duration(const char *s, size_t len);
/* Seconds (0..GW_RL_RESET_MAX) as such a duration, rounded to ms; -1 when it does not fit. */
int gw_format_duration(double seconds, char *buf, size_t len);

/* The label of every value not in the configuration or a closed set (labels.c). */
#define GW_OTHER "_other"
/* The built-in model of the built-in sim upstream. */
#define GW_SIM_MODEL "sonde-sim"

/* A deployment's circuit breaker (route.c): closed until `threshold` consecutive
 * failures (0: never), then open for `cooldown_ns`, then half-open: one probe at a time, whose
 * success closes it and whose failure opens it again. */
typedef enum { GW_BREAKER_CLOSED = 0, GW_BREAKER_OPEN = 1, GW_BREAKER_HALF_OPEN = 2 } gw_breaker_state;
typedef enum { GW_ATTEMPT_OK, GW_ATTEMPT_FAILED, GW_ATTEMPT_NEUTRAL } gw_attempt_result;
typedef struct gw_breaker {
    pthread_mutex_t mu;
    gw_breaker_state state;
    int failures;          /* consecutive failures while closed */
    int probing;           /* a half-open probe is in flight */
    uint64_t opened_ns;
    int threshold;
    uint64_t cooldown_ns;
} gw_breaker;
#define GW_BREAKER_FAILURES 5 /* when "breaker" is given without "failures" */
#define GW_BREAKER_COOLDOWN_MS 30000L
#define GW_RETRY_BACKOFF_MS 50L
#define GW_MAX_DEPLOYMENTS 32
#define GW_MAX_FALLBACKS 8

/* One place a model is served: an upstream and the name it has there (route.c). */
typedef struct gw_deployment {
    char *name;            /* the deployment label (default: the upstream's name) */
    gw_upstream *up;
    char *upstream_model;
    double weight;         /* weighted routing: share of the first attempts */
    atomic_int in_flight;
    gw_breaker breaker;
} gw_deployment;

typedef enum { GW_ROUTE_WEIGHTED = 0, GW_ROUTE_LEAST_IN_FLIGHT } gw_routing;

typedef struct gw_model {
    char *name;            /* the label; GW_OTHER for a model passed by default_upstream */
    gw_upstream *up;       /* the first deployment's (or the only upstream) */
    char *upstream_model;  /* name sent upstream (default: the same name) */
    double price_input;    /* per million input tokens */
    double price_output;   /* per million output tokens */
    char *currency;
    /* routing (route.c); ndeps == 0: no routing, one call to `up` (built-in, default_upstream) */
    gw_deployment *deps;
    size_t ndeps;
    gw_routing routing;
    int retries;           /* further attempts on other deployments of this model */
    long backoff_ms;       /* before the first retry, doubled for each next one */
    char **fallbacks;      /* models tried in order once every deployment failed */
    size_t nfallbacks;
} gw_model;

typedef struct gw_bucket {
    pthread_mutex_t mu;
    double level, capacity, per_second;
    uint64_t last_ns;
} gw_bucket;

/* A key's spend of one UTC day, the local budget (budget.c). */
typedef struct gw_budget {
    pthread_mutex_t mu;
    int64_t day;           /* days since the epoch (UTC) the sums belong to */
    double tokens, cost;
} gw_budget;

typedef struct gw_key {
    char *name;            /* the only thing that appears in labels */
    char *secret;
    double rpm, tpm;       /* 0 = unlimited */
    gw_bucket requests, tokens;
    double daily_tokens;   /* tokens a UTC day (input + output); 0 = no budget */
    double daily_cost;     /* money a UTC day in budget_currency; 0 = no budget */
    char *budget_currency; /* the currency daily_cost is in (default USD) */
    gw_budget spent;       /* the local budget (a single instance, or Redis unreachable) */
} gw_key;

/* Tracing, access log and OTLP export (the "telemetry" section, telemetry.c). */
typedef enum { GW_PROFILE_PRODUCTION = 0, GW_PROFILE_DEMO } gw_trace_profile;
#define GW_RATIO_PRODUCTION 0.1 /* parentbased_traceidratio's ratio in production */
#define GW_RATIO_DEMO 1.0       /* ... and under make demo */

typedef struct gw_telemetry_cfg {
    gw_trace_profile profile; /* default ratio: 0.1 production, 1.0 demo */
    double sampler_ratio;     /* < 0: the profile's (OTEL_TRACES_SAMPLER_ARG overrides) */
    int ratio_from_flag;      /* --trace-ratio: wins over OTEL_TRACES_SAMPLER_ARG */
    char *service_name;       /* NULL: OTEL_SERVICE_NAME, SONDE_SERVICE_NAME, "sonde-gateway" */
    char *otlp_endpoint;      /* base URL; NULL: the OTEL_EXPORTER_OTLP_* variables */
    int endpoint_from_flag;   /* --otlp-endpoint: wins over the variables */
    char *access_log;         /* file appended to; NULL: SONDE_LOG_FILE, else stderr;
                                 "-" stderr; "off" no lines (still exported) */
} gw_telemetry_cfg;

/* The shared limit backend (redis_pool.c, limits.c): absent (url NULL) = local limits. */
#define GW_REDIS_CONNECT_TIMEOUT_MS 100L
#define GW_REDIS_COMMAND_TIMEOUT_MS 50L
#define GW_REDIS_PREFIX "sonde:gateway:"
#define GW_REDIS_PREFIX_MAX 128
typedef struct gw_redis_opts {
    char *url;             /* redis://[[user]:password@]host[:port][/db]; NULL = none */
    char *password;        /* from password_env or SONDE_GATEWAY_REDIS_PASSWORD (not the URL's) */
    long connect_timeout_ms;
    long command_timeout_ms;
    int fail_closed;       /* Redis unreachable: refuse (1) or use the local limits (0) */
    char *key_prefix;      /* prefix of every Redis key (default GW_REDIS_PREFIX) */
} gw_redis_opts;

/* The agentic loop's MCP settings (config "mcp", agent.c, mcp_client.c). */
#define GW_MCP_MAX_SERVERS 64
#define GW_AGENT_MAX_ITERATIONS 8
typedef struct gw_mcp_server gw_mcp_server;
typedef struct gw_mcp_opts {
    gw_mcp_server **servers; /* named MCP servers: request tools refer to them by label */
    size_t nservers;
    int max_iterations;      /* model calls per agent run */
    int allow_request_urls;  /* request tools may name any server_url (else only labels) */
} gw_mcp_opts;

typedef struct gw_config {
    char *address;         /* bind address, NULL = loopback (127.0.0.1 and ::1) */
    int port;
    int metrics_port;      /* 0 = same port as the API */
    int console;           /* the console under /console/ (sonde/console.h): 1 (default),
                              0 with --no-console or "console": {"enabled": false} */
    long console_interval_ms;  /* its history: sample interval (default 5000) */
    long console_retention_s;  /* kept (default 3600) */
    double console_max_bytes;  /* memory bound (default 32 MiB) */
    int threads;           /* MHD thread pool size */
    size_t max_body;       /* bytes */
    int max_depth;         /* JSON nesting limit */
    unsigned max_connections;
    long client_idle_timeout_ms; /* a client not taking a pending answer this long is dropped */
    gw_upstream **ups;
    size_t nups;
    gw_model *models;
    size_t nmodels;
    gw_upstream *fallback; /* upstream for models not listed (NULL = 404, the default) */
    gw_key *keys;
    size_t nkeys;
    char **tools;          /* tool names that are labels of their own (others: GW_OTHER) */
    size_t ntools;
    char *otlp_metrics_endpoint;   /* "otlp_metrics": {"endpoint"}: the full /v1/metrics URL;
                                      NULL: the OTEL_* environment decides */
    long otlp_metrics_interval_ms; /* "otlp_metrics": {"interval_ms"}; 0: environment */
    gw_redis_opts redis;   /* limits and budgets shared by gateways through Redis */
    gw_mcp_opts mcp;       /* MCP servers of the agentic loop */
    /* push exporters (docs/export.md); NULL / 0: the SONDE_* variables decide */
    char *remote_write_url;
    double remote_write_interval; /* seconds */
    char *pushgateway_url;
    char *pushgateway_job;
#define GW_RESPONSES_MAX 10000           /* stored responses kept by default */
#define GW_RESPONSES_MAX_AGE_S 2592000   /* 30 days */
    char *responses_db;        /* stored responses: SQLite file or ":memory:" (default) */
    long responses_max;        /* most responses kept (oldest dropped first) */
    long responses_max_age_s;  /* responses older than this are dropped */
    gw_telemetry_cfg telemetry;
    /* the console's alerts (docs/console.md): "alerts": {"rules", "webhook",
     * "alertmanager_url"}, --alert-rules, --alert-webhook, --alertmanager-url */
    char *alert_rules;      /* rules file (JSON); NULL: the built-in defaults */
    char *alert_webhook;    /* notices POSTed there (Alertmanager webhook payload) */
    char *alertmanager_url; /* linked from the Alerts page */
} gw_config;

int gw_config_defaults(gw_config *c);
int gw_config_load(gw_config *c, const char *path, char *err, size_t errlen);
/* --upstream URL: send every model not listed to this OpenAI endpoint. */
int gw_config_set_fallback_url(gw_config *c, const char *url, const char *api_key, char *err,
                               size_t errlen);
void gw_config_free(gw_config *c);
/* "production" or "demo": 0, else -1. */
int gw_trace_profile_parse(const char *s, gw_trace_profile *out);
/* An OTLP base URL must be http:// or https://: 0, else -1. */
int gw_otlp_endpoint_check(const char *url);
/* The shared limit backend's fail mode: "open" (local limits) or "closed" (refuse); -1 else. */
int gw_config_set_fail_mode(gw_config *c, const char *mode);
/* The model entry for a request's model name; for unlisted models NULL, or with a
 * fallback *tmp filled (name GW_OTHER, upstream_model the requested name). */
const gw_model *gw_config_model(const gw_config *c, const char *name, gw_model *tmp);
int gw_upstream_parse_url(gw_upstream *u, char *err, size_t errlen);
/* 1 for a loopback literal (127.0.0.0/8, ::1, ::ffff:127.x) and for NULL (the default). */
int gw_address_is_loopback(const char *addr);
/* The upstream whose API key anyone could spend: listening beyond loopback with no client
 * keys while an upstream has a key; NULL when there is none (startup refuses otherwise,
 * unless --allow-unauthenticated). */
const gw_upstream *gw_config_exposed_key(const gw_config *c);

/* ---- keys and rate limits (keys.c, ratelimit.c) ----------------------- */

/* The key whose secret the request presents; NULL when unknown. */
const gw_key *gw_key_find(const gw_config *c, const char *secret);
void gw_bucket_init(gw_bucket *b, double per_minute);
void gw_bucket_destroy(gw_bucket *b);
/* Take n units if the level is at least `need`; else 0 and the seconds to wait
 * (at most GW_RETRY_AFTER_MAX). */
#define GW_RETRY_AFTER_MAX 86400.0
int gw_bucket_take(gw_bucket *b, double need, double n, double *retry_after);
/* Charge units afterwards (the level may go negative). */
void gw_bucket_charge(gw_bucket *b, double n);
/* Admit a request for key k estimated at est_tokens; on refusal returns the reason
 * ("requests_per_minute" / "tokens_per_minute") and the seconds to wait. */
const char *gw_ratelimit_admit(gw_key *k, double est_tokens, double *retry_after);

/* ---- budgets, shared limits (budget.c, limits.c, redis_pool.c) ---------- */

/* What admission decided; the refusals carry a reason label (gw_admit_reason). */
typedef enum {
    GW_ADMIT_OK = 0,
    GW_ADMIT_REQUESTS,     /* requests_per_minute */
    GW_ADMIT_TOKENS,       /* tokens_per_minute */
    GW_ADMIT_DAILY_TOKENS, /* the day's token budget is spent */
    GW_ADMIT_DAILY_COST,   /* the day's cost budget is spent */
    GW_ADMIT_UNAVAILABLE   /* fail-closed and the shared backend cannot be reached */
} gw_admit;
const char *gw_admit_reason(gw_admit a);

#define GW_DAY_SECONDS 86400
/* The UTC day (days since the epoch) of a Unix time in seconds. */
int64_t gw_utc_day(int64_t unix_s);
/* Seconds from unix_s to the end of its UTC day (1..86400). */
int64_t gw_day_seconds_left(int64_t unix_s);
void gw_budget_init(gw_budget *b);
void gw_budget_destroy(gw_budget *b);
/* Whether k may start a call at unix_s: GW_ADMIT_OK, _DAILY_TOKENS or _DAILY_COST
 * (a refusal while the day's spend has reached a budget; a new day starts at zero). */
gw_admit gw_budget_check(gw_budget *b, const gw_key *k, int64_t unix_s);
/* Add a call's tokens and its cost in the key's budget currency to the day of unix_s. */
void gw_budget_charge(gw_budget *b, double tokens, double cost, int64_t unix_s);

typedef struct gw_limits gw_limits;
typedef struct gw_meter gw_meter;
/* The limits of cfg's keys: local, or shared through cfg->redis when it has a URL. */
int gw_limits_new(const gw_config *cfg, gw_meter *meter, sonde_logger *log, char *err,
                  size_t errlen, gw_limits **out);
void gw_limits_free(gw_limits *l);
/* Admit a call of key k estimated at est_tokens input tokens; on refusal the seconds to
 * wait (Retry-After). Counts and logs a fall-back to the local limits. */
gw_admit gw_limits_admit(gw_limits *l, gw_key *k, double est_tokens, double *retry_after);
/* Charge a finished call: its tokens to the minute's token limit and the day's budget,
 * its cost (in currency) to gateway_key_cost_total and, in the budget's currency, the
 * day's cost budget. */
void gw_limits_charge(gw_limits *l, gw_key *k, double tokens, double cost, const char *currency);
/* Check the shared backend (reconnect after its back-off) and update its gauge. */
void gw_limits_probe(gw_limits *l);

/* ---- timers (timer.c) --------------------------------------------------- */

typedef void (*gw_timer_fn)(void *arg);
typedef struct gw_timer gw_timer;
/* Start a timer thread; NULL when it cannot. */
gw_timer *gw_timer_new(void);
/* Stop the thread, run what is still pending at once (in order), free. */
void gw_timer_free(gw_timer *t);
/* Run fn(arg) on the timer thread after delay_ns. */
int gw_timer_after(gw_timer *t, uint64_t delay_ns, gw_timer_fn fn, void *arg);

/* ---- requests, replies and streams (service.c, sse.c) ------------------ */

typedef enum { GW_OP_CHAT = 0, GW_OP_COMPLETION, GW_OP_EMBEDDINGS } gw_op;

typedef struct gateway gateway;

struct MHD_Connection;
struct MHD_Response;
typedef struct gw_stream gw_stream;
typedef struct gw_req gw_req;

/* Where a tapped request's answer goes (service.c; each called at most once but
 * stream_data, from the upstream's thread): a whole reply (takes body), the start of
 * a stream, its bytes (event-stream format; non-zero = stop), its end; release when
 * the tapped request is freed. caller_waits: the thread that starts the call only
 * sleeps until the answer (the agent loop), so an upstream with nothing to wait for
 * answers on that thread (gw_req_answer_here) rather than hand the answer over.
 * reply_value (may be NULL): a whole reply given as the JSON value it was made as
 * (takes body), on the caller's own thread only (gw_reply_value), so the caller
 * neither parses it nor shares it with another thread. */
typedef struct gw_tap {
    void (*reply)(void *ud, unsigned status, char *body, int retry_after);
    void (*reply_value)(void *ud, unsigned status, json_t *body);
    void (*stream_start)(void *ud);
    int (*stream_data)(void *ud, const char *data, size_t len);
    void (*stream_end)(void *ud);
    void (*release)(void *ud);
    int caller_waits;
} gw_tap;
/* A request without a connection whose answer goes to tap (holds a reference to parent:
 * gone when parent is gone). NULL when out of memory. */
gw_req *gw_req_tap(gw_req *parent, const gw_tap *tap, void *ud);

void gw_req_ref(gw_req *r);
void gw_req_unref(gw_req *r);
/* The context of the request's SERVER span (invalid without a tracer): the parent
 * of its call's spans. */
void gw_req_trace_context(const gw_req *r, sonde_span_context *out);
/* The parent of a tapped request's calls, instead of its client's SERVER span (the agent
 * loop's invoke_agent span); before the request is handed to a call. */
void gw_req_set_trace(gw_req *r, const sonde_span_context *ctx);
/* What the access log says of the request: the model asked for (NULL keeps the one
 * noted), the key (NULL keeps it), the tokens charged (< 0: unknown). */
void gw_req_note(gw_req *r, const char *model, const gw_key *key, long input_tokens,
                 long output_tokens);
/* 1 when a ready answer costs the request's caller nothing: a tapped request whose
 * caller waits for it (gw_tap.caller_waits), so answering on the calling thread saves
 * two thread hand-offs. */
int gw_req_answer_here(const gw_req *r);
/* 1 once the client is gone (its connection closed before the answer ended). */
int gw_req_gone(const gw_req *r);
/* The client is gone (hung up, or dropped for not reading): mark the request
 * gone, close its connection even while it is suspended, wake the proxy. */
void gw_req_abort(gw_req *r);

/* Answer with a whole JSON body (takes body, a malloc'd string). retry_after < 0: none. */
void gw_reply_json(gw_req *r, unsigned status, char *body, int retry_after);
/* The same with the body as a JSON value (taken), from the thread of a request that
 * gw_req_answer_here() answers: its tap takes the value itself when it can. */
void gw_reply_value(gw_req *r, unsigned status, json_t *body);
/* Answer with the OpenAI error shape. */
void gw_reply_error(gw_req *r, unsigned status, const char *type, const char *code,
                    int retry_after, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Answer with the OpenAI error shape naming the offending field in param (may be NULL). */
void gw_reply_error_param(gw_req *r, unsigned status, const char *type, const char *code,
                          const char *param, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Answer 400 invalid_request_error naming the offending field in param (e.g.
 * "messages.[0].content", as OpenAI names it). */
void gw_reply_invalid(gw_req *r, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Start a 200 text/event-stream answer; then write events and finish it. */
void gw_reply_stream(gw_req *r);
/* Append bytes to the stream; returns -1 when the client is gone. */
int gw_stream_write(gw_req *r, const char *data, size_t len);
/* Append one "data: <json>\n\n" event (json is dumped compactly). */
int gw_stream_event(gw_req *r, json_t *j);
/* Append one event as the event-stream format writes it: "event: <type>" unless type
 * is NULL or empty, one "data: " line per line of data (split at LF), a blank line. */
int gw_stream_sse(gw_req *r, const char *type, const char *data, size_t len);
/* How long bytes of r's stream have waited for the client to take any (0: none). */
uint64_t gw_stream_unread_ns(gw_req *r, uint64_t now_ns);
void gw_stream_finish(gw_req *r);
/* End the stream without the "data: [DONE]" sentinel (typed event streams). */
void gw_stream_end_events(gw_req *r);
/* Add a header to the answer (whole or stream) before it is queued; at most
 * GW_REPLY_HEADERS of them, longer names or values are dropped. Tapped requests ignore it. */
#define GW_REPLY_HEADERS 8
void gw_reply_header(gw_req *r, const char *name, const char *value);
/* A query-string argument of the request; NULL when absent. */
const char *gw_req_arg(gw_req *r, const char *name);
/* A request header (NULL when absent, or for a request without a connection); call it
 * from the request's handler only. */
const char *gw_req_header(gw_req *r, const char *name);
/* Bytes written to the stream that the client has not taken yet. */
size_t gw_stream_backlog(gw_req *r);

/* sse.c: the stream buffer shared by a producer thread and MHD's reader. */
gw_stream *gw_stream_new(void);
void gw_stream_free(gw_stream *s);
int gw_stream_append(gw_stream *s, const char *data, size_t len);
void gw_stream_end(gw_stream *s);
size_t gw_stream_pending(gw_stream *s);
int gw_stream_ended(gw_stream *s);
void gw_stream_close(gw_stream *s); /* the client is gone: drop data, never resume again */
/* The client hung up while the stream may be parked: resume the connection so that the
 * reader ends it with an error; appends are refused from now on. */
void gw_stream_hangup(gw_stream *s);
/* How long bytes have been waiting for the client to take any of them (0: none pending). */
uint64_t gw_stream_stalled_ns(gw_stream *s, uint64_t now_ns);
struct MHD_Response *gw_stream_response(gw_stream *s, struct MHD_Connection *conn);

/* ---- upstream calls (call.c, upstream_sim.c, upstream_proxy.c) --------- */

typedef struct gw_call {
    gateway *gw;
    gw_req *req;
    gw_op op;
    const gw_model *model;   /* points into cfg or at model_tmp */
    gw_model model_tmp;
    char *model_name;        /* as requested */
    const gw_key *key;
    json_t *body;            /* the request (owned) */
    int stream;
    int include_usage;
    long max_tokens;         /* 0 = none */
    long input_tokens, output_tokens;
    int usage_known;
    uint64_t start_ns;
    char finish[32];         /* finish_reason, when known */
    char resp_model[128];    /* the model the upstream says answered */
    char resp_id[128];       /* the answer's id (gen_ai.response.id), when known */
    sonde_llm_call track;    /* the GenAI call tracker */
    sonde_span_context trace; /* the parent of the call's upstream attempts */
    atomic_int finished;
    /* routing (route.c): model points at route, the routed model with the current
     * deployment's upstream and upstream_model */
    const gw_model *requested, *routed;
    gw_model route;
    gw_deployment *dep;      /* the attempt in flight (NULL: none, or not routed) */
    uint32_t tried;          /* deployments of routed tried by this call */
    int attempts;            /* attempts on routed */
    size_t next_fallback;    /* next index into requested->fallbacks */
    uint64_t rng;            /* xorshift state of the weighted choice */
    double sim_error_rate;   /* the sim's error rate for this call: X-Sonde-Sim-Error-Rate,
                              * else < 0 (the configured one) */
} gw_call;

/* ---- routing (route.c) ---------------------------------------------------- */

void gw_breaker_init(gw_breaker *b, int threshold, uint64_t cooldown_ns);
void gw_breaker_destroy(gw_breaker *b);
/* May an attempt go to this deployment at now_ns? 1 yes (an open breaker whose cooldown
 * has passed turns half-open and lets this one probe through), 0 no. *changed is set to
 * the new state on a transition, else -1. */
int gw_breaker_acquire(gw_breaker *b, uint64_t now_ns, int *changed);
/* The end of an attempt acquired before; returns the new state on a transition, else -1. */
int gw_breaker_record(gw_breaker *b, gw_attempt_result r, uint64_t now_ns);
gw_breaker_state gw_breaker_get(gw_breaker *b);
const char *gw_breaker_name(int state);
/* The deployment a first (or next) attempt goes to among those not in `skip` (a bit per
 * deployment), given u uniform in [0, 1): weighted by weight, or the least in flight
 * (ties: the first listed); -1 when none is left. */
int gw_route_choose(const gw_model *m, uint32_t skip, double u);
/* Start c (its model chosen, metering begun): through its model's deployments when it has
 * some, else to its upstream. Replies itself when no deployment can take the call;
 * -1 only when the call could not be started (the caller answers 500). */
int gw_route_start(gw_call *c);
/* An attempt of c failed with outcome (a gateway_upstream_errors_total type) before
 * anything reached the client: 0 when another deployment or a fallback model will take
 * the call (after a back-off; the caller lets go of c), -1 when none is left. */
int gw_route_retry(gw_call *c, const char *outcome);
/* The end of c's current attempt (gw_call_finish calls it). */
void gw_route_attempt_end(gw_call *c, sonde_llm_status status, const char *error_type);

/* End a call once: meter it and charge the key's token bucket. error_type NULL
 * = the status's default ("timeout", "cancelled", ...), else e.g. "http_5xx". */
void gw_call_finish(gw_call *c, sonde_llm_status status, const char *error_type);
void gw_call_free(gw_call *c);

/* The estimated input tokens of a request (sim: 1 per 4 bytes of text, at least 1). */
long gw_estimate_tokens(const json_t *body, gw_op op);

/* ---- request validation (validate.c) ------------------------------------ */

typedef struct gw_fields {
    long max_tokens;       /* max_tokens / max_completion_tokens; 0 = not given */
    long n;                /* choices asked for (1 when not given) */
} gw_fields;
typedef struct gw_invalid {
    char param[96];        /* the offending field, OpenAI style: "messages.[0].content" */
    char msg[256];
} gw_invalid;
/* Check a request body (a JSON object) for operation op: 0 and *f filled, or -1
 * and *e says which field is wrong and why. */
int gw_validate(const json_t *body, gw_op op, gw_fields *f, gw_invalid *e);
/* What is wrong with an MCP tool entry ({"type":"mcp", "server_label", "server_url"?,
 * "allowed_tools"?, "headers"?, "require_approval"?: "never"}), *field naming the key; NULL
 * when it is well formed (every route that takes tools checks them with it). */
const char *gw_mcp_tool_invalid(const json_t *t, const char **field);
/* Generate the chat/completion id for a call. */
void gw_call_id(const gw_call *c, char *buf, size_t len);

int gw_sim_start(gw_call *c);

typedef struct gw_proxy gw_proxy;
/* Start the proxy's curl worker thread for gw; NULL when it cannot. */
gw_proxy *gw_proxy_new(gateway *gw);
/* Stop the worker (calls still running end as cancelled); later starts are refused. */
void gw_proxy_stop(gw_proxy *p);
/* Stop (if not yet) and free. */
void gw_proxy_free(gw_proxy *p);
int gw_proxy_start(gw_call *c);
/* Wake the proxy worker so it notices requests whose client has gone. */
void gw_proxy_wake(gw_proxy *p);
/* Probe each OpenAI upstream once (TCP connect); updates the up flags, their gauges and
 * gw->ready; returns 1 if all are up. */
int gw_probe_all(gateway *gw);

/* The OpenAI routes (openai_api.c): dispatch one complete request. */
void gw_openai_handle(gateway *gw, gw_req *r, const char *method, const char *url,
                      const char *body, size_t len, int too_large, const char *auth);
/* Start an upstream call of operation op for request body b (taken) on behalf of key
 * (may be NULL): model lookup, admission, metering, the upstream. Answers r itself on
 * any refusal; 0 when the call started. */
int gw_call_start(gateway *gw, gw_req *r, const gw_key *key, json_t *b, gw_op op,
                  const gw_fields *f);
/* The Responses API (responses_api.c): /v1/responses and /v1/responses/{id}[/...]. */
void gw_responses_handle(gateway *gw, gw_req *r, const char *method, const char *url,
                         const char *body, size_t len, const gw_key *key);
/* Parse a request body as the OpenAI routes do (JSON object, nesting bounded); NULL after
 * answering r 400. */
json_t *gw_parse_body(const gw_config *cfg, gw_req *r, const char *body, size_t len);

/* ---- metering (meter.c) -------------------------------------------------- */

typedef struct gw_meter {
    sonde_http *http;      /* the HTTP middleware (service.c calls it directly) */
    sonde_llm *llm;        /* the GenAI instrumentation */
    sonde_metric *tool_calls, *up_errors, *up_up, *key_requests, *key_tokens;
    sonde_metric *unlisted, *refusals;
    sonde_metric *up_rl[GW_RL_FIELDS], *up_rate_limited; /* limit, remaining, reset; 429s */
    sonde_gauge *ready;
    sonde_metric *key_cost, *limit_fallbacks, *key_budget_tokens, *key_budget_cost;
    sonde_gauge *limit_backend_up;
    sonde_metric *route_attempts, *route_fallbacks, *breaker_state, *breaker_transitions;
} gw_meter;

/* Register the gateway's families on reg (the price table from cfg); with a tracer (may
 * be NULL) the middleware opens SERVER spans and the call tracker GenAI spans. */
int gw_meter_init(gw_meter *m, sonde_registry *reg, const gw_config *cfg, sonde_tracer *tracer);
void gw_meter_free(gw_meter *m);
/* list_metrics.c: the metric reference in Markdown (--list-metrics). */
int gw_list_metrics(const gw_config *cfg, FILE *out);
void gw_meter_call_begin(gw_call *c);
/* One streamed chunk sent to the client carrying `tokens` output tokens. */
void gw_meter_call_chunk(gw_call *c, unsigned tokens);
void gw_meter_call_tool(gw_call *c, const char *tool);
void gw_meter_call_end(gw_call *c, sonde_llm_status status, const char *error_type);
void gw_meter_rate_limited(gw_call *c, const char *reason);
void gw_meter_key_request(gw_meter *m, const gw_key *k);
void gw_meter_upstream_error(gw_meter *m, const gw_upstream *u, const char *type);
void gw_meter_upstream_up(gw_meter *m, const gw_upstream *u, int up);
/* What the upstream's last answer said of its rate limits (the values it carried). */
void gw_meter_upstream_ratelimit(gw_meter *m, const gw_upstream *u, const gw_ratelimit *rl);
/* The upstream answered 429. */
void gw_meter_upstream_rate_limited(gw_meter *m, const gw_upstream *u);
void gw_meter_ready(gw_meter *m, int ready);
/* A value recorded as GW_OTHER under label ("model", "response_model", "tool", ...). */
void gw_meter_unlisted(gw_meter *m, const char *label);
/* A request the gateway refused itself, by its OpenAI error code (a gateway constant). */
void gw_meter_refusal(gw_meter *m, const char *code);
/* A call's cost charged to key k (gateway_key_cost_total{key,currency}). */
void gw_meter_key_cost(gw_meter *m, const gw_key *k, const char *currency, double cost);
/* The shared limit backend was not used (reason: a gateway constant). */
void gw_meter_limit_fallback(gw_meter *m, const char *reason);
void gw_meter_limit_backend_up(gw_meter *m, int up);
/* Routing: one attempt's outcome on a deployment, a fallback, a breaker's new state. */
void gw_meter_route_attempt(gw_meter *m, const gw_model *model, const gw_deployment *d,
                            const char *outcome);
void gw_meter_route_fallback(gw_meter *m, const gw_model *from, const gw_model *to);
void gw_meter_breaker(gw_meter *m, const gw_model *model, const gw_deployment *d, int state,
                      int transition);

/* ---- bounded labels (labels.c) -------------------------------------------- */

/* The model label for a name an upstream reported, given the model called. */
const char *gw_label_model(gw_meter *m, const gw_config *cfg, const gw_model *called,
                           const char *reported);
/* The tool label: a configured tool name, else GW_OTHER. */
const char *gw_label_tool(gw_meter *m, const gw_config *cfg, const char *tool);
/* The finish-reason label: OpenAI's closed set, else GW_OTHER; NULL for none. */
const char *gw_label_finish(gw_meter *m, const char *reason);

/* ---- traces and logs (telemetry.c) ---------------------------------------- */

/* The tracer, the access log and their OTLP export; the rules in telemetry.c. */
typedef struct gw_telemetry {
    sonde_logger *diag;    /* libsonde's diagnostics (JSON lines, rate-limited, not exported) */
    sonde_logger *access;  /* one line per request (exported as OTLP logs when configured) */
    sonde_otlp *otlp;      /* NULL when nothing is exported */
    sonde_tracer *tracer;  /* NULL when OTEL_SDK_DISABLED=true */
} gw_telemetry;

#define GW_FLUSH_TIMEOUT_MS 5000L /* at shutdown, for the spans and the log records */

/* Build them from cfg's telemetry section and the environment (reg: the metrics'
 * registry, for SONDE_SERVICE_NAME and sonde_spans_dropped_total). 0 or -1 (printed). */
int gw_telemetry_new(const gw_config *cfg, sonde_registry *reg, gw_telemetry *out);
/* Flush (GW_FLUSH_TIMEOUT_MS each) and free; after the gateway that used them. */
void gw_telemetry_free(gw_telemetry *t);
/* The ratio of parentbased_traceidratio before the environment: the file's (or
 * --trace-ratio's), else the profile's. */
double gw_telemetry_ratio(const gw_telemetry_cfg *t);

/* ---- the gateway object (gateway.c, service.c) ---------------------------- */

typedef struct gw_service gw_service;

struct gateway {
    gw_config *cfg;        /* borrowed: outlives the gateway */
    sonde_registry *reg;   /* borrowed: outlives the gateway */
    gw_meter meter;
    gw_timer *timer;
    gw_proxy *proxy;
    gw_service *svc;       /* NULL until gw_start() */
    sonde_tracer *tracer;  /* borrowed, may be NULL (no spans) */
    sonde_logger *access;  /* borrowed, may be NULL (no access log) */
    sonde_logger *log;     /* the gateway's structured log (stderr by default): the
                              telemetry's diagnostic log, else its own */
    int own_log;           /* log was created here (no telemetry given) */
    gw_limits *limits;     /* per-key limits and budgets, local or shared */
    atomic_int ready;      /* every upstream reachable at the last probe (/ready) */
    pthread_mutex_t agents_mu; /* agent loops (agent.c): runs and their workers */
    pthread_cond_t agents_cv;  /* a run or a worker ended (gw_free waits on it) */
    struct gw_agent_worker *agents_idle_top; /* idle workers, the last one to go idle first */
    struct gw_agent_run *agents_head, *agents_tail; /* runs queued for a worker */
    int agents_running;        /* runs queued or running, at most GW_AGENT_MAX_RUNS */
    int agents_queued, agents_workers, agents_idle;
    int agents_quit;           /* gw_free: workers exit once the runs are done */
    atomic_int agents_stop;    /* gw_free: agent loops stop at their next step */
    struct gw_response_store *responses; /* stored responses (response_store.h) */
};

/* Meter on reg, start the timer and proxy workers; not yet listening. tel (may be
 * NULL: no spans, no access log) is borrowed and outlives the gateway. */
int gw_new(gw_config *cfg, sonde_registry *reg, const gw_telemetry *tel, gateway **out);
/* Probe the upstreams and start the HTTP service (cfg's address and ports). */
int gw_start(gateway *gw);
/* Stop the service (answering what waits), the workers, free everything. */
void gw_free(gateway *gw);

uint64_t gw_now_ns(void);

/* utf8.c: replace each byte of s that is not well-formed UTF-8 by '?'. */
void gw_utf8_fix(char *s);
/* json_tree.c, for values that are trees (no value contains itself), cheaper than
 * jansson's own, which check every container for loops: a deep copy of v sharing no
 * reference with it, key order kept (NULL when v is NULL or out of memory); and the text
 * json_dumps(v, JSON_COMPACT) gives, malloc'd (NULL when v is not an object or an array,
 * or out of memory). */
json_t *gw_json_clone(const json_t *v);
char *gw_json_dumps(const json_t *v);
/* A request field as it may be echoed in an error or logged: at most GW_ECHO_MAX bytes of
 * it, cut on a character boundary and marked "..." when cut, bad bytes as '?'. */
#define GW_ECHO_MAX 64
typedef struct gw_echo_buf {
    char s[GW_ECHO_MAX + 4];
} gw_echo_buf;
const char *gw_echo(const char *field, gw_echo_buf *buf);

/* ---- a request's access-log line (access.c) -------------------------------- */

typedef struct gw_access {
    uint64_t start_ns;
    const char *route;          /* a constant (the gateway's routes, or "other") */
    const char *method;         /* a known method, else "_OTHER" */
    char model[GW_ECHO_MAX + 4]; /* the model asked for, echo-cut; "" none */
    const char *key;            /* the key's configured name (config memory), or NULL */
    long input_tokens, output_tokens; /* as charged; < 0 unknown */
} gw_access;

/* A request arrived. */
void gw_access_begin(gw_access *a, const char *method, const char *route);
/* See gw_req_note. */
void gw_access_note(gw_access *a, const char *model, const gw_key *key, long input_tokens,
                    long output_tokens);
/* The request ended with status (499: the client went away): write its line through lg
 * (may be NULL) inside span (the request's, may be NULL), so it carries its ids. */
void gw_access_log(sonde_logger *lg, const gw_access *a, sonde_span *span, unsigned status,
                   size_t request_bytes, size_t response_bytes);

#endif
