/*
 * llm_internal.h - the private data model of the LLM module, shared by the
 * files of src/llm.
 *
 * module -> routes -> series. A route is what a call knows when it begins:
 * (kind, operation, provider as given, request model, server address, port,
 * tool or agent name). It owns copies of those strings, the normalised
 * provider, the in-flight gauges and the count of its open calls. A series is
 * what a call knows when it ends: (route, status, response model, error type,
 * finish reason); it holds the child handles the end of such a call updates
 * (each looked up on first use) and the model's prices. Both live in the
 * core's concurrent maps (map.h), presized for the module's cardinality
 * limit so that they never move, and are only freed with the module: a begin or end whose tuples were
 * seen before takes no lock and allocates nothing. The module owns its
 * families (sonde_internal_metric_own) until it is freed, so the children it caches
 * cannot be removed behind its back.
 *
 * Call states (sonde_llm_call.state_): anything but OPEN or INERT means "not
 * begun or already ended"; end and abandon move OPEN -> ENDED with one
 * compare-and-swap, so exactly one of them records a call.
 */
#ifndef SONDE_LLM_INTERNAL_H
#define SONDE_LLM_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "core_iface.h"
#include "sonde/sonde.h"

enum { CALL_ENDED = 0x5e0d0, CALL_OPEN = 0x5e0d1, CALL_INERT = 0x5e0d2 };

/* Route and series keys are tuples of strings hashed with the core's hash
 * (hash.h) under their map's key; a NULL string hashes and compares as "",
 * which is also how an absent label value is exposed. */
static inline void llm_hash_str(sonde_hasher *h, const char *s)
{
    if (!s)
        s = "";
    sonde_hasher_str(h, s, strlen(s));
}

static inline int llm_str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Set in sonde_llm_call.first_token_ns_ once the first token is marked, so that a
 * clock reading of 0 (a test's fake clock) still counts as a mark. */
#define LLM_MARKED (1ull << 63)

/* The operation of a pipeline run: the GenAI conventions name none for pipelines or
 * workflows yet, so this is sonde's value (gen_ai_operation_name, span name). */
#define LLM_PIPELINE_OPERATION "invoke_workflow"

/* What a route measures. */
enum { KIND_MODEL = 0, KIND_TOOL, KIND_AGENT, KIND_PIPELINE };

/* The families a module registers; the order of the registration table (families.c). */
enum {
    F_CLIENT_DURATION,
    F_TOKEN_USAGE,
    F_TTFC,
    F_TPOC,
    F_SERVER_DURATION,
    F_TTFT,
    F_TPOT,
    F_CALLS,
    F_LATENCY,
    F_TOKENS,
    F_STREAMS,
    F_IN_FLIGHT,
    F_TOOL_TOTAL,
    F_TOOL_DURATION,
    F_AGENT_TOTAL,
    F_AGENT_DURATION,
    F_AGENT_IN_FLIGHT,
    F_PIPELINE_TOTAL,
    F_PIPELINE_DURATION,
    F_PIPELINE_IN_FLIGHT,
    F_RATE_LIMIT,
    F_COST,
    F_FINISH,
    F_COUNT
};

#define LLM_PROVIDER_MAX 128 /* bytes of a normalised provider name */

struct sonde_llm {
    uint64_t id; /* unique in the process, never reused */
    sonde_registry *reg;
    int roles;
    int legacy;
    int native; /* the gen_ai_ histograms have native buckets too */
    size_t limit;
    sonde_metric *fam[F_COUNT]; /* NULL where a role or the price table leaves one out */
    sonde_llm_prices *prices;   /* the module's copy, or NULL */
    pthread_mutex_t lock;       /* creating routes and series */
    sonde_map routes, series;
    sonde_tracer *tracer;       /* NULL: no spans (span.c) */
    int capture;                /* message content goes on spans */
};

typedef struct llm_route {
    uint64_t hash; /* first: map.h compares it before anything else */
    int kind;
    int port;
    const char *op, *provider, *model, *addr, *name; /* as given, into blob */
    const char *norm;                                /* normalised provider, into blob */
    char port_text[8];
    sonde_gauge *in_flight;
    sonde_gauge *streams; /* atomic; NULL until the first streamed call (llm_route_streams) */
    uint64_t open;        /* atomic (__atomic builtins): calls of this route open now */
    struct sonde_llm *llm;
    struct llm_series *last; /* atomic: the cached series a call of this route ended with last */
    const char *span_name;   /* into blob: "{op} {model}", "execute_tool {name}", ...; only
                                with a tracer, else "" */
    char blob[];
} llm_route;

/* The key of a series, as the end of a call gives it. */
typedef struct llm_series_key {
    const llm_route *route;
    int status;
    const char *resp_model, *error_type, *finish;
} llm_series_key;

/* The child handles a series may update, resolved on first use (series.c). */
enum {
    S_CLIENT_DURATION,
    S_SERVER_DURATION,
    S_TOKEN_IN,
    S_TOKEN_OUT,
    S_TTFT,
    S_TPOT,
    S_TTFC,
    S_TPOC,
    S_CALLS,
    S_LATENCY,
    S_TOKENS_IN,
    S_TOKENS_OUT,
    S_COST,
    S_FINISH,
    S_NAME_TOTAL,
    S_NAME_DURATION,
    S_COUNT
};

typedef struct llm_series {
    uint64_t hash;
    llm_series_key key; /* strings into blob (cached series) or the caller's (transient) */
    struct sonde_llm *llm;
    void *child[S_COUNT];       /* atomic (__atomic builtins); NULL = not resolved yet */
    const char *currency;       /* the price's, or NULL when the model is not priced */
    double price_in, price_out; /* per token */
    char blob[];
} llm_series;

/* A finished call, as record.c applies it to a series. */
typedef struct llm_outcome {
    uint64_t start_ns, end_ns, first_token_ns, first_chunk_ns;
    int first_token;                     /* first_token_ns is valid */
    uint64_t chunks;                     /* first_chunk_ns is valid when >= 1 */
    int64_t input_tokens, output_tokens; /* < 0 = unknown */
    int streaming;
} llm_outcome;

/* families.c */
int llm_families_register(struct sonde_llm *llm, const char *prefix, size_t limit);
/* Give the families up (they stay registered): at sonde_llm_free. */
void llm_families_release(struct sonde_llm *llm);

/* labels.c: label values of the GenAI families, in their label order; returns the count. */
size_t llm_genai_values(const struct sonde_llm *llm, const llm_route *r, const char *resp_model,
                        const char *last, const char **out);

/* route.c: find or create the route of a begin; SONDE_OK, EINVAL, EUTF8, ELIMIT, ENOMEM. */
int llm_route_get(struct sonde_llm *llm, int kind, const char *op, const char *provider,
                  const char *model, const char *addr, int port, const char *name, llm_route **out);
/* The route's streams-in-flight gauge, looked up on first use. */
sonde_gauge *llm_route_streams(llm_route *r);

/* series.c: find or create the series of an end. When the cache is full, *tmp (room for
 * an llm_series) is filled for this call only. SONDE_OK, SONDE_EUTF8, SONDE_ENOMEM. */
/* A label value the module may store: SONDE_OK (NULL too), SONDE_ETOOLONG past the
 * registry's label_value_max, SONDE_EUTF8 (series.c). */
int llm_label_value_check(const struct sonde_llm *llm, const char *s);
int llm_series_get(struct sonde_llm *llm, const llm_series_key *key, llm_series *tmp,
                   llm_series **out);
/* The child of slot S_* (NULL when its family is not registered or memory ran out). A
 * series only creates the children its calls use, so no empty series are exposed. */
void *llm_series_resolve(llm_series *s, int slot);
static inline void *llm_series_child(llm_series *s, int slot)
{
    void *c = __atomic_load_n(&s->child[slot], __ATOMIC_ACQUIRE);
    return c ? c : llm_series_resolve(s, slot);
}

/* span.c, with a tracer only. req: what the begin got besides the route, by the
 * route's kind a sonde_llm_request, sonde_llm_tool_request or sonde_llm_agent_request;
 * NULL for the begins without one. */
int llm_capture_from_env(void);
sonde_span *llm_span_begin(const struct sonde_llm *llm, const llm_route *r, const void *req);
void llm_span_end(const struct sonde_llm *llm, sonde_span *span, const llm_series_key *key,
                  const sonde_llm_result *res, int64_t input_tokens, int64_t output_tokens);
/* The span name of a route into out (of llm_span_name_size() bytes, NUL included). */
size_t llm_span_name_size(int kind, const char *op, const char *model, const char *name);
void llm_span_name(int kind, const char *op, const char *model, const char *name, char *out);

/* record.c: apply a finished call to its series. */
void llm_record(llm_series *s, const llm_outcome *o);


/* status.c */
const char *llm_status_name(int status);
const char *llm_status_error_type(int status);

/* prices.c */
int llm_prices_copy(const sonde_llm_prices *src, sonde_llm_prices **out);

#endif
