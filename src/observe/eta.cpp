#include "observe/eta.hpp"

namespace sluice {

double EtaEstimator::Update(double elapsed_s, int64_t rows_read, int64_t remaining_rows) {
    if (rows_read > 0 && first_row_s_ < 0) {
        // Rows began flowing after the previous sample, which saw none.
        first_row_s_ = samples_.empty() ? elapsed_s : samples_.back().first;
    }
    samples_.emplace_back(elapsed_s, rows_read);
    // Keep one sample older than the window, so the window is always spanned.
    while (samples_.size() > 2 && samples_[1].first <= elapsed_s - window_s_) {
        samples_.pop_front();
    }
    if (remaining_rows < 0 || first_row_s_ < 0 || elapsed_s - first_row_s_ < warmup_s_) {
        return -1;
    }
    if (remaining_rows == 0) {
        return 0;
    }
    const double rate = RecentRate();
    return rate > 0 ? static_cast<double>(remaining_rows) / rate : -1;
}

double EtaEstimator::RecentRate() const {
    if (samples_.size() < 2) {
        return 0;
    }
    // From the first row on only: the time before it is start-up, not throughput.
    double from_s = samples_.front().first;
    int64_t from_rows = samples_.front().second;
    if (from_s < first_row_s_) {
        from_s = first_row_s_;
        from_rows = 0;
    }
    const double span = samples_.back().first - from_s;
    return span > 0 ? static_cast<double>(samples_.back().second - from_rows) / span : 0;
}

}  // namespace sluice
