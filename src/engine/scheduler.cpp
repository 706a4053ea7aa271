#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "connectors/registry.hpp"
#include "engine/pipeline.hpp"
#include "engine/retry.hpp"
#include "engine/run.hpp"
#include "engine/stream_marks.hpp"
#include "engine/tenant_streams.hpp"
#include "state/ledger.hpp"
#include "state/target_marks.hpp"

#include <nlohmann/json.hpp>

namespace sluice {

namespace {

enum class StreamPhase { kWaiting, kActive, kDone };

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
    size_t remaining = 0;
    StreamSummary summary;
    std::vector<std::string> failed_partition_tenants;  ///< tenant of each failed partition
    /// Tenants whose partitions must not start: they failed in an `after:` stream.
    std::map<std::string, std::string> blocked_tenants;
    bool prepare_failed = false;  ///< the target could not be prepared: no tenant can load
};

struct Task {
    size_t stream = 0;
    const PartitionPlan* partition = nullptr;
};

class Scheduler {
public:
    Scheduler(Plan& plan, const RunOptions& options, ProgressTracker& tracker,
              ProgressReporter& reporter)
        : plan_(plan), options_(options), tracker_(tracker), reporter_(reporter) {
        streams_.resize(plan.streams.size());
        for (size_t i = 0; i < plan.streams.size(); ++i) {
            StreamPlan& sp = plan.streams[i];
            StreamState& st = streams_[i];
            st.plan = &sp;
            st.counters = &tracker.AddStream(sp.spec.name, sp.estimated_rows, sp.partitions.size());
            st.summary.name = sp.spec.name;
            st.summary.partitions = sp.partitions.size();
            for (const PartitionPlan& p : sp.partitions) {
                if (p.committed) {
                    st.summary.partitions_committed++;
                    st.counters->partitions_done++;
                } else {
                    st.remaining++;
                }
            }
            if (std::string error = RecordUnplannedTenants(sp, st.summary, reporter);
                !error.empty() && first_error_.empty()) {
                first_error_ = std::move(error);
                first_error_kind_ = ErrorKind::kSchema;
            }
        }
    }

    RunSummary Run() {
        reporter_.Event({{"event", "run_started"},
                         {"job", plan_.job},
                         {"workers", options_.workers},
                         {"partitions", plan_.PartitionCount()}});
        {
            std::unique_lock lock(mu_);
            in_flight_ = 1;  // the coordinator's activation counts as work in flight
        }
        ActivateReady();
        {
            std::unique_lock lock(mu_);
            --in_flight_;
        }
        cv_.notify_all();
        std::stop_callback on_stop(options_.stop, [this] { RequestStop(); });
        std::stop_callback on_abort(options_.abort, [this] { RequestStop(); });
        {
            std::vector<std::jthread> workers;
            if (!options_.ledger_url.empty()) {
                workers.emplace_back([this](const std::stop_token& stop) { WatchStopFlag(stop); });
                workers.emplace_back([this](const std::stop_token& stop) { RenewLeases(stop); });
            }
            std::vector<std::jthread> pool;
            for (int w = 0; w < std::max(1, options_.workers); ++w) {
                pool.emplace_back([this, w] { WorkerLoop(w); });
            }
            pool.clear();  // joins the workers; then the ledger threads are stopped and joined
        }
        return Finish();
    }

private:
    void RequestStop() {
        {
            std::lock_guard lock(mu_);
            stopping_ = true;
            stopped_by_user_ = true;
        }
        cancel_.request_stop();
        cv_.notify_all();
    }

    void ObeyLedgerStop() {
        if (!Stopping()) {
            reporter_.Event({{"event", "stop_requested"}, {"run_id", options_.run_id}});
        }
        RequestStop();
    }

    /// Sleeps for `period` or until `stop` fires; false once stop was requested.
    static bool SleepUnlessStopped(const std::stop_token& stop, std::chrono::milliseconds period) {
        std::mutex sleep_mu;
        std::condition_variable_any sleeper;
        std::unique_lock lock(sleep_mu);
        return !sleeper.wait_for(lock, stop, period, [&stop] { return stop.stop_requested(); });
    }

    /// Polls the ledger's stop flag (`sluice stop RUN` from any shell or host) once a second.
    void WatchStopFlag(const std::stop_token& stop) {
        std::unique_ptr<Ledger> ledger;
        while (SleepUnlessStopped(stop, std::chrono::seconds(1))) {
            try {
                if (!ledger) {
                    ledger = Ledger::Open(options_.ledger_url, "sluice/" + plan_.job + "/stop-watch");
                }
                if (ledger->StopRequested(options_.run_id)) {
                    ObeyLedgerStop();
                    return;
                }
            } catch (const Error&) {
                ledger.reset();  // the target may be restarting; try again next second
            }
        }
    }

    /// Keeps this process's partition leases alive so that nobody reclaims them.
    void RenewLeases(const std::stop_token& stop) {
        std::unique_ptr<Ledger> ledger;
        const auto period = std::chrono::milliseconds(static_cast<int64_t>(options_.lease_seconds * 1000 / 3));
        while (SleepUnlessStopped(stop, period)) {
            try {
                if (!ledger) {
                    ledger = Ledger::Open(options_.ledger_url, "sluice/" + plan_.job + "/heartbeat");
                }
                ledger->RenewLeases(options_.run_id, options_.worker, UtcTimestamp(options_.lease_seconds));
            } catch (const Error&) {
                ledger.reset();
            }
        }
    }

    /// The worker's ledger connection, opened on first use and after a failure.
    Ledger* WorkerLedger(std::unique_ptr<Ledger>& ledger, int worker) {
        if (options_.ledger_url.empty()) {
            return nullptr;
        }
        if (!ledger) {
            ledger = Ledger::Open(options_.ledger_url,
                                  fmt::format("sluice/{}/ledger-w{}", plan_.job, worker));
        }
        return ledger.get();
    }

    /// Activates every waiting stream whose `after` streams all succeeded; marks streams whose
    /// prerequisites failed as skipped. Called without mu_ held, with in_flight_ > 0.
    void ActivateReady() {
        for (;;) {
            std::vector<size_t> to_activate;
            {
                std::lock_guard lock(mu_);
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
                    if (!blocked_by.empty() || (stopping_ && ready)) {
                        st.phase = StreamPhase::kDone;
                        st.summary.status = stopping_ && blocked_by.empty() ? "stopped" : "skipped";
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
            for (size_t i : to_activate) {
                Activate(i);
            }
        }
    }

    const StreamState* FindStream(const std::string& name) const {
        for (const StreamState& st : streams_) {
            if (st.plan->spec.name == name) {
                return &st;
            }
        }
        return nullptr;
    }

    /// The target no longer holds the rows of the stream's committed partitions (see
    /// Sink::Resume): load those partitions again too.
    void ReloadCommittedPartitions(StreamState& st) {
        // The ledger first: a claim refuses a partition marked committed.
        if (!options_.ledger_url.empty()) {
            Ledger::Open(options_.ledger_url, "sluice/" + plan_.job + "/reload")
                ->ReopenPartitions(options_.run_id, st.plan->spec.name);
        }
        if (st.marks) {
            st.marks->Forget(options_.run_id, st.plan->spec.name);
        }
        std::lock_guard lock(mu_);
        size_t reloaded = 0;
        for (PartitionPlan& p : st.plan->partitions) {
            if (p.committed) {
                p.committed = false;
                ++reloaded;
            }
        }
        st.summary.partitions_committed -= reloaded;
        st.counters->partitions_done -= reloaded;
        st.remaining += reloaded;
        if (reloaded > 0) {
            reporter_.Event({{"event", "stream_reloading"},
                             {"stream", st.plan->spec.name},
                             {"partitions", reloaded},
                             {"reason", "the target no longer holds the rows of the committed "
                                        "partitions (a replace whose staging table is gone)"}});
        }
    }

    /// Prepares the stream's target and queues its partitions (largest first overall).
    void Activate(size_t index) {
        StreamState& st = streams_[index];
        StreamPlan& sp = *st.plan;
        st.counters->started_ns = tracker_.NowNs();
        try {
            st.sink = OpenSink(sp.spec.target);
            OpenTargetMarks(st);
            // Only with committed partitions: before the first commit, the earlier run may not
            // even have prepared (emptied, staged) the target, so the stream starts afresh.
            if (options_.resuming && st.summary.partitions_committed > 0 && !st.sink->Resume()) {
                ReloadCommittedPartitions(st);
            }
            Schema target = st.sink->Prepare(StreamLoadSchema(sp));
            UndoAbandonedRun(st);
            st.conformer = MakeStreamConformer(sp, target);
            st.rejects = std::make_unique<RejectWriter>(options_.rejects_dir, sp.spec.name, options_.run_id);
            st.sources = sp.sources;
            if (sp.passthrough_candidate) {
                ReopenForPassThrough(st, target);
            }
        } catch (Error& e) {
            e.context().stream = sp.spec.name;
            std::lock_guard lock(mu_);
            st.prepare_failed = true;
            FailStreamLocked(st, e);
            return;
        } catch (const std::exception& e) {
            Error wrapped(ErrorKind::kInternal, e.what());
            wrapped.context().stream = sp.spec.name;
            std::lock_guard lock(mu_);
            FailStreamLocked(st, wrapped);
            return;
        }
        reporter_.Event({{"event", "stream_started"},
                         {"stream", sp.spec.name},
                         {"partitions", sp.partitions.size()},
                         {"passthrough", st.summary.passthrough}});
        std::vector<std::pair<const PartitionPlan*, std::string>> blocked;
        bool nothing_to_load = true;
        {
            std::lock_guard lock(mu_);
            if (!sp.partitions.empty() && st.remaining > 0) {
                nothing_to_load = false;
                for (const PartitionPlan& p : sp.partitions) {
                    if (p.committed) {
                        continue;
                    }
                    if (std::string why = WhyPartitionBlocked(sp, p, st.blocked_tenants); !why.empty()) {
                        blocked.emplace_back(&p, std::move(why));
                    } else {
                        ready_.push_back({index, &p});
                    }
                }
                std::stable_sort(ready_.begin(), ready_.end(), [](const Task& a, const Task& b) {
                    return a.partition->slice.estimated_rows > b.partition->slice.estimated_rows;
                });
                cv_.notify_all();
            }
        }
        if (nothing_to_load) {
            CompleteStream(st);  // nothing (left) to load
            return;
        }
        // Fails them as partitions, so the ledger and the summary name them; the last one to
        // end, blocked or loaded, completes the stream.
        std::unique_ptr<Ledger> ledger;
        for (const auto& [p, why] : blocked) {
            Error e(ErrorKind::kData, why);
            e.context() = {sp.spec.name, std::to_string(p->id), p->slice.tenant};
            RecordFailure(ledger, 0, sp.spec.name, *p, e);
            FailPartition(st, *p, e);
        }
    }

    static bool SameWireTypes(const Schema& a, const Schema& b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (size_t i = 0; i < a.size(); ++i) {
            const DataType& x = a.fields[i].type;
            const DataType& y = b.fields[i].type;
            if (x.id != y.id || x.element != y.element || x.jsonb != y.jsonb ||
                a.fields[i].native_type != b.fields[i].native_type) {
                return false;
            }
        }
        return true;
    }

    /// Reads through raw COPY the sources whose mapping to `target` is the identity (same
    /// columns, order and wire types); the others keep decoding and mapping by name.
    void ReopenForPassThrough(StreamState& st, const Schema& target) {
        const StreamPlan& sp = *st.plan;
        for (size_t t = 0; t < sp.sources.size() && t < sp.source_schemas.size(); ++t) {
            const std::string tenant = TenantOfSource(sp, t);
            if (!st.conformer->Identity(tenant) || !SameWireTypes(sp.source_schemas[t], target)) {
                continue;
            }
            SourceSpec spec = sp.spec.source;
            if (!tenant.empty()) {
                // tenants.values, and tenants.query with a column, filter; the others are schemas.
                if (sp.spec.tenants.values_column.empty()) {
                    spec.tenant_schema = tenant;
                } else {
                    spec.tenant_column = sp.spec.tenants.values_column;
                    spec.tenant_value = tenant;
                }
                spec.application_name += "/" + tenant;
            }
            spec.raw_copy = true;
            st.sources[t] = OpenSource(spec);
            st.summary.passthrough = true;
        }
    }

    void WorkerLoop(int worker) {
        std::map<size_t, std::unique_ptr<SinkWriter>> writers;
        std::unique_ptr<Ledger> ledger;
        std::mt19937_64 rng(std::random_device{}() + static_cast<uint64_t>(worker));
        for (;;) {
            Task task;
            {
                std::unique_lock lock(mu_);
                cv_.wait(lock, [&] { return stopping_ || !ready_.empty() || in_flight_ == 0; });
                if (stopping_ || ready_.empty()) {
                    cv_.notify_all();
                    break;
                }
                task = ready_.front();
                ready_.erase(ready_.begin());
                ++in_flight_;
            }
            if (TenantAlreadyFailed(task)) {
                Error skipped(ErrorKind::kData,
                              fmt::format("not loaded: tenant {} already failed and is rolled back",
                                          task.partition->slice.tenant));
                RecordFailure(ledger, worker, streams_[task.stream].plan->spec.name, *task.partition,
                              skipped);
                FailPartition(streams_[task.stream], *task.partition, skipped);
            } else {
                RunTask(task, writers, ledger, worker, rng);
            }
            bool activate = false;
            {
                std::lock_guard lock(mu_);
                StreamState& st = streams_[task.stream];
                activate = st.phase == StreamPhase::kDone;
            }
            if (activate) {
                ActivateReady();
            }
            {
                std::lock_guard lock(mu_);
                --in_flight_;
            }
            cv_.notify_all();
        }
    }

    void RunTask(const Task& task, std::map<size_t, std::unique_ptr<SinkWriter>>& writers,
                 std::unique_ptr<Ledger>& ledger, int worker, std::mt19937_64& rng) {
        StreamState& st = streams_[task.stream];
        const PartitionPlan& p = *task.partition;
        const std::string& stream = st.plan->spec.name;
        bool bisect = false;
        for (int attempt = 1;; ++attempt) {
            try {
                auto& writer = writers[task.stream];
                if (!writer) {
                    writer = st.sink->OpenWriter();
                }
                Ledger* led = WorkerLedger(ledger, worker);
                // Bisecting needs decoded rows: pass-through streams read through the
                // decoding sources for that retry.
                Source& source = bisect ? *st.plan->sources[p.source_index] : *st.sources[p.source_index];
                PipelineContext ctx{source, p.slice, p.id, *writer,
                                    *st.conformer, *st.rejects, *st.counters, options_.max_rejects,
                                    options_.queue_batches, options_.queue_bytes,
                                    cancel_.get_token(), {}, {}, bisect};
                std::optional<PartitionClaim> claim;
                if (led != nullptr) {
                    // Besides the once-a-second watch, `sluice stop` is obeyed at every
                    // partition start, so short partitions never outrun it.
                    if (led->StopRequested(options_.run_id)) {
                        ObeyLedgerStop();
                        throw Error(ErrorKind::kCancelled, "stop requested through the ledger");
                    }
                    const std::optional<int> claimed = led->ClaimPartition(
                        options_.run_id, stream, p.id, options_.worker, UtcTimestamp(options_.lease_seconds));
                    if (!claimed) {
                        // Committed already: an earlier attempt's COMMIT landed although its
                        // reply was lost. Loading it again would duplicate its rows.
                        const std::optional<PartitionRecord> done = led->GetPartition(options_.run_id, stream, p.id);
                        CountAsCommitted(st, p, done ? done->rows : 0, attempt);
                        return;
                    }
                    claim = PartitionClaim{options_.run_id, stream, p.id, options_.worker, *claimed};
                    // Claimed before: an earlier attempt may have committed in the target and
                    // died before the ledger heard of it.
                    if (*claimed > 1 && AdoptTargetMark(st, *led, p, attempt)) {
                        return;
                    }
                    if (st.plan->spec.target.url == options_.ledger_url) {
                        ctx.commit_mark = [led, &claim](int64_t rows, const std::vector<RejectedRow>& rejects,
                                                        const std::string& undo) {
                            return led->CommitMarkFor(*claim, rows, rejects, undo);
                        };
                        ctx.commit_landed = [this, &claim] { return ClaimCommitted(*claim); };
                    } else if (st.marks) {
                        ctx.commit_mark = [this, &st, &claim, &p](int64_t rows, const std::vector<RejectedRow>&,
                                                                  const std::string& undo) {
                            return CommitMark{st.marks->InsertSql(plan_.job, *claim, p.slice.tenant, rows, undo), ""};
                        };
                        ctx.commit_landed = [this, &st, &claim] { return TargetMarkLanded(st, *claim); };
                    }
                }
                PartitionCounts counts = RunPartition(ctx);
                if (led != nullptr && (!counts.marked_in_transaction || st.marks)) {
                    // The ledger is elsewhere: mark it after the COMMIT. With marks in the
                    // target, a crash in between is caught up from them; without, the
                    // partition loads again on resume (at least once).
                    led->MarkCommitted(*claim, counts.rows_written, counts.rejects, counts.undo);
                }
                PartitionCommitted(st, p, counts, attempt);
                return;
            } catch (ClaimFenced& e) {
                writers.erase(task.stream);
                // With marks in the target, a refused mark means another attempt committed
                // the partition first: its rows are there.
                try {
                    if (Ledger* led = WorkerLedger(ledger, worker); led != nullptr && AdoptTargetMark(st, *led, p, attempt)) {
                        return;
                    }
                } catch (const Error&) {  // NOLINT(bugprone-empty-catch): unknown; a resume reconciles
                }
                e.context() = {stream, std::to_string(p.id), p.slice.tenant};
                FailPartition(st, p, e);  // cancelled: the ledger row is the new owner's
                return;
            } catch (Error& e) {
                e.context().stream = stream;
                e.context().partition = std::to_string(p.id);
                e.context().tenant = p.slice.tenant;
                const bool can_bisect = writers[task.stream] != nullptr &&
                                        writers[task.stream]->SupportsIsolatedWrites();
                writers.erase(task.stream);  // a failed connection must not serve the next try
                if (e.IsTransient()) {
                    ledger.reset();  // the ledger may share the failed server
                }
                if (!bisect && IsDataSqlstate(e.sqlstate()) && e.kind() == ErrorKind::kData &&
                    options_.max_rejects > 0 && can_bisect) {
                    // The target refused a row: load the partition again, isolating batches,
                    // to set exactly the refused rows aside. Not counted as an attempt.
                    bisect = true;
                    --attempt;
                    continue;
                }
                if (e.IsTransient() && attempt < options_.retry.attempts && !Stopping()) {
                    reporter_.Event({{"event", "partition_retry"},
                                     {"stream", stream},
                                     {"partition", p.id},
                                     {"attempt", attempt + 1},
                                     {"error", e.Describe()}});
                    SleepUnlessStopped(cancel_.get_token(),
                                       std::chrono::duration_cast<std::chrono::milliseconds>(
                                           RetryDelay(options_.retry, attempt, rng)));
                    continue;
                }
                RecordFailure(ledger, worker, stream, p, e);
                FailPartition(st, p, e);
                return;
            } catch (const std::exception& e) {
                Error wrapped(ErrorKind::kInternal, e.what());
                wrapped.context() = {stream, std::to_string(p.id), p.slice.tenant};
                writers.erase(task.stream);
                RecordFailure(ledger, worker, stream, p, wrapped);
                FailPartition(st, p, wrapped);
                return;
            }
        }
    }

    /// A partition found committed by an earlier attempt: counted, not loaded again.
    void CountAsCommitted(StreamState& st, const PartitionPlan& p, int64_t rows, int attempt) {
        PartitionCounts counts;
        counts.rows_written = rows;
        st.counters->rows_written.fetch_add(rows, std::memory_order_relaxed);
        PartitionCommitted(st, p, counts, attempt);
    }

    /// When the stream's target holds a mark for the partition, records it committed in the
    /// ledger and counts it; false when there is none (or the stream keeps no marks).
    bool AdoptTargetMark(StreamState& st, Ledger& ledger, const PartitionPlan& p, int attempt) {
        if (!st.marks) {
            return false;
        }
        const std::optional<TargetMark> mark = st.marks->Find(options_.run_id, st.plan->spec.name, p.id);
        if (!mark) {
            return false;
        }
        ledger.AdoptCommitted(options_.run_id, st.plan->spec.name, p.id, mark->rows, mark->undo);
        CountAsCommitted(st, p, mark->rows, attempt);
        return true;
    }

    /// Whether the target holds this claim's mark (COMMIT failed, maybe only its reply).
    bool TargetMarkLanded(StreamState& st, const PartitionClaim& claim) {
        for (int attempt = 1; attempt <= 5; ++attempt) {
            try {
                const std::optional<TargetMark> mark = st.marks->Find(claim.run_id, claim.stream, claim.partition);
                return mark && mark->attempt == claim.attempt;
            } catch (const Error&) {
                if (options_.stop.stop_requested()) {
                    return false;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(500 * attempt));
            }
        }
        return false;  // unknown: the retry's claim looks again (AdoptTargetMark)
    }

    /// Streams whose ledger is elsewhere keep their partition marks in their own target
    /// (TargetMarks). A resumed run first takes the target's word on what committed.
    void OpenTargetMarks(StreamState& st) {
        const StreamSpec& spec = st.plan->spec;
        if (!KeepsTargetMarks(spec.target.url, options_.ledger_url)) {
            return;
        }
        try {
            st.marks = TargetMarks::Open(spec.target.url, "sluice/" + plan_.job + "/marks");
        } catch (const Error& e) {
            reporter_.Event({{"event", "warning"},
                             {"stream", spec.name},
                             {"message", fmt::format("at least once: cannot keep partition marks in the target "
                                                     "({}); a crash between a partition's COMMIT and its ledger "
                                                     "mark loads it again on --resume",
                                                     e.what())}});
            return;
        }
        if (!options_.resuming) {
            st.marks->ForgetOtherRuns(plan_.job, options_.run_id);
            return;
        }
        std::unique_ptr<Ledger> ledger = Ledger::Open(options_.ledger_url, "sluice/" + plan_.job + "/marks");
        const MarksReconciled changed = ReconcileWithTargetMarks(*ledger, *st.marks, options_.run_id, *st.plan);
        std::lock_guard lock(mu_);
        st.summary.partitions_committed = st.summary.partitions_committed + changed.adopted - changed.reopened;
        st.counters->partitions_done = st.counters->partitions_done + changed.adopted - changed.reopened;
        st.remaining = st.remaining + changed.reopened - changed.adopted;
        if (changed.adopted + changed.reopened > 0) {
            reporter_.Event({{"event", "ledger_caught_up"},
                             {"stream", spec.name},
                             {"committed_in_target", changed.adopted},
                             {"gone_from_target", changed.reopened}});
        }
    }

    void PartitionCommitted(StreamState& st, const PartitionPlan& p, const PartitionCounts& counts, int attempt) {
        reporter_.Event({{"event", "partition_committed"},
                         {"stream", st.plan->spec.name},
                         {"partition", p.id},
                         {"tenant", p.slice.tenant},
                         {"rows", counts.rows_written},
                         {"rejected", counts.rows_rejected},
                         {"attempts", attempt}});
        if (!counts.warning.empty()) {
            reporter_.Event({{"event", "warning"},
                             {"stream", st.plan->spec.name},
                             {"partition", p.id},
                             {"message", counts.warning}});
        }
        bool last = false;
        {
            std::lock_guard lock(mu_);
            st.summary.partitions_committed++;
            st.counters->partitions_done++;
            last = FinishPartitionLocked(st);
        }
        if (last) {
            CompleteStream(st);
        }
    }

    /// After a failed COMMIT: whether the claim's mark (and so its data) committed anyway.
    /// Asks on a fresh connection, a few times: the server may be restarting.
    bool ClaimCommitted(const PartitionClaim& claim) {
        for (int attempt = 1; attempt <= 5; ++attempt) {
            try {
                std::unique_ptr<Ledger> ledger =
                    Ledger::Open(options_.ledger_url, "sluice/" + plan_.job + "/commit-check");
                const std::optional<PartitionRecord> p =
                    ledger->GetPartition(claim.run_id, claim.stream, claim.partition);
                return p && p->status == "committed" && p->attempts == claim.attempt && p->worker == claim.worker;
            } catch (const Error&) {
                if (options_.stop.stop_requested()) {
                    return false;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(500 * attempt));
            }
        }
        return false;  // unknown: the retry's claim finds out (ClaimPartition)
    }

    /// --restart: deletes what the abandoned run's committed partitions of this stream wrote
    /// (a replace starts a fresh staging table instead), with their ledger marks.
    void UndoAbandonedRun(StreamState& st) {
        if (options_.undo_run.empty() || options_.ledger_url.empty() || ReplacesTarget(st)) {
            return;
        }
        std::unique_ptr<Ledger> ledger = Ledger::Open(options_.ledger_url, "sluice/" + plan_.job + "/restart");
        std::vector<std::string> tokens = ledger->UndoTokens(options_.undo_run, st.plan->spec.name);
        // Partitions an older sluice committed recorded no token: their rows cannot be told
        // apart, so they stay (as --restart always did before) and the user is told.
        const auto untracked = std::erase(tokens, std::string());
        if (untracked > 0) {
            reporter_.Event({{"event", "warning"},
                             {"stream", st.plan->spec.name},
                             {"message", fmt::format("--restart: {} partition(s) of run {} were committed by an "
                                                     "older sluice without an undo token; their rows stay",
                                                     untracked, options_.undo_run)}});
        }
        if (tokens.empty()) {
            return;
        }
        const std::string sql = ledger->UndoneByRestartSql(options_.undo_run, st.plan->spec.name, options_.run_id);
        const bool shared = st.plan->spec.target.url == options_.ledger_url;
        st.sink->Undo(tokens, shared ? sql : MarksDeleteSql(st, options_.undo_run));
        if (!shared) {
            ledger->ExecScript(sql);
        }
        reporter_.Event({{"event", "restart_undone"},
                         {"stream", st.plan->spec.name},
                         {"run_id", options_.undo_run},
                         {"partitions", tokens.size()}});
    }

    /// Writes the failure to the ledger; a ledger that is unreachable too only loses the
    /// message (the partition stays claimable through its lease).
    void RecordFailure(std::unique_ptr<Ledger>& ledger, int worker, const std::string& stream,
                       const PartitionPlan& p, const Error& e) {
        try {
            if (Ledger* led = WorkerLedger(ledger, worker)) {
                if (e.kind() == ErrorKind::kCancelled) {
                    led->Release(options_.run_id, stream, p.id);
                } else {
                    led->MarkFailed(options_.run_id, stream, p.id, e.Describe());
                }
            }
        } catch (const Error&) {
            ledger.reset();
        }
    }

    /// A tenant whose partition failed is rolled back as a whole at the end of the stream,
    /// so its remaining partitions need not load.
    bool TenantAlreadyFailed(const Task& task) {
        std::lock_guard lock(mu_);
        const StreamState& st = streams_[task.stream];
        const std::string& tenant = task.partition->slice.tenant;
        return !tenant.empty() && st.summary.failed_tenants.contains(tenant);
    }

    static bool ReplacesTarget(const StreamState& st) {
        return st.plan->spec.target.mode == "replace" || st.plan->spec.target.create == "replace";
    }

    /// Deletes exactly the rows this run's committed partitions of every failed tenant wrote
    /// (by their undo tokens: rows earlier runs loaded stay) and turns those partitions back
    /// to failed, so each tenant is all-or-nothing and a --resume loads it whole. A replace
    /// then carries the tenant's previous rows over from the old table, so publishing does not
    /// blank it. Returns false when a failed tenant's previous rows cannot be carried over
    /// (no tenant column): the replace must not publish then.
    bool RollBackFailedTenants(StreamState& st) {
        if (st.summary.failed_tenants.empty()) {
            return true;
        }
        if (options_.ledger_url.empty()) {
            throw Error(ErrorKind::kInternal, "cannot roll back failed tenants: the run keeps no ledger");
        }
        std::unique_ptr<Ledger> ledger = Ledger::Open(options_.ledger_url, "sluice/" + plan_.job + "/tenant-rollback");
        const bool shared = st.plan->spec.target.url == options_.ledger_url;
        const std::string& column = st.plan->spec.tenants.as_column;
        bool can_carry = true;  // every failed tenant has a tenant column to copy its previous rows by
        for (const auto& [tenant, error] : st.summary.failed_tenants) {
            const std::string sql = ledger->RollbackTenantSql(options_.run_id, st.plan->spec.name, tenant);
            st.sink->Undo(ledger->UndoTokens(options_.run_id, st.plan->spec.name, tenant),
                          shared ? sql : MarksDeleteSql(st, options_.run_id, tenant));
            if (!shared) {
                ledger->ExecScript(sql);
            }
            can_carry = can_carry && !column.empty();
            reporter_.Event({{"event", "tenant_rolled_back"},
                             {"stream", st.plan->spec.name},
                             {"tenant", tenant},
                             {"error", error}});
        }
        return can_carry || !ReplacesTarget(st);
    }

    /// Deletes, with the rows being undone, their partitions' marks in the target (if kept
    /// there); the ledger follows after, and a crash in between is caught up on resume.
    static std::string MarksDeleteSql(const StreamState& st, const std::string& run_id,
                                      const std::optional<std::string>& tenant = std::nullopt) {
        return st.marks ? st.marks->DeleteSql(run_id, st.plan->spec.name, tenant) : "";
    }

    /// A replace about to publish without some tenants: copies each failed tenant's previous
    /// rows from the old table into the new one, so publishing does not blank it. Only right
    /// before the publish: a staging table kept for --resume must hold this run's rows only.
    void CarryOverFailedTenants(StreamState& st) {
        if (!ReplacesTarget(st)) {
            return;
        }
        for (const auto& [tenant, error] : st.summary.failed_tenants) {
            const int64_t kept = st.sink->CarryOverTenant(st.plan->spec.tenants.as_column, tenant);
            {
                std::lock_guard lock(mu_);
                st.summary.carried_over_tenants[tenant] = kept;
            }
            reporter_.Event({{"event", "tenant_previous_rows_kept"},
                             {"stream", st.plan->spec.name},
                             {"tenant", tenant},
                             {"rows", kept}});
        }
    }

    /// Whether a stream that ended `status` may publish: a replace only when every partition
    /// committed, or when the only failures are whole tenants that were rolled back and whose
    /// previous rows were carried over. Never half a table.
    bool MayPublish(const StreamState& st, const std::string& status, bool tenants_carried) {
        if (status == "succeeded") {
            return true;
        }
        // Only under on_error: continue: a run that stops at its first failure publishes nothing.
        if (status != "partial" || !options_.continue_on_error || !tenants_carried ||
            st.summary.failed_tenants.empty()) {
            return false;
        }
        std::lock_guard lock(mu_);
        for (const std::string& failed : st.failed_partition_tenants) {
            if (failed.empty() || !st.summary.failed_tenants.contains(failed)) {
                return false;
            }
        }
        return true;
    }

    bool Stopping() {
        std::lock_guard lock(mu_);
        return stopping_;
    }

    void FailPartition(StreamState& st, const PartitionPlan& p, const Error& e) {
        const bool cancelled = e.kind() == ErrorKind::kCancelled;
        if (!cancelled) {
            reporter_.Event({{"event", "partition_failed"},
                             {"stream", st.plan->spec.name},
                             {"partition", p.id},
                             {"tenant", p.slice.tenant},
                             {"error", e.Describe()},
                             {"sqlstate", e.sqlstate()}});
        }
        std::unique_lock lock(mu_);
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
            if (first_error_.empty()) {
                first_error_ = e.Describe();
                first_error_kind_ = e.kind();
            }
            if (!options_.continue_on_error) {
                stopping_ = true;
                cancel_.request_stop();  // on_error: stop rolls back the in-flight partitions
            }
        }
        const bool last = FinishPartitionLocked(st);
        lock.unlock();
        if (last) {
            CompleteStream(st);
        }
        cv_.notify_all();
    }

    void FailStreamLocked(StreamState& st, const Error& e) {
        st.summary.error = e.Describe();
        st.summary.partitions_failed = st.plan->partitions.size();
        st.counters->partitions_failed = st.plan->partitions.size();
        if (first_error_.empty()) {
            first_error_ = e.Describe();
            first_error_kind_ = e.kind();
        }
        if (!options_.continue_on_error) {
            stopping_ = true;
            cancel_.request_stop();
        }
        st.remaining = 0;
        st.phase = StreamPhase::kDone;
        st.summary.status = "failed";
        reporter_.Event({{"event", "stream_finished"}, {"stream", st.plan->spec.name}, {"status", "failed"},
                         {"rows_written", 0}, {"error", st.summary.error}});
    }

    /// Counts one ended partition; true when it was the stream's last: the caller then calls
    /// CompleteStream, after releasing mu_.
    [[nodiscard]] bool FinishPartitionLocked(StreamState& st) { return --st.remaining == 0; }

    /// All partitions of the stream ended: publish (or clean up) the target. Runs without mu_
    /// held: a replace's index builds and swap, or a tenant rollback, take a while, and the
    /// workers of other streams must not wait for them. Nothing else touches this stream then.
    void CompleteStream(StreamState& st) {
        std::string status;
        {
            std::lock_guard lock(mu_);
            const size_t failed = st.summary.partitions_failed;
            const size_t committed = st.summary.partitions_committed;
            status = failed == 0 && committed == st.plan->partitions.size() ? "succeeded"
                     : committed == 0                                       ? "failed"
                                                                            : "partial";
            if (stopped_by_user_ && status != "succeeded") {
                status = "stopped";
            }
        }
        std::optional<Error> failure;
        try {
            const bool tenants_carried = RollBackFailedTenants(st);
            const bool publish = MayPublish(st, status, tenants_carried);
            if (publish && status != "succeeded") {
                CarryOverFailedTenants(st);
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
        std::lock_guard lock(mu_);
        if (failure) {
            st.summary.error += (st.summary.error.empty() ? "" : "; ") + failure->Describe();
            status = "failed";
            if (first_error_.empty()) {
                first_error_ = failure->Describe();
                first_error_kind_ = failure->kind();
            }
        }
        st.summary.status = status;
        st.phase = StreamPhase::kDone;
        st.counters->finished_ns = tracker_.NowNs();
        reporter_.Event({{"event", "stream_finished"},
                         {"stream", st.plan->spec.name},
                         {"status", status},
                         {"rows_written", st.counters->rows_written.load()}});
    }

    RunSummary Finish() {
        RunSummary summary;
        summary.seconds = tracker_.ElapsedSeconds();
        bool any_failed = false;
        bool all_ok = true;
        for (StreamState& st : streams_) {
            if (st.phase == StreamPhase::kWaiting) {
                st.summary.status = stopped_by_user_ ? "stopped" : "skipped";
            } else if (st.phase == StreamPhase::kActive) {
                // Workers left with partitions unstarted: the run was stopped.
                try {
                    if (st.sink) {
                        st.sink->Finalize(false);
                    }
                } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): the run already failed or stopped
                }
                st.summary.status = stopped_by_user_ ? "stopped" : "failed";
                if (ReplacesTarget(st)) {
                    st.summary.error += std::string(st.summary.error.empty() ? "" : "; ") +
                                        "not published: the old table stays untouched; --resume loads "
                                        "the remaining partitions and publishes";
                }
            }
            st.summary.rows_read = st.counters->rows_read.load();
            st.summary.rows_written = st.counters->rows_written.load();
            st.summary.rows_rejected = st.counters->rows_rejected.load();
            const int64_t end = st.counters->finished_ns ? st.counters->finished_ns.load() : tracker_.NowNs();
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
        if (stopped_by_user_ && !all_ok) {
            summary.status = RunStatus::kStopped;
        } else if (all_ok) {
            summary.status = RunStatus::kSucceeded;
        } else if (options_.continue_on_error && any_failed && AnyCommitted(summary)) {
            summary.status = RunStatus::kPartial;
        } else {
            summary.status = RunStatus::kFailed;
        }
        summary.error = first_error_;
        summary.error_kind = first_error_kind_;
        reporter_.Event({{"event", "run_finished"},
                         {"status", RunStatusName(summary.status)},
                         {"seconds", summary.seconds},
                         {"error", summary.error}});
        return summary;
    }

    /// Whether any stream left rows in its target: a failed stream's committed partitions
    /// (an unpublished replace's staging table) do not count.
    static bool AnyCommitted(const RunSummary& s) {
        return std::any_of(s.streams.begin(), s.streams.end(), [](const StreamSummary& st) {
            return st.partitions_committed > 0 && st.status != "failed";
        });
    }

    Plan& plan_;
    const RunOptions& options_;
    ProgressTracker& tracker_;
    ProgressReporter& reporter_;
    std::stop_source cancel_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<StreamState> streams_;  // phases, summaries and counters guarded by mu_
    std::vector<Task> ready_;           // guarded by mu_
    int in_flight_ = 0;                 // guarded by mu_
    bool stopping_ = false;             // guarded by mu_
    bool stopped_by_user_ = false;      // guarded by mu_
    std::string first_error_;           // guarded by mu_
    ErrorKind first_error_kind_ = ErrorKind::kInternal;  // guarded by mu_
};

}  // namespace

RunSummary RunPlan(Plan& plan, const RunOptions& options, ProgressTracker& tracker,
                   ProgressReporter& reporter) {
    Scheduler scheduler(plan, options, tracker, reporter);
    return scheduler.Run();
}

}  // namespace sluice
