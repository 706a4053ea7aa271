#include "connectors/mariadb/mariadb_rows.hpp"

#include <charconv>
#include <cmath>
#include <iterator>

#include <fmt/format.h>

#include "core/convert.hpp"

namespace sluice::mariadb {

namespace {

constexpr char kHexDigits[] = "0123456789ABCDEF";

void AppendHex(std::string_view bytes, std::string& out) {
    for (const unsigned char c : bytes) {
        out += kHexDigits[c >> 4];
        out += kHexDigits[c & 15];
    }
}

/// The value's MariaDB text form, unescaped, into `scratch`.
std::string_view ValueText(const Column& column, size_t row, LoadAs load_as, std::string& scratch) {
    scratch.clear();
    const LogicalType type = column.type().id;
    if (load_as == LoadAs::kHex) {
        AppendHex(column.GetBytes(row), scratch);
        return scratch;
    }
    switch (type) {
        case LogicalType::kBool: return column.Get<uint8_t>(row) != 0 ? "1" : "0";
        case LogicalType::kFloat32: {
            // The float's exact double: MariaDB parses the text as a double and then narrows it,
            // and the float's own shortest text ("3.4028235e+38") parses above FLT_MAX.
            const auto value = static_cast<double>(column.Get<float>(row));
            if (std::isfinite(value)) {
                char digits[32];
                const auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), value);
                scratch.assign(digits, end);
                return scratch;
            }
            break;
        }
        case LogicalType::kText:
        case LogicalType::kJson:
        case LogicalType::kDecimal:
        case LogicalType::kBytes: return column.GetBytes(row);
        default: break;
    }
    FormatValue(column, row, scratch);
    if (type == LogicalType::kTimestampTz && scratch.size() > 3 && scratch.ends_with("+00")) {
        scratch.resize(scratch.size() - 3);  // the session's zone is UTC
    }
    return scratch;
}

}  // namespace

void EncodeLoadRows(const Batch& batch, const std::vector<LoadAs>& load_as, std::string& out) {
    std::string scratch;
    const size_t rows = batch.rows();
    for (size_t r = 0; r < rows; ++r) {
        for (size_t c = 0; c < batch.columns.size(); ++c) {
            if (c > 0) {
                out += '\t';
            }
            const Column& column = batch.columns[c];
            if (column.IsNull(r)) {
                out += "\\N";
                continue;
            }
            for (const char ch : ValueText(column, r, load_as[c], scratch)) {
                switch (ch) {
                    case '\t': out += "\\t"; break;
                    case '\n': out += "\\n"; break;
                    case '\r': out += "\\r"; break;
                    case '\\': out += "\\\\"; break;
                    case '\0': out += "\\0"; break;
                    default: out += ch;
                }
            }
        }
        out += '\n';
    }
}

void EncodeInsertRows(const Batch& batch, size_t begin, size_t end, const std::vector<LoadAs>& load_as,
                      std::string& out) {
    std::string scratch;
    for (size_t r = begin; r < end; ++r) {
        out += r == begin ? "(" : ", (";
        for (size_t c = 0; c < batch.columns.size(); ++c) {
            if (c > 0) {
                out += ", ";
            }
            const Column& column = batch.columns[c];
            if (column.IsNull(r)) {
                out += "NULL";
                continue;
            }
            const LogicalType type = column.type().id;
            if (load_as[c] == LoadAs::kHex || type == LogicalType::kBytes) {
                out += "X'";
                AppendHex(column.GetBytes(r), out);
                out += "'";
                continue;
            }
            const std::string_view text = ValueText(column, r, load_as[c], scratch);
            if (load_as[c] == LoadAs::kBit) {
                out += fmt::format("CAST('{}' AS UNSIGNED)", text);
                continue;
            }
            // Text goes as hex of its bytes in utf8mb4: no quoting or escaping can go wrong.
            out += "_utf8mb4 X'";
            AppendHex(text, out);
            out += "'";
        }
        out += ")";
    }
}

}  // namespace sluice::mariadb
