#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace sluice {

/// Live counters of one stream; updated by workers with relaxed atomics (cheap on the hot
/// path), read by reporters.
struct StreamCounters {
    std::string name;
    int64_t estimated_rows = -1;
    size_t partitions_total = 0;
    std::atomic<int64_t> rows_read{0};
    std::atomic<int64_t> rows_written{0};
    std::atomic<int64_t> rows_rejected{0};
    std::atomic<int64_t> bytes{0};  ///< bytes of the batches read (Batch::ByteSize)
    std::atomic<size_t> partitions_done{0};
    std::atomic<size_t> partitions_failed{0};
    std::atomic<int64_t> started_ns{0};
    std::atomic<int64_t> finished_ns{0};
};

/// A point-in-time view of the run's counters.
struct ProgressSnapshot {
    double elapsed_s = 0;
    int64_t rows_read = 0;
    int64_t rows_written = 0;
    int64_t rows_rejected = 0;
    int64_t bytes_read = 0;  ///< in-memory size of the batches read (decoded, or raw COPY bytes)
    int64_t estimated_rows = -1;
    size_t partitions_done = 0;
    size_t partitions_failed = 0;
    size_t partitions_total = 0;
    double rows_per_s = 0;   ///< over the whole run so far
    double eta_s = -1;       ///< -1 when unknown
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

private:
    Clock::time_point start_;
    std::vector<std::unique_ptr<StreamCounters>> streams_;
};

}  // namespace sluice
