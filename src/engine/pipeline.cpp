#include "engine/pipeline.hpp"

#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/convert.hpp"
#include "core/error.hpp"
#include "engine/bounded_queue.hpp"

namespace sluice {

namespace {

Error Cancelled() {
    return Error(ErrorKind::kCancelled, "stopped before the partition committed; rolled back");
}

/// Throws when the partition has set aside more rows than settings.max_rejects allows.
/// The message names the first rejected row: that is the one a user fixes first.
void CheckRejectLimit(const PipelineContext& ctx, const PartitionCounts& counts) {
    if (counts.rows_rejected <= ctx.max_rejects || counts.rejects.empty()) {
        return;
    }
    // The partition rolls back, but the user needs the rows to fix them.
    ctx.rejects.Write(ctx.partition_id, ctx.slice.tenant, counts.rejects, /*rolled_back=*/true);
    const RejectedRow& first = counts.rejects.front();
    throw Error(ErrorKind::kData,
                fmt::format("{} rejected row(s), more than settings.max_rejects = {}; first at {}: "
                            "{}. Rejected rows are in {}; fix them, or raise settings.max_rejects "
                            "to load the good rows and set the bad ones aside",
                            counts.rows_rejected, ctx.max_rejects, first.position, first.error,
                            ctx.rejects.path()),
                first.sqlstate.empty() ? "22000" : first.sqlstate);
}

/// Where a row came from, for the reject file: its line for files, else its primary key
/// ("id=42"), when the batch's schema has one.
std::string RowPosition(const Batch& batch, size_t row) {
    if (row < batch.source_rows.size()) {
        return fmt::format("row {}", batch.source_rows[row]);
    }
    std::string key;
    for (const std::string& column : batch.schema.primary_key) {
        const std::optional<size_t> at = batch.schema.Find(column);
        if (!at || *at >= batch.columns.size()) {
            return "row ?";
        }
        const Column& values = batch.columns[*at];
        key += fmt::format("{}{}={}", key.empty() ? "" : ", ", column,
                           values.IsNull(row) ? "NULL" : FormatValue(values, row));
    }
    return key.empty() ? "row ?" : key;
}

/// Rows [begin, end) of `batch` as a batch of their own.
Batch SliceRows(const Batch& batch, size_t begin, size_t end) {
    Batch out;
    out.schema = batch.schema;
    for (const Column& column : batch.columns) {
        Column part(column.type());
        part.Reserve(end - begin);
        for (size_t row = begin; row < end; ++row) {
            part.AppendFrom(column, row);
        }
        out.columns.push_back(std::move(part));
    }
    for (size_t row = begin; row < end && row < batch.source_rows.size(); ++row) {
        out.source_rows.push_back(batch.source_rows[row]);
    }
    return out;
}

/// Writes `batch` through savepoints, halving any part the target refuses until the refused
/// rows stand alone; those become rejects. Binary COPY reports no row number, so bisection
/// is how the bad rows are found: about 2·log2(batch) extra writes per bad row.
void WriteBisecting(const PipelineContext& ctx, const Batch& batch, PartitionCounts& counts) {
    std::optional<Error> refused = ctx.writer.TryWrite(batch);
    if (!refused) {
        counts.rows_written += static_cast<int64_t>(batch.rows());
        counts.bytes_written += static_cast<int64_t>(batch.DataBytes());
        return;
    }
    if (batch.rows() == 1) {
        RejectedRow row{RowPosition(batch, 0), RowJson(batch, 0), refused->what(), refused->sqlstate()};
        counts.rejects.push_back(row);
        counts.rows_rejected++;
        ctx.counters.rows_rejected.fetch_add(1, std::memory_order_relaxed);
        CheckRejectLimit(ctx, counts);
        return;
    }
    const size_t half = batch.rows() / 2;
    WriteBisecting(ctx, SliceRows(batch, 0, half), counts);
    WriteBisecting(ctx, SliceRows(batch, half, batch.rows()), counts);
}

/// Batches the writer is done with, handed back to the reader, whose sources refill them in
/// place: column vectors and the pass-through byte string keep their capacity instead of being
/// freed and grown again for every batch. Besides the allocations saved, this keeps the
/// allocator from fragmenting, which otherwise made peak memory grow with partition length.
class SpareBatches {
public:
    explicit SpareBatches(size_t capacity) : capacity_(capacity) {}

    Batch Take() {
        std::lock_guard lock(mutex_);
        if (spares_.empty()) {
            return Batch{};
        }
        Batch batch = std::move(spares_.back());
        spares_.pop_back();
        return batch;
    }

    void Give(Batch&& batch) {
        std::lock_guard lock(mutex_);
        if (spares_.size() < capacity_) {
            spares_.push_back(std::move(batch));
        }
    }

private:
    std::mutex mutex_;
    std::vector<Batch> spares_;
    size_t capacity_;
};

/// Runs the fenced commit mark inside the partition's transaction.
void MarkInTransaction(const PipelineContext& ctx, PartitionCounts& counts) {
    const CommitMark mark = ctx.commit_mark(counts);
    const std::optional<int64_t> changed = ctx.writer.ExecuteCounting(mark.fenced_update);
    if (!changed) {
        return;  // the sink cannot share its transaction: the caller marks after COMMIT
    }
    if (*changed != 1) {
        throw ClaimFenced(ErrorKind::kCancelled,
                          "this process's claim on the partition was taken over (its lease expired, or "
                          "the run was restarted); rolled back, the new owner loads it");
    }
    ctx.writer.ExecuteInTransaction(mark.rejects);
    counts.marked_in_transaction = true;
}

/// COMMIT; when it fails after the mark was sent, the server may have committed and only the
/// reply been lost: the ledger decides, so a committed partition is never loaded twice.
void CommitOrConfirm(const PipelineContext& ctx, const PartitionCounts& counts) {
    try {
        ctx.writer.Commit();
    } catch (const Error&) {
        if (!counts.marked_in_transaction || !ctx.commit_landed || !ctx.commit_landed()) {
            throw;
        }
        ctx.writer.Rollback();  // resets the writer; its connection is gone
    }
}

}  // namespace

namespace {

/// Shows the partition as running (for the progress lines' slowest tenants and the ledger's
/// live view) while in scope.
class RunningPartition {
public:
    explicit RunningPartition(const PipelineContext& ctx)
        : counters_(ctx.counters),
          id_(ctx.partition_id),
          live_(counters_.PartitionStarted(id_, ctx.slice.tenant, ProgressTracker::SteadyNowNs())) {}
    ~RunningPartition() { counters_.PartitionEnded(id_); }
    RunningPartition(const RunningPartition&) = delete;
    RunningPartition& operator=(const RunningPartition&) = delete;

    LivePartition& live() const { return *live_; }

private:
    StreamCounters& counters_;
    int id_;
    std::shared_ptr<LivePartition> live_;
};

}  // namespace

PartitionCounts RunPartition(const PipelineContext& ctx) {
    const RunningPartition running(ctx);
    LivePartition& live = running.live();
    BoundedQueue<Batch> queue(ctx.queue_batches, ctx.queue_bytes);
    SpareBatches spares(2);
    std::exception_ptr reader_error;
    PartitionCounts counts;
    std::atomic<int64_t> rows_read{0};
    std::atomic<int64_t> bytes_read{0};

    std::jthread reader([&](const std::stop_token& stop) {
        try {
            std::unique_ptr<SliceReader> slice_reader = ctx.source.Open(ctx.slice);
            while (!stop.stop_requested()) {
                Batch batch = spares.Take();
                if (!slice_reader->Next(batch)) {
                    break;
                }
                const auto n = static_cast<int64_t>(batch.rows() + batch.rejected.size());
                rows_read += n;
                ctx.counters.rows_read.fetch_add(n, std::memory_order_relaxed);
                live.rows_read.fetch_add(n, std::memory_order_relaxed);
                const auto bytes = static_cast<int64_t>(batch.ByteSize());
                bytes_read += bytes;
                ctx.counters.bytes.fetch_add(bytes, std::memory_order_relaxed);
                live.bytes.fetch_add(bytes, std::memory_order_relaxed);
                if (!queue.Push(std::move(batch), static_cast<size_t>(bytes))) {
                    break;
                }
            }
        } catch (...) {
            reader_error = std::current_exception();
        }
        queue.Close();
    });

    bool begun = false;
    try {
        ctx.writer.Begin(ctx.slice);
        begun = true;
        while (std::optional<Batch> batch = queue.Pop()) {
            if (ctx.cancel.stop_requested()) {
                throw Cancelled();
            }
            if (ctx.transform != nullptr) {
                RowTransform::Result transformed = ctx.transform->Apply(std::move(*batch), *ctx.transform_env, ctx.lookups);
                counts.rows_filtered += transformed.filtered;
                ctx.counters.rows_filtered.fetch_add(transformed.filtered, std::memory_order_relaxed);
                *batch = std::move(transformed.batch);
            }
            Batch conformed = ctx.conformer.Apply(std::move(*batch), ctx.slice.tenant);
            if (!conformed.rejected.empty()) {
                counts.rejects.insert(counts.rejects.end(), conformed.rejected.begin(),
                                      conformed.rejected.end());
                counts.rows_rejected += static_cast<int64_t>(conformed.rejected.size());
                ctx.counters.rows_rejected.fetch_add(
                    static_cast<int64_t>(conformed.rejected.size()), std::memory_order_relaxed);
                CheckRejectLimit(ctx, counts);
            }
            if (conformed.rows() == 0) {
                continue;
            }
            if (ctx.bisect) {
                WriteBisecting(ctx, conformed, counts);
            } else {
                ctx.writer.Write(conformed);
                counts.rows_written += static_cast<int64_t>(conformed.rows());
                counts.bytes_written += static_cast<int64_t>(conformed.DataBytes());
            }
            live.rows_written.store(counts.rows_written, std::memory_order_relaxed);
            spares.Give(std::move(conformed));
        }
        reader.join();
        if (reader_error) {
            std::rethrow_exception(reader_error);
        }
        if (ctx.cancel.stop_requested()) {
            throw Cancelled();
        }
        counts.merge = ctx.writer.Merge();
        counts.undo = ctx.writer.UndoToken();
        counts.rows_read = rows_read.load();
        counts.bytes_read = bytes_read.load();
        if (ctx.commit_mark) {
            MarkInTransaction(ctx, counts);
        }
        CommitOrConfirm(ctx, counts);
    } catch (...) {
        queue.Cancel();
        if (reader.joinable()) {
            reader.request_stop();
            reader.join();
        }
        if (begun) {
            ctx.writer.Rollback();
        }
        ctx.counters.rows_read.fetch_sub(rows_read.load(), std::memory_order_relaxed);
        ctx.counters.bytes.fetch_sub(bytes_read.load(), std::memory_order_relaxed);
        ctx.counters.rows_rejected.fetch_sub(counts.rows_rejected, std::memory_order_relaxed);
        ctx.counters.rows_filtered.fetch_sub(counts.rows_filtered, std::memory_order_relaxed);
        throw;
    }
    // Written after the commit so that retried or rolled-back attempts leave no rows behind;
    // the ledger's rejects table commits with the data and is the exact record.
    if (!counts.rejects.empty()) {
        try {
            ctx.rejects.Write(ctx.partition_id, ctx.slice.tenant, counts.rejects);
        } catch (const Error& e) {
            // The partition committed (with its rejects in the ledger): a full disk under the
            // reject file must not turn it into a failure that would roll its tenant back.
            counts.warning = fmt::format("could not write the reject file ({}); the rejected rows are "
                                         "in the ledger: sluice rejects RUN",
                                         e.what());
        }
    }
    return counts;  // its rows count as written once the partition is known committed
}

}  // namespace sluice
