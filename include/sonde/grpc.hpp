/*
 * sonde/grpc.hpp - gRPC interceptors for C++ hosts (libsonde-grpc, C++17,
 * gRPC's experimental interceptor API). docs/grpc.md is the guide.
 *
 * Two factories, one for a server (grpc::ServerBuilder::
 * experimental().SetInterceptorCreators) and one for a channel
 * (grpc::experimental::CreateCustomChannelWithInterceptors). Each call they
 * see is recorded, once, when it ends, through libsonde's RPC helpers
 * (sonde/http.h, "RPC"):
 *
 *   rpc_requests_total{method,code}          counter
 *   rpc_request_duration_seconds{method}     histogram
 *
 * and, with a tracer, is one span named after the method:
 *   server: a SERVER span, the child of the caller's W3C context read from
 *           the call's traceparent / tracestate metadata (absent or invalid:
 *           a new trace; the call goes on either way); status ERROR for the
 *           codes OpenTelemetry counts as server errors (UNKNOWN,
 *           DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE,
 *           DATA_LOSS).
 *   client: a CLIENT span, the child of the calling thread's current span
 *           (sonde_span_enter) if any, whose context is written into the
 *           call's traceparent / tracestate metadata; status ERROR for every
 *           code but OK.
 * Attributes rpc.system "grpc", rpc.service, rpc.method and
 * rpc.grpc.status_code. Unary and streaming calls alike: a stream is one
 * call, timed from its start to its status. A call that ends without a
 * status (abandoned, torn down) is recorded as CANCELLED.
 *
 * Method names. The label is the gRPC path without its leading '/'
 * ("pkg.Service/Method"). Paths come from the peer on a server with a generic
 * service, so they are bounded: the names listed in opts.methods always have
 * their own series; other names are learned as calls arrive until
 * method_limit distinct names exist; a later new name, or a path that is not
 * "/service/method" in printable ASCII of at most 255 bytes, is recorded as
 * "OTHER" (its span too). List every method and set method_limit to their
 * count for a closed set.
 *
 * Lifetimes: opts.rpc and opts.tracer must outlive the server or channel the
 * factory is given to (and every call on them). Either may be NULL: no
 * metrics, or no spans. Thread safety: the factories and their interceptors
 * may be used from any thread, as gRPC does.
 */
#ifndef SONDE_GRPC_HPP
#define SONDE_GRPC_HPP

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/support/client_interceptor.h>
#include <grpcpp/support/server_interceptor.h>

#include "export.h"
#include "http.h"
#include "trace.h"

/* What the interceptors record into. */
struct sonde_grpc_opts {
    sonde_rpc *rpc = nullptr;          /* the RPC families (sonde_rpc_new); NULL: no metrics */
    sonde_tracer *tracer = nullptr;    /* NULL: no spans */
    std::vector<std::string> methods;  /* names ("pkg.Service/Method", a leading '/' is
                                          dropped) that always get their own series */
    size_t method_limit = 0;           /* distinct names, listed ones included; 0 = 100
                                          (at least the listed count) */
};

/*
 * The two factories have C linkage, so that the library exports them under
 * their own names (sonde_grpc_*, as every sonde symbol), not mangled ones;
 * they are C++ functions all the same (C++ types in and out).
 */
#ifdef __clang__
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wreturn-type-c-linkage"
#endif
extern "C" {

/*
 * A server interceptor factory recording every call of the server it is
 * given to, as described above. Never NULL (out of memory throws, as the
 * standard library does; the interceptors themselves never throw).
 */
SONDE_API std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
sonde_grpc_server_interceptor_factory(const sonde_grpc_opts &opts);

/* The client side: a factory for CreateCustomChannelWithInterceptors(). */
SONDE_API std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>
sonde_grpc_client_interceptor_factory(const sonde_grpc_opts &opts);

} /* extern "C" */
#ifdef __clang__
#pragma clang diagnostic pop
#endif

#endif
