// SPDX-License-Identifier: MIT
#include "auth/scopes.hpp"

#include <algorithm>
#include <iterator>

#include "core/text.hpp"

namespace basalt::auth {

namespace {
const char* const kActions[] = {"list", "view", "create", "update", "delete", "*"};
}

bool ScopesAllow(
    const std::vector<std::string>& scopes, std::string_view id, std::string_view name, std::string_view action
) {
    for (const auto& s : scopes) {
        if (s == "admin") {
            return true;
        }
        const auto colon = s.find(':');
        if (colon == std::string::npos) {
            continue;
        }
        const std::string_view c = std::string_view(s).substr(0, colon);
        const std::string_view a = std::string_view(s).substr(colon + 1);
        const bool collection_ok = c == "*" || c == id || EqualsIgnoreCase(c, name);
        if (collection_ok && (a == "*" || a == action)) {
            return true;
        }
    }
    return false;
}

Result<void> ValidateScopes(const std::vector<std::string>& scopes) {
    if (scopes.empty() || scopes.size() > 100) {
        return MakeError(ErrorCode::kInvalidArgument, "Give between 1 and 100 scopes.", "scopes");
    }
    for (const auto& s : scopes) {
        if (s == "admin") {
            continue;
        }
        const auto colon = s.find(':');
        bool ok = colon != std::string::npos && colon > 0;
        if (ok) {
            const std::string c = s.substr(0, colon);
            const std::string a = s.substr(colon + 1);
            ok =
                (c == "*" || IsWord(c)) && std::find(std::begin(kActions), std::end(kActions), a) != std::end(kActions);
        }
        if (!ok) {
            return MakeError(
                ErrorCode::kInvalidArgument,
                "Invalid scope '" + s + "': use <collection>:<list|view|create|update|delete|*> or admin.",
                "scopes"
            );
        }
    }
    return Ok();
}

bool ScopesAllowAdmin(const std::vector<std::string>& scopes) {
    return std::find(scopes.begin(), scopes.end(), "admin") != scopes.end();
}

}  // namespace basalt::auth
