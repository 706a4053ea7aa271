#pragma once

#include <memory>
#include <string>
#include <utility>

#include "core/error.hpp"
#include "engine/run.hpp"
#include "plan/plan.hpp"
#include "state/ledger.hpp"

namespace sluice {

/// One worker's own connection to the run's ledger (connections are never shared between
/// threads), opened on first use and again after a failure. Not thread-safe: one per thread.
class WorkerLedger {
public:
    /// `options` outlives this; `worker` names the connection (sluice/<job>/ledger-w<N>).
    WorkerLedger(const RunOptions& options, std::string job, int worker)
        : options_(options), job_(std::move(job)), worker_(worker) {}

    /// The connection; nullptr when the run keeps no ledger. Throws Error when it cannot open.
    Ledger* Get();

    /// Drops the connection, so that the next Get opens a fresh one.
    void Reset() { ledger_.reset(); }

    /// Writes the failure to the ledger (a cancelled partition is released instead, for a
    /// resume to load); a ledger that is unreachable too only loses the message (the
    /// partition stays claimable through its lease). Never throws Error.
    void RecordFailure(const std::string& stream, const PartitionPlan& p, const Error& e);

private:
    const RunOptions& options_;
    std::string job_;
    int worker_;
    std::unique_ptr<Ledger> ledger_;
};

}  // namespace sluice
