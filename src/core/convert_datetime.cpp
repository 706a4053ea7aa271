// Dates, times and timestamps: PostgreSQL's text input and output, and the civil calendar.

#include <array>
#include <iterator>
#include <limits>

#include <fmt/format.h>

#include "core/convert.hpp"
#include "core/convert_detail.hpp"

namespace sluice::convert_detail {

namespace {

bool IsLeap(int64_t y) {
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

unsigned DaysInMonth(int64_t y, unsigned m) {
    static constexpr std::array<unsigned, 12> kDays = {31, 28, 31, 30, 31, 30,
                                                       31, 31, 30, 31, 30, 31};
    return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

int64_t FloorDiv(int64_t a, int64_t b) {
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

}  // namespace

int64_t DaysFromCivil64(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2 ? 1 : 0;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * static_cast<int64_t>(m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

bool ReadNumber(std::string_view s, size_t& pos, size_t min_digits, size_t max_digits,
                int64_t& value) {
    size_t n = 0;
    value = 0;
    while (pos < s.size() && IsDigit(s[pos]) && n < max_digits) {
        value = value * 10 + (s[pos] - '0');
        ++pos;
        ++n;
    }
    return n >= min_digits && !(pos < s.size() && IsDigit(s[pos]));
}

// The value of the `count` digits at `at` (the caller has checked they are digits).
int64_t Digits(std::string_view s, size_t at, size_t count) {
    int64_t value = 0;
    for (size_t i = at; i < at + count; ++i) {
        value = value * 10 + (s[i] - '0');
    }
    return value;
}

bool DigitsAt(std::string_view s, size_t at, size_t count) {
    for (size_t i = at; i < at + count; ++i) {
        if (!IsDigit(s[i])) {
            return false;
        }
    }
    return true;
}

// YYYY-MM-DD at the start, not followed by another digit.
bool IsIsoDate(std::string_view s) {
    return s.size() >= 10 && DigitsAt(s, 0, 4) && s[4] == '-' && DigitsAt(s, 5, 2) && s[7] == '-' &&
           DigitsAt(s, 8, 2) && (s.size() == 10 || !IsDigit(s[10]));
}

// HH:MM:SS at `pos`, not followed by another digit.
bool IsIsoTime(std::string_view s, size_t pos) {
    return s.size() >= pos + 8 && DigitsAt(s, pos, 2) && s[pos + 2] == ':' && DigitsAt(s, pos + 3, 2) &&
           s[pos + 5] == ':' && DigitsAt(s, pos + 6, 2) && (s.size() == pos + 8 || !IsDigit(s[pos + 8]));
}

// Reads the digits after a decimal point as microseconds, rounding half up at the 7th digit.
bool ReadFraction(std::string_view s, size_t& pos, int64_t& micros) {
    micros = 0;
    size_t n = 0;
    bool round_up = false;
    for (; pos < s.size() && IsDigit(s[pos]); ++pos, ++n) {
        if (n < 6) {
            micros = micros * 10 + (s[pos] - '0');
        } else if (n == 6) {
            round_up = s[pos] >= '5';
        }
    }
    for (size_t i = n; i < 6; ++i) {
        micros *= 10;
    }
    micros += round_up ? 1 : 0;
    return n > 0;
}

// HH:MM[:SS[.ffffff]], hours 0-24 (24 only as 24:00:00).
bool ReadTimeOfDay(std::string_view s, size_t& pos, int64_t& micros) {
    int64_t hour = 0;
    int64_t minute = 0;
    int64_t second = 0;
    int64_t fraction = 0;
    bool has_seconds = false;
    if (IsIsoTime(s, pos)) {
        // HH:MM:SS, the common shape: read at fixed places (the same values as below).
        hour = Digits(s, pos, 2);
        minute = Digits(s, pos + 3, 2);
        second = Digits(s, pos + 6, 2);
        pos += 8;
        has_seconds = true;
    } else {
        if (!ReadNumber(s, pos, 1, 2, hour) || pos >= s.size() || s[pos] != ':') {
            return false;
        }
        ++pos;
        if (!ReadNumber(s, pos, 2, 2, minute)) {
            return false;
        }
        if (pos < s.size() && s[pos] == ':') {
            ++pos;
            if (!ReadNumber(s, pos, 2, 2, second)) {
                return false;
            }
            has_seconds = true;
        }
    }
    if (has_seconds && pos < s.size() && s[pos] == '.' && !ReadFraction(s, ++pos, fraction)) {
        return false;
    }
    if (hour > 24 || minute > 59 || second > 59) {
        return false;
    }
    micros = ((hour * 60 + minute) * 60 + second) * kMicrosPerSecond + fraction;
    return micros <= kMicrosPerDay;
}

// Z, UTC, GMT, +HH, +HH:MM, +HHMM, +HH:MM:SS (sign required for numeric offsets).
bool ReadZone(std::string_view s, size_t& pos, int64_t& offset_seconds) {
    offset_seconds = 0;
    if (s[pos] == 'Z' || s[pos] == 'z') {
        ++pos;
        return true;
    }
    if (EqualsNoCase(s.substr(pos, 3), "utc") || EqualsNoCase(s.substr(pos, 3), "gmt")) {
        pos += 3;
        if (pos >= s.size() || (s[pos] != '+' && s[pos] != '-')) {
            return true;
        }
    }
    if (s[pos] != '+' && s[pos] != '-') {
        return false;
    }
    const int64_t sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    int64_t hours = 0;
    int64_t minutes = 0;
    int64_t seconds = 0;
    if (pos + 4 <= s.size() && IsDigit(s[pos]) && IsDigit(s[pos + 1]) && IsDigit(s[pos + 2]) &&
        IsDigit(s[pos + 3])) {
        hours = (s[pos] - '0') * 10 + (s[pos + 1] - '0');
        minutes = (s[pos + 2] - '0') * 10 + (s[pos + 3] - '0');
        pos += 4;
        if (pos < s.size() && IsDigit(s[pos]) && !ReadNumber(s, pos, 2, 2, seconds)) {
            return false;
        }
    } else {
        if (!ReadNumber(s, pos, 1, 2, hours)) {
            return false;
        }
        if (pos < s.size() && s[pos] == ':') {
            ++pos;
            if (!ReadNumber(s, pos, 2, 2, minutes)) {
                return false;
            }
            if (pos < s.size() && s[pos] == ':' && !ReadNumber(s, ++pos, 2, 2, seconds)) {
                return false;
            }
        }
    }
    if (hours > 15 || minutes > 59 || seconds > 59) {
        return false;
    }
    offset_seconds = sign * (hours * 3600 + minutes * 60 + seconds);
    return true;
}

// YYYY-MM-DD[( |T)HH:MM[:SS[.f]][ ][zone]][ BC]
bool ParseDateTime(std::string_view text, DateTimeParts& p) {
    const std::string_view s = Trim(text);
    if (EqualsNoCase(s, "infinity") || EqualsNoCase(s, "+infinity")) {
        p.infinity = 1;
        return true;
    }
    if (EqualsNoCase(s, "-infinity")) {
        p.infinity = -1;
        return true;
    }
    size_t pos = 0;
    int64_t year = 0;
    int64_t month = 0;
    int64_t day = 0;
    if (IsIsoDate(s)) {
        // YYYY-MM-DD, the shape nearly every file and database writes: read at fixed places.
        year = Digits(s, 0, 4);
        month = Digits(s, 5, 2);
        day = Digits(s, 8, 2);
        pos = 10;
    } else if (!ReadNumber(s, pos, 1, 7, year) || pos >= s.size() || s[pos] != '-' ||
               !ReadNumber(s, ++pos, 1, 2, month) || pos >= s.size() || s[pos] != '-' ||
               !ReadNumber(s, ++pos, 1, 2, day)) {
        return false;
    }
    if (pos < s.size() && (s[pos] == 'T' || s[pos] == 't' || s[pos] == ' ')) {
        size_t q = pos + 1;
        while (q < s.size() && s[q] == ' ') {
            ++q;
        }
        if (q < s.size() && IsDigit(s[q])) {
            pos = q;
            if (!ReadTimeOfDay(s, pos, p.time)) {
                return false;
            }
            p.has_time = true;
            size_t z = pos;
            while (z < s.size() && s[z] == ' ') {
                ++z;
            }
            if (z < s.size() &&
                (s[z] == '+' || s[z] == '-' || s[z] == 'Z' || s[z] == 'z' ||
                 EqualsNoCase(s.substr(z, 3), "utc") || EqualsNoCase(s.substr(z, 3), "gmt"))) {
                pos = z;
                if (!ReadZone(s, pos, p.zone_seconds)) {
                    return false;
                }
                p.has_zone = true;
            }
        }
    }
    while (pos < s.size() && s[pos] == ' ') {
        ++pos;
    }
    const std::string_view era = s.substr(pos);
    const bool bc = EqualsNoCase(era, "bc");
    if (!era.empty() && !bc && !EqualsNoCase(era, "ad")) {
        return false;
    }
    if (year == 0 || month < 1 || month > 12) {
        return false;
    }
    p.year = bc ? 1 - year : year;
    p.month = static_cast<unsigned>(month);
    p.day = static_cast<unsigned>(day);
    return day >= 1 && p.day <= DaysInMonth(p.year, p.month);
}

// Micros since the epoch for parsed parts, in UTC when a zone was given.
Parse TimestampMicros(const DateTimeParts& p, int64_t& out) {
    if (p.infinity != 0) {
        out = p.infinity > 0 ? std::numeric_limits<int64_t>::max()
                             : std::numeric_limits<int64_t>::min();
        return Parse::kOk;
    }
    int64_t micros = 0;
    if (__builtin_mul_overflow(DaysFromCivil64(p.year, p.month, p.day), kMicrosPerDay, &micros) ||
        __builtin_add_overflow(micros, p.time - p.zone_seconds * kMicrosPerSecond, &micros) ||
        micros == std::numeric_limits<int64_t>::max() ||
        micros == std::numeric_limits<int64_t>::min()) {
        return Parse::kOutOfRange;
    }
    out = micros;
    return Parse::kOk;
}

void AppendDate(int64_t days, std::string& out, bool& bc) {
    int64_t year = 0;
    unsigned month = 0;
    unsigned day = 0;
    CivilFromDays(days, year, month, day);
    bc = year <= 0;
    fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}", bc ? 1 - year : year, month, day);
}

void AppendTimeOfDay(int64_t micros, std::string& out) {
    const int64_t seconds = micros / kMicrosPerSecond;
    fmt::format_to(std::back_inserter(out), "{:02}:{:02}:{:02}", seconds / 3600, seconds / 60 % 60,
                   seconds % 60);
    AppendSecondFraction(static_cast<uint64_t>(micros % kMicrosPerSecond), out);
}

void AppendSecondFraction(uint64_t fraction_micros, std::string& out) {
    if (fraction_micros == 0) {
        return;
    }
    int width = 6;
    while (fraction_micros % 10 == 0) {
        fraction_micros /= 10;
        --width;
    }
    fmt::format_to(std::back_inserter(out), ".{:0{}}", fraction_micros, width);
}

void AppendTimestamp(int64_t micros, bool with_zone, std::string& out) {
    if (micros == std::numeric_limits<int64_t>::max()) {
        out += "infinity";
        return;
    }
    if (micros == std::numeric_limits<int64_t>::min()) {
        out += "-infinity";
        return;
    }
    const int64_t days = FloorDiv(micros, kMicrosPerDay);
    bool bc = false;
    AppendDate(days, out, bc);
    out += ' ';
    AppendTimeOfDay(micros - days * kMicrosPerDay, out);
    if (with_zone) {
        out += "+00";
    }
    if (bc) {
        out += " BC";
    }
}

}  // namespace sluice::convert_detail

namespace sluice {

int32_t DaysFromCivil(int64_t year, unsigned month, unsigned day) {
    return static_cast<int32_t>(convert_detail::DaysFromCivil64(year, month, day));
}

void CivilFromDays(int64_t days, int64_t& year, unsigned& month, unsigned& day) {
    const int64_t z = days + 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    day = static_cast<unsigned>(doy - (153 * mp + 2) / 5 + 1);
    month = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
    year = yoe + era * 400 + (month <= 2 ? 1 : 0);
}

}  // namespace sluice
