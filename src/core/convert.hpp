#pragma once

#include <cstdint>
#include <string>
#include <span>
#include <string_view>

#include "core/batch.hpp"
#include "core/column.hpp"
#include "core/status.hpp"
#include "core/types.hpp"

namespace sluice {

/// Parses `text` as a value of the column's type and appends it. On failure nothing is
/// appended and the Status says what was expected ("'12x' is not a valid int64").
/// Accepted spellings follow PostgreSQL's text input: true/false/t/f/yes/no/1/0, ISO dates
/// and timestamps with optional fraction and zone, 'infinity', hex UUIDs, "\x.." bytea.
Status AppendParsed(Column& column, std::string_view text);

/// Appends the value's text form (PostgreSQL text output) to `out`. The row must not be NULL.
void FormatValue(const Column& column, size_t row, std::string& out);

/// Convenience: the text form of one value.
std::string FormatValue(const Column& column, size_t row);

/// One row of a batch as a JSON object `{"column": value, ...}` in column order: how a
/// rejected row is shown in reject files and the ledger, unambiguous whatever the values hold.
/// NULL is null, booleans and integers are JSON literals, everything else is its text form
/// (PostgreSQL text output, so bytes are `\x...` hex and decimals keep every digit). Always
/// valid UTF-8: bytes of a text value that are not are written as `\xNN` (EscapeInvalidUtf8).
std::string RowJson(const Batch& batch, size_t row);
/// The same for a row spread over columns of different batches, named by `names`.
std::string RowJson(std::span<const Column* const> columns, std::span<const std::string> names, size_t row);

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
int32_t DaysFromCivil(int64_t year, unsigned month, unsigned day);
/// Civil date of a day number; inverse of DaysFromCivil.
void CivilFromDays(int64_t days, int64_t& year, unsigned& month, unsigned& day);

/// Smallest type that holds every value seen by type inference, in widening order:
/// int64 → float64 → text, bool → text, date → timestamp → text, timestamptz → text.
class TypeInferrer {
public:
    /// Feeds one non-NULL value.
    void Observe(std::string_view text);
    /// The inferred type; text when nothing but NULLs were seen.
    DataType Result() const;

private:
    bool seen_ = false;
    bool can_bool_ = true;
    bool can_int_ = true;
    bool can_float_ = true;
    bool can_date_ = true;
    bool can_timestamp_ = true;
    bool can_timestamptz_ = true;
};

}  // namespace sluice
