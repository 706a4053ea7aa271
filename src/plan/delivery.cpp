#include "plan/delivery.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace sluice {

void NoteDeliveryGuarantees(Plan& plan, const std::string& ledger_url) {
    if (ledger_url.empty()) {
        return;
    }
    for (StreamPlan& stream : plan.streams) {
        if (stream.spec.target.url == ledger_url) {
            stream.notes.push_back("exactly once: each partition's ledger mark commits in the target's own "
                                   "transaction");
        } else {
            stream.notes.push_back(fmt::format(
                "at least once: the ledger is in {}, not in this stream's target, so a partition is marked "
                "after its COMMIT; a crash in between loads it again on --resume (duplicates unless the "
                "target has a key). Keep settings.state: target, or put this stream's target first, for "
                "exactly once",
                MaskSecrets(ledger_url)));
        }
    }
}

}  // namespace sluice
