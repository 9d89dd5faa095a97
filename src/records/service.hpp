// SPDX-License-Identifier: MIT
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "collections/store.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "db/database.hpp"
#include "query/compiler.hpp"

namespace basalt::records {

/// Who asks: superusers bypass every rule; everyone else is checked against the collection's rules
/// with `request` as @request.*.
struct Access {
    bool superuser = false;
    query::RequestInfo request;
};

struct ListParams {
    std::int64_t page = 1;
    std::int64_t per_page = 30;
    std::string sort;
    std::string filter;
    bool skip_total = false;
};

struct ListResult {
    std::int64_t page = 1;
    std::int64_t per_page = 30;
    std::int64_t total_items = -1;
    std::int64_t total_pages = -1;
    boost::json::array items;
};

/// A write prepared on the caller's thread: `fn` runs on the db writer (checks that need the
/// database, the statement, reading the record back into `*record`).
struct PreparedWrite {
    db::WriteFn fn;
    std::shared_ptr<boost::json::object> record;
};

inline constexpr std::int64_t kMaxPerPage = 1000;

/// The product's rules for records: validation per field type, API rules, PocketBase's JSON shape.
/// Errors: kNotFound (missing collection or record, or a view/update/delete rule that does not
/// match), kForbidden (a null rule for a non-superuser, @request in a client filter),
/// kInvalidArgument with per-field errors. Thread-safe.
class RecordService {
public:
    RecordService(db::Database& db, collections::CollectionStore& collections, const Clock& clock)
        : db_(db),
          collections_(collections),
          clock_(clock) {}

    /// A page of records (may scan: call it off the I/O threads).
    Result<ListResult> List(std::string_view collection, const ListParams& params, const Access& access) const;
    /// One record by id (an indexed read).
    Result<boost::json::object> View(std::string_view collection, std::string_view id, const Access& access) const;

    Result<PreparedWrite> PrepareCreate(
        std::string_view collection, const boost::json::object& body, const Access& access
    ) const;
    Result<PreparedWrite> PrepareUpdate(
        std::string_view collection, std::string_view id, const boost::json::object& body, const Access& access
    ) const;
    Result<PreparedWrite> PrepareDelete(std::string_view collection, std::string_view id, const Access& access) const;

private:
    db::Database& db_;
    collections::CollectionStore& collections_;
    const Clock& clock_;
};

/// PocketBase's record JSON from a row of `SELECT <table>.*` (hidden fields only for superusers).
boost::json::object RecordJson(
    const schema::Collection& collection, const db::ResultSet& rs, std::size_t row, bool include_hidden
);

}  // namespace basalt::records
