/*
 * begin.c - beginning calls, tool executions and agent runs, and what a
 * call reports while it runs (first token, streamed chunks).
 *
 * Begin finds the route (route.c), starts the span when the module has a
 * tracer (span.c), stamps the start and raises the in-flight gauges and the
 * route's open count. A begin that fails leaves the
 * call inert, so that the caller's later calls on it are harmless no-ops.
 *
 * sonde_llm_call_tokens() is the per-chunk hot path: counts only, plain
 * atomic loads and stores (no read-modify-write, one thread reads a stream
 * at a time), and a clock read only for the first chunk and the first
 * token. The counters are published with release stores so that an end on
 * another thread that sees a chunk also sees the timestamps written before it.
 */
#include "llm_internal.h"

static int open_call(sonde_llm *llm, sonde_llm_call *call, llm_route *r, int streaming,
                     const void *req)
{
    call->route_ = r;
    call->span_ = __builtin_expect(llm->tracer != NULL, 0) ? llm_span_begin(llm, r, req) : NULL;
    call->first_token_ns_ = 0;
    call->first_chunk_ns_ = 0;
    call->chunks_ = 0;
    call->tokens_ = 0;
    call->streaming_ = streaming != 0;
    __atomic_fetch_add(&r->open, 1, __ATOMIC_RELAXED);
    sonde_gauge_inc(r->in_flight);
    if (call->streaming_)
        sonde_gauge_inc(llm_route_streams(r));
    call->start_ns_ = sonde_now_ns();
    __atomic_store_n(&call->state_, CALL_OPEN, __ATOMIC_RELEASE);
    return SONDE_OK;
}

static int begin(sonde_llm *llm, sonde_llm_call *call, int kind, const char *op,
                 const char *provider, const char *model, const char *addr, int port,
                 const char *name, int streaming, const void *req)
{
    if (!call)
        return SONDE_EINVAL;
    __atomic_store_n(&call->state_, CALL_INERT, __ATOMIC_RELAXED);
    if (!llm)
        return SONDE_OK; /* instrumentation off: the call stays inert */
    llm_route *r;
    int rc = llm_route_get(llm, kind, op, provider, model, addr, port, name, &r);
    return rc ? rc : open_call(llm, call, r, streaming, req);
}

/*
 * A NULL request: with a module that is misuse, so the call is left inert and
 * the caller gets SONDE_EINVAL (returns 1); without a module instrumentation is
 * off and begin() leaves the call inert with an all-zero request (returns 0).
 */
static int refuse_null_request(const sonde_llm *llm, sonde_llm_call *call)
{
    if (!llm)
        return 0;
    if (call)
        __atomic_store_n(&call->state_, CALL_INERT, __ATOMIC_RELAXED);
    return 1;
}

int sonde_llm_call_begin(sonde_llm *llm, sonde_llm_call *call, const sonde_llm_request *req)
{
    static const sonde_llm_request none;
    if (!req) {
        if (refuse_null_request(llm, call))
            return SONDE_EINVAL;
        req = &none;
    }
    return begin(llm, call, KIND_MODEL, req->operation, req->provider, req->model,
                 req->server_address, req->server_port, NULL, req->streaming, req);
}

int sonde_llm_tool_begin(sonde_llm *llm, sonde_llm_call *call, const char *tool,
                         const char *provider)
{
    return begin(llm, call, KIND_TOOL, "execute_tool", provider, NULL, NULL, 0, tool, 0, NULL);
}

int sonde_llm_tool_begin_ex(sonde_llm *llm, sonde_llm_call *call,
                            const sonde_llm_tool_request *req)
{
    static const sonde_llm_tool_request off;
    if (!req) {
        if (refuse_null_request(llm, call))
            return SONDE_EINVAL;
        req = &off;
    }
    return begin(llm, call, KIND_TOOL, "execute_tool", req->provider, NULL, NULL, 0, req->name, 0,
                 req);
}

int sonde_llm_agent_begin(sonde_llm *llm, sonde_llm_call *call, const char *name,
                          const char *provider, const char *model)
{
    return begin(llm, call, KIND_AGENT, "invoke_agent", provider, model, NULL, 0, name, 0, NULL);
}

int sonde_llm_agent_begin_ex(sonde_llm *llm, sonde_llm_call *call,
                             const sonde_llm_agent_request *req)
{
    static const sonde_llm_agent_request off;
    if (!req) {
        if (refuse_null_request(llm, call))
            return SONDE_EINVAL;
        req = &off;
    }
    return begin(llm, call, KIND_AGENT, "invoke_agent", req->provider, req->model, NULL, 0,
                 req->name, 0, req);
}

int sonde_llm_pipeline_begin(sonde_llm *llm, sonde_llm_call *call, const char *name)
{
    return begin(llm, call, KIND_PIPELINE, LLM_PIPELINE_OPERATION, NULL, NULL, NULL, 0, name, 0,
                 NULL);
}

void sonde_llm_call_first_token(sonde_llm_call *call)
{
    if (!call || __atomic_load_n(&call->state_, __ATOMIC_RELAXED) != CALL_OPEN ||
        (__atomic_load_n(&call->first_token_ns_, __ATOMIC_RELAXED) & LLM_MARKED))
        return;
    __atomic_store_n(&call->first_token_ns_, sonde_now_ns() | LLM_MARKED, __ATOMIC_RELEASE);
}

void sonde_llm_call_tokens(sonde_llm_call *call, uint32_t n)
{
    if (__builtin_expect(!call || __atomic_load_n(&call->state_, __ATOMIC_RELAXED) != CALL_OPEN, 0))
        return;
    uint64_t chunks = __atomic_load_n(&call->chunks_, __ATOMIC_RELAXED);
    if (__builtin_expect(
            chunks == 0 ||
                (n && !(__atomic_load_n(&call->first_token_ns_, __ATOMIC_RELAXED) & LLM_MARKED)),
            0)) {
        uint64_t now = sonde_now_ns();
        if (chunks == 0)
            __atomic_store_n(&call->first_chunk_ns_, now, __ATOMIC_RELAXED);
        if (n && !(__atomic_load_n(&call->first_token_ns_, __ATOMIC_RELAXED) & LLM_MARKED))
            __atomic_store_n(&call->first_token_ns_, now | LLM_MARKED, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&call->tokens_, __atomic_load_n(&call->tokens_, __ATOMIC_RELAXED) + n,
                     __ATOMIC_RELAXED);
    __atomic_store_n(&call->chunks_, chunks + 1, __ATOMIC_RELEASE);
}
