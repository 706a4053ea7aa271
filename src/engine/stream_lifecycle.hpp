#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "engine/pipeline.hpp"
#include "engine/scheduler_state.hpp"
#include "engine/stream_prepare.hpp"
#include "engine/work_queue.hpp"
#include "state/ledger.hpp"

namespace sluice {

/// The streams of a run from waiting to done: activates a stream once its `after` streams
/// are done (or skips it), prepares its target and queues its partitions; counts each
/// partition that commits or fails; when the last one ends, rolls back failed tenants and
/// publishes (or keeps the old table); and sums the run up at its end. The streams' state is
/// guarded by the run's mutex (RunContext::mu); the stream's sink, marks, conformer, rejects
/// and sources are set before its partitions are queued and not changed after, so workers
/// use them without the lock.
class StreamLifecycle {
public:
    /// Counts the partitions each stream has left (a resume's committed ones are done) and
    /// the tenants that could not be planned. `plan`, `run` and `queue` outlive this.
    StreamLifecycle(const RunContext& run, Plan& plan, WorkQueue& queue);

    /// Activates every waiting stream whose `after` streams all succeeded; marks streams whose
    /// prerequisites failed as skipped. Called without mu_ held, with work in flight
    /// (WorkQueue), so that the workers wait for the partitions it may queue.
    void ActivateReady();

    /// The stream at `index` of the plan.
    StreamState& Stream(size_t index) { return streams_[index]; }

    /// Whether the stream at `index` is done: the partition that ended it may let waiting
    /// streams activate. Takes mu.
    bool StreamDone(size_t index);

    /// A tenant whose partition failed is rolled back as a whole at the end of the stream,
    /// so its remaining partitions need not load. Takes mu.
    bool TenantAlreadyFailed(const Task& task);

    /// Counts a committed partition (after its COMMIT, or found committed by an earlier
    /// attempt) and reports it; completes the stream when it was the last. Without mu_ held.
    void PartitionCommitted(StreamState& st, const PartitionPlan& p, const PartitionCounts& counts, int attempt);

    /// Counts a failed partition: the stream's and the run's first error, its tenant as
    /// failed, and under on_error: stop the run stops. A cancelled partition (stop, fenced)
    /// counts but is no error. Completes the stream when it was the last. Without mu_ held.
    void FailPartition(StreamState& st, const PartitionPlan& p, const Error& e);

    // Distributed runs (stream_lifecycle_distributed.cpp): the ledger's `streams` rows decide
    // which process prepares and completes each stream; this process follows what they say.

    /// The streams whose partitions this process may claim now (prepared here, not done).
    /// Takes mu.
    std::vector<std::string> LoadingStreams();
    /// The task of a partition claimed from the ledger; nullopt when this process's plan
    /// does not have it. Takes mu.
    std::optional<Task> TaskFor(const PartitionClaim& claim);
    /// Brings this process up to the ledger: streams other processes completed are done
    /// here too, active streams without open partitions are completed, and streams whose
    /// `after` streams are done activate. One thread at a time; a second caller returns at
    /// once. Throws Error when the ledger fails.
    void SyncWithLedger(Ledger& ledger);
    /// Completes the stream (tenant rollback, publish) when no partition of it is pending or
    /// running any more and no process completed it yet. Throws Error when the ledger fails.
    void CompleteIfDone(size_t index, Ledger& ledger);
    /// Whether every stream is done. Takes mu.
    bool AllDone();

    /// The run's summary, once the workers have ended: streams still active were stopped
    /// (their targets stay unpublished), waiting ones stopped or skipped. Reports
    /// `run_finished`.
    RunSummary Finish();

private:
    const StreamState* FindStream(const std::string& name) const;
    /// Prepares the stream's target and queues its partitions (largest first overall).
    void Activate(size_t index);
    /// Counts the stream's partitions (a resume's committed ones are done) and records its
    /// tenants that could not be planned. Under mu_ for a stream planned when ready.
    void CountPlannedLocked(StreamState& st);
    /// A stream planned when ready: plans it (RunOptions::plan_stream) and swaps the plan in.
    /// Throws Error when it cannot be planned.
    void PlanNow(size_t index);
    /// Whether `sp` is planned when its `after` streams have finished (not at the start).
    bool PlansWhenReady(const StreamPlan& sp) const;
    void FailStreamLocked(StreamState& st, const Error& e);
    /// Counts one ended partition; true when it was the stream's last: the caller then calls
    /// CompleteStream, after releasing mu_.
    [[nodiscard]] bool FinishPartitionLocked(StreamState& st) { return --st.remaining == 0; }
    void CompleteStream(StreamState& st);
    /// PrepareStream, again after a transient failure, as often as a partition would be;
    /// in a distributed run only while `gate` still holds the stream's lock.
    void PrepareRetrying(StreamState& st, StreamEntry entry, Ledger* gate = nullptr);
    /// Distributed: Activate through the stream's ledger row (prepared once, joined after).
    void ActivateShared(size_t index);
    /// Distributed: the stream was completed by another process, as `record` says.
    void AdoptOutcome(StreamState& st, const StreamRecord& record, Ledger& ledger);
    /// Distributed, under the stream's lock (`record`) with nothing left to load: puts back a
    /// replace's staging table that a completer who died had begun to publish. When it is
    /// gone, ends the stream failed ("interrupted"), releases the lock and returns true.
    bool PublishLost(StreamState& st, StreamRecord& record, Ledger& gate);
    /// Distributed: the blocked partitions (WhyPartitionBlocked) fail in the ledger, once.
    void FailBlockedPartitions(StreamState& st);
    /// Distributed: a failure that stops the run stops every process through the ledger.
    void StopEveryWorker();
    /// Distributed: the fence of the stream's target steps (the tag of their sessions, and
    /// the check that this process holds the stream's lock, through st.step_gate).
    static std::shared_ptr<const StepFence> MakeStepFence(const RunContext& run, const StreamState& st);
    bool MayPublish(const StreamState& st, const std::string& status, bool tenants_carried);
    void NoteErrorLocked(const Error& e);

    const RunContext& run_;
    WorkQueue& queue_;
    std::vector<StreamState> streams_;  // phases, summaries and counters guarded by run_.mu
    /// Held while a stream planned when ready is planned and swapped in: planning reads the
    /// earlier streams' plans, which another stream's swap would change under it.
    std::mutex planning_mu_;
    std::mutex sync_mu_;  ///< one SyncWithLedger at a time
    std::string first_error_;           // guarded by run_.mu
    ErrorKind first_error_kind_ = ErrorKind::kInternal;  // guarded by run_.mu
};

}  // namespace sluice
