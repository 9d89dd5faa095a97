// SPDX-License-Identifier: MIT
#include "db/database.hpp"

#include <future>

namespace basalt::db {

int ResultSet::ColumnIndex(std::string_view name) const {
    for (std::size_t i = 0; i < columns.size(); ++i) {
        if (columns[i] == name) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

std::string AsString(const Value& v, std::string fallback) {
    if (const auto* s = std::get_if<std::string>(&v)) {
        return *s;
    }
    if (const auto* i = std::get_if<std::int64_t>(&v)) {
        return std::to_string(*i);
    }
    return fallback;
}

std::int64_t AsInt(const Value& v, std::int64_t fallback) {
    if (const auto* i = std::get_if<std::int64_t>(&v)) {
        return *i;
    }
    if (const auto* d = std::get_if<double>(&v)) {
        return static_cast<std::int64_t>(*d);
    }
    return fallback;
}

bool IsNull(const Value& v) {
    return std::holds_alternative<std::nullptr_t>(v);
}

Result<void> Database::Write(WriteFn fn) {
    std::promise<Result<void>> promise;
    auto future = promise.get_future();
    SubmitWrite(std::move(fn), [&promise](Result<void> r) { promise.set_value(std::move(r)); });
    return future.get();
}

Result<std::int64_t> Database::WriteOne(std::string sql, std::vector<Value> params) {
    std::int64_t changed = 0;
    auto r = Write([&](Executor& ex) -> Result<void> {
        BASALT_ASSIGN_OR_RETURN(auto n, ex.Exec(sql, params));
        changed = n;
        return Ok();
    });
    if (!r) {
        return r.error();
    }
    return changed;
}

}  // namespace basalt::db
