// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace basalt::auth {

/// API key scopes: "<collection>:<action>" (collection by name or id, or "*"; action one of list,
/// view, create, update, delete, or "*"), and "admin" for everything, the superuser-only APIs
/// included. Whether `scopes` allow `action` on the collection `id`/`name`.
bool ScopesAllow(
    const std::vector<std::string>& scopes, std::string_view id, std::string_view name, std::string_view action
);

/// Whether `scopes` include "admin" (the collections, settings and API key APIs).
bool ScopesAllowAdmin(const std::vector<std::string>& scopes);

/// Checks a scope list; kInvalidArgument naming the bad entry.
Result<void> ValidateScopes(const std::vector<std::string>& scopes);

}  // namespace basalt::auth
