// SPDX-License-Identifier: MIT
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "config/config.hpp"

namespace basalt::cli {

/// `basalt backup create|list|restore|verify` and what they were given.
struct BackupCommands {
    CLI::App* create = nullptr;
    CLI::App* list = nullptr;
    CLI::App* restore = nullptr;
    CLI::App* verify = nullptr;
    std::string name;  // create: the new backup's name; restore/verify: a backup's name or a zip's path

    bool Parsed() const { return create->parsed() || list->parsed() || restore->parsed() || verify->parsed(); }
};

void AddBackupCommands(CLI::App& cli, BackupCommands& c);

/// Runs the parsed backup command on the data directory of `config`; the process's exit code.
int RunBackupCommand(const config::AppConfig& config, const BackupCommands& c);

}  // namespace basalt::cli
