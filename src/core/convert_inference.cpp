// Type inference: the narrowest column type that every sampled value fits.

#include <algorithm>
#include <array>
#include <iterator>

#include "core/convert.hpp"
#include "core/convert_detail.hpp"

namespace sluice {

using convert_detail::DateTimeParts;
using convert_detail::EqualsNoCase;
using convert_detail::IsDigit;
using convert_detail::Parse;
using convert_detail::ParseDateTime;
using convert_detail::ParseFloat;
using convert_detail::ParseInt64;
using convert_detail::Trim;

namespace {

// Inference is stricter than AppendParsed: a value must look like the type, not merely be
// accepted by it. Leading zeros ("007", zip codes) and padding keep a column text, because
// converting them would lose what the file says.
bool LooksInteger(std::string_view s) {
    const size_t digits = s.starts_with('-') ? 1 : 0;
    if (s.size() == digits || (s[digits] == '0' && s.size() > digits + 1)) {
        return false;
    }
    int64_t value = 0;
    return ParseInt64(s, value) == Parse::kOk && Trim(s).size() == s.size();
}

bool LooksFloat(std::string_view s) {
    const size_t start = s.starts_with('-') ? 1 : 0;
    if (s.size() == start || !(IsDigit(s[start]) || s[start] == '.')) {
        return false;
    }
    if (s[start] == '0' && s.size() > start + 1 && IsDigit(s[start + 1])) {
        return false;
    }
    double value = 0;
    return ParseFloat(s, value) == Parse::kOk && Trim(s).size() == s.size();
}

bool LooksBool(std::string_view s) {
    static constexpr std::array<std::string_view, 6> kWords = {"true", "false", "t",
                                                               "f",    "yes",   "no"};
    return std::any_of(std::begin(kWords), std::end(kWords),
                       [s](std::string_view w) { return EqualsNoCase(s, w); });
}

}  // namespace

void TypeInferrer::Observe(std::string_view text) {
    seen_ = true;
    if (can_bool_ && !LooksBool(text)) {
        can_bool_ = false;
    }
    if (can_int_ && !LooksInteger(text)) {
        can_int_ = false;
    }
    if (can_float_ && !LooksFloat(text)) {
        can_float_ = false;
    }
    if (can_date_ || can_timestamp_ || can_timestamptz_) {
        DateTimeParts parts;
        // A four-digit year first, so "1-2-3" or "12-05-2024" stay text.
        const bool ok = text.size() >= 8 && IsDigit(text[0]) && IsDigit(text[1]) &&
                        IsDigit(text[2]) && IsDigit(text[3]) && text[4] == '-' &&
                        Trim(text).size() == text.size() && ParseDateTime(text, parts);
        can_date_ = can_date_ && ok && !parts.has_time;
        can_timestamp_ = can_timestamp_ && ok && !parts.has_zone;
        can_timestamptz_ = can_timestamptz_ && ok && parts.has_zone;
    }
}

DataType TypeInferrer::Result() const {
    if (!seen_) {
        return MakeType(LogicalType::kText);
    }
    if (can_int_) {
        return MakeType(LogicalType::kInt64);
    }
    if (can_float_) {
        return MakeType(LogicalType::kFloat64);
    }
    if (can_bool_) {
        return MakeType(LogicalType::kBool);
    }
    if (can_date_) {
        return MakeType(LogicalType::kDate);
    }
    if (can_timestamp_) {
        return MakeType(LogicalType::kTimestamp);
    }
    if (can_timestamptz_) {
        return MakeType(LogicalType::kTimestampTz);
    }
    return MakeType(LogicalType::kText);
}

}  // namespace sluice
