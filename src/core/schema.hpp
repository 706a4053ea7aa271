#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/types.hpp"

namespace sluice {

/// One column of a Schema.
struct Field {
    std::string name;
    DataType type;
    bool nullable = true;
    /// Type as the source system spells it ("character varying(20)"), for messages and DDL.
    std::string native_type;

    friend bool operator==(const Field&, const Field&) = default;
};

/// The ordered columns of a source, a batch or a target table.
struct Schema {
    std::vector<Field> fields;
    /// Column names of the primary key, in key order; empty when there is none.
    std::vector<std::string> primary_key;

    size_t size() const { return fields.size(); }
    /// Index of the column with this name (exact match first, then case-insensitive).
    std::optional<size_t> Find(const std::string& name) const;
    /// "id int64, name text, ..." for messages.
    std::string Describe() const;

    friend bool operator==(const Schema&, const Schema&) = default;
};

/// How the columns of a source and of a target table differ, matched by name (exact, else
/// ignoring case), for messages that say what differs instead of listing both sides.
struct ColumnDiff {
    std::vector<std::string> missing;  ///< target columns the source lacks
    std::vector<std::string> extra;    ///< source columns the target lacks
    /// Columns in both with different types: "amount numeric(12,2) -> integer".
    std::vector<std::string> retyped;

    bool empty() const { return missing.empty() && extra.empty() && retyped.empty(); }
};

/// Compares `source` with `target` by column name.
ColumnDiff CompareColumns(const Schema& source, const Schema& target);

/// "not in the target: a, b; not in the source: c; different types: amount numeric(12,2) ->
/// integer" (only the parts that apply; "same columns" when there is no difference).
std::string DescribeColumnDiff(const ColumnDiff& diff);

/// Column names equal but for ASCII case, as SQL compares unquoted identifiers.
bool SameNameIgnoringCase(std::string_view a, std::string_view b);

}  // namespace sluice
