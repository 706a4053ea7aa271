#include "engine/stream_lifecycle.hpp"

#include <algorithm>
#include <exception>
#include <map>
#include <optional>
#include <random>
#include <utility>

#include <fmt/format.h>

#include "connectors/registry.hpp"
#include "engine/retry.hpp"
#include "engine/stream_prepare.hpp"
#include "engine/stream_undo.hpp"
#include "engine/table_definitions.hpp"
#include "engine/tenant_streams.hpp"
#include "engine/worker_ledger.hpp"

namespace sluice {

namespace {

/// Whether any stream left rows in its target: a failed stream's committed partitions
/// (an unpublished replace's staging table) do not count.
bool AnyCommitted(const RunSummary& s) {
    return std::any_of(s.streams.begin(), s.streams.end(), [](const StreamSummary& st) {
        return st.partitions_committed > 0 && st.status != "failed";
    });
}

}  // namespace

StreamLifecycle::StreamLifecycle(const RunContext& run, Plan& plan, WorkQueue& queue) : run_(run), queue_(queue) {
    streams_.resize(plan.streams.size());
    for (size_t i = 0; i < plan.streams.size(); ++i) {
        StreamPlan& sp = plan.streams[i];
        StreamState& st = streams_[i];
        st.plan = &sp;
        st.summary.name = sp.spec.name;
        if (run.options.distributed && SinkFencesSteps(sp.spec.target)) {
            sp.spec.target.step_fence = MakeStepFence(run, st);
        }
        if (PlansWhenReady(sp)) {
            st.counters = &run.tracker.AddStream(sp.spec.name, -1, 0);  // counted when planned
            continue;
        }
        st.counters = &run.tracker.AddStream(sp.spec.name, sp.estimated_rows, sp.partitions.size());
        CountPlannedLocked(st);
    }
}

void StreamLifecycle::CountPlannedLocked(StreamState& st) {
    const StreamPlan& sp = *st.plan;
    st.summary.partitions = sp.partitions.size();
    st.counters->estimated_rows = sp.estimated_rows;
    st.counters->partitions_total = sp.partitions.size();
    for (const PartitionPlan& p : sp.partitions) {
        if (p.committed) {
            st.summary.partitions_committed++;
            st.counters->partitions_done++;
        } else {
            st.remaining++;
        }
    }
    if (std::string error = RecordUnplannedTenants(sp, st.summary, run_.reporter);
        !error.empty() && first_error_.empty()) {
        first_error_ = std::move(error);
        first_error_kind_ = ErrorKind::kSchema;
    }
}

bool StreamLifecycle::PlansWhenReady(const StreamPlan& sp) const {
    return sp.plan_when_ready && run_.options.plan_stream;
}

void StreamLifecycle::PlanNow(size_t index) {
    StreamState& st = streams_[index];
    std::lock_guard planning(planning_mu_);
    StreamPlan fresh;
    try {
        fresh = run_.options.plan_stream(index);
        if (!run_.options.continue_on_error) {
            RefuseFailedTenants(fresh);  // on_error: stop loads nothing of a stream with one
        }
    } catch (...) {
        std::lock_guard lock(run_.mu);
        st.plan->partitions.clear();  // the plan made at the start never reached the ledger
        throw;
    }
    fresh.plan_when_ready = false;
    {
        std::lock_guard lock(run_.mu);
        std::swap(*st.plan, fresh);
        st.plan->spec.target.step_fence = fresh.spec.target.step_fence;
        CountPlannedLocked(st);
    }
    // `fresh` holds the plan made at the start now: its sources close here, without the lock.
}

void StreamLifecycle::ActivateReady() {
    for (;;) {
        std::vector<size_t> to_activate;
        {
            std::lock_guard lock(run_.mu);
            for (size_t i = 0; i < streams_.size(); ++i) {
                StreamState& st = streams_[i];
                if (st.phase != StreamPhase::kWaiting) {
                    continue;
                }
                bool ready = true;
                std::string blocked_by;
                std::map<std::string, std::string> blocked_tenants;
                for (const std::string& dep : st.plan->spec.after) {
                    const StreamState* d = FindStream(dep);
                    if (d == nullptr) {
                        continue;
                    }
                    if (d->phase != StreamPhase::kDone) {
                        ready = false;
                        continue;
                    }
                    const bool whole = d->prepare_failed ||
                                       (d->summary.status == "failed" && d->summary.partitions_committed > 0);
                    UpstreamVerdict verdict = JudgeUpstream(*st.plan, *d->plan, d->summary, whole);
                    if (verdict.skip_stream) {
                        blocked_by = dep;
                    }
                    blocked_tenants.merge(verdict.blocked_tenants);
                }
                if (!blocked_by.empty() || (queue_.StoppingLocked() && ready)) {
                    st.phase = StreamPhase::kDone;
                    st.summary.status = queue_.StoppingLocked() && blocked_by.empty() ? "stopped" : "skipped";
                    if (!blocked_by.empty()) {
                        st.summary.error = fmt::format("not started: stream {} did not succeed",
                                                       blocked_by);
                    }
                } else if (ready) {
                    st.phase = StreamPhase::kActive;
                    st.blocked_tenants = std::move(blocked_tenants);
                    to_activate.push_back(i);
                }
            }
        }
        if (to_activate.empty()) {
            return;
        }
        // Largest first, as the queue hands out partitions: the longest stream starts loading
        // while the others are still being prepared.
        std::stable_sort(to_activate.begin(), to_activate.end(), [this](size_t a, size_t b) {
            return streams_[a].plan->estimated_rows > streams_[b].plan->estimated_rows;
        });
        for (size_t i : to_activate) {
            Activate(i);
        }
    }
}

void StreamLifecycle::PrepareRetrying(StreamState& st, StreamEntry entry, Ledger* gate) {
    // A server restarting, a connection cut, or a connection attempt that timed out while
    // this process was paused: preparing again is safe, since nothing is loaded before it
    // ends and each of its steps finds what an earlier attempt left. Not once the stream's
    // lock is lost with its connection: another process may be preparing, or loading, now.
    std::mt19937_64 rng(std::random_device{}());
    for (int attempt = 1;; ++attempt) {
        try {
            PrepareStream(run_, st, entry);
            return;
        } catch (const Error& e) {
            if (!e.IsTransient() || attempt >= run_.options.retry.attempts || queue_.Stopping()) {
                throw;
            }
            run_.reporter.Event({{"event", "stream_retry"},
                                 {"stream", st.plan->spec.name},
                                 {"attempt", attempt + 1},
                                 {"error", e.Describe()}});
            SleepUnlessStopped(queue_.CancelToken(), RetryDelay(run_.options.retry, attempt, rng));
            if (queue_.Stopping() || (gate != nullptr && !gate->StillHoldsStreamLock())) {
                throw;
            }
        }
    }
}

const StreamState* StreamLifecycle::FindStream(const std::string& name) const {
    for (const StreamState& st : streams_) {
        if (st.plan->spec.name == name) {
            return &st;
        }
    }
    return nullptr;
}

void StreamLifecycle::Activate(size_t index) {
    if (run_.options.distributed) {
        ActivateShared(index);
        return;
    }
    StreamState& st = streams_[index];
    StreamPlan& sp = *st.plan;
    st.counters->started_ns = run_.tracker.NowNs();
    try {
        if (PlansWhenReady(sp)) {
            PlanNow(index);
        }
        PrepareRetrying(st, run_.options.resuming ? StreamEntry::kResume : StreamEntry::kNew);
    } catch (Error& e) {
        e.context().stream = sp.spec.name;
        std::lock_guard lock(run_.mu);
        st.prepare_failed = true;
        FailStreamLocked(st, e);
        return;
    } catch (const std::exception& e) {
        Error wrapped(ErrorKind::kInternal, e.what());
        wrapped.context().stream = sp.spec.name;
        std::lock_guard lock(run_.mu);
        FailStreamLocked(st, wrapped);
        return;
    }
    run_.reporter.Event({{"event", "stream_started"},
                         {"stream", sp.spec.name},
                         {"partitions", sp.partitions.size()},
                         {"passthrough", st.summary.passthrough}});
    std::vector<std::pair<const PartitionPlan*, std::string>> blocked;
    bool nothing_to_load = true;
    {
        std::lock_guard lock(run_.mu);
        if (!sp.partitions.empty() && st.remaining > 0) {
            nothing_to_load = false;
            for (const PartitionPlan& p : sp.partitions) {
                if (p.committed) {
                    continue;
                }
                if (std::string why = WhyPartitionBlocked(sp, p, st.blocked_tenants); !why.empty()) {
                    blocked.emplace_back(&p, std::move(why));
                } else {
                    queue_.PushLocked({index, &p});
                }
            }
            queue_.WakeWorkersLocked();
        }
    }
    if (nothing_to_load) {
        CompleteStream(st);  // nothing (left) to load
        return;
    }
    // Fails them as partitions, so the ledger and the summary name them; the last one to
    // end, blocked or loaded, completes the stream.
    WorkerLedger ledger(run_.options, run_.job, 0);
    for (const auto& [p, why] : blocked) {
        Error e(ErrorKind::kData, why);
        e.context() = {sp.spec.name, std::to_string(p->id), p->slice.tenant};
        ledger.RecordFailure(sp.spec.name, *p, e);
        FailPartition(st, *p, e);
    }
}

bool StreamLifecycle::StreamDone(size_t index) {
    std::lock_guard lock(run_.mu);
    return streams_[index].phase == StreamPhase::kDone;
}

bool StreamLifecycle::TenantAlreadyFailed(const Task& task) {
    std::lock_guard lock(run_.mu);
    const StreamState& st = streams_[task.stream];
    const std::string& tenant = task.partition->slice.tenant;
    return !tenant.empty() && st.summary.failed_tenants.contains(tenant);
}

void StreamLifecycle::PartitionCommitted(StreamState& st, const PartitionPlan& p, const PartitionCounts& counts,
                                         int attempt) {
    run_.reporter.Event({{"event", "partition_committed"},
                         {"stream", st.plan->spec.name},
                         {"partition", p.id},
                         {"tenant", p.slice.tenant},
                         {"rows", counts.rows_written},
                         {"rejected", counts.rows_rejected},
                         {"attempts", attempt}});
    if (!counts.warning.empty()) {
        run_.reporter.Event({{"event", "warning"},
                             {"stream", st.plan->spec.name},
                             {"partition", p.id},
                             {"message", counts.warning}});
    }
    // Counted written here, once per partition, whichever way it was found committed.
    st.counters->rows_written.fetch_add(counts.rows_written, std::memory_order_relaxed);
    st.counters->bytes_written.fetch_add(counts.bytes_written, std::memory_order_relaxed);
    bool last = false;
    {
        std::lock_guard lock(run_.mu);
        st.summary.partitions_committed++;
        st.counters->partitions_done++;
        const MergeCounts landed = counts.Landed();
        const auto add_landed = [&landed](RowCounts& to) {
            to.inserted += landed.inserted;
            to.updated += landed.updated;
            to.unchanged += landed.unchanged;
            to.superseded += landed.superseded;
            to.deleted += landed.deleted;
        };
        add_landed(st.summary.rows);
        if (!p.slice.tenant.empty()) {
            RowCounts& tenant = st.summary.tenants[p.slice.tenant];
            tenant.read += counts.rows_read;
            tenant.written += counts.rows_written;
            tenant.rejected += counts.rows_rejected;
            tenant.filtered += counts.rows_filtered;
            add_landed(tenant);
        }
        // A distributed run's streams end when the ledger says so (CompleteIfDone).
        last = !run_.options.distributed && FinishPartitionLocked(st);
    }
    if (last) {
        CompleteStream(st);
    }
}

void StreamLifecycle::FailPartition(StreamState& st, const PartitionPlan& p, const Error& e) {
    const bool cancelled = e.kind() == ErrorKind::kCancelled;
    if (!cancelled) {
        run_.reporter.Event({{"event", "partition_failed"},
                             {"stream", st.plan->spec.name},
                             {"partition", p.id},
                             {"tenant", p.slice.tenant},
                             {"error", e.Describe()},
                             {"sqlstate", e.sqlstate()}});
    }
    std::unique_lock lock(run_.mu);
    st.counters->partitions_failed++;
    st.summary.partitions_failed++;
    st.failed_partition_tenants.push_back(p.slice.tenant);
    if (!cancelled) {
        if (st.summary.error.empty()) {
            st.summary.error = e.Describe();
        }
        if (!p.slice.tenant.empty() && !st.summary.failed_tenants.contains(p.slice.tenant)) {
            st.summary.failed_tenants[p.slice.tenant] = e.what();
        }
        NoteErrorLocked(e);
        if (!run_.options.continue_on_error) {
            queue_.StopLocked();  // on_error: stop rolls back the in-flight partitions
        }
    }
    const bool last = !run_.options.distributed && FinishPartitionLocked(st);
    lock.unlock();
    if (!cancelled && !run_.options.continue_on_error && run_.options.distributed) {
        StopEveryWorker();
    }
    if (last) {
        CompleteStream(st);
    }
    queue_.NotifyAll();
}

void StreamLifecycle::FailStreamLocked(StreamState& st, const Error& e) {
    st.summary.error = e.Describe();
    st.summary.partitions_failed = st.plan->partitions.size();
    st.counters->partitions_failed = st.plan->partitions.size();
    NoteErrorLocked(e);
    if (!run_.options.continue_on_error) {
        queue_.StopLocked();
    }
    st.remaining = 0;
    st.phase = StreamPhase::kDone;
    st.summary.status = "failed";
    run_.reporter.Event({{"event", "stream_finished"}, {"stream", st.plan->spec.name}, {"status", "failed"},
                         {"rows_written", 0}, {"error", st.summary.error}});
}

/// All partitions of the stream ended: publish (or clean up) the target. Runs without mu_
/// held: a replace's index builds and swap, or a tenant rollback, take a while, and the
/// workers of other streams must not wait for them. Nothing else touches this stream then.
void StreamLifecycle::CompleteStream(StreamState& st) {
    std::string status;
    {
        std::lock_guard lock(run_.mu);
        const size_t failed = st.summary.partitions_failed;
        const size_t committed = st.summary.partitions_committed;
        // Distributed: counted from the ledger when none of its partitions was open any more.
        const size_t planned = run_.options.distributed ? committed + failed : st.plan->partitions.size();
        status = failed == 0 && committed == planned ? "succeeded"
                 : committed == 0                                       ? "failed"
                                                                        : "partial";
        if (queue_.StoppedByUserLocked() && status != "succeeded") {
            status = "stopped";
        }
    }
    std::optional<Error> failure;
    try {
        const bool tenants_carried = RollBackFailedTenants(run_, st);
        const bool publish = MayPublish(st, status, tenants_carried);
        if (publish && status != "succeeded") {
            CarryOverFailedTenants(run_, st);
        }
        st.sink->Finalize(publish);
        if (!publish && ReplacesTarget(st) && status != "stopped") {
            failure = Error(ErrorKind::kData,
                            "not published: partitions failed, so the old table stays untouched; fix "
                            "the cause and run with --resume to load the rest and publish");
            failure->context().stream = st.plan->spec.name;
        }
    } catch (Error& e) {
        e.context().stream = st.plan->spec.name;
        failure = e;
    } catch (const std::exception& e) {
        failure = Error(ErrorKind::kInternal, e.what());
        failure->context().stream = st.plan->spec.name;
    }
    std::lock_guard lock(run_.mu);
    if (failure) {
        st.summary.error += (st.summary.error.empty() ? "" : "; ") + failure->Describe();
        status = "failed";
        NoteErrorLocked(*failure);
    }
    st.summary.status = status;
    st.phase = StreamPhase::kDone;
    st.counters->finished_ns = run_.tracker.NowNs();
    run_.reporter.Event({{"event", "stream_finished"},
                         {"stream", st.plan->spec.name},
                         {"status", status},
                         {"rows_written", st.counters->rows_written.load()}});
}

/// Whether a stream that ended `status` may publish: a replace only when every partition
/// committed, or when the only failures are whole tenants that were rolled back and whose
/// previous rows were carried over. Never half a table.
bool StreamLifecycle::MayPublish(const StreamState& st, const std::string& status, bool tenants_carried) {
    if (status == "succeeded") {
        return true;
    }
    // Only under on_error: continue: a run that stops at its first failure publishes nothing.
    if (status != "partial" || !run_.options.continue_on_error || !tenants_carried ||
        st.summary.failed_tenants.empty()) {
        return false;
    }
    std::lock_guard lock(run_.mu);
    for (const std::string& failed : st.failed_partition_tenants) {
        if (failed.empty() || !st.summary.failed_tenants.contains(failed)) {
            return false;
        }
    }
    return true;
}

/// The run's first error, which fails it: kept from the first partition or stream to fail.
void StreamLifecycle::NoteErrorLocked(const Error& e) {
    if (first_error_.empty()) {
        first_error_ = e.Describe();
        first_error_kind_ = e.kind();
    }
}

RunSummary StreamLifecycle::Finish() {
    // The workers have ended: this thread alone reads the streams now, without mu_.
    if (std::optional<Error> e = FinishJobSteps(run_, streams_)) {
        NoteErrorLocked(*e);  // foreign keys after every stream (sluice copy)
    }
    RunSummary summary;
    summary.seconds = run_.tracker.ElapsedSeconds();
    bool any_failed = false;
    bool all_ok = true;
    for (StreamState& st : streams_) {
        if (st.phase == StreamPhase::kWaiting) {
            st.summary.status = queue_.StoppedByUserLocked() ? "stopped" : "skipped";
        } else if (st.phase == StreamPhase::kActive) {
            // Workers left with partitions unstarted: the run was stopped.
            try {
                if (st.sink) {
                    st.sink->Finalize(false);
                }
            } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): the run already failed or stopped
            }
            st.summary.status = queue_.StoppedByUserLocked() ? "stopped" : "failed";
            if (ReplacesTarget(st)) {
                st.summary.error += std::string(st.summary.error.empty() ? "" : "; ") +
                                    "not published: the old table stays untouched; --resume loads "
                                    "the remaining partitions and publishes";
            }
        }
        st.summary.rows.read = st.counters->rows_read.load();
        st.summary.rows.written = st.counters->rows_written.load();
        st.summary.rows.rejected = st.counters->rows_rejected.load();
        st.summary.rows.filtered = st.counters->rows_filtered.load();
        const int64_t end = st.counters->finished_ns ? st.counters->finished_ns.load() : run_.tracker.NowNs();
        st.summary.seconds = static_cast<double>(end - st.counters->started_ns.load()) / 1e9;
        if (st.rejects && st.rejects->used()) {
            st.summary.rejects_file = st.rejects->path();
            st.summary.rows_in_rejects_file = st.rejects->rows();
        }
        any_failed |= st.summary.status == "failed" || st.summary.status == "partial" ||
                      st.summary.status == "skipped";
        all_ok &= st.summary.status == "succeeded";
        summary.streams.push_back(st.summary);
    }
    if (queue_.StoppedByUserLocked() && !all_ok) {
        summary.status = RunStatus::kStopped;
    } else if (all_ok) {
        summary.status = RunStatus::kSucceeded;
    } else if (run_.options.continue_on_error && any_failed && AnyCommitted(summary)) {
        summary.status = RunStatus::kPartial;
    } else {
        summary.status = RunStatus::kFailed;
    }
    summary.error = first_error_;
    summary.error_kind = first_error_kind_;
    nlohmann::json finished = SummaryJson(summary);
    finished["event"] = "run_finished";
    run_.reporter.Event(finished);
    return summary;
}

}  // namespace sluice
