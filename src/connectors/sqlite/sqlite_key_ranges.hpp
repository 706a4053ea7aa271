#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "connectors/connector.hpp"
#include "connectors/sqlite/sqlite_db.hpp"

namespace sluice::sqlite {

/// How key_range bounds of a column are compared and bound.
enum class KeyKind {
    kInteger,  ///< bounds are int64 (INTEGER columns)
    kText,     ///< bounds are text (TEXT, DATE, TIMESTAMP columns, stored as ISO text)
};

/// The key kind of a column type, or nullopt when key_range cannot cut it.
std::optional<KeyKind> KeyKindFor(const DataType& type);

/// Fraction of min..max a unique integer key must fill for equal value ranges to be even.
constexpr double kDenseFill = 0.9;

/// What CutKeyRanges reads: one column of a relation, optionally filtered to one tenant.
struct KeyRangeQuery {
    sqlite3* db;
    std::string from;    ///< the relation in SQL (a quoted table or "(query)")
    std::string label;   ///< for messages
    std::string column;
    KeyKind kind;
    bool nullable;
    std::string tenant_column;  ///< empty = no tenant filter
    std::string tenant_value;
    bool unique = false;        ///< the key is the table's single-column primary key
    std::string filter;         ///< a condition with literals only (an incremental window), or ""
};

/// Cuts the relation into key_range slices of about `chunk_rows` rows each. One ordered pass
/// over the key takes the value found every chunk_rows rows as a cut point (at a change of
/// value, so equal keys never straddle a cut): slices stay even however skewed or gappy the
/// keys are, and each slice's estimated_rows is exact at plan time. The first slice has no
/// lower bound and takes the NULL keys; the last has no upper bound. Values stored in another
/// storage class than `kind` (text in an INTEGER column) are never cut points; SQLite's total
/// order puts them inside some slice, so the slices still cover every row exactly once.
/// Cost: one scan of the key (an index scan when it is indexed or the rowid). Shortcut: a
/// unique integer key whose values fill at least kDenseFill of min..max (autoincrement ids)
/// is cut into equal value ranges from min, max and count alone, O(log n) instead of O(n);
/// with unique keys that dense no slice exceeds chunk_rows / kDenseFill rows.
std::vector<Slice> CutKeyRanges(const KeyRangeQuery& query, int64_t chunk_rows);

/// The bounds of one slice on a key column, as Open reads them.
struct KeyBounds {
    std::string column;
    KeyKind kind;
    bool nullable;
    std::optional<std::string> lower;  ///< inclusive
    std::optional<std::string> upper;  ///< exclusive
    bool includes_nulls;
};

/// WHERE conditions for a slice, with `?` placeholders for the bounds in the order
/// BindKeyBounds binds them. The NULL test is left out for NOT NULL columns, because
/// `id IS NULL OR id < ?` keeps SQLite from searching the rowid or an index by range.
std::vector<std::string> KeyRangeConditions(const KeyBounds& bounds);

/// Binds the bounds from parameter 1 on; returns the next free parameter index. Throws
/// Error(kConfig) when an integer key's bound is not an integer.
int BindKeyBounds(sqlite3_stmt* stmt, const KeyBounds& bounds);

/// True when `column` is the rowid or the first column of an index of `table`.
bool IsIndexedColumn(sqlite3* db, const TableName& table, const std::string& column);

}  // namespace sluice::sqlite
