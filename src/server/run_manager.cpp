#include "server/run_manager.hpp"

#include <algorithm>
#include <utility>

#include "observe/eta.hpp"
#include "observe/reporter.hpp"
#include "run/run_service.hpp"
#include "server/api_json.hpp"
#include "state/ledger.hpp"

namespace sluice::server {

namespace {

constexpr size_t kEventsKept = 4096;     ///< per run, for clients that connect late or lag
constexpr size_t kFinishedRunsKept = 64;
constexpr auto kProgressInterval = std::chrono::seconds(1);

}  // namespace

/// Feeds a LiveRun from the run service's callbacks.
class LiveRunObserver final : public RunObserver {
public:
    explicit LiveRunObserver(LiveRun& run) : run_(run) {}

    void Started(const RunStart& start, const Plan&, const ProgressTracker& tracker, RunControl& control) override {
        control.stop = run_.stop_.get_token();
        run_.MarkStarted(start.run_id);
        run_.Push({{"event", "run_started"}, {"run_id", start.run_id}, {"job", run_.job()}, {"resumed", start.resumed}});
        run_.ticker_ = std::jthread([this, &tracker](std::stop_token stop) {
            EtaEstimator eta;
            std::mutex mu;
            std::condition_variable_any wake;
            std::unique_lock lock(mu);
            while (true) {
                wake.wait_for(lock, stop, kProgressInterval, [] { return false; });
                if (stop.stop_requested()) {
                    return;
                }
                ProgressSnapshot s = tracker.Snapshot();
                s.eta_s = eta.Update(s.elapsed_s, s.rows_read, s.remaining_rows);
                run_.Push(ProgressJson(s));
            }
        });
    }

    void Event(const nlohmann::json& event) override { run_.Push(event); }

    void Released() override {
        run_.ticker_.request_stop();
        if (run_.ticker_.joinable()) {
            run_.ticker_.join();  // it reads the tracker, which goes after this call
        }
    }

    void Finished(const RunStart& start, const RunSummary& summary) override {
        int64_t read = 0;
        int64_t written = 0;
        int64_t rejected = 0;
        for (const StreamSummary& s : summary.streams) {
            read += s.rows.read;
            written += s.rows.written;
            rejected += s.rows.rejected;
        }
        run_.Push({{"event", "run_finished"},
                   {"run_id", start.run_id},
                   {"status", RunStatusName(summary.status)},
                   {"seconds", summary.seconds},
                   {"rows_read", read},
                   {"rows_written", written},
                   {"rows_rejected", rejected},
                   {"error", MaskSecrets(summary.error)}});
    }

private:
    LiveRun& run_;
};

LiveRun::~LiveRun() = default;

std::string LiveRun::run_id() const {
    std::lock_guard lock(mu_);
    return run_id_;
}

bool LiveRun::finished() const {
    std::lock_guard lock(mu_);
    return ended_;
}

void LiveRun::Push(nlohmann::json event) {
    std::lock_guard lock(mu_);
    // When it happened, RFC 3339 UTC, stamped under the lock so the stamps follow the events'
    // order: a replayed history (Last-Event-ID, a late page) can say when each happened.
    event["at"] = IsoTime(UtcTimestamp());
    events_.push_back(std::move(event));
    if (events_.size() > kEventsKept) {
        events_.pop_front();
        ++first_event_;
    }
    cv_.notify_all();
}

void LiveRun::MarkStarted(const std::string& run_id) {
    std::lock_guard lock(mu_);
    run_id_ = run_id;
    started_ = true;
    cv_.notify_all();
}

void LiveRun::MarkEnded(std::optional<Error> error) {
    std::lock_guard lock(mu_);
    ended_ = true;
    if (!started_) {
        failure_ = std::move(error);
    }
    cv_.notify_all();
}

std::vector<nlohmann::json> LiveRun::EventsFrom(int64_t from, std::chrono::milliseconds wait, int64_t& next,
                                                bool& ended) {
    std::unique_lock lock(mu_);
    const auto available = [&] { return first_event_ + static_cast<int64_t>(events_.size()) > from || ended_; };
    cv_.wait_for(lock, wait, available);
    const int64_t begin = std::max(from, first_event_);
    std::vector<nlohmann::json> out;
    for (int64_t i = begin; i < first_event_ + static_cast<int64_t>(events_.size()); ++i) {
        out.push_back(events_[static_cast<size_t>(i - first_event_)]);
    }
    next = first_event_ + static_cast<int64_t>(events_.size());
    ended = ended_ && next <= std::max(from, first_event_) + static_cast<int64_t>(out.size());
    return out;
}

RunManager::~RunManager() {
    std::vector<std::shared_ptr<LiveRun>> runs;
    {
        std::lock_guard lock(mu_);
        runs = runs_;
    }
    for (const auto& run : runs) {
        run->RequestStop();
    }
    for (const auto& run : runs) {
        if (run->thread_.joinable()) {
            run->thread_.join();
        }
    }
}

std::shared_ptr<LiveRun> RunManager::Start(JobSpec job, RunFlags flags) {
    auto run = std::make_shared<LiveRun>(job.name);
    flags.progress = "none";
    LiveRun* live = run.get();  // the manager keeps it alive for longer than its thread
    run->thread_ = std::jthread([live, job = std::move(job), flags]() mutable {
        LiveRunObserver observer(*live);
        RunControl control;
        control.progress = ProgressMode::kNone;
        std::optional<Error> error;
        try {
            ExecuteRun(std::move(job), flags, observer, control);
        } catch (const Error& e) {
            error = e;
        } catch (const std::exception& e) {
            error = Error(ErrorKind::kInternal, e.what());
        }
        live->MarkEnded(std::move(error));
    });
    {
        std::unique_lock lock(run->mu_);
        run->cv_.wait(lock, [&] { return run->started_ || run->ended_; });
        if (!run->started_) {
            Error failure = run->failure_.value_or(Error(ErrorKind::kInternal, "the run ended before it started"));
            lock.unlock();
            run->thread_.join();
            throw failure;
        }
    }
    std::lock_guard lock(mu_);
    runs_.push_back(run);
    // Forget the oldest finished runs past a bound; their history is in the ledger.
    size_t finished = static_cast<size_t>(std::count_if(runs_.begin(), runs_.end(), [](const auto& r) { return r->finished(); }));
    for (auto it = runs_.begin(); it != runs_.end() && finished > kFinishedRunsKept;) {
        if ((*it)->finished()) {
            it = runs_.erase(it);  // ~LiveRun joins its thread, which has returned
            --finished;
        } else {
            ++it;
        }
    }
    return run;
}

std::shared_ptr<LiveRun> RunManager::Find(const std::string& run_id) const {
    std::lock_guard lock(mu_);
    // The latest: a resumed run keeps its id, and its earlier invocation may still be listed.
    for (auto it = runs_.rbegin(); it != runs_.rend(); ++it) {
        if ((*it)->run_id() == run_id) {
            return *it;
        }
    }
    return nullptr;
}

std::vector<std::shared_ptr<LiveRun>> RunManager::Running() const {
    std::lock_guard lock(mu_);
    std::vector<std::shared_ptr<LiveRun>> out;
    for (const auto& run : runs_) {
        if (!run->finished()) {
            out.push_back(run);
        }
    }
    return out;
}

}  // namespace sluice::server
