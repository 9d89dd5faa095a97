// SPDX-License-Identifier: MIT
// The WAL reader against WAL files SQLite itself wrote: the frames of committed transactions,
// replayed onto a copy of the database taken before them, give the same database; a damaged,
// cut or stale frame ends the scan at the last whole transaction before it.
#include "db/sqlite/wal_reader.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>
#include <sqlite3.h>

namespace basalt::db::sqlite {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void WriteFile(const fs::path& p, const std::string& bytes) {
    std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

class WalReaderTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("basalt-wal-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        ASSERT_EQ(sqlite3_open((dir_ / "data.db").c_str(), &db_), SQLITE_OK);
        Exec("PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; CREATE TABLE t(x INTEGER, pad TEXT);");
        Exec("PRAGMA wal_checkpoint(TRUNCATE);");  // the table is in data.db; the WAL is empty
        base_ = ReadFile(dir_ / "data.db");
    }
    void TearDown() override {
        sqlite3_close(db_);
        fs::remove_all(dir_);
    }
    void Exec(const std::string& sql) {
        char* err = nullptr;
        ASSERT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    }
    // Transaction i inserts rows i*10 .. i*10+9 with enough padding to span pages.
    void Transactions(int n) {
        for (int i = 0; i < n; ++i) {
            Exec(
                "BEGIN; WITH RECURSIVE k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < 9) "
                "INSERT INTO t SELECT " +
                std::to_string(i) + " * 10 + j, hex(randomblob(300)) FROM k; COMMIT;"
            );
        }
    }
    std::string Wal() { return ReadFile(dir_ / "data.db-wal"); }

    // The base copy with the scanned frames written over it, as a restore would, then the rows.
    std::int64_t RowsAfterReplay(const std::string& wal, const WalScan& scan) {
        std::string db = base_;
        const std::size_t page = scan.header.page_size;
        std::uint32_t size = 0;
        for (const auto& f : scan.frames) {
            const std::size_t at = static_cast<std::size_t>(f.page - 1) * page;
            if (db.size() < at + page) {
                db.resize(at + page);
            }
            db.replace(at, page, wal.substr(f.offset + kWalFrameHeaderBytes, page));
            if (f.db_size != 0) {
                size = f.db_size;
            }
        }
        if (size != 0) {
            db.resize(static_cast<std::size_t>(size) * page);
        }
        const fs::path copy = dir_ / "replayed.db";
        WriteFile(copy, db);
        sqlite3* r = nullptr;
        EXPECT_EQ(sqlite3_open_v2(copy.c_str(), &r, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
        sqlite3_stmt* st = nullptr;
        EXPECT_EQ(sqlite3_prepare_v2(r, "SELECT count(*) FROM t", -1, &st, nullptr), SQLITE_OK);
        EXPECT_EQ(sqlite3_step(st), SQLITE_ROW);
        const std::int64_t n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        sqlite3_stmt* check = nullptr;
        EXPECT_EQ(sqlite3_prepare_v2(r, "PRAGMA integrity_check", -1, &check, nullptr), SQLITE_OK);
        EXPECT_EQ(sqlite3_step(check), SQLITE_ROW);
        EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(check, 0)), "ok");
        sqlite3_finalize(check);
        sqlite3_close(r);
        return n;
    }

    fs::path dir_;
    sqlite3* db_ = nullptr;
    std::string base_;
};

TEST_F(WalReaderTest, ReplayingEveryCommittedFrameGivesTheDatabase) {
    Transactions(5);
    const std::string wal = Wal();
    auto scan = ScanWal(wal);
    ASSERT_TRUE(scan) << scan.error().message;
    EXPECT_EQ(scan->header.page_size, 4096U);
    ASSERT_FALSE(scan->frames.empty());
    EXPECT_NE(scan->frames.back().db_size, 0U) << "the last frame kept is a commit";
    EXPECT_EQ(scan->end, wal.size());
    int commits = 0;
    for (const auto& f : scan->frames) {
        commits += f.db_size != 0 ? 1 : 0;
    }
    EXPECT_EQ(commits, 5);
    EXPECT_EQ(RowsAfterReplay(wal, *scan), 50);
}

TEST_F(WalReaderTest, ADamagedFrameEndsTheScanAtTheTransactionBeforeIt) {
    Transactions(4);
    std::string wal = Wal();
    const auto whole = ScanWal(wal);
    ASSERT_TRUE(whole);
    // The first frame of the third transaction: the one after the second commit frame.
    int seen = 0;
    std::uint64_t third = 0;
    for (std::size_t i = 0; i < whole->frames.size(); ++i) {
        if (whole->frames[i].db_size != 0 && ++seen == 2) {
            third = whole->frames[i + 1].offset;
            break;
        }
    }
    ASSERT_NE(third, 0U);
    wal[third + kWalFrameHeaderBytes + 100] ^= 0x01;  // a bit of its page
    const auto scan = ScanWal(wal);
    ASSERT_TRUE(scan);
    EXPECT_EQ(scan->end, third);
    EXPECT_EQ(RowsAfterReplay(wal, *scan), 20);
}

TEST_F(WalReaderTest, ACutFileKeepsTheWholeTransactionsOnly) {
    Transactions(3);
    const std::string wal = Wal();
    const auto whole = ScanWal(wal);
    ASSERT_TRUE(whole);
    const std::string cut = wal.substr(0, wal.size() - 1000);  // inside the last transaction's frames
    const auto scan = ScanWal(cut);
    ASSERT_TRUE(scan);
    EXPECT_LT(scan->end, whole->end);
    EXPECT_NE(scan->frames.back().db_size, 0U);
    EXPECT_EQ(RowsAfterReplay(cut, *scan), 20);
}

TEST_F(WalReaderTest, AfterARestartOnlyTheNewFramesCount) {
    Transactions(3);
    const auto before = ParseWalHeader(Wal());
    ASSERT_TRUE(before);
    Exec("PRAGMA wal_checkpoint(PASSIVE);");  // all copied in, no reader: the next write restarts the WAL
    Transactions(1);                          // written from the start again, with new salts
    const std::string wal = Wal();
    const auto scan = ScanWal(wal);
    ASSERT_TRUE(scan);
    int commits = 0;
    for (const auto& f : scan->frames) {
        commits += f.db_size != 0 ? 1 : 0;
    }
    EXPECT_EQ(commits, 1) << "the older transactions' frames beyond it carry the old salts";
    EXPECT_EQ(scan->header.checkpoint_seq, before->checkpoint_seq + 1);
    EXPECT_NE(scan->header.salt1, before->salt1);
}

TEST(WalHeader, BadHeadersAreRefused) {
    EXPECT_FALSE(ParseWalHeader(""));
    EXPECT_FALSE(ParseWalHeader(std::string(32, '\0')));
    std::string h(32, '\0');
    h[0] = '\x37';
    h[1] = '\x7f';
    h[2] = '\x06';
    h[3] = '\x82';
    EXPECT_FALSE(ParseWalHeader(h)) << "no version, no page size, no checksum";
}

}  // namespace
}  // namespace basalt::db::sqlite
