#include "connectors/postgres/pg_array.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "connectors/postgres/pg_values.hpp"
#include "core/convert.hpp"

namespace sluice::pg {

namespace {

constexpr int kMaxDims = 6;  // PostgreSQL's MAXDIM

bool IsArraySpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// array_out quotes an element when it is empty, reads as NULL, or holds a character that
// has a meaning in the literal.
bool NeedsQuotes(std::string_view text) {
    if (text.empty()) {
        return true;
    }
    if (text.size() == 4 && (text[0] | 0x20) == 'n' && (text[1] | 0x20) == 'u' &&
        (text[2] | 0x20) == 'l' && (text[3] | 0x20) == 'l') {
        return true;
    }
    for (char c : text) {
        if (c == '"' || c == '\\' || c == '{' || c == '}' || c == ',' || IsArraySpace(c)) {
            return true;
        }
    }
    return false;
}

void AppendElement(std::string_view text, std::string& out) {
    if (!NeedsQuotes(text)) {
        out += text;
        return;
    }
    out += '"';
    for (char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    out += '"';
}

// The parsed shape of an array literal: elements in row-major order, NULL as nullopt.
struct ParsedArray {
    int ndim = 0;
    std::array<int, kMaxDims> dims{};
    std::array<int, kMaxDims> lbounds{1, 1, 1, 1, 1, 1};
    bool explicit_bounds = false;
    std::vector<std::optional<std::string>> items;
};

class ArrayParser {
public:
    explicit ArrayParser(std::string_view text) : s_(text) {}

    Status Parse(ParsedArray& out) {
        SkipSpace();
        if (Peek() == '[' && !ParseBounds(out)) {
            return Fail("malformed dimension bounds");
        }
        SkipSpace();
        dims_.fill(-1);
        leaf_depth_ = -1;
        if (!ParseLevel(0, out)) {
            return Fail(error_.empty() ? "malformed array literal" : error_);
        }
        SkipSpace();
        if (pos_ != s_.size()) {
            return Fail("junk after closing right brace");
        }
        const int ndim = leaf_depth_ + 1;
        if (out.explicit_bounds && out.ndim != ndim && !out.items.empty()) {
            return Fail("dimension bounds do not match the array's nesting");
        }
        for (int d = 0; d < ndim; ++d) {
            if (out.explicit_bounds && out.dims[d] != dims_[d]) {
                return Fail("dimension bounds do not match the number of elements");
            }
            out.dims[d] = dims_[d];
        }
        out.ndim = out.items.empty() ? 0 : ndim;
        return Status::Ok();
    }

private:
    char Peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
    void SkipSpace() {
        while (pos_ < s_.size() && IsArraySpace(s_[pos_])) {
            ++pos_;
        }
    }
    Status Fail(std::string_view why) const {
        return Status::Invalid(fmt::format("'{}' is not a valid array literal: {}",
                                           s_.substr(0, 60), why));
    }

    bool ReadInt(int& value) {
        const size_t start = pos_;
        const bool negative = Peek() == '-';
        if (negative || Peek() == '+') {
            ++pos_;
        }
        int v = 0;
        while (Peek() >= '0' && Peek() <= '9' && v < 100000000) {
            v = v * 10 + (s_[pos_++] - '0');
        }
        value = negative ? -v : v;
        return pos_ > start + (negative ? 1 : 0);
    }

    bool ParseBounds(ParsedArray& out) {
        out.explicit_bounds = true;
        while (Peek() == '[') {
            if (out.ndim >= kMaxDims) {
                return false;
            }
            ++pos_;
            int lower = 1;
            int upper = 0;
            if (!ReadInt(upper)) {
                return false;
            }
            if (Peek() == ':') {
                ++pos_;
                lower = upper;
                if (!ReadInt(upper)) {
                    return false;
                }
            }
            if (Peek() != ']' || upper < lower - 1) {
                return false;
            }
            ++pos_;
            out.lbounds[out.ndim] = lower;
            out.dims[out.ndim] = upper - lower + 1;
            ++out.ndim;
        }
        SkipSpace();
        if (Peek() != '=') {
            return false;
        }
        ++pos_;
        return true;
    }

    bool ParseLevel(int depth, ParsedArray& out) {
        if (depth >= kMaxDims || Peek() != '{') {
            return false;
        }
        ++pos_;
        SkipSpace();
        int count = 0;
        if (Peek() == '}') {
            ++pos_;
            return depth == 0;  // only the whole array may be empty
        }
        for (;;) {
            SkipSpace();
            if (Peek() == '{') {
                if (leaf_depth_ >= 0 && leaf_depth_ <= depth) {
                    return false;
                }
                if (!ParseLevel(depth + 1, out)) {
                    return false;
                }
            } else {
                if (leaf_depth_ >= 0 && leaf_depth_ != depth) {
                    return false;
                }
                leaf_depth_ = depth;
                if (!ParseElement(out)) {
                    return false;
                }
            }
            ++count;
            SkipSpace();
            if (Peek() == ',') {
                ++pos_;
                continue;
            }
            if (Peek() == '}') {
                ++pos_;
                break;
            }
            return false;
        }
        if (dims_[depth] < 0) {
            dims_[depth] = count;
        } else if (dims_[depth] != count) {
            error_ = "sub-arrays must have matching dimensions";
            return false;
        }
        return true;
    }

    bool ParseElement(ParsedArray& out) {
        std::string value;
        bool quoted = false;
        bool escaped = false;
        size_t keep = 0;  // length that must survive trailing-space trimming
        if (Peek() == '"') {
            quoted = true;
            ++pos_;
            for (;;) {
                if (pos_ >= s_.size()) {
                    return false;
                }
                char c = s_[pos_++];
                if (c == '\\') {
                    if (pos_ >= s_.size()) {
                        return false;
                    }
                    c = s_[pos_++];
                } else if (c == '"') {
                    break;
                }
                value += c;
            }
        } else {
            while (pos_ < s_.size()) {
                char c = s_[pos_];
                if (c == ',' || c == '}') {
                    break;
                }
                if (c == '{' || c == '"') {
                    return false;
                }
                ++pos_;
                if (c == '\\') {
                    if (pos_ >= s_.size()) {
                        return false;
                    }
                    c = s_[pos_++];
                    escaped = true;
                    value += c;
                    keep = value.size();
                    continue;
                }
                value += c;
            }
            while (value.size() > keep && IsArraySpace(value.back())) {
                value.pop_back();
            }
            if (value.empty() && !escaped) {
                return false;  // an unquoted empty element is not allowed
            }
        }
        if (!quoted && !escaped && value.size() == 4 && (value[0] | 0x20) == 'n' &&
            (value[1] | 0x20) == 'u' && (value[2] | 0x20) == 'l' && (value[3] | 0x20) == 'l') {
            out.items.emplace_back(std::nullopt);
        } else {
            out.items.emplace_back(std::move(value));
        }
        return true;
    }

    std::string_view s_;
    size_t pos_ = 0;
    std::array<int, kMaxDims> dims_{};
    int leaf_depth_ = -1;
    std::string error_;
};

}  // namespace

Status ArrayToText(std::string_view binary, Wire element_wire, Column& scratch, std::string& out) {
    const char* p = binary.data();
    const char* end = p + binary.size();
    if (binary.size() < 12) {
        return Status::Invalid("malformed binary array (short header)");
    }
    const int32_t ndim = ReadI32(p);
    if (ndim < 0 || ndim > kMaxDims || binary.size() < 12 + 8 * static_cast<size_t>(ndim)) {
        return Status::Invalid("malformed binary array (dimensions)");
    }
    p += 12;  // ndim, has-null flag, element oid
    if (ndim == 0) {
        out += "{}";
        return Status::Ok();
    }
    std::array<int32_t, kMaxDims> dims{};
    std::array<int32_t, kMaxDims> lbounds{};
    int64_t total = 1;
    bool default_bounds = true;
    for (int d = 0; d < ndim; ++d) {
        dims[d] = ReadI32(p);
        lbounds[d] = ReadI32(p + 4);
        p += 8;
        if (dims[d] < 0) {
            return Status::Invalid("malformed binary array (negative dimension)");
        }
        // A malformed stream could name bounds past int32 or a total past int64: refuse them
        // before computing with them.
        const int64_t upper = static_cast<int64_t>(lbounds[d]) + dims[d] - 1;
        if (upper > INT32_MAX || upper < INT32_MIN ||
            (dims[d] > 0 && total > INT64_MAX / dims[d])) {
            return Status::Invalid("malformed binary array (dimensions out of range)");
        }
        total *= dims[d];
        default_bounds = default_bounds && lbounds[d] == 1;
    }
    if (!default_bounds) {
        for (int d = 0; d < ndim; ++d) {
            fmt::format_to(std::back_inserter(out), "[{}:{}]", lbounds[d],
                           static_cast<int64_t>(lbounds[d]) + dims[d] - 1);
        }
        out += '=';
    }
    std::array<int32_t, kMaxDims> index{};
    out.append(static_cast<size_t>(ndim), '{');
    std::string text;
    for (int64_t e = 0; e < total; ++e) {
        if (e > 0) {
            // Advance the row-major index; every dimension that wraps closes and reopens a brace.
            int closes = 0;
            for (int d = ndim - 1; d >= 0; --d) {
                if (++index[d] < dims[d]) {
                    break;
                }
                index[d] = 0;
                ++closes;
            }
            out.append(static_cast<size_t>(closes), '}');
            out += ',';
            out.append(static_cast<size_t>(closes), '{');
        }
        if (end - p < 4) {
            return Status::Invalid("malformed binary array (truncated)");
        }
        const int32_t len = ReadI32(p);
        p += 4;
        if (len < 0) {
            out += "NULL";
            continue;
        }
        if (end - p < len) {
            return Status::Invalid("malformed binary array (truncated element)");
        }
        scratch.Clear();
        Status s = DecodeScalar(element_wire, std::string_view(p, static_cast<size_t>(len)), scratch);
        if (!s.ok()) {
            return s;
        }
        p += len;
        text.clear();
        FormatValue(scratch, 0, text);
        AppendElement(text, out);
    }
    out.append(static_cast<size_t>(ndim), '}');
    return Status::Ok();
}

Status TextToArray(std::string_view text, Oid element_oid, Wire element_wire, Column& scratch,
                   WireBuffer& out) {
    ParsedArray parsed;
    if (Status s = ArrayParser(text).Parse(parsed); !s.ok()) {
        return s;
    }
    const size_t start = out.size();
    out.AppendI32(0);  // length, patched below
    bool has_null = false;
    for (const auto& item : parsed.items) {
        has_null = has_null || !item;
    }
    out.AppendI32(parsed.ndim);
    out.AppendI32(has_null ? 1 : 0);
    out.AppendI32(static_cast<int32_t>(element_oid));
    for (int d = 0; d < parsed.ndim; ++d) {
        out.AppendI32(parsed.dims[d]);
        out.AppendI32(parsed.lbounds[d]);
    }
    for (const auto& item : parsed.items) {
        if (!item) {
            out.AppendI32(-1);
            continue;
        }
        scratch.Clear();
        Status s = AppendParsed(scratch, *item);
        if (s.ok()) {
            s = EncodeScalar(element_wire, scratch, 0, out);
        }
        if (!s.ok()) {
            out.Truncate(start);
            return Status::Invalid(fmt::format("array element: {}", s.message()));
        }
    }
    out.PatchI32(start, static_cast<int32_t>(out.size() - start - 4));
    return Status::Ok();
}

}  // namespace sluice::pg
