#include "engine/ledger_claims.hpp"

#include <chrono>

#include <fmt/format.h>

#include "engine/retry.hpp"

namespace sluice {

std::optional<Task> LedgerClaims::Next() {
    const RunOptions& options = run_.options;
    const auto poll = std::chrono::milliseconds(static_cast<int64_t>(options.poll_seconds * 1000));
    // A ledger that stays unreachable for a lease's length ends the worker: its claims have
    // run out by then and other workers (with a working network) take them over.
    auto unreachable_since = std::chrono::steady_clock::time_point{};
    for (;;) {
        if (queue_.Stopping()) {
            return std::nullopt;
        }
        try {
            Ledger* ledger = ledger_.Get();
            if (const std::optional<PartitionClaim> claim =
                    ledger->ClaimNext(options.run_id, streams_.LoadingStreams(), options.worker, options.lease_seconds)) {
                if (std::optional<Task> task = streams_.TaskFor(*claim)) {
                    return task;
                }
                // A partition this process did not plan (a tenant another process added):
                // left to the others.
                ledger->Release(options.run_id, claim->stream, claim->partition);
                run_.reporter.Event({{"event", "warning"},
                                     {"stream", claim->stream},
                                     {"partition", claim->partition},
                                     {"message", "this worker's plan lacks the partition; it leaves the stream to "
                                                 "the other workers"}});
                return std::nullopt;
            }
            streams_.SyncWithLedger(*ledger);
            if (streams_.AllDone()) {
                return std::nullopt;
            }
            unreachable_since = {};
        } catch (const Error& e) {
            ledger_.Reset();
            const auto now = std::chrono::steady_clock::now();
            if (unreachable_since == std::chrono::steady_clock::time_point{}) {
                unreachable_since = now;
                run_.reporter.Event({{"event", "warning"},
                                     {"message", "cannot claim work from the ledger (trying again): " + e.Describe()}});
            } else if (now - unreachable_since > std::chrono::duration<double>(options.lease_seconds)) {
                run_.reporter.Event({{"event", "warning"},
                                     {"message", fmt::format("the ledger did not answer for {:.0f} s; this worker "
                                                             "ends: {}",
                                                             options.lease_seconds, e.Describe())}});
                return std::nullopt;
            }
        }
        if (!SleepUnlessStopped(queue_.CancelToken(), poll)) {
            return std::nullopt;
        }
    }
}

void LedgerClaims::Ended(const Task& task) {
    try {
        if (Ledger* ledger = ledger_.Get()) {
            streams_.CompleteIfDone(task.stream, *ledger);
        }
    } catch (const Error&) {
        ledger_.Reset();  // the next idle look (SyncWithLedger) completes it
    }
}

}  // namespace sluice
