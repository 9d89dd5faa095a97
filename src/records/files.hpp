// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "collections/store.hpp"
#include "core/result.hpp"
#include "core/spool_file.hpp"
#include "db/database.hpp"
#include "schema/collection.hpp"
#include "storage/storage.hpp"

namespace basalt::records {

/// A file sent with a create or update (a multipart part with a filename). `field` is the part's
/// name as sent: `avatar`, or with a modifier (`avatar+` appends, `+avatar` prepends).
struct UploadedFile {
    std::string field;
    std::string original_name;
    ByteSource bytes;  // in memory, or a range of the spooled request body
};

/// Files stored for a write that has not committed yet: their names (now in the body) and keys
/// (to delete when the write fails).
struct StagedFiles {
    std::vector<std::string> names;
    std::vector<std::string> keys;
};

/// PocketBase's stored name for an uploaded file: the original name's last 300 bytes, snake_cased
/// (at most 100 characters; a random part when shorter than 3), "_", 10 random characters, and the
/// cleaned extension (its last one or two parts, at most 20 characters; sniffed from the bytes
/// when there is none).
std::string StoredFileName(std::string_view original, std::string_view bytes);

/// The content type of `bytes` from their leading signature (PNG, JPEG, GIF, WebP, PDF, ZIP, GZIP,
/// MP4, WebM, MP3, WAV, SVG, HTML, JSON, UTF-8 text), application/octet-stream otherwise. Never
/// trusted from the client. `bytes` may be the leading window of a larger file (`complete` false).
std::string SniffContentType(std::string_view bytes, bool complete = true);

/// Validates uploads against the collection's file fields (the field exists and is a file field,
/// maxSize — 5 MiB by default —, mimeTypes, not empty), stores each under
/// `<collectionId>/<recordId>/<name>` and puts the names into `body` (`field` replaces what the body
/// had with the plain names sent beside the files, `field+`/`+field` modify). kInvalidArgument with
/// PocketBase's field errors; nothing stays stored on failure.
Result<StagedFiles> StageUploads(
    const schema::Collection& c,
    const std::string& record_id,
    boost::json::object& body,
    const std::vector<UploadedFile>& files,
    storage::Storage& store
);

/// Deletes what StageUploads stored (the write that was to hold it failed).
void DiscardStaged(storage::Storage& store, const StagedFiles& staged);

/// The names a file field's column value holds (one name, or a JSON list for a multiple field).
std::vector<std::string> FileNamesOf(const schema::Field& f, const db::Value& column);
/// The names a record's JSON holds in `f` (a string or an array).
std::vector<std::string> FileNamesIn(const boost::json::object& record, const schema::Field& f);

/// PocketBase's FindRecordByViewFile: the folder (`<collectionId>/<recordId>`) of the record that
/// holds `filename` in a file field of a collection the query of view `view` reads (through views at
/// most 5 deep), looked up in `snap`'s collections. The name is one the view's record holds, so a
/// match is the file the view exposes. kNotFound when no source record holds it (a source that
/// cannot be read is passed over).
Result<std::string> ViewFileFolder(
    db::Database& db, const collections::Snapshot& snap, const schema::Collection& view, const std::string& filename
);

/// For a write of `values` over `previous` (null for a create): names that are neither kept from
/// `previous` nor just uploaded are errors (validation_invalid_file, as PocketBase refuses new
/// names given as text); the names `previous` held that the write drops are added to `dropped`.
void CheckFileNames(
    const std::vector<std::pair<const schema::Field*, db::Value>>& values,
    const boost::json::object* previous,
    const std::vector<std::string>& uploaded,
    std::vector<FieldError>& errors,
    std::vector<std::string>& dropped
);

}  // namespace basalt::records
