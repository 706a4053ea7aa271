#include "cli/run_job.hpp"

#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "cli/incremental_marks.hpp"
#include "cli/rerun_warning.hpp"
#include "cli/run_ledger.hpp"
#include "engine/run.hpp"
#include "plan/delivery.hpp"
#include "plan/plan.hpp"
#include "plan/stream_patterns.hpp"
#include "state/job_lock.hpp"
#include "state/ledger.hpp"

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

/// Writes the run's outcome to the ledger: on `ledger`, the connection that started the run,
/// or, when that one died (a restarted server), on a fresh one. A ledger that stays
/// unreachable only costs the bookkeeping.
void RecordOutcome(Ledger& ledger, const std::string& state_url, const std::string& run_id, const std::string& job,
                   const RunSummary& summary, bool resumed, const std::vector<CheckpointRecord>& marks,
                   const std::vector<FileRecord>& files) {
    RunRecord record;
    record.run_id = run_id;
    record.job = job;
    record.status = RunStatusName(summary.status);
    record.error = summary.error;
    record.owner = ProcessIdentity();
    for (const StreamSummary& s : summary.streams) {
        record.rows_rolled_back += s.rows.rolled_back;
        record.rows_read += s.rows.read;
        record.rows_written += s.rows.written;
        record.rows_rejected += s.rows.rejected;
    }
    const auto finish = [&](Ledger& on) {
        if (summary.status == RunStatus::kSucceeded && (!marks.empty() || !files.empty())) {
            on.FinishRunAdvancing(record, resumed, marks, files);
        } else {
            on.FinishRun(record, resumed);
        }
    };
    try {
        // Probed first, and the outcome then written once: retrying a write whose reply was
        // lost could add a resumed run's counts twice.
        bool alive = true;
        try {
            ledger.StopRequested(run_id);
        } catch (const Error&) {
            alive = false;
        }
        if (alive) {
            finish(ledger);
        } else {
            finish(*Ledger::Open(state_url, "sluice/" + job + "/ledger"));
        }
    } catch (const Error& e) {
        std::fprintf(stderr, "sluice: warning: could not record the run's outcome in the ledger: %s\n",
                     e.Describe().c_str());
    }
}

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

/// How long --restart waits for a live run it asked to stop: an in-flight partition rolls
/// back at its next batch, which takes seconds, but a slow server may stretch that.
constexpr auto kRestartWait = std::chrono::seconds(120);

/// Takes the job's lock: only one process may start, resume or restart a run of the job at a
/// time. --restart asks the run that holds it to stop and waits for it to end; otherwise a
/// held lock is a refusal that names the live run and its process.
std::unique_ptr<JobLock> TakeJobLock(Ledger& ledger, const std::string& state_url, const JobSpec& job,
                                     const RunFlags& flags) {
    if (std::unique_ptr<JobLock> lock = JobLock::TryAcquire(state_url, job.name)) {
        return lock;
    }
    const std::optional<RunRecord> live = ledger.FindUnfinished(job.name);
    const std::string who = live ? fmt::format("run {} (process {}, started {})", live->run_id,
                                               live->owner.empty() ? "unknown" : live->owner, live->started_at)
                                 : std::string("another sluice process");
    if (flags.restart && live) {
        std::fprintf(stderr, "sluice: %s is still running; asking it to stop before restarting\n", who.c_str());
        ledger.RequestStop(live->run_id);
        const auto deadline = std::chrono::steady_clock::now() + kRestartWait;
        while (std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
            if (std::unique_ptr<JobLock> lock = JobLock::TryAcquire(state_url, job.name)) {
                return lock;
            }
        }
        throw Error(ErrorKind::kUsage,
                    fmt::format("job {}: {} did not stop within {} s; nothing was started. Stop it "
                                "(`sluice stop {}`, or end the process) and run --restart again",
                                job.name, who, kRestartWait.count(), live->run_id));
    }
    throw Error(ErrorKind::kUsage,
                fmt::format("job {} is being run right now by {}; two runs of one job would load its rows "
                            "twice. Wait for it, stop it with `sluice stop {}`, or use --restart to stop "
                            "it and start over",
                            job.name, who, live ? live->run_id : "RUN"));
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

void ApplyFlags(const RunFlags& flags, JobSpec& job) {
    if (flags.workers >= 0) {
        job.settings.workers = flags.workers;
    }
    if (flags.ignore_errors) {
        job.settings.on_error = "continue";
    }
    if (flags.yes) {
        job.settings.allow_rerun = true;
    }
    for (StreamSpec& stream : job.streams) {
        if (flags.chunk_rows > 0) {
            stream.source.partition.chunk_rows = flags.chunk_rows;
        }
        if (flags.min_rows_for_parallel >= 0) {
            stream.source.partition.min_rows_for_parallel = flags.min_rows_for_parallel;
        }
    }
}

namespace {

/// Names of the streams that load into `url`, comma-separated.
std::string StreamsTargeting(const JobSpec& job, const std::string& url) {
    std::string names;
    for (const StreamSpec& stream : job.streams) {
        if (stream.target.url == url) {
            names += (names.empty() ? "" : ", ") + stream.name;
        }
    }
    return names;
}

}  // namespace

int ResolveWorkers(const JobSpec& job) {
    if (job.settings.workers > 0) {
        return job.settings.workers;
    }
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

int RunJob(JobSpec job, const RunFlags& flags) {
    ApplyFlags(flags, job);
    ExpandTablePatterns(job);
    const auto mode = ParseProgressMode(flags.progress);
    if (!mode) {
        throw Error(ErrorKind::kUsage, fmt::format("--progress {}: expected auto, bar, plain, json "
                                                   "or none",
                                                   flags.progress));
    }
    const int workers = ResolveWorkers(job);
    const CursorMarks marks = flags.full_refresh ? CursorMarks{} : ReadMarks(job);
    const LoadedFiles loaded = flags.full_refresh ? LoadedFiles{} : ReadLoadedFiles(job);
    Plan plan = BuildPlan(job, workers, marks, loaded);
    NoteDeliveryGuarantees(plan, StateUrlIfAny(job));
    if (!flags.resume && !flags.restart) {
        for (const RerunWarning& warning : RerunWarnings(job, plan, StateUrlIfAny(job))) {
            std::fprintf(stderr, "sluice: warning: stream %s: %s\n", warning.stream.c_str(), warning.message.c_str());
        }
    }
    if (flags.dry_run) {
        std::fputs(RenderPlan(plan).c_str(), stdout);
        return 0;
    }
    if (job.settings.on_error != "continue") {
        RefuseFailedTenants(plan);  // before the ledger records a run: nothing loads
    }

    const std::string state_url = ResolveStateUrl(job);
    RunStart start;
    std::unique_ptr<JobLock> job_lock;  // held until the outcome is recorded
    std::unique_ptr<Ledger> ledger;     // kept to record the outcome: one connection less
    try {
        ledger = Ledger::Open(state_url, "sluice/" + job.name + "/ledger");
        job_lock = TakeJobLock(*ledger, state_url, job, flags);
        start = StartRun(*ledger, job, plan, flags);
    } catch (Error& e) {
        // The ledger usually lives in the target: say whose target could not be reached.
        if (e.context().stream.empty()) {
            e.context().stream = StreamsTargeting(job, state_url);
        }
        throw;
    }
    for (StreamPlan& stream : plan.streams) {
        stream.spec.target.run_started_at = start.started_at;  // scd2's version time, the same on resume
    }
    if (start.resumed) {
        std::fprintf(stderr, "sluice: resuming run %s: %zu of %zu partition(s) already committed\n",
                     start.run_id.c_str(), start.already_committed, plan.PartitionCount());
    } else if (flags.progress != "json") {
        std::fprintf(stderr, "sluice: run %s\n", start.run_id.c_str());
    }

    RunOptions options;
    options.ledger_url = state_url;
    options.run_id = start.run_id;
    options.resuming = start.resumed;
    options.undo_run = start.abandoned_run;
    options.worker = ProcessIdentity();
    options.workers = workers;
    options.continue_on_error = job.settings.on_error == "continue";
    options.max_rejects = job.settings.max_rejects;
    std::filesystem::path rejects(job.settings.rejects);
    options.rejects_dir = (rejects.is_absolute() ? rejects : std::filesystem::path(job.base_dir) / rejects)
                              .lexically_normal()
                              .string();
    options.retry = job.settings.retry;
    options.queue_batches = std::max<size_t>(1, job.settings.queue_batches);
    // A stream that runs after others is planned when they have finished: they may have
    // written what it reads. Its partitions reach the ledger then, on a connection of its own.
    options.plan_stream = [&plan, &marks, &loaded, &state_url, &start, &job](size_t index) {
        StreamPlan fresh = PlanReadyStream(plan, index, marks, loaded);
        fresh.spec.target.run_started_at = start.started_at;
        RecordReadyStream(*Ledger::Open(state_url, "sluice/" + job.name + "/ledger"), start.run_id, fresh);
        return fresh;
    };

    SignalWatcher signals;
    options.stop = signals.stop();
    options.abort = signals.abort();

    ProgressTracker tracker;
    ProgressReporter reporter(tracker, *mode);
    reporter.Start();
    RunSummary summary = RunPlan(plan, options, tracker, reporter);
    reporter.Stop();
    RecordOutcome(*ledger, state_url, start.run_id, job.name, summary, start.resumed, MarksReached(plan),
                  summary.status == RunStatus::kSucceeded ? FilesReached(plan) : std::vector<FileRecord>{});
    if (!flags.summary_json.empty()) {
        AppendSummaryJson(flags.summary_json, start.run_id, job.name, summary);
    }

    if (reporter.mode() != ProgressMode::kJson) {
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

}  // namespace sluice::cli
