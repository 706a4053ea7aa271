#include "engine/partition_loader.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/convert.hpp"
#include "core/fnv.hpp"
#include "engine/ledger_watch.hpp"
#include "engine/retry.hpp"

namespace sluice {

namespace {

PartitionTally TallyOf(const PartitionCounts& counts) {
    const MergeCounts landed = counts.Landed();
    return {.rows_read = counts.rows_read,
            .rows_written = counts.rows_written,
            .bytes = counts.bytes_read,
            .rows_inserted = landed.inserted,
            .rows_updated = landed.updated,
            .rows_unchanged = landed.unchanged,
            .rows_deleted = landed.deleted,
            .rows_filtered = counts.rows_filtered,
            .bytes_written = counts.bytes_written};
}

/// What a transform's run_id(), now(), tenant() and source_file() say in this partition. now()
/// is the run's start as the ledger keeps it, so a resumed run computes the same values.
expr::EvalEnv TransformEnv(const std::string& run_id, const StreamState& st, const PartitionPlan& p) {
    expr::EvalEnv env;
    env.run_id = run_id;
    Column started(MakeType(LogicalType::kTimestampTz));
    const std::string& at = st.plan->spec.target.run_started_at;
    if (!at.empty() && AppendParsed(started, at).ok()) {
        env.run_started_micros = started.Get<int64_t>(0);
    } else {
        env.run_started_micros = std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
    }
    env.tenant = p.slice.tenant;
    env.source_file = p.slice.file;
    return env;
}

/// `<key>#<attempt>` (Slice::claim): the key, 48 bits of FNV-1a over the run, the stream and
/// the partition, is the same in every process working on the run and short enough to fit a
/// session's application_name beside a readable description.
std::string ClaimTag(const std::string& run_id, const std::string& stream, int partition, int attempt) {
    const std::string name = fmt::format("{}\n{}\n{}", run_id, stream, partition);
    uint64_t hash = kFnvOffset;
    FnvMix(hash, name.data(), name.size());
    return fmt::format("{:012x}#{}", hash >> 16, attempt);
}

}  // namespace

PartitionLoader::PartitionLoader(const RunContext& run, StreamLifecycle& streams, WorkQueue& queue, int worker)
    : run_(run),
      streams_(streams),
      queue_(queue),
      ledger_(run.options, run.job, worker),
      rng_(std::random_device{}() + static_cast<uint64_t>(worker)) {}

void PartitionLoader::Load(const Task& task) {
    if (streams_.TenantAlreadyFailed(task)) {
        Error skipped(ErrorKind::kData,
                      fmt::format("not loaded: tenant {} already failed and is rolled back",
                                  task.partition->slice.tenant));
        ledger_.RecordFailure(streams_.Stream(task.stream).plan->spec.name, *task.partition, skipped);
        streams_.FailPartition(streams_.Stream(task.stream), *task.partition, skipped);
    } else {
        RunTask(task);
    }
}

void PartitionLoader::RunTask(const Task& task) {
    const RunOptions& options = run_.options;
    StreamState& st = streams_.Stream(task.stream);
    const PartitionPlan& p = *task.partition;
    const std::string& stream = st.plan->spec.name;
    bool bisect = false;
    for (int attempt = 1;; ++attempt) {
        try {
            auto& writer = writers_[task.stream];
            if (!writer) {
                writer = st.sink->OpenWriter();
            }
            Ledger* led = ledger_.Get();
            // Bisecting needs decoded rows: pass-through streams read through the
            // decoding sources for that retry.
            Source& source = bisect ? *st.plan->sources[p.source_index] : *st.sources[p.source_index];
            const expr::EvalEnv env = TransformEnv(options.run_id, st, p);
            const RowTransform* transform =
                p.source_index < st.plan->transforms.size() ? st.plan->transforms[p.source_index].get() : nullptr;
            Slice slice = p.slice;
            slice.sole_writer = st.plan->partitions.size() == 1;
            slice.partition = p.id;
            PipelineContext ctx{source, slice, p.id, *writer, transform, &env, &st.lookups,
                                *st.conformer, *st.rejects, *st.counters, options.max_rejects,
                                options.queue_batches, options.queue_bytes,
                                queue_.CancelToken(), {}, {}, bisect};
            std::optional<PartitionClaim> claim;
            if (led != nullptr) {
                // Besides the once-a-second watch, `sluice stop` is obeyed at every
                // partition start, so short partitions never outrun it.
                if (led->StopRequested(options.run_id)) {
                    ObeyLedgerStop(queue_, run_.reporter, options.run_id);
                    throw Error(ErrorKind::kCancelled, "stop requested through the ledger");
                }
                const std::optional<int> claimed =
                    attempt == 1 && task.claimed_attempt > 0
                        ? task.claimed_attempt
                        : led->ClaimPartition(options.run_id, stream, p.id, options.worker, options.lease_seconds,
                                              options.distributed);
                if (!claimed && options.distributed) {
                    const std::optional<PartitionRecord> now = led->GetPartition(options.run_id, stream, p.id);
                    if (!now || now->status != "committed" || now->worker != options.worker) {
                        // Another worker took it over while this one waited to retry (its lease
                        // ran out), and failed or committed it there: it is theirs to count.
                        TakenOver(st, p, Error(ErrorKind::kCancelled, "taken over by another worker"));
                        return;
                    }
                }
                if (!claimed) {
                    // Committed already: an earlier attempt's COMMIT landed although its
                    // reply was lost. Loading it again would duplicate its rows.
                    const std::optional<PartitionRecord> done = led->GetPartition(options.run_id, stream, p.id);
                    CountAsCommitted(st, p, done.value_or(PartitionRecord{}), attempt);
                    return;
                }
                claim = PartitionClaim{options.run_id, stream, p.id, options.worker, *claimed};
                if (options.distributed) {
                    slice.claim = ClaimTag(options.run_id, stream, p.id, *claimed);
                }
                // Claimed before: an earlier attempt may have committed in the target and
                // died before the ledger heard of it.
                if (*claimed > 1 && AdoptTargetMark(st, *led, p, attempt)) {
                    return;
                }
                if (st.plan->spec.target.url == options.ledger_url) {
                    ctx.commit_mark = [led, &claim](const PartitionCounts& counts) {
                        return led->CommitMarkFor(*claim, TallyOf(counts), counts.rejects, counts.undo);
                    };
                    ctx.commit_landed = [this, &claim] { return ClaimCommitted(*claim); };
                } else if (st.marks) {
                    ctx.commit_mark = [this, &st, &claim, &p](const PartitionCounts& counts) {
                        return CommitMark{st.marks->InsertSql(run_.job, *claim, p.slice.tenant,
                                                              counts.rows_written, counts.undo),
                                          ""};
                    };
                    ctx.commit_landed = [this, &st, &claim] { return TargetMarkLanded(st, *claim); };
                }
            }
            PartitionCounts counts = RunPartition(ctx);
            if (led != nullptr && (!counts.marked_in_transaction || st.marks)) {
                // The ledger is elsewhere: mark it after the COMMIT. With marks in the
                // target, a crash in between is caught up from them; without, the
                // partition loads again on resume (at least once).
                try {
                    led->MarkCommitted(*claim, TallyOf(counts), counts.rejects, counts.undo);
                } catch (const Error&) {
                    // The retry finds the partition committed (its target mark) or loads it
                    // again; either way it counts it then, so this attempt must not.
                    Uncount(st, counts);
                    throw;
                }
            }
            streams_.PartitionCommitted(st, p, counts, attempt);
            return;
        } catch (ClaimFenced& e) {
            writers_.erase(task.stream);
            // With marks in the target, a refused mark means another attempt committed
            // the partition first: its rows are there.
            try {
                if (Ledger* led = ledger_.Get(); led != nullptr && AdoptTargetMark(st, *led, p, attempt)) {
                    return;
                }
            } catch (const Error&) {  // NOLINT(bugprone-empty-catch): unknown; a resume reconciles
            }
            e.context() = {stream, std::to_string(p.id), p.slice.tenant};
            TakenOver(st, p, e);
            return;
        } catch (Error& e) {
            e.context().stream = stream;
            e.context().partition = std::to_string(p.id);
            e.context().tenant = p.slice.tenant;
            // With marks in the target, an attempt that lost its claim still commits when it
            // gets there first (its mark is the first): this one then fails, on a unique key
            // or otherwise. The partition is in; it is not a failure.
            if (st.marks && options.distributed && !e.IsTransient()) {
                try {
                    if (Ledger* led = ledger_.Get(); led != nullptr && AdoptTargetMark(st, *led, p, attempt)) {
                        writers_.erase(task.stream);
                        return;
                    }
                } catch (const Error&) {  // NOLINT(bugprone-empty-catch): unknown; handled as the failure it looks like
                }
            }
            const bool can_bisect = writers_[task.stream] != nullptr &&
                                    writers_[task.stream]->SupportsIsolatedWrites();
            writers_.erase(task.stream);  // a failed connection must not serve the next try
            if (e.IsTransient()) {
                ledger_.Reset();  // the ledger may share the failed server
            }
            if (!bisect && IsDataSqlstate(e.sqlstate()) && e.kind() == ErrorKind::kData &&
                options.max_rejects > 0 && can_bisect) {
                // The target refused a row: load the partition again, isolating batches,
                // to set exactly the refused rows aside. Not counted as an attempt.
                bisect = true;
                --attempt;
                continue;
            }
            if (e.IsTransient() && attempt < options.retry.attempts && !queue_.Stopping()) {
                run_.reporter.Event({{"event", "partition_retry"},
                                     {"stream", stream},
                                     {"partition", p.id},
                                     {"attempt", attempt + 1},
                                     {"error", e.Describe()}});
                SleepUnlessStopped(queue_.CancelToken(),
                                   std::chrono::duration_cast<std::chrono::milliseconds>(
                                       RetryDelay(options.retry, attempt, rng_)));
                continue;
            }
            ledger_.RecordFailure(stream, p, e);
            streams_.FailPartition(st, p, e);
            return;
        } catch (const std::exception& e) {
            Error wrapped(ErrorKind::kInternal, e.what());
            wrapped.context() = {stream, std::to_string(p.id), p.slice.tenant};
            writers_.erase(task.stream);
            ledger_.RecordFailure(stream, p, wrapped);
            streams_.FailPartition(st, p, wrapped);
            return;
        }
    }
}

/// A partition found committed by an earlier attempt: counted, not loaded again. Its rows
/// count as read too (`rows_read` when the ledger knows it): the attempt that committed them
/// read them, and its own counts were dropped when its reply was lost or its process died.
void PartitionLoader::CountAsCommitted(StreamState& st, const PartitionPlan& p, const PartitionRecord& done,
                                       int attempt) {
    PartitionCounts counts;
    counts.rows_written = done.rows;
    counts.rows_read = std::max(done.rows, done.rows_read);
    counts.rows_filtered = done.rows_filtered;
    counts.bytes_written = done.bytes_written;
    counts.rows_rejected = std::max<int64_t>(counts.rows_read - done.rows - done.rows_filtered, 0);
    if (MergesTarget(st)) {
        const int64_t landed = done.rows_inserted + done.rows_updated + done.rows_unchanged;
        counts.merge = MergeCounts{.inserted = done.rows_inserted,
                                   .updated = done.rows_updated,
                                   .unchanged = done.rows_unchanged,
                                   .superseded = std::max<int64_t>(done.rows - landed, 0),
                                   .deleted = done.rows_deleted};
    }
    st.counters->rows_read.fetch_add(counts.rows_read, std::memory_order_relaxed);
    st.counters->rows_rejected.fetch_add(counts.rows_rejected, std::memory_order_relaxed);
    st.counters->rows_filtered.fetch_add(counts.rows_filtered, std::memory_order_relaxed);
    streams_.PartitionCommitted(st, p, counts, attempt);
}

void PartitionLoader::TakenOver(StreamState& st, const PartitionPlan& p, const Error& cancelled) {
    // Said once, so that the retry before it (a lost connection: the new holder ended this
    // worker's session) is not left unexplained.
    run_.reporter.Event({{"event", "partition_taken_over"},
                         {"stream", st.plan->spec.name},
                         {"partition", p.id},
                         {"tenant", p.slice.tenant}});
    streams_.FailPartition(st, p, cancelled);  // cancelled: the ledger row is the new holder's
}

/// Takes back what a partition's pipeline counted (read, bytes, rejected) when the attempt
/// is not to be counted after all.
void PartitionLoader::Uncount(StreamState& st, const PartitionCounts& counts) {
    st.counters->rows_read.fetch_sub(counts.rows_read, std::memory_order_relaxed);
    st.counters->bytes.fetch_sub(counts.bytes_read, std::memory_order_relaxed);
    st.counters->rows_rejected.fetch_sub(counts.rows_rejected, std::memory_order_relaxed);
    st.counters->rows_filtered.fetch_sub(counts.rows_filtered, std::memory_order_relaxed);
}

/// When the stream's target holds a mark for the partition, records it committed in the
/// ledger and counts it; false when there is none (or the stream keeps no marks).
bool PartitionLoader::AdoptTargetMark(StreamState& st, Ledger& ledger, const PartitionPlan& p, int attempt) {
    if (!st.marks) {
        return false;
    }
    const std::optional<TargetMark> mark = st.marks->Find(run_.options.run_id, st.plan->spec.name, p.id);
    if (!mark) {
        return false;
    }
    ledger.AdoptCommitted(run_.options.run_id, st.plan->spec.name, p.id, mark->rows, mark->undo);
    PartitionRecord done;
    done.rows = mark->rows;
    done.rows_inserted = mark->rows;  // target marks keep no merge counts
    CountAsCommitted(st, p, done, attempt);
    return true;
}

/// Whether the target holds this claim's mark (COMMIT failed, maybe only its reply).
bool PartitionLoader::TargetMarkLanded(StreamState& st, const PartitionClaim& claim) {
    for (int attempt = 1; attempt <= 5; ++attempt) {
        try {
            const std::optional<TargetMark> mark = st.marks->Find(claim.run_id, claim.stream, claim.partition);
            return mark && mark->attempt == claim.attempt;
        } catch (const Error&) {
            if (run_.options.stop.stop_requested()) {
                return false;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(500 * attempt));
        }
    }
    return false;  // unknown: the retry's claim looks again (AdoptTargetMark)
}

/// After a failed COMMIT: whether the claim's mark (and so its data) committed anyway.
/// Asks on a fresh connection, a few times: the server may be restarting.
bool PartitionLoader::ClaimCommitted(const PartitionClaim& claim) {
    for (int attempt = 1; attempt <= 5; ++attempt) {
        try {
            std::unique_ptr<Ledger> ledger =
                Ledger::Open(run_.options.ledger_url, "sluice/" + run_.job + "/commit-check");
            const std::optional<PartitionRecord> p =
                ledger->GetPartition(claim.run_id, claim.stream, claim.partition);
            return p && p->status == "committed" && p->attempts == claim.attempt && p->worker == claim.worker;
        } catch (const Error&) {
            if (run_.options.stop.stop_requested()) {
                return false;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(500 * attempt));
        }
    }
    return false;  // unknown: the retry's claim finds out (ClaimPartition)
}

}  // namespace sluice
