#include "config/schedule.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "core/convert.hpp"
#include "core/error.hpp"

namespace sluice {

namespace {

constexpr const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kWeekdays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

struct FieldSpec {
    const char* name;
    int low;
    int high;
    const char* const* names;  ///< names of low, low + 1, ... (months, week days); may be null
    int name_count;
};

int Value(std::string_view text, const FieldSpec& spec, std::string_view whole) {
    std::string lower(text);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (int i = 0; spec.names != nullptr && i < spec.name_count; ++i) {
        if (lower == spec.names[i]) {
            return spec.names == kMonths ? i + 1 : i;
        }
    }
    int value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < spec.low || value > spec.high) {
        throw Error(ErrorKind::kConfig, fmt::format("schedule '{}': {} '{}' is not a number from {} to {}{}", whole,
                                                    spec.name, text, spec.low, spec.high,
                                                    spec.names != nullptr ? " or a name" : ""));
    }
    return value;
}

/// Sets the bits of one cron field; returns false for `*`.
template <size_t N>
bool ParseField(std::string_view text, const FieldSpec& spec, std::bitset<N>& bits, std::string_view whole) {
    bool star = false;
    size_t from = 0;
    while (from <= text.size()) {
        const size_t comma = std::min(text.find(',', from), text.size());
        std::string_view item = text.substr(from, comma - from);
        from = comma + 1;
        int step = 1;
        if (const size_t slash = item.find('/'); slash != std::string_view::npos) {
            step = Value(item.substr(slash + 1), FieldSpec{"step", 1, spec.high, nullptr, 0}, whole);
            item = item.substr(0, slash);
        }
        int low = spec.low;
        int high = spec.high;
        if (item == "*") {
            star = step == 1 && text == "*";
        } else if (const size_t dash = item.find('-'); dash != std::string_view::npos) {
            low = Value(item.substr(0, dash), spec, whole);
            high = Value(item.substr(dash + 1), spec, whole);
            if (low > high) {
                throw Error(ErrorKind::kConfig,
                            fmt::format("schedule '{}': {} range {} runs backwards", whole, spec.name, item));
            }
        } else {
            low = Value(item, spec, whole);
            high = step == 1 ? low : spec.high;  // "5/15": from 5 on, every 15
        }
        for (int v = low; v <= high; v += step) {
            bits.set(static_cast<size_t>(v));
        }
    }
    return !star;
}

}  // namespace

CronSchedule CronSchedule::Parse(std::string_view text) {
    static const std::pair<std::string_view, std::string_view> kMacros[] = {
        {"@hourly", "0 * * * *"}, {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
        {"@weekly", "0 0 * * 0"}, {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}};
    std::string_view expanded = text;
    for (const auto& [macro, fields] : kMacros) {
        if (text == macro) {
            expanded = fields;
        }
    }
    if (!expanded.empty() && expanded.front() == '@' && expanded == text) {
        throw Error(ErrorKind::kConfig, fmt::format("schedule '{}': unknown macro; use @hourly, @daily, @weekly, "
                                                    "@monthly or @yearly, or five cron fields",
                                                    text));
    }
    std::vector<std::string_view> fields;
    size_t from = 0;
    while (from < expanded.size()) {
        while (from < expanded.size() && expanded[from] == ' ') ++from;
        const size_t end = std::min(expanded.find(' ', from), expanded.size());
        if (end > from) fields.push_back(expanded.substr(from, end - from));
        from = end;
    }
    if (fields.size() != 5) {
        throw Error(ErrorKind::kConfig, fmt::format("schedule '{}': {} fields; write five, \"minute hour day month "
                                                    "weekday\" (0 2 * * * is 02:00 every day), or @daily",
                                                    text, fields.size()));
    }
    CronSchedule s;
    ParseField(fields[0], FieldSpec{"minute", 0, 59, nullptr, 0}, s.minutes_, text);
    ParseField(fields[1], FieldSpec{"hour", 0, 23, nullptr, 0}, s.hours_, text);
    s.any_day_ = !ParseField(fields[2], FieldSpec{"day of month", 1, 31, nullptr, 0}, s.days_, text);
    ParseField(fields[3], FieldSpec{"month", 1, 12, kMonths, 12}, s.months_, text);
    s.any_weekday_ = !ParseField(fields[4], FieldSpec{"day of week", 0, 7, kWeekdays, 7}, s.weekdays_, text);
    if (s.weekdays_.test(7)) {
        s.weekdays_.set(0);  // 7 is Sunday too
    }
    return s;
}

bool CronSchedule::Matches(int minute, int hour, int day, int month, int weekday) const {
    if (!minutes_.test(static_cast<size_t>(minute)) || !hours_.test(static_cast<size_t>(hour)) ||
        !months_.test(static_cast<size_t>(month))) {
        return false;
    }
    const bool day_ok = days_.test(static_cast<size_t>(day));
    const bool weekday_ok = weekdays_.test(static_cast<size_t>(weekday));
    if (any_day_ || any_weekday_) {
        return day_ok && weekday_ok;  // `*` sets every bit: only the other one restricts
    }
    return day_ok || weekday_ok;
}

TimeZone TimeZone::Load(const std::string& name) {
    TimeZone zone;
    zone.name_ = name;
    if (name == "UTC" || name == "Etc/UTC" || name.empty()) {
        zone.name_ = "UTC";
        return zone;
    }
    const bool safe = name.find("..") == std::string::npos && name.front() != '/';
    std::ifstream in(safe ? "/usr/share/zoneinfo/" + name : "", std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto be32 = [&](size_t at) {
        return static_cast<int32_t>(static_cast<uint32_t>(static_cast<unsigned char>(data[at])) << 24 |
                                    static_cast<uint32_t>(static_cast<unsigned char>(data[at + 1])) << 16 |
                                    static_cast<uint32_t>(static_cast<unsigned char>(data[at + 2])) << 8 |
                                    static_cast<uint32_t>(static_cast<unsigned char>(data[at + 3])));
    };
    auto be64 = [&](size_t at) {
        return static_cast<int64_t>(static_cast<uint64_t>(static_cast<uint32_t>(be32(at))) << 32 |
                                    static_cast<uint32_t>(be32(at + 4)));
    };
    const auto fail = [&] {
        return Error(ErrorKind::kConfig, fmt::format("timezone '{}' is not in the tz database (/usr/share/zoneinfo); "
                                                     "write a name such as Europe/Paris or UTC",
                                                     name));
    };
    if (data.size() < 44 || data.compare(0, 4, "TZif") != 0 || data[4] < '2') {
        throw fail();
    }
    // Skip the version 1 block (32-bit times) to the version 2 one (64-bit).
    auto counts = [&](size_t at) {
        return std::array<int64_t, 6>{be32(at + 20), be32(at + 24), be32(at + 28), be32(at + 32), be32(at + 36),
                                      be32(at + 40)};  // isut, isstd, leap, time, type, char
    };
    const auto v1 = counts(0);
    const size_t v2 = 44 + static_cast<size_t>(v1[3] * 5 + v1[4] * 6 + v1[5] + v1[2] * 8 + v1[1] + v1[0]);
    if (data.size() < v2 + 44) {
        throw fail();
    }
    const auto c = counts(v2);
    const size_t times = v2 + 44;
    const size_t indices = times + static_cast<size_t>(c[3]) * 8;
    const size_t types = indices + static_cast<size_t>(c[3]);
    if (data.size() < types + static_cast<size_t>(c[4]) * 6 || c[4] == 0) {
        throw fail();
    }
    auto offset_of = [&](size_t type) { return be32(types + type * 6); };
    zone.initial_ = offset_of(0);
    for (int64_t i = 0; i < c[3]; ++i) {
        zone.transitions_.push_back(be64(times + static_cast<size_t>(i) * 8));
        const size_t type = static_cast<unsigned char>(data[indices + static_cast<size_t>(i)]);
        if (type >= static_cast<size_t>(c[4])) {
            throw fail();
        }
        zone.offsets_.push_back(offset_of(type));
    }
    return zone;
}

int64_t TimeZone::OffsetAt(int64_t utc) const {
    const auto it = std::upper_bound(transitions_.begin(), transitions_.end(), utc);
    if (it == transitions_.begin()) {
        return initial_;
    }
    return offsets_[static_cast<size_t>(it - transitions_.begin() - 1)];
}

std::optional<int64_t> LastFiring(const CronSchedule& schedule, const TimeZone& zone, int64_t now) {
    int64_t minute = now - ((now % 60) + 60) % 60;
    for (int64_t i = 0; i < 366 * 24 * 60; ++i, minute -= 60) {
        const int64_t local = minute + zone.OffsetAt(minute);
        const int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
        const int64_t seconds = local - days * 86400;
        int64_t year = 0;
        unsigned month = 0;
        unsigned day = 0;
        CivilFromDays(days, year, month, day);
        const int weekday = static_cast<int>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday (4)
        if (schedule.Matches(static_cast<int>(seconds / 60 % 60), static_cast<int>(seconds / 3600),
                             static_cast<int>(day), static_cast<int>(month), weekday)) {
            return minute;
        }
    }
    return std::nullopt;
}

}  // namespace sluice
