#include "engine/ledger_watch.hpp"

#include <chrono>
#include <memory>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/utf8.hpp"
#include "engine/retry.hpp"
#include "state/ledger.hpp"

namespace sluice {

void ObeyLedgerStop(WorkQueue& queue, ProgressReporter& reporter, const std::string& run_id) {
    if (!queue.Stopping()) {
        reporter.Event({{"event", "stop_requested"}, {"run_id", run_id}});
    }
    queue.RequestStop();
}

void WatchStopFlag(const std::stop_token& stop, const RunContext& run, WorkQueue& queue) {
    std::unique_ptr<Ledger> ledger;
    while (SleepUnlessStopped(stop, std::chrono::seconds(1))) {
        try {
            if (!ledger) {
                ledger = Ledger::Open(run.options.ledger_url, "sluice/" + run.job + "/stop-watch");
            }
            if (ledger->StopRequested(run.options.run_id)) {
                ObeyLedgerStop(queue, run.reporter, run.options.run_id);
                return;
            }
        } catch (const Error&) {
            ledger.reset();  // the target may be restarting; try again next second
        }
    }
}

namespace {

constexpr std::string_view kLongestRole = "stream-gate";

}  // namespace

std::string WorkerSessionName(const RunContext& run, std::string_view role) {
    const size_t tail = kLongestRole.size() + run.options.worker.size() + 2;  // "/ROLE WORKER"
    const std::string job = TruncateUtf8("sluice/" + run.job, tail < 63 ? 63 - tail : 0);
    return fmt::format("{}/{} {}", job, role, run.options.worker);
}

std::string HeartbeatOf(const std::string& name, std::string_view role) {
    const std::string infix = fmt::format("/{} ", role);
    const size_t at = name.rfind(infix);
    if (at == std::string::npos) {
        return "";
    }
    return fmt::format("{}/heartbeat {}", name.substr(0, at), name.substr(at + infix.size()));
}

void RenewLeases(const std::stop_token& stop, const RunContext& run) {
    std::unique_ptr<Ledger> ledger;
    const auto period = std::chrono::milliseconds(static_cast<int64_t>(run.options.lease_seconds * 1000 / 3));
    // A distributed run's at once, not after a first period: this session is how the other
    // processes tell that this one, holding a stream's lock, is still alive.
    bool now = run.options.distributed;
    while (std::exchange(now, false) || SleepUnlessStopped(stop, period)) {
        try {
            if (!ledger) {
                // Named with the worker: one waiting for a stream's lock this process holds
                // tells from this session's silence whether the process is still alive.
                ledger = Ledger::Open(run.options.ledger_url, WorkerSessionName(run, "heartbeat"));
            }
            ledger->RenewLeases(run.options.run_id, run.options.worker, run.options.lease_seconds);
        } catch (const Error&) {
            ledger.reset();
        }
    }
}

void FlushProgress(const std::stop_token& stop, const RunContext& run) {
    std::unique_ptr<Ledger> ledger;
    const auto period =
        std::chrono::milliseconds(static_cast<int64_t>(run.options.progress_flush_seconds * 1000));
    while (SleepUnlessStopped(stop, period)) {
        std::vector<PartitionProgress> running;
        for (size_t i = 0; i < run.tracker.stream_count(); ++i) {
            const StreamCounters& stream = run.tracker.stream(i);
            for (const PartitionSnapshot& p : stream.Running()) {
                running.push_back({stream.name, p.partition, {p.rows_read, p.rows_written, p.bytes}});
            }
        }
        try {
            if (!ledger) {
                ledger = Ledger::Open(run.options.ledger_url, "sluice/" + run.job + "/progress");
            }
            ledger->RecordProgress(run.options.run_id, run.options.worker, running);
        } catch (const Error&) {
            ledger.reset();
        }
    }
}

}  // namespace sluice
