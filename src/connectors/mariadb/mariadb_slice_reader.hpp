#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "connectors/connector.hpp"
#include "connectors/mariadb/mariadb_connection.hpp"
#include "core/status.hpp"

namespace sluice::mariadb {

/// Streams one slice's SELECT (columns in `schema` order, read through ReadExpression) into
/// batches, unbuffered: memory holds one batch whatever the slice's size.
///
/// Values arrive as text and are parsed into their column's type; text, binary strings and
/// JSON are copied as they are. Zero dates become NULL or rejects (ZeroDates). A value that does
/// not fit its type (a TIME past 24 hours) becomes a RejectedRow naming the column, the value
/// and the row (its key when `key_column` is set, else its position in the slice).
class SliceReader final : public sluice::SliceReader {
public:
    SliceReader(std::unique_ptr<Connection> connection, ResultPtr result, Schema schema, size_t batch_rows,
                std::string label, std::optional<size_t> key_column, ZeroDates zero_dates);
    /// An unfinished read is cancelled rather than drained.
    ~SliceReader() override;

    /// consistent reads: the connection goes back to `give_back` when the slice was read to its
    /// end, and nullptr does when it was not (the cancelled connection is closed).
    void GiveBackTo(std::function<void(std::unique_ptr<Connection>)> give_back) { give_back_ = std::move(give_back); }

    /// Throws Error when the server fails or the connection is lost mid-read.
    bool Next(Batch& batch) override;

private:
    void ReadRow(Batch& batch, MYSQL_ROW row, const unsigned long* lengths);
    Status ReadValue(Column& column, size_t c, std::string_view text);
    std::string Position(MYSQL_ROW row, const unsigned long* lengths) const;
    std::string RowJson(MYSQL_ROW row, const unsigned long* lengths) const;

    std::unique_ptr<Connection> connection_;
    ResultPtr result_;  // freed before the connection closes (see the destructor)
    Schema schema_;
    size_t batch_rows_;
    std::string label_;
    std::optional<size_t> key_column_;
    ZeroDates zero_dates_;
    uint64_t position_ = 0;  // 1-based row number within the slice
    bool done_ = false;
    std::function<void(std::unique_ptr<Connection>)> give_back_;
};

}  // namespace sluice::mariadb
