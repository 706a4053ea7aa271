#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

/// A job's `schedule:`: five cron fields "minute hour day-of-month month day-of-week" (each
/// `*`, a number, a range `a-b`, a step `*/n` or `a-b/n`, or a list of those; months and week
/// days also by name; Sunday is 0 or 7), or @hourly, @daily (@midnight), @weekly, @monthly,
/// @yearly (@annually). As in cron, when both day fields are restricted either one matching is
/// enough.
class CronSchedule {
public:
    /// Throws Error(kConfig) saying which field is wrong and what is allowed.
    static CronSchedule Parse(std::string_view text);
    /// Whether it fires at this local minute (`weekday` 0 = Sunday).
    bool Matches(int minute, int hour, int day, int month, int weekday) const;

private:
    std::bitset<60> minutes_;
    std::bitset<24> hours_;
    std::bitset<32> days_;
    std::bitset<13> months_;
    std::bitset<8> weekdays_;
    bool any_day_ = true;      ///< day of month is `*`
    bool any_weekday_ = true;  ///< day of week is `*`
};

/// A time zone of the system's tz database (/usr/share/zoneinfo), or UTC. Instants past the
/// database's last transition keep its last offset.
class TimeZone {
public:
    /// Throws Error(kConfig) for a zone the database does not have.
    static TimeZone Load(const std::string& name);
    /// Seconds east of UTC at the instant `utc` (seconds since the epoch).
    int64_t OffsetAt(int64_t utc) const;
    const std::string& name() const { return name_; }

private:
    std::string name_ = "UTC";
    std::vector<int64_t> transitions_;  ///< instants, ascending
    std::vector<int32_t> offsets_;      ///< the offset from each transition on
    int32_t initial_ = 0;               ///< before the first transition
};

/// The latest minute at or before `now` (UTC seconds) at which `schedule` fires in `zone`, as
/// UTC seconds; nullopt when it did not fire in the 366 days before `now`.
std::optional<int64_t> LastFiring(const CronSchedule& schedule, const TimeZone& zone, int64_t now);

}  // namespace sluice
