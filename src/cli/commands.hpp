#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace sluice::cli {

/// Options shared by `run` and `copy` that shape a run.
struct RunFlags {
    int workers = -1;                 ///< -1 = from the job (settings.workers)
    bool ignore_errors = false;
    int64_t chunk_rows = -1;
    int64_t min_rows_for_parallel = -1;
    bool dry_run = false;
    std::string progress = "auto";
    std::vector<std::string> sets;    ///< --set key.path=value
    bool resume = false;              ///< --resume [RUN]
    std::string resume_run;           ///< the RUN of --resume, when given
    bool restart = false;             ///< --restart
    bool yes = false;                 ///< --yes: a re-run that loads everything again is meant
    std::string summary_json;         ///< --summary-json FILE (or $SLUICE_SUMMARY_JSON)
    bool full_refresh = false;        ///< --full-refresh: incremental streams ignore their marks once
};

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

}  // namespace sluice::cli
