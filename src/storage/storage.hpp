// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
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
    /// The names of the files directly under `prefix` ("" for the root), sorted, not recursing (the
    /// backups at a bucket's root). Symlinks, temp and side files are not listed; a missing prefix
    /// has none. kInvalidArgument for a prefix ValidKey refuses.
    virtual Result<std::vector<std::string>> ListFiles(std::string_view prefix) = 0;
};

/// Whether `key` is a safe relative key: segments separated by single '/', none empty, "." or
/// "..", no NUL, backslash or control character, each at most 255 bytes, the whole at most 1,024,
/// and no segment ending in ".attrs" (the local store's side files).
bool ValidKey(std::string_view key);

/// The local disk under `root` (created when missing). Each file is written to a temporary name in
/// its folder, fsynced and renamed into place; its content type is kept in a "<name>.attrs" side file
/// in the format PocketBase's local storage writes, so a PocketBase storage folder can be copied in.
Result<std::unique_ptr<Storage>> OpenLocal(const std::filesystem::path& root);

/// An S3-compatible bucket: PocketBase's settings.s3 (bucket, region, endpoint, accessKey, secret,
/// forcePathStyle) and a few limits of basalt's own.
struct S3Config {
    std::string bucket;
    std::string region;
    std::string endpoint;  // "host[:port]" or "http(s)://host[:port]"; https when no scheme is given
    std::string access_key;
    std::string secret;
    bool force_path_style = false;  // <endpoint>/<bucket>/<key> rather than <bucket>.<endpoint>/<key>
    /// Uploads up to this size are one PUT; larger ones a multipart upload of parts of this size
    /// (S3's minimum part is 5 MiB). One part at most is held in memory per upload.
    std::size_t part_size = std::size_t{8} << 20;
    /// A download reads ahead this much per request (Range GETs).
    std::size_t read_ahead = std::size_t{1} << 20;
    std::chrono::seconds connect_timeout{10};
    std::chrono::seconds request_timeout{120};  // a whole request, a part's upload included

    bool operator==(const S3Config&) const = default;
};

/// An S3-compatible bucket, PocketBase's key layout in it (no prefix): requests signed by libcurl
/// (AWS SigV4), one blocking HTTP request per call (two for Open: HEAD, then Range GETs as it is
/// read). Uploads are held one part at a time: a single PUT up to `part_size`, a multipart upload
/// beyond (aborted when the upload is dropped). Fails with kInvalidArgument when bucket, region,
/// endpoint or access key is empty. Errors of calls: kNotFound for a missing object, kUnavailable
/// for anything the network or the service refuses (the message never contains the secret).
Result<std::unique_ptr<Storage>> OpenS3(const S3Config& config);

/// A Storage that forwards to the store of the moment (local disk or S3, as the settings say):
/// `Set` switches it at runtime. Readers and uploads keep the store they were made by alive until
/// they are done, so a download in flight finishes from where it started. Thread-safe.
class Switchable final : public Storage {
public:
    explicit Switchable(std::shared_ptr<Storage> initial) : current_(std::move(initial)) {}
    /// New calls go to `next` from now on.
    void Set(std::shared_ptr<Storage> next);
    std::shared_ptr<Storage> Current() const;

    Result<std::unique_ptr<Upload>> Create(std::string_view key, std::string_view content_type) override;
    Result<std::unique_ptr<Reader>> Open(std::string_view key) override;
    std::unique_ptr<Reader> OpenIfCached(std::string_view key) override;
    Result<ObjectInfo> Stat(std::string_view key) override;
    Result<void> Delete(std::string_view key) override;
    Result<void> DeletePrefix(std::string_view prefix) override;
    Result<std::vector<std::string>> List(std::string_view prefix) override;
    Result<std::vector<std::string>> ListFolders(std::string_view prefix) override;
    Result<std::vector<std::string>> ListFiles(std::string_view prefix) override;

private:
    mutable std::mutex mu_;
    std::shared_ptr<Storage> current_;
};

}  // namespace basalt::storage
