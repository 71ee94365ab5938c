/*
 * client.cpp - libsonde-grpc's client interceptor. One interceptor per call,
 * created by gRPC on the thread that starts the call: the timing starts there
 * and so does the CLIENT span, the child of that thread's current span. At
 * PRE_SEND_INITIAL_METADATA the span's context replaces any traceparent /
 * tracestate already in the call's metadata; at POST_RECV_STATUS the call is
 * recorded with the code it received (the server's, or one gRPC produced:
 * UNAVAILABLE, DEADLINE_EXCEEDED, ...).
 */
#include "call.hpp"

namespace sonde_grpc_internal {
namespace {

using grpc::experimental::InterceptionHookPoints;

class ClientInterceptor final : public grpc::experimental::Interceptor {
public:
    ClientInterceptor(std::shared_ptr<Shared> shared, const Method &method)
        : record_(std::move(shared), method, SONDE_SPAN_CLIENT)
    {
        record_.start_span(nullptr);
    }

    void Intercept(grpc::experimental::InterceptorBatchMethods *batch) override
    {
        if (batch->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_INITIAL_METADATA))
            inject(batch->GetSendInitialMetadata());
        if (batch->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_STATUS)) {
            const grpc::Status *status = batch->GetRecvStatus();
            record_.finish(status ? static_cast<int>(status->error_code()) : SONDE_RPC_UNKNOWN);
        }
        batch->Proceed();
    }

private:
    void inject(std::multimap<std::string, std::string> *md)
    {
        sonde_span_context ctx;
        char traceparent[SONDE_TRACEPARENT_LEN + 1];
        if (!md || sonde_span_get_context(record_.span(), &ctx) != SONDE_OK ||
            sonde_traceparent_format(&ctx, traceparent) != SONDE_OK)
            return;
        try {
            md->erase("traceparent");
            md->erase("tracestate");
            md->emplace("traceparent", traceparent);
            if (ctx.tracestate[0])
                md->emplace("tracestate", ctx.tracestate);
        } catch (...) { /* out of memory: the call goes on without the context */
        }
    }

    CallRecord record_;
};

class ClientFactory final : public grpc::experimental::ClientInterceptorFactoryInterface {
public:
    explicit ClientFactory(const sonde_grpc_opts &opts) : shared_(std::make_shared<Shared>(opts)) {}

    grpc::experimental::Interceptor *
    CreateClientInterceptor(grpc::experimental::ClientRpcInfo *info) override
    {
        try {
            return new ClientInterceptor(shared_, shared_->methods.lookup(info->method()));
        } catch (...) { /* out of memory: this call goes unrecorded */
            return nullptr;
        }
    }

private:
    std::shared_ptr<Shared> shared_;
};

} // namespace
} // namespace sonde_grpc_internal

std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>
sonde_grpc_client_interceptor_factory(const sonde_grpc_opts &opts)
{
    return std::make_unique<sonde_grpc_internal::ClientFactory>(opts);
}
