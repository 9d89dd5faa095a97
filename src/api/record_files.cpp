// SPDX-License-Identifier: MIT
#include "api/record_files.hpp"

#include <utility>

#include "api/json_body.hpp"
#include "core/ids.hpp"

namespace basalt::api {

namespace {

// The folder a create's files go to: the body's id when it is a valid one, a new id (written into
// the body) when none is given, nothing when the id is invalid (the write refuses it).
std::optional<std::string> CreateId(boost::json::object& body) {
    const auto* given = body.if_contains("id");
    if (given != nullptr && given->is_string() && IsValidRecordId(given->as_string())) {
        return std::string(given->as_string());
    }
    if (given == nullptr || given->is_null() || (given->is_string() && given->as_string().empty())) {
        std::string id = NewRecordId();
        body["id"] = id;
        return id;
    }
    return std::nullopt;
}

}  // namespace

net::awaitable<boost::json::object> DecodeUploadBody(
    const Deps& deps, const http::Request& req, std::vector<records::UploadedFile>& files
) {
    if (!req.body_file) {
        co_return DecodeRecordBody(req, files);
    }
    co_return co_await deps.blocking.Call([&] { return DecodeRecordBody(req, files); });
}

net::awaitable<Result<records::StagedFiles>> StageRecordFiles(
    const Deps& deps,
    std::string collection,
    std::string id,
    boost::json::object& body,
    const std::vector<records::UploadedFile>& files,
    std::string failure
) {
    if (files.empty()) {
        co_return records::StagedFiles{};
    }
    const auto snap = deps.collections.Current();
    const schema::Collection* c = snap->Find(collection);
    if (c == nullptr) {
        co_return records::StagedFiles{};  // the write answers 404
    }
    if (id.empty()) {
        auto given = CreateId(body);
        if (!given) {
            co_return records::StagedFiles{};  // the write refuses the id; nothing is stored
        }
        id = std::move(*given);
    }
    auto staged = co_await deps.blocking.Call([&] { return records::StageUploads(*c, id, body, files, deps.storage); });
    if (!staged && staged.error().code == ErrorCode::kInvalidArgument) {
        staged.error().message = std::move(failure);
    }
    co_return staged;
}

StagedUploads::StagedUploads(StagedUploads&& other) noexcept
    : store_(other.store_),
      keys_(std::exchange(other.keys_, {})) {}

void StagedUploads::Add(const records::StagedFiles& staged) {
    keys_.insert(keys_.end(), staged.keys.begin(), staged.keys.end());
}

void StagedUploads::Discard() {
    records::DiscardStaged(*store_, records::StagedFiles{{}, std::exchange(keys_, {})});
}

}  // namespace basalt::api
