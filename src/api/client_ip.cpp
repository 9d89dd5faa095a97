// SPDX-License-Identifier: MIT
#include "api/client_ip.hpp"

#include "core/ip.hpp"
#include "core/text.hpp"

namespace basalt::api {

namespace {

bool TrustedPeer(const std::string& peer, const settings::ProxySettings& proxy) {
    const auto ip = ParseIp(peer);
    if (!ip) {
        return false;
    }
    if (proxy.proxies.empty()) {
        return IsLocalNetwork(*ip);
    }
    for (const auto& text : proxy.proxies) {
        if (const auto net = ParseIpNetwork(text); net && Contains(*net, *ip)) {
            return true;
        }
    }
    return false;
}

std::optional<std::string> ValidIp(std::string_view text) {
    const auto ip = ParseIp(TrimSpace(text));
    if (!ip) {
        return std::nullopt;
    }
    return FormatIp(*ip);
}

}  // namespace

std::string ClientIp(const http::Request& req, const settings::ProxySettings& proxy) {
    if (proxy.headers.empty() || !TrustedPeer(req.peer_ip, proxy)) {
        return req.peer_ip;
    }
    for (const auto& name : proxy.headers) {
        // The last instance: a proxy appends its own line after whatever the client sent.
        std::string_view list;
        for (const auto& [k, v] : req.headers) {
            if (EqualsIgnoreCase(k, name)) {
                list = v;
            }
        }
        if (TrimSpace(list).empty()) {
            continue;
        }
        std::vector<std::string_view> parts;
        for (std::size_t start = 0;;) {
            const auto comma = list.find(',', start);
            parts.push_back(list.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start)
            );
            if (comma == std::string_view::npos) {
                break;
            }
            start = comma + 1;
        }
        if (proxy.use_leftmost_ip) {
            for (const auto part : parts) {
                if (auto ip = ValidIp(part)) {
                    return *ip;
                }
            }
        } else {
            for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
                if (auto ip = ValidIp(*it)) {
                    return *ip;
                }
            }
        }
    }
    return req.peer_ip;
}

std::optional<http::Response> ClientIpMiddleware::Before(http::Request& req) {
    const auto proxy = settings_.TrustedProxy();
    if (!proxy->headers.empty()) {
        req.remote_ip = ClientIp(req, *proxy);
    }
    return std::nullopt;
}

}  // namespace basalt::api
