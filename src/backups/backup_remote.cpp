// SPDX-License-Identifier: MIT
// BackupStore's bucket (settings.backups.s3): backups at the bucket's root, as PocketBase keeps them.
#include <algorithm>
#include <array>
#include <cerrno>

#include <fcntl.h>
#include <unistd.h>

#include "backups/backup_store.hpp"
#include "backups/file_ops.hpp"
#include "backups/names.hpp"
#include "core/random.hpp"

namespace basalt::backups {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kZipType = "application/zip";

}  // namespace

Result<std::vector<BackupInfo>> BackupStore::ListRemote(storage::Storage& remote) {
    BASALT_ASSIGN_OR_RETURN(const auto names, remote.ListFiles(""));
    std::vector<BackupInfo> out;
    for (const auto& name : names) {
        if (!ValidKey(name)) {
            continue;  // the bucket may hold other things; only backup names are listed
        }
        auto info = remote.Stat(name);
        if (!info) {
            if (info.error().code == ErrorCode::kNotFound) {
                continue;  // deleted since the listing
            }
            return info.error();
        }
        out.push_back({name, info->size, info->modified});
    }
    std::sort(out.begin(), out.end(), [](const BackupInfo& a, const BackupInfo& b) { return a.key < b.key; });
    return out;
}

Result<void> BackupStore::UploadRemote(storage::Storage& remote, const std::string& name, const ByteSource& bytes) {
    if (remote.Stat(name)) {
        return MakeError(ErrorCode::kConflict, "the backup exists");
    }
    BASALT_ASSIGN_OR_RETURN(auto upload, remote.Create(name, kZipType));
    BASALT_TRY(bytes.ForEachChunk([&](std::string_view chunk) { return upload->Write(chunk); }));
    return upload->Commit();
}

Result<void> BackupStore::PutFile(storage::Storage& remote, const std::string& name, const fs::path& file) {
    return UploadFile(remote, name, file, kZipType);
}

Result<fs::path> BackupStore::Fetch(std::string_view name, const fs::path& scratch) const {
    auto remote = Remote();
    if (!remote) {
        if (!Exists(name)) {
            return MakeError(ErrorCode::kNotFound, "no such backup");
        }
        return dir_ / std::string(name);
    }
    BASALT_ASSIGN_OR_RETURN(const auto file, Open(name));
    std::error_code ec;
    fs::create_directories(scratch, ec);
    const fs::path local =
        scratch / ("restore-download-" + SecureRandomString(12, "abcdefghijklmnopqrstuvwxyz0123456789") + ".zip");
    BASALT_TRY(
        DownloadFile([&](std::uint64_t at, std::span<char> out) { return file->ReadAt(at, out); }, file->Size(), local)
    );
    return local;
}

}  // namespace basalt::backups
