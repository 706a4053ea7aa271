#pragma once

#include <functional>
#include <stop_token>
#include <string>

#include <nlohmann/json.hpp>

#include "config/job_spec.hpp"
#include "engine/run.hpp"
#include "observe/progress.hpp"
#include "observe/reporter.hpp"
#include "plan/plan.hpp"
#include "run/run_flags.hpp"
#include "run/incremental_marks.hpp"
#include "run/run_ledger.hpp"

namespace sluice {

/// How the caller controls a run in flight.
struct RunControl {
    std::stop_token stop;   ///< graceful stop: no new partitions, in-flight ones roll back
    std::stop_token abort;  ///< the same without waiting for anything
    ProgressMode progress = ProgressMode::kNone;  ///< what the engine's reporter prints
};

/// What a run tells its caller (the CLI prints it, the library turns it into api::Events).
/// Called on the thread that called ExecuteRun, except Event (see there).
class RunObserver {
public:
    virtual ~RunObserver() = default;
    /// A warning about the job that does not stop it (a re-run that would load rows again).
    virtual void Warning(const std::string& stream, const std::string& message) {
        (void)stream;
        (void)message;
    }
    /// The plan, once built; with --dry-run nothing runs after it.
    virtual void Planned(const Plan& plan) { (void)plan; }
    /// The ledger recorded the run (new or resumed); rows start to move. `tracker` counts
    /// them until Finished returns. May arm `control`'s stop tokens, which ExecuteRun reads
    /// after this call (the CLI takes over SIGINT here, so a signal while planning still ends
    /// the process at once).
    virtual void Started(const RunStart& start, const Plan& plan, const ProgressTracker& tracker,
                         RunControl& control) {
        (void)start;
        (void)plan;
        (void)tracker;
        (void)control;
    }
    /// An engine event (partition_failed, partition_retry, stream_finished, ...), from any
    /// worker thread: must be thread-safe and must not throw.
    virtual void Event(const nlohmann::json& event) { (void)event; }
    /// The tracker given to Started is about to go: called once after Started, whether the
    /// run ended or threw.
    virtual void Released() {}
    /// The run ended and its outcome is in the ledger.
    virtual void Finished(const RunStart& start, const RunSummary& summary) {
        (void)start;
        (void)summary;
    }
};


/// What ExecuteRun did.
struct RunOutcome {
    bool dry_run = false;   ///< only planned (flags.dry_run)
    bool queued = false;    ///< recorded for workers only (flags.no_work)
    RunStart start;
    RunSummary summary;
};

/// Applies command-line flags (-w, --chunk-rows, ...) on top of the job's settings.
void ApplyFlags(const RunFlags& flags, JobSpec& job);

/// Worker count: the flag or settings.workers, else the number of cores.
int ResolveWorkers(const JobSpec& job);

/// The run service: plans `job`, takes the job's lock in its ledger, starts, resumes or
/// restarts the run (flags.resume / flags.restart), runs the plan and records the outcome
/// (status, counts, incremental marks) in the ledger. The CLI and the library both call it.
/// Throws Error when the run cannot start (bad job, unreachable ledger, an unfinished run
/// and neither resume nor restart); partition failures are in the summary.
/// With flags.distributed the run is recorded for workers (`sluice worker`) to join, and this
/// process works on it beside them unless flags.no_work.
RunOutcome ExecuteRun(JobSpec job, const RunFlags& flags, RunObserver& observer, RunControl& control);

/// What a run's plan was made from, which planning streams when ready needs again.
struct RunInputs {
    std::string state_url;
    CursorMarks marks;
    LoadedFiles loaded;
    int workers = 1;
};

/// Runs a plan whose run the ledger has recorded (`start`: new, resumed or joined) and records
/// the outcome: the run's, or in a distributed run this process's share, and the run's end
/// when it was the last to leave. `job` is the job as planned (patterns expanded).
RunOutcome RunStarted(const JobSpec& job, Plan& plan, const RunStart& start, const RunInputs& inputs,
                      Ledger& ledger, RunObserver& observer, RunControl& control);

}  // namespace sluice
