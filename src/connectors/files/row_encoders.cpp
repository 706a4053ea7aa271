#include "connectors/files/row_encoders.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/convert.hpp"
#include "core/utf8.hpp"

namespace sluice::files {

namespace {

void AppendCsvField(std::string_view value, std::string& out) {
    const bool quote = value.empty() || value == "\\." || value.find_first_of(",\"\r\n") != std::string_view::npos;
    if (!quote) {
        out += value;
        return;
    }
    out += '"';
    for (char c : value) {
        if (c == '"') {
            out += '"';
        }
        out += c;
    }
    out += '"';
}

void AppendJsonString(std::string_view text, std::string& out) {
    std::string escaped;
    if (FindInvalidUtf8(text) != std::string_view::npos) {
        escaped = EscapeInvalidUtf8(text);
        text = escaped;
    }
    out += '"';
    for (char c : text) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned>(c));
                } else {
                    out += c;
                }
        }
    }
    out += '"';
}

/// A decimal's or float's text is a JSON number unless it is NaN or an infinity.
bool IsJsonNumber(std::string_view text) {
    return !text.empty() && (text[0] == '-' || (text[0] >= '0' && text[0] <= '9')) && text != "-Infinity";
}

}  // namespace

void AppendCsvHeader(const Schema& schema, std::string& out) {
    for (size_t c = 0; c < schema.fields.size(); ++c) {
        if (c > 0) {
            out += ',';
        }
        AppendCsvField(schema.fields[c].name, out);
    }
    out += '\n';
}

void AppendCsvRows(const Batch& batch, std::string& out) {
    std::string value;
    for (size_t row = 0; row < batch.rows(); ++row) {
        for (size_t c = 0; c < batch.columns.size(); ++c) {
            if (c > 0) {
                out += ',';
            }
            const Column& column = batch.columns[c];
            if (column.IsNull(row)) {
                continue;
            }
            value.clear();
            FormatValue(column, row, value);
            AppendCsvField(value, out);
        }
        out += '\n';
    }
}

void AppendJsonLines(const Batch& batch, std::string& out) {
    std::vector<std::string> keys;
    for (size_t c = 0; c < batch.columns.size(); ++c) {
        std::string key;
        AppendJsonString(c < batch.schema.fields.size() ? batch.schema.fields[c].name : fmt::format("column{}", c + 1),
                         key);
        keys.push_back(key + ':');
    }
    std::string value;
    for (size_t row = 0; row < batch.rows(); ++row) {
        out += '{';
        for (size_t c = 0; c < batch.columns.size(); ++c) {
            if (c > 0) {
                out += ',';
            }
            out += keys[c];
            const Column& column = batch.columns[c];
            if (column.IsNull(row)) {
                out += "null";
                continue;
            }
            value.clear();
            FormatValue(column, row, value);
            switch (column.type().id) {
                case LogicalType::kBool:
                    out += column.Get<uint8_t>(row) != 0 ? "true" : "false";
                    break;
                case LogicalType::kInt16:
                case LogicalType::kInt32:
                case LogicalType::kInt64:
                    out += value;
                    break;
                case LogicalType::kDecimal:
                case LogicalType::kFloat32:
                case LogicalType::kFloat64:
                    if (IsJsonNumber(value)) {
                        out += value;
                    } else {
                        AppendJsonString(value, out);
                    }
                    break;
                case LogicalType::kJson:
                    // Sources that do not check JSON (SQLite, files) may hold text that is not:
                    // it goes as a string. In valid JSON a raw CR or LF is whitespace (inside
                    // strings they are escaped): a space keeps the line one line.
                    if (!nlohmann::json::accept(value)) {
                        AppendJsonString(value, out);
                        break;
                    }
                    for (char ch : value) {
                        out += ch == '\n' || ch == '\r' ? ' ' : ch;
                    }
                    break;
                default:
                    AppendJsonString(value, out);
            }
        }
        out += "}\n";
    }
}

}  // namespace sluice::files
