// SPDX-License-Identifier: MIT
#pragma once

#include "http/router.hpp"

namespace basalt::api {

/// Applies `fields` to every successful JSON response (to each item of a list envelope), as
/// PocketBase does; error responses are never picked.
class FieldsMiddleware final : public http::Middleware {
public:
    void After(const http::Request& req, http::Response& res) override;
};

}  // namespace basalt::api
