// SPDX-License-Identifier: MIT
#include "support/temp_dir.hpp"

#include <cstdlib>
#include <string>

namespace basalt::testing {

TempDir::TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "basalt-test-XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    path_ = p != nullptr ? std::filesystem::path(p) : std::filesystem::path(tmpl);
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

}  // namespace basalt::testing
