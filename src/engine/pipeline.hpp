#pragma once

#include <cstdint>
#include <functional>
#include <stop_token>
#include <vector>
#include <string>

#include "connectors/connector.hpp"
#include "engine/reject_writer.hpp"
#include "observe/progress.hpp"
#include "transform/conform.hpp"

namespace sluice {

/// Everything one partition's pipeline needs; references outlive the call.
struct PipelineContext {
    Source& source;
    const Slice& slice;
    int partition_id;
    SinkWriter& writer;
    const BatchConformer& conformer;
    RejectWriter& rejects;
    StreamCounters& counters;
    int64_t max_rejects;
    size_t queue_batches;
    size_t queue_bytes;
    std::stop_token cancel;  ///< stop requested: roll back and throw Error(kCancelled)
    /// The ledger's "committed" mark for this partition given its rows and rejects, run
    /// inside the partition's transaction; empty when the run keeps no ledger.
    std::function<std::string(int64_t rows, const std::vector<RejectedRow>& rejects)> commit_sql;
    /// Isolate every batch (SinkWriter::TryWrite) and bisect failing ones down to the rows
    /// the target refuses, which go to the rejects. Used to re-run a partition that failed
    /// on data: slower, so only then.
    bool bisect = false;
};

/// Row counts of a committed partition.
struct PartitionCounts {
    int64_t rows_read = 0;
    int64_t rows_written = 0;
    int64_t rows_rejected = 0;
    std::vector<RejectedRow> rejects;      ///< the rows set aside, for the ledger
    bool marked_in_transaction = false;    ///< the ledger mark committed with the rows
};

/// Loads one partition: a reader thread fills a bounded queue, this thread conforms batches,
/// sets rejected rows aside and writes, all inside one target transaction. On any failure
/// the transaction is rolled back, counters are restored, and the Error is rethrown.
PartitionCounts RunPartition(const PipelineContext& ctx);

}  // namespace sluice
