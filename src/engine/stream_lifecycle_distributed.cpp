// StreamLifecycle in a distributed run: many processes work on one run, and each stream's
// target is prepared once before its first partition and completed once after its last,
// under the stream's row lock in the ledger (`streams`), by whichever process gets there.
// The others join a prepared stream (attaching to what it made) and adopt a completed one's
// outcome, so that streams waiting on it can start everywhere.

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "connectors/registry.hpp"
#include "core/fnv.hpp"
#include "engine/ledger_watch.hpp"
#include "engine/stream_lifecycle.hpp"
#include "engine/stream_prepare.hpp"
#include "engine/tenant_streams.hpp"
#include "engine/worker_ledger.hpp"

namespace sluice {

namespace {

/// How often a process waiting for a stream's lock looks whether the run was stopped, and
/// how often it says who holds the lock.
constexpr double kGateWaitLookSeconds = 1;
constexpr int64_t kGateWaitReportSeconds = 10;

constexpr std::string_view kGateRole = "stream-gate";

std::unique_ptr<Ledger> OpenGate(const RunContext& run) {
    // Named with the worker, so that one waiting for the lock can say who holds it, and find
    // that process's heartbeat.
    return Ledger::Open(run.options.ledger_url, WorkerSessionName(run, kGateRole));
}

/// How long the heartbeat of the process holding a stream's lock has been silent; nullopt
/// when it cannot be told (an older sluice, or another role, whose sessions are hidden).
std::optional<int64_t> HolderSilence(Ledger& gate, const StreamLockHolder& holder) {
    const std::string heartbeat = HeartbeatOf(holder.application_name, kGateRole);
    if (holder.pid == 0 || heartbeat.empty()) {
        return std::nullopt;
    }
    return gate.SessionIdleSeconds(heartbeat);
}

/// Locks the stream's row; while another process holds it, says which, now and then. A stop
/// ends the wait (kCancelled). A holder whose heartbeat has been silent past the lease was
/// paused, or cut off from the ledger, as a worker whose partitions are taken over: when the
/// stream's steps are fenced (`fenced`: Sink::FenceSteps ends the steps it was in the middle
/// of, for whoever gets the lock next), its gate session is ended, which releases the lock.
/// Otherwise taking the lock would let it wake into a step another worker has gone past, so
/// it is waited for, and the report says why.
StreamRecord LockGate(const RunContext& run, WorkQueue& queue, Ledger& gate, const std::string& stream, bool fenced) {
    const auto since = std::chrono::steady_clock::now();
    int64_t reported = 0;
    return gate.LockStream(
        run.options.run_id, stream,
        [&](const StreamLockHolder& holder) {
            if (queue.Stopping()) {
                throw Error(ErrorKind::kCancelled, "stopped while waiting for stream " + stream + "'s lock");
            }
            const std::optional<int64_t> silent = HolderSilence(gate, holder);
            const bool past_lease = silent && static_cast<double>(*silent) > run.options.lease_seconds;
            if (past_lease && fenced && gate.EndSession(holder.pid)) {
                run.reporter.Event({{"event", "stream_lock_taken"},
                                    {"stream", stream},
                                    {"holder", holder.application_name},
                                    {"client", holder.client},
                                    {"silent_seconds", *silent}});
                return;
            }
            const auto waited =
                std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - since).count();
            if (waited / kGateWaitReportSeconds > reported) {
                reported = waited / kGateWaitReportSeconds;
                nlohmann::json event = {{"event", "stream_waiting"},
                                        {"stream", stream},
                                        {"holder", holder.application_name},
                                        {"client", holder.client},
                                        {"seconds", holder.seconds}};
                if (past_lease && !fenced) {
                    // Still waited for, as the target has no fence: its gate session, which a
                    // person may end, is named.
                    event["silent_seconds"] = *silent;
                    event["holder_pid"] = holder.pid;
                }
                run.reporter.Event(event);
            }
        },
        kGateWaitLookSeconds);
}

/// While it lives, `st`'s target steps are fenced by `gate`: Sink::StepFence::check asks it
/// whether this process still holds the stream's lock.
class GateInUse {
public:
    GateInUse(StreamState& st, Ledger& gate) : slot_(*st.step_gate) { slot_.ledger = &gate; }
    ~GateInUse() { slot_.ledger = nullptr; }
    GateInUse(const GateInUse&) = delete;
    GateInUse& operator=(const GateInUse&) = delete;

private:
    StepGate& slot_;
};

Error AsError(const std::exception_ptr& failure, const std::string& stream) {
    try {
        std::rethrow_exception(failure);
    } catch (Error& e) {
        e.context().stream = stream;
        return e;
    } catch (const std::exception& e) {
        Error wrapped(ErrorKind::kInternal, e.what());
        wrapped.context().stream = stream;
        return wrapped;
    }
}

}  // namespace

// The tag: 48 bits of FNV-1a over the run and the stream, alike in every process of the run.
std::shared_ptr<const StepFence> StreamLifecycle::MakeStepFence(const RunContext& run, const StreamState& st) {
    const std::string name = run.options.run_id + "\n" + st.plan->spec.name;
    uint64_t hash = kFnvOffset;
    FnvMix(hash, name.data(), name.size());
    auto fence = std::make_shared<StepFence>();
    fence->tag = fmt::format("sluice^{:012x}", hash >> 16);
    fence->check = [slot = st.step_gate, stream = st.plan->spec.name] {
        Ledger* gate = slot->ledger;
        if (gate != nullptr && !gate->StillHoldsStreamLock()) {
            throw Error(ErrorKind::kConnection,
                        "this worker lost stream " + stream + "'s lock in the ledger (its connection ended: "
                        "paused or cut off past its lease, so another worker took the stream over)");
        }
    };
    return fence;
}

void StreamLifecycle::ActivateShared(size_t index) {
    StreamState& st = streams_[index];
    StreamPlan& sp = *st.plan;
    const RunOptions& options = run_.options;
    st.counters->started_ns = run_.tracker.NowNs();
    std::unique_ptr<Ledger> gate;
    StreamRecord record;
    try {
        gate = OpenGate(run_);
        record = LockGate(run_, queue_, *gate, sp.spec.name, sp.spec.target.step_fence != nullptr);
    } catch (Error& e) {
        e.context().stream = sp.spec.name;
        std::lock_guard lock(run_.mu);
        if (e.kind() == ErrorKind::kCancelled && queue_.StoppingLocked()) {
            st.phase = StreamPhase::kDone;  // as a stream the stop found waiting to start
            st.summary.status = "stopped";
            return;
        }
        FailStreamLocked(st, e);  // this process cannot reach the ledger: it cannot work on it
        return;
    }
    if (record.status == "done") {
        gate->EndStreamLock(false);  // read only: a rollback, which a gate ended meanwhile cannot refuse
        AdoptOutcome(st, record, *gate);
        return;
    }
    const GateInUse in_use(st, *gate);
    const StreamEntry entry = record.status == "active" ? StreamEntry::kJoin
                              : record.prepared         ? StreamEntry::kResume
                                                        : StreamEntry::kNew;
    try {
        // Nothing left to load: the process that was completing the stream died, perhaps in
        // a replace's publish. Its staging table is put back first, as joining needs it.
        if (entry == StreamEntry::kJoin && !gate->StreamHasOpenPartitions(options.run_id, sp.spec.name) &&
            PublishLost(st, record, *gate)) {
            return;
        }
        if (PlansWhenReady(sp)) {
            PlanNow(index);  // the first process records the partitions; the others adopt them
        }
        PrepareRetrying(st, entry, gate.get());
        if (entry != StreamEntry::kJoin) {
            FailBlockedPartitions(st);
            record.status = "active";
            record.prepared = true;
            record.prepared_by = options.worker;
            gate->UpdateLockedStream(options.run_id, record);
        }
        gate->EndStreamLock(true);
    } catch (...) {
        const Error e = AsError(std::current_exception(), sp.spec.name);
        if (!gate->StillHoldsStreamLock()) {
            // Another process took the stream while this one was paused or cut off: nothing
            // here is this process's to record. It joins what the other made, once it may.
            gate->EndStreamLock(false);
            run_.reporter.Event({{"event", "stream_lock_lost"}, {"stream", sp.spec.name}, {"error", e.Describe()}});
            std::lock_guard lock(run_.mu);
            st.phase = StreamPhase::kWaiting;
            return;
        }
        if (entry == StreamEntry::kJoin) {
            gate->EndStreamLock(false);  // only this process cannot load it; the others go on
        } else {
            // Nobody can load a stream whose target could not be prepared: done, failed.
            bool recorded = false;
            try {
                record.status = "done";
                record.outcome = "failed";
                record.error = e.Describe();
                record.completed_by = options.worker;
                gate->UpdateLockedStream(options.run_id, record);
                gate->EndStreamLock(true);
                recorded = true;
            } catch (const Error&) {
                gate->EndStreamLock(false);  // the lock is lost: the next process to come tries again
            }
            if (recorded && !options.continue_on_error) {
                StopEveryWorker();
            }
        }
        std::lock_guard lock(run_.mu);
        st.prepare_failed = entry != StreamEntry::kJoin;
        FailStreamLocked(st, e);
        return;
    }
    {
        std::lock_guard lock(run_.mu);
        st.loading = true;
    }
    run_.reporter.Event({{"event", "stream_started"},
                         {"stream", sp.spec.name},
                         {"partitions", sp.partitions.size()},
                         {"passthrough", st.summary.passthrough},
                         {"entry", entry == StreamEntry::kJoin     ? "joined"
                                   : entry == StreamEntry::kResume ? "resumed"
                                                                   : "prepared"}});
}

void StreamLifecycle::FailBlockedPartitions(StreamState& st) {
    const StreamPlan& sp = *st.plan;
    WorkerLedger ledger(run_.options, run_.job, 0);
    for (const PartitionPlan& p : sp.partitions) {
        if (p.committed) {
            continue;
        }
        if (std::string why = WhyPartitionBlocked(sp, p, st.blocked_tenants); !why.empty()) {
            Error e(ErrorKind::kData, why);
            e.context() = {sp.spec.name, std::to_string(p.id), p.slice.tenant};
            ledger.RecordFailure(sp.spec.name, p, e);
        }
    }
}

void StreamLifecycle::AdoptOutcome(StreamState& st, const StreamRecord& record, Ledger& ledger) {
    const StreamTally tally = ledger.TallyStream(run_.options.run_id, st.plan->spec.name);
    std::lock_guard lock(run_.mu);
    if (st.phase == StreamPhase::kDone) {
        return;
    }
    st.phase = StreamPhase::kDone;
    st.loading = false;
    st.summary.status = record.outcome.empty() ? "failed" : record.outcome;
    if (st.summary.error.empty()) {
        st.summary.error = record.error;
    }
    st.summary.partitions_committed = tally.committed;
    st.summary.partitions_failed = tally.failed;
    st.summary.failed_tenants = tally.failed_tenants;
    // Failed with nothing loaded or failed: its target could not be prepared (or planned).
    st.prepare_failed = record.outcome == "failed" && tally.committed == 0 && tally.failed == 0;
    st.counters->finished_ns = run_.tracker.NowNs();
    run_.reporter.Event({{"event", "stream_finished"},
                         {"stream", st.plan->spec.name},
                         {"status", st.summary.status},
                         {"completed_by", record.completed_by},
                         {"rows_written", st.counters->rows_written.load()}});
}

bool StreamLifecycle::PublishLost(StreamState& st, StreamRecord& record, Ledger& gate) {
    if (!ReplacesTarget(st)) {
        return false;
    }
    const std::unique_ptr<Sink> sink = OpenSink(st.plan->spec.target);
    sink->FenceSteps();
    if (sink->ResumePublish()) {
        return false;
    }
    // Under the stream's lock no other process is completing it, so a staging table that is
    // gone was taken by a completion that died midway: published just before its process
    // died, or dropped. (One with the indexes of an unfinished publish was put back by
    // ResumePublish.) A resume loads the partitions again and publishes: right either way.
    record.status = "done";
    record.outcome = "failed";
    record.error = "completing the stream was interrupted (the worker publishing it died, and its staging "
                   "table is gone); `sluice run JOB --resume` loads it again and publishes";
    record.completed_by = run_.options.worker;
    gate.UpdateLockedStream(run_.options.run_id, record);
    gate.EndStreamLock(true);
    AdoptOutcome(st, record, gate);
    return true;
}

void StreamLifecycle::CompleteIfDone(size_t index, Ledger& ledger) {
    StreamState& st = streams_[index];
    const std::string& name = st.plan->spec.name;
    const std::string& run_id = run_.options.run_id;
    {
        std::lock_guard lock(run_.mu);
        if (st.phase != StreamPhase::kActive || !st.loading) {
            return;
        }
    }
    if (ledger.StreamHasOpenPartitions(run_id, name)) {
        return;  // the cheap look, without a lock: most partitions end with others still open
    }
    std::unique_ptr<Ledger> gate = OpenGate(run_);
    StreamRecord record;
    try {
        record = LockGate(run_, queue_, *gate, name, st.plan->spec.target.step_fence != nullptr);
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::kCancelled && queue_.Stopping()) {
            return;  // still active in the ledger: the resume of the stopped run completes it
        }
        throw;
    }
    if (record.status == "done") {
        gate->EndStreamLock(false);  // read only, as above
        AdoptOutcome(st, record, *gate);
        return;
    }
    if (record.status != "active" || gate->StreamHasOpenPartitions(run_id, name)) {
        gate->EndStreamLock(false);
        return;
    }
    const GateInUse in_use(st, *gate);
    try {
        if (PublishLost(st, record, *gate)) {
            return;
        }
        st.sink->FenceSteps();
        const StreamTally tally = gate->TallyStream(run_id, name);
        {
            // The ledger's word only: a tenant this process alone could not plan (its own
            // network, say) loaded elsewhere, and must not be rolled back.
            std::lock_guard lock(run_.mu);
            st.summary.partitions_committed = tally.committed;
            st.summary.partitions_failed = tally.failed;
            st.summary.failed_tenants = tally.failed_tenants;
            st.failed_partition_tenants = tally.failed_partition_tenants;
        }
        // Publishes (or keeps the old table) while holding the row lock: a process that dies
        // here releases it with its connection, and the stream, still active, is completed by
        // another.
        CompleteStream(st);
        {
            std::lock_guard lock(run_.mu);
            record.status = "done";
            record.outcome = st.summary.status;
            record.error = st.summary.error;
            record.completed_by = run_.options.worker;
            st.loading = false;
        }
        gate->UpdateLockedStream(run_id, record);
        gate->EndStreamLock(true);
    } catch (const Error& e) {
        if (gate->StillHoldsStreamLock()) {
            throw;
        }
        // Taken over while this process was paused or cut off in the middle: the outcome is
        // the ledger's, recorded by the process that took the stream (adopted when it is).
        gate->EndStreamLock(false);
        run_.reporter.Event({{"event", "stream_lock_lost"}, {"stream", name}, {"error", e.Describe()}});
        std::lock_guard lock(run_.mu);
        st.phase = StreamPhase::kActive;
        st.loading = false;
    }
}

void StreamLifecycle::SyncWithLedger(Ledger& ledger) {
    std::unique_lock sync(sync_mu_, std::try_to_lock);
    if (!sync.owns_lock()) {
        return;  // another worker thread of this process is at it
    }
    for (const StreamRecord& record : ledger.Streams(run_.options.run_id)) {
        if (record.status != "done") {
            continue;
        }
        for (StreamState& st : streams_) {
            if (st.plan->spec.name == record.stream) {
                AdoptOutcome(st, record, ledger);
            }
        }
    }
    for (size_t i = 0; i < streams_.size(); ++i) {
        CompleteIfDone(i, ledger);
    }
    ActivateReady();
}

std::vector<std::string> StreamLifecycle::LoadingStreams() {
    std::lock_guard lock(run_.mu);
    std::vector<std::string> names;
    for (const StreamState& st : streams_) {
        if (st.phase == StreamPhase::kActive && st.loading) {
            names.push_back(st.plan->spec.name);
        }
    }
    return names;
}

std::optional<Task> StreamLifecycle::TaskFor(const PartitionClaim& claim) {
    std::lock_guard lock(run_.mu);
    for (size_t i = 0; i < streams_.size(); ++i) {
        if (streams_[i].plan->spec.name != claim.stream) {
            continue;
        }
        for (const PartitionPlan& p : streams_[i].plan->partitions) {
            if (p.id == claim.partition) {
                return Task{i, &p, claim.attempt};
            }
        }
    }
    return std::nullopt;
}

bool StreamLifecycle::AllDone() {
    std::lock_guard lock(run_.mu);
    for (const StreamState& st : streams_) {
        if (st.phase != StreamPhase::kDone) {
            return false;
        }
    }
    return true;
}

void StreamLifecycle::StopEveryWorker() {
    try {
        OpenGate(run_)->RequestStop(run_.options.run_id);
    } catch (const Error&) {  // NOLINT(bugprone-empty-catch): the others go on; the failure is in the ledger
    }
}

}  // namespace sluice
