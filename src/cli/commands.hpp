#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "run/run_flags.hpp"

namespace sluice::cli {

/// Options shared by `run` and `copy` that shape a run (defined by the run service).
using sluice::RunFlags;

/// Adds the run flags to a sub-command.
void AddRunFlags(CLI::App& app, RunFlags& flags);
/// Reads --resume/--restart after parsing; throws Error(kUsage) when both are given.
void ReadResumeFlag(const CLI::App& app, RunFlags& flags);

/// Each sub-command registers itself and returns the callback's exit code through `exit_code`.
void RegisterRun(CLI::App& app, int& exit_code);
void RegisterPlan(CLI::App& app, int& exit_code);
void RegisterValidate(CLI::App& app, int& exit_code);
void RegisterCopy(CLI::App& app, int& exit_code);
void RegisterRuns(CLI::App& app, int& exit_code);
void RegisterStatus(CLI::App& app, int& exit_code);
void RegisterStop(CLI::App& app, int& exit_code);
void RegisterRejects(CLI::App& app, int& exit_code);
void RegisterCheckpoints(CLI::App& app, int& exit_code);
void RegisterServe(CLI::App& app, int& exit_code);
void RegisterWorker(CLI::App& app, int& exit_code);

}  // namespace sluice::cli
