// The ledger's live view of a run: how far each running partition got, and which processes
// (invocations) worked on the run. Informational: nothing here decides what loads.
#include <fmt/format.h>

#include "state/ledger.hpp"

namespace sluice {

void Ledger::StartInvocation(const std::string& run_id, const std::string& owner) {
    // Only the process holding the job's lock starts or resumes a run, so max + 1 is unique.
    store_->Exec(fmt::format("INSERT INTO {0} (run_id, invocation, owner, started_at) SELECT ?, "
                             "COALESCE(max(invocation), 0) + 1, ?, ? FROM {0} WHERE run_id = ?",
                             Table("invocations")),
                 {run_id, owner, UtcTimestamp(), run_id});
}

void Ledger::RecordProgress(const std::string& run_id, const std::string& worker,
                            const std::vector<PartitionProgress>& running) {
    const std::string update = fmt::format(
        "UPDATE {} SET rows_read = ?, rows = ?, bytes = ? WHERE run_id = ? AND stream = ? "
        "AND partition_id = ? AND worker = ? AND status = 'running'",
        Table("partitions"));
    // One statement each, no transaction around them: a report never holds one partition's
    // row while it waits for another's (whose commit mark may hold it until COMMIT).
    for (const PartitionProgress& p : running) {
        store_->Exec(update, {std::to_string(p.tally.rows_read), std::to_string(p.tally.rows_written),
                              std::to_string(p.tally.bytes), run_id, p.stream, std::to_string(p.partition),
                              worker});
    }
}

PartitionTally Ledger::LiveTally(const std::string& run_id) {
    auto rows = store_->Query(fmt::format("SELECT COALESCE(sum(rows_read), 0), COALESCE(sum(rows), 0), "
                                          "COALESCE(sum(bytes), 0) FROM {} WHERE run_id = ? AND status "
                                          "IN ('committed', 'running')",
                                          Table("partitions")),
                              {run_id});
    if (rows.empty()) {
        return {};
    }
    return {SqlInt(rows[0][0]), SqlInt(rows[0][1]), SqlInt(rows[0][2])};
}

std::vector<InvocationRecord> Ledger::Invocations(const std::string& run_id) {
    std::vector<InvocationRecord> out;
    // A partition records the process that claimed it last, which is the invocation that
    // committed it: what a killed invocation did is known from its partitions.
    const auto rows = store_->Query(
        fmt::format("SELECT i.invocation, i.owner, i.started_at, i.finished_at, i.status, i.rows_read, "
                    "i.rows_written, i.rows_rejected, i.rows_rolled_back, "
                    "(SELECT count(*) FROM {1} p WHERE p.run_id = i.run_id AND p.worker = i.owner "
                    "AND p.status = 'committed'), "
                    "(SELECT COALESCE(sum(p.rows), 0) FROM {1} p WHERE p.run_id = i.run_id "
                    "AND p.worker = i.owner AND p.status = 'committed') "
                    "FROM {0} i WHERE i.run_id = ? ORDER BY i.invocation",
                    Table("invocations"), Table("partitions")),
        {run_id});
    for (const SqlRow& r : rows) {
        InvocationRecord inv;
        inv.invocation = static_cast<int>(SqlInt(r[0]));
        inv.owner = SqlText(r[1]);
        inv.started_at = SqlText(r[2]);
        inv.finished_at = SqlText(r[3]);
        inv.status = SqlText(r[4]);
        inv.rows_read = SqlInt(r[5]);
        inv.rows_written = SqlInt(r[6]);
        inv.rows_rejected = SqlInt(r[7]);
        inv.rows_rolled_back = SqlInt(r[8]);
        inv.partitions_committed = SqlInt(r[9]);
        inv.rows_committed = SqlInt(r[10]);
        out.push_back(std::move(inv));
    }
    return out;
}

}  // namespace sluice
