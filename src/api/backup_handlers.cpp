// SPDX-License-Identifier: MIT
// The backups API. A backup is made on a thread of its own (BackupApi's pool of one), never on an
// I/O thread nor on the pools sign-ins and lists use; the request waits for it, as PocketBase's does.
#include "api/backup_handlers.hpp"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "api/data_handlers.hpp"
#include "api/json_body.hpp"
#include "backups/backup_store.hpp"
#include "backups/names.hpp"
#include "core/ip.hpp"
#include "obs/log.hpp"
#include "records/files.hpp"

namespace basalt::api {

namespace {

namespace json = boost::json;
using http::Request;
using http::Response;

constexpr const char* kBusy = "Try again later - another backup/restore process has already been started";
constexpr const char* kBusyRestore = "Try again later - another backup/restore process has already been started.";
constexpr const char* kInvalidData = "An error occurred while validating the submitted data.";
constexpr const char* kNoAccess = "Insufficient permissions to access the resource.";

class BackupBody final : public http::BodyReader {
public:
    explicit BackupBody(std::unique_ptr<backups::BackupFile> file) : file_(std::move(file)) {}
    std::uint64_t Size() const override { return file_->Size(); }
    Result<std::size_t> ReadAt(std::uint64_t offset, std::span<char> out) override {
        return file_->ReadAt(offset, out);
    }
    std::optional<Result<std::size_t>> ReadAtIfReady(std::uint64_t /*offset*/, std::span<char> /*out*/) override {
        return std::nullopt;
    }

private:
    std::unique_ptr<backups::BackupFile> file_;
};

// The create form's name, checked in PocketBase's order: length, pattern, uniqueness.
void ValidateName(const backups::BackupStore& store, const std::string& name) {
    if (name.size() > backups::kMaxNameLength) {
        throw ApiError::BadRequest(
            kInvalidData, {{"name", "validation_length_out_of_range", "The length must be between 1 and 150."}}
        );
    }
    if (!backups::ValidName(name)) {
        throw ApiError::BadRequest(kInvalidData, {{"name", "validation_match_invalid", "Must be in a valid format."}});
    }
    if (store.Exists(name)) {
        throw ApiError::BadRequest(
            kInvalidData,
            {{"name", "validation_backup_name_exists", "The backup file name is invalid or already exists."}}
        );
    }
}

// settings.superuserIPs, as PocketBase checks it on downloads: empty, or the client's IP listed.
bool SuperuserIpAllowed(const Deps& d, const Request& req) {
    const auto net = d.settings.TrustedProxy();
    if (net->superuser_ips.empty()) {
        return true;
    }
    const auto ip = ParseIp(req.remote_ip);
    return ip && std::any_of(net->superuser_ips.begin(), net->superuser_ips.end(), [&](const auto& t) {
               const auto n = ParseIpNetwork(t);
               return n && Contains(*n, *ip);
           });
}

class BackupApi {
public:
    explicit BackupApi(const Deps& deps) : d_(deps), store_(*deps.backups) {}

    net::awaitable<Response> List(Request& req) const {
        RequireSuperuser(req);
        auto r = co_await d_.blocking.Call([&] { return store_.List(); });
        if (!r) {
            throw ApiError::BadRequest("Failed to retrieve backup items.");
        }
        json::array items;
        for (const auto& b : *r) {
            items.push_back(json::object{{"key", b.key}, {"modified", FormatDateTime(b.modified)}, {"size", b.size}});
        }
        co_return JsonResponse(items);
    }

    net::awaitable<Response> Create(Request& req) {
        RequireSuperuser(req);
        if (!store_.Active().empty()) {
            throw ApiError::BadRequest(kBusy);
        }
        const json::object body = DecodeJsonObject(req);
        std::string name;
        if (const auto* v = body.if_contains("name"); v != nullptr && !v->is_null()) {
            if (!v->is_string()) {
                throw ApiError::BadRequest("An error occurred while loading the submitted data.");
            }
            name = std::string(v->as_string());
        }
        if (!name.empty()) {
            ValidateName(store_, name);
        } else {
            name = backups::DefaultName(d_.settings.Mail().app_name, d_.clock.Now());
        }
        auto op = store_.Begin(name);
        if (!op) {
            throw ApiError::BadRequest(op.error().code == ErrorCode::kConflict ? kBusy : "Failed to create backup.");
        }
        auto made = co_await pool_.Call([&] { return store_.Create(*op); });
        if (!made) {
            throw ApiError::BadRequest("Failed to create backup.");
        }
        co_return Response::NoContent();
    }

    net::awaitable<Response> Upload(Request& req) {
        RequireSuperuser(req);
        std::vector<records::UploadedFile> files;
        (void)DecodeRecordBody(req, files);
        const records::UploadedFile* file = nullptr;
        for (const auto& f : files) {
            if (f.field == "file") {
                file = &f;
                break;
            }
        }
        if (file == nullptr) {
            throw ApiError::BadRequest(kInvalidData, {{"file", "validation_required", "Cannot be blank."}});
        }
        const std::string& name = file->original_name;
        if (!backups::ValidName(name)) {
            throw ApiError::BadRequest(
                kInvalidData, {{"file", "validation_match_invalid", "Must be in a valid format."}}
            );
        }
        const auto exists = [] {
            return ApiError::BadRequest(
                kInvalidData,
                {{"file", "validation_backup_name_exists", "Backup file with the specified name already exists."}}
            );
        };
        if (store_.Exists(name)) {
            throw exists();
        }
        auto stored = co_await pool_.Call([&] { return store_.Upload(name, file->bytes); });
        if (!stored && stored.error().code == ErrorCode::kInvalidArgument) {
            throw ApiError::BadRequest(
                kInvalidData,
                {{"file",
                  "validation_invalid_mime_type",
                  "\"" + name + "\" mime type must be one of: application/zip."}}
            );
        }
        if (!stored && stored.error().code == ErrorCode::kConflict) {
            throw exists();
        }
        if (!stored) {
            throw ApiError::BadRequest("Failed to upload backup.");
        }
        co_return Response::NoContent();
    }

    net::awaitable<Response> Download(Request& req) const {
        const std::string token = req.QueryParam("token").value_or("");
        auto who = token.empty()
                       ? Result<std::shared_ptr<const auth::Principal>>(MakeError(ErrorCode::kUnauthorized, "no token"))
                       : d_.tokens.AuthenticateFile(token);
        if (!who || !(*who)->superuser || !SuperuserIpAllowed(d_, req)) {
            throw ApiError::Forbidden(kNoAccess);
        }
        const std::string key(req.Param("key"));
        auto opened = co_await d_.blocking.Call([&] { return store_.Open(key); });
        if (!opened) {
            if (opened.error().code == ErrorCode::kNotFound) {
                throw ApiError::NotFound();
            }
            ThrowApiError(req, opened.error());
        }
        Response res;
        res.SetHeader("Content-Type", "application/zip");
        res.SetHeader("Content-Disposition", "attachment; filename=" + key);
        res.SetHeader("Content-Security-Policy", "default-src 'none'; sandbox");
        res.body_reader = std::make_shared<BackupBody>(std::move(*opened));
        co_return res;
    }

    net::awaitable<Response> Delete(Request& req) const {
        RequireSuperuser(req);
        const std::string key(req.Param("key"));
        const auto in_use = [] {
            return ApiError::BadRequest("The backup is currently being used and cannot be deleted.");
        };
        if (!key.empty() && store_.Active() == key) {
            throw in_use();
        }
        auto r = co_await d_.blocking.Call([&] { return store_.Delete(key); });
        if (!r && r.error().code == ErrorCode::kConflict) {
            throw in_use();
        }
        if (!r) {
            throw ApiError::BadRequest("Invalid or already deleted backup file.");
        }
        co_return Response::NoContent();
    }

    // PocketBase answers 204 and restores afterwards, logging a failure nobody sees. Here the archive
    // is unpacked and checked first, so a refusal is this request's answer; the restart follows it.
    net::awaitable<Response> Restore(Request& req) {
        RequireSuperuser(req);
        if (!store_.Active().empty()) {
            throw ApiError::BadRequest(kBusyRestore);
        }
        const std::string key(req.Param("key"));
        if (!store_.Exists(key)) {
            throw ApiError::BadRequest("Missing or invalid backup file.");
        }
        auto r = co_await pool_.Call([&] { return d_.restore_backup(key); });
        if (!r && r.error().code == ErrorCode::kConflict) {
            throw ApiError::BadRequest(kBusyRestore);
        }
        if (!r && r.error().code == ErrorCode::kInvalidArgument) {
            throw ApiError::BadRequest("The backup cannot be restored: " + r.error().message);
        }
        if (!r) {
            obs::Error("restore failed", {{"backup", key}, {"error", r.error().message}});
            throw ApiError::BadRequest("Failed to restore the backup.");
        }
        co_return Response::NoContent();
    }

private:
    Deps d_;  // a copy: the one routes are registered with is gone once they are
    backups::BackupStore& store_;
    BlockingPool pool_{1, 4};  // backups made and uploads written: one at a time, off every shared pool
};

}  // namespace

void RegisterBackupRoutes(http::Router& router, const Deps& deps) {
    if (deps.backups == nullptr) {
        return;
    }
    auto api = std::make_shared<BackupApi>(deps);
    using http::Method;
    router.Add(Method::kGet, "/api/backups", http::AsyncHandler([api](Request& req) { return api->List(req); }));
    router.Add(Method::kPost, "/api/backups", http::AsyncHandler([api](Request& req) { return api->Create(req); }));
    router.Add(Method::kPost, "/api/backups/upload", http::AsyncHandler([api](Request& req) {
                   return api->Upload(req);
               }));
    router.Add(Method::kGet, "/api/backups/{key}", http::AsyncHandler([api](Request& req) {
                   return api->Download(req);
               }));
    router.Add(Method::kDelete, "/api/backups/{key}", http::AsyncHandler([api](Request& req) {
                   return api->Delete(req);
               }));
    if (deps.restore_backup) {
        router.Add(Method::kPost, "/api/backups/{key}/restore", http::AsyncHandler([api](Request& req) {
                       return api->Restore(req);
                   }));
    }
}

}  // namespace basalt::api
