#include "engine/worker_ledger.hpp"

#include <fmt/format.h>

namespace sluice {

Ledger* WorkerLedger::Get() {
    if (options_.ledger_url.empty()) {
        return nullptr;
    }
    if (!ledger_) {
        ledger_ = Ledger::Open(options_.ledger_url, fmt::format("sluice/{}/ledger-w{}", job_, worker_));
        ledger_->CommitWithoutWaitingForFlush();
    }
    return ledger_.get();
}

void WorkerLedger::RecordFailure(const std::string& stream, const PartitionPlan& p, const Error& e) {
    try {
        if (Ledger* led = Get()) {
            if (e.kind() == ErrorKind::kCancelled) {
                led->Release(options_.run_id, stream, p.id);
            } else {
                led->MarkFailed(options_.run_id, stream, p.id, e.Describe());
            }
        }
    } catch (const Error&) {
        ledger_.reset();
    }
}

}  // namespace sluice
