// Text input and output by column type. The parsers and printers for numbers, dates and times,
// and intervals live in convert_numeric.cpp, convert_datetime.cpp and convert_interval.cpp.

#include "core/convert.hpp"

#include <algorithm>
#include <array>
#include <iterator>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/convert_detail.hpp"
#include "core/utf8.hpp"

namespace sluice {

using convert_detail::AppendDate;
using convert_detail::AppendFloat;
using convert_detail::AppendInterval;
using convert_detail::AppendTimeOfDay;
using convert_detail::AppendTimestamp;
using convert_detail::CanonicalDecimal;
using convert_detail::DateTimeParts;
using convert_detail::DaysFromCivil64;
using convert_detail::FitDecimalTypmod;
using convert_detail::IsCanonicalDecimal;
using convert_detail::IsSpace;
using convert_detail::Lower;
using convert_detail::Parse;
using convert_detail::ParseDateTime;
using convert_detail::ParseFloat;
using convert_detail::ParseInt64;
using convert_detail::ParseInterval;
using convert_detail::ReadTimeOfDay;
using convert_detail::ReadZone;
using convert_detail::TimestampMicros;
using convert_detail::Trim;

namespace {

// Long values are cut in messages so one bad 10 MB field cannot flood a reject file.
constexpr size_t kMaxQuotedChars = 60;

using Uuid = std::array<uint8_t, 16>;

// Messages end up in the ledger as text, so the quoted value is cut at a character boundary
// and its invalid UTF-8 bytes are escaped (PostgreSQL refuses invalid UTF-8 with 22021).
std::string Quoted(std::string_view text) {
    if (text.size() <= kMaxQuotedChars) {
        return fmt::format("'{}'", EscapeInvalidUtf8(text));
    }
    size_t cut = kMaxQuotedChars;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) {
        --cut;  // do not split a multi-byte character
    }
    return fmt::format("'{}...' ({} bytes)", EscapeInvalidUtf8(text.substr(0, cut)), text.size());
}

Status NotValid(std::string_view text, const DataType& type) {
    return Status::Invalid(fmt::format("{} is not a valid {}", Quoted(text), TypeName(type)));
}

Status OutOfRange(std::string_view text, const DataType& type) {
    return Status::Invalid(fmt::format("{} is out of range for {}", Quoted(text), TypeName(type)));
}

int HexValue(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// ---- bytes and uuid ---------------------------------------------------------------------

// PostgreSQL bytea input: "\x" hex, or the escape format where "\\" is a backslash and
// "\ooo" an octal byte; other bytes are taken as they are.
bool DecodeBytea(std::string_view s, std::string& out) {
    out.clear();
    if (s.size() >= 2 && s[0] == '\\' && (s[1] == 'x' || s[1] == 'X')) {
        out.reserve((s.size() - 2) / 2);
        for (size_t i = 2; i < s.size();) {
            if (IsSpace(s[i])) {
                ++i;
                continue;
            }
            if (i + 1 >= s.size()) {
                return false;
            }
            const int hi = HexValue(s[i]);
            const int lo = HexValue(s[i + 1]);
            if (hi < 0 || lo < 0) {
                return false;
            }
            out += static_cast<char>((hi << 4) | lo);
            i += 2;
        }
        return true;
    }
    if (s.find('\\') == std::string_view::npos) {
        out.assign(s);
        return true;
    }
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\') {
            out += s[i];
        } else if (i + 1 < s.size() && s[i + 1] == '\\') {
            out += '\\';
            ++i;
        } else if (i + 3 < s.size() + 0 && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
                   s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
            out += static_cast<char>(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) |
                                     (s[i + 3] - '0'));
            i += 3;
        } else {
            return false;
        }
    }
    return true;
}

// 32 hex digits, optionally in braces, with a hyphen allowed after any group of four.
bool ParseUuid(std::string_view s, Uuid& out) {
    s = Trim(s);
    if (!s.empty() && s.front() == '{') {
        if (s.back() != '}') {
            return false;
        }
        s = s.substr(1, s.size() - 2);
    }
    size_t nibbles = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '-') {
            if (nibbles == 0 || nibbles % 4 != 0 || nibbles == 32 || s[i - 1] == '-') {
                return false;
            }
            continue;
        }
        const int v = HexValue(s[i]);
        if (v < 0 || nibbles == 32) {
            return false;
        }
        if (nibbles % 2 == 0) {
            out[nibbles / 2] = static_cast<uint8_t>(v << 4);
        } else {
            out[nibbles / 2] |= static_cast<uint8_t>(v);
        }
        ++nibbles;
    }
    return nibbles == 32;
}

// PostgreSQL boolean input: any prefix of true/false/yes/no, on/off, 1/0, any case.
bool ParseBool(std::string_view s, bool& out) {
    s = Trim(s);
    if (s.empty() || s.size() > 5) {
        return false;
    }
    std::array<char, 5> lower{};
    for (size_t i = 0; i < s.size(); ++i) {
        lower[i] = Lower(s[i]);
    }
    const std::string_view v(lower.data(), s.size());
    auto prefix_of = [&v](std::string_view word) {
        return word.substr(0, v.size()) == v;
    };
    if (v == "1" || v == "on" || prefix_of("true") || prefix_of("yes")) {
        out = true;
        return true;
    }
    if (v == "0" || v == "of" || v == "off" || prefix_of("false") || prefix_of("no")) {
        out = false;
        return true;
    }
    return false;
}

template <class T>
Status AppendInteger(Column& column, std::string_view text) {
    int64_t value = 0;
    const Parse parse = ParseInt64(text, value);
    if (parse == Parse::kInvalid) {
        return NotValid(text, column.type());
    }
    if (parse == Parse::kOutOfRange || value < std::numeric_limits<T>::min() ||
        value > std::numeric_limits<T>::max()) {
        return OutOfRange(text, column.type());
    }
    column.Append<T>(static_cast<T>(value));
    return Status::Ok();
}

template <class F>
Status AppendFloating(Column& column, std::string_view text) {
    F value = 0;
    const Parse parse = ParseFloat(text, value);
    if (parse == Parse::kInvalid) {
        return NotValid(text, column.type());
    }
    if (parse == Parse::kOutOfRange) {
        return OutOfRange(text, column.type());
    }
    column.Append<F>(value);
    return Status::Ok();
}

}  // namespace

Status AppendParsed(Column& column, std::string_view text) {
    const DataType& type = column.type();
    switch (type.id) {
        case LogicalType::kBool: {
            bool value = false;
            if (!ParseBool(text, value)) {
                return NotValid(text, type);
            }
            column.Append<uint8_t>(value ? 1 : 0);
            return Status::Ok();
        }
        case LogicalType::kInt16:
            return AppendInteger<int16_t>(column, text);
        case LogicalType::kInt32:
            return AppendInteger<int32_t>(column, text);
        case LogicalType::kInt64:
            return AppendInteger<int64_t>(column, text);
        case LogicalType::kFloat32:
            return AppendFloating<float>(column, text);
        case LogicalType::kFloat64:
            return AppendFloating<double>(column, text);
        case LogicalType::kDecimal: {
            thread_local std::string canonical;
            std::string_view value = text;
            if (!IsCanonicalDecimal(text)) {
                const Parse parse = CanonicalDecimal(text, canonical);
                if (parse == Parse::kInvalid) {
                    return NotValid(text, type);
                }
                if (parse == Parse::kOutOfRange) {
                    return OutOfRange(text, type);
                }
                value = canonical;
            }
            if (type.precision > 0) {
                thread_local std::string rounded;
                if (!FitDecimalTypmod(value, type.precision, type.scale, rounded)) {
                    return Status::Invalid(fmt::format(
                        "{} does not fit {}: at most {} digit(s) before the point (numeric field "
                        "overflow)",
                        Quoted(text), TypeName(type), type.precision - type.scale));
                }
                value = rounded.empty() ? value : std::string_view(rounded);
            }
            column.AppendBytes(value);
            return Status::Ok();
        }
        case LogicalType::kText:
        case LogicalType::kJson:
        case LogicalType::kArray:
            column.AppendBytes(text);
            return Status::Ok();
        case LogicalType::kBytes: {
            if (text.find('\\') == std::string_view::npos) {
                column.AppendBytes(text);
                return Status::Ok();
            }
            thread_local std::string decoded;
            if (!DecodeBytea(text, decoded)) {
                return NotValid(text, type);
            }
            column.AppendBytes(decoded);
            return Status::Ok();
        }
        case LogicalType::kDate: {
            DateTimeParts parts;
            if (!ParseDateTime(text, parts)) {
                return NotValid(text, type);
            }
            if (parts.infinity != 0) {
                column.Append<int32_t>(parts.infinity > 0 ? INT32_MAX : INT32_MIN);
                return Status::Ok();
            }
            const int64_t days = DaysFromCivil64(parts.year, parts.month, parts.day);
            if (days >= INT32_MAX || days <= INT32_MIN) {
                return OutOfRange(text, type);
            }
            column.Append<int32_t>(static_cast<int32_t>(days));
            return Status::Ok();
        }
        case LogicalType::kTime: {
            const std::string_view s = Trim(text);
            size_t pos = 0;
            int64_t micros = 0;
            int64_t ignored_zone = 0;
            if (!ReadTimeOfDay(s, pos, micros)) {
                return NotValid(text, type);
            }
            while (pos < s.size() && s[pos] == ' ') {
                ++pos;
            }
            // Like PostgreSQL's time type, a zone is accepted and ignored.
            if (pos < s.size() && !ReadZone(s, pos, ignored_zone)) {
                return NotValid(text, type);
            }
            if (pos != s.size()) {
                return NotValid(text, type);
            }
            column.Append<int64_t>(micros);
            return Status::Ok();
        }
        case LogicalType::kTimestamp:
        case LogicalType::kTimestampTz: {
            DateTimeParts parts;
            if (!ParseDateTime(text, parts)) {
                return NotValid(text, type);
            }
            // timestamp without zone ignores a written zone, as PostgreSQL does.
            if (type.id == LogicalType::kTimestamp) {
                parts.zone_seconds = 0;
            }
            int64_t micros = 0;
            if (TimestampMicros(parts, micros) != Parse::kOk) {
                return OutOfRange(text, type);
            }
            column.Append<int64_t>(micros);
            return Status::Ok();
        }
        case LogicalType::kUuid: {
            Uuid uuid{};
            if (!ParseUuid(text, uuid)) {
                return NotValid(text, type);
            }
            column.Append(uuid);
            return Status::Ok();
        }
        case LogicalType::kInterval: {
            Interval interval;
            if (!ParseInterval(text, interval)) {
                return NotValid(text, type);
            }
            column.Append(interval);
            return Status::Ok();
        }
    }
    return NotValid(text, type);
}

void FormatValue(const Column& column, size_t row, std::string& out) {
    switch (column.type().id) {
        case LogicalType::kBool:
            out += column.Get<uint8_t>(row) != 0 ? 't' : 'f';
            return;
        case LogicalType::kInt16:
            fmt::format_to(std::back_inserter(out), "{}", column.Get<int16_t>(row));
            return;
        case LogicalType::kInt32:
            fmt::format_to(std::back_inserter(out), "{}", column.Get<int32_t>(row));
            return;
        case LogicalType::kInt64:
            fmt::format_to(std::back_inserter(out), "{}", column.Get<int64_t>(row));
            return;
        case LogicalType::kFloat32:
            AppendFloat(column.Get<float>(row), 6, out);
            return;
        case LogicalType::kFloat64:
            AppendFloat(column.Get<double>(row), 15, out);
            return;
        case LogicalType::kDecimal:
        case LogicalType::kText:
        case LogicalType::kJson:
        case LogicalType::kArray:
            out += column.GetBytes(row);
            return;
        case LogicalType::kBytes: {
            static constexpr std::string_view kHex = "0123456789abcdef";
            const std::string_view bytes = column.GetBytes(row);
            out.reserve(out.size() + 2 + bytes.size() * 2);
            out += "\\x";
            for (char c : bytes) {
                out += kHex[static_cast<uint8_t>(c) >> 4];
                out += kHex[static_cast<uint8_t>(c) & 15];
            }
            return;
        }
        case LogicalType::kDate: {
            const auto days = column.Get<int32_t>(row);
            if (days == INT32_MAX || days == INT32_MIN) {
                out += days == INT32_MAX ? "infinity" : "-infinity";
                return;
            }
            bool bc = false;
            AppendDate(days, out, bc);
            if (bc) {
                out += " BC";
            }
            return;
        }
        case LogicalType::kTime:
            AppendTimeOfDay(column.Get<int64_t>(row), out);
            return;
        case LogicalType::kTimestamp:
            AppendTimestamp(column.Get<int64_t>(row), false, out);
            return;
        case LogicalType::kTimestampTz:
            AppendTimestamp(column.Get<int64_t>(row), true, out);
            return;
        case LogicalType::kUuid: {
            const Uuid uuid = column.Get<Uuid>(row);
            for (size_t i = 0; i < uuid.size(); ++i) {
                if (i == 4 || i == 6 || i == 8 || i == 10) {
                    out += '-';
                }
                fmt::format_to(std::back_inserter(out), "{:02x}", uuid[i]);
            }
            return;
        }
        case LogicalType::kInterval:
            AppendInterval(column.Get<Interval>(row), out);
            return;
    }
}

std::string FormatValue(const Column& column, size_t row) {
    std::string out;
    FormatValue(column, row, out);
    return out;
}

std::string RowJson(std::span<const Column* const> columns, std::span<const std::string> names, size_t row) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (size_t c = 0; c < columns.size(); ++c) {
        const Column& column = *columns[c];
        const std::string name = c < names.size() ? names[c] : fmt::format("column{}", c + 1);
        if (column.IsNull(row)) {
            out[name] = nullptr;
            continue;
        }
        switch (column.type().id) {
            case LogicalType::kBool:
                out[name] = column.Get<uint8_t>(row) != 0;
                break;
            case LogicalType::kInt16:
                out[name] = column.Get<int16_t>(row);
                break;
            case LogicalType::kInt32:
                out[name] = column.Get<int32_t>(row);
                break;
            case LogicalType::kInt64:
                out[name] = column.Get<int64_t>(row);
                break;
            default: {
                // Text from a source that does not check encodings (SQLite, files read as
                // text) may hold any bytes; the reject must stay valid UTF-8 text.
                std::string text = FormatValue(column, row);
                out[name] = FindInvalidUtf8(text) == std::string::npos ? std::move(text) : EscapeInvalidUtf8(text);
            }
        }
    }
    return out.dump();
}

std::string RowJson(const Batch& batch, size_t row) {
    std::vector<const Column*> columns;
    std::vector<std::string> names;
    columns.reserve(batch.columns.size());
    for (size_t c = 0; c < batch.columns.size(); ++c) {
        columns.push_back(&batch.columns[c]);
        names.push_back(c < batch.schema.fields.size() ? batch.schema.fields[c].name : "");
    }
    return RowJson(columns, names, row);
}

}  // namespace sluice
