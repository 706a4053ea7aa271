#pragma once

#include <atomic>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "connectors/connector.hpp"
#include "engine/reject_writer.hpp"
#include "engine/run.hpp"
#include "observe/progress.hpp"
#include "observe/reporter.hpp"
#include "plan/plan.hpp"
#include "state/target_marks.hpp"
#include "transform/conform.hpp"

// The state the parts of the scheduler share. Private to engine/: RunPlan (run.hpp) is the
// only entry from outside.

namespace sluice {

enum class StreamPhase { kWaiting, kActive, kDone };

class Ledger;

/// Distributed runs: the ledger connection holding a stream's lock while this process
/// prepares or completes it (null otherwise), which the target's StepFence asks.
struct StepGate {
    std::atomic<Ledger*> ledger{nullptr};
};

/// Per-stream run state. Sink, conformer and rejects are created when the stream activates.
struct StreamState {
    StreamPlan* plan = nullptr;
    StreamCounters* counters = nullptr;
    StreamPhase phase = StreamPhase::kWaiting;
    std::unique_ptr<Sink> sink;
    /// The stream's partition marks in its own target, when the ledger lives elsewhere.
    std::unique_ptr<TargetMarks> marks;
    std::unique_ptr<BatchConformer> conformer;
    std::unique_ptr<RejectWriter> rejects;
    std::vector<std::shared_ptr<Source>> sources;  ///< plan's sources, or raw-copy reopenings
    LoadedLookups lookups;                         ///< the stream's lookups, read when it starts
    size_t remaining = 0;
    StreamSummary summary;
    std::vector<std::string> failed_partition_tenants;  ///< tenant of each failed partition
    /// Tenants whose partitions must not start: they failed in an `after:` stream.
    std::map<std::string, std::string> blocked_tenants;
    bool prepare_failed = false;  ///< the target could not be prepared: no tenant can load
    /// Distributed runs: the target is prepared in this process, so its partitions may be
    /// claimed here (guarded by mu).
    bool loading = false;
    std::shared_ptr<StepGate> step_gate = std::make_shared<StepGate>();
};

/// One partition ready to load: the index of its stream in the plan, and the partition.
struct Task {
    size_t stream = 0;
    const PartitionPlan* partition = nullptr;
    int claimed_attempt = 0;  ///< > 0: claimed already (Ledger::ClaimNext), with this fencing token
};

/// What every part of the scheduler reads about the run, and the one mutex that guards the
/// state they share: the streams' phases, summaries and counters (StreamLifecycle) and the
/// ready partitions, in-flight count and stop flags (WorkQueue). One mutex, so that a stream
/// is activated and its partitions queued, or a partition counted and its stream completed,
/// in one step that every worker sees whole. All references outlive the run.
struct RunContext {
    const std::string& job;
    const RunOptions& options;
    ProgressTracker& tracker;
    ProgressReporter& reporter;
    std::mutex& mu;
};

/// Whether the stream replaces its target table (publishes a staging table at its end).
inline bool ReplacesTarget(const StreamState& st) {
    return st.plan->spec.target.mode == "replace" || st.plan->spec.target.create == "replace";
}

/// Whether the stream merges into its target by key (upsert, or append of new keys only):
/// its committed partitions
/// changed rows in place, which deleting by undo token cannot revert, and merging the same
/// rows again changes nothing, so they are kept rather than undone.
inline bool MergesTarget(const StreamState& st) {
    return st.plan->spec.target.MergesByKey();
}

}  // namespace sluice
