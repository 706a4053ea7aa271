#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <vector>
#include <string>

#include "connectors/connector.hpp"
#include "engine/reject_writer.hpp"
#include "state/ledger.hpp"
#include "observe/progress.hpp"
#include "transform/conform.hpp"
#include "transform/row_transform.hpp"

namespace sluice {

/// Row counts of a committed partition.
struct PartitionCounts {
    int64_t rows_read = 0;
    int64_t bytes_read = 0;
    int64_t rows_written = 0;
    int64_t bytes_written = 0;             ///< Batch::DataBytes of the rows written
    int64_t rows_rejected = 0;
    int64_t rows_filtered = 0;             ///< left out by the transform's filter
    std::vector<RejectedRow> rejects;      ///< the rows set aside, for the ledger
    bool marked_in_transaction = false;    ///< the ledger mark committed with the rows
    std::string undo;                      ///< SinkWriter::UndoToken of the transaction
    std::optional<MergeCounts> merge;      ///< how a merge's rows landed (SinkWriter::Merge)
    std::string warning;                   ///< a problem after COMMIT that did not undo it

    /// How the rows written landed: a merge's counts, else every row inserted.
    MergeCounts Landed() const { return merge.value_or(MergeCounts{.inserted = rows_written}); }
};

/// Everything one partition's pipeline needs; references outlive the call.
struct PipelineContext {
    Source& source;
    const Slice& slice;
    int partition_id;
    SinkWriter& writer;
    /// The stream's transform for this partition's source, or null; runs before `conformer`.
    const RowTransform* transform;
    /// What the transform's run_id(), now(), tenant() and source_file() return.
    const expr::EvalEnv* transform_env;
    const LoadedLookups* lookups;  ///< the stream's lookups, for the transform
    const BatchConformer& conformer;
    RejectWriter& rejects;
    StreamCounters& counters;
    int64_t max_rejects;
    size_t queue_batches;
    size_t queue_bytes;
    std::stop_token cancel;  ///< stop requested: roll back and throw Error(kCancelled)
    /// The ledger's fenced "committed" mark for this partition given its rows, rejects and
    /// undo token, run inside the partition's transaction; empty when the run keeps no
    /// ledger in the target's database.
    std::function<CommitMark(const PartitionCounts& counts)> commit_mark;
    /// Asked when COMMIT failed after the mark was sent (a lost reply looks like a lost
    /// connection): true when the ledger says this claim did commit, so the partition must
    /// not load again.
    std::function<bool()> commit_landed;
    /// Isolate every batch (SinkWriter::TryWrite) and bisect failing ones down to the rows
    /// the target refuses, which go to the rejects. Used to re-run a partition that failed
    /// on data: slower, so only then.
    bool bisect = false;
};

/// Thrown when the partition's commit mark changed no row: the claim was fenced off (its
/// lease expired and another process took the partition, or a --restart superseded the run).
/// The data was rolled back; the partition belongs to someone else now.
class ClaimFenced : public Error {
public:
    using Error::Error;
};

/// Loads one partition: a reader thread fills a bounded queue, this thread conforms batches,
/// sets rejected rows aside and writes, all inside one target transaction. On any failure
/// the transaction is rolled back, counters are restored, and the Error is rethrown.
PartitionCounts RunPartition(const PipelineContext& ctx);

}  // namespace sluice
