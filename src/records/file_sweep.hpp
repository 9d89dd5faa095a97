// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <stop_token>
#include <string_view>

#include "collections/store.hpp"
#include "core/background_loop.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "db/database.hpp"
#include "storage/storage.hpp"

namespace basalt::records {

/// How SweepOrphanedFiles works.
struct SweepOptions {
    /// Files modified less than this long ago are never removed: an upload staged by a write that
    /// has not committed yet is not named by any record, and must survive until it does.
    std::chrono::seconds grace{std::chrono::hours(1)};
    /// Record ids looked up per query.
    std::size_t batch = 200;
    /// Called for each file removed (its key and size), e.g. by the CLI to print it. Optional.
    std::function<void(std::string_view key, std::uint64_t bytes)> on_removed;
    /// When it is stopped, the sweep returns after the batch it is in (a server shutting down).
    std::stop_token stop;
};

/// What one sweep removed.
struct SweepCounts {
    std::uint64_t folders = 0;  // record folders removed whole: their record (or collection) is gone
    std::uint64_t files = 0;    // files removed, thumbnails included (.attrs side files go with their file)
    std::uint64_t bytes = 0;    // their sizes
    std::uint64_t skipped = 0;  // collection folders left for the next sweep: their records could not be read
};

/// Removes the stored files no record names any more — those a write dropped or whose record was
/// deleted when the process stopped between the commit and the deletes that follow it
/// (`AfterCommit`), and the folders of deleted collections. Walks the storage's layout
/// `<collectionId>/<recordId>/<name>`: a record folder whose record does not exist (or whose
/// collection does not) goes whole; in a live record's folder, a file that none of the record's file
/// fields names goes with its `.attrs` side file and its `thumbs_<name>/` thumbnails. Only files
/// older than `options.grace` (by their modification time against `now`) are touched; a folder
/// holding younger ones keeps them. Folders of view collections, files outside record folders and
/// symlinks are left alone. Records are read `options.batch` ids per query. Blocking I/O: call it
/// off the I/O threads. Fails only when the storage's top level cannot be listed.
Result<SweepCounts> SweepOrphanedFiles(
    db::Database& db,
    const collections::Snapshot& collections,
    storage::Storage& store,
    SystemTime now,
    const SweepOptions& options = {}
);

/// Runs SweepOrphanedFiles on a background thread every `interval`, logging one line per sweep
/// with its counts. The first sweep comes one grace period after Start() (or one interval when that
/// is shorter): files orphaned by a crash just before this start are old enough by then.
class FileSweeper {
public:
    FileSweeper(
        db::Database& db,
        const collections::CollectionStore& collections,
        storage::Storage& store,
        const Clock& clock,
        BackgroundLoop::Duration interval,
        SweepOptions options = {}
    );
    ~FileSweeper();
    FileSweeper(const FileSweeper&) = delete;
    FileSweeper& operator=(const FileSweeper&) = delete;

    /// Starts the thread; a no-op when the interval is not positive (sweeps turned off).
    void Start();
    /// Stops the thread (a sweep in progress finishes first). Idempotent.
    void Stop();
    /// How many sweeps have finished.
    std::uint64_t Sweeps() const { return sweeps_.load(); }

private:
    db::Database& db_;
    const collections::CollectionStore& collections_;
    storage::Storage& store_;
    const Clock& clock_;
    BackgroundLoop::Duration interval_;
    SweepOptions options_;
    std::atomic<std::uint64_t> sweeps_{0};
    BackgroundLoop loop_;  // last: its thread stops before the members it uses go
};

}  // namespace basalt::records
