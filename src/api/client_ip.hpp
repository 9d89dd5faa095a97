// SPDX-License-Identifier: MIT
#pragma once

#include <string>

#include "http/router.hpp"
#include "settings/settings_store.hpp"

namespace basalt::api {

/// The client's IP as PocketBase's RealIP finds it, but only from a trusted peer: when
/// settings.trustedProxy.headers names headers and the connection's peer is a trusted proxy (one of
/// trustedProxy.proxies, or with none listed a loopback or private-network address), the last
/// instance of the first configured header that holds a valid IP gives it (its leftmost valid entry
/// with useLeftmostIP, else its rightmost); otherwise the peer's address. Everything that uses an IP
/// (throttles, sessions, logs, realtime) sees the result.
std::string ClientIp(const http::Request& req, const settings::ProxySettings& proxy);

/// Sets Request::remote_ip to ClientIp() before anything else runs (the peer stays in peer_ip).
class ClientIpMiddleware final : public http::Middleware {
public:
    explicit ClientIpMiddleware(const settings::SettingsStore& settings) : settings_(settings) {}
    std::optional<http::Response> Before(http::Request& req) override;

private:
    const settings::SettingsStore& settings_;
};

}  // namespace basalt::api
