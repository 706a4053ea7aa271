#include "core/types.hpp"

#include <algorithm>
#include <cctype>
#include <string>

#include <fmt/format.h>

namespace sluice {

size_t FixedWidth(LogicalType type) {
    switch (type) {
        case LogicalType::kBool: return 1;
        case LogicalType::kInt16: return 2;
        case LogicalType::kInt32:
        case LogicalType::kFloat32:
        case LogicalType::kDate: return 4;
        case LogicalType::kInt64:
        case LogicalType::kFloat64:
        case LogicalType::kTime:
        case LogicalType::kTimestamp:
        case LogicalType::kTimestampTz: return 8;
        case LogicalType::kUuid:
        case LogicalType::kInterval: return 16;
        case LogicalType::kDecimal:
        case LogicalType::kText:
        case LogicalType::kBytes:
        case LogicalType::kJson:
        case LogicalType::kArray: return 0;
    }
    return 0;
}

namespace {

const char* BaseName(LogicalType type) {
    switch (type) {
        case LogicalType::kBool: return "bool";
        case LogicalType::kInt16: return "int16";
        case LogicalType::kInt32: return "int32";
        case LogicalType::kInt64: return "int64";
        case LogicalType::kFloat32: return "float32";
        case LogicalType::kFloat64: return "float64";
        case LogicalType::kDecimal: return "decimal";
        case LogicalType::kText: return "text";
        case LogicalType::kBytes: return "bytes";
        case LogicalType::kDate: return "date";
        case LogicalType::kTime: return "time";
        case LogicalType::kTimestamp: return "timestamp";
        case LogicalType::kTimestampTz: return "timestamptz";
        case LogicalType::kUuid: return "uuid";
        case LogicalType::kJson: return "json";
        case LogicalType::kInterval: return "interval";
        case LogicalType::kArray: return "array";
    }
    return "text";
}

struct Alias {
    const char* name;
    LogicalType type;
};

constexpr Alias kAliases[] = {
    {"bool", LogicalType::kBool},           {"boolean", LogicalType::kBool},
    {"int16", LogicalType::kInt16},         {"smallint", LogicalType::kInt16},
    {"int2", LogicalType::kInt16},          {"int32", LogicalType::kInt32},
    {"int", LogicalType::kInt32},           {"integer", LogicalType::kInt32},
    {"int4", LogicalType::kInt32},          {"int64", LogicalType::kInt64},
    {"bigint", LogicalType::kInt64},        {"int8", LogicalType::kInt64},
    {"float32", LogicalType::kFloat32},     {"real", LogicalType::kFloat32},
    {"float4", LogicalType::kFloat32},      {"float64", LogicalType::kFloat64},
    {"float8", LogicalType::kFloat64},      {"double", LogicalType::kFloat64},
    {"double precision", LogicalType::kFloat64}, {"float", LogicalType::kFloat64},
    {"decimal", LogicalType::kDecimal},     {"numeric", LogicalType::kDecimal},
    {"text", LogicalType::kText},           {"string", LogicalType::kText},
    {"varchar", LogicalType::kText},        {"character varying", LogicalType::kText},
    {"char", LogicalType::kText},           {"character", LogicalType::kText},
    {"bpchar", LogicalType::kText},         {"name", LogicalType::kText},
    {"bytes", LogicalType::kBytes},         {"bytea", LogicalType::kBytes},
    {"blob", LogicalType::kBytes},          {"date", LogicalType::kDate},
    {"time", LogicalType::kTime},           {"time without time zone", LogicalType::kTime},
    {"timestamp", LogicalType::kTimestamp}, {"datetime", LogicalType::kTimestamp},
    {"timestamp without time zone", LogicalType::kTimestamp},
    {"timestamptz", LogicalType::kTimestampTz},
    {"timestamp with time zone", LogicalType::kTimestampTz},
    {"uuid", LogicalType::kUuid},           {"json", LogicalType::kJson},
    {"jsonb", LogicalType::kJson},          {"interval", LogicalType::kInterval},
};

std::string Normalize(std::string_view name) {
    std::string out;
    bool space = false;
    for (char c : name) {
        if (std::isspace(static_cast<unsigned char>(c))) {
            space = !out.empty();
            continue;
        }
        if (space) {
            out += ' ';
            space = false;
        }
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

}  // namespace

std::string TypeName(const DataType& type) {
    if (type.id == LogicalType::kDecimal && type.precision > 0) {
        return fmt::format("decimal({},{})", type.precision, type.scale);
    }
    if (type.id == LogicalType::kJson && type.jsonb) {
        return "jsonb";
    }
    if (type.id == LogicalType::kArray) {
        return std::string(BaseName(type.element)) + "[]";
    }
    return BaseName(type.id);
}

std::optional<DataType> ParseTypeName(std::string_view raw) {
    std::string name = Normalize(raw);
    if (name.size() > 2 && name.ends_with("[]")) {
        auto element = ParseTypeName(std::string_view(name).substr(0, name.size() - 2));
        if (!element || element->id == LogicalType::kArray) {
            return std::nullopt;
        }
        DataType t{.id = LogicalType::kArray};
        t.element = element->id;
        return t;
    }
    // Parameters: numeric(12,2), varchar(20), timestamp(3) ...
    int precision = 0;
    int scale = 0;
    if (auto open = name.find('('); open != std::string::npos) {
        auto close = name.find(')', open);
        if (close == std::string::npos) {
            return std::nullopt;
        }
        std::string params = name.substr(open + 1, close - open - 1);
        std::string rest = name.substr(close + 1);
        name = Normalize(name.substr(0, open) + rest);
        if (std::sscanf(params.c_str(), "%d , %d", &precision, &scale) < 1) {  // NOLINT
            return std::nullopt;
        }
    }
    for (const Alias& alias : kAliases) {
        if (name == alias.name) {
            DataType t{.id = alias.type};
            if (t.id == LogicalType::kDecimal) {
                t.precision = precision;
                t.scale = scale;
            }
            t.jsonb = name == "jsonb";
            return t;
        }
    }
    return std::nullopt;
}

std::string_view AcceptedTypeNames() {
    return "bool, int16, int32, int64, float32, float64, decimal(p,s), text, bytes, date, time, "
           "timestamp, timestamptz, uuid, json, jsonb, interval, and TYPE[] arrays "
           "(SQL spellings such as bigint, integer, varchar, numeric, double precision also work)";
}

}  // namespace sluice
