// SPDX-License-Identifier: MIT
// `basalt backup ...`: create and list work beside a running server; restore needs the data
// directory to itself (a running server restores through its API); verify only reads.
#include "cli/backup_command.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <vector>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "app/application.hpp"
#include "app/restore.hpp"
#include "backups/backup_store.hpp"
#include "backups/encryption.hpp"
#include "backups/names.hpp"
#include "core/clock.hpp"
#include "obs/log.hpp"

namespace basalt::cli {

namespace {

namespace fs = std::filesystem;

int Fail(const std::string& message) {
    obs::Flush();
    std::fprintf(stderr, "Error: %s\n", message.c_str());
    return 1;
}

// A progress bar on stderr when it is a terminal; nothing otherwise (logs and pipes stay clean).
backups::ExtractProgress ProgressBar(const char* what) {
    if (::isatty(STDERR_FILENO) == 0) {
        return {};
    }
    return [what, shown = -1](std::uint64_t done, std::uint64_t total) mutable {
        const int pct = total == 0 ? 100 : static_cast<int>(done * 100 / total);
        if (pct == shown) {
            return;
        }
        shown = pct;
        const int filled = pct * 30 / 100;
        std::fprintf(
            stderr,
            "\r%s [%.*s%.*s] %3d%% %.1f/%.1f MiB",
            what,
            filled,
            "##############################",
            30 - filled,
            "                              ",
            pct,
            static_cast<double>(done) / (1 << 20),
            static_cast<double>(total) / (1 << 20)
        );
        if (pct == 100) {
            std::fputc('\n', stderr);
        }
        std::fflush(stderr);
    };
}

// Where the backups are, for messages: the folder, or the bucket of settings.backups.s3.
std::string Place(const backups::BackupStore& store) {
    return store.Remote() ? std::string("the S3 bucket of settings.backups.s3") : store.Dir().string();
}

// The archive a command reads: a file of the folder or anywhere, or a backup of the bucket
// downloaded into <dir>/.tmp, removed when this goes out of scope.
class Archive {
public:
    Archive(fs::path path, bool downloaded) : path_(std::move(path)), downloaded_(downloaded) {}
    Archive(Archive&& other) noexcept
        : path_(std::move(other.path_)),
          downloaded_(std::exchange(other.downloaded_, false)) {}
    Archive& operator=(Archive&&) = delete;
    Archive(const Archive&) = delete;
    Archive& operator=(const Archive&) = delete;
    ~Archive() {
        if (downloaded_) {
            std::error_code ec;
            fs::remove(path_, ec);
        }
    }
    const fs::path& Path() const { return path_; }

private:
    fs::path path_;
    bool downloaded_;
};

// A backup's name (in <dir>/backups, or in the bucket of settings.backups.s3) or the path of a zip
// anywhere.
Result<Archive> ArchivePath(const backups::BackupStore& store, const std::string& arg) {
    if (arg.find('/') == std::string::npos && backups::ValidKey(arg)) {
        if (!store.Exists(arg)) {
            return MakeError(ErrorCode::kNotFound, "no backup named \"" + arg + "\" in " + Place(store));
        }
        BASALT_ASSIGN_OR_RETURN(fs::path file, store.Fetch(arg, store.Dir().parent_path() / ".tmp"));
        return Archive(std::move(file), store.Remote() != nullptr);
    }
    std::error_code ec;
    if (!fs::is_regular_file(arg, ec)) {
        return MakeError(ErrorCode::kNotFound, "no backup file " + arg);
    }
    return Archive(fs::absolute(arg, ec), false);
}

// The role locks a server holds (.lock-api, .lock-worker), held until destroyed: no server starts
// on the directory while a restore swaps its data.
class RoleLocks {
public:
    ~RoleLocks() {
        for (const int fd : fds_) {
            ::close(fd);
        }
    }
    Result<void> Take(const fs::path& dir) {
        for (const char* role : {"api", "worker"}) {
            const int fd = ::open((dir / (std::string(".lock-") + role)).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
            if (fd < 0) {
                return MakeError(ErrorCode::kUnavailable, "cannot open the lock files of " + dir.string());
            }
            fds_.push_back(fd);
            if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
                return MakeError(
                    ErrorCode::kConflict,
                    std::string("a basalt ") + role + " process is running on " + dir.string() +
                        ": restore through its API (POST /api/backups/{key}/restore, or the dashboard), or stop it "
                        "first"
                );
            }
        }
        return Ok();
    }

private:
    std::vector<int> fds_;
};

void PrintSummary(const backups::StagedRestore& staged) {
    std::printf(
        "%s: data.db (schema version %lld), %zu files, %.1f MiB",
        staged.source.c_str(),
        static_cast<long long>(staged.schema_version),
        staged.summary.files,
        static_cast<double>(staged.summary.bytes) / (1 << 20)
    );
    if (!staged.summary.skipped.empty()) {
        std::printf("; %zu entries skipped (not basalt data):", staged.summary.skipped.size());
        for (const auto& name : staged.summary.skipped) {
            std::printf(" %s", name.c_str());
        }
    }
    std::printf("\n");
}

int Create(backups::BackupStore& store, const std::string& requested, const std::string& encrypted) {
    std::string name = requested;
    if (name.empty()) {
        name = backups::DefaultName("", std::chrono::system_clock::now());
    } else if (!backups::ValidName(name)) {
        return Fail("invalid backup name \"" + name + "\" (expected [a-z0-9_-]+.zip, at most 150 characters)");
    } else if (store.Exists(name)) {
        return Fail("a backup named \"" + name + "\" exists already");
    }
    auto op = store.Begin(name);
    if (!op) {
        return Fail(op.error().message);
    }
    if (auto r = store.Create(*op); !r) {
        return Fail(r.error().message);
    }
    std::printf("Successfully created backup \"%s\"%s.\n", name.c_str(), encrypted.c_str());
    return 0;
}

int List(const backups::BackupStore& store) {
    auto list = store.List();
    if (!list) {
        return Fail(list.error().message);
    }
    for (const auto& b : *list) {
        std::printf(
            "%s\t%llu\t%s\n", b.key.c_str(), static_cast<unsigned long long>(b.size), FormatDateTime(b.modified).c_str()
        );
    }
    return 0;
}

int Verify(const config::AppConfig& config, const backups::BackupStore& store, const std::string& arg) {
    const auto zip = ArchivePath(store, arg);
    if (!zip) {
        return Fail(zip.error().message);
    }
    auto staged = app::PrepareRestore(config, zip->Path(), ProgressBar("verifying"), "verify-");
    if (!staged) {
        return Fail("the backup cannot be restored: " + staged.error().message);
    }
    backups::DiscardRestore(*staged);
    PrintSummary(*staged);
    std::printf("The backup is intact and restorable.\n");
    return 0;
}

int Restore(const config::AppConfig& config, backups::BackupStore& store, const std::string& arg) {
    const auto zip = ArchivePath(store, arg);
    if (!zip) {
        return Fail(zip.error().message);
    }
    const fs::path dir = fs::absolute(config.data_dir);
    RoleLocks locks;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (auto r = locks.Take(dir); !r) {
        return Fail(r.error().message);
    }
    auto op = store.Begin(fs::path(arg).filename().string());
    if (!op) {
        return Fail(op.error().message);
    }
    auto staged = app::PrepareRestore(config, zip->Path(), ProgressBar("restoring"));
    if (!staged) {
        return Fail("the backup cannot be restored: " + staged.error().message);
    }
    if (auto r = backups::SwapIn(dir, *staged); !r) {
        return Fail("the restore failed, the data is as it was: " + r.error().message);
    }
    // Opening the data finishes the restore (or, if it cannot open, puts the old data back).
    auto opened = app::DataDir::Open(config);
    if (!opened) {
        return Fail(opened.error().message);
    }
    PrintSummary(*staged);
    std::printf("Successfully restored \"%s\" into %s.\n", staged->source.c_str(), dir.string().c_str());
    return 0;
}

}  // namespace

void AddBackupCommands(CLI::App& cli, BackupCommands& c) {
    auto* backup = cli.add_subcommand("backup", "Manage backups (<dir>/backups)");
    backup->require_subcommand(1);
    c.create = backup->add_subcommand("create", "Make a backup now (online: a running server goes on)");
    c.create->add_option("name", c.name, "Its name, [a-z0-9_-]+.zip (default: pb_backup_<time>.zip)");
    c.list = backup->add_subcommand("list", "List the backups");
    c.restore = backup->add_subcommand(
        "restore", "Replace the data with a backup's (checked first; no server may run on the directory)"
    );
    c.restore->add_option("backup", c.name, "A backup's name in <dir>/backups, or the path of a zip")->required();
    c.verify = backup->add_subcommand("verify", "Check that a backup is intact and restorable (changes nothing)");
    c.verify->add_option("backup", c.name, "A backup's name in <dir>/backups, or the path of a zip")->required();
}

int RunBackupCommand(const config::AppConfig& config, const BackupCommands& c) {
    backups::BackupStore store(fs::absolute(config.data_dir));
    // A malformed key is refused before any command runs (restore and verify load it again).
    auto key = backups::LoadBackupKey(config.backup_key, config.backup_key_file);
    if (!key) {
        return Fail(key.error().message);
    }
    store.SetEncryptionKey(*key);
    // settings.backups.s3, as the server reads it: the backups are in that bucket.
    std::error_code ec;
    if (fs::exists(fs::absolute(config.data_dir) / "data.db", ec)) {
        auto dir = app::DataDir::Open(config);
        if (!dir) {
            return Fail(dir.error().message);
        }
        auto bucket = (*dir)->BackupBucket();
        if (!bucket) {
            return Fail("settings.backups.s3: " + bucket.error().message);
        }
        store.SetRemote(*bucket);
    }
    int rc = 0;
    if (c.list->parsed()) {
        rc = List(store);
    } else if (c.create->parsed()) {
        rc = Create(store, c.name, *key ? " (encrypted, key id " + (*key)->IdHex() + ")" : std::string());
    } else if (c.verify->parsed()) {
        rc = Verify(config, store, c.name);
    } else {
        rc = Restore(config, store, c.name);
    }
    obs::Flush();
    return rc;
}

}  // namespace basalt::cli
