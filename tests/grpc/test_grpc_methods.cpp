/*
 * test_grpc_methods.cpp - the parts of libsonde-grpc that its interceptors
 * share between gRPC's threads, without gRPC running (so ThreadSanitizer
 * sees every synchronisation: test_grpc cannot run under TSan, see
 * tests/CMakeLists.txt):
 *   - the method table's validation of hostile paths and its bound;
 *   - the table under four threads learning and looking up overlapping names
 *     at once: one entry per name, the bound held, every call counted;
 *   - a call finished by two threads at once (the status hook racing the
 *     interceptor's destructor) is recorded exactly once.
 */
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "call.hpp"
#include "check.h"
#include "method_table.hpp"
#include "sonde/sonde.h"

using sonde_grpc_internal::CallRecord;
using sonde_grpc_internal::Method;
using sonde_grpc_internal::MethodTable;
using sonde_grpc_internal::Shared;

static std::string expose(sonde_registry *reg)
{
    char *text = sonde_expose_alloc(reg, SONDE_FORMAT_TEXT, nullptr);
    std::string out = text ? text : "";
    free(text);
    return out;
}

/* The value of the sample line "series value", or -1 when absent. */
static long sample(const std::string &text, const std::string &series)
{
    std::string line = "\n" + series + " ";
    size_t at = text.find(line);
    return at == std::string::npos ? -1 : strtol(text.c_str() + at + line.size(), nullptr, 10);
}

TEST(grpc_method_paths_validated)
{
    MethodTable table(nullptr, {"/a.S/Listed", "not a method", "/x/y/z"}, 3);
    CHECK_EQ_STR(table.lookup("/a.S/Listed").label.c_str(), "a.S/Listed");
    CHECK_EQ_STR(table.lookup("a.S/Listed").label.c_str(), "a.S/Listed");
    const Method &m = table.lookup("/pkg.Svc/Get");
    CHECK_EQ_STR(m.label.c_str(), "pkg.Svc/Get");
    CHECK_EQ_STR(m.service.c_str(), "pkg.Svc");
    CHECK_EQ_STR(m.name.c_str(), "Get");
    std::string long_path = "/s/" + std::string(254, 'm'); /* label of 256 bytes */
    const char *hostile[] = {nullptr, "", "/", "//", "/a/", "//b", "/noslash", "/a/b/c",
                             "/a b/c", "/a/\x01", "/a/\xc3\xa9", long_path.c_str()};
    for (const char *p : hostile)
        CHECK_EQ_STR(table.lookup(p).label.c_str(), "OTHER");
    std::string longest = "/s/" + std::string(253, 'm'); /* 255 bytes: valid */
    CHECK_EQ_STR(table.lookup(longest.c_str()).label.c_str(), longest.c_str() + 1);
    /* the limit (3) is reached: a new valid name is OTHER, known ones stay */
    CHECK_EQ_STR(table.lookup("/pkg.Svc/Put").label.c_str(), "OTHER");
    CHECK_EQ_STR(table.lookup("/pkg.Svc/Get").label.c_str(), "pkg.Svc/Get");
    CHECK(&table.lookup("/pkg.Svc/Get") == &m);
}

TEST(grpc_method_limit_never_below_listed)
{
    MethodTable table(nullptr, {"/a/1", "/a/2", "/a/3"}, 1);
    CHECK_EQ_STR(table.lookup("/a/3").label.c_str(), "a/3");
    CHECK_EQ_STR(table.lookup("/a/4").label.c_str(), "OTHER");
}

TEST(grpc_method_table_concurrent)
{
    sonde_registry *reg = nullptr;
    sonde_rpc *rpc = nullptr;
    sonde_rpc_opts ro = {};
    CHECK(sonde_registry_new(nullptr, &reg) == SONDE_OK);
    ro.registry = reg;
    CHECK(sonde_rpc_new(&ro, &rpc) == SONDE_OK);
    sonde_grpc_opts opts;
    opts.rpc = rpc;
    opts.method_limit = 20;
    auto shared = std::make_shared<Shared>(opts);

    constexpr int kThreads = 4, kCalls = 2000, kNames = 50;
    std::vector<std::vector<const Method *>> seen(kThreads,
                                                  std::vector<const Method *>(kNames));
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; t++)
        threads.emplace_back([&, t] {
            for (int i = 0; i < kCalls; i++) {
                int n = (i * 7 + t * 13) % kNames;
                std::string path = "/load.Svc/m" + std::to_string(n);
                const Method &m = shared->methods.lookup(path.c_str());
                seen[t][n] = &m;
                CallRecord call(shared, m, SONDE_SPAN_SERVER);
                call.finish(i % 3 ? SONDE_RPC_OK : SONDE_RPC_NOT_FOUND);
            }
        });
    for (auto &th : threads)
        th.join();

    /* every thread got the same entry for a name; at most 20 names are not OTHER */
    int named = 0;
    for (int n = 0; n < kNames; n++) {
        for (int t = 1; t < kThreads; t++)
            CHECK(seen[t][n] == seen[0][n]);
        named += seen[0][n]->label != "OTHER";
    }
    CHECK_EQ_INT(named, 20);
    std::string text = expose(reg);
    long total = 0;
    for (size_t at = 0; (at = text.find("\nrpc_request_duration_seconds_count{", at)) !=
                        std::string::npos;
         at++)
        total += strtol(text.c_str() + text.find("} ", at) + 2, nullptr, 10);
    CHECK_EQ_INT(total, kThreads * kCalls);
    int series = 0;
    for (size_t at = 0; (at = text.find("\nrpc_request_duration_seconds_count{", at)) !=
                        std::string::npos;
         at++)
        series++;
    CHECK_EQ_INT(series, 21); /* 20 names and OTHER */
    shared.reset();
    sonde_rpc_free(rpc);
    sonde_registry_free(reg);
}

TEST(grpc_call_finished_once_under_race)
{
    sonde_registry *reg = nullptr;
    sonde_rpc *rpc = nullptr;
    sonde_rpc_opts ro = {};
    CHECK(sonde_registry_new(nullptr, &reg) == SONDE_OK);
    ro.registry = reg;
    CHECK(sonde_rpc_new(&ro, &rpc) == SONDE_OK);
    sonde_grpc_opts opts;
    opts.rpc = rpc;
    opts.methods = {"/race.Svc/Call"};
    auto shared = std::make_shared<Shared>(opts);
    const Method &m = shared->methods.lookup("/race.Svc/Call");
    constexpr int kRounds = 500;
    for (int i = 0; i < kRounds; i++) {
        CallRecord call(shared, m, SONDE_SPAN_CLIENT);
        std::atomic<bool> go{false};
        std::thread status([&] {
            while (!go.load())
                ;
            call.finish(SONDE_RPC_OK);
        });
        go.store(true);
        call.finish(SONDE_RPC_CANCELLED);
        status.join();
    } /* each destructor finishes again: a no-op */
    std::string text = expose(reg);
    long ok = sample(text, "rpc_requests_total{method=\"race.Svc/Call\",code=\"OK\"}");
    long cancelled =
        sample(text, "rpc_requests_total{method=\"race.Svc/Call\",code=\"CANCELLED\"}");
    CHECK_EQ_INT((ok < 0 ? 0 : ok) + (cancelled < 0 ? 0 : cancelled), kRounds);
    CHECK_EQ_INT(sample(text, "rpc_request_duration_seconds_count{method=\"race.Svc/Call\"}"),
                 kRounds);
    shared.reset();
    sonde_rpc_free(rpc);
    sonde_registry_free(reg);
}

int main()
{
    RUN(grpc_method_paths_validated);
    RUN(grpc_method_limit_never_below_listed);
    RUN(grpc_method_table_concurrent);
    RUN(grpc_call_finished_once_under_race);
    return check_report();
}
