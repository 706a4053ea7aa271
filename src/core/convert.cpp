#include "core/convert.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace sluice {

namespace {

// Long values are cut in messages so one bad 10 MB field cannot flood a reject file.
constexpr size_t kMaxQuotedChars = 60;
constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kMicrosPerMinute = 60 * kMicrosPerSecond;
constexpr int64_t kMicrosPerHour = 60 * kMicrosPerMinute;
constexpr int64_t kMicrosPerDay = 24 * kMicrosPerHour;

using Uuid = std::array<uint8_t, 16>;

std::string Quoted(std::string_view text) {
    if (text.size() <= kMaxQuotedChars) {
        return fmt::format("'{}'", text);
    }
    return fmt::format("'{}...' ({} bytes)", text.substr(0, kMaxQuotedChars), text.size());
}

Status NotValid(std::string_view text, const DataType& type) {
    return Status::Invalid(fmt::format("{} is not a valid {}", Quoted(text), TypeName(type)));
}

Status OutOfRange(std::string_view text, const DataType& type) {
    return Status::Invalid(fmt::format("{} is out of range for {}", Quoted(text), TypeName(type)));
}

bool IsSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool IsDigit(char c) {
    return c >= '0' && c <= '9';
}
char Lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string_view Trim(std::string_view s) {
    while (!s.empty() && IsSpace(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && IsSpace(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
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

enum class Parse { kOk, kInvalid, kOutOfRange };

// ---- numbers ---------------------------------------------------------------------------

Parse ParseInt64(std::string_view s, int64_t& out) {
    s = Trim(s);
    if (!s.empty() && s.front() == '+') {
        s.remove_prefix(1);
        if (s.empty() || !IsDigit(s.front())) {
            return Parse::kInvalid;
        }
    }
    if (s.empty()) {
        return Parse::kInvalid;
    }
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ptr != s.data() + s.size()) {
        return Parse::kInvalid;
    }
    if (ec == std::errc::result_out_of_range) {
        return Parse::kOutOfRange;
    }
    return ec == std::errc() ? Parse::kOk : Parse::kInvalid;
}

template <class F>
Parse ParseFloat(std::string_view s, F& out) {
    s = Trim(s);
    bool negative = false;
    std::string_view body = s;
    if (!body.empty() && (body.front() == '+' || body.front() == '-')) {
        negative = body.front() == '-';
        body.remove_prefix(1);
    }
    if (EqualsNoCase(body, "infinity") || EqualsNoCase(body, "inf")) {
        out = negative ? -std::numeric_limits<F>::infinity() : std::numeric_limits<F>::infinity();
        return Parse::kOk;
    }
    if (EqualsNoCase(body, "nan")) {
        out = std::numeric_limits<F>::quiet_NaN();
        return Parse::kOk;
    }
    if (body.empty() || !(IsDigit(body.front()) || body.front() == '.')) {
        return Parse::kInvalid;
    }
    // from_chars takes '-' but not '+', so parse from the sign we kept only when negative.
    const char* begin = negative ? body.data() - 1 : body.data();
    auto [ptr, ec] = std::from_chars(begin, body.data() + body.size(), out);
    if (ptr != body.data() + body.size()) {
        return Parse::kInvalid;
    }
    if (ec == std::errc::result_out_of_range) {
        return Parse::kOutOfRange;
    }
    return ec == std::errc() ? Parse::kOk : Parse::kInvalid;
}

// Exact decimal: validated and rewritten as PostgreSQL prints numeric (no '+', no leading
// zeros, exponent expanded) without ever passing through binary floating point.
constexpr int64_t kMaxDecimalExponent = 100000;

Parse CanonicalDecimal(std::string_view s, std::string& out) {
    s = Trim(s);
    bool negative = false;
    if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
        negative = s.front() == '-';
        s.remove_prefix(1);
    }
    if (EqualsNoCase(s, "nan")) {
        out = "NaN";
        return Parse::kOk;
    }
    if (EqualsNoCase(s, "infinity") || EqualsNoCase(s, "inf")) {
        out = negative ? "-Infinity" : "Infinity";
        return Parse::kOk;
    }
    size_t pos = 0;
    const size_t int_begin = pos;
    while (pos < s.size() && IsDigit(s[pos])) {
        ++pos;
    }
    std::string_view int_digits = s.substr(int_begin, pos - int_begin);
    std::string_view frac_digits;
    if (pos < s.size() && s[pos] == '.') {
        const size_t frac_begin = ++pos;
        while (pos < s.size() && IsDigit(s[pos])) {
            ++pos;
        }
        frac_digits = s.substr(frac_begin, pos - frac_begin);
    }
    if (int_digits.empty() && frac_digits.empty()) {
        return Parse::kInvalid;
    }
    int64_t exponent = 0;
    if (pos < s.size() && (s[pos] == 'e' || s[pos] == 'E')) {
        ++pos;
        std::string_view exp_text = s.substr(pos);
        if (!exp_text.empty() && exp_text.front() == '+') {
            exp_text.remove_prefix(1);
            if (exp_text.empty() || !IsDigit(exp_text.front())) {
                return Parse::kInvalid;
            }
        }
        auto [ptr, ec] =
            std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exponent);
        if (ec != std::errc() || ptr != exp_text.data() + exp_text.size() || exp_text.empty()) {
            return ec == std::errc::result_out_of_range ? Parse::kOutOfRange : Parse::kInvalid;
        }
        if (exponent > kMaxDecimalExponent || exponent < -kMaxDecimalExponent) {
            return Parse::kOutOfRange;
        }
        pos = s.size();
    }
    if (pos != s.size()) {
        return Parse::kInvalid;
    }
    // digits = int_digits + frac_digits with the point after `point` digits, moved by exponent.
    std::string digits;
    digits.reserve(int_digits.size() + frac_digits.size());
    digits.append(int_digits).append(frac_digits);
    int64_t point = static_cast<int64_t>(int_digits.size()) + exponent;
    const int64_t scale = std::max<int64_t>(0, static_cast<int64_t>(frac_digits.size()) - exponent);
    // Pad so that the point sits inside the digit string and `scale` digits follow it.
    if (point < 0) {
        digits.insert(0, static_cast<size_t>(-point), '0');
        point = 0;
    }
    const int64_t needed = point + scale;
    if (static_cast<int64_t>(digits.size()) < needed) {
        digits.append(static_cast<size_t>(needed - static_cast<int64_t>(digits.size())), '0');
    }
    digits.resize(static_cast<size_t>(needed));
    size_t lead = 0;
    while (lead + 1 < static_cast<size_t>(point) && digits[lead] == '0') {
        ++lead;
    }
    std::string_view whole =
        std::string_view(digits).substr(lead, static_cast<size_t>(point) - lead);
    std::string_view fraction = std::string_view(digits).substr(static_cast<size_t>(point));
    const bool zero = digits.find_first_not_of('0') == std::string::npos;
    out.clear();
    if (negative && !zero) {
        out += '-';
    }
    out += whole.empty() ? std::string_view("0") : whole;
    if (!fraction.empty()) {
        out += '.';
        out += fraction;
    }
    return Parse::kOk;
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

// ---- dates and times ----------------------------------------------------------------------

int64_t DaysFromCivil64(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2 ? 1 : 0;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * static_cast<int64_t>(m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

bool IsLeap(int64_t y) {
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

unsigned DaysInMonth(int64_t y, unsigned m) {
    static constexpr std::array<unsigned, 12> kDays = {31, 28, 31, 30, 31, 30,
                                                       31, 31, 30, 31, 30, 31};
    return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
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
        if (pos < s.size() && s[pos] == '.' && !ReadFraction(s, ++pos, fraction)) {
            return false;
        }
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
    if (!ReadNumber(s, pos, 1, 7, year) || pos >= s.size() || s[pos] != '-' ||
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

int64_t FloorDiv(int64_t a, int64_t b) {
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
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
    int64_t fraction = micros % kMicrosPerSecond;
    if (fraction != 0) {
        int width = 6;
        while (fraction % 10 == 0) {
            fraction /= 10;
            --width;
        }
        fmt::format_to(std::back_inserter(out), ".{:0{}}", fraction, width);
    }
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

// ---- intervals ----------------------------------------------------------------------------

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
        uint64_t fraction = magnitude % kMicrosPerSecond;
        if (fraction != 0) {
            int width = 6;
            while (fraction % 10 == 0) {
                fraction /= 10;
                --width;
            }
            fmt::format_to(std::back_inserter(out), ".{:0{}}", fraction, width);
        }
    }
}

// ---- floats -------------------------------------------------------------------------------

// Shortest round-trip digits laid out like PostgreSQL's float output: fixed notation for
// decimal exponents in [-4, fixed_limit), scientific ("1e+15", "1.5e-07") otherwise.
template <class F>
void AppendFloat(F value, int fixed_limit, std::string& out) {
    if (std::isnan(value)) {
        out += "NaN";
        return;
    }
    if (std::isinf(value)) {
        out += value > 0 ? "Infinity" : "-Infinity";
        return;
    }
    std::array<char, 64> buf{};
    const auto result =
        std::to_chars(buf.data(), buf.data() + buf.size(), value, std::chars_format::scientific);
    const std::string_view sci(buf.data(), static_cast<size_t>(result.ptr - buf.data()));
    const size_t e = sci.find('e');
    int exponent = 0;
    std::from_chars(sci.data() + e + (sci[e + 1] == '+' ? 2 : 1), sci.data() + sci.size(),
                    exponent);
    if (exponent < -4 || exponent >= fixed_limit) {
        out += sci;
        return;
    }
    const bool negative = sci.front() == '-';
    std::string_view mantissa = sci.substr(negative ? 1 : 0, e - (negative ? 1 : 0));
    std::array<char, 32> digits{};
    size_t n = 0;
    for (char c : mantissa) {
        if (c != '.') {
            digits[n++] = c;
        }
    }
    if (negative) {
        out += '-';
    }
    if (exponent < 0) {
        out += "0.";
        out.append(static_cast<size_t>(-exponent - 1), '0');
        out.append(digits.data(), n);
    } else if (n <= static_cast<size_t>(exponent) + 1) {
        out.append(digits.data(), n);
        out.append(static_cast<size_t>(exponent) + 1 - n, '0');
    } else {
        out.append(digits.data(), static_cast<size_t>(exponent) + 1);
        out += '.';
        out.append(digits.data() + exponent + 1, n - static_cast<size_t>(exponent) - 1);
    }
}

// True when `s` is already how PostgreSQL prints a numeric, so it can be stored as-is.
bool IsCanonicalDecimal(std::string_view s) {
    size_t pos = s.starts_with('-') ? 1 : 0;
    const size_t begin = pos;
    while (pos < s.size() && IsDigit(s[pos])) {
        ++pos;
    }
    const size_t int_len = pos - begin;
    if (int_len == 0 || (int_len > 1 && s[begin] == '0')) {
        return false;
    }
    bool nonzero = int_len > 1 || s[begin] != '0';
    if (pos < s.size()) {
        if (s[pos] != '.' || pos + 1 == s.size()) {
            return false;
        }
        for (++pos; pos < s.size(); ++pos) {
            if (!IsDigit(s[pos])) {
                return false;
            }
            nonzero = nonzero || s[pos] != '0';
        }
    }
    return nonzero || begin == 0;  // "-0.0" must become "0.0"
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

int32_t DaysFromCivil(int64_t year, unsigned month, unsigned day) {
    return static_cast<int32_t>(DaysFromCivil64(year, month, day));
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
            if (IsCanonicalDecimal(text)) {
                column.AppendBytes(text);
                return Status::Ok();
            }
            thread_local std::string canonical;
            const Parse parse = CanonicalDecimal(text, canonical);
            if (parse == Parse::kInvalid) {
                return NotValid(text, type);
            }
            if (parse == Parse::kOutOfRange) {
                return OutOfRange(text, type);
            }
            column.AppendBytes(canonical);
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
