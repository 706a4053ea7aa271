#include "engine/stream_marks.hpp"

namespace sluice {

void ReconcileWithTargetMarks(Ledger& ledger, TargetMarks& marks, const std::string& run_id, StreamPlan& stream,
                              MarksReconciled& changed) {
    const std::string& name = stream.spec.name;
    const std::map<int, TargetMark> committed = marks.All(run_id, name);
    for (PartitionPlan& p : stream.partitions) {
        const auto mark = committed.find(p.id);
        if (mark != committed.end() && !p.committed) {
            ledger.AdoptCommitted(run_id, name, p.id, mark->second.rows, mark->second.undo);
            p.committed = true;
            ++changed.adopted;
        } else if (mark == committed.end() && p.committed) {
            ledger.ReopenPartition(run_id, name, p.id);
            p.committed = false;
            ++changed.reopened;
        }
    }
}

}  // namespace sluice
