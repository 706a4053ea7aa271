#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <vector>

#include "sluice/job.hpp"

namespace sluice::api {

enum class RunStatus { kSucceeded, kFailed, kPartial, kStopped };

/// "succeeded", "failed", "partial", "stopped".
const char* RunStatusName(RunStatus status) noexcept;

/// Something that happened during a run, for RunOptions::on_event.
struct Event {
    /// run_started | progress | warning | partition_failed | partition_retry |
    /// stream_finished | run_finished (others may be added in minor releases: ignore
    /// unknown kinds).
    std::string kind;
    std::string run_id;
    std::string stream;    ///< the stream it is about, when one
    std::string message;   ///< warnings and errors, with the stream, partition and node named
    /// Totals of the run so far (progress, run_finished) or of the stream (stream_finished).
    int64_t rows_read = 0;
    int64_t rows_written = 0;
    int64_t rows_rejected = 0;
    size_t partitions_done = 0;
    size_t partitions_total = 0;
    std::string json;      ///< the event as the engine's JSON line (`--progress json`)
};

/// How Run runs a job; the defaults are those of `sluice run JOB`.
struct RunOptions {
    int workers = 0;                 ///< 0 = settings.workers, else the number of cores
    bool resume = false;             ///< continue an unfinished run (`--resume`)
    bool restart = false;            ///< abandon it and start over (`--restart`)
    bool ignore_errors = false;      ///< on_error: continue (`--ignore-errors`)
    std::vector<std::string> set;    ///< `--set key.path=value` overrides
    /// Called from the calling thread and from worker threads (never two at a time): must be
    /// quick and must not throw.
    std::function<void(const Event&)> on_event;
    double progress_seconds = 1.0;   ///< how often a `progress` event comes
    /// A stop request: no new partitions start, in-flight ones roll back, the run ends
    /// kStopped and can be resumed.
    std::stop_token stop;
};

struct StreamResult {
    std::string name;
    std::string status;              ///< succeeded | failed | partial | stopped | skipped
    int64_t rows_read = 0;
    int64_t rows_written = 0;
    int64_t rows_rejected = 0;
    int64_t rows_filtered = 0;
    std::string error;
};

struct RunResult {
    RunStatus status = RunStatus::kSucceeded;
    std::string run_id;
    bool resumed = false;
    int64_t rows_read = 0;
    int64_t rows_written = 0;
    int64_t rows_rejected = 0;
    std::string error;               ///< the first error, when it failed
    std::vector<StreamResult> streams;
    int exit_code = 0;               ///< what `sluice run` would exit with
};

/// A run that could not start: an invalid job (exit_code 2, the message names each problem),
/// an unreachable ledger, an unfinished run without resume/restart.
class RunError : public std::runtime_error {
public:
    RunError(const std::string& message, int exit_code) : std::runtime_error(message), exit_code_(exit_code) {}
    int exit_code() const noexcept { return exit_code_; }

private:
    int exit_code_;
};

/// Runs a job like `sluice run`: plans it, records it in its ledger, loads every partition
/// on the job's workers (parallel, bounded memory, retries, rejects, exactly-once where the
/// target holds the ledger) and returns when it ended. Partition failures are in the result;
/// throws RunError when the run cannot start. Thread-safe for different jobs. Signals are
/// left to the caller (use `stop`).
RunResult Run(const Job& job, const RunOptions& options = {});

/// The same for a job file.
RunResult RunFile(const std::string& path, const RunOptions& options = {});

}  // namespace sluice::api

namespace sluice {
using api::Run;
}  // namespace sluice
