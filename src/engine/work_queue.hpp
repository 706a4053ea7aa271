#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <stop_token>
#include <vector>

#include "engine/scheduler_state.hpp"

namespace sluice {

/// The partitions ready to load, the count of work in flight, and the run's stop: once it
/// is stopping, no partition is handed out any more and the in-flight ones are cancelled
/// (they roll back at their next batch). Its state is guarded by the run's one mutex
/// (RunContext::mu), which also guards the streams' state: a stream queues its partitions
/// under the same lock that activates it. The local form of the claims that a distributed
/// run makes through the ledger.
class WorkQueue {
public:
    /// `mu` is the run's one mutex; it outlives the queue.
    explicit WorkQueue(std::mutex& mu) : mu_(mu) {}

    /// Adds a partition ready to load; WakeWorkersLocked hands it out. Caller holds mu.
    void PushLocked(const Task& task) { ready_.push_back(task); }

    /// Orders the ready partitions largest first overall and wakes the workers. Caller
    /// holds mu.
    void WakeWorkersLocked();

    /// Blocks until a partition is ready, the run stops, or nothing is in flight any more
    /// (no work can appear then); counts the partition it returns as in flight, until
    /// EndWork. nullopt: the worker ends. Takes mu.
    std::optional<Task> Take();

    /// Counts work in flight that is not a taken partition (the coordinator's first
    /// activation): workers do not end while it may still queue partitions. Takes mu.
    void BeginWork();

    /// Ends one unit of work in flight (Take or BeginWork) and wakes the workers, who end
    /// when nothing is ready or in flight. Takes mu.
    void EndWork();

    /// Wakes the workers to look at the queue again. Needs no lock.
    void NotifyAll() { cv_.notify_all(); }

    /// A stop from the user (signal, `sluice stop`): no new partitions, in-flight ones roll
    /// back, and the run ends `stopped`. Takes mu.
    void RequestStop();

    /// A stop after a failure (on_error: stop): as RequestStop, but the run is not
    /// `stopped` by the user. Caller holds mu.
    void StopLocked() {
        stopping_ = true;
        cancel_.request_stop();
    }

    /// Takes mu.
    bool Stopping();

    /// Caller holds mu.
    [[nodiscard]] bool StoppingLocked() const { return stopping_; }

    /// Caller holds mu, or is the only thread left.
    [[nodiscard]] bool StoppedByUserLocked() const { return stopped_by_user_; }

    /// Fires when the run stops: the pipelines' cancel token, and the wait of a backoff.
    [[nodiscard]] std::stop_token CancelToken() const { return cancel_.get_token(); }

private:
    std::mutex& mu_;
    std::condition_variable cv_;
    std::stop_source cancel_;
    std::vector<Task> ready_;           // guarded by mu_
    int in_flight_ = 0;                 // guarded by mu_
    bool stopping_ = false;             // guarded by mu_
    bool stopped_by_user_ = false;      // guarded by mu_
};

}  // namespace sluice
