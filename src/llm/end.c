/*
 * end.c - ending a call: by its result (sonde_llm_call_end) or as cancelled
 * (sonde_llm_call_abandon).
 *
 * The end moment is read first. The result is turned into a series key
 * (status and error_type made consistent, response model and finish reason
 * only for model calls) and its series found before the call is closed, so
 * a result with invalid strings is refused and leaves the call open. Then
 * one compare-and-swap OPEN -> ENDED decides which of racing ends records;
 * the loser gets SONDE_EINVAL. Recording (record.c) and lowering the
 * in-flight gauges follow. A call with a span is recorded while that span
 * is the thread's current one, so that its histograms and counters take the
 * span's ids as exemplars (the core's automatic exemplars; the call's span
 * is never current otherwise, since a call may end on any thread), and the
 * span ends after (span.c).
 */
#include "llm_internal.h"

static int64_t output_tokens(const sonde_llm_call *call, uint64_t chunks, int64_t reported)
{
    if (chunks == 0)
        return reported;
    int64_t streamed = (int64_t)__atomic_load_n(&call->tokens_, __ATOMIC_RELAXED);
    return reported > streamed ? reported : streamed;
}

/* What the call measured, as record.c takes it. */
static void outcome(const sonde_llm_call *call, const sonde_llm_result *res, uint64_t end_ns,
                    llm_outcome *o)
{
    uint64_t chunks = __atomic_load_n(&call->chunks_, __ATOMIC_ACQUIRE);
    uint64_t ft = __atomic_load_n(&call->first_token_ns_, __ATOMIC_ACQUIRE);
    *o = (llm_outcome){.start_ns = call->start_ns_,
                       .end_ns = end_ns,
                       .first_token_ns = ft & ~LLM_MARKED,
                       .first_token = (ft & LLM_MARKED) != 0,
                       .first_chunk_ns = __atomic_load_n(&call->first_chunk_ns_, __ATOMIC_RELAXED),
                       .chunks = chunks,
                       .input_tokens = res->input_tokens,
                       .output_tokens = output_tokens(call, chunks, res->output_tokens),
                       .streaming = call->streaming_};
}

static void record(const sonde_llm_call *call, llm_series *s, const sonde_llm_result *res,
                   uint64_t end_ns)
{
    llm_outcome o;
    outcome(call, res, end_ns, &o);
    llm_record(s, &o);
}

/* A call with a span: recorded (when s) while the span is the thread's current one, so
 * that its metrics take the span's ids as exemplars, then the span ends. */
static void end_traced(const sonde_llm_call *call, llm_route *r, const llm_series_key *key,
                       llm_series *s, const sonde_llm_result *res, uint64_t end_ns)
{
    llm_outcome o;
    outcome(call, res, end_ns, &o);
    sonde_span *prev = sonde_span_current();
    if (s && prev == call->span_) { /* the caller made it current already */
        llm_record(s, &o);
    } else if (s) {
        sonde_span_enter(call->span_);
        llm_record(s, &o);
        sonde_span_exit(prev);
    }
    llm_span_end(r->llm, call->span_, key, res, o.input_tokens, o.output_tokens);
}

int sonde_llm_call_end(sonde_llm_call *call, const sonde_llm_result *res)
{
    if (!call)
        return SONDE_EINVAL;
    uint64_t end_ns = sonde_now_ns();
    int state = __atomic_load_n(&call->state_, __ATOMIC_ACQUIRE);
    if (state == CALL_INERT)
        return SONDE_OK;
    if (state != CALL_OPEN)
        return SONDE_EINVAL;
    static const sonde_llm_result ok = {.input_tokens = -1, .output_tokens = -1};
    if (!res)
        res = &ok;
    if ((unsigned)res->status > SONDE_LLM_TERMINATED)
        return SONDE_EINVAL;

    llm_route *r = call->route_;
    int model = r->kind == KIND_MODEL;
    llm_series_key key = {r, res->status, model ? res->response_model : NULL, res->error_type,
                          model ? res->finish_reason : NULL};
    if (key.error_type && !*key.error_type)
        key.error_type = NULL;
    if (key.status == SONDE_LLM_OK && key.error_type)
        key.status = SONDE_LLM_ERROR;
    if (!key.error_type)
        key.error_type = llm_status_error_type(key.status);
    llm_series tmp, *s;
    int rc = llm_series_get(r->llm, &key, &tmp, &s);
    if (rc == SONDE_EUTF8 || rc == SONDE_ETOOLONG)
        return rc;

    int expected = CALL_OPEN;
    if (!__atomic_compare_exchange_n(&call->state_, &expected, CALL_ENDED, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_RELAXED))
        return SONDE_EINVAL;
    if (__builtin_expect(call->span_ != NULL, 0))
        end_traced(call, r, &key, rc == SONDE_OK ? s : NULL, res, end_ns);
    else if (rc == SONDE_OK)
        record(call, s, res, end_ns);
    sonde_gauge_dec(r->in_flight);
    if (call->streaming_)
        sonde_gauge_dec(llm_route_streams(r));
    __atomic_fetch_sub(&r->open, 1, __ATOMIC_RELEASE);
    return rc;
}

int sonde_llm_call_abandon(sonde_llm_call *call)
{
    sonde_llm_result res = {.status = SONDE_LLM_CANCELLED, .input_tokens = -1, .output_tokens = -1};
    return sonde_llm_call_end(call, &res);
}
