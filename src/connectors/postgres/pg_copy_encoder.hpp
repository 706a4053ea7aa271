#pragma once

#include <string>
#include <vector>

#include "connectors/postgres/pg_types.hpp"
#include "connectors/postgres/pg_wire.hpp"
#include "core/batch.hpp"

namespace sluice::pg {

/// Turns Batches into `COPY ... FROM STDIN` bytes: binary format when every column has a
/// binary codec, else PostgreSQL's text format (so the server parses types sluice does not
/// know, such as inet or PostGIS geometry). One per writer; not thread-safe.
class CopyEncoder {
public:
    /// `columns` are the target columns in the order of the COPY column list; batches
    /// must have these columns in this order, with the sluice types the columns map to.
    explicit CopyEncoder(std::vector<PgColumn> columns);

    /// True when the COPY must use the text format (some column has no binary codec).
    bool text_format() const { return text_format_; }
    /// The `(FORMAT ...)` option for the COPY statement.
    const char* FormatOption() const { return text_format_ ? "(FORMAT text)" : "(FORMAT binary)"; }

    /// Appends every row of `batch`. Throws Error(kInternal) when the batch's columns do not
    /// match the target's, Error(kData, "22P02") naming the column and row for a value the
    /// target type cannot carry (a decimal text that is not a number, a bad array literal).
    void Encode(const Batch& batch, WireBuffer& out);

private:
    void CheckShape(const Batch& batch) const;
    void EncodeBinary(const Batch& batch, WireBuffer& out);
    void EncodeText(const Batch& batch, WireBuffer& out);

    std::vector<PgColumn> columns_;
    std::vector<Column> scratch_;  // arrays: a reusable column of the element type
    std::string text_;
    bool text_format_ = false;
};

}  // namespace sluice::pg
