#include "engine/work_queue.hpp"

#include <algorithm>

namespace sluice {

void WorkQueue::WakeWorkersLocked() {
    std::stable_sort(ready_.begin(), ready_.end(), [](const Task& a, const Task& b) {
        return a.partition->slice.estimated_rows > b.partition->slice.estimated_rows;
    });
    cv_.notify_all();
}

std::optional<Task> WorkQueue::Take() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return stopping_ || !ready_.empty() || in_flight_ == 0; });
    if (stopping_ || ready_.empty()) {
        cv_.notify_all();
        return std::nullopt;
    }
    Task task = ready_.front();
    ready_.erase(ready_.begin());
    ++in_flight_;
    return task;
}

void WorkQueue::BeginWork() {
    std::unique_lock lock(mu_);
    ++in_flight_;
}

void WorkQueue::EndWork() {
    {
        std::lock_guard lock(mu_);
        --in_flight_;
    }
    cv_.notify_all();
}

void WorkQueue::RequestStop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
        stopped_by_user_ = true;
    }
    cancel_.request_stop();
    cv_.notify_all();
}

bool WorkQueue::Stopping() {
    std::lock_guard lock(mu_);
    return stopping_;
}

}  // namespace sluice
