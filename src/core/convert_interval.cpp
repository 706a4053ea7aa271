// Intervals: PostgreSQL's input styles plus ISO 8601, and IntervalStyle 'postgres' output.

#include <algorithm>
#include <array>
#include <iterator>

#include <fmt/format.h>

#include "core/convert_detail.hpp"

namespace sluice::convert_detail {

namespace {

enum class Unit {
    kMicro,
    kMilli,
    kSecond,
    kMinute,
    kHour,
    kDay,
    kWeek,
    kMonth,
    kYear,
    kDecade,
    kCentury,
    kMillennium
};

struct UnitName {
    std::string_view name;
    Unit unit;
};

constexpr auto kUnits = std::to_array<UnitName>({
    {"microsecond", Unit::kMicro},
    {"microseconds", Unit::kMicro},
    {"us", Unit::kMicro},
    {"usec", Unit::kMicro},
    {"usecs", Unit::kMicro},
    {"millisecond", Unit::kMilli},
    {"milliseconds", Unit::kMilli},
    {"ms", Unit::kMilli},
    {"msec", Unit::kMilli},
    {"msecs", Unit::kMilli},
    {"second", Unit::kSecond},
    {"seconds", Unit::kSecond},
    {"sec", Unit::kSecond},
    {"secs", Unit::kSecond},
    {"s", Unit::kSecond},
    {"minute", Unit::kMinute},
    {"minutes", Unit::kMinute},
    {"min", Unit::kMinute},
    {"mins", Unit::kMinute},
    {"m", Unit::kMinute},
    {"hour", Unit::kHour},
    {"hours", Unit::kHour},
    {"hr", Unit::kHour},
    {"hrs", Unit::kHour},
    {"h", Unit::kHour},
    {"day", Unit::kDay},
    {"days", Unit::kDay},
    {"d", Unit::kDay},
    {"week", Unit::kWeek},
    {"weeks", Unit::kWeek},
    {"w", Unit::kWeek},
    {"mon", Unit::kMonth},
    {"mons", Unit::kMonth},
    {"month", Unit::kMonth},
    {"months", Unit::kMonth},
    {"year", Unit::kYear},
    {"years", Unit::kYear},
    {"yr", Unit::kYear},
    {"yrs", Unit::kYear},
    {"y", Unit::kYear},
    {"decade", Unit::kDecade},
    {"decades", Unit::kDecade},
    {"century", Unit::kCentury},
    {"centuries", Unit::kCentury},
    {"millennium", Unit::kMillennium},
    {"millennia", Unit::kMillennium},
});

// Sums interval parts with overflow detection; fractions of a unit spill into smaller units
// the way PostgreSQL does (months of 30 days, days of 24 hours).
struct IntervalSum {
    int64_t months = 0;
    int64_t days = 0;
    int64_t micros = 0;
    bool ok = true;

    void Add(int64_t& field, int64_t a, int64_t b) {
        int64_t product = 0;
        ok = ok && !__builtin_mul_overflow(a, b, &product) &&
             !__builtin_add_overflow(field, product, &field);
    }
    // `fraction` is millionths of one unit (0..999999).
    void Apply(Unit unit, int64_t sign, int64_t whole, int64_t fraction) {
        switch (unit) {
            case Unit::kMicro:
                Add(micros, sign, whole + (fraction >= 500000 ? 1 : 0));
                break;
            case Unit::kMilli:
                Add(micros, sign, whole * 1000 + (fraction + 500) / 1000);
                break;
            case Unit::kSecond:
                Add(micros, sign * kMicrosPerSecond, whole), Add(micros, sign, fraction);
                break;
            case Unit::kMinute:
                Add(micros, sign * kMicrosPerMinute, whole), Add(micros, sign * 60, fraction);
                break;
            case Unit::kHour:
                Add(micros, sign * kMicrosPerHour, whole), Add(micros, sign * 3600, fraction);
                break;
            case Unit::kDay:
                Add(days, sign, whole), Add(micros, sign * 86400, fraction);
                break;
            case Unit::kWeek:
                SpillDays(sign, whole, fraction, 7);
                break;
            case Unit::kMonth:
                Add(months, sign, whole);
                Add(days, sign, fraction * 30 / kMicrosPerSecond);
                Add(micros, sign * 86400, fraction * 30 % kMicrosPerSecond);
                break;
            case Unit::kYear:
                Years(sign, whole, fraction, 1);
                break;
            case Unit::kDecade:
                Years(sign, whole, fraction, 10);
                break;
            case Unit::kCentury:
                Years(sign, whole, fraction, 100);
                break;
            case Unit::kMillennium:
                Years(sign, whole, fraction, 1000);
                break;
        }
    }
    void SpillDays(int64_t sign, int64_t whole, int64_t fraction, int64_t per_unit) {
        Add(days, sign * per_unit, whole);
        Add(days, sign, fraction * per_unit / kMicrosPerSecond);
        Add(micros, sign * 86400, fraction * per_unit % kMicrosPerSecond);
    }
    void Years(int64_t sign, int64_t whole, int64_t fraction, int64_t factor) {
        Add(months, sign * 12 * factor, whole);
        Add(months, sign, (fraction * 12 * factor + kMicrosPerSecond / 2) / kMicrosPerSecond);
    }
};

// [+-]digits[.digits]; `fraction` in millionths.
bool ReadSignedNumber(std::string_view s, size_t& pos, int64_t& sign, int64_t& whole,
                      int64_t& fraction) {
    sign = 1;
    if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
        sign = s[pos] == '-' ? -1 : 1;
        ++pos;
    }
    const size_t begin = pos;
    whole = 0;
    for (; pos < s.size() && IsDigit(s[pos]); ++pos) {
        if (__builtin_mul_overflow(whole, 10, &whole) ||
            __builtin_add_overflow(whole, s[pos] - '0', &whole)) {
            return false;
        }
    }
    fraction = 0;
    bool had_digits = pos > begin;
    if (pos < s.size() && s[pos] == '.') {
        had_digits = ReadFraction(s, ++pos, fraction) || had_digits;
    }
    return had_digits;
}

bool ParseIsoInterval(std::string_view s, IntervalSum& sum) {
    size_t pos = 1;  // past 'P'
    bool in_time = false;
    bool any = false;
    while (pos < s.size()) {
        if (s[pos] == 'T' || s[pos] == 't') {
            in_time = true;
            ++pos;
            continue;
        }
        int64_t sign = 1, whole = 0, fraction = 0;
        if (!ReadSignedNumber(s, pos, sign, whole, fraction) || pos >= s.size()) {
            return false;
        }
        const char designator = static_cast<char>(s[pos] & ~0x20);  // upper case
        ++pos;
        Unit unit;
        switch (designator) {
            case 'Y':
                unit = Unit::kYear;
                break;
            case 'M':
                unit = in_time ? Unit::kMinute : Unit::kMonth;
                break;
            case 'W':
                unit = Unit::kWeek;
                break;
            case 'D':
                unit = Unit::kDay;
                break;
            case 'H':
                unit = Unit::kHour;
                break;
            case 'S':
                unit = Unit::kSecond;
                break;
            default:
                return false;
        }
        sum.Apply(unit, sign, whole, fraction);
        any = true;
    }
    return any;
}

// A clock token "[+-]H:MM[:SS[.f]]" with any number of hours.
bool ReadClockToken(std::string_view s, size_t& pos, IntervalSum& sum) {
    int64_t sign = 1;
    int64_t hours = 0;
    int64_t fraction = 0;
    int64_t minutes = 0;
    int64_t seconds = 0;
    if (!ReadSignedNumber(s, pos, sign, hours, fraction) || fraction != 0 || s[pos] != ':' ||
        !ReadNumber(s, ++pos, 1, 2, minutes)) {
        return false;
    }
    if (pos < s.size() && s[pos] == ':') {
        if (!ReadNumber(s, ++pos, 1, 2, seconds)) {
            return false;
        }
        if (pos < s.size() && s[pos] == '.' && !ReadFraction(s, ++pos, fraction)) {
            return false;
        }
    }
    if (minutes > 59 || seconds > 59) {
        return false;
    }
    sum.Apply(Unit::kHour, sign, hours, 0);
    sum.Apply(Unit::kSecond, sign, minutes * 60 + seconds, fraction);
    return true;
}

// A quantity token "[+-]N[.f] [unit]"; a bare number counts seconds, as in PostgreSQL.
bool ReadUnitToken(std::string_view s, size_t& pos, IntervalSum& sum) {
    int64_t sign = 1;
    int64_t whole = 0;
    int64_t fraction = 0;
    if (!ReadSignedNumber(s, pos, sign, whole, fraction)) {
        return false;
    }
    while (pos < s.size() && IsSpace(s[pos])) {
        ++pos;
    }
    const size_t word = pos;
    while (pos < s.size() && ((s[pos] | 0x20) >= 'a' && (s[pos] | 0x20) <= 'z')) {
        ++pos;
    }
    Unit unit = Unit::kSecond;
    if (pos > word) {
        const std::string_view name = s.substr(word, pos - word);
        const auto* found = std::find_if(kUnits.begin(), kUnits.end(), [&](const UnitName& u) {
            return EqualsNoCase(u.name, name);
        });
        if (found == kUnits.end()) {
            return false;
        }
        unit = found->unit;
    }
    sum.Apply(unit, sign, whole, fraction);
    return true;
}

// PostgreSQL output styles "1 year 2 mons -3 days +04:05:06.5" and "@ 1 day 2 hours ago".
bool ParsePostgresInterval(std::string_view s, IntervalSum& sum) {
    size_t pos = (!s.empty() && s.front() == '@') ? 1 : 0;
    bool any = false;
    bool ago = false;
    while (true) {
        while (pos < s.size() && IsSpace(s[pos])) {
            ++pos;
        }
        if (pos >= s.size()) {
            break;
        }
        if (ago) {
            return false;  // "ago" must come last
        }
        if (EqualsNoCase(s.substr(pos, 3), "ago") && (pos + 3 == s.size() || IsSpace(s[pos + 3]))) {
            ago = true;
            pos += 3;
            continue;
        }
        size_t colon = pos + ((s[pos] == '+' || s[pos] == '-') ? 1 : 0);
        while (colon < s.size() && IsDigit(s[colon])) {
            ++colon;
        }
        const bool clock = colon < s.size() && s[colon] == ':';
        if (!(clock ? ReadClockToken(s, pos, sum) : ReadUnitToken(s, pos, sum))) {
            return false;
        }
        any = true;
    }
    if (ago) {
        sum.months = -sum.months;
        sum.days = -sum.days;
        sum.micros = -sum.micros;
    }
    return any;
}

}  // namespace

// PostgreSQL's output styles, plus ISO 8601 "P1Y2M3DT4H5M6S".
bool ParseInterval(std::string_view text, Interval& out) {
    const std::string_view s = Trim(text);
    IntervalSum sum;
    const bool iso = !s.empty() && (s.front() == 'P' || s.front() == 'p');
    if (!(iso ? ParseIsoInterval(s, sum) : ParsePostgresInterval(s, sum))) {
        return false;
    }
    if (!sum.ok || sum.months > INT32_MAX || sum.months < INT32_MIN || sum.days > INT32_MAX ||
        sum.days < INT32_MIN) {
        return false;
    }
    out.months = static_cast<int32_t>(sum.months);
    out.days = static_cast<int32_t>(sum.days);
    out.micros = sum.micros;
    return true;
}

// PostgreSQL's IntervalStyle 'postgres' (EncodeInterval): a '+' marks a positive field that
// follows a negative one so the text reads back to the same three parts.
void AppendInterval(const Interval& v, std::string& out) {
    bool is_zero = true;
    bool is_before = false;
    auto part = [&](int64_t value, std::string_view unit) {
        if (value == 0) {
            return;
        }
        fmt::format_to(std::back_inserter(out), "{}{}{} {}{}", is_zero ? "" : " ",
                       is_before && value > 0 ? "+" : "", value, unit, value != 1 ? "s" : "");
        is_before = value < 0;
        is_zero = false;
    };
    part(v.months / 12, "year");
    part(v.months % 12, "mon");
    part(v.days, "day");
    if (is_zero || v.micros != 0) {
        const bool minus = v.micros < 0;
        // Magnitude as unsigned so INT64_MIN does not overflow.
        const uint64_t magnitude =
            minus ? 0 - static_cast<uint64_t>(v.micros) : static_cast<uint64_t>(v.micros);
        const uint64_t seconds = magnitude / kMicrosPerSecond;
        fmt::format_to(std::back_inserter(out), "{}{}{:02}:{:02}:{:02}", is_zero ? "" : " ",
                       minus ? "-" : (is_before ? "+" : ""), seconds / 3600, seconds / 60 % 60,
                       seconds % 60);
        AppendSecondFraction(magnitude % kMicrosPerSecond, out);
    }
}

}  // namespace sluice::convert_detail
