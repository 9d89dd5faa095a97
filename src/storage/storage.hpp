// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace basalt::storage {

/// What is known of a stored file without reading it.
struct ObjectInfo {
    std::uint64_t size = 0;
    std::chrono::system_clock::time_point modified;
    std::string content_type;  // as given when it was stored; empty when unknown
};

/// A file being written. Nothing is visible under its key until Commit() returns; destroyed
/// without a commit, whatever was written is discarded. Not thread-safe (one writer).
class Upload {
public:
    virtual ~Upload() = default;
    /// Appends bytes. kInternal when the disk (or the remote store) fails.
    virtual Result<void> Write(std::string_view bytes) = 0;
    /// How many bytes were written so far.
    virtual std::uint64_t Size() const = 0;
    /// Makes the file durable and visible under its key, replacing one that was there.
    virtual Result<void> Commit() = 0;
};

/// A stored file opened for reading. Reads at any offset, from any thread, one at a time.
class Reader {
public:
    virtual ~Reader() = default;
    virtual const ObjectInfo& Info() const = 0;
    /// Reads up to out.size() bytes at `offset`; fewer only at the end of the file.
    virtual Result<std::size_t> ReadAt(std::uint64_t offset, std::span<char> out) = 0;
    /// The same without waiting for a disk or the network: some bytes when they are at hand (a local
    /// file's pages in the page cache), nullopt when reading would wait. Safe on an I/O thread.
    virtual std::optional<Result<std::size_t>> ReadAtIfCached(std::uint64_t offset, std::span<char> out) {
        (void)offset;
        (void)out;
        return std::nullopt;
    }
};

/// Where files live: the local disk (`OpenLocal`) or an S3-compatible bucket. Keys are
/// '/'-separated relative paths (see ValidKey); PocketBase's layout is
/// `<collectionId>/<recordId>/<filename>`. Every call may block on I/O: never call from an I/O
/// thread. Thread-safe.
class Storage {
public:
    virtual ~Storage() = default;
    /// Starts writing `key`. kInvalidArgument for a key ValidKey refuses.
    virtual Result<std::unique_ptr<Upload>> Create(std::string_view key, std::string_view content_type) = 0;
    /// kNotFound when there is no such file.
    virtual Result<std::unique_ptr<Reader>> Open(std::string_view key) = 0;
    /// Open without waiting for a disk or the network: the reader when the file, its metadata and
    /// its content type are at hand (a local file whose path the kernel has cached), nullptr when
    /// opening would wait or fail (then Open tells which). Safe on an I/O thread.
    virtual std::unique_ptr<Reader> OpenIfCached(std::string_view key) {
        (void)key;
        return nullptr;
    }
    /// kNotFound when there is no such file.
    virtual Result<ObjectInfo> Stat(std::string_view key) = 0;
    /// Deletes one file; a missing one is not an error.
    virtual Result<void> Delete(std::string_view key) = 0;
    /// Deletes every file whose key starts with `prefix` + "/" (a record's folder, say).
    virtual Result<void> DeletePrefix(std::string_view prefix) = 0;
    /// The keys under `prefix` + "/" (recursively), sorted. Symlinks are not listed.
    virtual Result<std::vector<std::string>> List(std::string_view prefix) = 0;
    /// The names of the folders directly under `prefix` ("" for the root), sorted: the collections
    /// of the root, the records of `<collectionId>`. Symlinks are not listed; a missing prefix has
    /// none. kInvalidArgument for a prefix ValidKey refuses.
    virtual Result<std::vector<std::string>> ListFolders(std::string_view prefix) = 0;
};

/// Whether `key` is a safe relative key: segments separated by single '/', none empty, "." or
/// "..", no NUL, backslash or control character, each at most 255 bytes, the whole at most 1,024,
/// and no segment ending in ".attrs" (the local store's side files).
bool ValidKey(std::string_view key);

/// The local disk under `root` (created when missing). Each file is written to a temporary name in
/// its folder, fsynced and renamed into place; its content type is kept in a "<name>.attrs" side file
/// in the format PocketBase's local storage writes, so a PocketBase storage folder can be copied in.
Result<std::unique_ptr<Storage>> OpenLocal(const std::filesystem::path& root);

}  // namespace basalt::storage
