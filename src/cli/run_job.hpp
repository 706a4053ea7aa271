#pragma once

#include "cli/commands.hpp"
#include "config/job_spec.hpp"
#include "core/error.hpp"
#include "run/run_service.hpp"  // ApplyFlags, ResolveWorkers

namespace sluice::cli {

/// Prints "sluice: error: ..." with the error's context and returns its exit code.
int ReportError(const Error& error);

/// Runs a job through the run service (run/run_service.hpp) with progress, signals and a
/// summary; returns the process exit code.
int RunJob(JobSpec job, const RunFlags& flags);

}  // namespace sluice::cli
