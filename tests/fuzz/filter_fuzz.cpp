// SPDX-License-Identifier: MIT
// Filter text -> parser -> compiler (as a client and as a rule). Failing with kInvalidArgument is
// fine; anything else (a crash, a sanitizer report, another error code, unbalanced placeholders)
// is a finding.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "query/compiler.hpp"
#include "unit/query/test_catalog.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto catalog = basalt::testing::QueryTestCatalog();
    static basalt::query::RequestInfo request = [] {
        basalt::query::RequestInfo r;
        r.auth = std::make_shared<const boost::json::object>(boost::json::object{
            {"id", "u1"}, {"collectionId", "_pb_users_auth_"}, {"team", "t1"}});
        r.body = boost::json::object{{"tags", boost::json::array{"a", "b"}}, {"title", "x"}};
        return r;
    }();
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    for (const bool rule : {false, true}) {
        basalt::query::CompileOptions opt;
        opt.allow_hidden = rule;
        opt.allow_request = rule;
        opt.request = &request;
        basalt::query::Compiler c(*catalog.Find("posts"), catalog, opt);
        auto r = c.AddFilter(input);
        auto s = c.SetSort(input);
        for (const auto* e : {&r, &s}) {
            if (!*e && e->error().code != basalt::ErrorCode::kInvalidArgument &&
                e->error().code != basalt::ErrorCode::kForbidden) {
                std::abort();
            }
        }
        const auto f = c.Build();
        std::size_t marks = 0;
        for (const auto& j : f.joins) {
            marks += static_cast<std::size_t>(std::count(j.begin(), j.end(), '?'));
        }
        // Every '?' outside quoted SQL strings is a bound value; the compiler writes none inside.
        marks += static_cast<std::size_t>(std::count(f.where.begin(), f.where.end(), '?'));
        marks += static_cast<std::size_t>(std::count(f.order_by.begin(), f.order_by.end(), '?'));
        if (marks != f.join_params.size() + f.params.size() + f.order_params.size()) {
            std::abort();
        }
    }
    return 0;
}
