// sluice::api::Run: the run service (run/run_service.hpp) with an observer that turns the
// engine's events and a periodic progress sample into api::Events.
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "config/job_parser.hpp"
#include "run/run_service.hpp"
#include "sluice/run.hpp"

namespace sluice::api {

namespace {

/// Delivers events to the caller's callback one at a time, from whichever thread raised them.
class ApiObserver : public RunObserver {
public:
    explicit ApiObserver(const RunOptions& options) : options_(options) {}
    ~ApiObserver() override { StopSampling(); }
    ApiObserver(const ApiObserver&) = delete;
    ApiObserver& operator=(const ApiObserver&) = delete;

    void Warning(const std::string& stream, const std::string& message) override {
        api::Event e;
        e.kind = "warning";
        e.stream = stream;
        e.message = message;
        Deliver(e);
    }
    void Started(const RunStart& start, const Plan& plan, const ProgressTracker& tracker,
                 RunControl& control) override {
        run_id_ = start.run_id;
        control.stop = options_.stop;
        api::Event e;
        e.kind = "run_started";
        e.partitions_total = plan.PartitionCount();
        e.partitions_done = start.already_committed;
        e.message = start.resumed ? "resumed" : "new";
        Deliver(e);
        if (options_.on_event && options_.progress_seconds > 0) {
            sampler_ = std::thread([this, &tracker] { Sample(tracker); });
        }
    }
    void Event(const nlohmann::json& json) override {
        api::Event e;
        e.kind = json.value("event", "");
        e.stream = json.value("stream", "");
        e.message = json.value("error", "");
        e.rows_written = json.value("rows_written", int64_t{0});
        e.rows_read = json.value("rows_read", int64_t{0});
        e.rows_rejected = json.value("rows_rejected", int64_t{0});
        e.json = json.dump();
        Deliver(e);
    }
    void Released() override { StopSampling(); }
    void Finished(const RunStart& start, const RunSummary& summary) override {
        StopSampling();  // no progress event after run_finished
        api::Event e;
        e.kind = "run_finished";
        e.run_id = start.run_id;
        e.message = summary.error;
        for (const StreamSummary& s : summary.streams) {
            e.rows_read += s.rows.read;
            e.rows_written += s.rows.written;
            e.rows_rejected += s.rows.rejected;
            e.partitions_total += s.partitions;
            e.partitions_done += s.partitions_committed;
        }
        e.json = SummaryJson(summary).dump();
        Deliver(e);
    }

private:
    void Deliver(api::Event& e) {
        if (!options_.on_event) {
            return;
        }
        std::lock_guard lock(deliver_mu_);
        if (e.run_id.empty()) {
            e.run_id = run_id_;
        }
        try {
            options_.on_event(e);
        } catch (...) {
            // The contract says on_event must not throw; a run is not failed for it.
        }
    }

    void Sample(const ProgressTracker& tracker) {
        const auto every = std::chrono::duration<double>(options_.progress_seconds);
        std::unique_lock lock(sample_mu_);
        while (!sample_cv_.wait_for(lock, every, [this] { return stop_sampling_; })) {
            const ProgressSnapshot s = tracker.Snapshot();
            api::Event e;
            e.kind = "progress";
            e.rows_read = s.rows_read;
            e.rows_written = s.rows_written;
            e.rows_rejected = s.rows_rejected;
            e.partitions_done = s.partitions_done;
            e.partitions_total = s.partitions_total;
            lock.unlock();
            Deliver(e);
            lock.lock();
        }
    }

    void StopSampling() {
        {
            std::lock_guard lock(sample_mu_);
            stop_sampling_ = true;
        }
        sample_cv_.notify_all();
        if (sampler_.joinable()) {
            sampler_.join();
        }
    }

    const RunOptions& options_;
    std::string run_id_;      // set before any event from another thread
    std::mutex deliver_mu_;   // one callback at a time
    std::mutex sample_mu_;
    std::condition_variable sample_cv_;
    bool stop_sampling_ = false;  // guarded by sample_mu_
    std::thread sampler_;
};

RunStatus PublicStatus(sluice::RunStatus status) {
    switch (status) {
        case sluice::RunStatus::kSucceeded: return RunStatus::kSucceeded;
        case sluice::RunStatus::kFailed: return RunStatus::kFailed;
        case sluice::RunStatus::kPartial: return RunStatus::kPartial;
        case sluice::RunStatus::kStopped: return RunStatus::kStopped;
    }
    return RunStatus::kFailed;
}

RunResult RunSpec(const std::function<JobSpec()>& load, const RunOptions& options) {
    try {
        JobSpec job = load();
        RunFlags flags;
        flags.workers = options.workers > 0 ? options.workers : -1;
        flags.ignore_errors = options.ignore_errors;
        flags.resume = options.resume;
        flags.restart = options.restart;
        flags.progress = "none";
        ApiObserver observer(options);
        RunControl control;
        const RunOutcome outcome = ExecuteRun(std::move(job), flags, observer, control);
        RunResult result;
        result.status = PublicStatus(outcome.summary.status);
        result.run_id = outcome.start.run_id;
        result.resumed = outcome.start.resumed;
        result.error = outcome.summary.error;
        for (const StreamSummary& s : outcome.summary.streams) {
            result.streams.push_back(
                {s.name, s.status, s.rows.read, s.rows.written, s.rows.rejected, s.rows.filtered, s.error});
            result.rows_read += s.rows.read;
            result.rows_written += s.rows.written;
            result.rows_rejected += s.rows.rejected;
        }
        result.exit_code = static_cast<int>(ExitCodeFor(outcome.summary.status));
        if (outcome.summary.status == sluice::RunStatus::kFailed &&
            ExitCodeFor(outcome.summary.error_kind) == ExitCode::kUsage) {
            result.exit_code = static_cast<int>(ExitCode::kUsage);
        }
        return result;
    } catch (const Error& e) {
        throw RunError(e.Describe(), static_cast<int>(ExitCodeFor(e.kind())));
    }
}

}  // namespace

const char* RunStatusName(RunStatus status) noexcept {
    switch (status) {
        case RunStatus::kSucceeded: return "succeeded";
        case RunStatus::kFailed: return "failed";
        case RunStatus::kPartial: return "partial";
        case RunStatus::kStopped: return "stopped";
    }
    return "failed";
}

RunResult Run(const Job& job, const RunOptions& options) {
    return RunSpec(
        [&] {
            const std::string base = job.base_dir.empty() ? std::filesystem::current_path().string() : job.base_dir;
            return ParseJob(job.ToYaml(), "<job " + job.name + ">", base, options.set);
        },
        options);
}

RunResult RunFile(const std::string& path, const RunOptions& options) {
    return RunSpec([&] { return LoadJobFile(path, options.set); }, options);
}

}  // namespace sluice::api
