// SPDX-License-Identifier: MIT
// Restore: a backup unpacked beside the data and checked, then swapped in by renames under a
// journal, so a crash or a failed open at any point leaves (or puts back) one whole data set.
#include "backups/restore.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <fstream>
#include <optional>
#include <string_view>
#include <system_error>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "backups/file_ops.hpp"
#include "core/random.hpp"
#include "db/sqlite/sqlite_database.hpp"
#include "obs/log.hpp"

namespace basalt::backups {

namespace fs = std::filesystem;

namespace {

// What a restore replaces: the databases with their side files, and the local file storage.
constexpr std::array<std::string_view, 9> kDataEntries = {
    "data.db",
    "data.db-wal",
    "data.db-shm",
    "data.db-journal",
    "auxiliary.db",
    "auxiliary.db-wal",
    "auxiliary.db-shm",
    "auxiliary.db-journal",
    "storage",
};

constexpr std::string_view kJournal = "restore.journal";
constexpr std::string_view kStaging = "restore-";
constexpr std::string_view kOld = "restore-old-";
constexpr std::string_view kFailed = "restore-failed-";

// The journal's states, in the order a swap goes through them.
constexpr std::string_view kMovingOut = "moving-out";  // the data in use moves to the old folder
constexpr std::string_view kMovingIn = "moving-in";    // all of it is there; the restored data moves in
constexpr std::string_view kSwapped = "swapped";       // done; the old data stays until the first open

struct Journal {
    std::string state;
    std::string staged;  // folder names under .tmp
    std::string old;
};

fs::path TmpDir(const fs::path& data_dir) {
    return data_dir / ".tmp";
}

std::string RandomSuffix() {
    return SecureRandomString(10, "abcdefghijklmnopqrstuvwxyz0123456789");
}

// Written to a temp file, fsynced, renamed over the journal: a crash leaves the old or the new one.
Result<void> WriteJournal(const fs::path& data_dir, const Journal& j) {
    const fs::path tmp = TmpDir(data_dir) / (std::string(kJournal) + ".new");
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << j.state << '\n' << j.staged << '\n' << j.old << '\n';
        out.flush();
        if (!out) {
            return MakeError(ErrorCode::kInternal, "cannot write " + tmp.string());
        }
    }
    const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) {
        if (fd >= 0) {
            ::close(fd);
        }
        return ErrnoError("fsync " + tmp.string());
    }
    ::close(fd);
    if (::rename(tmp.c_str(), (TmpDir(data_dir) / kJournal).c_str()) != 0) {
        return ErrnoError("rename the restore journal");
    }
    return SyncPath(TmpDir(data_dir), true);
}

std::optional<Journal> ReadJournal(const fs::path& data_dir) {
    std::ifstream in(TmpDir(data_dir) / kJournal);
    Journal j;
    if (!in || !std::getline(in, j.state) || !std::getline(in, j.staged) || !std::getline(in, j.old)) {
        return std::nullopt;
    }
    // Names this code wrote: plain folder names under .tmp, nothing else is followed.
    const auto plain = [](const std::string& name, std::string_view prefix) {
        return name.starts_with(prefix) && name.find('/') == std::string::npos && name.find("..") == std::string::npos;
    };
    if (!plain(j.staged, kStaging) || !plain(j.old, kOld)) {
        return std::nullopt;
    }
    return j;
}

bool Exists(const fs::path& p) {
    std::error_code ec;
    return fs::exists(fs::symlink_status(p, ec));
}

// Moves every data entry present in `from` to `to`.
Result<void> MoveEntries(const fs::path& from, const fs::path& to) {
    for (const std::string_view name : kDataEntries) {
        const fs::path src = from / name;
        if (!Exists(src)) {
            continue;
        }
        if (::rename(src.c_str(), (to / name).c_str()) != 0) {
            return ErrnoError("move " + src.string());
        }
    }
    BASALT_TRY(SyncPath(from, true));
    return SyncPath(to, true);
}

// `.tmp/restore.lock`, held while a swap runs and while a starting process reads the journal, so
// no one rolls back a swap another process is making.
class SwapLock {
public:
    explicit SwapLock(const fs::path& data_dir) {
        fd_ = ::open((TmpDir(data_dir) / "restore.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd_ >= 0) {
            while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
            }
        }
    }
    ~SwapLock() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    SwapLock(const SwapLock&) = delete;
    SwapLock& operator=(const SwapLock&) = delete;

private:
    int fd_ = -1;
};

void RemoveQuietly(const fs::path& p) {
    std::error_code ec;
    fs::remove_all(p, ec);
}

// Puts the old data back, whatever state the journal is in, then removes the journal.
Result<void> RollBack(const fs::path& data_dir, const Journal& j) {
    const fs::path tmp = TmpDir(data_dir);
    const fs::path old = tmp / j.old;
    if (j.state != kMovingOut) {
        // Everything in use had moved out: what is in the data directory now is the restored data.
        const fs::path failed = tmp / (std::string(kFailed) + RandomSuffix());
        std::error_code ec;
        fs::create_directories(failed, ec);
        if (ec) {
            return MakeError(ErrorCode::kInternal, "cannot create " + failed.string() + ": " + ec.message());
        }
        BASALT_TRY(MoveEntries(data_dir, failed));
    }
    BASALT_TRY(MoveEntries(old, data_dir));
    std::error_code ec;
    fs::remove(tmp / kJournal, ec);
    BASALT_TRY(SyncPath(tmp, true));
    RemoveQuietly(old);
    RemoveQuietly(tmp / j.staged);
    return Ok();
}

// ExtractZip, after decrypting an encrypted archive into `<dest>.zip` (removed once extracted; a
// crash's leftover goes with the staging folders).
Result<ExtractSummary> ExtractArchive(const fs::path& zip, const fs::path& dest, const RestoreOptions& options) {
    if (!IsEncryptedArchive(zip)) {
        return ExtractZip(zip, dest, options.limits, options.progress);
    }
    const fs::path plain = dest.string() + ".zip";
    BASALT_TRY(DecryptArchive(options.key.get(), zip, plain, options.limits.max_bytes));
    auto extracted = ExtractZip(plain, dest, options.limits, options.progress);
    RemoveQuietly(plain);
    return extracted;
}

}  // namespace

Result<StagedRestore> StageRestore(const fs::path& data_dir, const fs::path& zip, const RestoreOptions& options) {
    StagedRestore staged;
    staged.source = zip.filename().string();
    staged.dir = TmpDir(data_dir) / (options.prefix + RandomSuffix());
    std::error_code ec;
    fs::create_directories(staged.dir, ec);
    if (ec) {
        return MakeError(ErrorCode::kInternal, "cannot create " + staged.dir.string() + ": " + ec.message());
    }
    auto checked = [&]() -> Result<void> {
        BASALT_ASSIGN_OR_RETURN(staged.summary, ExtractArchive(zip, staged.dir, options));
        if (!Exists(staged.dir / "data.db")) {
            return MakeError(ErrorCode::kInvalidArgument, "the archive has no data.db");
        }
        auto data = db::CheckDatabaseFile((staged.dir / "data.db").string());
        if (!data) {
            return MakeError(ErrorCode::kInvalidArgument, "data.db: " + data.error().message);
        }
        if (!data->migration_version) {
            const bool pocketbase =
                std::find(data->tables.begin(), data->tables.end(), "_collections") != data->tables.end();
            if (pocketbase && options.accept_pocketbase) {
                staged.pocketbase = true;  // its auxiliary.db (PocketBase's logs) is not carried over
                return Ok();
            }
            return MakeError(
                ErrorCode::kInvalidArgument,
                pocketbase
                    ? "data.db is a PocketBase database, not basalt's: bring it in with `basalt import pocketbase`"
                    : "data.db is not a basalt database"
            );
        }
        if (*data->migration_version > options.known_version) {
            return MakeError(
                ErrorCode::kInvalidArgument,
                "data.db was made by a newer basalt (schema version " + std::to_string(*data->migration_version) +
                    ", this build knows up to " + std::to_string(options.known_version) + ")"
            );
        }
        staged.schema_version = *data->migration_version;
        if (Exists(staged.dir / "auxiliary.db")) {
            if (auto aux = db::CheckDatabaseFile((staged.dir / "auxiliary.db").string()); !aux) {
                return MakeError(ErrorCode::kInvalidArgument, "auxiliary.db: " + aux.error().message);
            }
        }
        return Ok();
    }();
    if (!checked) {
        DiscardRestore(staged);
        return checked.error();
    }
    return staged;
}

void DiscardRestore(const StagedRestore& staged) {
    RemoveQuietly(staged.dir);
}

Result<void> SwapIn(const fs::path& data_dir, const StagedRestore& staged) {
    const SwapLock lock(data_dir);
    Journal j{std::string(kMovingOut), staged.dir.filename().string(), std::string(kOld) + RandomSuffix()};
    const fs::path old = TmpDir(data_dir) / j.old;
    std::error_code ec;
    fs::create_directories(old, ec);
    if (ec) {
        return MakeError(ErrorCode::kInternal, "cannot create " + old.string() + ": " + ec.message());
    }
    BASALT_TRY(WriteJournal(data_dir, j));
    auto swapped = [&]() -> Result<void> {
        BASALT_TRY(MoveEntries(data_dir, old));
        j.state = kMovingIn;
        BASALT_TRY(WriteJournal(data_dir, j));
        BASALT_TRY(MoveEntries(staged.dir, data_dir));
        j.state = kSwapped;
        return WriteJournal(data_dir, j);
    }();
    if (!swapped) {
        obs::Error("restore: the swap failed, putting the old data back", {{"error", swapped.error().message}});
        if (auto back = RollBack(data_dir, j); !back) {
            obs::Error("restore: putting the old data back failed", {{"error", back.error().message}});
        }
        return swapped;
    }
    obs::Info("restore: data swapped in", {{"backup", staged.source}});
    return Ok();
}

RestoreState RecoverRestore(const fs::path& data_dir) {
    std::error_code ec;
    if (!fs::is_directory(TmpDir(data_dir), ec)) {
        return RestoreState::kNone;
    }
    const SwapLock lock(data_dir);
    const auto journal = ReadJournal(data_dir);
    if (!journal) {
        fs::remove(TmpDir(data_dir) / kJournal, ec);  // unreadable: written by nothing this code knows
        return RestoreState::kNone;
    }
    if (journal->state == kSwapped) {
        return RestoreState::kSwapped;
    }
    obs::Warn("restore: an interrupted restore is rolled back", {{"state", journal->state}});
    if (auto back = RollBack(data_dir, *journal); !back) {
        obs::Error("restore: the rollback failed", {{"error", back.error().message}});
    }
    return RestoreState::kNone;
}

void RemoveRestoreLeftovers(const fs::path& data_dir) {
    const fs::path tmp = TmpDir(data_dir);
    std::error_code ec;
    if (!fs::is_directory(tmp, ec)) {
        return;
    }
    const SwapLock lock(data_dir);
    if (Exists(tmp / kJournal)) {
        return;  // a swap awaits its first open: its folders are still needed
    }
    for (const auto& entry : fs::directory_iterator(tmp, ec)) {
        if (entry.path().filename().string().starts_with(kStaging)) {
            RemoveQuietly(entry.path());
        }
    }
}

void FinishRestore(const fs::path& data_dir) {
    const SwapLock lock(data_dir);
    const auto journal = ReadJournal(data_dir);
    if (!journal) {
        return;
    }
    std::error_code ec;
    fs::remove(TmpDir(data_dir) / kJournal, ec);
    (void)SyncPath(TmpDir(data_dir), true);
    RemoveQuietly(TmpDir(data_dir) / journal->old);
    RemoveQuietly(TmpDir(data_dir) / journal->staged);
    obs::Info("restore: finished, the old data removed");
}

Result<void> RollBackRestore(const fs::path& data_dir) {
    const SwapLock lock(data_dir);
    const auto journal = ReadJournal(data_dir);
    if (!journal) {
        return MakeError(ErrorCode::kNotFound, "no restore to roll back");
    }
    return RollBack(data_dir, *journal);
}

}  // namespace basalt::backups
