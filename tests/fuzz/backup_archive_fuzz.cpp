// SPDX-License-Identifier: MIT
// Backup archives are outside input (uploaded through POST /api/backups/upload, or copied from
// anywhere for `basalt backup restore`): the zip reader (ExtractZip) and the decryption of
// encrypted archives (DecryptArchive) take any bytes without crashing, and what they accept stays
// inside the bounds they promise — every file written is a regular file inside the destination,
// never more bytes than the limit. The first byte picks the reader; the rest is the file.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "backups/archive.hpp"
#include "backups/encryption.hpp"

namespace {

namespace fs = std::filesystem;
constexpr std::uint64_t kMaxBytes = std::uint64_t{1} << 20;

const fs::path& Scratch() {
    static const fs::path dir = [] {
        fs::path d = fs::temp_directory_path() / ("basalt-archive-fuzz-" + std::to_string(::getpid()));
        fs::remove_all(d);
        fs::create_directories(d);
        return d;
    }();
    return dir;
}

// Every file under `dest` is a regular file (no link, no device) and the sum is within the limit.
void CheckExtracted(const fs::path& dest, std::uint64_t written) {
    std::uint64_t total = 0;
    for (const auto& e : fs::recursive_directory_iterator(dest)) {
        const auto st = e.symlink_status();
        if (fs::is_symlink(st) || (!fs::is_regular_file(st) && !fs::is_directory(st))) {
            std::abort();
        }
        if (fs::is_regular_file(st)) {
            total += fs::file_size(e.path());
        }
    }
    if (total > kMaxBytes || total != written) {
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace backups = basalt::backups;
    if (size == 0) {
        return 0;
    }
    const fs::path in = Scratch() / "in";
    const fs::path out = Scratch() / "out";
    fs::remove_all(out);
    {
        std::ofstream f(in, std::ios::binary | std::ios::trunc);
        f.write(reinterpret_cast<const char*>(data + 1), static_cast<std::streamsize>(size - 1));
    }
    if (data[0] % 2 == 0) {
        fs::create_directories(out);
        backups::ExtractLimits limits;
        limits.max_bytes = kMaxBytes;
        limits.max_entries = 64;
        if (auto r = backups::ExtractZip(in, out, limits); r) {
            CheckExtracted(out, r->bytes);
        }
    } else {
        static const auto key = backups::BackupKey::Parse(std::string(64, 'a'));
        if (!key) {
            std::abort();
        }
        if (auto n = backups::DecryptArchive(key->get(), in, out, kMaxBytes); n) {
            if (*n > kMaxBytes || fs::file_size(out) != *n) {
                std::abort();
            }
        } else if (fs::exists(out)) {
            std::abort();  // a refused archive leaves no output
        }
    }
    fs::remove_all(out);
    return 0;
}
