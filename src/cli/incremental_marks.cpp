#include "cli/incremental_marks.hpp"

#include <algorithm>
#include <set>

#include "cli/run_ledger.hpp"

namespace sluice::cli {

CursorMarks ReadMarks(const JobSpec& job) {
    const bool incremental = std::any_of(job.streams.begin(), job.streams.end(),
                                         [](const StreamSpec& s) { return s.incremental.enabled(); });
    CursorMarks marks;
    if (!incremental) {
        return marks;
    }
    for (CheckpointRecord& mark : Ledger::PeekCheckpoints(StateUrlIfAny(job), job.name)) {
        marks[{mark.stream, mark.tenant}] = std::move(mark.cursor);
    }
    return marks;
}

std::vector<CheckpointRecord> MarksReached(const Plan& plan) {
    std::vector<CheckpointRecord> out;
    for (const StreamPlan& stream : plan.streams) {
        if (!stream.spec.incremental.enabled()) {
            continue;
        }
        std::set<std::string> seen;
        for (const PartitionPlan& p : stream.partitions) {
            if (!p.slice.window.upto.empty() && seen.insert(p.slice.tenant).second) {
                out.push_back({stream.spec.name, p.slice.tenant, p.slice.window.upto, "", ""});
            }
        }
    }
    return out;
}

}  // namespace sluice::cli
