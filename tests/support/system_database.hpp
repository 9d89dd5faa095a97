// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <memory>
#include <string_view>

#include <gtest/gtest.h>

#include "collections/store.hpp"
#include "core/result.hpp"
#include "db/database.hpp"
#include "db/sqlite/sqlite_database.hpp"
#include "support/fake_clock.hpp"
#include "support/temp_dir.hpp"

namespace basalt::testing {

/// Opens a real SQLite database `data.db` in `dir` (options.path is set here) and applies basalt's
/// system migrations: the tables and collections a server starts with (`_collections`, `users`,
/// `_sessions`, `_events`, `_jobs`, `_webhooks`, ...). Fails with the migration's error.
Result<std::unique_ptr<db::Database>> OpenSystemDatabase(
    const std::filesystem::path& dir, db::SqliteOptions options = {}
);

/// The shared fixture of unit tests that work over a real database: a fresh temp directory, a
/// FakeClock, and the system database opened in SetUp (closed in TearDown, before the directory
/// goes). A test needing more builds it in its own SetUp after calling this one:
///
///     void SetUp() override {
///         SystemDatabaseTest::SetUp();
///         ASSERT_FALSE(HasFatalFailure());
///         queue_ = std::make_unique<jobs::Queue>(Db(), clock_);
///     }
class SystemDatabaseTest : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;
    db::Database& Db() { return *db_; }
    /// Runs one statement in a write of its own; fails the test when it fails.
    void Exec(const std::string& sql, std::vector<db::Value> params = {});

    /// Set before SetUp (in the derived constructor) to open the database differently.
    db::SqliteOptions options_;
    TempDir dir_;
    FakeClock clock_;
    std::unique_ptr<db::Database> db_;
};

/// SystemDatabaseTest with the collections loaded into `collections_` (a CollectionStore over the
/// database), for tests of what works over collections: records, realtime, the auth lifecycle.
class SystemCollectionsTest : public SystemDatabaseTest {
protected:
    void SetUp() override;
    /// Creates a collection from its PocketBase JSON; fails the test when it is refused.
    void CreateCollection(std::string_view json);

    std::unique_ptr<collections::CollectionStore> collections_;
};

}  // namespace basalt::testing
