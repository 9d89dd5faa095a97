// SPDX-License-Identifier: MIT
#include "auth/jwt.hpp"

#include <algorithm>
#include <cstdint>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/password.hpp"
#include "core/base64.hpp"
#include "core/json_text.hpp"

namespace basalt::auth {

namespace {

constexpr std::string_view kHeader = R"({"alg":"HS256","typ":"JWT"})";

std::string HmacSha256(std::string_view key, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(
        EVP_sha256(),
        key.data(),
        static_cast<int>(key.size()),
        reinterpret_cast<const unsigned char*>(data.data()),
        data.size(),
        out,
        &len
    );
    return std::string(reinterpret_cast<const char*>(out), len);
}

Error Invalid(std::string msg) {
    return MakeError(ErrorCode::kUnauthorized, std::move(msg));
}

}  // namespace

std::string SignToken(const TokenClaims& c, std::string_view key) {
    // Keys in sorted order, as PocketBase (Go's map encoding) writes them.
    std::string payload = R"({"collectionId":)";
    AppendJsonString(payload, c.collection_id);
    if (!c.email.empty()) {
        payload += R"(,"email":)";
        AppendJsonString(payload, c.email);
    }
    payload += R"(,"exp":)" + std::to_string(c.exp);
    payload += R"(,"id":)";
    AppendJsonString(payload, c.id);
    if (!c.new_email.empty()) {
        payload += R"(,"newEmail":)";
        AppendJsonString(payload, c.new_email);
    }
    if (c.type == "auth") {
        payload += c.refreshable ? R"(,"refreshable":true)" : R"(,"refreshable":false)";
    }
    if (!c.session_id.empty()) {
        payload += R"(,"sid":)";
        AppendJsonString(payload, c.session_id);
    }
    payload += R"(,"type":)";
    AppendJsonString(payload, c.type);
    payload += '}';

    std::string token = Base64UrlEncode(kHeader);
    token += '.';
    token += Base64UrlEncode(payload);
    const std::string sig = HmacSha256(key, token);
    token += '.';
    token += Base64UrlEncode(sig);
    return token;
}

Result<ParsedToken> ParseToken(std::string_view token) {
    if (token.empty() || token.size() > kMaxTokenBytes) {
        return Invalid("invalid token size");
    }
    const auto d1 = token.find('.');
    const auto d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
    if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos) {
        return Invalid("malformed token");
    }
    auto header = Base64UrlDecode(token.substr(0, d1));
    auto payload = Base64UrlDecode(token.substr(d1 + 1, d2 - d1 - 1));
    auto sig = Base64UrlDecode(token.substr(d2 + 1));
    if (!header || !payload || !sig || sig->size() != 32) {
        return Invalid("malformed token");
    }
    boost::system::error_code ec;
    auto hv = boost::json::parse(*header, ec);
    if (ec || !hv.is_object()) {
        return Invalid("malformed token header");
    }
    const auto* alg = hv.as_object().if_contains("alg");
    if (alg == nullptr || !alg->is_string() || alg->as_string() != "HS256") {
        return Invalid("unsupported token algorithm");
    }
    auto pv = boost::json::parse(*payload, ec);
    if (ec || !pv.is_object()) {
        return Invalid("malformed token claims");
    }
    const auto& obj = pv.as_object();
    ParsedToken out;
    auto str = [&](std::string_view key, std::string& dst, bool required) -> bool {
        const auto* v = obj.if_contains(key);
        if (v == nullptr) {
            return !required;
        }
        if (!v->is_string()) {
            return false;
        }
        dst = std::string(v->as_string());
        return true;
    };
    if (!str("type", out.claims.type, true) || !str("id", out.claims.id, true) ||
        !str("collectionId", out.claims.collection_id, true) || !str("email", out.claims.email, false) ||
        !str("newEmail", out.claims.new_email, false) || !str("sid", out.claims.session_id, false)) {
        return Invalid("malformed token claims");
    }
    const auto* exp = obj.if_contains("exp");
    if (exp == nullptr) {
        return Invalid("token has no expiry");
    }
    if (exp->is_int64()) {
        out.claims.exp = exp->as_int64();
    } else if (exp->is_uint64()) {
        out.claims.exp = static_cast<std::int64_t>(std::min<std::uint64_t>(exp->as_uint64(), INT64_MAX));
    } else if (exp->is_double()) {
        const double d = exp->as_double();
        out.claims.exp = d >= 9.0e18 ? INT64_MAX : d <= -9.0e18 ? INT64_MIN : static_cast<std::int64_t>(d);
    } else {
        return Invalid("malformed token expiry");
    }
    if (const auto* r = obj.if_contains("refreshable"); r != nullptr && r->is_bool()) {
        out.claims.refreshable = r->as_bool();
    }
    out.signing_input = std::string(token.substr(0, d2));
    out.signature = std::move(*sig);
    return out;
}

bool VerifyTokenSignature(const ParsedToken& token, std::string_view key) {
    return ConstantTimeEquals(HmacSha256(key, token.signing_input), token.signature);
}

}  // namespace basalt::auth
