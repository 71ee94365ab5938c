/*
 * call.cpp - one call's metrics and span (see call.hpp). Span status follows
 * OpenTelemetry's RPC conventions: a client span is an error for every code
 * but OK; a server span only for the codes that mean the server failed
 * (a NOT_FOUND or INVALID_ARGUMENT answer is the server working).
 */
#include "call.hpp"

namespace sonde_grpc_internal {

CallRecord::CallRecord(std::shared_ptr<Shared> shared, const Method &method,
                       sonde_span_kind kind)
    : shared_(std::move(shared)), method_(method), kind_(kind),
      call_(sonde_rpc_begin(method.handle))
{
}

CallRecord::~CallRecord()
{
    finish(SONDE_RPC_CANCELLED);
}

void CallRecord::start_span(const sonde_span_context *parent)
{
    if (span_ || finished_.load(std::memory_order_acquire))
        return;
    span_ = sonde_span_start(shared_->tracer, method_.label.c_str(), kind_, parent);
    if (!sonde_span_is_recording(span_))
        return;
    sonde_span_set_str(span_, "rpc.system", "grpc");
    if (!method_.service.empty()) {
        sonde_span_set_str(span_, "rpc.service", method_.service.c_str());
        sonde_span_set_str(span_, "rpc.method", method_.name.c_str());
    }
}

static bool server_error(int code)
{
    switch (code) {
    case SONDE_RPC_UNKNOWN:
    case SONDE_RPC_DEADLINE_EXCEEDED:
    case SONDE_RPC_UNIMPLEMENTED:
    case SONDE_RPC_INTERNAL:
    case SONDE_RPC_UNAVAILABLE:
    case SONDE_RPC_DATA_LOSS:
        return true;
    default:
        return false;
    }
}

void CallRecord::finish(int code)
{
    if (finished_.exchange(true, std::memory_order_acq_rel))
        return;
    if (code < 0 || code >= SONDE_RPC_CODE_COUNT)
        code = SONDE_RPC_UNKNOWN;
    sonde_rpc_end(&call_, code);
    if (!span_)
        return;
    sonde_span_set_int(span_, "rpc.grpc.status_code", code);
    bool error = kind_ == SONDE_SPAN_SERVER ? server_error(code) : code != SONDE_RPC_OK;
    if (error)
        sonde_span_set_status(span_, SONDE_STATUS_ERROR, sonde_rpc_code_name(code));
    sonde_span_end(span_);
    span_ = nullptr;
}

} // namespace sonde_grpc_internal
