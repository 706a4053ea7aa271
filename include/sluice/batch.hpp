#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::api {

/// The column types a custom node sees. The engine has more (int16, uuid, interval, arrays,
/// ...): a column of such a type reads as kOther, through GetString only.
enum class Type {
    kBool,
    kInt64,       ///< every integer width reads as int64
    kFloat64,     ///< float4 reads as float64
    kDecimal,     ///< exact decimal, as its text ("-12.50"); GetString / AppendParsed
    kText,
    kJson,        ///< JSON text
    kDate,        ///< GetInt64: days since 1970-01-01
    kTimestamp,   ///< GetInt64: microseconds since 1970-01-01 00:00, no zone
    kTimestampTz, ///< GetInt64: microseconds since 1970-01-01 00:00 UTC
    kOther,       ///< any other engine type: GetString gives PostgreSQL's text form
};

/// "bigint", "text", ... as in a job file.
const char* TypeName(Type type) noexcept;

/// A column of a node's input or output.
struct Column {
    std::string name;
    Type type = Type::kText;
};

using Columns = std::vector<Column>;

/// A read-only view of one batch (a few thousand rows, stored column by column). Valid only
/// during the call it is passed to; not thread-safe (each worker has its own).
class BatchView {
public:
    size_t rows() const noexcept;
    const Columns& columns() const noexcept;
    /// The index of the column `name` (exact match), or nullopt.
    std::optional<size_t> Find(std::string_view name) const;

    bool IsNull(size_t column, size_t row) const;
    /// Typed accessors: the column must be of that type (kInt64 also for kDate and the
    /// timestamps) and the value not NULL; otherwise they throw std::logic_error.
    bool GetBool(size_t column, size_t row) const;
    int64_t GetInt64(size_t column, size_t row) const;
    double GetFloat64(size_t column, size_t row) const;
    /// kText, kJson and kDecimal: the bytes, valid while the view is.
    std::string_view GetText(size_t column, size_t row) const;
    /// Any type as PostgreSQL's text output ("2026-01-31", "t", "12.50"); "" for NULL.
    std::string GetString(size_t column, size_t row) const;

    /// For the library's adapters only.
    explicit BatchView(const void* batch);

private:
    const void* batch_;
    Columns columns_;
};

/// Builds one batch of the columns the node declared. Append one value per column, in any
/// column order, then EndRow(). Not thread-safe; valid only during the call it is passed to.
class BatchBuilder {
public:
    const Columns& columns() const noexcept;
    /// Rows completed so far.
    size_t rows() const noexcept;
    /// How many rows a source should put in one batch (the job's batch_rows).
    size_t capacity() const noexcept;

    void AppendNull(size_t column);
    /// The column must be of that type (AppendInt64 also for kDate / timestamps as in
    /// BatchView); otherwise std::logic_error.
    void AppendBool(size_t column, bool value);
    void AppendInt64(size_t column, int64_t value);
    void AppendFloat64(size_t column, double value);
    void AppendText(size_t column, std::string_view value);
    /// Parses `text` as PostgreSQL's text input for the column's type ("2026-01-31",
    /// "12.50", "true"). Returns false, appending nothing, when it does not parse: reject the
    /// row then (Reject) rather than half-append it.
    bool AppendParsed(size_t column, std::string_view text);
    /// Completes the current row; throws std::logic_error unless every column got a value.
    void EndRow();
    /// Sets a bad row aside instead of loading it: it goes to the run's rejects (file and
    /// ledger) with `reason`; the partition goes on, up to the job's max_rejects. Values
    /// already appended for the current row are dropped. `row` is its text (for the reject
    /// file), `position` where it came from ("logs/a.log:17"); both may be empty.
    void Reject(std::string_view reason, std::string_view row = {}, std::string_view position = {});

    /// For the library's adapters only.
    BatchBuilder(void* batch, size_t capacity);

private:
    void DropPartialRow();
    void* batch_;
    size_t capacity_;
    size_t rows_ = 0;
    Columns columns_;
};

}  // namespace sluice::api
