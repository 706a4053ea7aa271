#include "observe/progress.hpp"

#include <algorithm>

namespace sluice {

std::shared_ptr<LivePartition> StreamCounters::PartitionStarted(int partition, const std::string& tenant,
                                                               int64_t now_ns) {
    auto live = std::make_shared<LivePartition>();
    live->tenant = tenant;
    live->started_ns = now_ns;
    std::lock_guard lock(running_mu_);
    running_[partition] = live;
    return live;
}

void StreamCounters::PartitionEnded(int partition) {
    std::lock_guard lock(running_mu_);
    running_.erase(partition);
}

std::vector<PartitionSnapshot> StreamCounters::Running() const {
    std::vector<PartitionSnapshot> out;
    {
        std::lock_guard lock(running_mu_);
        for (const auto& [id, live] : running_) {
            out.push_back({id, live->tenant, live->started_ns, live->rows_read.load(std::memory_order_relaxed),
                           live->rows_written.load(std::memory_order_relaxed),
                           live->bytes.load(std::memory_order_relaxed)});
        }
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.started_ns < b.started_ns; });
    return out;
}

int64_t ProgressTracker::SteadyNowNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

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
        s.bytes_written += c->bytes_written.load(std::memory_order_relaxed);
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
        s.remaining_rows = remaining_estimate;
    }
    if (s.elapsed_s > 0) {
        s.rows_per_s = static_cast<double>(s.rows_read) / s.elapsed_s;
    }
    const int64_t now = NowNs();
    const int64_t steady_now = SteadyNowNs();
    for (const auto& c : streams_) {
        const int64_t started = c->started_ns.load(std::memory_order_relaxed);
        if (started == 0 || c->finished_ns.load(std::memory_order_relaxed) != 0) {
            continue;
        }
        StreamSnapshot st;
        st.name = c->name;
        st.rows_read = c->rows_read.load(std::memory_order_relaxed);
        st.estimated_rows = c->estimated_rows;
        st.partitions_done = c->partitions_done.load(std::memory_order_relaxed);
        st.partitions_failed = c->partitions_failed.load(std::memory_order_relaxed);
        st.partitions_total = c->partitions_total;
        const double seconds = static_cast<double>(now - started) / 1e9;
        st.rows_per_s = seconds > 0 ? static_cast<double>(st.rows_read) / seconds : 0;
        for (const PartitionSnapshot& running : c->Running()) {
            const std::string& tenant = running.tenant;
            const bool listed = std::any_of(st.slowest_tenants.begin(), st.slowest_tenants.end(),
                                            [&](const auto& t) { return t.first == tenant; });
            if (tenant.empty() || listed) {
                continue;
            }
            st.slowest_tenants.emplace_back(tenant, static_cast<double>(steady_now - running.started_ns) / 1e9);
            if (st.slowest_tenants.size() == 3) {
                break;
            }
        }
        s.running.push_back(std::move(st));
    }
    return s;
}

}  // namespace sluice
