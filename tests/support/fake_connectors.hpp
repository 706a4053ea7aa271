#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "connectors/connector.hpp"
#include "state/sql_store.hpp"

// In-memory connectors whose faults are scripted, for the scheduler's unit tests: a source
// that fails on the k-th read of a slice, and a target whose transactions are simulated
// exactly, so a test can assert what the target holds after a run, row by row.

namespace sluice::testing {

/// Rows of a fake source: (id, name). The fake schema is `id int64, name text`, key (id).
using FakeRows = std::vector<std::pair<int64_t, std::string>>;

/// Rows with ids [first, last] named "<prefix><id>".
FakeRows MakeRows(int64_t first, int64_t last, const std::string& prefix = "r");

/// The schema of every fake source.
Schema FakeSchema();

/// What a slice's reader does on one of its reads.
enum class ReadFault {
    kTransient,  ///< throws Error(kConnection, ..., "08006"): a dropped connection
    kData,       ///< throws Error(kData, ..., "22P02"): malformed source data
    kForeign,    ///< throws std::runtime_error: a bug or a library that is not sluice's
    kSlow,       ///< sleeps `delay` before every read (never fails)
};

/// A scripted read fault of one slice.
struct ReadFaultSpec {
    ReadFault fault = ReadFault::kTransient;
    int on_next = 1;     ///< which Next call of an opened reader fails (1-based)
    int times = 1;       ///< for how many opens of the slice; -1 = every open
    std::chrono::milliseconds delay{0};  ///< kSlow
};

/// A source over rows held in memory, cut into given slices. Slice `i` has strategy "fake",
/// lower bound "i" and the tenant given at construction; readers return `batch_rows` rows per
/// batch. Thread-safe (workers open readers concurrently).
class FakeSource : public Source {
public:
    FakeSource(std::vector<FakeRows> slices, std::string tenant = "", size_t batch_rows = 2);

    /// Scripts a fault on slice `index`.
    void Fail(size_t index, ReadFaultSpec spec);
    /// How many times slice `index` was opened (one per attempt).
    int Opens(size_t index) const;

    Schema Describe() override { return FakeSchema(); }
    int64_t EstimateRows() override;
    std::vector<Slice> Partition(const PartitionRequest& request) override;
    std::unique_ptr<SliceReader> Open(const Slice& slice) override;

private:
    std::vector<FakeRows> slices_;
    std::string tenant_;
    size_t batch_rows_;
    mutable std::mutex mu_;
    std::map<size_t, ReadFaultSpec> faults_;  // guarded by mu_
    std::map<size_t, int> opens_;             // guarded by mu_
};

/// What a scripted COMMIT does.
enum class CommitFault {
    kLostReply,    ///< applies the transaction, then throws 08006: the reply was lost
    kBeforeApply,  ///< throws 08006 and applies nothing: the connection dropped before COMMIT
};

/// A committed row of the fake target: its values as text and the transaction that wrote it
/// ("seed" for rows that were there before the run).
struct FakeRow {
    std::vector<std::string> values;
    std::string txn;
};

/// The state of one fake target table, shared by its sink and writers, and by the test that
/// scripts faults and reads the result. Thread-safe.
///
/// Transactions are simulated: a writer's rows become visible at Commit, all at once, tagged
/// with the transaction's id (its UndoToken). A replace writes to a staging table that
/// Finalize(true) swaps in. With `InTransactionLedger`, writers also run the ledger's commit
/// mark against that SQLite ledger inside their simulated transaction, as a target that
/// keeps the ledger does (exactly once); otherwise they cannot, and the engine marks
/// partitions after COMMIT (at least once).
class FakeTarget {
public:
    /// The table's rows (live, not staging), each as "v1,v2,...", sorted.
    std::vector<std::string> Rows() const;
    /// The staging table's rows of a replace, sorted.
    std::vector<std::string> StagingRows() const;

    /// Rows that were in the table before the run.
    void Seed(const std::vector<std::vector<std::string>>& rows);
    /// Rows with any value equal to `value` are refused (23514, as a CHECK constraint would).
    void Refuse(const std::string& value);
    /// The `times` next COMMITs of the slice with this key (see SliceKey) fail as scripted.
    void FailCommit(const std::string& slice_key, CommitFault fault, int times = 1);
    /// Write of the slice with this key throws std::runtime_error `times` times.
    void ThrowForeignOnWrite(const std::string& slice_key, int times = 1);
    /// Finalize(true) throws this error (publishing fails); nothing is published.
    void FailPublish(Error error);
    /// Writers cannot isolate batches (no savepoints): the engine cannot bisect.
    void DisableSavepoints();
    /// Writers run the ledger's SQL in their transactions against this SQLite ledger.
    void InTransactionLedger(const std::string& ledger_url);

    /// Finalize calls, in order, with their `success` argument.
    std::vector<bool> Finalized() const;
    int Opened() const;        ///< sinks opened (streams activated)
    int TryWrites() const;     ///< TryWrite calls (bisection at work)
    int Commits() const;       ///< COMMITs that applied their rows
    std::vector<std::string> UndoneTokens() const;
    /// The tenants CarryOverTenant was asked for, with the rows it copied.
    std::map<std::string, int64_t> CarriedOver() const;

    /// "tenant/i" or "i": the key of slice `i` (FakeSource's lower bound) of a tenant.
    static std::string SliceKey(const Slice& slice);

private:
    friend class FakeSink;
    friend class FakeSinkWriter;

    mutable std::mutex mu_;
    // Everything below is guarded by mu_.
    bool replace_ = false;
    Schema schema_;
    std::vector<FakeRow> live_;
    std::vector<FakeRow> staging_;
    std::set<std::string> refused_;
    std::map<std::string, std::vector<CommitFault>> commit_faults_;
    std::map<std::string, int> foreign_write_faults_;
    std::optional<Error> publish_fault_;
    bool savepoints_ = true;
    std::string ledger_url_;
    std::vector<bool> finalized_;
    int opened_ = 0;
    int try_writes_ = 0;
    int commits_ = 0;
    int next_txn_ = 1;
    std::vector<std::string> undone_;
    std::map<std::string, int64_t> carried_;
};

/// Makes `fake://NAME` targets resolve to the FakeTarget registered under NAME (see
/// RegisterSinkScheme). Returns that target, fresh.
std::shared_ptr<FakeTarget> AddFakeTarget(const std::string& name);

/// Registers a fake target for every URL of `scheme` (a built-in one: sqlite) while it
/// lives, so that a target URL can equal the ledger's and the engine marks partitions
/// inside the target's transaction. Restores the built-in connector when it dies.
class SchemeOverride {
public:
    SchemeOverride(const std::string& scheme, std::shared_ptr<FakeTarget> target);
    ~SchemeOverride();
    SchemeOverride(const SchemeOverride&) = delete;
    SchemeOverride& operator=(const SchemeOverride&) = delete;

private:
    std::string scheme_;
};

}  // namespace sluice::testing
