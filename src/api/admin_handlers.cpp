// SPDX-License-Identifier: MIT
#include "api/admin_handlers.hpp"

#include <fstream>
#include <sstream>

#include <unistd.h>

#include "api/data_handlers.hpp"
#include "api/json_body.hpp"
#include "auth/password.hpp"
#include "core/ids.hpp"
#include "core/random.hpp"
#include "obs/log.hpp"

namespace basalt::api {

namespace fs = std::filesystem;
using http::Method;
using http::Request;
using http::Response;

namespace {

constexpr std::size_t kMaxAssetBytes = std::size_t{64} << 20;

std::string ContentType(const std::string& ext) {
    static const std::map<std::string, std::string> kTypes{
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".json", "application/json"},
        {".woff2", "font/woff2"},
        {".txt", "text/plain; charset=utf-8"},
    };
    auto it = kTypes.find(ext);
    return it != kTypes.end() ? it->second : "application/octet-stream";
}

const char* kNotBuiltPage =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>basalt admin</title></head><body>"
    "<h1>The admin dashboard is not built</h1><p>Build it with <code>make ui</code> (or <code>make run</code>), "
    "or point <code>--admin-dir</code> at a built copy. The API works without it.</p></body></html>";

}  // namespace

std::shared_ptr<const AdminAssets> AdminAssets::Load(const fs::path& dir) {
    auto out = std::make_shared<AdminAssets>();
    std::error_code ec;
    if (dir.empty() || !fs::is_regular_file(dir / "index.html", ec)) {
        return out;
    }
    std::size_t total = 0;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        if (!it->is_regular_file(ec)) {
            continue;
        }
        std::ifstream in(it->path(), std::ios::binary);
        std::ostringstream buf;
        buf << in.rdbuf();
        Asset a;
        a.body = buf.str();
        total += a.body.size();
        if (total > kMaxAssetBytes) {
            obs::Warn("admin assets larger than 64 MiB; not served", {{"dir", dir.string()}});
            return std::make_shared<AdminAssets>();
        }
        const std::string rel = fs::relative(it->path(), dir, ec).generic_string();
        a.content_type = ContentType(it->path().extension().string());
        a.etag = "\"" + std::to_string(Crc32(a.body)) + "-" + std::to_string(a.body.size()) + "\"";
        a.immutable = rel.rfind("assets/", 0) == 0;  // Vite's content-hashed names
        out->files_.emplace(rel, std::move(a));
    }
    return out;
}

fs::path AdminAssets::Find() {
    char buf[4096];
    const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    if (n <= 0) {
        return {};
    }
    const fs::path bin = fs::path(std::string(buf, static_cast<std::size_t>(n))).parent_path();
    for (const fs::path& candidate :
         {bin / "admin", bin / ".." / "share" / "basalt" / "admin", bin / ".." / "web" / "admin" / "dist"}) {
        std::error_code ec;
        if (fs::is_regular_file(candidate / "index.html", ec)) {
            return fs::weakly_canonical(candidate, ec);
        }
    }
    return {};
}

const AdminAssets::Asset* AdminAssets::Get(const std::string& path) const {
    auto it = files_.find(path);
    return it != files_.end() ? &it->second : nullptr;
}

std::string InstallGate::Arm(std::chrono::steady_clock::time_point now, std::chrono::seconds ttl) {
    std::string token = SecureRandomString(40, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
    std::lock_guard lock(mu_);
    token_hash_ = auth::Sha256Hex(token);
    expires_ = now + ttl;
    return token;
}

bool InstallGate::Use(
    std::string_view token, std::chrono::steady_clock::time_point now, const std::function<bool()>& create
) {
    std::lock_guard serial(use_mu_);
    {
        std::lock_guard lock(mu_);
        if (token_hash_.empty() || now >= expires_ || !auth::ConstantTimeEquals(auth::Sha256Hex(token), token_hash_)) {
            return false;
        }
    }
    if (create()) {
        std::lock_guard lock(mu_);
        token_hash_.clear();  // once
    }
    return true;
}

void RegisterAdminRoutes(
    http::Router& router, const Deps& deps, std::shared_ptr<const AdminAssets> assets, std::shared_ptr<InstallGate> gate
) {
    auto serve = http::SyncHandler([assets](Request& req) {
        if (assets->Empty()) {
            Response r;
            r.status = 503;
            r.SetHeader("Content-Type", "text/html; charset=utf-8");
            r.SetHeader("Cache-Control", "no-store");
            r.body = kNotBuiltPage;
            return r;
        }
        std::string path(req.Param("path"));
        const AdminAssets::Asset* a = path.empty() ? nullptr : assets->Get(path);
        if (a == nullptr) {
            if (path.rfind("assets/", 0) == 0 || path.find('.') != std::string::npos) {
                throw ApiError::NotFound();  // a missing file, not a dashboard route
            }
            a = assets->Get("index.html");
        }
        Response r;
        r.SetHeader("Content-Type", a->content_type);
        r.SetHeader("ETag", a->etag);
        r.SetHeader("Cache-Control", a->immutable ? "public, max-age=31536000, immutable" : "no-cache");
        if (req.Header("If-None-Match") == a->etag) {
            r.status = 304;
            return r;
        }
        r.body = a->body;
        return r;
    });
    router.Add(Method::kGet, "/_/", serve);  // "/_" too: the router ignores a trailing slash
    router.Add(Method::kGet, "/_/{path...}", serve);
    // PocketBase's dashboard loads its UI extensions from here; basalt has none: an empty module,
    // built dashboard or not (PocketBase's answer and caching).
    router.Add(Method::kGet, "/_/extensions.js", http::SyncHandler([](Request&) {
                   Response r;
                   r.status = 200;
                   r.SetHeader("Content-Type", "text/javascript");
                   r.SetHeader("Cache-Control", "max-age=1209600, stale-while-revalidate=86400");
                   return r;
               }));

    router.Add(
        Method::kPost, "/api/install", http::AsyncHandler([deps, gate](Request& req) -> net::awaitable<Response> {
            const boost::json::object body = DecodeJsonObject(req);
            const std::string token = StringField(body, "token");
            const std::string email = StringField(body, "email");
            const std::string password = StringField(body, "password");
            if (password != StringField(body, "passwordConfirm")) {
                throw ApiError::BadRequest(
                    "Failed to create the superuser.",
                    {{"passwordConfirm", "validation_values_mismatch", "Values don't match."}}
                );
            }
            Result<void> r = Ok();
            co_await deps.blocking.Run([&] {
                const bool valid = token.size() <= 200 && gate->Use(token, std::chrono::steady_clock::now(), [&] {
                    auto count = deps.superusers.Count();
                    if (!count || *count > 0) {
                        r = MakeError(ErrorCode::kInvalidArgument, "A superuser exists already: sign in instead.");
                        return true;  // the link has no more use
                    }
                    auto created = deps.superusers.Upsert(email, password);
                    if (!created) {
                        r = created.error();
                        return false;
                    }
                    return true;
                });
                if (!valid) {
                    r = MakeError(ErrorCode::kInvalidArgument, "The install link is invalid, used or expired.");
                }
            });
            if (!r) {
                ThrowApiError(req, r.error());
            }
            obs::Info("first superuser created through the install link", {{"email", email}});
            co_return Response::NoContent();
        })
    );
}

}  // namespace basalt::api
