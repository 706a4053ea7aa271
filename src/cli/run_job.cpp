#include "cli/run_job.hpp"

#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "engine/run.hpp"
#include "plan/plan.hpp"
#include "run/run_service.hpp"
#include "run/worker_service.hpp"

namespace sluice::cli {

namespace {

/// Turns SIGINT/SIGTERM into stop requests: the first asks for a graceful stop, the second
/// aborts the in-flight partitions too. Signals are blocked in every thread and taken by one
/// sigwait thread, so no work happens in a signal handler.
class SignalWatcher {
public:
    SignalWatcher() {
        sigemptyset(&set_);
        sigaddset(&set_, SIGINT);
        sigaddset(&set_, SIGTERM);
        sigaddset(&set_, SIGUSR1);  // private wake-up used by the destructor
        pthread_sigmask(SIG_BLOCK, &set_, nullptr);
        thread_ = std::thread([this] { Loop(); });
    }
    ~SignalWatcher() {
        done_ = true;
        pthread_kill(thread_.native_handle(), SIGUSR1);
        thread_.join();
        pthread_sigmask(SIG_UNBLOCK, &set_, nullptr);
    }
    SignalWatcher(const SignalWatcher&) = delete;
    SignalWatcher& operator=(const SignalWatcher&) = delete;

    std::stop_token stop() const { return stop_.get_token(); }
    std::stop_token abort() const { return abort_.get_token(); }

private:
    void Loop() {
        int received = 0;
        while (!done_) {
            int sig = 0;
            if (sigwait(&set_, &sig) != 0 || done_ || sig == SIGUSR1) {
                continue;
            }
            if (++received == 1) {
                std::fputs("\nsluice: stopping: no new partitions start, in-flight ones roll back "
                           "(press Ctrl-C again to abort at once)\n",
                           stderr);
                stop_.request_stop();
            } else {
                std::fputs("\nsluice: aborting\n", stderr);
                abort_.request_stop();
                ExitUnlessDoneWithin(std::chrono::seconds(2));
            }
        }
    }

    /// A read or write blocked on the server does not see the abort until it returns. Exiting
    /// is safe: every open transaction rolls back when its connection drops, and a resume
    /// takes over the partitions of a process that is gone.
    void ExitUnlessDoneWithin(std::chrono::milliseconds grace) const {
        const auto deadline = std::chrono::steady_clock::now() + grace;
        while (!done_ && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        if (!done_) {
            std::fputs("sluice: aborted; the server rolls back the open transactions\n", stderr);
            std::_Exit(static_cast<int>(ExitCodeFor(ErrorKind::kCancelled)));
        }
    }

    sigset_t set_{};
    std::stop_source stop_;
    std::stop_source abort_;
    std::atomic<bool> done_{false};
    std::thread thread_;
};

/// --summary-json: one line per run, appended, so that a scheduler (or a test) running many
/// jobs into one file keeps every run's numbers.
void AppendSummaryJson(const std::string& path, const std::string& run_id, const std::string& job,
                       const RunSummary& summary) {
    nlohmann::json line = SummaryJson(summary);
    line["run_id"] = run_id;
    line["job"] = job;
    std::FILE* f = std::fopen(path.c_str(), "a");
    const std::string text = line.dump() + "\n";
    const bool ok = f != nullptr && std::fwrite(text.data(), 1, text.size(), f) == text.size();
    if (f == nullptr || std::fclose(f) != 0 || !ok) {
        std::fprintf(stderr, "sluice: warning: could not write the summary to %s: %s\n", path.c_str(),
                     std::strerror(errno));
    }
}

}  // namespace

int ReportError(const Error& error) {
    // A job file's problems come as one message, one problem a line: each line is an error.
    const std::string text = error.Describe();
    size_t start = 0;
    while (start <= text.size()) {
        const size_t end = std::min(text.find('\n', start), text.size());
        std::fprintf(stderr, "sluice: error: %.*s\n", static_cast<int>(end - start), text.data() + start);
        start = end + 1;
    }
    return static_cast<int>(ExitCodeFor(error.kind()));
}

namespace {

/// The CLI's view of a run: warnings and notices on stderr, the plan of --dry-run on stdout,
/// signals taken over once the run is recorded.
class CliObserver : public RunObserver {
public:
    explicit CliObserver(const RunFlags& flags) : flags_(flags) {}

    void Warning(const std::string& stream, const std::string& message) override {
        std::fprintf(stderr, "sluice: warning: stream %s: %s\n", stream.c_str(), message.c_str());
    }
    void Planned(const Plan& plan) override {
        if (flags_.dry_run) {
            std::fputs(RenderPlan(plan).c_str(), stdout);
        }
    }
    void Started(const RunStart& start, const Plan& plan, const ProgressTracker& tracker,
                 RunControl& control) override {
        (void)tracker;
        if (start.resumed) {
            std::fprintf(stderr, "sluice: resuming run %s: %zu of %zu partition(s) already committed\n",
                         start.run_id.c_str(), start.already_committed, plan.PartitionCount());
        } else if (flags_.progress != "json") {
            std::fprintf(stderr, "sluice: run %s\n", start.run_id.c_str());
        }
        signals_.emplace();
        control.stop = signals_->stop();
        control.abort = signals_->abort();
    }

private:
    const RunFlags& flags_;
    std::optional<SignalWatcher> signals_;
};

}  // namespace

int RunJob(JobSpec job, const RunFlags& flags) {
    const auto mode = ParseProgressMode(flags.progress);
    if (!mode) {
        throw Error(ErrorKind::kUsage, fmt::format("--progress {}: expected auto, bar, plain, json "
                                                   "or none",
                                                   flags.progress));
    }
    const std::string job_name = job.name;
    CliObserver observer(flags);
    RunControl control;
    control.progress = *mode;
    const RunOutcome outcome = ExecuteRun(std::move(job), flags, observer, control);
    if (outcome.dry_run) {
        return 0;
    }
    if (outcome.queued) {
        std::fprintf(stdout, "run %s of job %s is recorded for workers: start them with `sluice worker --state URL --job %s`\n",
                     outcome.start.run_id.c_str(), job_name.c_str(), job_name.c_str());
        return 0;
    }
    const RunSummary& summary = outcome.summary;
    if (!flags.summary_json.empty()) {
        AppendSummaryJson(flags.summary_json, outcome.start.run_id, job_name, summary);
    }

    if (*mode != ProgressMode::kJson) {
        std::fputs(RenderSummary(summary).c_str(), stdout);
        std::fflush(stdout);
    }
    if (summary.status == RunStatus::kFailed) {
        std::fprintf(stderr, "sluice: error: run failed: %s\n",
                     summary.error.empty() ? "see the summary above" : summary.error.c_str());
        return static_cast<int>(ExitCodeFor(summary.error_kind) == ExitCode::kUsage
                                    ? ExitCode::kUsage
                                    : ExitCode::kFailed);
    }
    if (summary.status == RunStatus::kPartial) {
        std::fprintf(stderr, "sluice: run ended partial: some partitions failed (see above); the "
                             "others committed\n");
    }
    if (summary.status == RunStatus::kStopped) {
        std::fprintf(stderr, "sluice: run stopped; partitions that had not committed were rolled "
                             "back\n");
    }
    return static_cast<int>(ExitCodeFor(summary.status));
}

int RunWorker(const WorkerFlags& flags, const std::string& progress, const std::string& summary_json) {
    const auto mode = ParseProgressMode(progress);
    if (!mode) {
        throw Error(ErrorKind::kUsage, fmt::format("--progress {}: expected auto, bar, plain, json or none", progress));
    }
    RunFlags shown;
    shown.progress = progress;
    CliObserver observer(shown);
    RunControl control;
    control.progress = *mode;
    const std::vector<RunOutcome> outcomes = ExecuteWorker(flags, observer, control);
    for (const RunOutcome& outcome : outcomes) {
        if (!summary_json.empty()) {
            AppendSummaryJson(summary_json, outcome.start.run_id, flags.job, outcome.summary);
        }
        if (*mode != ProgressMode::kJson) {
            std::fprintf(stdout, "run %s: this worker's share\n", outcome.start.run_id.c_str());
            std::fputs(RenderSummary(outcome.summary).c_str(), stdout);
        }
    }
    std::fflush(stdout);
    if (outcomes.empty() && *mode != ProgressMode::kJson) {
        std::fprintf(stderr, "sluice: worker: no distributed run to work on%s\n",
                     flags.job.empty() ? "" : (" for job " + flags.job).c_str());
    }
    // The run's outcome is the ledger's to tell (`sluice status`); a worker that did its part
    // ends 0, so that a Kubernetes Job completes, unless it was stopped itself.
    return control.stop.stop_requested() ? static_cast<int>(ExitCodeFor(RunStatus::kStopped)) : 0;
}

}  // namespace sluice::cli
