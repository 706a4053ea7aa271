// to_date(text, template) and to_timestamp(text, template), reading PostgreSQL's template
// patterns the way PostgreSQL 15's formatting.c does (separators, skipped spaces, FM/FX/TH,
// FFn, TZH:TZM). Patterns it does not read the same way are refused when the job is planned.
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "core/convert.hpp"
#include "transform/expr_ast.hpp"
#include "transform/expr_decimal.hpp"
#include "transform/expr_functions.hpp"
#include "transform/expr_kernels.hpp"
#include "transform/expr_time_util.hpp"

namespace sluice::expr {

namespace {

// ---- to_date and to_timestamp with a template -------------------------------------------

/// What a template item reads (PostgreSQL's formatting.c from_char actions).
enum class Item {
    kText, kSpace, kSeparator, kFixed,
    kYear4, kYear3, kYear2, kYear1, kMonth, kDay, kDayOfYear, kHour12, kHour24, kMinute, kSecond,
    kSecondsOfDay, kMillis, kMicros, kFraction, kMeridiem, kMeridiemDots, kEra, kEraDots, kMonthName,
    kMonthAbbrev, kDayName, kDayAbbrev, kWeekday, kQuarter, kJulianDay, kZoneHour, kZoneMinute, kUnsupported,
};

struct Keyword {
    std::string_view name;  // upper case; the template matches it in any case
    Item item;
    bool digits;  // reads digits (decides how the item before it reads, as in PostgreSQL)
};

// Ordered so that a longer keyword comes before its prefixes, as PostgreSQL's table is.
constexpr Keyword kKeywords[] = {
    {"A.D.", Item::kEraDots, false}, {"A.M.", Item::kMeridiemDots, false}, {"AD", Item::kEra, false},
    {"AM", Item::kMeridiem, false}, {"B.C.", Item::kEraDots, false}, {"BC", Item::kEra, false},
    {"CC", Item::kUnsupported, true}, {"DAY", Item::kDayName, false}, {"DDD", Item::kDayOfYear, true},
    {"DD", Item::kDay, true}, {"DY", Item::kDayAbbrev, false}, {"D", Item::kWeekday, true},
    {"FF1", Item::kFraction, true}, {"FF2", Item::kFraction, true}, {"FF3", Item::kFraction, true},
    {"FF4", Item::kFraction, true}, {"FF5", Item::kFraction, true}, {"FF6", Item::kFraction, true},
    {"FX", Item::kFixed, false}, {"HH24", Item::kHour24, true}, {"HH12", Item::kHour12, true},
    {"HH", Item::kHour12, true}, {"IDDD", Item::kUnsupported, true}, {"ID", Item::kUnsupported, true},
    {"IW", Item::kUnsupported, true}, {"IYYY", Item::kUnsupported, true}, {"IYY", Item::kUnsupported, true},
    {"IY", Item::kUnsupported, true}, {"I", Item::kUnsupported, true}, {"J", Item::kJulianDay, true},
    {"MI", Item::kMinute, true}, {"MM", Item::kMonth, true}, {"MONTH", Item::kMonthName, false},
    {"MON", Item::kMonthAbbrev, false}, {"MS", Item::kMillis, true}, {"OF", Item::kUnsupported, false},
    {"P.M.", Item::kMeridiemDots, false}, {"PM", Item::kMeridiem, false}, {"Q", Item::kQuarter, true},
    {"RM", Item::kUnsupported, false}, {"SSSSS", Item::kSecondsOfDay, true}, {"SSSS", Item::kSecondsOfDay, true},
    {"SS", Item::kSecond, true}, {"TZH", Item::kZoneHour, false}, {"TZM", Item::kZoneMinute, true},
    {"TZ", Item::kUnsupported, false}, {"US", Item::kMicros, true}, {"WW", Item::kUnsupported, true},
    {"W", Item::kUnsupported, true}, {"Y,YYY", Item::kUnsupported, true}, {"YYYY", Item::kYear4, true},
    {"YYY", Item::kYear3, true}, {"YY", Item::kYear2, true}, {"Y", Item::kYear1, true},
};

constexpr std::string_view kSupportedPatterns =
    "YYYY YYY YY Y MM DD DDD HH HH12 HH24 MI SS SSSS MS US FF1-FF6 AM PM A.M. P.M. AD BC Month Mon Day Dy D Q J "
    "TZH TZM, the prefixes FM and FX and the suffix TH";

struct Node {
    Item item = Item::kText;
    std::string name;       // the keyword or character as written
    int width = 0;          // digits a fixed-width numeric item reads
    bool digits = false;
    bool fill = false;      // FM: read as many digits as there are
    bool ordinal = false;   // TH: skip an ordinal suffix after the number
};

/// Whether `s` starts with a keyword as PostgreSQL's tables spell it: all upper case, all
/// lower case, or (for names, `capitalized`) Day, Dy, Month, Mon.
bool StartsWithKeyword(std::string_view s, std::string_view upper, bool capitalized) {
    if (s.size() < upper.size()) {
        return false;
    }
    const std::string_view head = s.substr(0, upper.size());
    const std::string lower = ChangeCase(upper, false);
    return head == upper || head == lower || (capitalized && head[0] == upper[0] && head.substr(1) == lower.substr(1));
}

bool StartsWithNoCase(std::string_view s, std::string_view upper_prefix) {
    if (s.size() < upper_prefix.size()) {
        return false;
    }
    for (size_t i = 0; i < upper_prefix.size(); ++i) {
        const char c = s[i] >= 'a' && s[i] <= 'z' ? static_cast<char>(s[i] - 32) : s[i];
        if (c != upper_prefix[i]) {
            return false;
        }
    }
    return true;
}

/// PostgreSQL's separator characters: printable ASCII that is not a letter, digit or space.
bool IsSeparator(char c) {
    return c > 0x20 && c < 0x7F && !(c >= 'A' && c <= 'Z') && !(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9');
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

size_t Utf8Len(std::string_view s, size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    return std::min<size_t>(c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4, s.size() - i);
}

/// A template split into items as PostgreSQL's parse_format does.
struct Template {
    std::vector<Node> nodes;
    std::string text;
};

std::optional<Template> CompileTemplate(std::string_view text, std::string& error) {
    Template t;
    t.text = std::string(text);
    const std::string_view f = t.text;
    for (size_t i = 0; i < f.size();) {
        Node node;
        bool fill = false;
        if (StartsWithKeyword(f.substr(i), "FM", false) || StartsWithKeyword(f.substr(i), "TM", false)) {
            fill = StartsWithKeyword(f.substr(i), "FM", false);
            i += 2;
        }
        const Keyword* keyword = nullptr;
        for (const Keyword& k : kKeywords) {
            const bool name = k.item == Item::kMonthName || k.item == Item::kMonthAbbrev || k.item == Item::kDayName ||
                              k.item == Item::kDayAbbrev;
            if (StartsWithKeyword(f.substr(i), k.name, name)) {
                keyword = &k;
                break;
            }
        }
        if (keyword) {
            if (keyword->item == Item::kUnsupported) {
                error = fmt::format("template pattern \"{}\" is not supported; supported: {}",
                                    f.substr(i, keyword->name.size()), kSupportedPatterns);
                return std::nullopt;
            }
            node.item = keyword->item;
            node.name = f.substr(i, keyword->name.size());
            node.digits = keyword->digits;
            node.fill = fill;
            node.width = keyword->item == Item::kFraction ? keyword->name[2] - '0'
                         : keyword->item == Item::kHour24 || keyword->item == Item::kHour12 ? 2
                                                                                            : static_cast<int>(keyword->name.size());
            i += keyword->name.size();
            if (StartsWithKeyword(f.substr(i), "TH", false)) {
                node.ordinal = true;
                i += 2;
            }
            t.nodes.push_back(node);
            continue;
        }
        if (fill) {
            continue;  // a modifier before nothing it applies to
        }
        if (f[i] == '"') {
            // Quoted text: each character skips one character of input; \ quotes the next.
            for (++i; i < f.size() && f[i] != '"';) {
                i += f[i] == '\\' && i + 1 < f.size() ? 1 : 0;
                const size_t len = Utf8Len(f, i);
                t.nodes.push_back(Node{.item = Item::kText, .name = std::string(f.substr(i, len))});
                i += len;
            }
            i += i < f.size() ? 1 : 0;
            continue;
        }
        i += f[i] == '\\' && i + 1 < f.size() && f[i + 1] == '"' ? 1 : 0;
        const size_t len = Utf8Len(f, i);
        node.item = IsSeparator(f[i]) ? Item::kSeparator : IsSpace(f[i]) ? Item::kSpace : Item::kText;
        node.name = f.substr(i, len);
        t.nodes.push_back(node);
        i += len;
    }
    return t;
}

/// Field values read from the input (PostgreSQL's TmFromChar). As there, 0 means not given:
/// month 00 is January and day 00 the first.
struct Fields {
    int64_t year = 0, month = 0, day = 0, day_of_year = 0, hour = 0, minute = 0, second = 0, seconds_of_day = 0;
    int64_t julian = 0, millis = 0, micros = 0;
    int precision = 0;  // FF1..FF6: to_timestamp rounds to that many fraction digits
    bool twelve_hour = false, pm = false, bc = false;
    int zone_sign = 0;
    int64_t zone_hour = 0, zone_minute = 0;
};

constexpr std::string_view kMonthNames[] = {"January", "February", "March",     "April",   "May",      "June",
                                            "July",    "August",   "September", "October", "November", "December"};
constexpr std::string_view kDayNames[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                          "Thursday", "Friday", "Saturday"};

/// Reads a template against one input; an error message when the input does not fit.
class TemplateReader {
public:
    TemplateReader(const Template& t, std::string_view input) : t_(t), in_(input) {}

    std::optional<Fields> Read(std::string& error) {
        bool fixed = false;
        int extra_skip = 0;  // spaces skipped beyond what the template asked for
        for (size_t n = 0; n < t_.nodes.size() && pos_ < in_.size(); ++n) {
            const Node& node = t_.nodes[n];
            const bool action = node.item > Item::kFixed;
            if (!fixed && node.item != Item::kFixed && (action || n == 0)) {
                extra_skip += SkipSpaces();
            }
            if (node.item == Item::kSpace || node.item == Item::kSeparator) {
                // One template separator or space matches one in the input, or nothing.
                if (fixed) {
                    pos_ += Utf8Len(in_, pos_);
                } else if (--extra_skip, IsSpace(in_[pos_]) || IsSeparator(in_[pos_])) {
                    ++pos_;
                    ++extra_skip;
                }
                continue;
            }
            if (node.item == Item::kText) {
                // Any character matches a text character; one skipped as space already counts.
                if (!fixed && extra_skip > 0) {
                    --extra_skip;
                } else {
                    pos_ += Utf8Len(in_, pos_);
                }
                continue;
            }
            if (node.item == Item::kFixed) {
                fixed = true;
                continue;
            }
            if (!ReadItem(n, extra_skip, error)) {
                return std::nullopt;
            }
            if (node.ordinal) {
                pos_ = std::min(pos_ + 2, in_.size());
            }
            if (!fixed) {
                extra_skip = SkipSpaces();
            }
        }
        return fields_;
    }

private:
    int SkipSpaces() {
        int skipped = 0;
        for (; pos_ < in_.size() && IsSpace(in_[pos_]); ++pos_) {
            ++skipped;
        }
        return skipped;
    }

    /// Whether the item after `n` cannot be mistaken for more digits (then `n` reads as many
    /// digits as there are, not exactly its width).
    bool NextIsSeparator(size_t n) const {
        if (t_.nodes[n].ordinal || n + 1 >= t_.nodes.size()) {
            return true;
        }
        const Node& next = t_.nodes[n + 1];
        if (next.item > Item::kFixed) {
            return !next.digits;
        }
        return !(next.name.size() == 1 && next.name[0] >= '0' && next.name[0] <= '9');
    }

    /// PostgreSQL's from_char_parse_int_len: an integer of `width` digits, or of any length
    /// when the item is FM or a non-digit follows. Stores it in `*into` unless that is null,
    /// refusing a second, different value; returns the characters read.
    std::optional<int> ReadInt(size_t n, int width, int64_t* into, std::string& error) {
        const Node& node = t_.nodes[n];
        SkipSpaces();
        const std::string rest(in_.substr(pos_));  // strtoll needs the terminating NUL
        const std::string copy = rest.substr(0, static_cast<size_t>(width));
        const bool any_length = node.fill || NextIsSeparator(n);
        if (!any_length && copy.size() < static_cast<size_t>(width)) {
            error = fmt::format("source string too short for \"{}\" formatting field", node.name);
            return std::nullopt;
        }
        const char* digits = any_length ? rest.c_str() : copy.c_str();
        char* end = nullptr;
        errno = 0;
        const long long v = std::strtoll(digits, &end, 10);
        const auto used = static_cast<int>(end - digits);
        if (used == 0) {
            error = fmt::format("invalid value \"{}\" for \"{}\": a number was expected", copy, node.name);
            return std::nullopt;
        }
        if (!any_length && used < width) {
            error = fmt::format("invalid value \"{}\" for \"{}\": {} digits were expected (the FM prefix allows fewer)",
                                copy, node.name, width);
            return std::nullopt;
        }
        if (errno == ERANGE || v < INT32_MIN || v > INT32_MAX) {
            error = fmt::format("value for \"{}\" in source string is out of range", node.name);
            return std::nullopt;
        }
        pos_ += static_cast<size_t>(used);
        if (into) {
            if (*into != 0 && *into != v) {
                error = fmt::format("conflicting values for \"{}\" field in formatting string", node.name);
                return std::nullopt;
            }
            *into = v;
        }
        return used;
    }

    /// The index of the first of `names` the input continues with (case-insensitive), as
    /// PostgreSQL's seq_search; `prefix` cuts each name to its first characters.
    template <size_t N>
    std::optional<size_t> ReadName(size_t n, const std::string_view (&names)[N], size_t prefix, std::string& error) {
        for (size_t k = 0; k < N; ++k) {
            const std::string_view name = prefix ? names[k].substr(0, prefix) : names[k];
            if (StartsWithNoCase(in_.substr(pos_), ChangeCase(name, true))) {
                pos_ += name.size();
                return k;
            }
        }
        error = fmt::format("invalid value \"{}\" for \"{}\": expected one of {}", in_.substr(pos_, prefix ? prefix : 9),
                            t_.nodes[n].name, fmt::join(names, ", "));
        return std::nullopt;
    }

    bool ReadItem(size_t n, int extra_skip, std::string& error) {
        const Node& node = t_.nodes[n];
        static constexpr std::string_view kMeridiem[] = {"AM", "PM"};
        static constexpr std::string_view kMeridiemDots[] = {"A.M.", "P.M."};
        static constexpr std::string_view kEra[] = {"AD", "BC"};
        static constexpr std::string_view kEraDots[] = {"A.D.", "B.C."};
        std::optional<size_t> k;
        std::optional<int> used;
        switch (node.item) {
            case Item::kYear4:
            case Item::kYear3:
            case Item::kYear2:
            case Item::kYear1:
                used = ReadInt(n, node.width, &fields_.year, error);
                if (used && node.item != Item::kYear4 && *used < 4) {
                    fields_.year = AdjustPartialYear(fields_.year);
                }
                return used.has_value();
            case Item::kMonth: return ReadInt(n, 2, &fields_.month, error).has_value();
            case Item::kDay: return ReadInt(n, 2, &fields_.day, error).has_value();
            case Item::kDayOfYear: return ReadInt(n, 3, &fields_.day_of_year, error).has_value();
            case Item::kHour12:
                fields_.twelve_hour = true;
                return ReadInt(n, 2, &fields_.hour, error).has_value();
            case Item::kHour24: return ReadInt(n, 2, &fields_.hour, error).has_value();
            case Item::kMinute: return ReadInt(n, 2, &fields_.minute, error).has_value();
            case Item::kSecond: return ReadInt(n, 2, &fields_.second, error).has_value();
            case Item::kSecondsOfDay: return ReadInt(n, node.width, &fields_.seconds_of_day, error).has_value();
            case Item::kJulianDay: return ReadInt(n, node.width, &fields_.julian, error).has_value();
            case Item::kWeekday:
            case Item::kQuarter: return ReadInt(n, 1, nullptr, error).has_value();  // ignored, as PostgreSQL
            case Item::kMillis:
                // "25" is 0.25 seconds, as is "250"; "025" is 0.025.
                used = ReadInt(n, 3, &fields_.millis, error);
                fields_.millis *= used == 1 ? 100 : used == 2 ? 10 : 1;
                return used.has_value();
            case Item::kMicros:
            case Item::kFraction: {
                const int width = node.item == Item::kMicros ? 6 : node.width;
                used = ReadInt(n, width, &fields_.micros, error);
                fields_.precision = node.item == Item::kFraction ? node.width : fields_.precision;
                for (int d = used.value_or(6); d < 6; ++d) {
                    fields_.micros *= 10;
                }
                return used.has_value();
            }
            case Item::kMeridiem:
            case Item::kMeridiemDots:
                k = node.item == Item::kMeridiem ? ReadName(n, kMeridiem, 0, error) : ReadName(n, kMeridiemDots, 0, error);
                fields_.pm = k == 1;
                fields_.twelve_hour = true;
                return k.has_value();
            case Item::kEra:
            case Item::kEraDots:
                k = node.item == Item::kEra ? ReadName(n, kEra, 0, error) : ReadName(n, kEraDots, 0, error);
                fields_.bc = k == 1;
                return k.has_value();
            case Item::kMonthName:
            case Item::kMonthAbbrev:
                k = ReadName(n, kMonthNames, node.item == Item::kMonthName ? 0 : 3, error);
                if (k && fields_.month != 0 && fields_.month != static_cast<int64_t>(*k) + 1) {
                    error = fmt::format("conflicting values for \"{}\" field in formatting string", node.name);
                    return false;
                }
                if (k) {
                    fields_.month = static_cast<int64_t>(*k) + 1;
                }
                return k.has_value();
            case Item::kDayName:
            case Item::kDayAbbrev:
                return ReadName(n, kDayNames, node.item == Item::kDayName ? 0 : 3, error).has_value();
            case Item::kZoneHour:
                // A minus may have been skipped as a separator: it still gives the sign.
                if (in_[pos_] == '+' || in_[pos_] == '-' || in_[pos_] == ' ') {
                    fields_.zone_sign = in_[pos_] == '-' ? -1 : 1;
                    ++pos_;
                } else {
                    fields_.zone_sign = extra_skip > 0 && pos_ > 0 && in_[pos_ - 1] == '-' ? -1 : 1;
                }
                return ReadInt(n, 2, &fields_.zone_hour, error).has_value();
            case Item::kZoneMinute:
                fields_.zone_sign = fields_.zone_sign == 0 ? 1 : fields_.zone_sign;
                return ReadInt(n, 2, &fields_.zone_minute, error).has_value();
            default: return true;
        }
    }

    /// Years given in fewer than 4 digits land nearest to 2020, as PostgreSQL's
    /// adjust_partial_year_to_2020.
    static int64_t AdjustPartialYear(int64_t y) {
        return y < 70 ? y + 2000 : y < 100 ? y + 1900 : y < 520 ? y + 2000 : y < 1000 ? y + 1000 : y;
    }

    const Template& t_;
    std::string_view in_;
    size_t pos_ = 0;
    Fields fields_;
};

/// What a template read, resolved: the day, the time of day and the zone's offset.
struct Moment {
    int64_t days = 0;
    int64_t time = 0;          // microseconds since midnight
    int64_t zone_seconds = 0;  // east of UTC
    int precision = 0;         // fraction digits to round to_timestamp's result to; 0: all
};

/// Resolves and checks the fields a template read (PostgreSQL's do_to_timestamp).
std::optional<Moment> Resolve(const Fields& f, std::string_view input, std::string& error) {
    int64_t hour = f.hour;
    if (f.twelve_hour) {
        if (hour < 1 || hour > 12) {
            error = fmt::format("hour \"{}\" is invalid for the 12-hour clock; use HH24, or an hour from 1 to 12", hour);
            return std::nullopt;
        }
        hour = f.pm && hour < 12 ? hour + 12 : !f.pm && hour == 12 ? 0 : hour;
    }
    int64_t minute = f.minute;
    int64_t second = f.second;
    hour += f.seconds_of_day / 3600;
    minute += f.seconds_of_day / 60 % 60;
    second += f.seconds_of_day % 60;
    // Without a year PostgreSQL takes year 0, which is 1 BC; a negative year or BC is BC.
    int64_t year = f.year;
    if (year != 0) {
        year = f.bc ? -year : year;
        year += year < 0 ? 1 : 0;
    }
    int64_t month = f.month != 0 ? f.month : 1;
    int64_t day = f.day != 0 ? f.day : 1;
    const auto out_of_range = [&] {
        error = fmt::format("date/time field value out of range: \"{}\"", input);
        return std::nullopt;
    };
    if (f.julian == 0 && f.day_of_year != 0 && (month <= 1 || day <= 1)) {
        // A day of the year fills in the month and day that were not given.
        if (year == 0 && !f.bc) {
            error = "cannot calculate day of year without year information";
            return std::nullopt;
        }
        int64_t m = 1;
        int64_t before = 0;  // days of the year before month m
        while (m < 13 && f.day_of_year > before + DaysInMonth(year, m)) {
            before += DaysInMonth(year, m++);
        }
        month = month <= 1 ? m : month;
        day = day <= 1 ? f.day_of_year - before : day;
    }
    Moment m;
    if (f.julian != 0) {
        m.days = f.julian - 2'440'588;
    } else {
        std::string ignored;
        auto days = ValidDate(year, month, day, ignored);
        if (!days) {
            return out_of_range();
        }
        m.days = *days;
    }
    const int64_t fraction = f.millis * 1000 + f.micros;
    if (hour < 0 || hour >= 24 || minute < 0 || minute >= 60 || second < 0 || second >= 60 || fraction < 0 ||
        fraction >= kMicrosPerSecond) {
        return out_of_range();
    }
    if (f.zone_hour < 0 || f.zone_hour > 15) {
        error = fmt::format("time zone displacement out of range: \"{}\"", input);
        return std::nullopt;
    }
    if (f.zone_minute < 0 || f.zone_minute >= 60) {
        error = fmt::format("invalid value \"{}\" for \"TZM\"", f.zone_minute);
        return std::nullopt;
    }
    m.time = hour * kMicrosPerHour + minute * kMicrosPerMinute + second * kMicrosPerSecond + fraction;
    m.zone_seconds = f.zone_sign * (f.zone_hour * 3600 + f.zone_minute * 60);
    m.precision = f.precision;
    return m;
}

/// to_timestamp's value of a moment: UTC microseconds within PostgreSQL's range.
std::optional<int64_t> MomentMicros(const Moment& m, std::string_view input, std::string& error) {
    int64_t micros = 0;
    const bool overflow = __builtin_mul_overflow(m.days, kMicrosPerDay, &micros) ||
                          __builtin_add_overflow(micros, m.time - m.zone_seconds * kMicrosPerSecond, &micros);
    if (overflow || micros < kFirstDay * kMicrosPerDay || micros == INT64_MAX) {
        error = fmt::format("timestamp out of range: \"{}\"", input);
        return std::nullopt;
    }
    if (m.precision > 0) {
        // Rounded half away from zero as PostgreSQL's AdjustTimestampForTypmod, which counts
        // from its epoch 2000-01-01.
        constexpr int64_t kPgEpochMicros = 946'684'800 * kMicrosPerSecond;
        int64_t scale = 1;
        for (int d = m.precision; d < 6; ++d) {
            scale *= 10;
        }
        const int64_t t = micros - kPgEpochMicros;
        const int64_t rounded = t >= 0 ? (t + scale / 2) / scale * scale : -((-t + scale / 2) / scale * scale);
        micros = rounded + kPgEpochMicros;
    }
    return micros;
}

/// to_date's value of a moment: its day, whatever the time and zone (as PostgreSQL).
std::optional<int32_t> MomentDate(const Moment& m, std::string_view input, std::string& error) {
    if (m.days < kFirstDay || m.days > kLastDay) {
        error = fmt::format("date out of range: \"{}\"", input);
        return std::nullopt;
    }
    return static_cast<int32_t>(m.days);
}

/// Templates that are not constants, compiled as the rows come (the last one kept).
class TemplateCache {
public:
    const Template* Get(std::string_view text, std::string& error) {
        if (!last_ || last_->text != text) {
            last_ = CompileTemplate(text, error);
        }
        return last_ ? &*last_ : nullptr;
    }

private:
    std::optional<Template> last_;
};

/// Reads every row's text with its template (the constant one prepared at plan time, or the
/// row's own) and turns the moment into the result with `finish`.
template <class Out, class Finish>
Column ParseRows(const KernelCall& call, Finish finish) {
    TemplateCache cache;
    const auto* constant = static_cast<const Template*>(call.state);
    return MapRows<Out, std::string_view, std::string_view>(
        call, [&](size_t row, std::string_view s, std::string_view format) -> std::optional<Out> {
            std::string error;
            const Template* t = constant ? constant : cache.Get(format, error);
            auto fields = t ? TemplateReader(*t, s).Read(error) : std::nullopt;
            auto moment = fields ? Resolve(*fields, s, error) : std::nullopt;
            auto value = moment ? finish(*moment, s, error) : std::nullopt;
            if (!value) {
                call.errors.Fail(row, fmt::format("'{}' does not match format '{}': {}", s, format, error));
            }
            return value;
        });
}

/// to_date(text, template) and to_timestamp(text, template); to_timestamp(seconds) too.
void RegisterTemplates(FunctionTable& table) {
    for (const bool date : {true, false}) {
        const std::string name = date ? "to_date" : "to_timestamp";
        const std::string usage = date ? "to_date(text, template text) -> date"
                                       : "to_timestamp(text, template text) -> timestamptz or to_timestamp(seconds "
                                         "float64) -> timestamptz";
        table[name] = {
            [name, usage, date](const std::vector<ArgInfo>& args, size_t offset) {
                const DataType text = MakeType(LogicalType::kText);
                const DataType tz = MakeType(LogicalType::kTimestampTz);
                ExpectArgs(name, args, date ? 2 : 1, 2, offset, usage);
                if (args.size() == 1) {
                    if (!args[0].null_literal && !args[0].string_literal && !IsNumericType(args[0].type.id)) {
                        NoOverload(name, args, offset, usage);
                    }
                    const DataType f64 = MakeType(LogicalType::kFloat64);
                    return Resolution{tz, {f64}, [](const KernelCall& call) {
                                          return MapRows<int64_t, double>(
                                              call, [&call](size_t row, double s) -> std::optional<int64_t> {
                                                  std::string error;
                                                  auto t = EpochSeconds(s, error);
                                                  if (!t) {
                                                      call.errors.Fail(row, error);
                                                  }
                                                  return t;
                                              });
                                      },
                                      nullptr};
                }
                for (const ArgInfo& a : args) {
                    if (!a.null_literal && !a.string_literal && a.type.id != LogicalType::kText) {
                        NoOverload(name, args, offset, usage);
                    }
                }
                std::shared_ptr<const Template> prepared;
                if (args[1].constant) {
                    std::string error;
                    auto t = CompileTemplate(*args[1].constant, error);
                    if (!t) {
                        throw ExprError(args[1].offset, fmt::format("{}: {}", name, error));
                    }
                    prepared = std::make_shared<const Template>(std::move(*t));
                }
                Kernel kernel = [date](const KernelCall& call) {
                    if (date) {
                        return ParseRows<int32_t>(call, MomentDate);
                    }
                    return ParseRows<int64_t>(call, MomentMicros);
                };
                return Resolution{date ? MakeType(LogicalType::kDate) : tz, {text, text}, kernel, prepared};
            },
            usage};
    }
}

}  // namespace

void RegisterTemplateFunctions(FunctionTable& table) {
    RegisterTemplates(table);
}

}  // namespace sluice::expr
