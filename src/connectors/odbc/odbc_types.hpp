#pragma once

#include <sql.h>
#include <sqlext.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/schema.hpp"

namespace sluice::odbc {

/// A result column as the driver describes it (SQLDescribeCol, SQLColAttribute).
struct ColumnDescription {
    std::string name;
    SQLSMALLINT sql_type = SQL_VARCHAR;
    SQLULEN size = 0;          ///< characters (text), bytes (binary) or digits (numbers); 0 = unknown
    SQLSMALLINT digits = 0;    ///< scale, fractional second digits
    bool nullable = true;
    bool is_unsigned = false;
    std::string type_name;     ///< the data source's own name ("int8", "varchar", "INTEGER")
};

/// The columns of `stmt`'s result.
std::vector<ColumnDescription> DescribeResult(SQLHSTMT stmt, std::string_view what);

/// How a column is fetched: the C type asked for, the bytes one value takes in a bound
/// buffer, and whether it is too long (or of unknown length) to bind.
struct FetchPlan {
    /// SQL_C_BIT, SQL_C_DOUBLE (floats), SQL_C_CHAR (ASCII forms), SQL_C_WCHAR (text as
    /// UTF-16), SQL_C_BINARY (bytes, and text as the UTF-8 the driver holds: `utf8`)
    SQLSMALLINT c_type = SQL_C_CHAR;
    bool utf8 = false;                ///< text fetched as its UTF-8 bytes (checked when read)
    size_t cell_bytes = 0;            ///< bound buffer per value, terminator included
    bool is_long = false;             ///< read with SQLGetData, never bound whole
};

/// The sluice field of a column, mapped exactly:
/// - SQL_BIT and a type named bool/boolean → bool; TINYINT and SMALLINT → int16 (an unsigned
///   SMALLINT → int32); INTEGER → int32 (unsigned → int64); BIGINT → int64 (unsigned →
///   decimal(20,0)); in SQLite, whose declared types hold any integer, every integer → int64;
/// - REAL → float32; FLOAT and DOUBLE → float64;
/// - DECIMAL and NUMERIC → decimal without precision: psqlODBC reports an unconstrained numeric
///   as (28,6), so a declared precision cannot be told from a guess, and a target created
///   numeric(28,6) would round. Values arrive as text with every digit;
/// - DATE → date, TIME → time, TIMESTAMP → timestamp (ODBC has no zoned type: a driver sends a
///   zoned value in its session's zone without the offset);
/// - GUID → uuid; BINARY, VARBINARY, LONGVARBINARY → bytes; a type named json or jsonb → json;
/// - every character type, intervals and anything else → text.
Field FieldOf(const ColumnDescription& column, std::string_view dbms);

/// How to fetch a column of field `field`. `rebindable`: the driver can read a value cut
/// short in a block fetch again (Connection::RereadsCutValues), so a long column may be
/// bound with a short buffer; otherwise long columns are read with SQLGetData, and so are
/// variable-width columns of drivers whose declared lengths do not bound their values
/// (SQLite's).
/// `utf8_text`: the driver hands text over as UTF-8 bytes unchanged (SQL_C_BINARY), which
/// keeps a NUL or an invalid byte for the target to judge, where its UTF-16 conversion would
/// cut the value at a NUL (MariaDB's with CHARSET=utf8mb4, SQLite's).
FetchPlan PlanFetch(const ColumnDescription& column, const Field& field, std::string_view dbms, bool rebindable,
                    bool utf8_text = false);

/// Appends the UTF-8 form of UTF-16 `units` to `out`; false (with `out` as it was) for an
/// unpaired surrogate.
bool AppendUtf16AsUtf8(const SQLWCHAR* units, size_t count, std::string& out);

}  // namespace sluice::odbc
