#include "connectors/odbc/odbc_slice_reader.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/convert.hpp"
#include "core/utf8.hpp"

namespace sluice::odbc {

namespace {

/// Bound buffers of a block fetch, all columns together.
constexpr size_t kBlockBytes = 16u << 20;
/// One SQLGetData call's share of a long value (even: whole UTF-16 units).
constexpr size_t kChunkBytes = 32u << 10;

/// Bytes of the terminator the driver writes after a value of this C type.
size_t TerminatorBytes(SQLSMALLINT c_type) {
    return c_type == SQL_C_WCHAR ? sizeof(SQLWCHAR) : c_type == SQL_C_CHAR ? 1 : 0;
}

}  // namespace

SliceReader::SliceReader(std::unique_ptr<Connection> connection, const std::string& sql, Schema schema,
                         std::vector<FetchPlan> plans, size_t batch_rows, std::string label,
                         std::optional<size_t> key_column)
    : connection_(std::move(connection)),
      statement_(std::make_unique<Statement>(connection_->get())),
      schema_(std::move(schema)),
      plans_(std::move(plans)),
      batch_rows_(std::max<size_t>(batch_rows, 1)),
      label_(std::move(label)),
      key_column_(key_column),
      row_(schema_.size()) {
    const std::string what = "reading ODBC source " + label_;
    const SQLHSTMT stmt = statement_->get();
    blocks_ = std::none_of(plans_.begin(), plans_.end(), [](const FetchPlan& p) { return p.is_long; });
    if (blocks_) {
        size_t row_bytes = 0;
        for (const FetchPlan& plan : plans_) {
            row_bytes += plan.cell_bytes + sizeof(SQLLEN);
        }
        block_rows_ = std::clamp<size_t>(kBlockBytes / std::max<size_t>(row_bytes, 1), 1, batch_rows_);
        Check(SQLSetStmtAttr(stmt, SQL_ATTR_ROW_BIND_TYPE, reinterpret_cast<SQLPOINTER>(SQL_BIND_BY_COLUMN), 0),
              SQL_HANDLE_STMT, stmt, what);
        Check(SQLSetStmtAttr(stmt, SQL_ATTR_ROW_ARRAY_SIZE, reinterpret_cast<SQLPOINTER>(block_rows_), 0),
              SQL_HANDLE_STMT, stmt, what);
        // A driver may take a smaller array than asked for (01S02): use what it took.
        SQLULEN taken = 0;
        Check(SQLGetStmtAttr(stmt, SQL_ATTR_ROW_ARRAY_SIZE, &taken, 0, nullptr), SQL_HANDLE_STMT, stmt, what);
        block_rows_ = std::max<size_t>(taken, 1);
        row_status_.resize(block_rows_);
        Check(SQLSetStmtAttr(stmt, SQL_ATTR_ROW_STATUS_PTR, row_status_.data(), 0), SQL_HANDLE_STMT, stmt, what);
        Check(SQLSetStmtAttr(stmt, SQL_ATTR_ROWS_FETCHED_PTR, &fetched_, 0), SQL_HANDLE_STMT, stmt, what);
    }
    statement_->Execute(sql, what);
    if (blocks_) {
        buffers_.resize(plans_.size());
        lengths_.resize(plans_.size());
        for (size_t c = 0; c < plans_.size(); ++c) {
            buffers_[c].resize(block_rows_ * plans_[c].cell_bytes);
            lengths_[c].resize(block_rows_);
            Check(SQLBindCol(stmt, static_cast<SQLUSMALLINT>(c + 1), plans_[c].c_type, buffers_[c].data(),
                             static_cast<SQLLEN>(plans_[c].cell_bytes), lengths_[c].data()),
                  SQL_HANDLE_STMT, stmt, what);
        }
    }
}

SliceReader::~SliceReader() {
    if (!done_) {
        statement_->Cancel();  // a reader dropped early: do not make the driver read the rest
    }
}

bool SliceReader::Next(Batch& batch) {
    batch = Batch(schema_);
    for (Column& column : batch.columns) {
        column.Reserve(batch_rows_);
    }
    while (!done_ && batch.rows() + batch.rejected.size() < batch_rows_) {
        if (blocks_) {
            if (next_in_block_ == fetched_ && !FetchBlock()) {
                done_ = true;
                break;
            }
            TakeBoundRow(next_in_block_++);
        } else if (!FetchRow()) {
            done_ = true;
            break;
        }
        ++position_;
        AppendRow(batch);
    }
    return !batch.empty();
}

bool SliceReader::FetchBlock() {
    const SQLHSTMT stmt = statement_->get();
    fetched_ = 0;
    next_in_block_ = 0;
    const SQLRETURN rc = SQLFetch(stmt);
    if (rc == SQL_NO_DATA) {
        return false;
    }
    Check(rc, SQL_HANDLE_STMT, stmt, "reading ODBC source " + label_);
    for (SQLULEN i = 0; i < fetched_; ++i) {
        if (row_status_[i] == SQL_ROW_ERROR) {
            throw DiagError(SQL_HANDLE_STMT, stmt,
                            fmt::format("reading ODBC source {}: the driver failed row {} of the partition", label_,
                                        position_ + static_cast<int64_t>(i) + 1));
        }
    }
    return fetched_ > 0;
}

bool SliceReader::FetchRow() {
    const SQLHSTMT stmt = statement_->get();
    const SQLRETURN rc = SQLFetch(stmt);
    if (rc == SQL_NO_DATA) {
        return false;
    }
    Check(rc, SQL_HANDLE_STMT, stmt, "reading ODBC source " + label_);
    for (size_t c = 0; c < plans_.size(); ++c) {
        ReadWhole(c, row_[c]);
    }
    return true;
}

void SliceReader::TakeBoundRow(size_t row) {
    for (size_t c = 0; c < plans_.size(); ++c) {
        const FetchPlan& plan = plans_[c];
        Cell& cell = row_[c];
        const SQLLEN length = lengths_[c][row];
        cell.null = length == SQL_NULL_DATA;
        cell.bad_utf16 = false;
        cell.bytes.clear();
        if (cell.null) {
            continue;
        }
        const bool cut = length == SQL_NO_TOTAL ||
                         static_cast<size_t>(length) + TerminatorBytes(plan.c_type) > plan.cell_bytes;
        if (cut) {
            if (!connection_->RereadsCutValues()) {
                throw Error(ErrorKind::kData,
                            fmt::format("reading ODBC source {}: the driver ({}) declared column {} as {} long at most "
                                        "but sent a longer value (row {} of the partition), and it cannot read a value "
                                        "again; read the column through a query that casts it to a long type "
                                        "(CLOB, TEXT)",
                                        label_, connection_->driver(), schema_.fields[c].name,
                                        plan.cell_bytes - TerminatorBytes(plan.c_type), position_ + 1));
            }
            Check(SQLSetPos(statement_->get(), static_cast<SQLSETPOSIROW>(row + 1), SQL_POSITION, SQL_LOCK_NO_CHANGE),
                  SQL_HANDLE_STMT, statement_->get(), "reading a long value of ODBC source " + label_);
            ReadWhole(c, cell);
            continue;
        }
        const char* data = buffers_[c].data() + row * plan.cell_bytes;
        if (plan.c_type == SQL_C_WCHAR) {
            if (!AppendUtf16AsUtf8(reinterpret_cast<const SQLWCHAR*>(data), static_cast<size_t>(length) / sizeof(SQLWCHAR),
                                   cell.bytes)) {
                cell.bad_utf16 = true;
            }
        } else {
            cell.bytes.assign(data, static_cast<size_t>(length));
        }
    }
}

void SliceReader::ReadWhole(size_t column, Cell& cell) {
    const FetchPlan& plan = plans_[column];
    const SQLHSTMT stmt = statement_->get();
    const std::string what = "reading ODBC source " + label_;
    const size_t terminator = TerminatorBytes(plan.c_type);
    std::string raw;
    char chunk[kChunkBytes];
    cell.null = false;
    cell.bad_utf16 = false;
    while (true) {
        SQLLEN length = 0;
        const SQLRETURN rc =
            SQLGetData(stmt, static_cast<SQLUSMALLINT>(column + 1), plan.c_type, chunk, sizeof chunk, &length);
        if (rc == SQL_NO_DATA) {
            break;
        }
        Check(rc, SQL_HANDLE_STMT, stmt, what);
        if (length == SQL_NULL_DATA) {
            cell.null = true;
            break;
        }
        const size_t room = sizeof chunk - terminator;
        raw.append(chunk, length == SQL_NO_TOTAL ? room : std::min(static_cast<size_t>(length), room));
        if (rc == SQL_SUCCESS) {
            break;
        }
    }
    cell.bytes.clear();
    if (cell.null || plan.c_type != SQL_C_WCHAR) {
        cell.bytes = std::move(raw);
    } else if (!AppendUtf16AsUtf8(reinterpret_cast<const SQLWCHAR*>(raw.data()), raw.size() / sizeof(SQLWCHAR),
                                  cell.bytes)) {
        cell.bad_utf16 = true;
    }
}

void SliceReader::AppendRow(Batch& batch) {
    const size_t before = batch.rows();
    for (size_t c = 0; c < plans_.size(); ++c) {
        const Cell& cell = row_[c];
        Column& column = batch.columns[c];
        Status status;
        if (cell.null) {
            column.AppendNull();
        } else if (plans_[c].c_type == SQL_C_BIT) {
            column.Append<uint8_t>(!cell.bytes.empty() && cell.bytes[0] != 0 ? 1 : 0);
        } else if (plans_[c].c_type == SQL_C_WCHAR) {
            if (cell.bad_utf16) {
                status = Status::Invalid("the driver sent text that is not UTF-16 (an unpaired surrogate)");
            } else {
                column.AppendBytes(cell.bytes);
            }
        } else if (plans_[c].c_type == SQL_C_DOUBLE) {
            double value = 0;
            if (cell.bytes.size() != sizeof value) {
                status = Status::Invalid(fmt::format("the driver sent {} bytes for a double", cell.bytes.size()));
            } else {
                std::memcpy(&value, cell.bytes.data(), sizeof value);
                if (column.type().id == LogicalType::kFloat32) {
                    column.Append(static_cast<float>(value));  // a REAL, widened by the fetch: exact
                } else {
                    column.Append(value);
                }
            }
        } else if (plans_[c].c_type == SQL_C_BINARY) {
            if (plans_[c].utf8 && FindInvalidUtf8(cell.bytes) != std::string::npos) {
                status = Status::Invalid("the text is not valid UTF-8");
            } else {
                column.AppendBytes(cell.bytes);
            }
        } else {
            status = AppendParsed(column, cell.bytes);
        }
        if (status.ok()) {
            continue;
        }
        for (size_t undo = 0; undo < c; ++undo) {
            batch.columns[undo].Truncate(before);
        }
        batch.rejected.push_back(RejectedRow{
            Position(), RowJson(),
            fmt::format("column {} ({} {}): {}", schema_.fields[c].name, schema_.fields[c].native_type,
                        TypeName(schema_.fields[c].type), status.message()),
            "22P02"});
        return;
    }
    batch.source_rows.push_back(static_cast<uint64_t>(position_));
}

std::string SliceReader::Position() const {
    if (key_column_ && !row_[*key_column_].null) {
        const size_t k = *key_column_;
        return fmt::format("{} {}={}", label_, schema_.fields[k].name, EscapeInvalidUtf8(row_[k].bytes));
    }
    return fmt::format("{} row {} of its partition", label_, position_);
}

std::string SliceReader::RowJson() const {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (size_t c = 0; c < row_.size(); ++c) {
        const std::string& name = schema_.fields[c].name;
        if (row_[c].null) {
            out[name] = nullptr;
        } else if (plans_[c].c_type == SQL_C_DOUBLE && row_[c].bytes.size() == sizeof(double)) {
            double value = 0;
            std::memcpy(&value, row_[c].bytes.data(), sizeof value);
            out[name] = value;
        } else if ((plans_[c].c_type == SQL_C_BINARY && !plans_[c].utf8) || plans_[c].c_type == SQL_C_BIT) {
            std::string hex = "\\x";
            for (const unsigned char b : row_[c].bytes) {
                fmt::format_to(std::back_inserter(hex), "{:02x}", b);
            }
            out[name] = hex;
        } else {
            out[name] = EscapeInvalidUtf8(row_[c].bytes);
        }
    }
    return out.dump();
}

}  // namespace sluice::odbc
