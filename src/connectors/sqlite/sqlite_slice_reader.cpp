#include "core/utf8.hpp"
#include "connectors/sqlite/sqlite_slice_reader.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <iterator>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/convert.hpp"

namespace sluice::sqlite {

namespace {

bool IsTemporal(LogicalType type) {
    return type == LogicalType::kDate || type == LogicalType::kTime || type == LogicalType::kTimestamp ||
           type == LogicalType::kTimestampTz;
}

/// Turns "%.15g" digits in [begin, end) into SQLite's "%!.15g": a mantissa always has a decimal
/// point and a digit after it ("12" → "12.0", "1e-07" → "1.0e-07"), which sets the scale of
/// the decimal parsed from it. The buffer must have room for two more characters.
std::string_view SqliteRealText(char* begin, char* end) {
    const std::string_view digits(begin, end);
    if (digits.find('.') != std::string_view::npos || digits.find_first_of("in") != std::string_view::npos) {
        return digits;  // has a point already, or is inf/nan
    }
    char* const exponent = std::find(begin, end, 'e');
    std::memmove(exponent + 2, exponent, static_cast<size_t>(end - exponent));
    exponent[0] = '.';
    exponent[1] = '0';
    return {begin, end + 2};
}

/// The value's text form (SQLite renders one for every storage class); empty for NULL.
std::string_view ValueText(sqlite3_value* value) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(value));
    return text != nullptr ? std::string_view(text, static_cast<size_t>(sqlite3_value_bytes(value)))
                           : std::string_view();
}

}  // namespace

SqliteSliceReader::SqliteSliceReader(SqliteDbPtr db, SqliteStmtPtr stmt, Schema schema, size_t batch_rows,
                                     std::string label, std::optional<size_t> key_column)
    : db_(std::move(db)),
      stmt_(std::move(stmt)),
      schema_(std::move(schema)),
      batch_rows_(batch_rows == 0 ? 1 : batch_rows),
      label_(std::move(label)),
      key_column_(key_column) {}

bool SqliteSliceReader::Next(Batch& batch) {
    batch = Batch(schema_);
    for (Column& column : batch.columns) {
        column.Reserve(batch_rows_);
    }
    while (!done_ && batch.rows() + batch.rejected.size() < batch_rows_) {
        const int rc = sqlite3_step(stmt_.get());
        if (rc == SQLITE_DONE) {
            done_ = true;
            break;
        }
        if (rc != SQLITE_ROW) {
            throw MakeError(db_.get(), rc, "reading SQLite source " + label_);
        }
        ++position_;
        ReadRow(batch);
    }
    return !batch.empty();
}

void SqliteSliceReader::ReadRow(Batch& batch) {
    const size_t before = batch.rows();
    for (size_t c = 0; c < schema_.size(); ++c) {
        const Status status = ReadValue(batch.columns[c], static_cast<int>(c));
        if (status.ok()) {
            continue;
        }
        for (size_t undo = 0; undo < c; ++undo) {
            batch.columns[undo].Truncate(before);
        }
        batch.rejected.push_back(RejectedRow{
            Position(), RowJson(),
            fmt::format("column {} ({}): {}", schema_.fields[c].name, TypeName(schema_.fields[c].type),
                        status.message()),
            "22P02"});
        return;
    }
    batch.source_rows.push_back(position_);
}

Status SqliteSliceReader::ReadValue(Column& column, int c) {
    // One sqlite3_column_value per value, then sqlite3_value_*: each sqlite3_column_* call
    // looks the column up and checks the statement again. The value is "unprotected", which
    // the SQLite documentation allows for sqlite3_value_* on a connection in multi-thread
    // mode, as OpenDatabase's are (SQLITE_OPEN_NOMUTEX); it is valid until the next step.
    sqlite3_value* v = sqlite3_column_value(stmt_.get(), c);
    const int storage = sqlite3_value_type(v);
    const LogicalType type = column.type().id;
    switch (storage) {
        case SQLITE_NULL: column.AppendNull(); return Status::Ok();
        case SQLITE_INTEGER:
            if (type == LogicalType::kInt64) {
                column.Append<int64_t>(sqlite3_value_int64(v));
                return Status::Ok();
            }
            if (type == LogicalType::kBool) {
                column.Append<uint8_t>(sqlite3_value_int64(v) != 0 ? 1 : 0);
                return Status::Ok();
            }
            if (type == LogicalType::kFloat64) {
                column.Append<double>(sqlite3_value_double(v));
                return Status::Ok();
            }
            if (IsTemporal(type)) {
                return Status::Invalid(fmt::format(
                    "{} is a number; sluice reads {} columns stored as ISO-8601 text. For Unix "
                    "seconds read the column through source.query with datetime(col, 'unixepoch')",
                    sqlite3_value_int64(v), TypeName(column.type())));
            }
            break;
        case SQLITE_FLOAT:
            if (type == LogicalType::kFloat64) {
                column.Append<double>(sqlite3_value_double(v));
                return Status::Ok();
            }
            if (type == LogicalType::kDecimal) {
                // SQLite's own text form of a REAL is 15 significant digits ("%!.15g"), which
                // gives back the decimal literal that was stored; rendering it here is the same
                // digits at a fraction of the cost of sqlite3_column_text.
                std::array<char, 32> digits{};
                const auto [end, ec] = std::to_chars(digits.data(), digits.data() + digits.size(),
                                                     sqlite3_value_double(v), std::chars_format::general, 15);
                if (ec == std::errc()) {
                    return AppendParsed(column, SqliteRealText(digits.data(), end));
                }
            }
            if (IsTemporal(type)) {
                return Status::Invalid(fmt::format(
                    "{} is a number; sluice reads {} columns stored as ISO-8601 text. For Julian "
                    "days read the column through source.query with datetime(col)",
                    sqlite3_value_double(v), TypeName(column.type())));
            }
            break;
        case SQLITE_BLOB:
            if (type == LogicalType::kUuid && sqlite3_value_bytes(v) == 16) {
                // Many applications store UUIDs as their 16 raw bytes.
                std::array<uint8_t, 16> uuid{};
                std::memcpy(uuid.data(), sqlite3_value_blob(v), uuid.size());
                column.Append(uuid);
                return Status::Ok();
            }
            if (type == LogicalType::kBytes || type == LogicalType::kText) {
                const auto* data = static_cast<const char*>(sqlite3_value_blob(v));
                column.AppendBytes(std::string_view(data, static_cast<size_t>(sqlite3_value_bytes(v))));
                return Status::Ok();
            }
            break;
        default: break;
    }
    // Text storage, or a storage class that differs from the declared type: convert from the
    // value's text form, which SQLite renders for every storage class.
    const std::string_view text = ValueText(v);
    if (type == LogicalType::kText || type == LogicalType::kBytes || type == LogicalType::kJson) {
        column.AppendBytes(text);
        return Status::Ok();
    }
    return AppendParsed(column, text);
}

std::string SqliteSliceReader::Position() {
    if (key_column_) {
        const int k = static_cast<int>(*key_column_);
        const std::string_view value =
            sqlite3_column_type(stmt_.get(), k) == SQLITE_NULL ? "NULL" : ColumnText(stmt_.get(), k);
        return fmt::format("{} {}={}", label_, schema_.fields[*key_column_].name, value);
    }
    return fmt::format("{} row {} of its partition", label_, position_);
}

std::string SqliteSliceReader::RowJson() {
    // SQLite's own text form of each value: the row never decoded (that is why it is refused).
    nlohmann::ordered_json row = nlohmann::ordered_json::object();
    for (int c = 0; c < static_cast<int>(schema_.size()); ++c) {
        const std::string& name = schema_.fields[static_cast<size_t>(c)].name;
        switch (sqlite3_column_type(stmt_.get(), c)) {
            case SQLITE_NULL:
                row[name] = nullptr;
                break;
            case SQLITE_INTEGER:
                row[name] = sqlite3_column_int64(stmt_.get(), c);
                break;
            case SQLITE_FLOAT:
                row[name] = sqlite3_column_double(stmt_.get(), c);
                break;
            case SQLITE_BLOB: {
                const auto* bytes = static_cast<const unsigned char*>(sqlite3_column_blob(stmt_.get(), c));
                std::string hex = "\\x";
                for (int i = 0; i < sqlite3_column_bytes(stmt_.get(), c); ++i) {
                    fmt::format_to(std::back_inserter(hex), "{:02x}", bytes[i]);
                }
                row[name] = hex;
                break;
            }
            default:
                // A reject's text goes into the ledger, and PostgreSQL refuses invalid UTF-8 there.
                row[name] = EscapeInvalidUtf8(ColumnText(stmt_.get(), c));
        }
    }
    return row.dump();
}

}  // namespace sluice::sqlite
