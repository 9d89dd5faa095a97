// SPDX-License-Identifier: MIT
// A view collection's query -> the select-list splitter and field derivation against a real SQLite
// database. Failing with kInvalidArgument is fine; a crash, a sanitizer report or another error code
// is a finding. Nothing the query says may run: the tables must still be there afterwards.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string_view>

#include <unistd.h>

#include "collections/view.hpp"
#include "db/sqlite/sqlite_database.hpp"

namespace {

struct Fixture {
    std::unique_ptr<basalt::db::Database> db;
    std::unique_ptr<basalt::schema::StaticCatalog> catalog;

    Fixture() {
        const auto path = std::filesystem::temp_directory_path() / ("basalt-view-fuzz-" + std::to_string(getpid()));
        std::filesystem::remove(path);
        auto opened = basalt::db::OpenSqlite({.path = path.string()});
        db = std::move(*opened);
        (void)db->Write([](basalt::db::Executor& ex) -> basalt::Result<void> {
            (void)ex.Exec("CREATE TABLE t (id TEXT PRIMARY KEY, name TEXT, n NUMERIC)");
            return basalt::Ok();
        });
        basalt::schema::Collection t;
        t.id = "pbc_t";
        t.name = "t";
        t.fields = {basalt::schema::IdField()};
        catalog = std::make_unique<basalt::schema::StaticCatalog>(std::vector<basalt::schema::Collection>{t});
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Fixture fx;
    const std::string query =
        basalt::collections::NormalizeViewQuery(std::string_view(reinterpret_cast<const char*>(data), size));
    if (auto list = basalt::collections::SelectListOf(query);
        !list && list.error().code != basalt::ErrorCode::kInvalidArgument) {
        std::abort();
    }
    bool tables_ok = true;
    (void)fx.db->Write([&](basalt::db::Executor& ex) -> basalt::Result<void> {
        auto shape = basalt::collections::DescribeView(ex, query, *fx.catalog, {});
        if (!shape && shape.error().code != basalt::ErrorCode::kInvalidArgument) {
            std::abort();
        }
        auto rs = ex.Query("SELECT count(*) FROM sqlite_master WHERE name = 't'");
        tables_ok = rs && basalt::db::AsInt(rs->rows[0][0]) == 1;
        return basalt::Ok();
    });
    if (!tables_ok) {
        std::abort();
    }
    return 0;
}
