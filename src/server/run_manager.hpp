#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/job_spec.hpp"
#include "core/error.hpp"
#include "run/run_flags.hpp"

namespace sluice::server {

/// A run the server started: its id once the ledger recorded it, and its recent events (the
/// engine's, a `progress` event every second, `run_finished` last) for event streams.
/// Thread-safe.
class LiveRun {
public:
    explicit LiveRun(std::string job) : job_(std::move(job)) {}
    ~LiveRun();
    LiveRun(const LiveRun&) = delete;
    LiveRun& operator=(const LiveRun&) = delete;

    const std::string& job() const { return job_; }
    std::string run_id() const;
    bool finished() const;

    /// The events numbered `from` on (the oldest kept, when `from` fell out of the window),
    /// waiting up to `wait` for one to come; `next` is the number to ask for next. `ended`:
    /// the run is over and every event was handed out.
    std::vector<nlohmann::json> EventsFrom(int64_t from, std::chrono::milliseconds wait, int64_t& next, bool& ended);

    /// Graceful stop: no new partitions, those in flight roll back.
    void RequestStop() { stop_.request_stop(); }

private:
    friend class RunManager;
    friend class LiveRunObserver;

    void Push(nlohmann::json event);
    void MarkStarted(const std::string& run_id);
    void MarkEnded(std::optional<Error> error);

    const std::string job_;
    std::stop_source stop_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::string run_id_;            // guarded by mu_
    bool started_ = false;          // guarded by mu_
    bool ended_ = false;            // guarded by mu_
    std::optional<Error> failure_;  // guarded by mu_: why it could not start
    std::deque<nlohmann::json> events_;  // guarded by mu_
    int64_t first_event_ = 0;            // guarded by mu_: the number of events_.front()
    std::jthread ticker_;  ///< progress events while rows move
    std::jthread thread_;  ///< runs the job; last member: joined first
};

/// Starts and tracks the runs of `sluice serve`, each on a thread of its own through the run
/// service (the same path as `sluice run`). Thread-safe.
class RunManager {
public:
    RunManager() = default;
    /// Stops every run still going and waits for it to end (its rows roll back or commit).
    ~RunManager();
    RunManager(const RunManager&) = delete;
    RunManager& operator=(const RunManager&) = delete;

    /// Starts `job` and returns once the ledger recorded the run. Throws the run service's
    /// Error when it cannot start (a bad job, an unreachable ledger, the job's lock held by
    /// another run: kUsage naming it).
    std::shared_ptr<LiveRun> Start(JobSpec job, RunFlags flags);
    /// A run this server started (its latest invocation); nullptr when it did not.
    std::shared_ptr<LiveRun> Find(const std::string& run_id) const;
    /// The runs still going.
    std::vector<std::shared_ptr<LiveRun>> Running() const;

private:
    mutable std::mutex mu_;
    std::vector<std::shared_ptr<LiveRun>> runs_;  // guarded by mu_; the oldest finished pruned
};

}  // namespace sluice::server
