// SPDX-License-Identifier: MIT
#include "config/config.hpp"

#include <charconv>

namespace basalt::config {

Result<void> ParseListenAddress(std::string_view text, HttpConfig& http) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        return MakeError(
            ErrorCode::kInvalidArgument, "listen address must be HOST:PORT, got '" + std::string(text) + "'"
        );
    }
    std::string_view host = text.substr(0, colon);
    std::string_view port = text.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || ptr != port.data() + port.size() || port.empty() || value > 65535) {
        return MakeError(ErrorCode::kInvalidArgument, "invalid port in listen address '" + std::string(text) + "'");
    }
    http.host = host.empty() ? "0.0.0.0" : std::string(host);
    http.port = static_cast<std::uint16_t>(value);
    return Ok();
}

Result<void> Validate(const AppConfig& c) {
    constexpr long long kMaxSweepHours = 24LL * 365;
    auto bad = [](std::string msg) {
        return MakeError(ErrorCode::kInvalidArgument, std::move(msg));
    };
    if (c.data_dir.empty()) {
        return bad("data directory must not be empty");
    }
    if (c.http.threads > 256) {
        return bad("threads must be between 0 (one per core) and 256");
    }
    if (c.http.max_connections == 0) {
        return bad("max connections must be at least 1");
    }
    if (c.http.max_header_bytes < 1024) {
        return bad("max header bytes must be at least 1024");
    }
    if (c.http.max_body_bytes == 0) {
        return bad("max body bytes must be at least 1");
    }
    if (c.http.max_upload_bytes < c.http.max_body_bytes) {
        return bad("max upload bytes must be at least max body bytes");
    }
    for (auto t : {c.http.header_timeout, c.http.body_timeout, c.http.idle_timeout, c.http.write_timeout}) {
        if (t.count() <= 0) {
            return bad("timeouts must be positive");
        }
    }
    for (auto t : {c.realtime.heartbeat, c.realtime.idle, c.realtime.max_duration}) {
        if (t.count() <= 0) {
            return MakeError(ErrorCode::kInvalidArgument, "realtime timeouts must be positive");
        }
    }
    if (c.realtime.max_queued_bytes < 4096) {
        return MakeError(ErrorCode::kInvalidArgument, "realtime queue must be at least 4096 bytes");
    }
    if (c.jobs.workers == 0 || c.jobs.workers > 64) {
        return MakeError(ErrorCode::kInvalidArgument, "job workers must be between 1 and 64");
    }
    if (c.jobs.lease.count() < 100 || c.jobs.poll.count() < 10) {
        return MakeError(ErrorCode::kInvalidArgument, "job lease must be at least 100 ms and poll at least 10 ms");
    }
    if (c.auth.hash_threads == 0 || c.auth.hash_threads > 256) {
        return bad("hash threads must be between 1 and 256");
    }
    if (c.outbound.threads == 0 || c.outbound.threads > 256) {
        return bad("outbound I/O threads must be between 1 and 256");
    }
    if (c.db.query_threads == 0 || c.db.query_threads > 256) {
        return bad("query threads must be between 1 and 256");
    }
    if (c.files.sweep_interval.count() < 0 || c.files.sweep_interval.count() > kMaxSweepHours) {
        return bad("files sweep hours must be between 0 (off) and 8760");
    }
    return Ok();
}

}  // namespace basalt::config
