// SPDX-License-Identifier: MIT
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "config/config.hpp"

namespace basalt::cli {

/// `basalt restore --from DIR [--to TIME] [--list]`: a database rebuilt from a point-in-time replica
/// (`serve --replicate DIR`) into --dir.
struct ReplicaRestoreCommand {
    CLI::App* cmd = nullptr;
    std::string from;
    std::string to;  // empty or "latest": everything the replica holds
    bool list = false;
};

void AddReplicaRestoreCommand(CLI::App& cli, ReplicaRestoreCommand& c);

/// Runs it; the process's exit code.
int RunReplicaRestore(const config::AppConfig& config, const ReplicaRestoreCommand& c);

}  // namespace basalt::cli
