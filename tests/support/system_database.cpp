// SPDX-License-Identifier: MIT
#include "support/system_database.hpp"

#include <boost/json/parse.hpp>

#include "app/system_migrations.hpp"
#include "db/migrations.hpp"

namespace basalt::testing {

Result<std::unique_ptr<db::Database>> OpenSystemDatabase(const std::filesystem::path& dir, db::SqliteOptions options) {
    options.path = (dir / "data.db").string();
    auto db = db::OpenSqlite(options);
    if (!db) {
        return db.error();
    }
    if (auto applied = db::ApplyMigrations(**db, app::SystemMigrations()); !applied) {
        return applied.error();
    }
    return std::move(*db);
}

void SystemDatabaseTest::SetUp() {
    auto db = OpenSystemDatabase(dir_.Path(), options_);
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
}

void SystemDatabaseTest::TearDown() {
    if (db_) {
        db_->Close();
    }
}

void SystemDatabaseTest::Exec(const std::string& sql, std::vector<db::Value> params) {
    auto n = db_->WriteOne(sql, std::move(params));
    ASSERT_TRUE(n) << sql << ": " << n.error().message;
}

void SystemCollectionsTest::SetUp() {
    SystemDatabaseTest::SetUp();
    ASSERT_FALSE(HasFatalFailure());
    collections_ = std::make_unique<collections::CollectionStore>(*db_, clock_);
    ASSERT_TRUE(collections_->Load());
}

void SystemCollectionsTest::CreateCollection(std::string_view json) {
    auto made = collections_->Create(boost::json::parse(json).as_object());
    ASSERT_TRUE(made.collection) << made.message;
}

}  // namespace basalt::testing
