#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "connectors/connector.hpp"
#include "connectors/sqlite/sqlite_db.hpp"
#include "core/status.hpp"

namespace sluice::sqlite {

/// Steps one slice's prepared SELECT (its columns in `schema` order) into batches.
///
/// Integers, reals, text and blobs are copied as they are stored; values of declared date,
/// timestamp, time, bool, decimal, uuid, interval or JSON columns are parsed from their stored
/// text. A value that does not fit its column's type becomes a RejectedRow naming the column,
/// the value and the row (its key when `key_column` is set, else its position in the slice),
/// never an exception. Owns its connection; used by one thread at a time.
class SqliteSliceReader final : public SliceReader {
public:
    /// `label` names the source in reject positions ("events", "query"); `key_column`, when
    /// set, is the index of a column whose value identifies a row ("events id=42").
    SqliteSliceReader(SqliteDbPtr db, SqliteStmtPtr stmt, Schema schema, size_t batch_rows,
                      std::string label, std::optional<size_t> key_column);

    /// Throws Error when SQLite fails mid-read (I/O error, corrupt file).
    bool Next(Batch& batch) override;

private:
    /// Appends the current row to `batch`, or records it in batch.rejected.
    void ReadRow(Batch& batch);
    /// Appends column `c` of the current row; on failure appends nothing and says why.
    Status ReadValue(Column& column, int c);
    std::string Position();
    std::string RowJson();

    SqliteDbPtr db_;
    SqliteStmtPtr stmt_;  // finalized before db_ closes: declared after it
    Schema schema_;
    size_t batch_rows_;
    std::string label_;
    std::optional<size_t> key_column_;
    uint64_t position_ = 0;  // 1-based row number within the slice
    bool done_ = false;
};

}  // namespace sluice::sqlite
