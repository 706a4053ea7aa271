#pragma once

#include <string>

#include "config/job_spec.hpp"
#include "engine/run.hpp"
#include "state/ledger.hpp"

namespace sluice {

/// Refuses a distributed run whose ledger is not PostgreSQL: workers on other hosts must
/// share it, and claims need its row locks (Error(kUsage) saying what to set).
void RequireSharedLedger(const std::string& state_url);

/// The job as a distributed run records it for its workers (RunRecord::spec): the job file's
/// text (`${VAR}`s unexpanded: each worker expands them from its own environment, so secrets
/// never reach the ledger), its path and directory, and the --set flags.
std::string JobSpecJson(const std::string& path, const std::string& yaml_text, const std::vector<std::string>& sets);

/// The job a worker of `run` loads: RunRecord::spec parsed as `sluice run` parsed the file.
/// Throws Error(kConfig) naming the run when it does not parse here (a missing variable).
JobSpec JobOfRun(const RunRecord& run);

/// What this process's summary says, as a `runs` row (its counts, status, error, owner).
RunRecord ProcessOutcome(const std::string& run_id, const std::string& job, const RunSummary& summary);

/// A distributed run's process is done with it: records its share (its invocation's counts,
/// added to the run's rows read and rejected) and ends the run when nothing is left to do
/// (every stream done) or it was stopped: its status from the streams' outcomes and failed
/// partitions, its incremental marks moved when it succeeded. A ledger that cannot be
/// written only costs the bookkeeping (a warning).
void RecordShare(Ledger& ledger, const JobSpec& job, const std::string& run_id, const RunSummary& summary);

}  // namespace sluice
