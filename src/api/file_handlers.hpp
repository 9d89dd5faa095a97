// SPDX-License-Identifier: MIT
#pragma once

#include "api/deps.hpp"
#include "http/router.hpp"

namespace basalt::api {

/// PocketBase's files API: POST /api/files/token (a short-lived file token for the signed-in record)
/// and GET/HEAD /api/files/{collection}/{recordId}/{filename} (a file of a record's file field, with
/// Range, conditional requests, inline only for types safe to render, protected files only with a
/// file token whose record passes the collection's viewRule; 404 for everything else).
void RegisterFileRoutes(http::Router& router, const Deps& deps);

/// The byte range a Range header asks of a `size`-byte file: nullopt to serve it whole (no header,
/// one it cannot parse, or several ranges), {0, 0} with `satisfiable` false when it lies past the end.
struct ByteRange {
    std::uint64_t first = 0;
    std::uint64_t length = 0;
    bool satisfiable = true;
};
std::optional<ByteRange> ParseRange(std::string_view header, std::uint64_t size);

}  // namespace basalt::api
