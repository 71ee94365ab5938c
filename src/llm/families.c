/*
 * families.c - the families a module registers, as one table: name (GenAI
 * names as the conventions give them, service names after the prefix),
 * type, help, label set, buckets and the role or option that needs it.
 * GenAI label sets are built at registration because the legacy
 * gen_ai_system label is optional; they end with error_type (durations),
 * gen_ai_token_type (token usage) or nothing (per-token timings). With the
 * native_histograms option the gen_ai_ histograms get native buckets
 * (schema 3) besides their classic GenAI ones.
 * Registration is all or nothing: on any failure the families already
 * registered are unregistered again. The module owns its families while it
 * lives (its series cache their children): clearing, removing from or
 * unregistering them is refused with SONDE_EBUSY until sonde_llm_free.
 */
#include <stdio.h>
#include <string.h>

#include "llm_internal.h"

enum {
    L_GENAI,
    L_GENAI_ERROR,
    L_GENAI_TOKEN,
    L_PMS,
    L_PM,
    L_PMT,
    L_P,
    L_TS,
    L_T,
    L_NS,
    L_N,
    L_R,
    L_PMC,
    L_PMR
};

enum { NEED_ALL, NEED_CLIENT, NEED_SERVER, NEED_PRICES };

static const char *const l_pms[] = {"provider", "model", "status"};
static const char *const l_pmt[] = {"provider", "model", "type"};
static const char *const l_pmc[] = {"provider", "model", "currency"};
static const char *const l_pmr[] = {"provider", "model", "reason"};
static const char *const l_ts[] = {"tool", "status"};
static const char *const l_ns[] = {"name", "status"};

static const struct {
    const char *const *names;
    size_t count;
} service_labels[] = {
    [L_PMS] = {l_pms, 3},   [L_PM] = {l_pms, 2},  [L_PMT] = {l_pmt, 3}, [L_P] = {l_pms, 1},
    [L_TS] = {l_ts, 2},     [L_T] = {l_ts, 1},    [L_NS] = {l_ns, 2},   [L_N] = {l_ns, 1},
    [L_R] = {l_pmr + 2, 1}, [L_PMC] = {l_pmc, 3}, [L_PMR] = {l_pmr, 3},
};

enum { B_NONE, B_DURATION, B_TOKENS, B_TTFT, B_TPOT, B_LATENCY, B_LONG };

static const struct {
    int prefixed;
    const char *name;
    sonde_type type;
    int labels, buckets, need;
    const char *help;
} table[F_COUNT] = {
    [F_CLIENT_DURATION] = {0, "gen_ai_client_operation_duration_seconds", SONDE_HISTOGRAM,
                           L_GENAI_ERROR, B_DURATION, NEED_CLIENT,
                           "GenAI operation duration seen by the client."},
    [F_TOKEN_USAGE] = {0, "gen_ai_client_token_usage", SONDE_HISTOGRAM, L_GENAI_TOKEN, B_TOKENS,
                       NEED_CLIENT, "Number of input and output tokens used per operation."},
    [F_TTFC] = {0, "gen_ai_client_time_to_first_chunk_seconds", SONDE_HISTOGRAM, L_GENAI, B_TTFT,
                NEED_CLIENT, "Time to the first chunk of a successful streamed response."},
    [F_TPOC] = {0, "gen_ai_client_time_per_output_chunk_seconds", SONDE_HISTOGRAM, L_GENAI, B_TPOT,
                NEED_CLIENT,
                "Time per output chunk after the first of a successful streamed response."},
    [F_SERVER_DURATION] = {0, "gen_ai_server_request_duration_seconds", SONDE_HISTOGRAM,
                           L_GENAI_ERROR, B_DURATION, NEED_SERVER,
                           "GenAI server request duration."},
    [F_TTFT] = {0, "gen_ai_server_time_to_first_token_seconds", SONDE_HISTOGRAM, L_GENAI, B_TTFT,
                NEED_SERVER, "Time to generate the first token of a successful response."},
    [F_TPOT] = {0, "gen_ai_server_time_per_output_token_seconds", SONDE_HISTOGRAM, L_GENAI, B_TPOT,
                NEED_SERVER, "Time per output token after the first of a successful response."},
    [F_CALLS] = {1, "provider_calls_total", SONDE_COUNTER, L_PMS, B_NONE, NEED_ALL,
                 "Model provider calls by outcome."},
    [F_LATENCY] = {1, "provider_latency_seconds", SONDE_HISTOGRAM, L_PM, B_DURATION, NEED_ALL,
                   "Duration of model provider calls."},
    [F_TOKENS] = {1, "tokens_total", SONDE_COUNTER, L_PMT, B_NONE, NEED_ALL,
                  "Tokens used by model provider calls, by type (input, output)."},
    [F_STREAMS] = {1, "streams_in_flight", SONDE_GAUGE, L_P, B_NONE, NEED_ALL,
                   "Streamed model provider calls in progress."},
    [F_IN_FLIGHT] = {1, "calls_in_flight", SONDE_GAUGE, L_P, B_NONE, NEED_ALL,
                     "Model provider calls in progress."},
    [F_TOOL_TOTAL] = {1, "tool_executions_total", SONDE_COUNTER, L_TS, B_NONE, NEED_ALL,
                      "Tool executions (execute_tool) by outcome."},
    [F_TOOL_DURATION] = {1, "tool_duration_seconds", SONDE_HISTOGRAM, L_T, B_LATENCY, NEED_ALL,
                         "Duration of tool executions."},
    [F_AGENT_TOTAL] = {1, "agent_executions_total", SONDE_COUNTER, L_NS, B_NONE, NEED_ALL,
                       "Agent runs (invoke_agent) by outcome."},
    [F_AGENT_DURATION] = {1, "agent_duration_seconds", SONDE_HISTOGRAM, L_N, B_LONG, NEED_ALL,
                          "Duration of agent runs."},
    [F_AGENT_IN_FLIGHT] = {1, "agent_runs_in_flight", SONDE_GAUGE, L_N, B_NONE, NEED_ALL,
                           "Agent runs in progress."},
    [F_PIPELINE_TOTAL] = {1, "pipeline_executions_total", SONDE_COUNTER, L_NS, B_NONE, NEED_ALL,
                          "Pipeline (workflow) runs by outcome."},
    [F_PIPELINE_DURATION] = {1, "pipeline_duration_seconds", SONDE_HISTOGRAM, L_N, B_LONG,
                             NEED_ALL, "Duration of pipeline (workflow) runs."},
    [F_PIPELINE_IN_FLIGHT] = {1, "pipeline_runs_in_flight", SONDE_GAUGE, L_N, B_NONE, NEED_ALL,
                              "Pipeline (workflow) runs in progress."},
    [F_RATE_LIMIT] = {1, "rate_limit_rejections_total", SONDE_COUNTER, L_R, B_NONE, NEED_ALL,
                      "Requests refused by a rate limit, by reason."},
    [F_COST] = {1, "cost_total", SONDE_COUNTER, L_PMC, B_NONE, NEED_PRICES,
                "Cost of model provider calls from the price table, in its currency."},
    [F_FINISH] = {1, "finish_reasons_total", SONDE_COUNTER, L_PMR, B_NONE, NEED_ALL,
                  "Model provider calls by the finish reason of their response."},
};

static sonde_buckets buckets_of(int b)
{
    switch (b) {
    case B_DURATION: return SONDE_BUCKETS_LLM_DURATION;
    case B_TOKENS: return SONDE_BUCKETS_LLM_TOKENS;
    case B_TTFT: return SONDE_BUCKETS_LLM_TTFT;
    case B_TPOT: return SONDE_BUCKETS_LLM_TPOT;
    case B_LONG: return SONDE_BUCKETS_LONG_DURATION;
    default: return (sonde_buckets){NULL, 0}; /* the registry's latency buckets */
    }
}

static int needed(const struct sonde_llm *llm, int need)
{
    switch (need) {
    case NEED_CLIENT: return (llm->roles & SONDE_LLM_CLIENT) != 0;
    case NEED_SERVER: return (llm->roles & SONDE_LLM_SERVER) != 0;
    case NEED_PRICES: return llm->prices != NULL;
    default: return 1;
    }
}

/* The GenAI label names in order; returns the count. */
static size_t genai_labels(int legacy, int set, const char **out)
{
    size_t n = 0;
    out[n++] = "gen_ai_operation_name";
    out[n++] = "gen_ai_provider_name";
    if (legacy)
        out[n++] = "gen_ai_system";
    out[n++] = "gen_ai_request_model";
    out[n++] = "gen_ai_response_model";
    out[n++] = "server_address";
    out[n++] = "server_port";
    if (set == L_GENAI_ERROR)
        out[n++] = "error_type";
    else if (set == L_GENAI_TOKEN)
        out[n++] = "gen_ai_token_type";
    return n;
}

static void unregister_all(struct sonde_llm *llm)
{
    for (int i = 0; i < F_COUNT; i++) {
        if (llm->fam[i]) {
            sonde_internal_metric_disown(llm->fam[i]);
            sonde_unregister(llm->fam[i]);
        }
        llm->fam[i] = NULL;
    }
}

void llm_families_release(struct sonde_llm *llm)
{
    for (int i = 0; i < F_COUNT; i++) {
        if (llm->fam[i])
            sonde_internal_metric_disown(llm->fam[i]);
        llm->fam[i] = NULL;
    }
}

int llm_families_register(struct sonde_llm *llm, const char *prefix, size_t limit)
{
    for (int i = 0; i < F_COUNT; i++) {
        if (!needed(llm, table[i].need))
            continue;
        char name[256];
        if (table[i].prefixed && prefix && *prefix)
            snprintf(name, sizeof name, "%s_%s", prefix, table[i].name);
        else
            snprintf(name, sizeof name, "%s", table[i].name);
        const char *genai[10];
        sonde_metric_opts o = {.type = table[i].type,
                               .name = name,
                               .help = table[i].help,
                               .buckets = buckets_of(table[i].buckets),
                               .cardinality_limit = limit};
        if (table[i].labels <= L_GENAI_TOKEN) {
            o.label_names = genai;
            o.label_count = genai_labels(llm->legacy, table[i].labels, genai);
        } else {
            o.label_names = service_labels[table[i].labels].names;
            o.label_count = service_labels[table[i].labels].count;
        }
        static const sonde_native_opts native = {.bucket_factor = 1.1}; /* schema 3 */
        if (llm->native && table[i].type == SONDE_HISTOGRAM && table[i].labels <= L_GENAI_TOKEN)
            o.native = &native;
        size_t len = strlen(name);
        if (len > 8 && strcmp(name + len - 8, "_seconds") == 0)
            o.unit = "seconds";
        int rc = sonde_register(llm->reg, &o, &llm->fam[i]);
        if (rc) {
            llm->fam[i] = NULL;
            unregister_all(llm);
            return rc;
        }
        if (llm->fam[i])
            sonde_internal_metric_own(llm->fam[i]);
    }
    return SONDE_OK;
}
