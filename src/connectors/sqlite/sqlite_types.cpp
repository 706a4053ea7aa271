#include "connectors/sqlite/sqlite_types.hpp"

#include <cctype>
#include <cstdio>

#include <fmt/format.h>

namespace sluice::sqlite {

namespace {

constexpr int kMaxNumericDigits = 15;

std::string Upper(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return out;
}

/// The declared name without its "(p,s)" part and surrounding blanks: "DECIMAL TEXT".
std::string BaseName(const std::string& upper) {
    std::string base = upper.substr(0, upper.find('('));
    while (!base.empty() && std::isspace(static_cast<unsigned char>(base.back()))) {
        base.pop_back();
    }
    return base;
}

DataType Decimal(const std::string& upper) {
    DataType type = MakeType(LogicalType::kDecimal);
    if (const auto open = upper.find('('); open != std::string::npos) {
        int precision = 0;
        int scale = 0;
        // NOLINTNEXTLINE(cert-err34-c): a malformed modifier just leaves the decimal unconstrained
        if (std::sscanf(upper.c_str() + open, "( %d , %d", &precision, &scale) >= 1 && precision > 0) {
            type.precision = precision;
            type.scale = scale;
        }
    }
    return type;
}

}  // namespace

DataType TypeFromDecl(std::string_view decl) {
    const std::string upper = Upper(decl);
    const std::string base = BaseName(upper);
    auto has = [&](const char* part) { return upper.find(part) != std::string::npos; };

    // Exact names first: they are what sluice writes and what other tools commonly declare.
    // Several contain another rule's substring (INTERVAL has INT, DATETIME has DATE).
    if (upper.size() > 2 && upper.ends_with("[]")) {
        if (auto array = ParseTypeName(decl); array && array->id == LogicalType::kArray) {
            return *array;
        }
        return MakeType(LogicalType::kText);
    }
    if (base == "BOOL" || base == "BOOLEAN") return MakeType(LogicalType::kBool);
    if (base == "INTERVAL") return MakeType(LogicalType::kInterval);
    if (base == "UUID") return MakeType(LogicalType::kUuid);
    if (base == "JSON") return MakeType(LogicalType::kJson);
    if (base == "JSONB") {
        DataType json = MakeType(LogicalType::kJson);
        json.jsonb = true;
        return json;
    }
    if (base == "TIME" || base == "TIME WITHOUT TIME ZONE") return MakeType(LogicalType::kTime);
    if (base == "TIMESTAMPTZ" || base == "TIMESTAMP WITH TIME ZONE") {
        return MakeType(LogicalType::kTimestampTz);
    }
    if (base == "TIMESTAMP" || base == "DATETIME" || base == "TIMESTAMP WITHOUT TIME ZONE") {
        return MakeType(LogicalType::kTimestamp);
    }
    if (base == "DATE") return MakeType(LogicalType::kDate);
    if (base == "DECIMAL TEXT" || base == "NUMERIC TEXT") return Decimal(upper);

    // SQLite's affinity rules (https://sqlite.org/datatype3.html, 3.1), in SQLite's order.
    if (has("INT")) return MakeType(LogicalType::kInt64);  // SQLite integers are 64-bit
    if (has("CHAR") || has("CLOB") || has("TEXT")) return MakeType(LogicalType::kText);
    if (has("BLOB")) return MakeType(LogicalType::kBytes);
    if (has("REAL") || has("FLOA") || has("DOUB")) return MakeType(LogicalType::kFloat64);
    if (has("NUMERIC") || has("DECIMAL")) return Decimal(upper);
    return MakeType(LogicalType::kText);
}

bool HasNumericAffinity(std::string_view decl) {
    const std::string upper = Upper(decl);
    auto has = [&](const char* part) { return upper.find(part) != std::string::npos; };
    return !upper.empty() && !has("INT") && !has("CHAR") && !has("CLOB") && !has("TEXT") && !has("BLOB");
}

std::string DeclFromType(const DataType& type) {
    switch (type.id) {
        case LogicalType::kInt16:
        case LogicalType::kInt32:
        case LogicalType::kInt64: return "INTEGER";
        case LogicalType::kFloat32:
        case LogicalType::kFloat64: return "REAL";
        case LogicalType::kBool: return "BOOLEAN";
        case LogicalType::kBytes: return "BLOB";
        case LogicalType::kText: return "TEXT";
        case LogicalType::kDecimal:
            // Up to 15 digits, NUMERIC affinity stores the value as an SQLite number (a double
            // holds 15 significant digits exactly), so comparisons, ORDER BY and max() work
            // on numbers. Wider or unconstrained decimals keep their exact text instead.
            if (type.precision > 0 && type.precision <= kMaxNumericDigits) {
                return fmt::format("NUMERIC({},{})", type.precision, type.scale);
            }
            return type.precision > 0 ? fmt::format("DECIMAL TEXT({},{})", type.precision, type.scale)
                                      : "DECIMAL TEXT";
        case LogicalType::kDate: return "DATE";
        case LogicalType::kTime: return "TIME";
        case LogicalType::kTimestamp: return "TIMESTAMP";
        case LogicalType::kTimestampTz: return "TIMESTAMPTZ";
        case LogicalType::kUuid: return "UUID";
        case LogicalType::kJson: return type.jsonb ? "JSONB" : "JSON";
        case LogicalType::kInterval: return "INTERVAL";
        case LogicalType::kArray: return TypeName(type);  // "int64[]": TEXT-like, reads back
    }
    return "TEXT";
}

}  // namespace sluice::sqlite
