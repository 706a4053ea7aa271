#pragma once

#include <optional>

#include "engine/scheduler_state.hpp"
#include "engine/stream_lifecycle.hpp"
#include "engine/work_queue.hpp"
#include "engine/worker_ledger.hpp"

namespace sluice {

/// A worker thread's source of partitions in a distributed run, in place of the WorkQueue's
/// hand-out: claims the largest open partition of the streams prepared here from the ledger
/// (Ledger::ClaimNext); with none to claim, brings the streams up to the ledger
/// (StreamLifecycle::SyncWithLedger: adopt, complete, activate) and looks again every
/// poll_seconds until every stream is done or the run stops. Not thread-safe: one per worker.
class LedgerClaims {
public:
    /// All references outlive this; `ledger` is the worker's own connection (shared with its
    /// PartitionLoader).
    LedgerClaims(const RunContext& run, StreamLifecycle& streams, WorkQueue& queue, WorkerLedger& ledger)
        : run_(run), streams_(streams), queue_(queue), ledger_(ledger) {}

    /// The next partition, claimed; nullopt when the worker is to end.
    std::optional<Task> Next();

    /// After the task's partition ended: completes its stream when it was the last open one.
    void Ended(const Task& task);

private:
    const RunContext& run_;
    StreamLifecycle& streams_;
    WorkQueue& queue_;
    WorkerLedger& ledger_;
};

}  // namespace sluice
