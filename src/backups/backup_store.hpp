// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backups/archive.hpp"
#include "backups/encryption.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/spool_file.hpp"
#include "storage/storage.hpp"

namespace basalt::backups {

/// One backup in the backups folder.
struct BackupInfo {
    std::string key;  // its file name
    std::uint64_t size = 0;
    SystemTime modified;
};

/// An opened backup archive, read at offsets (a download): a file of the folder, or an object of
/// the bucket (settings.backups.s3).
class BackupFile {
public:
    BackupFile(int fd, std::uint64_t size) : fd_(fd), size_(size) {}
    explicit BackupFile(std::unique_ptr<storage::Reader> remote);
    ~BackupFile();
    BackupFile(const BackupFile&) = delete;
    BackupFile& operator=(const BackupFile&) = delete;
    std::uint64_t Size() const { return size_; }
    Result<std::size_t> ReadAt(std::uint64_t offset, std::span<char> out) const;

private:
    int fd_ = -1;
    std::uint64_t size_ = 0;
    std::unique_ptr<storage::Reader> remote_;  // when not a local file
};

class BackupStore;

/// The one backup operation running (PocketBase's "@activeBackup"): held while a backup is made, for
/// this process and, through a lock on `backups/.lock`, for every process on the data directory (the
/// CLI beside a server). Released when destroyed.
class Operation {
public:
    Operation(BackupStore* store, int lock_fd, std::string name)
        : store_(store),
          lock_fd_(lock_fd),
          name_(std::move(name)) {}
    ~Operation();
    Operation(Operation&& other) noexcept;
    Operation& operator=(Operation&&) = delete;
    Operation(const Operation&) = delete;
    Operation& operator=(const Operation&) = delete;
    const std::string& Name() const { return name_; }

private:
    BackupStore* store_;
    int lock_fd_;
    std::string name_;
};

/// The backups of a data directory, kept in `<data dir>/backups/` as PocketBase keeps them in
/// `pb_data/backups`. Every key is checked with ValidKey before it reaches the file system. All
/// calls but Begin and Active block: run them off I/O threads.
class BackupStore {
public:
    explicit BackupStore(std::filesystem::path data_dir);

    const std::filesystem::path& Dir() const { return dir_; }

    /// settings.backups.s3: backups are kept at the root of this bucket (as PocketBase keeps them)
    /// rather than in the folder; nullptr goes back to the folder. A call under way finishes with
    /// the place it started with. The lock and the archives being made stay in the folder.
    void SetRemote(std::shared_ptr<storage::Storage> remote);
    std::shared_ptr<storage::Storage> Remote() const;
    /// A local file holding the backup `name`, for a restore: the backup itself when it is kept in
    /// the folder; else downloaded to `scratch`/restore-download-*.zip (which the caller removes; a
    /// crash leaves it to RemoveRestoreLeftovers). kNotFound when none.
    Result<std::filesystem::path> Fetch(std::string_view name, const std::filesystem::path& scratch) const;

    /// The backups, by name. Hidden files (an archive being written, the lock) are not listed.
    Result<std::vector<BackupInfo>> List() const;
    /// Whether a backup of that name exists (false for an invalid name).
    bool Exists(std::string_view name) const;

    /// Starts the one backup operation, named `name` (valid). kConflict when one runs already.
    Result<Operation> Begin(std::string name);
    /// The name of the backup being made now, or empty.
    std::string Active() const;

    /// Every archive Create makes from now on is encrypted with `key` (EncryptArchive); null: plain
    /// zips. Set it before the store is shared with other threads.
    void SetEncryptionKey(std::shared_ptr<const BackupKey> key) { key_ = std::move(key); }

    /// Makes the backup `op` names: data.db and auxiliary.db copied online (SQLite's backup API,
    /// consistent while writes go on), zipped with the files of `storage/` into a hidden temp file
    /// beside the backups, encrypted when a key is set, then fsynced and renamed into place (or
    /// uploaded to the bucket). A failure leaves no archive.
    Result<void> Create(const Operation& op);

    /// Stores uploaded bytes as the backup `name`: kInvalidArgument for an invalid name or bytes that
    /// are neither a zip nor an encrypted archive (kEncryptedMagic), kConflict when the name exists. Written to a temp
    /// file, then linked in.
    Result<void> Upload(const std::string& name, const ByteSource& bytes);

    /// kNotFound when there is no such backup, kConflict while it is being made.
    Result<void> Delete(std::string_view name);

    /// Keeps the `keep` newest backups whose key starts with `prefix` and deletes the older ones
    /// (settings.backups.cronMaxKeep over the schedule's backups). Returns the keys deleted; one that
    /// cannot be deleted is logged and skipped.
    Result<std::vector<std::string>> Prune(std::string_view prefix, std::size_t keep);

    /// Opens a backup for reading; kNotFound when there is none of that name.
    Result<std::unique_ptr<BackupFile>> Open(std::string_view name) const;

private:
    friend class Operation;
    void End(const std::string& name);
    Result<std::vector<ArchiveEntry>> EntriesOf(const std::filesystem::path& work) const;
    // The finished archive `file` becomes the backup `name`: renamed into the folder, or uploaded to
    // the bucket (the local file is then left to the caller to remove).
    Result<void> Publish(const std::filesystem::path& file, const std::string& name);
    // The same calls on the bucket (backup_remote.cpp).
    static Result<std::vector<BackupInfo>> ListRemote(storage::Storage& remote);
    static Result<void> UploadRemote(storage::Storage& remote, const std::string& name, const ByteSource& bytes);
    static Result<void> PutFile(storage::Storage& remote, const std::string& name, const std::filesystem::path& file);

    std::filesystem::path data_dir_;
    std::filesystem::path dir_;
    mutable std::mutex mu_;
    std::string active_;                        // guarded by mu_
    std::shared_ptr<storage::Storage> remote_;  // guarded by mu_
    std::shared_ptr<const BackupKey> key_;      // set before use, then only read
};

}  // namespace basalt::backups
