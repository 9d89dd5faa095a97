// SPDX-License-Identifier: MIT
// Zip archives through libzip (Debian's libzip-dev); the only file that sees <zip.h>.
#include "backups/archive.hpp"

#include <array>
#include <cerrno>
#include <cstdint>
#include <set>
#include <string_view>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
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

Error Refused(std::string msg) {
    return MakeError(ErrorCode::kInvalidArgument, std::move(msg));
}

// Deflate inflates at most ~1032 bytes per compressed byte; a claim beyond this is a forged header.
constexpr std::uint64_t kMaxDeflateRatio = 1100;
constexpr std::uint64_t kDiskReserve = std::uint64_t{64} << 20;

// A relative name of plain parts: no absolute path, no `.`/`..`/empty part, no backslash.
bool SafeEntryName(std::string_view name) {
    if (name.empty() || name.front() == '/' || name.find('\\') != std::string_view::npos) {
        return false;
    }
    if (name.back() == '/') {
        name.remove_suffix(1);
    }
    while (true) {
        const auto slash = name.find('/');
        const std::string_view part = name.substr(0, slash);
        if (part.empty() || part == "." || part == "..") {
            return false;
        }
        if (slash == std::string_view::npos) {
            return true;
        }
        name.remove_prefix(slash + 1);
    }
}

bool Unpacked(std::string_view name) {
    return name == "data.db" || name == "auxiliary.db" || name.starts_with("storage/");
}

// One entry as checked before extraction.
struct Planned {
    zip_uint64_t index = 0;
    std::string name;
    std::uint64_t size = 0;
};

class ZipReader {
public:
    explicit ZipReader(zip_t* za) : za_(za) {}
    ~ZipReader() { zip_discard(za_); }
    ZipReader(const ZipReader&) = delete;
    ZipReader& operator=(const ZipReader&) = delete;

private:
    zip_t* za_;
};

// Checks every entry (see ExtractZip) and returns the ones to unpack.
Result<std::vector<Planned>> PlanExtraction(zip_t* za, const ExtractLimits& limits, ExtractSummary& summary) {
    const zip_int64_t count = zip_get_num_entries(za, 0);
    if (count < 0 || static_cast<std::uint64_t>(count) > limits.max_entries) {
        return Refused("the archive has more than " + std::to_string(limits.max_entries) + " entries");
    }
    std::vector<Planned> plan;
    std::set<std::string, std::less<>> seen;
    std::uint64_t total = 0;
    for (zip_uint64_t i = 0; i < static_cast<zip_uint64_t>(count); ++i) {
        zip_stat_t st;
        zip_stat_init(&st);
        if (zip_stat_index(za, i, 0, &st) != 0 || (st.valid & ZIP_STAT_NAME) == 0) {
            return Refused("entry " + std::to_string(i) + " cannot be read");
        }
        const std::string name = st.name;
        if (!SafeEntryName(name)) {
            return Refused("entry \"" + name + "\" has an unsafe name (absolute, or a \"..\" part)");
        }
        zip_uint8_t opsys = 0;
        zip_uint32_t attributes = 0;
        if (zip_file_get_external_attributes(za, i, 0, &opsys, &attributes) == 0 && opsys == ZIP_OPSYS_UNIX) {
            const auto mode = static_cast<mode_t>(attributes >> 16);
            if (mode != 0 && !S_ISREG(mode) && !S_ISDIR(mode)) {
                return Refused("entry \"" + name + "\" is a symlink or a special file");
            }
        }
        std::string key = name;
        if (!key.empty() && key.back() == '/') {
            key.pop_back();
        }
        if (!seen.insert(key).second) {
            return Refused("entry \"" + name + "\" appears twice");
        }
        if (name.back() == '/') {
            continue;  // a folder: made as its files need it
        }
        if ((st.valid & ZIP_STAT_COMP_METHOD) != 0 && st.comp_method != ZIP_CM_STORE &&
            st.comp_method != ZIP_CM_DEFLATE) {
            return Refused("entry \"" + name + "\" uses a compression method other than store or deflate");
        }
        if ((st.valid & ZIP_STAT_SIZE) == 0 || (st.valid & ZIP_STAT_COMP_SIZE) == 0) {
            return Refused("entry \"" + name + "\" has no size");
        }
        if (st.size > st.comp_size * kMaxDeflateRatio + 4096) {
            return Refused(
                "entry \"" + name + "\" claims " + std::to_string(st.size) + " bytes from " +
                std::to_string(st.comp_size) + " compressed: more than deflate can inflate"
            );
        }
        if (!Unpacked(name)) {
            summary.skipped.push_back(name);
            continue;
        }
        total += st.size;
        if (total > limits.max_bytes) {
            return Refused(
                "the archive inflates to more than " + std::to_string(limits.max_bytes) +
                " bytes (the free disk space, or the limit)"
            );
        }
        plan.push_back({i, name, st.size});
    }
    return plan;
}

Result<void> WriteEntry(
    zip_t* za,
    const Planned& entry,
    const std::filesystem::path& dest,
    std::uint64_t& done,
    std::uint64_t total,
    const ExtractProgress& progress
) {
    const std::filesystem::path target = dest / entry.name;
    std::error_code ec;
    std::filesystem::create_directories(target.parent_path(), ec);
    if (ec) {
        return MakeError(ErrorCode::kInternal, "cannot create " + target.parent_path().string() + ": " + ec.message());
    }
    const int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        return MakeError(
            ErrorCode::kInternal,
            "cannot create " + target.string() + ": " + std::error_code(errno, std::generic_category()).message()
        );
    }
    zip_file_t* file = zip_fopen_index(za, entry.index, 0);
    if (file == nullptr) {
        ::close(fd);
        return Refused("entry \"" + entry.name + "\" cannot be opened: " + zip_strerror(za));
    }
    std::array<char, std::size_t{64} * 1024> buf{};
    std::uint64_t written = 0;
    Result<void> result = Ok();
    while (result) {
        const zip_int64_t n = zip_fread(file, buf.data(), buf.size());
        if (n < 0) {
            result = Refused("entry \"" + entry.name + "\" is damaged: " + zip_file_strerror(file));
            break;
        }
        if (n == 0) {
            break;
        }
        written += static_cast<std::uint64_t>(n);
        if (written > entry.size) {
            result = Refused("entry \"" + entry.name + "\" inflates beyond its declared size");
            break;
        }
        for (zip_int64_t off = 0; off < n;) {
            const ssize_t w = ::write(fd, buf.data() + off, static_cast<std::size_t>(n - off));
            if (w < 0 && errno == EINTR) {
                continue;
            }
            if (w <= 0) {
                result = MakeError(
                    ErrorCode::kUnavailable,
                    "cannot write " + target.string() + ": " + std::error_code(errno, std::generic_category()).message()
                );
                break;
            }
            off += w;
        }
        done += static_cast<std::uint64_t>(n);
        if (progress) {
            progress(done, total);
        }
    }
    zip_fclose(file);
    ::close(fd);
    if (result && written != entry.size) {
        result = Refused("entry \"" + entry.name + "\" is shorter than its declared size");
    }
    return result;
}

}  // namespace

Result<ExtractSummary> ExtractZip(
    const std::filesystem::path& zip,
    const std::filesystem::path& dest,
    const ExtractLimits& limits,
    const ExtractProgress& progress
) {
    int err = 0;
    zip_t* za = zip_open(zip.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err);
    if (za == nullptr) {
        return Refused("not a complete zip archive (damaged or truncated)");
    }
    const ZipReader reader(za);
    ExtractLimits bounded = limits;
    if (bounded.max_bytes == 0) {
        struct statvfs vfs {};
        if (::statvfs(dest.c_str(), &vfs) != 0) {
            return MakeError(ErrorCode::kInternal, "cannot read the free space of " + dest.string());
        }
        const std::uint64_t free = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
        bounded.max_bytes = free > kDiskReserve ? free - kDiskReserve : 0;
    }
    ExtractSummary summary;
    BASALT_ASSIGN_OR_RETURN(const auto plan, PlanExtraction(za, bounded, summary));
    std::uint64_t total = 0;
    for (const Planned& entry : plan) {
        total += entry.size;
    }
    std::uint64_t done = 0;
    for (const Planned& entry : plan) {
        BASALT_TRY(WriteEntry(za, entry, dest, done, total, progress));
        ++summary.files;
    }
    summary.bytes = done;
    const int dir_fd = ::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0 || ::syncfs(dir_fd) != 0) {
        if (dir_fd >= 0) {
            ::close(dir_fd);
        }
        return MakeError(ErrorCode::kInternal, "cannot sync " + dest.string());
    }
    ::close(dir_fd);
    return summary;
}

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
