#pragma once

#include "cli/commands.hpp"
#include "config/job_spec.hpp"
#include "core/error.hpp"
#include "run/run_service.hpp"  // ApplyFlags, ResolveWorkers
#include "run/worker_service.hpp"

namespace sluice::cli {

/// Prints "sluice: error: ..." with the error's context and returns its exit code.
int ReportError(const Error& error);

/// Runs a job through the run service (run/run_service.hpp) with progress, signals and a
/// summary; returns the process exit code.
int RunJob(JobSpec job, const RunFlags& flags);

/// Runs `sluice worker` (run/worker_service.hpp) with progress and signals; prints this
/// worker's share of each run it joined; returns the process exit code.
int RunWorker(const WorkerFlags& flags, const std::string& progress, const std::string& summary_json);

}  // namespace sluice::cli
