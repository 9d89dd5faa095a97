// SPDX-License-Identifier: MIT
#include "schema/pattern.hpp"

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <re2/re2.h>

namespace basalt::schema {

namespace {

constexpr std::size_t kMaxCachedPatterns = 256;
// RE2's budget for one compiled program (its DFA cache is part of it): a pattern that needs more is
// refused at save instead of growing without bound.
constexpr std::int64_t kMaxPatternMemory = std::int64_t{8} << 20;

std::shared_ptr<const re2::RE2> Compile(std::string_view pattern) {
    re2::RE2::Options options;
    options.set_log_errors(false);
    options.set_max_mem(kMaxPatternMemory);
    return std::make_shared<const re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
}

class PatternCache {
public:
    std::shared_ptr<const re2::RE2> Get(std::string_view pattern) {
        {
            std::lock_guard lock(mu_);
            if (auto it = compiled_.find(std::string(pattern)); it != compiled_.end()) {
                return it->second;
            }
        }
        auto re = Compile(pattern);  // outside the lock: compiling may take a while
        std::lock_guard lock(mu_);
        if (compiled_.size() >= kMaxCachedPatterns) {
            compiled_.clear();
        }
        compiled_.emplace(std::string(pattern), re);
        return re;
    }

private:
    std::mutex mu_;
    std::unordered_map<std::string, std::shared_ptr<const re2::RE2>> compiled_;
};

PatternCache& Cache() {
    static PatternCache cache;
    return cache;
}

}  // namespace

std::optional<std::string> PatternError(std::string_view pattern) {
    const auto re = Compile(pattern);
    if (re->ok()) {
        return std::nullopt;
    }
    return re->error().empty() ? std::string("invalid regular expression") : re->error();
}

bool PatternMatches(std::string_view pattern, std::string_view text) {
    const auto re = Cache().Get(pattern);
    return re->ok() && re2::RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *re);
}

}  // namespace basalt::schema
