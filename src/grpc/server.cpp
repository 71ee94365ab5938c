/*
 * server.cpp - libsonde-grpc's server interceptor. One interceptor per call,
 * created by gRPC when the call is matched (the timing starts there). At
 * POST_RECV_INITIAL_METADATA it reads the caller's traceparent and
 * tracestate (the first of each; values longer than kMaxHeader are treated
 * as absent, gRPC's own metadata limit bounds them anyway) and starts the
 * SERVER span; at PRE_SEND_STATUS it records the code the handler answered.
 */
#include <string>

#include "call.hpp"

namespace sonde_grpc_internal {
namespace {

using grpc::experimental::InterceptionHookPoints;

constexpr size_t kMaxHeader = 8192;

/* The first value of key in the received metadata, or "" (absent or too long). */
std::string first_value(const std::multimap<grpc::string_ref, grpc::string_ref> *md,
                        const char *key)
{
    if (!md)
        return {};
    grpc::string_ref name(key);
    auto it = md->lower_bound(name); /* the first of equal keys, in arrival order */
    if (it == md->end() || it->first != name || it->second.size() > kMaxHeader)
        return {};
    return std::string(it->second.data(), it->second.size());
}

class ServerInterceptor final : public grpc::experimental::Interceptor {
public:
    ServerInterceptor(std::shared_ptr<Shared> shared, const Method &method)
        : record_(std::move(shared), method, SONDE_SPAN_SERVER)
    {
    }

    void Intercept(grpc::experimental::InterceptorBatchMethods *batch) override
    {
        if (batch->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA))
            start(batch->GetRecvInitialMetadata());
        if (batch->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS))
            record_.finish(static_cast<int>(batch->GetSendStatus().error_code()));
        batch->Proceed();
    }

private:
    void start(const std::multimap<grpc::string_ref, grpc::string_ref> *md)
    {
        try {
            std::string traceparent = first_value(md, "traceparent");
            std::string tracestate = first_value(md, "tracestate");
            sonde_span_context parent;
            /* invalid or absent: parent is zeroed, the span starts a new trace */
            sonde_traceparent_parse(traceparent.c_str(),
                                    tracestate.empty() ? nullptr : tracestate.c_str(), &parent);
            record_.start_span(&parent);
        } catch (...) { /* out of memory: the call goes on without its span */
        }
    }

    CallRecord record_;
};

class ServerFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
public:
    explicit ServerFactory(const sonde_grpc_opts &opts) : shared_(std::make_shared<Shared>(opts)) {}

    grpc::experimental::Interceptor *
    CreateServerInterceptor(grpc::experimental::ServerRpcInfo *info) override
    {
        try {
            return new ServerInterceptor(shared_, shared_->methods.lookup(info->method()));
        } catch (...) { /* out of memory: this call goes unrecorded */
            return nullptr;
        }
    }

private:
    std::shared_ptr<Shared> shared_;
};

} // namespace
} // namespace sonde_grpc_internal

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
sonde_grpc_server_interceptor_factory(const sonde_grpc_opts &opts)
{
    return std::make_unique<sonde_grpc_internal::ServerFactory>(opts);
}
