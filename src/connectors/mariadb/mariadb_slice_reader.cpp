#include "connectors/mariadb/mariadb_slice_reader.hpp"

#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "connectors/mariadb/mariadb_types.hpp"
#include "core/convert.hpp"
#include "core/utf8.hpp"

namespace sluice::mariadb {

namespace {

bool IsDateLike(LogicalType type) {
    return type == LogicalType::kDate || type == LogicalType::kTimestamp || type == LogicalType::kTimestampTz;
}

/// '0000-00-00', '2024-00-15', '2024-01-00' (and their DATETIME forms): dates MariaDB stores
/// where no calendar has them.
bool IsZeroDate(std::string_view text) {
    return text.size() >= 10 && text[4] == '-' && text[7] == '-' &&
           (text.substr(5, 2) == "00" || text.substr(8, 2) == "00");
}

}  // namespace

SliceReader::SliceReader(std::unique_ptr<Connection> connection, ResultPtr result, Schema schema,
                         size_t batch_rows, std::string label, std::optional<size_t> key_column,
                         ZeroDates zero_dates)
    : connection_(std::move(connection)),
      result_(std::move(result)),
      schema_(std::move(schema)),
      batch_rows_(batch_rows == 0 ? 1 : batch_rows),
      label_(std::move(label)),
      key_column_(key_column),
      zero_dates_(zero_dates) {}

SliceReader::~SliceReader() {
    if (!done_) {
        // mysql_free_result would first read every row the server still has to send; and the
        // server would go on sending until its write timed out.
        connection_->KillRunningQuery();
        connection_->Cancel();
    }
    result_.reset();
    if (give_back_) {
        give_back_(done_ ? std::move(connection_) : nullptr);
    }
}

bool SliceReader::Next(Batch& batch) {
    batch = Batch(schema_);
    for (Column& column : batch.columns) {
        column.Reserve(batch_rows_);
    }
    while (!done_ && batch.rows() + batch.rejected.size() < batch_rows_) {
        MYSQL_ROW row = mysql_fetch_row(result_.get());
        if (row == nullptr) {
            if (mysql_errno(connection_->get()) != 0) {
                throw connection_->LastError("reading MariaDB source " + label_);
            }
            done_ = true;
            break;
        }
        ++position_;
        ReadRow(batch, row, mysql_fetch_lengths(result_.get()));
    }
    return !batch.empty();
}

void SliceReader::ReadRow(Batch& batch, MYSQL_ROW row, const unsigned long* lengths) {
    const size_t before = batch.rows();
    for (size_t c = 0; c < schema_.size(); ++c) {
        Status status;
        if (row[c] == nullptr) {
            batch.columns[c].AppendNull();
        } else {
            status = ReadValue(batch.columns[c], c, std::string_view(row[c], lengths[c]));
        }
        if (status.ok()) {
            continue;
        }
        for (size_t undo = 0; undo < c; ++undo) {
            batch.columns[undo].Truncate(before);
        }
        batch.rejected.push_back(RejectedRow{
            Position(row, lengths), RowJson(row, lengths),
            fmt::format("column {} ({} {}): {}", schema_.fields[c].name, schema_.fields[c].native_type,
                        TypeName(schema_.fields[c].type), status.message()),
            "22P02"});
        return;
    }
    batch.source_rows.push_back(position_);
}

Status SliceReader::ReadValue(Column& column, size_t c, std::string_view text) {
    const LogicalType type = column.type().id;
    switch (type) {
        case LogicalType::kText:
        case LogicalType::kBytes:
        case LogicalType::kJson:
            column.AppendBytes(text);
            return Status::Ok();
        default: break;
    }
    if (IsDateLike(type) && IsZeroDate(text)) {
        if (zero_dates_ == ZeroDates::kNull) {
            column.AppendNull();
            return Status::Ok();
        }
        return Status::Invalid(fmt::format("'{}' is a MariaDB zero date, which no calendar has; the URL's "
                                           "zero_dates=null reads them as NULL",
                                           text));
    }
    Status status = AppendParsed(column, text);
    if (!status.ok() && type == LogicalType::kTime) {
        return Status::Invalid(status.message() +
                               "; MariaDB TIME is a duration up to 838 hours, sluice's time a time of day: "
                               "read it through source.query as TIME_TO_SEC(" + schema_.fields[c].name +
                               ") for seconds");
    }
    return status;
}

std::string SliceReader::Position(MYSQL_ROW row, const unsigned long* lengths) const {
    if (key_column_) {
        const size_t k = *key_column_;
        const std::string value = row[k] == nullptr ? "NULL" : EscapeInvalidUtf8(std::string_view(row[k], lengths[k]));
        return fmt::format("{} {}={}", label_, schema_.fields[k].name, value);
    }
    return fmt::format("{} row {} of its partition", label_, position_);
}

std::string SliceReader::RowJson(MYSQL_ROW row, const unsigned long* lengths) const {
    // The values as MariaDB sent them: the row never decoded (that is why it is refused).
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (size_t c = 0; c < schema_.size(); ++c) {
        const std::string& name = schema_.fields[c].name;
        if (row[c] == nullptr) {
            out[name] = nullptr;
            continue;
        }
        const std::string_view value(row[c], lengths[c]);
        if (schema_.fields[c].type.id == LogicalType::kBytes) {
            std::string hex = "\\x";
            for (const unsigned char b : value) {
                fmt::format_to(std::back_inserter(hex), "{:02x}", b);
            }
            out[name] = hex;
        } else {
            out[name] = EscapeInvalidUtf8(value);
        }
    }
    return out.dump();
}

}  // namespace sluice::mariadb
