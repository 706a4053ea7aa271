#pragma once

#include <cstdint>
#include <deque>
#include <utility>

namespace sluice {

/// Estimates time left from the rate measured over the last few seconds, once the run is
/// warmed up. A run's first second is mostly connecting, planning and filling queues: its rate
/// says little about the rest (a 6 s load once showed an ETA of 47 s), so no ETA is given
/// until rows have flowed for `warmup_s`, and then only the recent rate counts.
class EtaEstimator {
public:
    explicit EtaEstimator(double window_s = 10, double warmup_s = 3) : window_s_(window_s), warmup_s_(warmup_s) {}

    /// Adds a sample (seconds since the run began, rows read so far) and returns the seconds
    /// left for `remaining_rows`, or -1 while unknown (not warmed up, no estimate, no rate).
    double Update(double elapsed_s, int64_t rows_read, int64_t remaining_rows);
    /// Rows per second over the window; 0 while unknown.
    double RecentRate() const;

private:
    double window_s_;
    double warmup_s_;
    double first_row_s_ = -1;  ///< when rows were first seen
    std::deque<std::pair<double, int64_t>> samples_;
};

}  // namespace sluice
