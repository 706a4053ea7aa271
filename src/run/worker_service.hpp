#pragma once

#include <string>
#include <vector>

#include "run/run_service.hpp"

namespace sluice {

/// How `sluice worker` is asked to work.
struct WorkerFlags {
    std::string state;           ///< --state URL: the shared PostgreSQL ledger (required)
    std::string job;             ///< --job NAME: only that job's runs ("" = any)
    int slots = -1;              ///< --slots N: partitions at once (-1 = the job's workers)
    bool follow = false;         ///< --follow: keep looking for runs instead of ending
    double wait_seconds = 30;    ///< --wait: how long to wait for a first run to appear
};

/// `sluice worker`: joins the distributed runs open in the ledger, oldest first, each with
/// the job its starter recorded (parsed in this process's environment), and works on each
/// until it has no work left. Ends when no open run is left (after waiting up to
/// wait_seconds for the first), or keeps looking with `follow`; a stop ends it. Returns
/// what it did in each run. Throws Error when the ledger cannot be reached or a run's job
/// does not parse or plan here.
std::vector<RunOutcome> ExecuteWorker(const WorkerFlags& flags, RunObserver& observer, RunControl& control);

}  // namespace sluice
