#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <stop_token>
#include <string>
#include <vector>

#include "config/job_spec.hpp"
#include "core/error.hpp"
#include "observe/progress.hpp"
#include "observe/reporter.hpp"
#include "plan/plan.hpp"

namespace sluice {

/// How a run executes a plan (from the job's settings and the command line).
struct RunOptions {
    int workers = 1;
    bool continue_on_error = false;     ///< on_error: continue / --ignore-errors
    int64_t max_rejects = 0;            ///< per partition
    std::string rejects_dir;            ///< absolute directory for <stream>.jsonl reject files
    RetrySpec retry;
    size_t queue_batches = 4;           ///< depth of the read→write queue of each pipeline
    size_t queue_bytes = 64u << 20;     ///< byte bound of that queue
    std::stop_token stop;               ///< graceful stop: no new partitions, in-flight roll back
    std::stop_token abort;              ///< second signal: same, without waiting for anything
    /// The run ledger, when the run keeps one: every worker opens its own connection to it.
    std::string ledger_url;
    std::string run_id;
    std::string worker;                 ///< host:pid, recorded with each claimed partition
    double lease_seconds = 60;          ///< lease of a running partition, renewed at a third
    double progress_flush_seconds = 2;  ///< how often running partitions' counts reach the ledger
    /// The run continues an earlier one (--resume): sinks keep what its committed partitions
    /// wrote (Sink::Resume), and partitions marked committed in the plan are skipped.
    bool resuming = false;
    /// A distributed run (state/ledger_distributed.cpp): this process is one of any number
    /// working on it. Partitions are claimed from the ledger (largest first, SKIP LOCKED)
    /// instead of handed out here, leases are kept on the ledger server's clock and respected,
    /// each stream is prepared and completed once under its `streams` row lock by whichever
    /// process gets there, and a failure under on_error: stop stops every process through the
    /// ledger's stop flag. The workers end when every stream is done (or on a stop).
    bool distributed = false;
    double poll_seconds = 0.5;          ///< distributed: how often an idle worker looks again
    /// --restart: the abandoned run whose committed rows each stream deletes (by their undo
    /// tokens) before its first partition loads, so a restart loads every row exactly once.
    std::string undo_run;
    /// Plans stream `index` of the plan (one with StreamPlan::plan_when_ready) when the streams
    /// it runs after have finished, with its partitions recorded in the ledger (or, resuming,
    /// taken from it), and returns the plan to run. Called from a worker thread, once per
    /// stream; throwing fails the stream. Unset: such streams run as planned at the start.
    std::function<StreamPlan(size_t index)> plan_stream;
};

enum class RunStatus { kSucceeded, kFailed, kPartial, kStopped };

const char* RunStatusName(RunStatus status);
ExitCode ExitCodeFor(RunStatus status);

/// Where the rows of a stream (or of one of its tenants) went in one invocation. Every row
/// read ends in exactly one place: read = written + rejected + filtered + rolled_back
/// (Reconciles). A merge splits written into inserted + updated + unchanged + superseded and
/// counts the target rows it deleted apart (they were never read); appends and replaces
/// insert every row they write.
struct RowCounts {
    int64_t read = 0;
    int64_t written = 0;      ///< present in the target at the end of the run
    int64_t rejected = 0;     ///< set aside (reject file and ledger) by committed partitions
    int64_t filtered = 0;     ///< dropped on purpose by a transform's filter
    /// Committed, then removed again because their tenant failed (not in written).
    int64_t rolled_back = 0;
    int64_t inserted = 0;
    int64_t updated = 0;
    int64_t unchanged = 0;
    /// A merge's rows that a later row with the same key replaced before they landed.
    int64_t superseded = 0;
    int64_t deleted = 0;      ///< target rows a merge removed: not part of the identity

    bool Reconciles() const {
        return read == written + rejected + filtered + rolled_back &&
               written == inserted + updated + unchanged + superseded;
    }
    RowCounts& operator+=(const RowCounts& other);
};

/// Outcome of one stream.
struct StreamSummary {
    std::string name;
    std::string status;                 ///< succeeded | failed | partial | stopped | skipped
    RowCounts rows;
    /// Per tenant, for streams over tenants (the stream's rows are their sum).
    std::map<std::string, RowCounts> tenants;
    /// Rows that earlier invocations of a resumed run committed and that a failed tenant's
    /// rollback removed in this one: they left the target, but this invocation never read them.
    int64_t rows_rolled_back_earlier = 0;
    double seconds = 0;
    size_t partitions = 0;
    size_t partitions_committed = 0;
    size_t partitions_failed = 0;
    std::string error;                  ///< first error, with context
    std::map<std::string, std::string> failed_tenants;  ///< tenant -> first error
    /// Replace with failed tenants: tenant -> its previous rows kept from the old table.
    std::map<std::string, int64_t> carried_over_tenants;
    std::string rejects_file;           ///< where rejected rows went, when any
    /// Rows this run wrote to rejects_file: rows_rejected plus those of failed partitions,
    /// which the user needs to see although their partitions rolled back.
    int64_t rows_in_rejects_file = 0;
    bool passthrough = false;
};

/// Outcome of a run.
struct RunSummary {
    RunStatus status = RunStatus::kSucceeded;
    double seconds = 0;
    std::vector<StreamSummary> streams;
    std::string error;                  ///< the first error that failed the run
    ErrorKind error_kind = ErrorKind::kInternal;
};

/// Executes a plan with W workers: largest partitions first, streams in `after` order, each
/// partition in one target transaction, retries for transient errors, rejects for bad rows.
/// Never throws for partition failures (they are in the summary); throws Error only when the
/// run cannot start.
RunSummary RunPlan(Plan& plan, const RunOptions& options, ProgressTracker& tracker,
                   ProgressReporter& reporter);

/// The summary table printed after a run (per stream: rows read/written/rejected, seconds,
/// rows/s, status; failed tenants and errors below it).
std::string RenderSummary(const RunSummary& summary);

/// The summary as JSON: status, seconds, error and, per stream, its RowCounts (and each
/// tenant's); the `run_finished` event and `--summary-json` carry it.
nlohmann::json SummaryJson(const RunSummary& summary);

}  // namespace sluice
