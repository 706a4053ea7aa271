#include <algorithm>
#include <mutex>
#include <stop_token>
#include <thread>
#include <vector>

#include "engine/ledger_claims.hpp"
#include "engine/ledger_watch.hpp"
#include "engine/partition_loader.hpp"
#include "engine/run.hpp"
#include "engine/scheduler_state.hpp"
#include "engine/stream_lifecycle.hpp"
#include "engine/work_queue.hpp"

// RunPlan: the coordinator that wires the scheduler's parts together. The work queue hands
// partitions to W worker threads; each worker loads them through its PartitionLoader; the
// StreamLifecycle activates streams, counts their partitions and completes them.

namespace sluice {

namespace {

class Scheduler {
public:
    Scheduler(Plan& plan, const RunOptions& options, ProgressTracker& tracker, ProgressReporter& reporter)
        : plan_(plan), run_{plan.job, options, tracker, reporter, mu_}, queue_(mu_), streams_(run_, plan, queue_) {}

    RunSummary Run() {
        const RunOptions& options = run_.options;
        run_.reporter.Event({{"event", "run_started"},
                             {"job", plan_.job},
                             {"workers", options.workers},
                             {"partitions", plan_.PartitionCount()}});
        queue_.BeginWork();  // the coordinator's activation counts as work in flight
        std::stop_callback on_stop(options.stop, [this] { queue_.RequestStop(); });
        std::stop_callback on_abort(options.abort, [this] { queue_.RequestStop(); });
        // Lookups read other tables while their stream is prepared: when one of them may be a
        // table this job loads, every stream is prepared before any loads, as the job reads.
        const bool load_while_preparing = std::none_of(plan_.streams.begin(), plan_.streams.end(),
                                                       [](const StreamPlan& s) { return s.spec.transform.lookups.size() > 0; });
        std::exception_ptr activation_error;
        {
            // Before any stream is prepared: the heartbeat is how the others tell that this
            // process, holding a stream's lock while it prepares it, is still alive.
            std::vector<std::jthread> workers;
            if (!options.ledger_url.empty()) {
                workers.emplace_back([this](const std::stop_token& stop) { WatchStopFlag(stop, run_, queue_); });
                workers.emplace_back([this](const std::stop_token& stop) { RenewLeases(stop, run_); });
                workers.emplace_back([this](const std::stop_token& stop) { FlushProgress(stop, run_); });
            }
            if (!load_while_preparing) {
                Activate();
            }
            std::vector<std::jthread> pool;
            for (int w = 0; w < std::max(1, options.workers); ++w) {
                pool.emplace_back([this, w] { WorkerLoop(w); });
            }
            // The workers load the first streams' partitions while the later streams are
            // prepared (each creates its table and reads its definition: connections and
            // round trips), so a copy of many tables does not wait for all of them.
            if (load_while_preparing) {
                try {
                    Activate();
                } catch (...) {
                    activation_error = std::current_exception();  // after the workers are joined
                }
            }
            pool.clear();  // joins the workers; then the ledger threads are stopped and joined
        }
        if (activation_error) {
            std::rethrow_exception(activation_error);
        }
        return streams_.Finish();
    }

private:
    /// The coordinator's activation of the streams that can start; ends its unit of work in
    /// flight, and stops the run when it fails (so that the workers do not wait for it).
    void Activate() {
        try {
            streams_.ActivateReady();
        } catch (...) {
            queue_.RequestStop();
            queue_.EndWork();
            throw;
        }
        queue_.EndWork();
    }

    void WorkerLoop(int worker) {
        if (run_.options.distributed) {
            SharedWorkerLoop(worker);
            return;
        }
        PartitionLoader loader(run_, streams_, queue_, worker);
        while (const std::optional<Task> task = queue_.Take()) {
            loader.Load(*task);
            // The partition may have completed its stream: streams waiting on it may start.
            if (streams_.StreamDone(task->stream)) {
                streams_.ActivateReady();
            }
            queue_.EndWork();
        }
    }

    /// A distributed run's worker: partitions come from the ledger, and streams end there.
    void SharedWorkerLoop(int worker) {
        PartitionLoader loader(run_, streams_, queue_, worker);
        LedgerClaims claims(run_, streams_, queue_, loader.ledger());
        while (const std::optional<Task> task = claims.Next()) {
            loader.Load(*task);
            claims.Ended(*task);
        }
    }

    Plan& plan_;
    std::mutex mu_;  // the run's one mutex: guards the streams' state and the work queue
    RunContext run_;
    WorkQueue queue_;
    StreamLifecycle streams_;
};

}  // namespace

RunSummary RunPlan(Plan& plan, const RunOptions& options, ProgressTracker& tracker,
                   ProgressReporter& reporter) {
    Scheduler scheduler(plan, options, tracker, reporter);
    return scheduler.Run();
}

}  // namespace sluice
