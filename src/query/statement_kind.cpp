// SPDX-License-Identifier: MIT
#include "query/statement_kind.hpp"

#include <cctype>
#include <string>

#include "core/text.hpp"

namespace basalt::query {

bool IsWriteQuery(std::string_view query) {
    const std::string upper = [&] {
        std::string u(TrimSpace(query));
        for (char& c : u) {
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        }
        return u;
    }();
    if (upper.rfind("SELECT", 0) == 0) {
        return false;
    }
    for (const char* prefix : {"INSERT", "CREATE", "UPDATE", "DELETE", "DROP", "DETACH", "ALTER", "REPLACE"}) {
        if (upper.rfind(prefix, 0) == 0) {
            return true;
        }
    }
    return false;
}

}  // namespace basalt::query
