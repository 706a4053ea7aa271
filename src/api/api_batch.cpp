// BatchView and BatchBuilder over the engine's columnar Batch.
#include <stdexcept>

#include <fmt/format.h>

#include "api/api_types.hpp"
#include "core/batch.hpp"
#include "core/convert.hpp"

namespace sluice::api {

namespace {

const Batch& B(const void* p) { return *static_cast<const Batch*>(p); }
Batch& B(void* p) { return *static_cast<Batch*>(p); }

[[noreturn]] void WrongType(const char* call, const sluice::Column& column, const Columns& columns, size_t index) {
    throw std::logic_error(fmt::format("{}: column {} ({}) is {}", call, index,
                                       index < columns.size() ? columns[index].name : std::string("?"),
                                       TypeName(api_internal::PublicType(column.type()))));
}

const sluice::Column& ColumnAt(const Batch& batch, size_t column, size_t row) {
    if (column >= batch.columns.size() || row >= batch.columns[column].size()) {
        throw std::out_of_range(fmt::format("column {} row {} is outside the batch ({} columns, {} rows)", column,
                                            row, batch.columns.size(), batch.rows()));
    }
    return batch.columns[column];
}

bool IsInt64Like(Type t) { return t == Type::kInt64 || t == Type::kDate || t == Type::kTimestamp || t == Type::kTimestampTz; }

}  // namespace

const char* LibraryVersion() noexcept { return "0.1.0"; }

const char* TypeName(Type type) noexcept {
    switch (type) {
        case Type::kBool: return "boolean";
        case Type::kInt64: return "bigint";
        case Type::kFloat64: return "double precision";
        case Type::kDecimal: return "numeric";
        case Type::kText: return "text";
        case Type::kJson: return "json";
        case Type::kDate: return "date";
        case Type::kTimestamp: return "timestamp";
        case Type::kTimestampTz: return "timestamptz";
        case Type::kOther: return "other";
    }
    return "other";
}

BatchView::BatchView(const void* batch) : batch_(batch) {
    const Batch& b = B(batch_);
    columns_ = api_internal::PublicColumns(b.schema);
    // A batch without names (never from the engine's stages) still shows its types.
    for (size_t c = columns_.size(); c < b.columns.size(); ++c) {
        columns_.push_back({"column" + std::to_string(c + 1), api_internal::PublicType(b.columns[c].type())});
    }
}

size_t BatchView::rows() const noexcept { return B(batch_).rows(); }
const Columns& BatchView::columns() const noexcept { return columns_; }

std::optional<size_t> BatchView::Find(std::string_view name) const {
    for (size_t c = 0; c < columns_.size(); ++c) {
        if (columns_[c].name == name) {
            return c;
        }
    }
    return std::nullopt;
}

bool BatchView::IsNull(size_t column, size_t row) const { return ColumnAt(B(batch_), column, row).IsNull(row); }

bool BatchView::GetBool(size_t column, size_t row) const {
    const sluice::Column& c = ColumnAt(B(batch_), column, row);
    if (c.type().id != LogicalType::kBool || c.IsNull(row)) {
        WrongType("GetBool", c, columns_, column);
    }
    return c.Get<bool>(row);
}

int64_t BatchView::GetInt64(size_t column, size_t row) const {
    const sluice::Column& c = ColumnAt(B(batch_), column, row);
    if (c.IsNull(row)) {
        WrongType("GetInt64 (NULL)", c, columns_, column);
    }
    switch (c.type().id) {
        case LogicalType::kInt16: return c.Get<int16_t>(row);
        case LogicalType::kInt32:
        case LogicalType::kDate: return c.Get<int32_t>(row);
        case LogicalType::kInt64:
        case LogicalType::kTimestamp:
        case LogicalType::kTimestampTz: return c.Get<int64_t>(row);
        default: WrongType("GetInt64", c, columns_, column);
    }
}

double BatchView::GetFloat64(size_t column, size_t row) const {
    const sluice::Column& c = ColumnAt(B(batch_), column, row);
    if (c.IsNull(row)) {
        WrongType("GetFloat64 (NULL)", c, columns_, column);
    }
    if (c.type().id == LogicalType::kFloat32) {
        return c.Get<float>(row);
    }
    if (c.type().id != LogicalType::kFloat64) {
        WrongType("GetFloat64", c, columns_, column);
    }
    return c.Get<double>(row);
}

std::string_view BatchView::GetText(size_t column, size_t row) const {
    const sluice::Column& c = ColumnAt(B(batch_), column, row);
    const LogicalType t = c.type().id;
    if (c.IsNull(row) || (t != LogicalType::kText && t != LogicalType::kJson && t != LogicalType::kDecimal)) {
        WrongType("GetText", c, columns_, column);
    }
    return c.GetBytes(row);
}

std::string BatchView::GetString(size_t column, size_t row) const {
    const sluice::Column& c = ColumnAt(B(batch_), column, row);
    return c.IsNull(row) ? std::string() : FormatValue(c, row);
}

BatchBuilder::BatchBuilder(void* batch, size_t capacity) : batch_(batch), capacity_(capacity) {
    columns_ = api_internal::PublicColumns(B(batch_).schema);
    rows_ = B(batch_).rows();
}

const Columns& BatchBuilder::columns() const noexcept { return columns_; }
size_t BatchBuilder::rows() const noexcept { return rows_; }
size_t BatchBuilder::capacity() const noexcept { return capacity_; }

namespace {

sluice::Column& Appendable(Batch& batch, size_t column, size_t rows, const Columns& columns) {
    if (column >= batch.columns.size()) {
        throw std::out_of_range(fmt::format("column {} is outside the batch ({} columns)", column, batch.columns.size()));
    }
    sluice::Column& c = batch.columns[column];
    if (c.size() != rows) {
        throw std::logic_error(fmt::format("column {} ({}) already has a value in this row; call EndRow() first",
                                           column, columns[column].name));
    }
    return c;
}

}  // namespace

void BatchBuilder::AppendNull(size_t column) { Appendable(B(batch_), column, rows_, columns_).AppendNull(); }

void BatchBuilder::AppendBool(size_t column, bool value) {
    sluice::Column& c = Appendable(B(batch_), column, rows_, columns_);
    if (c.type().id != LogicalType::kBool) {
        WrongType("AppendBool", c, columns_, column);
    }
    c.Append(value);
}

void BatchBuilder::AppendInt64(size_t column, int64_t value) {
    sluice::Column& c = Appendable(B(batch_), column, rows_, columns_);
    if (!IsInt64Like(columns_[column].type)) {
        WrongType("AppendInt64", c, columns_, column);
    }
    if (c.type().id == LogicalType::kDate) {
        c.Append(static_cast<int32_t>(value));
    } else {
        c.Append(value);
    }
}

void BatchBuilder::AppendFloat64(size_t column, double value) {
    sluice::Column& c = Appendable(B(batch_), column, rows_, columns_);
    if (c.type().id != LogicalType::kFloat64) {
        WrongType("AppendFloat64", c, columns_, column);
    }
    c.Append(value);
}

void BatchBuilder::AppendText(size_t column, std::string_view value) {
    sluice::Column& c = Appendable(B(batch_), column, rows_, columns_);
    const LogicalType t = c.type().id;
    if (t != LogicalType::kText && t != LogicalType::kJson) {
        WrongType("AppendText", c, columns_, column);
    }
    c.AppendBytes(value);
}

bool BatchBuilder::AppendParsed(size_t column, std::string_view text) {
    sluice::Column& c = Appendable(B(batch_), column, rows_, columns_);
    return sluice::AppendParsed(c, text).ok();
}

void BatchBuilder::EndRow() {
    Batch& b = B(batch_);
    for (size_t c = 0; c < b.columns.size(); ++c) {
        if (b.columns[c].size() != rows_ + 1) {
            throw std::logic_error(fmt::format("EndRow: column {} ({}) has no value in this row", c, columns_[c].name));
        }
    }
    ++rows_;
}

void BatchBuilder::DropPartialRow() {
    for (sluice::Column& c : B(batch_).columns) {
        c.Truncate(rows_);
    }
}

void BatchBuilder::Reject(std::string_view reason, std::string_view row, std::string_view position) {
    DropPartialRow();
    B(batch_).rejected.push_back(RejectedRow{std::string(position), std::string(row), std::string(reason), ""});
}

}  // namespace sluice::api

namespace sluice::api_internal {

api::Type PublicType(const DataType& type) {
    switch (type.id) {
        case LogicalType::kBool: return api::Type::kBool;
        case LogicalType::kInt16:
        case LogicalType::kInt32:
        case LogicalType::kInt64: return api::Type::kInt64;
        case LogicalType::kFloat32:
        case LogicalType::kFloat64: return api::Type::kFloat64;
        case LogicalType::kDecimal: return api::Type::kDecimal;
        case LogicalType::kText: return api::Type::kText;
        case LogicalType::kJson: return api::Type::kJson;
        case LogicalType::kDate: return api::Type::kDate;
        case LogicalType::kTimestamp: return api::Type::kTimestamp;
        case LogicalType::kTimestampTz: return api::Type::kTimestampTz;
        default: return api::Type::kOther;
    }
}

DataType EngineType(api::Type type) {
    switch (type) {
        case api::Type::kBool: return MakeType(LogicalType::kBool);
        case api::Type::kInt64: return MakeType(LogicalType::kInt64);
        case api::Type::kFloat64: return MakeType(LogicalType::kFloat64);
        case api::Type::kDecimal: return MakeType(LogicalType::kDecimal);
        case api::Type::kJson: return MakeType(LogicalType::kJson);
        case api::Type::kDate: return MakeType(LogicalType::kDate);
        case api::Type::kTimestamp: return MakeType(LogicalType::kTimestamp);
        case api::Type::kTimestampTz: return MakeType(LogicalType::kTimestampTz);
        case api::Type::kText:
        case api::Type::kOther: return MakeType(LogicalType::kText);
    }
    return MakeType(LogicalType::kText);
}

api::Columns PublicColumns(const Schema& schema) {
    api::Columns out;
    for (const Field& f : schema.fields) {
        out.push_back({f.name, PublicType(f.type)});
    }
    return out;
}

Schema EngineSchema(const api::Columns& columns) {
    Schema out;
    for (const api::Column& c : columns) {
        out.fields.push_back(Field{.name = c.name, .type = EngineType(c.type), .nullable = true, .native_type = ""});
    }
    return out;
}

}  // namespace sluice::api_internal
