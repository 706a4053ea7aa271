#include "run/worker_service.hpp"

#include <chrono>
#include <map>
#include <thread>

#include "plan/stream_patterns.hpp"
#include "run/distributed_run.hpp"
#include "run/incremental_marks.hpp"
#include "state/job_lock.hpp"

namespace sluice {

namespace {

/// Works on one run; nullopt when it cannot be joined now (a start, resume or restart of its
/// job holds the job's lock).
std::optional<RunOutcome> WorkOn(const RunRecord& run, const WorkerFlags& flags, RunObserver& observer,
                                 RunControl& control) {
    JobSpec job = JobOfRun(run);
    RunFlags run_flags;
    run_flags.workers = flags.slots;
    run_flags.state = flags.state;
    ApplyFlags(run_flags, job);
    ExpandTablePatterns(job);
    const int workers = ResolveWorkers(job);
    const CursorMarks marks = ReadMarks(job);
    const LoadedFiles loaded = ReadLoadedFiles(job);
    Plan plan = BuildPlan(job, workers, marks, loaded);
    // Held while working: a --restart of the job (which takes the lock exclusive) waits for
    // this worker to stop, so it never undoes rows a worker is still committing.
    const std::unique_ptr<JobLock> lock = JobLock::TryAcquireShared(flags.state, job.name);
    if (!lock) {
        return std::nullopt;
    }
    std::unique_ptr<Ledger> ledger = Ledger::Open(flags.state, "sluice/" + job.name + "/ledger");
    const RunStart start = JoinDistributedRun(*ledger, run, job, plan);
    observer.Planned(plan);
    return RunStarted(job, plan, start, RunInputs{flags.state, marks, loaded, workers}, *ledger, observer, control);
}

/// Sleeps `period` unless the worker is asked to stop first; false when it is.
bool Pause(const RunControl& control, std::chrono::milliseconds period) {
    const auto until = std::chrono::steady_clock::now() + period;
    while (std::chrono::steady_clock::now() < until) {
        if (control.stop.stop_requested()) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return !control.stop.stop_requested();
}

}  // namespace

std::vector<RunOutcome> ExecuteWorker(const WorkerFlags& flags, RunObserver& observer, RunControl& control) {
    RequireSharedLedger(flags.state);
    std::unique_ptr<Ledger> ledger = Ledger::Open(flags.state, "sluice/worker");
    std::vector<RunOutcome> outcomes;
    // Runs this worker left (or could not join) recently: another look only after a while,
    // so a run it cannot work on does not keep it busy.
    std::map<std::string, std::chrono::steady_clock::time_point> left;
    const auto started = std::chrono::steady_clock::now();
    const auto again_after = std::chrono::seconds(10);
    while (!control.stop.stop_requested()) {
        std::optional<RunRecord> next;
        const auto now = std::chrono::steady_clock::now();
        for (RunRecord& run : ledger->OpenDistributedRuns(flags.job)) {
            const auto it = left.find(run.run_id);
            if (it == left.end() || now - it->second > again_after) {
                next = std::move(run);
                break;
            }
        }
        if (!next) {
            const bool waited = now - started > std::chrono::duration<double>(flags.wait_seconds);
            if (!flags.follow && (!outcomes.empty() || waited)) {
                break;
            }
            if (!Pause(control, std::chrono::seconds(1))) {
                break;
            }
            continue;
        }
        std::optional<RunOutcome> outcome = WorkOn(*next, flags, observer, control);
        left[next->run_id] = std::chrono::steady_clock::now();
        if (outcome) {
            outcomes.push_back(std::move(*outcome));
        } else if (!Pause(control, std::chrono::seconds(1))) {
            break;
        }
    }
    return outcomes;
}

}  // namespace sluice
