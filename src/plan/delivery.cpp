#include "plan/delivery.hpp"

#include <fmt/format.h>

#include "connectors/registry.hpp"
#include "core/error.hpp"
#include "state/target_marks.hpp"

namespace sluice {

void NoteDeliveryGuarantees(Plan& plan, const std::string& ledger_url) {
    if (ledger_url.empty()) {
        return;
    }
    for (StreamPlan& stream : plan.streams) {
        if (stream.spec.target.url == ledger_url) {
            stream.notes.push_back("exactly once: each partition's ledger mark commits in the target's own "
                                   "transaction");
        } else if (UrlScheme(stream.spec.target.url) == "file") {
            stream.notes.push_back(fmt::format(
                "exactly once: each partition writes one file named by the run and the partition, whole under a "
                "temporary name and then renamed; a partition loaded again (a crash before the ledger in {} "
                "heard of it) replaces its file",
                MaskSecrets(ledger_url)));
        } else if (KeepsTargetMarks(stream.spec.target.url, ledger_url)) {
            stream.notes.push_back(fmt::format(
                "exactly once: the ledger is in {}; each partition's mark commits with its rows in the "
                "target's own {}, and the ledger is brought in line from those marks",
                MaskSecrets(ledger_url),
                UrlScheme(stream.spec.target.url).starts_with("postgres") ? "sluice.partition_marks" : "sluice_partition_marks"));
        } else {
            stream.notes.push_back(fmt::format(
                "at least once: the ledger is in {}, not in this stream's target, so a partition is marked "
                "after its COMMIT; a crash in between loads it again on --resume (duplicates unless the "
                "target has a key). Only PostgreSQL, SQLite and MariaDB targets can keep the marks for exactly once",
                MaskSecrets(ledger_url)));
        }
    }
}

}  // namespace sluice
