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
 *
 * A call with a span (the module has a tracer) gives its histograms and
 * counters that span's ids as exemplars explicitly: the call's span is not
 * the thread's current one (a call may end on any thread), so the automatic
 * exemplar would name another span or none. Without a span the plain calls
 * run as before.
 */
#include "llm_internal.h"

static inline double seconds(uint64_t from, uint64_t to)
{
    return to > from ? (double)(to - from) / 1e9 : 0.0;
}

static inline void observe(sonde_histogram *h, double v, const llm_outcome *o)
{
    if (o->span)
        sonde_histogram_observe_exemplar(h, v, o->span);
    else
        sonde_histogram_observe(h, v);
}

static inline void count(sonde_counter *c, double v, const llm_outcome *o)
{
    if (o->span)
        sonde_counter_add_exemplar(c, v, o->span);
    else
        sonde_counter_add(c, v);
}

static inline void inc(sonde_counter *c, const llm_outcome *o)
{
    if (o->span)
        sonde_counter_add_exemplar(c, 1, o->span);
    else
        sonde_counter_inc(c);
}

static void record_tokens(llm_series *s, const llm_outcome *o, int ok)
{
    int64_t in = o->input_tokens, out = o->output_tokens;
    if (in >= 0 && (ok || in > 0)) {
        observe(llm_series_child(s, S_TOKEN_IN), (double)in, o);
        count(llm_series_child(s, S_TOKENS_IN), (double)in, o);
    }
    if (out >= 0 && (ok || out > 0)) {
        observe(llm_series_child(s, S_TOKEN_OUT), (double)out, o);
        count(llm_series_child(s, S_TOKENS_OUT), (double)out, o);
    }
    if (s->currency) {
        double cost = (in > 0 ? (double)in * s->price_in : 0.0) +
                      (out > 0 ? (double)out * s->price_out : 0.0);
        if (cost > 0)
            count(llm_series_child(s, S_COST), cost, o);
    }
}

static void record_timings(llm_series *s, const llm_outcome *o)
{
    if (o->first_token) {
        observe(llm_series_child(s, S_TTFT), seconds(o->start_ns, o->first_token_ns), o);
        if (o->output_tokens >= 2)
            observe(llm_series_child(s, S_TPOT),
                    seconds(o->first_token_ns, o->end_ns) / (double)(o->output_tokens - 1), o);
    }
    if (o->streaming && o->chunks >= 1) {
        observe(llm_series_child(s, S_TTFC), seconds(o->start_ns, o->first_chunk_ns), o);
        if (o->chunks >= 2)
            sonde_histogram_observe_n(llm_series_child(s, S_TPOC),
                                    seconds(o->first_chunk_ns, o->end_ns) / (double)(o->chunks - 1),
                                    o->chunks - 1);
    }
}

void llm_record(llm_series *s, const llm_outcome *o)
{
    double d = seconds(o->start_ns, o->end_ns);
    observe(llm_series_child(s, S_CLIENT_DURATION), d, o);
    if (s->key.route->kind != KIND_MODEL) {
        inc(llm_series_child(s, S_NAME_TOTAL), o);
        observe(llm_series_child(s, S_NAME_DURATION), d, o);
        return;
    }
    int ok = s->key.status == SONDE_LLM_OK;
    observe(llm_series_child(s, S_SERVER_DURATION), d, o);
    inc(llm_series_child(s, S_CALLS), o);
    observe(llm_series_child(s, S_LATENCY), d, o);
    if (s->key.finish && *s->key.finish)
        inc(llm_series_child(s, S_FINISH), o);
    record_tokens(s, o, ok);
    if (ok)
        record_timings(s, o);
}
