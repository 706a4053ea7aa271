// StreamLifecycle in a distributed run: many processes work on one run, and each stream's
// target is prepared once before its first partition and completed once after its last,
// under the stream's row lock in the ledger (`streams`), by whichever process gets there.
// The others join a prepared stream (attaching to what it made) and adopt a completed one's
// outcome, so that streams waiting on it can start everywhere.

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "connectors/registry.hpp"
#include "core/utf8.hpp"
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

std::unique_ptr<Ledger> OpenGate(const RunContext& run) {
    // Named with the worker, so that one waiting for the lock can say who holds it: whole, a
    // long job name cut instead (the server keeps 63 bytes of an application_name).
    const std::string tail = "/stream-gate " + run.options.worker;
    const size_t room = tail.size() < 63 ? 63 - tail.size() : 0;
    return Ledger::Open(run.options.ledger_url, TruncateUtf8("sluice/" + run.job, room) + tail);
}

/// Locks the stream's row; while another process holds it, says which, now and then. A stop
/// ends the wait (kCancelled): the holder may be paused, and hold it until it wakes.
StreamRecord LockGate(const RunContext& run, WorkQueue& queue, Ledger& gate, const std::string& stream) {
    const auto since = std::chrono::steady_clock::now();
    int64_t reported = 0;
    return gate.LockStream(
        run.options.run_id, stream,
        [&](const StreamLockHolder& holder) {
            if (queue.Stopping()) {
                throw Error(ErrorKind::kCancelled, "stopped while waiting for stream " + stream + "'s lock");
            }
            const auto waited =
                std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - since).count();
            if (waited / kGateWaitReportSeconds > reported) {
                reported = waited / kGateWaitReportSeconds;
                run.reporter.Event({{"event", "stream_waiting"},
                                    {"stream", stream},
                                    {"holder", holder.application_name},
                                    {"client", holder.client},
                                    {"seconds", holder.seconds}});
            }
        },
        kGateWaitLookSeconds);
}

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

void StreamLifecycle::ActivateShared(size_t index) {
    StreamState& st = streams_[index];
    StreamPlan& sp = *st.plan;
    const RunOptions& options = run_.options;
    st.counters->started_ns = run_.tracker.NowNs();
    std::unique_ptr<Ledger> gate;
    StreamRecord record;
    try {
        gate = OpenGate(run_);
        record = LockGate(run_, queue_, *gate, sp.spec.name);
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
        gate->EndStreamLock(true);
        AdoptOutcome(st, record, *gate);
        return;
    }
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
    if (!ReplacesTarget(st) || OpenSink(st.plan->spec.target)->ResumePublish()) {
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
        record = LockGate(run_, queue_, *gate, name);
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::kCancelled && queue_.Stopping()) {
            return;  // still active in the ledger: the resume of the stopped run completes it
        }
        throw;
    }
    if (record.status == "done") {
        gate->EndStreamLock(true);
        AdoptOutcome(st, record, *gate);
        return;
    }
    if (record.status != "active" || gate->StreamHasOpenPartitions(run_id, name)) {
        gate->EndStreamLock(true);
        return;
    }
    if (PublishLost(st, record, *gate)) {
        return;
    }
    const StreamTally tally = gate->TallyStream(run_id, name);
    {
        // The ledger's word only: a tenant this process alone could not plan (its own network,
        // say) loaded elsewhere, and must not be rolled back.
        std::lock_guard lock(run_.mu);
        st.summary.partitions_committed = tally.committed;
        st.summary.partitions_failed = tally.failed;
        st.summary.failed_tenants = tally.failed_tenants;
        st.failed_partition_tenants = tally.failed_partition_tenants;
    }
    // Publishes (or keeps the old table) while holding the row lock: a process that dies here
    // releases it with its connection, and the stream, still active, is completed by another.
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
