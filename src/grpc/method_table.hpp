/*
 * method_table.hpp - the bounded set of method names the gRPC interceptors
 * record under (libsonde-grpc, private).
 *
 * A path from a call ("/pkg.Service/Method") maps to one Method: its label
 * ("pkg.Service/Method"), its service and method parts (span attributes) and
 * its sonde_rpc handle. Listed names are added at construction; other valid
 * names are added on first sight until the limit, after which (and for
 * invalid paths) the lookup answers the table's "OTHER" entry. Entries are
 * never removed, so a reference stays valid as long as the table. Lookups
 * share a reader lock; only a new name takes the writer lock.
 */
#ifndef SONDE_GRPC_METHOD_TABLE_HPP
#define SONDE_GRPC_METHOD_TABLE_HPP

#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sonde/http.h"

namespace sonde_grpc_internal {

struct Method {
    std::string label;   /* "pkg.Service/Method", or "OTHER" */
    std::string service; /* "pkg.Service"; "" for OTHER */
    std::string name;    /* "Method"; "" for OTHER */
    sonde_rpc_method *handle = nullptr; /* NULL without a sonde_rpc (or out of memory) */
};

class MethodTable {
public:
    static constexpr size_t kDefaultLimit = 100;
    static constexpr size_t kMaxLabel = 255;

    MethodTable(sonde_rpc *rpc, const std::vector<std::string> &listed, size_t limit);
    MethodTable(const MethodTable &) = delete;
    MethodTable &operator=(const MethodTable &) = delete;

    /* The entry a call's path is recorded under; never fails. */
    const Method &lookup(const char *path);

private:
    /* The label of a valid path ("/a/b" or "a/b"), or an empty view. */
    static std::string_view label_of(const char *path);
    const Method *add(std::string_view label); /* caller holds the writer lock */

    sonde_rpc *rpc_;
    size_t limit_;
    Method other_;
    std::shared_mutex mu_;
    /* keys view the entries' own labels */
    std::unordered_map<std::string_view, std::unique_ptr<Method>> by_label_;
};

} // namespace sonde_grpc_internal

#endif
