#include "connectors/odbc/odbc_types.hpp"

#include <algorithm>
#include <cctype>

#include "connectors/odbc/odbc_connection.hpp"

namespace sluice::odbc {

namespace {

/// Longest value bound in a fetch buffer; longer columns are long (SQLGetData).
constexpr SQLULEN kBindableLength = 4000;
/// The buffer a long column gets when the driver can read a value cut short again.
constexpr size_t kShortBufferBytes = 512;

std::string Lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool IsSqlite(std::string_view dbms) { return Lower(dbms).find("sqlite") != std::string::npos; }

bool IsLongType(SQLSMALLINT type) {
    return type == SQL_LONGVARCHAR || type == SQL_WLONGVARCHAR || type == SQL_LONGVARBINARY;
}

}  // namespace

std::vector<ColumnDescription> DescribeResult(SQLHSTMT stmt, std::string_view what) {
    SQLSMALLINT count = 0;
    Check(SQLNumResultCols(stmt, &count), SQL_HANDLE_STMT, stmt, what);
    std::vector<ColumnDescription> out;
    for (SQLUSMALLINT c = 1; c <= static_cast<SQLUSMALLINT>(count); ++c) {
        ColumnDescription column;
        SQLCHAR name[512] = {};
        SQLSMALLINT name_length = 0;
        SQLSMALLINT nullable = SQL_NULLABLE_UNKNOWN;
        Check(SQLDescribeCol(stmt, c, name, sizeof name, &name_length, &column.sql_type, &column.size, &column.digits,
                             &nullable),
              SQL_HANDLE_STMT, stmt, what);
        column.name = reinterpret_cast<const char*>(name);
        column.nullable = nullable != SQL_NO_NULLS;
        SQLLEN is_unsigned = SQL_FALSE;
        SQLColAttribute(stmt, c, SQL_DESC_UNSIGNED, nullptr, 0, nullptr, &is_unsigned);
        column.is_unsigned = is_unsigned == SQL_TRUE;
        char type_name[256] = {};
        SQLColAttribute(stmt, c, SQL_DESC_TYPE_NAME, type_name, sizeof type_name, nullptr, nullptr);
        column.type_name = type_name;
        out.push_back(std::move(column));
    }
    return out;
}

Field FieldOf(const ColumnDescription& column, std::string_view dbms) {
    Field field{.name = column.name, .type = MakeType(LogicalType::kText), .nullable = column.nullable,
                .native_type = column.type_name};
    const std::string name = Lower(column.type_name);
    const bool sqlite = IsSqlite(dbms);
    auto set = [&](LogicalType id) { field.type = MakeType(id); };
    if (name == "money") {
        return field;  // psqlODBC calls it a float; its text ("$1,234.56") is kept as it is
    }
    if (name == "bool" || name == "boolean") {
        set(LogicalType::kBool);
        return field;
    }
    if (name == "json" || name == "jsonb") {
        set(LogicalType::kJson);
        field.type.jsonb = name == "jsonb";
        return field;
    }
    switch (column.sql_type) {
        case SQL_BIT: set(LogicalType::kBool); break;
        case SQL_TINYINT: set(sqlite ? LogicalType::kInt64 : LogicalType::kInt16); break;
        case SQL_SMALLINT:
            set(sqlite ? LogicalType::kInt64 : column.is_unsigned ? LogicalType::kInt32 : LogicalType::kInt16);
            break;
        case SQL_INTEGER: set(sqlite || column.is_unsigned ? LogicalType::kInt64 : LogicalType::kInt32); break;
        case SQL_BIGINT:
            if (column.is_unsigned && !sqlite) {
                field.type = DataType{.id = LogicalType::kDecimal, .precision = 20, .scale = 0};
            } else {
                set(LogicalType::kInt64);
            }
            break;
        case SQL_REAL: set(LogicalType::kFloat32); break;
        case SQL_FLOAT:
        case SQL_DOUBLE: set(LogicalType::kFloat64); break;
        case SQL_DECIMAL:
        case SQL_NUMERIC: set(LogicalType::kDecimal); break;
        case SQL_TYPE_DATE:
        case SQL_DATE: set(LogicalType::kDate); break;
        case SQL_TYPE_TIME:
        case SQL_TIME: set(LogicalType::kTime); break;
        case SQL_TYPE_TIMESTAMP:
        case SQL_TIMESTAMP: set(LogicalType::kTimestamp); break;
        case SQL_GUID: set(LogicalType::kUuid); break;
        case SQL_BINARY:
        case SQL_VARBINARY:
        case SQL_LONGVARBINARY: set(LogicalType::kBytes); break;
        default:  // character types, intervals, anything else: text
            if (name == "char" || name == "character" || name == "bpchar" || name == "nchar") {
                // A target of the same dialect would create "char" as char(1), and a fixed
                // length would pad MariaDB's ENUMs (which its driver calls CHAR): text keeps
                // each value as it came.
                field.native_type = "text";
            }
            break;
    }
    return field;
}

FetchPlan PlanFetch(const ColumnDescription& column, const Field& field, std::string_view dbms, bool rebindable,
                    bool utf8_text) {
    FetchPlan plan;
    // SQLite's declared types bound nothing: a VARCHAR(10) or an INT column may hold a
    // megabyte of text.
    bool unbounded = IsSqlite(dbms);
    switch (field.type.id) {
        case LogicalType::kText:
        case LogicalType::kJson:
            if (utf8_text) {
                plan.c_type = SQL_C_BINARY;
                plan.utf8 = true;
                plan.cell_bytes = std::max<size_t>(4 * static_cast<size_t>(column.size), 1);  // 4 bytes a character
            } else {
                plan.c_type = SQL_C_WCHAR;
                // A character may take two UTF-16 units (a surrogate pair); one more for the terminator.
                plan.cell_bytes = (2 * static_cast<size_t>(column.size) + 1) * sizeof(SQLWCHAR);
            }
            unbounded = unbounded || IsLongType(column.sql_type) || column.size == 0 || column.size > kBindableLength;
            break;
        case LogicalType::kBytes:
            plan.c_type = SQL_C_BINARY;
            plan.cell_bytes = std::max<size_t>(column.size, 1);
            unbounded = unbounded || IsLongType(column.sql_type) || column.size == 0 || column.size > kBindableLength;
            break;
        default:
            if (column.sql_type == SQL_BIT && !unbounded) {
                plan.c_type = SQL_C_BIT;
                plan.cell_bytes = 1;
                return plan;
            }
            // Floats in binary: drivers print them with too few digits (MariaDB's FLOAT with 6).
            // Not SQLite's driver, which converts through 15-digit text and reads 'abc' as NULL:
            // as text, 'abc' at least becomes a reject.
            // REAL too is fetched as a double (a float widens exactly): MariaDB's driver strides
            // bound SQL_C_FLOAT arrays 8 bytes apart, shifting every other value.
            if ((field.type.id == LogicalType::kFloat32 || field.type.id == LogicalType::kFloat64) && !unbounded) {
                plan.c_type = SQL_C_DOUBLE;
                plan.cell_bytes = sizeof(double);
                return plan;
            }
            // Numbers, dates, times and UUIDs in their ASCII text form, parsed as PostgreSQL's
            // text input is: exact for every width, and a value the type cannot hold (SQLite's
            // 'abc' in an INT column) becomes a reject instead of a failed fetch.
            plan.c_type = SQL_C_CHAR;
            plan.cell_bytes = std::max<size_t>(std::min(column.size, kBindableLength) + 8, 48);
            break;
    }
    if (unbounded) {
        if (rebindable) {
            plan.cell_bytes = std::min(plan.cell_bytes, kShortBufferBytes);  // longer values are read again whole
        } else {
            plan.is_long = true;
        }
    }
    return plan;
}

bool AppendUtf16AsUtf8(const SQLWCHAR* units, size_t count, std::string& out) {
    const size_t before = out.size();
    for (size_t i = 0; i < count; ++i) {
        uint32_t code = units[i];
        if (code >= 0xD800 && code <= 0xDFFF) {
            const bool high = code <= 0xDBFF;
            if (!high || i + 1 == count || units[i + 1] < 0xDC00 || units[i + 1] > 0xDFFF) {
                out.resize(before);
                return false;
            }
            code = 0x10000 + ((code - 0xD800) << 10) + (units[i + 1] - 0xDC00);
            ++i;
        }
        if (code < 0x80) {
            out += static_cast<char>(code);
        } else if (code < 0x800) {
            out += static_cast<char>(0xC0 | (code >> 6));
            out += static_cast<char>(0x80 | (code & 0x3F));
        } else if (code < 0x10000) {
            out += static_cast<char>(0xE0 | (code >> 12));
            out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (code & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (code >> 18));
            out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (code & 0x3F));
        }
    }
    return true;
}

}  // namespace sluice::odbc
