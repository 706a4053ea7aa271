#include "observe/progress.hpp"

#include <algorithm>

namespace sluice {

ProgressTracker::ProgressTracker() : start_(Clock::now()) {}

StreamCounters& ProgressTracker::AddStream(const std::string& name, int64_t estimated_rows,
                                           size_t partitions) {
    auto counters = std::make_unique<StreamCounters>();
    counters->name = name;
    counters->estimated_rows = estimated_rows;
    counters->partitions_total = partitions;
    streams_.push_back(std::move(counters));
    return *streams_.back();
}

double ProgressTracker::ElapsedSeconds() const {
    return std::chrono::duration<double>(Clock::now() - start_).count();
}

int64_t ProgressTracker::NowNs() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start_).count();
}

ProgressSnapshot ProgressTracker::Snapshot() const {
    ProgressSnapshot s;
    s.elapsed_s = ElapsedSeconds();
    bool estimate_known = true;
    int64_t remaining_estimate = 0;
    for (const auto& c : streams_) {
        const int64_t read = c->rows_read.load(std::memory_order_relaxed);
        s.rows_read += read;
        s.rows_written += c->rows_written.load(std::memory_order_relaxed);
        s.rows_rejected += c->rows_rejected.load(std::memory_order_relaxed);
        s.bytes_read += c->bytes.load(std::memory_order_relaxed);
        s.partitions_done += c->partitions_done.load(std::memory_order_relaxed);
        s.partitions_failed += c->partitions_failed.load(std::memory_order_relaxed);
        s.partitions_total += c->partitions_total;
        if (c->estimated_rows < 0) {
            estimate_known = false;
        } else {
            // A finished stream has no rows left even when its estimate was too high.
            const bool finished = c->partitions_done.load(std::memory_order_relaxed) +
                                      c->partitions_failed.load(std::memory_order_relaxed) >=
                                  c->partitions_total;
            remaining_estimate += finished ? 0 : std::max<int64_t>(c->estimated_rows - read, 0);
        }
    }
    if (estimate_known) {
        s.estimated_rows = s.rows_read + remaining_estimate;
    }
    if (s.elapsed_s > 0) {
        s.rows_per_s = static_cast<double>(s.rows_read) / s.elapsed_s;
    }
    if (estimate_known && s.rows_per_s > 0) {
        s.eta_s = static_cast<double>(remaining_estimate) / s.rows_per_s;
    }
    return s;
}

}  // namespace sluice
