#pragma once

// Helpers shared by the files that implement core/convert.hpp: convert.cpp (dispatch by type,
// bool, bytea, uuid), convert_numeric.cpp, convert_datetime.cpp, convert_interval.cpp and
// convert_inference.cpp. Internal to them; everything else includes core/convert.hpp.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/types.hpp"

namespace sluice::convert_detail {

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kMicrosPerMinute = 60 * kMicrosPerSecond;
constexpr int64_t kMicrosPerHour = 60 * kMicrosPerMinute;
constexpr int64_t kMicrosPerDay = 24 * kMicrosPerHour;

inline bool IsSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
inline bool IsDigit(char c) {
    return c >= '0' && c <= '9';
}
inline char Lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string_view Trim(std::string_view s) {
    while (!s.empty() && IsSpace(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && IsSpace(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

inline bool EqualsNoCase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (size_t i = 0; i < a.size(); ++i) {
        if (Lower(a[i]) != Lower(b[i])) {
            return false;
        }
    }
    return true;
}

enum class Parse { kOk, kInvalid, kOutOfRange };

// ---- numbers (convert_numeric.cpp) --------------------------------------------------------

/// Decimal int64 with an optional sign; surrounding whitespace is ignored.
Parse ParseInt64(std::string_view s, int64_t& out);
/// Decimal float, or infinity/inf/nan in any case. Instantiated for float and double.
template <class F>
Parse ParseFloat(std::string_view s, F& out);
/// Any numeric spelling rewritten to the text PostgreSQL prints for it.
Parse CanonicalDecimal(std::string_view s, std::string& out);
/// True when `s` is already how PostgreSQL prints a numeric.
bool IsCanonicalDecimal(std::string_view s);
/// Applies numeric(precision, scale) to a canonical decimal as PostgreSQL does: more fraction
/// digits than `scale` round half away from zero (the result goes to `rounded`, which stays
/// empty when `canonical` needs no change); false when the integer part then has more than
/// precision - scale digits, or the value is an infinity. NaN fits.
bool FitDecimalTypmod(std::string_view canonical, int precision, int scale, std::string& rounded);
/// PostgreSQL's float text output. Instantiated for float and double.
template <class F>
void AppendFloat(F value, int fixed_limit, std::string& out);

// ---- dates and times (convert_datetime.cpp) ------------------------------------------------

/// DaysFromCivil without the narrowing to int32, for range checks.
int64_t DaysFromCivil64(int64_t y, unsigned m, unsigned d);
/// Reads min_digits..max_digits digits at `pos`; fails if more digits follow.
bool ReadNumber(std::string_view s, size_t& pos, size_t min_digits, size_t max_digits,
                int64_t& value);
/// Reads the digits after a decimal point as microseconds.
bool ReadFraction(std::string_view s, size_t& pos, int64_t& micros);
/// HH:MM[:SS[.ffffff]] at `pos`, as microseconds since midnight.
bool ReadTimeOfDay(std::string_view s, size_t& pos, int64_t& micros);
/// A zone (Z, UTC, GMT, or a signed offset) at `pos`, as seconds east of UTC.
bool ReadZone(std::string_view s, size_t& pos, int64_t& offset_seconds);

struct DateTimeParts {
    int infinity = 0;  ///< +1 / -1 for 'infinity' / '-infinity'
    int64_t year = 0;  ///< astronomical: 1 BC is 0
    unsigned month = 1;
    unsigned day = 1;
    bool has_time = false;
    int64_t time = 0;
    bool has_zone = false;
    int64_t zone_seconds = 0;
};

/// A date or timestamp, with optional time, zone and era.
bool ParseDateTime(std::string_view text, DateTimeParts& p);
/// Micros since the epoch for parsed parts.
Parse TimestampMicros(const DateTimeParts& p, int64_t& out);
/// YYYY-MM-DD of a day number; `bc` says whether " BC" must follow.
void AppendDate(int64_t days, std::string& out, bool& bc);
/// HH:MM:SS[.ffffff] of microseconds since midnight.
void AppendTimeOfDay(int64_t micros, std::string& out);
/// ".f" for a nonzero fraction of a second in microseconds, without trailing zeros ("" for 0).
void AppendSecondFraction(uint64_t fraction_micros, std::string& out);
/// PostgreSQL's timestamp text output, "+00" appended when `with_zone`.
void AppendTimestamp(int64_t micros, bool with_zone, std::string& out);

// ---- intervals (convert_interval.cpp) ------------------------------------------------------

/// PostgreSQL's interval input styles and ISO 8601; false when invalid or out of range.
bool ParseInterval(std::string_view text, Interval& out);
/// PostgreSQL's interval text output.
void AppendInterval(const Interval& v, std::string& out);

}  // namespace sluice::convert_detail
