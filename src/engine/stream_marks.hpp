#pragma once

#include <cstddef>
#include <string>

#include "plan/plan.hpp"
#include "state/ledger.hpp"
#include "state/target_marks.hpp"

namespace sluice {

/// What bringing the ledger in line with a target's marks changed.
struct MarksReconciled {
    size_t adopted = 0;   ///< committed in the target, not yet in the ledger: now skipped
    size_t reopened = 0;  ///< committed in the ledger, rows gone from the target: load again
};

/// A resumed run's stream whose marks live in its target: the target decides which
/// partitions are committed (a crash between the target's COMMIT and the ledger's update,
/// or between a rollback in the target and the ledger, leaves the two apart). Updates the
/// ledger and `stream.partitions[].committed` to match the target, counting each change in
/// `changed` as it is made: when the ledger fails midway, what was changed is counted.
void ReconcileWithTargetMarks(Ledger& ledger, TargetMarks& marks, const std::string& run_id, StreamPlan& stream,
                              MarksReconciled& changed);

}  // namespace sluice
