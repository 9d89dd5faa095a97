// SPDX-License-Identifier: MIT
#include "core/json.hpp"

#include <cmath>

#include <boost/json/parse.hpp>

namespace basalt {

boost::json::value ParseJson(std::string_view text, boost::system::error_code& ec) {
    boost::json::parse_options opts;
    opts.max_depth = kMaxJsonDepth;
    return boost::json::parse(text, ec, {}, opts);
}

bool AllFinite(const boost::json::value& v) {
    switch (v.kind()) {
        case boost::json::kind::double_:
            return std::isfinite(v.get_double());
        case boost::json::kind::array:
            for (const auto& e : v.get_array()) {
                if (!AllFinite(e)) {
                    return false;
                }
            }
            return true;
        case boost::json::kind::object:
            for (const auto& [k, e] : v.get_object()) {
                if (!AllFinite(e)) {
                    return false;
                }
            }
            return true;
        default:
            return true;
    }
}

}  // namespace basalt
