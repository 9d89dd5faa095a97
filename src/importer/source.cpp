// SPDX-License-Identifier: MIT
#include "importer/source.hpp"

#include <algorithm>
#include <array>
#include <fstream>

#include <boost/json/parse.hpp>
#include <sqlite3.h>
#include <stdlib.h>

namespace basalt::importer {

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

Error Refused(const std::string& message) {
    return MakeError(ErrorCode::kInvalidArgument, message);
}

// A path as a file: URI (percent-encoding what a URI gives meaning to).
std::string FileUri(const fs::path& p) {
    std::string out = "file:";
    for (unsigned char ch : p.string()) {
        if (ch == '%' || ch == '?' || ch == '#' || ch < 0x20 || ch >= 0x7f) {
            static constexpr char kHex[] = "0123456789ABCDEF";
            out += '%';
            out += kHex[ch >> 4U];
            out += kHex[ch & 0xFU];
        } else {
            out += static_cast<char>(ch);
        }
    }
    return out;
}

bool IsSqliteFile(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::array<char, 16> head{};
    in.read(head.data(), head.size());
    return in.gcount() == 16 && std::string_view(head.data(), 16) == std::string_view("SQLite format 3\0", 16);
}

db::Value ColumnValue(sqlite3_stmt* st, int i) {
    switch (sqlite3_column_type(st, i)) {
        case SQLITE_INTEGER:
            return static_cast<std::int64_t>(sqlite3_column_int64(st, i));
        case SQLITE_FLOAT:
            return sqlite3_column_double(st, i);
        case SQLITE_NULL:
            return nullptr;
        default: {
            const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, i));
            return std::string(p != nullptr ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(st, i)));
        }
    }
}

json::array JsonArray(const db::Value& v) {
    if (const auto* s = std::get_if<std::string>(&v)) {
        boost::system::error_code ec;
        auto parsed = json::parse(*s, ec);
        if (!ec && parsed.is_array()) {
            return parsed.as_array();
        }
    }
    return {};
}

json::object JsonObject(const db::Value& v) {
    if (const auto* s = std::get_if<std::string>(&v)) {
        boost::system::error_code ec;
        auto parsed = json::parse(*s, ec);
        if (!ec && parsed.is_object()) {
            return parsed.as_object();
        }
    }
    return {};
}

// `text` as an SQL string literal (the source is read by fixed statements without parameters).
std::string Literal(std::string_view text) {
    std::string out = "'";
    for (char ch : text) {
        if (ch == '\'') {
            out += '\'';
        }
        out += ch;
    }
    out += '\'';
    return out;
}

}  // namespace

std::string Quote(std::string_view name) {
    std::string out = "\"";
    for (char ch : name) {
        if (ch == '"') {
            out += '"';
        }
        out += ch;
    }
    out += '"';
    return out;
}

Result<std::unique_ptr<Source>> Source::Open(const fs::path& pb_data) {
    std::error_code ec;
    fs::path file = pb_data;
    if (fs::is_directory(pb_data, ec)) {
        file = pb_data / "data.db";
    }
    auto src = std::unique_ptr<Source>(new Source());
    src->dir_ = file.parent_path();
    if (!fs::is_regular_file(file, ec)) {
        return Refused(file.string() + " does not exist: expected a PocketBase pb_data directory holding data.db");
    }
    if (!IsSqliteFile(file)) {
        return Refused(file.string() + " is not an SQLite database, so not a PocketBase one");
    }
    fs::path open_path = file;
    const fs::path wal = fs::path(file.string() + "-wal");
    if (fs::is_regular_file(wal, ec) && fs::file_size(wal, ec) > 0) {
        // The WAL holds committed pages the database file does not have yet; reading them read-only
        // would need the -shm beside the source. A private copy of both is read instead.
        std::string tmpl = (fs::temp_directory_path(ec) / "basalt-import-XXXXXX").string();
        if (mkdtemp(tmpl.data()) == nullptr) {
            return MakeError(ErrorCode::kInternal, "cannot create a temporary directory for a copy of the source");
        }
        src->temp_dir_ = tmpl;
        fs::copy_file(file, src->temp_dir_ / "data.db", ec);
        if (!ec) {
            fs::copy_file(wal, src->temp_dir_ / "data.db-wal", ec);
        }
        if (ec) {
            return MakeError(ErrorCode::kInternal, "cannot copy the source database: " + ec.message());
        }
        open_path = src->temp_dir_ / "data.db";
    }
    const std::string uri = src->temp_dir_.empty() ? FileUri(open_path) + "?mode=ro&immutable=1" : FileUri(open_path);
    const int flags = SQLITE_OPEN_URI | (src->temp_dir_.empty() ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE);
    if (sqlite3_open_v2(uri.c_str(), &src->db_, flags, nullptr) != SQLITE_OK) {
        return Refused(file.string() + " cannot be opened: " + sqlite3_errmsg(src->db_));
    }
    std::string check;
    auto r = src->Each("PRAGMA quick_check", [&](std::vector<db::Value>& row) -> Result<void> {
        if (check.empty() && !row.empty()) {
            check = db::AsString(row[0]);
        }
        return Ok();
    });
    if (!r || check != "ok") {
        return Refused(file.string() + " is corrupted (" + (r ? check : r.error().message) + "); nothing was imported");
    }
    if (!src->HasTable("_collections")) {
        return Refused(file.string() + " has no _collections table: it is not a PocketBase database");
    }
    const auto cols = src->Columns("_collections");
    auto has = [&](std::string_view c) {
        return std::find(cols.begin(), cols.end(), c) != cols.end();
    };
    if (has("fields")) {
        src->era_ = Era::kModern;
    } else if (has("schema")) {
        src->era_ = Era::kLegacy;
    } else {
        return Refused(file.string() + ": _collections has neither `fields` nor `schema`: not a PocketBase database");
    }
    return src;
}

Source::~Source() {
    if (db_ != nullptr) {
        sqlite3_close_v2(db_);
    }
    if (!temp_dir_.empty()) {
        std::error_code ec;
        fs::remove_all(temp_dir_, ec);
    }
}

Result<void> Source::Each(std::string_view sql, const std::function<Result<void>(std::vector<db::Value>&)>& fn) const {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &st, nullptr) != SQLITE_OK) {
        return MakeError(ErrorCode::kInvalidArgument, std::string("reading the source: ") + sqlite3_errmsg(db_));
    }
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> guard(st, sqlite3_finalize);
    const int n = sqlite3_column_count(st);
    std::vector<db::Value> row(static_cast<std::size_t>(n));
    for (;;) {
        const int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            return Ok();
        }
        if (rc != SQLITE_ROW) {
            return MakeError(ErrorCode::kInvalidArgument, std::string("reading the source: ") + sqlite3_errmsg(db_));
        }
        for (int i = 0; i < n; ++i) {
            row[static_cast<std::size_t>(i)] = ColumnValue(st, i);
        }
        BASALT_TRY(fn(row));
    }
}

bool Source::HasTable(std::string_view name) const {
    bool found = false;
    (void)Each(
        "SELECT name FROM sqlite_master WHERE type IN ('table','view') AND name = " + Literal(name),
        [&](std::vector<db::Value>&) -> Result<void> {
            found = true;
            return Ok();
        }
    );
    return found;
}

std::vector<std::string> Source::Columns(std::string_view table) const {
    std::vector<std::string> out;
    (void)Each("PRAGMA table_info(" + Quote(table) + ")", [&](std::vector<db::Value>& row) -> Result<void> {
        out.push_back(db::AsString(row[1]));
        return Ok();
    });
    return out;
}

Result<std::vector<SourceCollection>> Source::Collections() const {
    const auto cols = Columns("_collections");
    auto has = [&](std::string_view c) {
        return std::find(cols.begin(), cols.end(), c) != cols.end();
    };
    auto col = [&](std::string_view c, std::string_view fallback = "NULL") {
        return has(c) ? Quote(c) : std::string(fallback);
    };
    const std::string sql = "SELECT " + col("id") + ", " + col("name") + ", " + col("type", "'base'") + ", " +
                            col("system", "0") + ", " + col(era_ == Era::kModern ? "fields" : "schema") + ", " +
                            col("indexes") + ", " + col("listRule") + ", " + col("viewRule") + ", " +
                            col("createRule") + ", " + col("updateRule") + ", " + col("deleteRule") + ", " +
                            col("options") + " FROM _collections ORDER BY rowid";
    std::vector<SourceCollection> out;
    auto rule = [](const db::Value& v) -> std::optional<std::string> {
        if (db::IsNull(v)) {
            return std::nullopt;
        }
        return db::AsString(v);
    };
    BASALT_TRY(Each(sql, [&](std::vector<db::Value>& row) -> Result<void> {
        SourceCollection c;
        c.id = db::AsString(row[0]);
        c.name = db::AsString(row[1]);
        c.type = db::AsString(row[2], "base");
        c.system = db::AsInt(row[3]) != 0;
        c.fields = JsonArray(row[4]);
        c.indexes = JsonArray(row[5]);
        c.list_rule = rule(row[6]);
        c.view_rule = rule(row[7]);
        c.create_rule = rule(row[8]);
        c.update_rule = rule(row[9]);
        c.delete_rule = rule(row[10]);
        c.options = JsonObject(row[11]);
        out.push_back(std::move(c));
        return Ok();
    }));
    return out;
}

Result<std::optional<std::string>> Source::Param(std::string_view key) const {
    if (!HasTable("_params")) {
        return std::optional<std::string>();
    }
    std::optional<std::string> out;
    // PocketBase 0.23 keys `_params` by id, its predecessors by `key`.
    const auto cols = Columns("_params");
    const bool by_key = std::find(cols.begin(), cols.end(), "key") != cols.end();
    BASALT_TRY(Each(
        "SELECT value FROM _params WHERE " + std::string(by_key ? "key" : "id") + " = " + Literal(key),
        [&](std::vector<db::Value>& row) -> Result<void> {
            out = db::AsString(row[0]);
            return Ok();
        }
    ));
    return out;
}

}  // namespace basalt::importer
