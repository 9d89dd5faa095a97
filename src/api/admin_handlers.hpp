// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "api/deps.hpp"
#include "http/router.hpp"

namespace basalt::api {

/// The admin dashboard's built files (web/admin/dist), read into memory at start: served at /_/
/// with ETags (If-None-Match → 304), long caching for the hashed assets and none for index.html;
/// any other path under /_/ answers index.html (the dashboard routes in the browser).
class AdminAssets {
public:
    struct Asset {
        std::string body;
        std::string content_type;
        std::string etag;
        bool immutable = false;
    };

    /// Loads every file under `dir` (at most 64 MiB in all). An empty or missing directory gives no
    /// assets: /_/ then explains how to build them.
    static std::shared_ptr<const AdminAssets> Load(const std::filesystem::path& dir);
    /// The first of the usual places that holds a built dashboard: beside the binary
    /// (`<bin>/admin`, `<bin>/../share/basalt/admin`) or in the source tree (`<bin>/../web/admin/dist`).
    static std::filesystem::path Find();

    const Asset* Get(const std::string& path) const;
    bool Empty() const { return files_.empty(); }

private:
    std::map<std::string, Asset> files_;
};

/// The one-time link `serve` prints while no superuser exists: its token creates the first
/// superuser once, within an hour. Thread-safe.
class InstallGate {
public:
    /// Arms the gate with a fresh random token (returned, to print).
    std::string Arm(std::chrono::steady_clock::time_point now, std::chrono::seconds ttl = std::chrono::hours(1));
    /// Runs `create` when `token` is the armed one and unexpired, one caller at a time; the token is
    /// spent when `create` succeeds (a mistake in the form does not burn the link). False when the
    /// token is wrong, spent or expired (then `create` does not run).
    bool Use(std::string_view token, std::chrono::steady_clock::time_point now, const std::function<bool()>& create);

private:
    std::mutex use_mu_;  // one install attempt at a time
    std::mutex mu_;
    std::string token_hash_;  // SHA-256 hex; empty when unarmed or spent
    std::chrono::steady_clock::time_point expires_{};
};

/// GET /_/ (the dashboard) and POST /api/install {token, email, password, passwordConfirm}.
void RegisterAdminRoutes(
    http::Router& router, const Deps& deps, std::shared_ptr<const AdminAssets> assets, std::shared_ptr<InstallGate> gate
);

}  // namespace basalt::api
