#pragma once

#include <string>

#include "run/run_flags.hpp"
#include "config/job_spec.hpp"
#include "plan/plan.hpp"
#include "state/ledger.hpp"

namespace sluice {

/// The ledger URL of a job: `settings.state`, where "target" means the first stream's target
/// database. Throws Error(kConfig) when neither names a database.
std::string ResolveStateUrl(const JobSpec& job);

/// What each stream reads and writes (JSON by stream name, secrets masked): a run records it,
/// so a resume can refuse a job that now means other tables.
std::string JobFingerprint(const JobSpec& job);

/// The run this invocation works on.
struct RunStart {
    std::string run_id;
    bool resumed = false;
    size_t already_committed = 0;  ///< partitions a resumed run skips
    /// --restart: the unfinished run whose rows are undone first; on a resume of the run that
    /// restarted it, the same (for the streams that run did not reach before it stopped).
    std::string abandoned_run;
    std::string started_at;        ///< the run's first start (a resumed run keeps it)
    bool distributed = false;      ///< any number of processes work on it (RunOptions::distributed)
};

/// ResolveStateUrl, or "" when the job's ledger cannot be resolved (for `plan`, which runs
/// without one).
std::string StateUrlIfAny(const JobSpec& job);

/// Decides between a new run, `--resume` and `--restart`, and refuses when an unfinished run
/// exists and neither was given (Error(kUsage) saying what to do). For a resumed run, the
/// plan's partitions are replaced by the ledger's, committed ones marked to skip.
RunStart StartRun(Ledger& ledger, const JobSpec& job, Plan& plan, const RunFlags& flags);

/// A worker joins the distributed run `run`: refuses a job that means other tables than the
/// run's (CheckSameJob), replaces the plan's partitions by the ledger's and records the
/// worker's invocation.
RunStart JoinDistributedRun(Ledger& ledger, const RunRecord& run, const JobSpec& job, Plan& plan);

/// Refuses to continue `run` with a job whose streams now read or write something else
/// (Error(kUsage) naming the first difference).
void CheckSameJob(const RunRecord& run, const JobSpec& job);

/// A stream planned when ready (StreamPlan::plan_when_ready), just planned: records its
/// partitions in run `run_id`, or, when an earlier invocation of the run recorded them
/// already (a resume), takes those instead, committed ones marked to skip.
void RecordReadyStream(Ledger& ledger, const std::string& run_id, StreamPlan& stream);

}  // namespace sluice
