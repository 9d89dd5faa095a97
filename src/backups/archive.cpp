// SPDX-License-Identifier: MIT
// Zip archives through libzip (Debian's libzip-dev); the only file that sees <zip.h>.
#include "backups/archive.hpp"

#include <cstdint>

#include <zip.h>

namespace basalt::backups {

namespace {

Error ZipError(zip_t* za, const std::string& what) {
    std::string msg = what;
    if (za != nullptr) {
        msg += ": ";
        msg += zip_strerror(za);
    }
    return MakeError(ErrorCode::kInternal, std::move(msg));
}

}  // namespace

Result<void> WriteZip(const std::filesystem::path& path, const std::vector<ArchiveEntry>& entries) {
    int err = 0;
    zip_t* za = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (za == nullptr) {
        zip_error_t e;
        zip_error_init_with_code(&e, err);
        std::string msg = "cannot create " + path.string() + ": " + zip_error_strerror(&e);
        zip_error_fini(&e);
        return MakeError(ErrorCode::kInternal, std::move(msg));
    }
    for (const ArchiveEntry& entry : entries) {
        zip_source_t* src = zip_source_file(za, entry.source.c_str(), 0, -1);
        if (src == nullptr) {
            Error e = ZipError(za, "cannot read " + entry.source.string());
            zip_discard(za);
            return e;
        }
        const zip_int64_t index = zip_file_add(za, entry.name.c_str(), src, ZIP_FL_ENC_UTF_8);
        if (index < 0) {
            zip_source_free(src);
            Error e = ZipError(za, "cannot add " + entry.name);
            zip_discard(za);
            return e;
        }
        // Level 1: most of the size gain of deflate (SQLite pages compress well) for a fraction of the CPU.
        zip_set_file_compression(za, static_cast<zip_uint64_t>(index), ZIP_CM_DEFLATE, 1);
    }
    if (zip_close(za) != 0) {
        Error e = ZipError(za, "cannot write " + path.string());
        zip_discard(za);
        return e;
    }
    return Ok();
}

Result<std::vector<std::string>> ZipEntryNames(const std::filesystem::path& path) {
    int err = 0;
    zip_t* za = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err);
    if (za == nullptr) {
        return MakeError(ErrorCode::kInvalidArgument, "not a zip archive");
    }
    std::vector<std::string> names;
    const zip_int64_t n = zip_get_num_entries(za, 0);
    for (zip_int64_t i = 0; i < n; ++i) {
        const char* name = zip_get_name(za, static_cast<zip_uint64_t>(i), 0);
        names.emplace_back(name != nullptr ? name : "");
    }
    zip_discard(za);
    return names;
}

}  // namespace basalt::backups
