#pragma once

#include "cli/commands.hpp"
#include "config/job_spec.hpp"
#include "core/error.hpp"

namespace sluice::cli {

/// Prints "sluice: error: ..." with the error's context and returns its exit code.
int ReportError(const Error& error);

/// Applies command-line flags (-w, --chunk-rows, ...) on top of the job's settings.
void ApplyFlags(const RunFlags& flags, JobSpec& job);

/// Worker count: the flag or settings.workers, else the number of cores.
int ResolveWorkers(const JobSpec& job);

/// Plans and runs a job with progress and a summary; returns the process exit code.
int RunJob(JobSpec job, const RunFlags& flags);

}  // namespace sluice::cli
