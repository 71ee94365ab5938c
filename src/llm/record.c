/*
 * record.c - what the end of a call records, given its series (every child
 * handle resolved) and its timings and counts. All durations come from the
 * monotonic timestamps of the call; the rules follow the GenAI conventions:
 *
 *   duration  end - start, client and server, every call
 *   tokens    input / output when known, on success or when above zero
 *   TTFT      first token - start, successful calls with a first token
 *   TPOT      (end - first token) / (output tokens - 1), success, >= 2 tokens
 *   TTFC      first chunk - start, successful streamed calls with a chunk
 *   TPOC      (end - first chunk) / (chunks - 1), once per chunk after the
 *             first, successful streamed calls with >= 2 chunks
 *   cost      input * price_in + output * price_out when the model is priced
 */
#include "llm_internal.h"

static inline double seconds(uint64_t from, uint64_t to)
{
    return to > from ? (double)(to - from) / 1e9 : 0.0;
}

static void record_tokens(llm_series *s, const llm_outcome *o, int ok)
{
    int64_t in = o->input_tokens, out = o->output_tokens;
    if (in >= 0 && (ok || in > 0)) {
        sonde_histogram_observe(llm_series_child(s, S_TOKEN_IN), (double)in);
        sonde_counter_add(llm_series_child(s, S_TOKENS_IN), (double)in);
    }
    if (out >= 0 && (ok || out > 0)) {
        sonde_histogram_observe(llm_series_child(s, S_TOKEN_OUT), (double)out);
        sonde_counter_add(llm_series_child(s, S_TOKENS_OUT), (double)out);
    }
    if (s->currency) {
        double cost = (in > 0 ? (double)in * s->price_in : 0.0) +
                      (out > 0 ? (double)out * s->price_out : 0.0);
        if (cost > 0)
            sonde_counter_add(llm_series_child(s, S_COST), cost);
    }
}

static void record_timings(llm_series *s, const llm_outcome *o)
{
    if (o->first_token) {
        sonde_histogram_observe(llm_series_child(s, S_TTFT),
                                seconds(o->start_ns, o->first_token_ns));
        if (o->output_tokens >= 2)
            sonde_histogram_observe(llm_series_child(s, S_TPOT),
                                    seconds(o->first_token_ns, o->end_ns) /
                                        (double)(o->output_tokens - 1));
    }
    if (o->streaming && o->chunks >= 1) {
        sonde_histogram_observe(llm_series_child(s, S_TTFC),
                                seconds(o->start_ns, o->first_chunk_ns));
        if (o->chunks >= 2)
            sonde_histogram_observe_n(llm_series_child(s, S_TPOC),
                                    seconds(o->first_chunk_ns, o->end_ns) / (double)(o->chunks - 1),
                                    o->chunks - 1);
    }
}

void llm_record(llm_series *s, const llm_outcome *o)
{
    double d = seconds(o->start_ns, o->end_ns);
    sonde_histogram_observe(llm_series_child(s, S_CLIENT_DURATION), d);
    if (s->key.route->kind != KIND_MODEL) {
        sonde_counter_inc(llm_series_child(s, S_NAME_TOTAL));
        sonde_histogram_observe(llm_series_child(s, S_NAME_DURATION), d);
        return;
    }
    int ok = s->key.status == SONDE_LLM_OK;
    sonde_histogram_observe(llm_series_child(s, S_SERVER_DURATION), d);
    sonde_counter_inc(llm_series_child(s, S_CALLS));
    sonde_histogram_observe(llm_series_child(s, S_LATENCY), d);
    if (s->key.finish && *s->key.finish)
        sonde_counter_inc(llm_series_child(s, S_FINISH));
    record_tokens(s, o, ok);
    if (ok)
        record_timings(s, o);
}
