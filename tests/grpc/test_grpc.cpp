/*
 * test_grpc.cpp - libsonde-grpc against real gRPC: one process runs a gRPC
 * server (the Echo service of echo.proto, compiled by protoc and
 * grpc_cpp_plugin at build time, plus gRPC's default generic service, which
 * answers UNIMPLEMENTED to any other path) on a free loopback port, with the
 * server interceptor, and calls it through a channel with the client
 * interceptor: unary and streaming calls of each kind, OK and error codes,
 * hostile paths, and one call from an uninstrumented channel carrying a
 * garbage traceparent. The server and the client record into registries of
 * their own and one tracer whose spans an in-memory exporter keeps. Then:
 *   - each side's exposition holds exactly the counts of the calls made, by
 *     method and code (a call past its deadline: DEADLINE_EXCEEDED for the
 *     client, CANCELLED for the server), and the histograms' counts by method;
 *   - paths past each side's method limit are "OTHER", and no series exists
 *     for them;
 *   - every client span is the child of the test's root span (the trace and
 *     its tracestate continued), every server span the child of its client
 *     span (the W3C context carried in the metadata), except the garbage one,
 *     a root; span status and attributes follow the RPC conventions.
 */
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "check.h"
#include "echo.grpc.pb.h"
#include "sonde/grpc.hpp"
#include "sonde/sonde.h"

using sonde::test::Echo;
using sonde::test::EchoReply;
using sonde::test::EchoRequest;

/* ---- the service ---------------------------------------------------------- */

static const int kWaitForCancel = -1;

static grpc::Status answer(int code)
{
    return code ? grpc::Status(static_cast<grpc::StatusCode>(code), "asked for")
                : grpc::Status::OK;
}

class EchoService final : public Echo::Service {
    grpc::Status Unary(grpc::ServerContext *ctx, const EchoRequest *req, EchoReply *rep) override
    {
        if (req->code() == kWaitForCancel) { /* until the caller's deadline cancels the call */
            while (!ctx->IsCancelled())
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
        }
        rep->set_text(req->text());
        return answer(req->code());
    }

    grpc::Status ServerStream(grpc::ServerContext *, const EchoRequest *req,
                              grpc::ServerWriter<EchoReply> *out) override
    {
        for (int i = 0; i < req->count(); i++) {
            EchoReply r;
            r.set_text(req->text() + std::to_string(i));
            out->Write(r);
        }
        return answer(req->code());
    }

    grpc::Status ClientStream(grpc::ServerContext *, grpc::ServerReader<EchoRequest> *in,
                              EchoReply *rep) override
    {
        EchoRequest req;
        int code = 0;
        std::string all;
        while (in->Read(&req)) {
            all += req.text();
            code = req.code();
        }
        rep->set_text(all);
        return answer(code);
    }

    grpc::Status Bidi(grpc::ServerContext *,
                      grpc::ServerReaderWriter<EchoReply, EchoRequest> *io) override
    {
        EchoRequest req;
        while (io->Read(&req)) {
            EchoReply r;
            r.set_text(req.text());
            io->Write(r);
        }
        return grpc::Status::OK;
    }
};

/* ---- spans as an exporter sees them ----------------------------------------- */

struct SunkSpan {
    std::string name, trace_id, span_id, parent, tracestate;
    int kind = 0, status = 0;
    bool has_parent = false;
    std::map<std::string, std::string> str;
    std::map<std::string, int64_t> ints;
};

struct SpanSink {
    std::mutex mu;
    std::vector<SunkSpan> spans;

    static int export_fn(void *ud, const sonde_span *const *spans, size_t n, uint64_t, size_t *)
    {
        auto *sink = static_cast<SpanSink *>(ud);
        std::lock_guard<std::mutex> lock(sink->mu);
        for (size_t i = 0; i < n; i++) {
            SunkSpan s;
            char hex[33];
            s.name = sonde_span_name(spans[i]);
            s.kind = sonde_span_get_kind(spans[i]);
            s.status = sonde_span_status(spans[i], nullptr);
            sonde_span_context ctx;
            sonde_span_get_context(spans[i], &ctx);
            sonde_trace_id_hex(ctx.trace_id, hex);
            s.trace_id = hex;
            sonde_span_id_hex(ctx.span_id, hex);
            s.span_id = hex;
            s.tracestate = ctx.tracestate;
            uint8_t parent[8];
            s.has_parent = sonde_span_parent_id(spans[i], parent);
            sonde_span_id_hex(parent, hex);
            s.parent = s.has_parent ? hex : "";
            for (size_t a = 0; a < sonde_span_attr_count(spans[i]); a++) {
                sonde_attr at;
                sonde_span_attr(spans[i], a, &at);
                if (at.type == SONDE_ATTR_STRING)
                    s.str[at.key] = at.v.s;
                else if (at.type == SONDE_ATTR_INT)
                    s.ints[at.key] = at.v.i;
            }
            sink->spans.push_back(s);
        }
        return SONDE_OK;
    }
};

/* ---- the calls ---------------------------------------------------------------- */

static const char kRootTrace[] = "0af7651916cd43dd8448eb211c80319c";
static const char kRootParent[] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
/* Past the server's limit (4 listed + 2) from the third on; "/noslash" is no method path. */
static const char *const kHostilePaths[] = {"/evil.Svc/m1", "/evil.Svc/m2", "/evil.Svc/m3",
                                            "/evil.Svc/m4", "/evil.Svc/m5", "/noslash"};

struct World {
    SpanSink sink;
    std::string server_text, client_text; /* the expositions after every call */
    std::string root_span_id;
    int calls_failed = 0; /* calls whose outcome was not the one asked for */
};
static World *world;

static EchoRequest request(const std::string &text, int code, int count = 0)
{
    EchoRequest r;
    r.set_text(text);
    r.set_code(code);
    r.set_count(count);
    return r;
}

static void expect(World &w, const grpc::Status &got, grpc::StatusCode want, const char *what)
{
    if (got.error_code() != want) {
        fprintf(stderr, "%s: status %d, want %d (%s)\n", what, got.error_code(), want,
                got.error_message().c_str());
        w.calls_failed++;
    }
}

static void unary(World &w, Echo::Stub &stub, grpc::StatusCode code)
{
    grpc::ClientContext ctx;
    EchoReply rep;
    expect(w, stub.Unary(&ctx, request("u", code), &rep), code, "Unary");
}

/* A unary call past its deadline: the client sees DEADLINE_EXCEEDED, the server CANCELLED. */
static void unary_deadline(World &w, Echo::Stub &stub)
{
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(100));
    EchoReply rep;
    expect(w, stub.Unary(&ctx, request("d", kWaitForCancel), &rep),
           grpc::StatusCode::DEADLINE_EXCEEDED, "Unary past its deadline");
}

static void server_stream(World &w, Echo::Stub &stub, int count, grpc::StatusCode code)
{
    grpc::ClientContext ctx;
    auto reader = stub.ServerStream(&ctx, request("s", code, count));
    EchoReply rep;
    int got = 0;
    while (reader->Read(&rep))
        got++;
    expect(w, reader->Finish(), code, "ServerStream");
    if (got != count)
        w.calls_failed++;
}

static void client_stream(World &w, Echo::Stub &stub, int count, grpc::StatusCode code)
{
    grpc::ClientContext ctx;
    EchoReply rep;
    auto writer = stub.ClientStream(&ctx, &rep);
    for (int i = 0; i < count; i++)
        writer->Write(request("c", i == count - 1 ? code : 0));
    writer->WritesDone();
    expect(w, writer->Finish(), code, "ClientStream");
}

static void bidi(World &w, Echo::Stub &stub, int count)
{
    grpc::ClientContext ctx;
    auto io = stub.Bidi(&ctx);
    EchoReply rep;
    int got = 0;
    for (int i = 0; i < count; i++) {
        io->Write(request("b", 0));
        got += io->Read(&rep);
    }
    io->WritesDone();
    expect(w, io->Finish(), grpc::StatusCode::OK, "Bidi");
    if (got != count)
        w.calls_failed++;
}

static void hostile(World &w, grpc::GenericStub &stub, const char *path)
{
    grpc::ClientContext ctx;
    grpc::ByteBuffer req, rep;
    bool own;
    grpc::SerializationTraits<EchoRequest>::Serialize(request("h", 0), &req, &own);
    std::promise<grpc::Status> done;
    stub.UnaryCall(&ctx, path, grpc::StubOptions(), &req, &rep,
                   [&done](grpc::Status s) { done.set_value(s); });
    expect(w, done.get_future().get(), grpc::StatusCode::UNIMPLEMENTED, path);
}

static std::string expose(sonde_registry *reg)
{
    char *text = sonde_expose_alloc(reg, SONDE_FORMAT_TEXT, nullptr);
    std::string out = text ? text : "";
    free(text);
    return out;
}

/* Everything runs here; the checks read what it leaves in the world. */
static int run_calls(World &w)
{
    sonde_registry *server_reg = nullptr, *client_reg = nullptr;
    sonde_rpc *server_rpc = nullptr, *client_rpc = nullptr;
    sonde_tracer *tracer = nullptr;
    sonde_rpc_opts ro = {};
    sonde_tracer_opts to;
    sonde_tracer_opts_init(&to);
    to.read_env = 0;
    to.sampler = SONDE_SAMPLER_PARENTBASED_ALWAYS_ON;
    to.exporter = {SpanSink::export_fn, nullptr, &w.sink};
    if (sonde_registry_new(nullptr, &server_reg) || sonde_registry_new(nullptr, &client_reg))
        return 1;
    ro.registry = server_reg;
    if (sonde_rpc_new(&ro, &server_rpc))
        return 1;
    ro.registry = client_reg;
    if (sonde_rpc_new(&ro, &client_rpc) || sonde_tracer_new(&to, &tracer) || !tracer)
        return 1;

    {
        sonde_grpc_opts so;
        so.rpc = server_rpc;
        so.tracer = tracer;
        so.methods = {"/sonde.test.Echo/Unary", "/sonde.test.Echo/ServerStream",
                      "sonde.test.Echo/ClientStream", "/sonde.test.Echo/Bidi"};
        so.method_limit = 6;
        std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> sf;
        sf.push_back(sonde_grpc_server_interceptor_factory(so));

        EchoService echo;
        grpc::CallbackGenericService generic; /* UNIMPLEMENTED for every other path */
        grpc::ServerBuilder builder;
        int port = 0;
        builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
        builder.RegisterService(&echo);
        builder.RegisterCallbackGenericService(&generic);
        builder.experimental().SetInterceptorCreators(std::move(sf));
        std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
        if (!server || port <= 0) {
            fprintf(stderr, "the gRPC server did not start\n");
            return 1;
        }
        std::string target = "127.0.0.1:" + std::to_string(port);

        sonde_grpc_opts co;
        co.rpc = client_rpc;
        co.tracer = tracer;
        co.method_limit = 7; /* learned: the four Echo methods, then m1..m3 */
        std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> cf;
        cf.push_back(sonde_grpc_client_interceptor_factory(co));
        auto channel = grpc::experimental::CreateCustomChannelWithInterceptors(
            target, grpc::InsecureChannelCredentials(), grpc::ChannelArguments(), std::move(cf));
        auto stub = Echo::NewStub(channel);
        grpc::GenericStub generic_stub(channel);

        /* The client's calls continue the trace of a remote caller, tracestate included. */
        sonde_span_context remote;
        sonde_traceparent_parse(kRootParent, "vendor=abc", &remote);
        sonde_span *root = sonde_span_start(tracer, "test-root", SONDE_SPAN_INTERNAL, &remote);
        char hex[17];
        sonde_span_context root_ctx;
        sonde_span_get_context(root, &root_ctx);
        sonde_span_id_hex(root_ctx.span_id, hex);
        w.root_span_id = hex;
        sonde_span *previous = sonde_span_enter(root);

        for (int i = 0; i < 3; i++)
            unary(w, *stub, grpc::StatusCode::OK);
        unary(w, *stub, grpc::StatusCode::NOT_FOUND);
        unary(w, *stub, grpc::StatusCode::NOT_FOUND);
        unary(w, *stub, grpc::StatusCode::INVALID_ARGUMENT);
        unary_deadline(w, *stub);
        server_stream(w, *stub, 3, grpc::StatusCode::OK);
        server_stream(w, *stub, 2, grpc::StatusCode::NOT_FOUND);
        client_stream(w, *stub, 3, grpc::StatusCode::OK);
        client_stream(w, *stub, 2, grpc::StatusCode::INVALID_ARGUMENT);
        bidi(w, *stub, 4);
        for (const char *path : kHostilePaths)
            hostile(w, generic_stub, path);

        sonde_span_exit(previous);
        sonde_span_end(root);

        /* An uninstrumented caller sending a garbage traceparent: the call goes on. */
        auto plain = Echo::NewStub(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
        grpc::ClientContext ctx;
        ctx.AddMetadata("traceparent", "00-garbage");
        EchoReply rep;
        expect(w, plain->Unary(&ctx, request("g", 0), &rep), grpc::StatusCode::OK, "plain");

        server->Shutdown(); /* every call is over: both sides have recorded */
        server->Wait();
    } /* the server, channels and factories are gone before what they recorded into */

    w.server_text = expose(server_reg);
    w.client_text = expose(client_reg);
    int rc = sonde_tracer_flush(tracer, 10000);
    sonde_tracer_free(tracer, 1000);
    sonde_rpc_free(server_rpc);
    sonde_rpc_free(client_rpc);
    sonde_registry_free(server_reg);
    sonde_registry_free(client_reg);
    return rc != SONDE_OK;
}

/* ---- the checks ---------------------------------------------------------------- */

/* The value of the sample line "series value", or -1 when absent. */
static long sample(const std::string &text, const std::string &series)
{
    std::string line = "\n" + series + " ";
    size_t at = text.find(line);
    return at == std::string::npos ? -1 : strtol(text.c_str() + at + line.size(), nullptr, 10);
}

static long requests(const std::string &text, const char *method, const char *code)
{
    return sample(text, std::string("rpc_requests_total{method=\"") + method + "\",code=\"" +
                            code + "\"}");
}

static long durations(const std::string &text, const char *method)
{
    return sample(text, std::string("rpc_request_duration_seconds_count{method=\"") + method +
                            "\"}");
}

static int series_count(const std::string &text)
{
    int n = 0;
    for (size_t at = 0; (at = text.find("\nrpc_requests_total{", at)) != std::string::npos; at++)
        n++;
    return n;
}

TEST(grpc_calls_answered_as_asked)
{
    CHECK_EQ_INT(world->calls_failed, 0);
}

TEST(grpc_server_metrics_exact)
{
    const std::string &t = world->server_text;
    CHECK_EQ_INT(requests(t, "sonde.test.Echo/Unary", "OK"), 4);
    CHECK_EQ_INT(requests(t, "sonde.test.Echo/Unary", "NOT_FOUND"), 2);
    CHECK_EQ_INT(requests(t, "sonde.test.Echo/Unary", "INVALID_ARGUMENT"), 1);
    CHECK_EQ_INT(requests(t, "sonde.test.Echo/Unary", "CANCELLED"), 1);
    CHECK_EQ_INT(requests(t, "sonde.test.Echo/ServerStream", "OK"), 1);
    CHECK_EQ_INT(requests(t, "sonde.test.Echo/ServerStream", "NOT_FOUND"), 1);
    CHECK_EQ_INT(requests(t, "sonde.test.Echo/ClientStream", "OK"), 1);
    CHECK_EQ_INT(requests(t, "sonde.test.Echo/ClientStream", "INVALID_ARGUMENT"), 1);
    CHECK_EQ_INT(requests(t, "sonde.test.Echo/Bidi", "OK"), 1);
    CHECK_EQ_INT(durations(t, "sonde.test.Echo/Unary"), 8);
    CHECK_EQ_INT(durations(t, "sonde.test.Echo/ServerStream"), 2);
    CHECK_EQ_INT(durations(t, "sonde.test.Echo/ClientStream"), 2);
    CHECK_EQ_INT(durations(t, "sonde.test.Echo/Bidi"), 1);
    CHECK_CONTAINS(t.c_str(), "# TYPE rpc_request_duration_seconds histogram");
}

TEST(grpc_server_hostile_paths_bounded)
{
    const std::string &t = world->server_text;
    CHECK_EQ_INT(requests(t, "evil.Svc/m1", "UNIMPLEMENTED"), 1);
    CHECK_EQ_INT(requests(t, "evil.Svc/m2", "UNIMPLEMENTED"), 1);
    CHECK_EQ_INT(requests(t, "OTHER", "UNIMPLEMENTED"), 4); /* m3, m4, m5, /noslash */
    CHECK_EQ_INT(durations(t, "OTHER"), 4);
    CHECK(t.find("evil.Svc/m3") == std::string::npos);
    CHECK(t.find("noslash") == std::string::npos);
    CHECK_EQ_INT(series_count(t), 12);
}

TEST(grpc_client_metrics_exact)
{
    const std::string &t = world->client_text;
    CHECK_EQ_INT(requests(t, "sonde.test.Echo/Unary", "OK"), 3);
    CHECK_EQ_INT(requests(t, "sonde.test.Echo/Unary", "NOT_FOUND"), 2);
    CHECK_EQ_INT(requests(t, "sonde.test.Echo/Unary", "INVALID_ARGUMENT"), 1);
    CHECK_EQ_INT(requests(t, "sonde.test.Echo/Unary", "DEADLINE_EXCEEDED"), 1);
    CHECK_EQ_INT(requests(t, "sonde.test.Echo/ServerStream", "OK"), 1);
    CHECK_EQ_INT(requests(t, "sonde.test.Echo/ServerStream", "NOT_FOUND"), 1);
    CHECK_EQ_INT(requests(t, "sonde.test.Echo/ClientStream", "OK"), 1);
    CHECK_EQ_INT(requests(t, "sonde.test.Echo/ClientStream", "INVALID_ARGUMENT"), 1);
    CHECK_EQ_INT(requests(t, "sonde.test.Echo/Bidi", "OK"), 1);
    CHECK_EQ_INT(durations(t, "sonde.test.Echo/Unary"), 7);
    CHECK_EQ_INT(durations(t, "sonde.test.Echo/ServerStream"), 2);
    CHECK_EQ_INT(durations(t, "sonde.test.Echo/ClientStream"), 2);
    CHECK_EQ_INT(durations(t, "sonde.test.Echo/Bidi"), 1);
    for (const char *m : {"evil.Svc/m1", "evil.Svc/m2", "evil.Svc/m3"})
        CHECK_EQ_INT(requests(t, m, "UNIMPLEMENTED"), 1);
    CHECK_EQ_INT(requests(t, "OTHER", "UNIMPLEMENTED"), 3); /* m4, m5, /noslash */
    CHECK(t.find("evil.Svc/m4") == std::string::npos);
    CHECK_EQ_INT(series_count(t), 13);
}

static std::vector<const SunkSpan *> spans_of(int kind)
{
    std::vector<const SunkSpan *> out;
    for (const SunkSpan &s : world->sink.spans)
        if (s.kind == kind)
            out.push_back(&s);
    return out;
}

TEST(grpc_client_spans_continue_the_caller)
{
    auto client = spans_of(SONDE_SPAN_CLIENT);
    CHECK_EQ_INT(client.size(), 18);
    for (const SunkSpan *s : client) {
        CHECK_EQ_STR(s->trace_id.c_str(), kRootTrace);
        CHECK_EQ_STR(s->parent.c_str(), world->root_span_id.c_str());
        CHECK_EQ_STR(s->tracestate.c_str(), "vendor=abc");
        CHECK_EQ_STR(s->str.count("rpc.system") ? s->str.at("rpc.system").c_str() : "", "grpc");
        CHECK(s->ints.count("rpc.grpc.status_code"));
        bool ok = s->ints.count("rpc.grpc.status_code") && s->ints.at("rpc.grpc.status_code") == 0;
        CHECK_EQ_INT(s->status, ok ? SONDE_STATUS_UNSET : SONDE_STATUS_ERROR);
    }
}

TEST(grpc_server_spans_are_children_of_client_spans)
{
    auto server = spans_of(SONDE_SPAN_SERVER);
    auto client = spans_of(SONDE_SPAN_CLIENT);
    CHECK_EQ_INT(server.size(), 19);
    int linked = 0, roots = 0, deadline = 0;
    for (const SunkSpan *s : server) {
        if (!s->has_parent) {
            roots++; /* the garbage traceparent: a new trace, the call measured all the same */
            CHECK_EQ_STR(s->name.c_str(), "sonde.test.Echo/Unary");
            CHECK(s->trace_id != kRootTrace);
            continue;
        }
        for (const SunkSpan *c : client) {
            if (c->span_id != s->parent)
                continue;
            linked++;
            CHECK_EQ_STR(s->trace_id.c_str(), c->trace_id.c_str());
            CHECK_EQ_STR(s->tracestate.c_str(), "vendor=abc");
            if (s->name != "OTHER")
                CHECK_EQ_STR(s->name.c_str(), c->name.c_str());
            CHECK(s->ints.count("rpc.grpc.status_code") && c->ints.count("rpc.grpc.status_code"));
            auto code_of = [](const SunkSpan *x) {
                auto it = x->ints.find("rpc.grpc.status_code");
                return it == x->ints.end() ? int64_t{-1} : it->second;
            };
            int64_t sc = code_of(s), cc = code_of(c);
            if (sc == SONDE_RPC_CANCELLED && cc == SONDE_RPC_DEADLINE_EXCEEDED)
                deadline++; /* each side's view of the call past its deadline */
            else
                CHECK_EQ_INT(sc, cc);
        }
    }
    CHECK_EQ_INT(linked, 18);
    CHECK_EQ_INT(deadline, 1);
    CHECK_EQ_INT(roots, 1);
}

TEST(grpc_server_span_status_and_attributes)
{
    int not_found = 0, unimplemented = 0, other = 0;
    for (const SunkSpan *s : spans_of(SONDE_SPAN_SERVER)) {
        int64_t code = s->ints.count("rpc.grpc.status_code") ? s->ints.at("rpc.grpc.status_code")
                                                             : -1;
        if (code == 5) { /* NOT_FOUND: the server did its job */
            not_found++;
            CHECK_EQ_INT(s->status, SONDE_STATUS_UNSET);
        }
        if (code == 12) { /* UNIMPLEMENTED: a server error */
            unimplemented++;
            CHECK_EQ_INT(s->status, SONDE_STATUS_ERROR);
        }
        if (s->name == "OTHER") {
            other++;
            CHECK(!s->str.count("rpc.service") && !s->str.count("rpc.method"));
        } else if (s->name == "sonde.test.Echo/Bidi") {
            CHECK(s->str.count("rpc.service") && s->str.at("rpc.service") == "sonde.test.Echo");
            CHECK(s->str.count("rpc.method") && s->str.at("rpc.method") == "Bidi");
        }
    }
    CHECK_EQ_INT(not_found, 3);
    CHECK_EQ_INT(unimplemented, 6);
    CHECK_EQ_INT(other, 4);
}

int main()
{
    world = new World;
    if (run_calls(*world)) {
        fprintf(stderr, "FAIL: the gRPC world could not be set up or flushed\n");
        return 1;
    }
    RUN(grpc_calls_answered_as_asked);
    RUN(grpc_server_metrics_exact);
    RUN(grpc_server_hostile_paths_bounded);
    RUN(grpc_client_metrics_exact);
    RUN(grpc_client_spans_continue_the_caller);
    RUN(grpc_server_spans_are_children_of_client_spans);
    RUN(grpc_server_span_status_and_attributes);
    delete world;
    return check_report();
}
