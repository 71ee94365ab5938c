/*
 * method_table.cpp - the bounded method names of libsonde-grpc (see
 * method_table.hpp): validation of a path, listed and learned names, the
 * "OTHER" overflow entry.
 */
#include "method_table.hpp"

#include <mutex>

namespace sonde_grpc_internal {

static Method make_method(sonde_rpc *rpc, std::string_view label)
{
    Method m;
    m.label.assign(label);
    size_t slash = label.find('/');
    if (slash != std::string_view::npos) {
        m.service.assign(label.substr(0, slash));
        m.name.assign(label.substr(slash + 1));
    }
    m.handle = sonde_rpc_method_get(rpc, m.label.c_str());
    return m;
}

MethodTable::MethodTable(sonde_rpc *rpc, const std::vector<std::string> &listed, size_t limit)
    : rpc_(rpc), limit_(limit ? limit : kDefaultLimit), other_(make_method(rpc, "OTHER"))
{
    for (const std::string &name : listed) {
        std::string_view label = label_of(name.c_str());
        if (!label.empty() && !by_label_.count(label))
            add(label);
    }
    if (limit_ < by_label_.size())
        limit_ = by_label_.size();
}

std::string_view MethodTable::label_of(const char *path)
{
    if (!path)
        return {};
    std::string_view p(path);
    if (!p.empty() && p[0] == '/')
        p.remove_prefix(1);
    if (p.empty() || p.size() > kMaxLabel)
        return {};
    size_t slashes = 0;
    for (char c : p) {
        if (c <= ' ' || c > '~')
            return {};
        slashes += c == '/';
    }
    size_t slash = p.find('/');
    if (slashes != 1 || slash == 0 || slash + 1 == p.size())
        return {};
    return p;
}

const Method *MethodTable::add(std::string_view label)
{
    auto m = std::make_unique<Method>(make_method(rpc_, label));
    const Method *out = m.get();
    std::string_view key(m->label);
    by_label_.emplace(key, std::move(m));
    return out;
}

const Method &MethodTable::lookup(const char *path)
{
    std::string_view label = label_of(path);
    if (label.empty())
        return other_;
    {
        std::shared_lock<std::shared_mutex> read(mu_);
        auto it = by_label_.find(label);
        if (it != by_label_.end())
            return *it->second;
        if (by_label_.size() >= limit_)
            return other_;
    }
    try { /* a new name: out of memory records the call as OTHER, never throws to gRPC */
        std::unique_lock<std::shared_mutex> write(mu_);
        auto it = by_label_.find(label);
        if (it != by_label_.end())
            return *it->second;
        if (by_label_.size() >= limit_)
            return other_;
        return *add(label);
    } catch (...) {
        return other_;
    }
}

} // namespace sonde_grpc_internal
