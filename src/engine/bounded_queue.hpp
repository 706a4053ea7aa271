#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>

namespace sluice {

/// A single-producer/single-consumer queue bounded in items and bytes: the producer blocks
/// while it is full, which is what keeps memory independent of input size (back-pressure).
/// Close() ends the stream after the queued items; Cancel() drops them and wakes both ends.
template <class T>
class BoundedQueue {
public:
    BoundedQueue(size_t max_items, size_t max_bytes) : max_items_(max_items), max_bytes_(max_bytes) {}

    /// Blocks while full. Returns false (and drops the item) once the queue is cancelled.
    /// An item larger than max_bytes is still accepted when the queue is empty, so a
    /// single oversized batch cannot deadlock the pipeline.
    bool Push(T item, size_t bytes) {
        std::unique_lock lock(mu_);
        not_full_.wait(lock, [&] {
            return cancelled_ || items_.empty() ||
                   (items_.size() < max_items_ && bytes_ + bytes <= max_bytes_);
        });
        if (cancelled_) {
            return false;
        }
        bytes_ += bytes;
        items_.emplace_back(std::move(item), bytes);
        not_empty_.notify_one();
        return true;
    }

    /// Blocks until an item arrives; nullopt when closed and drained, or cancelled.
    std::optional<T> Pop() {
        std::unique_lock lock(mu_);
        not_empty_.wait(lock, [&] { return cancelled_ || closed_ || !items_.empty(); });
        if (cancelled_ || items_.empty()) {
            return std::nullopt;
        }
        auto [item, bytes] = std::move(items_.front());
        items_.pop_front();
        bytes_ -= bytes;
        not_full_.notify_one();
        return std::move(item);
    }

    /// No more items will be pushed; the consumer drains what is queued.
    void Close() {
        std::lock_guard lock(mu_);
        closed_ = true;
        not_empty_.notify_all();
    }

    /// Abandons the queue: queued items are dropped, blocked Push/Pop return at once.
    void Cancel() {
        std::lock_guard lock(mu_);
        cancelled_ = true;
        items_.clear();
        bytes_ = 0;
        not_empty_.notify_all();
        not_full_.notify_all();
    }

private:
    const size_t max_items_;
    const size_t max_bytes_;
    std::mutex mu_;
    std::condition_variable not_full_;
    std::condition_variable not_empty_;
    std::deque<std::pair<T, size_t>> items_;  // guarded by mu_
    size_t bytes_ = 0;                        // guarded by mu_
    bool closed_ = false;                     // guarded by mu_
    bool cancelled_ = false;                  // guarded by mu_
};

}  // namespace sluice
