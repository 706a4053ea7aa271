#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <random>

#include "connectors/connector.hpp"
#include "engine/pipeline.hpp"
#include "engine/scheduler_state.hpp"
#include "engine/stream_lifecycle.hpp"
#include "engine/work_queue.hpp"
#include "engine/worker_ledger.hpp"
#include "state/ledger.hpp"

namespace sluice {

/// One worker's side of loading partitions, one at a time: claims the partition in the
/// ledger (its attempt number is the fencing token), wires the commit mark into the
/// partition's transaction (in the ledger, or in the target's own marks), runs the pipeline
/// (RunPartition), retries transient errors with backoff, loads again bisecting when the
/// target refuses rows, takes a fenced claim's mark as the other owner's commit, and records
/// failures in the ledger. Each outcome goes to the StreamLifecycle. Keeps the worker's sink
/// writers and ledger connection between partitions. Not thread-safe: one per worker thread.
class PartitionLoader {
public:
    /// `run`, `streams` and `queue` outlive the loader.
    PartitionLoader(const RunContext& run, StreamLifecycle& streams, WorkQueue& queue, int worker);

    /// Loads the task's partition, or fails it unloaded when its tenant already failed.
    /// Never throws: every failure is counted with its stream.
    void Load(const Task& task);

    /// The worker's ledger connection (a distributed run's claims use it too).
    WorkerLedger& ledger() { return ledger_; }

private:
    void RunTask(const Task& task);
    void Uncount(StreamState& st, const PartitionCounts& counts);
    /// The partition's claim passed to another process (this one's lease ran out): says so and
    /// leaves the partition, its rows and its count to the new holder.
    void TakenOver(StreamState& st, const PartitionPlan& p, const Error& cancelled);
    /// Counts a partition found committed (by the ledger or a target mark) as `done` says.
    void CountAsCommitted(StreamState& st, const PartitionPlan& p, const PartitionRecord& done, int attempt);
    bool AdoptTargetMark(StreamState& st, Ledger& ledger, const PartitionPlan& p, int attempt);
    bool TargetMarkLanded(StreamState& st, const PartitionClaim& claim);
    bool ClaimCommitted(const PartitionClaim& claim);

    const RunContext& run_;
    StreamLifecycle& streams_;
    WorkQueue& queue_;
    std::map<size_t, std::unique_ptr<SinkWriter>> writers_;  ///< per stream, reused between partitions
    WorkerLedger ledger_;
    std::mt19937_64 rng_;  ///< retry jitter
};

}  // namespace sluice
