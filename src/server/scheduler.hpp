#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "server/http_api.hpp"
#include "server/run_manager.hpp"

namespace sluice::server {

/// Starts the jobs of the directory whose `schedule:` is due. A job is due when its latest
/// firing time (in its `timezone:`) lies after its latest run's start in the ledger, so a
/// window missed while the server was down runs once when it is back, not once per window.
/// A job still running then is skipped, and so is that window; a job whose last run did not
/// finish is resumed. Each decision is logged on stderr.
class Scheduler {
public:
    Scheduler(const ServeOptions& options, RunManager& manager) : options_(options), manager_(manager) {}

    /// Starts what is due at `now` (seconds since the epoch, UTC); returns the runs started.
    std::vector<std::shared_ptr<LiveRun>> Tick(int64_t now);

private:
    const ServeOptions& options_;
    RunManager& manager_;
    std::map<std::string, int64_t> handled_;  ///< job -> the firing it last acted on
};

/// `sluice serve --once`: starts what is due now, waits for those runs, and returns the exit
/// code: 0 when every one succeeded (or nothing was due), 1 otherwise.
int RunDueOnce(const ServeOptions& options);

}  // namespace sluice::server
