#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "state/ledger.hpp"
#include "state/sql_store.hpp"

namespace sluice {

/// Whether a stream keeps its partition marks in its target (TargetMarks): a run with a
/// ledger kept elsewhere, into a PostgreSQL or SQLite target.
bool KeepsTargetMarks(const std::string& target_url, const std::string& ledger_url);

/// A committed partition as its target database records it.
struct TargetMark {
    int partition = 0;
    int attempt = 0;
    int64_t rows = 0;
    std::string undo;
};

/// Partition marks kept in a stream's own target database (`sluice.partition_marks` on
/// PostgreSQL, `sluice_partition_marks` on SQLite) when the ledger lives elsewhere
/// (`settings.state`). The mark is inserted in the partition's data transaction, so the
/// target alone says which partitions' rows it holds: the ledger is updated after the COMMIT
/// and brought back in line from these marks whenever the two could differ (a lost COMMIT
/// reply, a crash between the two, a rollback). That makes such streams exactly-once too.
/// Thread-safe.
///
/// The invariant every user keeps: a mark exists exactly when its partition's rows are in
/// the target. Marks are inserted with the rows and deleted with them (Sink::Undo runs
/// DeleteSql in the deleting transaction), never otherwise, except a finished job's old runs.
class TargetMarks {
public:
    /// Opens the target database and creates the marks table if missing. Throws Error when
    /// that fails (no CREATE privilege, say): the caller falls back to at least once.
    static std::unique_ptr<TargetMarks> Open(const std::string& target_url, const std::string& application_name);

    TargetMarks(std::unique_ptr<SqlStore> store, std::string url, std::string application_name);

    /// The INSERT that records the claimed partition; run inside its data transaction, it
    /// changes one row, or none when another attempt committed the partition first (the
    /// caller then rolls its data back: the partition's rows are already in the target).
    std::string InsertSql(const std::string& job, const PartitionClaim& claim, const std::string& tenant,
                          int64_t rows, const std::string& undo) const;
    /// Deletes the marks of a stream's partitions in `run_id` (one tenant's, if given); run in
    /// the transaction that deletes their rows.
    std::string DeleteSql(const std::string& run_id, const std::string& stream,
                          const std::optional<std::string>& tenant = std::nullopt) const;

    std::optional<TargetMark> Find(const std::string& run_id, const std::string& stream, int partition);
    /// Every mark of a stream in `run_id`, by partition id.
    std::map<int, TargetMark> All(const std::string& run_id, const std::string& stream);
    /// Deletes the marks of a stream's partitions in `run_id` (their rows are gone: a replace's
    /// staging table was dropped).
    void Forget(const std::string& run_id, const std::string& stream);
    /// Deletes the marks of `job`'s runs other than `run_id`: only a run that can still be
    /// resumed needs them, and a new run of the job means the earlier ones cannot be.
    void ForgetOtherRuns(const std::string& job, const std::string& run_id);

private:
    std::string Table() const;
    /// "partition_id, attempt, rows, undo", quoted where they are reserved words (MariaDB).
    std::string Columns() const;
    /// Runs on the store, reconnecting once when its connection was lost (the target's server
    /// restarted mid-run). Call with mu_ held.
    std::vector<SqlRow> Query(const std::string& sql, const std::vector<SqlValue>& params);

    std::string url_;
    std::string application_name_;
    std::mutex mu_;  ///< workers share one instance; the store is one connection
    std::unique_ptr<SqlStore> store_;
};

}  // namespace sluice
