#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <map>
#include <string>
#include <vector>

namespace sluice {

/// Live counters of one running partition, for the progress lines and the ledger's live
/// view (`sluice status`). Rows written are sent to the target, not yet committed.
struct LivePartition {
    std::string tenant;
    int64_t started_ns = 0;
    std::atomic<int64_t> rows_read{0};
    std::atomic<int64_t> rows_written{0};
    std::atomic<int64_t> bytes{0};
};

/// A copy of a LivePartition's counters.
struct PartitionSnapshot {
    int partition = 0;
    std::string tenant;
    int64_t started_ns = 0;
    int64_t rows_read = 0;
    int64_t rows_written = 0;
    int64_t bytes = 0;
};

/// Live counters of one stream; updated by workers with relaxed atomics (cheap on the hot
/// path), read by reporters.
struct StreamCounters {
    std::string name;
    /// Both change once more when a stream planned when ready is planned.
    std::atomic<int64_t> estimated_rows{-1};
    std::atomic<size_t> partitions_total{0};
    std::atomic<int64_t> rows_read{0};
    std::atomic<int64_t> rows_written{0};
    std::atomic<int64_t> rows_rejected{0};
    std::atomic<int64_t> rows_filtered{0};  ///< left out by a transform's filter
    std::atomic<int64_t> bytes{0};  ///< bytes of the batches read (Batch::ByteSize)
    std::atomic<int64_t> bytes_written{0};  ///< of committed partitions (Batch::DataBytes)
    std::atomic<size_t> partitions_done{0};
    std::atomic<size_t> partitions_failed{0};
    std::atomic<int64_t> started_ns{0};
    std::atomic<int64_t> finished_ns{0};

    /// Partitions loading now, for "which tenant is slow" and how far each got: called once
    /// per partition, off the per-batch path; the caller counts into the returned counters.
    /// `now_ns` is ProgressTracker::SteadyNowNs().
    std::shared_ptr<LivePartition> PartitionStarted(int partition, const std::string& tenant, int64_t now_ns);
    void PartitionEnded(int partition);
    /// The running partitions, oldest first.
    std::vector<PartitionSnapshot> Running() const;

private:
    mutable std::mutex running_mu_;
    std::map<int, std::shared_ptr<LivePartition>> running_;
};

/// One stream's line under the total.
struct StreamSnapshot {
    std::string name;
    int64_t rows_read = 0;
    int64_t estimated_rows = -1;
    size_t partitions_done = 0;
    size_t partitions_failed = 0;
    size_t partitions_total = 0;
    double rows_per_s = 0;  ///< since the stream started
    /// Tenants of the partitions running longest, with seconds running (at most 3).
    std::vector<std::pair<std::string, double>> slowest_tenants;
};

/// A point-in-time view of the run's counters.
struct ProgressSnapshot {
    double elapsed_s = 0;
    int64_t rows_read = 0;
    int64_t rows_written = 0;
    int64_t rows_rejected = 0;
    int64_t bytes_read = 0;  ///< in-memory size of the batches read (decoded, or raw COPY bytes)
    int64_t bytes_written = 0;  ///< committed partitions' values (Batch::DataBytes)
    int64_t estimated_rows = -1;
    size_t partitions_done = 0;
    size_t partitions_failed = 0;
    size_t partitions_total = 0;
    double rows_per_s = 0;   ///< over the whole run so far
    int64_t remaining_rows = -1;  ///< estimated rows left to read; -1 when unknown
    double eta_s = -1;       ///< -1 when unknown (the reporter's EtaEstimator fills it in)
    std::vector<StreamSnapshot> running;  ///< streams started and not finished
};

/// Counters for a whole run: one StreamCounters per stream, created before workers start.
class ProgressTracker {
public:
    using Clock = std::chrono::steady_clock;

    ProgressTracker();
    /// Adds a stream; call before any worker runs. The reference stays valid.
    StreamCounters& AddStream(const std::string& name, int64_t estimated_rows, size_t partitions);
    StreamCounters& stream(size_t index) { return *streams_[index]; }
    size_t stream_count() const { return streams_.size(); }

    ProgressSnapshot Snapshot() const;
    double ElapsedSeconds() const;
    int64_t NowNs() const;
    /// A steady clock for StreamCounters::PartitionStarted, usable without a tracker.
    static int64_t SteadyNowNs();

private:
    Clock::time_point start_;
    std::vector<std::unique_ptr<StreamCounters>> streams_;
};

}  // namespace sluice
