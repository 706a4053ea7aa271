#pragma once

#include <string>
#include <vector>

#include "connectors/postgres/pg_types.hpp"
#include "connectors/postgres/pg_wire.hpp"
#include "core/batch.hpp"

namespace sluice::pg {

/// Turns Batches into `COPY ... FROM STDIN` bytes: binary format when every column has a
/// binary codec and batches carry the target's types, else PostgreSQL's text format (the
/// server then parses types sluice does not know, such as inet or PostGIS geometry, and
/// reports values it refuses with their line and column). One per writer; not thread-safe.
class CopyEncoder {
public:
    /// `columns` are the target columns in the order of the COPY column list; batches
    /// must have these columns in this order, with the sluice types the columns map to.
    explicit CopyEncoder(std::vector<PgColumn> columns);

    /// True when a COPY whose first batch is `batch` must use the text format: a target
    /// column has no binary codec, or a batch column's type is not its target's.
    bool NeedsText(const Batch& batch) const;

    /// Appends every row of `batch` in the text or binary format. Throws Error(kInternal)
    /// when the batch's columns do not fit the format, Error(kData, "22P02") naming the column
    /// and row for a value the target type cannot carry (a bad decimal or array literal).
    void Encode(const Batch& batch, bool text, WireBuffer& out);

private:
    void CheckShape(const Batch& batch, bool text) const;
    void EncodeBinary(const Batch& batch, WireBuffer& out);
    void EncodeText(const Batch& batch, WireBuffer& out);

    std::vector<PgColumn> columns_;
    std::vector<Column> scratch_;  // arrays: a reusable column of the element type
    std::string text_;
    bool has_fallbacks_ = false;  // some target column has no binary codec
};

}  // namespace sluice::pg
