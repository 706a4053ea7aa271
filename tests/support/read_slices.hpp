#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "connectors/connector.hpp"
#include "core/convert.hpp"

namespace sluice::testing::files {

/// One row as text ("<NULL>" for NULL), with the line it came from.
struct ReadRow {
    uint64_t line;
    std::vector<std::string> values;
    friend bool operator<(const ReadRow& a, const ReadRow& b) { return a.line < b.line; }
    friend bool operator==(const ReadRow&, const ReadRow&) = default;
};

/// Everything a set of slices produced. (Own namespace: sqlite_test_db.hpp has a ReadSlices
/// of the same signature in sluice::testing.)
struct ReadAll {
    std::vector<ReadRow> rows;
    std::vector<RejectedRow> rejected;
    size_t batches = 0;
};

/// Reads every slice to the end, in order.
inline ReadAll ReadSlices(Source& source, const std::vector<Slice>& slices) {
    ReadAll out;
    for (const Slice& slice : slices) {
        auto reader = source.Open(slice);
        Batch batch;
        while (reader->Next(batch)) {
            ++out.batches;
            EXPECT_EQ(batch.source_rows.size(), batch.rows());
            for (size_t r = 0; r < batch.rows(); ++r) {
                ReadRow row{batch.source_rows[r], {}};
                for (const Column& column : batch.columns) {
                    row.values.push_back(column.IsNull(r) ? "<NULL>" : FormatValue(column, r));
                }
                out.rows.push_back(std::move(row));
            }
            out.rejected.insert(out.rejected.end(), batch.rejected.begin(), batch.rejected.end());
        }
    }
    return out;
}

inline PartitionRequest Request(std::string strategy, int64_t chunk_rows = 50000,
                                int64_t min_rows_for_parallel = 100000) {
    PartitionRequest request;
    request.strategy = std::move(strategy);
    request.chunk_rows = chunk_rows;
    request.min_rows_for_parallel = min_rows_for_parallel;
    return request;
}

}  // namespace sluice::testing::files
