#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/column.hpp"
#include "core/schema.hpp"

namespace sluice {

/// A row the reader or a conversion could not accept: kept with its reason, never dropped.
struct RejectedRow {
    std::string position;  ///< where it came from: "data/afg.csv:17" or "id=42"
    std::string row;       ///< the raw row as text (CSV line, or values joined)
    std::string error;     ///< what is wrong with it and what was expected
    std::string sqlstate;  ///< SQLSTATE when a database refused it
};

/// Columnar rows moving through a pipeline: a few thousand to tens of thousands of rows.
/// A Batch owns its data; stages pass it by move.
struct Batch {
    Schema schema;
    std::vector<Column> columns;
    /// Rows the reader rejected while producing this batch (not part of `columns`).
    std::vector<RejectedRow> rejected;
    /// Source position of each row when the reader knows it (line numbers); may be empty.
    std::vector<uint64_t> source_rows;
    /// Raw pass-through payload (PostgreSQL binary COPY bytes) when the fast path is on;
    /// then `columns` is empty and `raw_rows` counts the rows inside.
    std::string raw;
    size_t raw_rows = 0;

    Batch() = default;
    explicit Batch(Schema s);

    size_t rows() const { return columns.empty() ? raw_rows : columns.front().size(); }
    bool empty() const { return rows() == 0 && rejected.empty(); }
    /// Approximate heap bytes held, for queue accounting.
    size_t ByteSize() const;
    /// Bytes of the rows' values (Column::DataBytes), or of the raw COPY data: what "bytes
    /// written" counts.
    size_t DataBytes() const;
    /// Empties the columns, keeping schema and capacity.
    void Clear();
};

}  // namespace sluice
