/*
 * fuzz_grpc_method.cpp - libsonde-grpc's method table (src/grpc/method_table.cpp),
 * which takes the paths of gRPC calls, peer-chosen on a server with a generic
 * service. The input is newline-separated: the first line is a listed name,
 * each later line a path looked up in order (a table of limit 4). Checks: a
 * lookup is "OTHER" or the path without its leading '/', then exactly one
 * '/' between non-empty parts, printable ASCII, at most 255 bytes; the same
 * path always gives the same entry; at most 4 names are ever not OTHER.
 */
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "method_table.hpp"

using sonde_grpc_internal::Method;
using sonde_grpc_internal::MethodTable;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

static bool valid_label(const std::string &l)
{
    size_t slash = l.find('/');
    if (l.empty() || l.size() > 255 || slash == 0 || slash == std::string::npos ||
        slash + 1 == l.size() || l.find('/', slash + 1) != std::string::npos)
        return false;
    for (unsigned char c : l)
        if (c <= ' ' || c > '~')
            return false;
    return true;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    std::vector<std::string> lines(1);
    for (size_t i = 0; i < size; i++) {
        if (data[i] == '\n')
            lines.emplace_back();
        else
            lines.back().push_back(static_cast<char>(data[i]));
    }
    MethodTable table(nullptr, {lines[0]}, 4);
    std::set<const Method *> named;
    for (size_t i = 1; i < lines.size(); i++) {
        const char *path = lines[i].c_str(); /* an embedded NUL ends it, as in C */
        const Method &m = table.lookup(path);
        check(&table.lookup(path) == &m);
        if (m.label == "OTHER") {
            check(m.service.empty() && m.name.empty());
            continue;
        }
        std::string want = path[0] == '/' ? path + 1 : path;
        check(m.label == want && valid_label(m.label));
        check(m.service + "/" + m.name == m.label);
        named.insert(&m);
    }
    check(named.size() <= 4);
    return 0;
}
