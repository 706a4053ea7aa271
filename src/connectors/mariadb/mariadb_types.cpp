#include "connectors/mariadb/mariadb_types.hpp"

#include <algorithm>
#include <cctype>
#include <iterator>

#include <fmt/format.h>

#include "connectors/mariadb/mariadb_connection.hpp"

namespace sluice::mariadb {

namespace {

constexpr unsigned kBinaryCharset = 63;  // MYSQL_FIELD::charsetnr of binary strings

DataType Decimal(int precision, int scale) {
    DataType t = MakeType(LogicalType::kDecimal);
    t.precision = precision;
    t.scale = scale;
    return t;
}

/// BIT(1) is how MariaDB applications spell a boolean; wider BITs are bit sets read as numbers.
DataType BitType(unsigned bits) {
    if (bits <= 1) return MakeType(LogicalType::kBool);
    if (bits < 64) return MakeType(LogicalType::kInt64);
    return Decimal(20, 0);
}

/// The number in "bit(5)" or "decimal(12,2)"'s first place; 0 when there is none.
unsigned FirstParameter(std::string_view column_type) {
    const size_t open = column_type.find('(');
    if (open == std::string_view::npos) {
        return 0;
    }
    unsigned out = 0;
    for (size_t i = open + 1; i < column_type.size() && std::isdigit(static_cast<unsigned char>(column_type[i])); ++i) {
        out = out * 10 + static_cast<unsigned>(column_type[i] - '0');
    }
    return out;
}

DataType IntegerType(std::string_view data_type, bool is_unsigned) {
    if (data_type == "tinyint") return MakeType(LogicalType::kInt16);
    if (data_type == "smallint") return MakeType(is_unsigned ? LogicalType::kInt32 : LogicalType::kInt16);
    if (data_type == "mediumint") return MakeType(LogicalType::kInt32);
    if (data_type == "int" || data_type == "integer") {
        return MakeType(is_unsigned ? LogicalType::kInt64 : LogicalType::kInt32);
    }
    return is_unsigned ? Decimal(20, 0) : MakeType(LogicalType::kInt64);  // bigint
}

}  // namespace

DataType TypeOfColumn(const ColumnInfo& column) {
    const std::string& t = column.data_type;
    const bool is_unsigned = column.column_type.find("unsigned") != std::string::npos;
    if (t == "tinyint" || t == "smallint" || t == "mediumint" || t == "int" || t == "integer" || t == "bigint") {
        return IntegerType(t, is_unsigned);
    }
    if (t == "decimal" || t == "numeric") return Decimal(column.precision, column.scale);
    if (t == "float") return MakeType(LogicalType::kFloat32);
    if (t == "double" || t == "real") return MakeType(LogicalType::kFloat64);
    if (t == "bit") return BitType(FirstParameter(column.column_type));
    if (t == "year") return MakeType(LogicalType::kInt16);
    if (t == "date") return MakeType(LogicalType::kDate);
    if (t == "datetime") return MakeType(LogicalType::kTimestamp);
    if (t == "timestamp") return MakeType(LogicalType::kTimestampTz);
    if (t == "time") return MakeType(LogicalType::kTime);
    if (t == "uuid") return MakeType(LogicalType::kUuid);
    if (t == "json" || column.json) return MakeType(LogicalType::kJson);
    if (t == "binary" || t == "varbinary" || t == "tinyblob" || t == "blob" || t == "mediumblob" ||
        t == "longblob" || t == "geometry" || t == "point" || t == "linestring" || t == "polygon" ||
        t == "multipoint" || t == "multilinestring" || t == "multipolygon" || t == "geometrycollection") {
        return MakeType(LogicalType::kBytes);
    }
    return MakeType(LogicalType::kText);  // char, varchar, *text, enum, set, inet4, inet6, ...
}

std::string NativeType(const ColumnInfo& column) {
    const std::string& t = column.data_type;
    const bool width_only = t == "tinyint" || t == "smallint" || t == "mediumint" || t == "int" || t == "integer" ||
                            t == "bigint" || t == "year";
    const std::string& full = column.column_type;
    const size_t open = full.find('(');
    const size_t close = full.find(')', open);
    if (!width_only || open == std::string::npos || close == std::string::npos) {
        return full;
    }
    return full.substr(0, open) + full.substr(close + 1);
}

DataType TypeOfField(const MYSQL_FIELD& field) {
    const bool is_unsigned = (field.flags & UNSIGNED_FLAG) != 0;
    const bool binary = field.charsetnr == kBinaryCharset;
    switch (field.type) {
        case MYSQL_TYPE_TINY: return IntegerType("tinyint", is_unsigned);
        case MYSQL_TYPE_SHORT: return IntegerType("smallint", is_unsigned);
        case MYSQL_TYPE_INT24: return IntegerType("mediumint", is_unsigned);
        case MYSQL_TYPE_LONG: return IntegerType("int", is_unsigned);
        case MYSQL_TYPE_LONGLONG: return IntegerType("bigint", is_unsigned);
        case MYSQL_TYPE_DECIMAL:
        case MYSQL_TYPE_NEWDECIMAL: {
            // length counts the digits, the point (when there is a fraction) and the sign.
            const int scale = static_cast<int>(field.decimals);
            const int precision = static_cast<int>(field.length) - (scale > 0 ? 1 : 0) - (is_unsigned ? 0 : 1);
            return precision > 0 && precision <= 65 ? Decimal(precision, scale) : MakeType(LogicalType::kDecimal);
        }
        case MYSQL_TYPE_FLOAT: return MakeType(LogicalType::kFloat32);
        case MYSQL_TYPE_DOUBLE: return MakeType(LogicalType::kFloat64);
        case MYSQL_TYPE_BIT: return BitType(static_cast<unsigned>(field.length));
        case MYSQL_TYPE_YEAR: return MakeType(LogicalType::kInt16);
        case MYSQL_TYPE_DATE:
        case MYSQL_TYPE_NEWDATE: return MakeType(LogicalType::kDate);
        case MYSQL_TYPE_DATETIME:
        case MYSQL_TYPE_DATETIME2: return MakeType(LogicalType::kTimestamp);
        case MYSQL_TYPE_TIMESTAMP:
        case MYSQL_TYPE_TIMESTAMP2: return MakeType(LogicalType::kTimestampTz);
        case MYSQL_TYPE_TIME:
        case MYSQL_TYPE_TIME2: return MakeType(LogicalType::kTime);
        case MYSQL_TYPE_JSON: return MakeType(LogicalType::kJson);
        case MYSQL_TYPE_GEOMETRY: return MakeType(LogicalType::kBytes);
        case MYSQL_TYPE_TINY_BLOB:
        case MYSQL_TYPE_MEDIUM_BLOB:
        case MYSQL_TYPE_LONG_BLOB:
        case MYSQL_TYPE_BLOB:
        case MYSQL_TYPE_VAR_STRING:
        case MYSQL_TYPE_VARCHAR:
        case MYSQL_TYPE_STRING:
            if (binary && (field.flags & (ENUM_FLAG | SET_FLAG)) == 0) {
                return MakeType(LogicalType::kBytes);
            }
            return MakeType(LogicalType::kText);
        default: return MakeType(LogicalType::kText);
    }
}

std::string NativeTypeOfField(const MYSQL_FIELD& field) {
    const DataType type = TypeOfField(field);
    const std::string unsigned_suffix = (field.flags & UNSIGNED_FLAG) != 0 ? " unsigned" : "";
    if ((field.flags & ENUM_FLAG) != 0) return "enum";
    if ((field.flags & SET_FLAG) != 0) return "set";
    switch (field.type) {
        case MYSQL_TYPE_TINY: return "tinyint" + unsigned_suffix;
        case MYSQL_TYPE_SHORT: return "smallint" + unsigned_suffix;
        case MYSQL_TYPE_INT24: return "mediumint" + unsigned_suffix;
        case MYSQL_TYPE_LONG: return "int" + unsigned_suffix;
        case MYSQL_TYPE_LONGLONG: return "bigint" + unsigned_suffix;
        case MYSQL_TYPE_BIT: return fmt::format("bit({})", field.length);
        case MYSQL_TYPE_FLOAT: return "float";
        case MYSQL_TYPE_DOUBLE: return "double";
        case MYSQL_TYPE_YEAR: return "year";
        case MYSQL_TYPE_DATETIME:
        case MYSQL_TYPE_DATETIME2: return "datetime";
        case MYSQL_TYPE_TIMESTAMP:
        case MYSQL_TYPE_TIMESTAMP2: return "timestamp";
        case MYSQL_TYPE_TIME:
        case MYSQL_TYPE_TIME2: return "time";
        default: break;
    }
    if (type.id == LogicalType::kDecimal && type.precision > 0) {
        return fmt::format("decimal({},{})", type.precision, type.scale);
    }
    return type.id == LogicalType::kBytes ? "varbinary" : TypeName(type);
}

std::string SqlTypeFor(const Field& field, bool in_key) {
    const DataType& t = field.type;
    switch (t.id) {
        case LogicalType::kBool: return "BOOLEAN";
        case LogicalType::kInt16: return "SMALLINT";
        case LogicalType::kInt32: return "INT";
        case LogicalType::kInt64: return "BIGINT";
        case LogicalType::kFloat32: return "FLOAT";
        case LogicalType::kFloat64: return "DOUBLE";
        case LogicalType::kDecimal:
            if (t.precision > 0 && t.precision <= 65 && t.scale >= 0 && t.scale <= 38 && t.scale <= t.precision) {
                return fmt::format("DECIMAL({},{})", t.precision, t.scale);
            }
            return "DECIMAL(65,30)";
        case LogicalType::kBytes: return in_key ? "VARBINARY(255)" : "LONGBLOB";
        case LogicalType::kDate: return "DATE";
        case LogicalType::kTime: return "TIME(6)";
        case LogicalType::kTimestamp:
        case LogicalType::kTimestampTz: return "DATETIME(6)";
        case LogicalType::kUuid: return "CHAR(36)";  // MariaDB's UUID refuses versions above 5 that PostgreSQL keeps
        case LogicalType::kJson: return "JSON";
        default: return in_key ? "VARCHAR(255)" : "LONGTEXT";  // text, interval, array
    }
}

bool IsBit(const Field& field) { return field.native_type.rfind("bit", 0) == 0; }

bool IsEnumOrSet(const Field& field) {
    return field.native_type.rfind("enum", 0) == 0 || field.native_type.rfind("set", 0) == 0;
}

std::string BoundExpression(const Field& field, const std::string& column) {
    return field.type.id == LogicalType::kBytes ? fmt::format("HEX({})", column) : ReadExpression(field, column);
}

std::string ReadExpression(const Field& field, const std::string& column) {
    if (field.type.id == LogicalType::kFloat32) {
        return fmt::format("{} + 0e0", column);  // DOUBLE holds every FLOAT exactly
    }
    if (IsBit(field)) {
        return fmt::format("{} + 0", column);
    }
    return column;
}

std::string Literal(const Field& field, std::string_view value) {
    const LogicalType t = field.type.id;
    const bool numeric = t == LogicalType::kInt16 || t == LogicalType::kInt32 || t == LogicalType::kInt64 ||
                         t == LogicalType::kFloat32 || t == LogicalType::kFloat64 || t == LogicalType::kDecimal ||
                         t == LogicalType::kBool;
    const bool plain_number = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
    });
    if (numeric && plain_number) {
        return std::string(value);
    }
    if (t == LogicalType::kBytes) {
        const bool hex = value.size() % 2 == 0 && std::all_of(value.begin(), value.end(), [](char c) {
            return std::isxdigit(static_cast<unsigned char>(c)) != 0;
        });
        if (!hex) {
            throw Error(ErrorKind::kInternal, fmt::format("a bound of binary column {} is not hex", field.name));
        }
        return fmt::format("X'{}'", value);
    }
    return QuoteString(value);
}

}  // namespace sluice::mariadb
