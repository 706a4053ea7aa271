#include "run/run_service.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "plan/delivery.hpp"
#include "run/distributed_run.hpp"
#include "plan/stream_patterns.hpp"
#include "run/incremental_marks.hpp"
#include "run/rerun_warning.hpp"
#include "state/job_lock.hpp"
#include "state/ledger.hpp"

namespace sluice {

namespace {

/// Writes the run's outcome to the ledger: on `ledger`, the connection that started the run,
/// or, when that one died (a restarted server), on a fresh one. A ledger that stays
/// unreachable only costs the bookkeeping.
void RecordOutcome(Ledger& ledger, const std::string& state_url, const std::string& run_id, const std::string& job,
                   const RunSummary& summary, bool resumed, const std::vector<CheckpointRecord>& marks,
                   const std::vector<FileRecord>& files) {
    const RunRecord record = ProcessOutcome(run_id, job, summary);
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

/// `sluice run --distributed --resume` while workers hold the run: this process joins them
/// as one more worker (with --no-work: leaves it to them).
RunOutcome JoinLiveRun(const JobSpec& job, Plan& plan, const RunRecord& live, const RunInputs& inputs, Ledger& ledger,
                       std::unique_ptr<JobLock> shared, const RunFlags& flags, RunObserver& observer,
                       RunControl& control) {
    RunOutcome outcome;
    std::fprintf(stderr, "sluice: run %s is being worked on by workers; %s\n", live.run_id.c_str(),
                 flags.no_work ? "leaving it to them" : "joining them");
    if (flags.no_work) {
        outcome.queued = true;
        outcome.start.run_id = live.run_id;
        outcome.start.distributed = true;
        return outcome;
    }
    const RunStart start = JoinDistributedRun(ledger, live, job, plan);
    outcome = RunStarted(job, plan, start, inputs, ledger, observer, control);
    shared.reset();  // held until this process's share is recorded
    return outcome;
}

}  // namespace

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
    if (!flags.state.empty()) {
        job.settings.state = flags.state;
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

int ResolveWorkers(const JobSpec& job) {
    if (job.settings.workers > 0) {
        return job.settings.workers;
    }
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

RunOutcome ExecuteRun(JobSpec job, const RunFlags& flags, RunObserver& observer, RunControl& control) {
    ApplyFlags(flags, job);
    ExpandTablePatterns(job);
    const int workers = ResolveWorkers(job);
    RunOutcome outcome;
    const CursorMarks marks = flags.full_refresh ? CursorMarks{} : ReadMarks(job);
    const LoadedFiles loaded = flags.full_refresh ? LoadedFiles{} : ReadLoadedFiles(job);
    Plan plan = BuildPlan(job, workers, marks, loaded);
    NoteDeliveryGuarantees(plan, StateUrlIfAny(job));
    if (!flags.resume && !flags.restart) {
        for (const RerunWarning& warning : RerunWarnings(job, plan, StateUrlIfAny(job))) {
            observer.Warning(warning.stream, warning.message);
        }
    }
    observer.Planned(plan);
    if (flags.dry_run) {
        outcome.dry_run = true;
        return outcome;
    }
    if (job.settings.on_error != "continue") {
        RefuseFailedTenants(plan);  // before the ledger records a run: nothing loads
    }

    const std::string state_url = ResolveStateUrl(job);
    if (flags.distributed) {
        RequireSharedLedger(state_url);
    }
    RunStart start;
    std::unique_ptr<JobLock> job_lock;  // held until the outcome is recorded
    std::unique_ptr<Ledger> ledger;     // kept to record the outcome: one connection less
    try {
        ledger = Ledger::Open(state_url, "sluice/" + job.name + "/ledger");
        if (flags.distributed && flags.resume) {
            // Workers are on the job's unfinished distributed run right now (they hold the
            // job's lock shared): a --resume joins them (a coordinator retried by its
            // scheduler), or with --no-work leaves the run to them.
            if (std::optional<RunRecord> live = ledger->FindUnfinished(job.name);
                live && live->distributed && live->status == "running" && (flags.resume_run.empty() || flags.resume_run == live->run_id)) {
                // Exclusive fails while anyone holds it; shared then succeeds only when those
                // are workers, not a start or restart.
                if (!JobLock::TryAcquire(state_url, job.name)) {
                    if (std::unique_ptr<JobLock> shared = JobLock::TryAcquireShared(state_url, job.name)) {
                        return JoinLiveRun(job, plan, *live, RunInputs{state_url, marks, loaded, workers}, *ledger,
                                           std::move(shared), flags, observer, control);
                    }
                }
            }
        }
        job_lock = TakeJobLock(*ledger, state_url, job, flags);
        start = StartRun(*ledger, job, plan, flags);
    } catch (Error& e) {
        // The ledger usually lives in the target: say whose target could not be reached.
        if (e.context().stream.empty()) {
            e.context().stream = StreamsTargeting(job, state_url);
        }
        throw;
    }
    if (start.distributed) {
        job_lock->Share();  // workers may join now; a start or restart of the job waits for all
    }
    if (flags.no_work) {
        RunRecord mine;
        mine.run_id = start.run_id;
        mine.status = "queued";  // its invocation ends here: the workers do the loading
        mine.owner = ProcessIdentity();
        ledger->LeaveRun(mine);
        outcome.queued = true;
        outcome.start = start;
        return outcome;
    }
    return RunStarted(job, plan, start, RunInputs{state_url, marks, loaded, workers}, *ledger, observer, control);
}

RunOutcome RunStarted(const JobSpec& job, Plan& plan, const RunStart& start, const RunInputs& context,
                      Ledger& ledger, RunObserver& observer, RunControl& control) {
    const std::string& state_url = context.state_url;
    for (StreamPlan& stream : plan.streams) {
        stream.spec.target.run_started_at = start.started_at;  // scd2's version time, the same on resume
        stream.spec.target.run_id = start.run_id;
        stream.spec.target.abandoned_run = start.abandoned_run;
        if (stream.plan_when_ready) {
            // Planned again when ready: the sources planned now would hold sessions (and a
            // consistent: true snapshot, whose lock would block an upstream replace) until then.
            stream.sources.clear();
            stream.transforms.clear();
        }
    }

    RunOptions options;
    options.ledger_url = state_url;
    options.run_id = start.run_id;
    options.resuming = start.resumed;
    options.distributed = start.distributed;
    options.undo_run = start.abandoned_run;
    options.worker = ProcessIdentity();
    options.workers = context.workers;
    options.continue_on_error = job.settings.on_error == "continue";
    options.max_rejects = job.settings.max_rejects;
    std::filesystem::path rejects(job.settings.rejects);
    options.rejects_dir = (rejects.is_absolute() ? rejects : std::filesystem::path(job.base_dir) / rejects)
                              .lexically_normal()
                              .string();
    options.retry = job.settings.retry;
    options.lease_seconds = job.settings.lease_seconds;
    options.queue_batches = std::max<size_t>(1, job.settings.queue_batches);
    // A stream that runs after others is planned when they have finished: they may have
    // written what it reads. Its partitions reach the ledger then, on a connection of its own.
    options.plan_stream = [&plan, &context, &state_url, &start, &job](size_t index) {
        StreamPlan fresh = PlanReadyStream(plan, index, context.marks, context.loaded);
        fresh.spec.target.run_started_at = start.started_at;
        fresh.spec.target.run_id = start.run_id;
        fresh.spec.target.abandoned_run = start.abandoned_run;
        RecordReadyStream(*Ledger::Open(state_url, "sluice/" + job.name + "/ledger"), start.run_id, fresh);
        return fresh;
    };

    RunOutcome outcome;
    ProgressTracker tracker;
    struct Release {
        RunObserver& observer;
        ~Release() { observer.Released(); }
    } release{observer};  // before the tracker goes, however RunPlan ends
    observer.Started(start, plan, tracker, control);
    options.stop = control.stop;
    options.abort = control.abort;
    ProgressReporter reporter(tracker, control.progress);
    reporter.Listen([&observer](const nlohmann::json& event) { observer.Event(event); });
    reporter.Start();
    RunSummary summary = RunPlan(plan, options, tracker, reporter);
    reporter.Stop();
    if (start.distributed) {
        RecordShare(ledger, job, start.run_id, summary);
    } else {
        RecordOutcome(ledger, state_url, start.run_id, job.name, summary, start.resumed, MarksReached(plan),
                      summary.status == RunStatus::kSucceeded ? FilesReached(plan) : std::vector<FileRecord>{});
    }
    outcome.start = start;
    outcome.summary = std::move(summary);
    observer.Finished(outcome.start, outcome.summary);
    return outcome;
}

}  // namespace sluice
