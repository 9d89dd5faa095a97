// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include "api/deps.hpp"
#include "core/result.hpp"
#include "http/request.hpp"
#include "records/files.hpp"
#include "storage/storage.hpp"

namespace basalt::api {

/// Decodes the body of a record create or update (DecodeRecordBody): its file parts go to `files`. A
/// large upload (spooled to disk by the server) is parsed on the blocking pool, never on the I/O
/// thread. Throws ApiError as DecodeRecordBody does. `req` and `files` must outlive the await.
net::awaitable<boost::json::object> DecodeUploadBody(
    const Deps& deps, const http::Request& req, std::vector<records::UploadedFile>& files
);

/// Stores the files uploaded with a record create (`id` empty: the body's id, or a new one written
/// into `body`, since the files live in the record's folder) or an update of record `id` of
/// `collection`, on the blocking pool, and puts their names into `body` (records::StageUploads).
/// Stores nothing when there are no files, when the collection does not exist (the write answers
/// 404) or when the body's id is invalid (the write refuses it). Fails with kInvalidArgument
/// (message `failure`, PocketBase's field errors) or the storage's error; nothing stays stored then.
/// The records API and the batch API both stage through here. `body` and `files` must outlive the
/// await.
net::awaitable<Result<records::StagedFiles>> StageRecordFiles(
    const Deps& deps,
    std::string collection,
    std::string id,
    boost::json::object& body,
    const std::vector<records::UploadedFile>& files,
    std::string failure
);

/// Files staged for record writes that have not committed yet: deleted again when this goes out of
/// scope (a write that failed, a handler that threw) unless Keep() was called after the commit.
/// Not thread-safe; movable, not copyable.
class StagedUploads {
public:
    explicit StagedUploads(storage::Storage& store) : store_(&store) {}
    ~StagedUploads() { Discard(); }
    StagedUploads(StagedUploads&& other) noexcept;
    StagedUploads& operator=(StagedUploads&& other) = delete;
    StagedUploads(const StagedUploads&) = delete;
    StagedUploads& operator=(const StagedUploads&) = delete;

    /// Takes charge of `staged`'s stored files.
    void Add(const records::StagedFiles& staged);
    /// Whether some file is still in charge.
    bool Empty() const { return keys_.empty(); }
    /// Deletes the files now (blocking: from a handler, run it on the blocking pool).
    void Discard();
    /// The write committed: the files stay.
    void Keep() { keys_.clear(); }

private:
    storage::Storage* store_;
    std::vector<std::string> keys_;
};

}  // namespace basalt::api
