#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sluice {

/// How one invocation asks for a run: the `run`/`copy` command line, or the library's
/// sluice::api::RunOptions translated. Read by the run service (run/run_service.hpp).
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
    std::string state;                ///< --state URL: the ledger (settings.state)
    bool distributed = false;         ///< --distributed: workers on any host may join the run
    bool no_work = false;             ///< --no-work: record the distributed run and leave it to workers
    /// --distributed: the job as workers read it (Ledger RunRecord::spec; JobSpecJson).
    std::string job_spec;
};

}  // namespace sluice
