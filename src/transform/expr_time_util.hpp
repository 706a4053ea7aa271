#pragma once

// Shared by the date and time functions (expr_time.cpp) and to_date / to_timestamp with a
// template (expr_template.cpp).

#include <cstdint>
#include <optional>
#include <string>

#include "transform/expr_functions.hpp"

namespace sluice::expr {

inline constexpr int64_t kMicrosPerSecond = 1'000'000;
inline constexpr int64_t kMicrosPerMinute = 60 * kMicrosPerSecond;
inline constexpr int64_t kMicrosPerHour = 60 * kMicrosPerMinute;
inline constexpr int64_t kMicrosPerDay = 24 * kMicrosPerHour;
/// PostgreSQL's first valid day, 4714-11-24 BC (Julian day 0), as days since 1970.
inline constexpr int64_t kFirstDay = -2'440'588;
/// PostgreSQL's last valid date, 5874897-12-31, as days since 1970.
inline constexpr int64_t kLastDay = 2'145'042'905;

bool IsLeap(int64_t year);
/// Days of `month` (1-12) in `year` (astronomical).
int64_t DaysInMonth(int64_t year, int64_t month);
/// Days since 1970 of a date PostgreSQL accepts, or nullopt with `error` set.
std::optional<int64_t> ValidDate(int64_t year, int64_t month, int64_t day, std::string& error);
/// to_timestamp(seconds since 1970) as PostgreSQL, or nullopt with `error` set.
std::optional<int64_t> EpochSeconds(double seconds, std::string& error);

void RegisterTemplateFunctions(FunctionTable& table);

}  // namespace sluice::expr
