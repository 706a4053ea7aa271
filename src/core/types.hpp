#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

/// Logical column types shared by every connector. Physical layout in a Column:
/// fixed-width values for bool..interval, variable-length bytes for the rest.
enum class LogicalType : uint8_t {
    kBool,
    kInt16,
    kInt32,
    kInt64,
    kFloat32,
    kFloat64,
    kDecimal,      ///< exact decimal, kept as its canonical text ("-12.50", "NaN")
    kText,
    kBytes,
    kDate,         ///< int32 days since 1970-01-01; INT32_MIN/MAX are -infinity/infinity
    kTime,         ///< int64 microseconds since midnight
    kTimestamp,    ///< int64 microseconds since 1970-01-01 00:00 (no zone); INT64_MIN/MAX = -inf/inf
    kTimestampTz,  ///< int64 microseconds since 1970-01-01 00:00 UTC; INT64_MIN/MAX = -inf/inf
    kUuid,         ///< 16 bytes
    kJson,         ///< JSON text
    kInterval,     ///< Interval struct (months, days, microseconds)
    kArray,        ///< one-dimensional array, kept as PostgreSQL's text literal ("{1,2,NULL}")
};

/// A column type: the logical type plus the parameters some types carry.
struct DataType {
    LogicalType id = LogicalType::kText;
    int precision = 0;                        ///< decimal precision, 0 = unconstrained
    int scale = 0;                            ///< decimal scale
    LogicalType element = LogicalType::kText;  ///< element type of kArray
    bool jsonb = false;                        ///< kJson: the source/target column is jsonb

    friend bool operator==(const DataType&, const DataType&) = default;
};

/// PostgreSQL interval: kept in its three exact parts, never normalized.
struct Interval {
    int64_t micros = 0;
    int32_t days = 0;
    int32_t months = 0;
    friend bool operator==(const Interval&, const Interval&) = default;
};

/// Byte width of a fixed-width type, 0 for variable-length types.
size_t FixedWidth(LogicalType type);

/// True for types stored as variable-length bytes in a Column.
inline bool IsVariableWidth(LogicalType type) { return FixedWidth(type) == 0; }

/// Canonical lower-case name as written in job files ("int64", "timestamptz", "decimal(12,2)").
std::string TypeName(const DataType& type);

/// Parses a type name as written in job files. Accepts the canonical names and common SQL
/// spellings (bigint, integer, varchar, double precision, numeric(p,s), text[], ...).
std::optional<DataType> ParseTypeName(std::string_view name);

/// The names ParseTypeName accepts, comma separated, for error messages.
std::string_view AcceptedTypeNames();

inline DataType MakeType(LogicalType id) { return DataType{.id = id}; }

}  // namespace sluice
