#pragma once

#include <mysql.h>

#include <string>
#include <string_view>

#include "core/schema.hpp"

namespace sluice::mariadb {

/// A column as information_schema.COLUMNS describes it.
struct ColumnInfo {
    std::string name;
    std::string data_type;    ///< DATA_TYPE, lower case: "int", "varchar", "decimal"
    std::string column_type;  ///< COLUMN_TYPE: "int(10) unsigned", "decimal(12,2)", "bit(1)"
    bool nullable = true;
    int precision = 0;        ///< NUMERIC_PRECISION (decimal)
    int scale = 0;            ///< NUMERIC_SCALE
    bool json = false;        ///< a JSON column (MariaDB stores them as longtext CHECK json_valid)
};

/// The logical type that holds every value of a MariaDB column exactly (docs/job-file.md has
/// the table): unsigned integers widen (BIGINT UNSIGNED to decimal(20,0)), BIT(1) is bool and
/// wider BITs integers, ENUM and SET text, TIMESTAMP timestamptz (an instant), DATETIME
/// timestamp, binary strings bytes, types it does not know text.
DataType TypeOfColumn(const ColumnInfo& column);

/// COLUMN_TYPE without the integer display widths MariaDB prints and nobody means
/// ("int(11) unsigned" -> "int unsigned", "year(4)" -> "year"): the native type shown in
/// messages, and one a PostgreSQL target would otherwise take for its own "int".
std::string NativeType(const ColumnInfo& column);

/// The same for a result column of a query (no information_schema row to read).
DataType TypeOfField(const MYSQL_FIELD& field);
/// The type as MariaDB spells it, for messages and `plan`: "int unsigned", "decimal(12,2)".
std::string NativeTypeOfField(const MYSQL_FIELD& field);

/// The expression that reads column `field` (quoted `column`) in the form the reader parses:
/// FLOAT widened to DOUBLE (the text protocol prints FLOAT with 6 digits, which loses bits)
/// and BIT as its number (the text protocol sends BIT's raw bytes).
std::string ReadExpression(const Field& field, const std::string& column);

/// The expression whose text is a bound of column `field` (a key_range cut, an incremental
/// mark): ReadExpression's, except binary strings as HEX(), so that bounds are always text
/// the plan and the ledger can hold.
std::string BoundExpression(const Field& field, const std::string& column);

/// A literal of `value` (a bound of `field` as BoundExpression writes it) that compares with
/// the column as the value does: numbers bare (a quoted one would compare as a double), binary
/// strings from their hex, text quoted.
std::string Literal(const Field& field, std::string_view value);

/// ENUM and SET columns: MariaDB orders them by their position in the definition but compares
/// them with strings as strings, so no range of them can be cut or windowed consistently.
bool IsEnumOrSet(const Field& field);

/// The MariaDB column type a table sluice creates gets for `field`: the logical type's exact
/// counterpart (docs/job-file.md); uuid as CHAR(36); timestamptz as DATETIME(6) holding UTC (TIMESTAMP ends in
/// 2038), text and bytes as LONGTEXT / LONGBLOB, or VARCHAR(255) / VARBINARY(255) in a key
/// (an index takes no LONGTEXT), an unconstrained decimal as DECIMAL(65,30).
std::string SqlTypeFor(const Field& field, bool in_key);

/// True for columns whose native type is BIT (read through ReadExpression as a number).
bool IsBit(const Field& field);

}  // namespace sluice::mariadb
