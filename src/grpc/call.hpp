/*
 * call.hpp - what libsonde-grpc records about one call, for both sides
 * (private): the sonde_rpc timing started at creation, the call's span, and
 * finish(), which records the final code and ends the span exactly once
 * (the first of the status hook and the destructor wins: a call torn down
 * without a status is CANCELLED). The factory's shared state (method table,
 * tracer) is held by every call, so it outlives the factory if gRPC frees
 * that first.
 */
#ifndef SONDE_GRPC_CALL_HPP
#define SONDE_GRPC_CALL_HPP

#include <atomic>
#include <memory>

#include "method_table.hpp"
#include "sonde/error.h"
#include "sonde/grpc.hpp"

namespace sonde_grpc_internal {

struct Shared {
    explicit Shared(const sonde_grpc_opts &opts)
        : methods(opts.rpc, opts.methods, opts.method_limit), tracer(opts.tracer)
    {
    }
    MethodTable methods;
    sonde_tracer *const tracer;
};

class CallRecord {
public:
    CallRecord(std::shared_ptr<Shared> shared, const Method &method, sonde_span_kind kind);
    ~CallRecord();
    CallRecord(const CallRecord &) = delete;
    CallRecord &operator=(const CallRecord &) = delete;

    /* Start the span: parent as sonde_span_start() takes it. Once, before finish(). */
    void start_span(const sonde_span_context *parent);
    sonde_span *span() const { return span_; }
    /* Record the call with its gRPC status code and end its span; later calls do nothing. */
    void finish(int code);

private:
    std::shared_ptr<Shared> shared_;
    const Method &method_;
    const sonde_span_kind kind_;
    sonde_rpc_call call_;
    sonde_span *span_ = nullptr;
    std::atomic<bool> finished_{false};
};

} // namespace sonde_grpc_internal

#endif
