// Date and time functions. Timestamps are microseconds since 1970 UTC and there is no session
// time zone: everything PostgreSQL does in the session's zone (date_trunc and extract on a
// timestamptz, a date widened to timestamptz) is done here as a session with TimeZone=UTC does.
//
// to_date and to_timestamp with a template are in expr_template.cpp.
//
// Differences from PostgreSQL 15:
// - Timestamps end in 294247 AD (an int64 of microseconds since 1970), PostgreSQL's in 294276.
// - extract/date_part refuse the unit julian, to_date/to_timestamp the template patterns
//   CC, I*, IW, W, WW, RM, OF, TZ and Y,YYY (PostgreSQL 15 accepts all but OF and TZ): both
//   when the job is planned, so nothing is silently read differently.
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


bool Finite(int64_t micros) { return micros != INT64_MIN && micros != INT64_MAX; }

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0); }

/// Days since 1970 of a proleptic Gregorian date, for any year (core's DaysFromCivil narrows to
/// int32, which month arithmetic on extreme values can overflow).
int64_t DaysFrom(int64_t year, int64_t month, int64_t day) {
    year -= month <= 2 ? 1 : 0;
    const int64_t era = FloorDiv(year, 400);
    const int64_t yoe = year - era * 400;
    const int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

}  // namespace

bool IsLeap(int64_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int64_t DaysInMonth(int64_t year, int64_t month) {
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && IsLeap(year) ? 29 : kDays[month - 1];
}

namespace {

/// A calendar date; `year` is astronomical (1 BC is year 0), as PostgreSQL's internal tm_year.
struct Civil {
    int64_t year = 0;
    int64_t month = 1;
    int64_t day = 1;
};

Civil ToCivil(int64_t days) {
    Civil c;
    unsigned m = 0, d = 0;
    CivilFromDays(days, c.year, m, d);
    c.month = m;
    c.day = d;
    return c;
}

int64_t Weekday(int64_t days) { return ((days + 4) % 7 + 7) % 7; }  // 0 = Sunday; 1970-01-01 was a Thursday

/// The ISO 8601 year and week of a day: weeks start on Monday and belong to the year that
/// holds their Thursday.
std::pair<int64_t, int64_t> IsoWeek(int64_t days) {
    const int64_t thursday = days - (Weekday(days) + 6) % 7 + 3;
    const int64_t year = ToCivil(thursday).year;
    return {year, (thursday - DaysFrom(year, 1, 1)) / 7 + 1};
}

}  // namespace

/// PostgreSQL's timestamp + interval, with its order of operations. Where PostgreSQL reports
/// "timestamp out of range", this saturates to the largest finite timestamps (INT64_MIN + 1,
/// INT64_MAX - 1), never to an infinity; no caller can report a row error through this
/// signature, and a value that far out is refused when it is loaded into PostgreSQL.
int64_t AddInterval(int64_t micros, const Interval& interval, int sign) {
    if (!Finite(micros)) {
        return micros;
    }
    int64_t days = FloorDiv(micros, kMicrosPerDay);
    const int64_t time = micros - days * kMicrosPerDay;
    if (interval.months != 0) {
        Civil c = ToCivil(days);
        const int64_t total = c.year * 12 + (c.month - 1) + sign * static_cast<int64_t>(interval.months);
        c.year = FloorDiv(total, 12);
        c.month = total - c.year * 12 + 1;
        c.day = std::min(c.day, DaysInMonth(c.year, c.month));  // Jan 31 + 1 month = Feb 28/29
        days = DaysFrom(c.year, c.month, c.day);
    }
    days += sign * static_cast<int64_t>(interval.days);
    // Day and time first, then the interval's time: past the range either way saturates.
    const int64_t shift = sign < 0 && interval.micros == INT64_MIN ? INT64_MAX : sign * interval.micros;
    int64_t result = 0;
    const bool overflow = __builtin_mul_overflow(days, kMicrosPerDay, &result) ||
                          __builtin_add_overflow(result, time, &result) || __builtin_add_overflow(result, shift, &result);
    if (overflow || !Finite(result)) {
        const bool high = overflow ? days > 0 || (days == 0 && shift > 0) : result == INT64_MAX;
        return high ? INT64_MAX - 1 : INT64_MIN + 1;
    }
    return result;
}

namespace {

// ---- units ------------------------------------------------------------------------------

enum class Unit {
    kMicroseconds, kMilliseconds, kSecond, kMinute, kHour, kDay, kWeek, kMonth, kQuarter, kYear, kDecade,
    kCentury, kMillennium, kEpoch, kDow, kIsoDow, kDoy, kIsoYear, kTimezone, kTimezoneHour, kTimezoneMinute, kJulian,
};

/// PostgreSQL's spellings of units (its deltatktbl plus the special words).
struct UnitName {
    std::string_view name;
    Unit unit;
};
constexpr UnitName kUnitNames[] = {
    {"c", Unit::kCentury}, {"cent", Unit::kCentury}, {"centuries", Unit::kCentury}, {"century", Unit::kCentury},
    {"d", Unit::kDay}, {"day", Unit::kDay}, {"days", Unit::kDay},
    {"dec", Unit::kDecade}, {"decade", Unit::kDecade}, {"decades", Unit::kDecade}, {"decs", Unit::kDecade},
    {"h", Unit::kHour}, {"hour", Unit::kHour}, {"hours", Unit::kHour}, {"hr", Unit::kHour}, {"hrs", Unit::kHour},
    {"m", Unit::kMinute}, {"min", Unit::kMinute}, {"mins", Unit::kMinute}, {"minute", Unit::kMinute},
    {"minutes", Unit::kMinute},
    {"microsecon", Unit::kMicroseconds}, {"us", Unit::kMicroseconds}, {"usec", Unit::kMicroseconds},
    {"useconds", Unit::kMicroseconds}, {"usecs", Unit::kMicroseconds},
    {"mil", Unit::kMillennium}, {"millennia", Unit::kMillennium}, {"millennium", Unit::kMillennium},
    {"mils", Unit::kMillennium},
    {"millisecon", Unit::kMilliseconds}, {"ms", Unit::kMilliseconds}, {"msec", Unit::kMilliseconds},
    {"mseconds", Unit::kMilliseconds}, {"msecs", Unit::kMilliseconds},
    {"mon", Unit::kMonth}, {"mons", Unit::kMonth}, {"month", Unit::kMonth}, {"months", Unit::kMonth},
    {"qtr", Unit::kQuarter}, {"quarter", Unit::kQuarter},
    {"s", Unit::kSecond}, {"sec", Unit::kSecond}, {"second", Unit::kSecond}, {"seconds", Unit::kSecond},
    {"secs", Unit::kSecond},
    {"timezone", Unit::kTimezone}, {"timezone_h", Unit::kTimezoneHour}, {"timezone_m", Unit::kTimezoneMinute},
    {"w", Unit::kWeek}, {"week", Unit::kWeek}, {"weeks", Unit::kWeek},
    {"y", Unit::kYear}, {"year", Unit::kYear}, {"years", Unit::kYear}, {"yr", Unit::kYear}, {"yrs", Unit::kYear},
    {"epoch", Unit::kEpoch}, {"dow", Unit::kDow}, {"isodow", Unit::kIsoDow}, {"doy", Unit::kDoy},
    {"isoyear", Unit::kIsoYear}, {"j", Unit::kJulian}, {"jd", Unit::kJulian}, {"julian", Unit::kJulian},
};

/// Looks a unit up as PostgreSQL does: case-insensitively, on its first 10 characters.
std::optional<Unit> ParseUnit(std::string_view text) {
    std::string lower = ChangeCase(text.substr(0, 10), false);
    for (const UnitName& u : kUnitNames) {
        if (u.name == lower) {
            return u.unit;
        }
    }
    return std::nullopt;
}

/// The unit of a date_trunc/extract/date_part call: its first argument, which must be a
/// constant so that it is checked when the job is planned.
std::optional<Unit> ConstantUnit(const std::string& function, const ArgInfo& arg, std::string_view known) {
    if (arg.null_literal) {
        return std::nullopt;
    }
    if (!arg.constant) {
        throw ExprError(arg.offset, fmt::format("{}: the unit must be a constant such as 'month'", function));
    }
    auto unit = ParseUnit(*arg.constant);
    if (!unit) {
        throw ExprError(arg.offset, fmt::format("{}: unit \"{}\" not recognized; use one of {}", function, *arg.constant,
                                                known));
    }
    return unit;
}

/// A column of `rows` NULLs of the call's result type (a NULL unit).
Column AllNull(const KernelCall& call) {
    Column out(call.result);
    out.Reserve(call.rows);
    for (size_t row = 0; row < call.rows; ++row) {
        out.AppendNull();
    }
    return out;
}

/// The type a temporal argument is taken as: its own, or timestamptz for a '...' literal.
DataType TemporalArg(const std::string& name, const std::vector<ArgInfo>& args, size_t i, size_t offset,
                     const std::string& usage) {
    if (args[i].null_literal || args[i].string_literal) {
        return MakeType(LogicalType::kTimestampTz);
    }
    if (!IsTemporalType(args[i].type.id)) {
        NoOverload(name, args, offset, usage);
    }
    return args[i].type;
}

// ---- date_trunc -------------------------------------------------------------------------

constexpr std::string_view kTruncUnits =
    "microseconds, milliseconds, second, minute, hour, day, week, month, quarter, year, decade, century, millennium";

/// date_trunc of a finite timestamp, with PostgreSQL's rules for years before 1 AD.
int64_t Truncate(Unit unit, int64_t micros) {
    const int64_t days = FloorDiv(micros, kMicrosPerDay);
    auto floor_to = [micros](int64_t step) { return FloorDiv(micros, step) * step; };
    Civil c = ToCivil(days);
    switch (unit) {
        case Unit::kMicroseconds: return micros;
        case Unit::kMilliseconds: return floor_to(1000);
        case Unit::kSecond: return floor_to(kMicrosPerSecond);
        case Unit::kMinute: return floor_to(kMicrosPerMinute);
        case Unit::kHour: return floor_to(kMicrosPerHour);
        case Unit::kDay: return days * kMicrosPerDay;
        case Unit::kWeek: return (days - (Weekday(days) + 6) % 7) * kMicrosPerDay;
        case Unit::kMillennium:
            c.year = c.year > 0 ? ((c.year + 999) / 1000) * 1000 - 999 : -((999 - (c.year - 1)) / 1000) * 1000 + 1;
            c.month = 1;
            break;
        case Unit::kCentury:
            c.year = c.year > 0 ? ((c.year + 99) / 100) * 100 - 99 : -((99 - (c.year - 1)) / 100) * 100 + 1;
            c.month = 1;
            break;
        case Unit::kDecade:
            c.year = c.year > 0 ? (c.year / 10) * 10 : -((8 - (c.year - 1)) / 10) * 10;
            c.month = 1;
            break;
        case Unit::kYear: c.month = 1; break;
        case Unit::kQuarter: c.month = 3 * ((c.month - 1) / 3) + 1; break;
        default: break;  // kMonth
    }
    return DaysFrom(c.year, c.month, 1) * kMicrosPerDay;
}

/// date_trunc(unit, timestamp | timestamptz | date): a date becomes a timestamptz, as in
/// PostgreSQL (which picks date_trunc(text, timestamptz) for it).
void RegisterDateTrunc(FunctionTable& table) {
    static const std::string kUsage = "date_trunc('unit', timestamp | timestamptz | date) -> timestamp | timestamptz";
    table["date_trunc"] = {
        [](const std::vector<ArgInfo>& args, size_t offset) {
            ExpectArgs("date_trunc", args, 2, 2, offset, kUsage);
            DataType type = TemporalArg("date_trunc", args, 1, offset, kUsage);
            if (type.id == LogicalType::kDate) {
                type = MakeType(LogicalType::kTimestampTz);
            }
            const std::optional<Unit> unit = ConstantUnit("date_trunc", args[0], kTruncUnits);
            if (unit && *unit > Unit::kMillennium) {
                throw ExprError(args[0].offset, fmt::format("date_trunc: unit \"{}\" not supported; use one of {}",
                                                            *args[0].constant, kTruncUnits));
            }
            Kernel kernel = [unit](const KernelCall& call) {
                if (!unit) {
                    return AllNull(call);
                }
                return MapRows<int64_t, std::string_view, int64_t>(
                    call, [u = *unit](size_t, std::string_view, int64_t t) -> std::optional<int64_t> {
                        return Finite(t) ? Truncate(u, t) : t;
                    });
            };
            return Resolution{type, {MakeType(LogicalType::kText), type}, kernel, nullptr};
        },
        kUsage};
}

// ---- extract and date_part --------------------------------------------------------------

constexpr std::string_view kExtractUnits =
    "microseconds, milliseconds, second, minute, hour, day, week, month, quarter, year, decade, century, millennium, "
    "epoch, dow, isodow, doy, isoyear, timezone, timezone_hour, timezone_minute";

/// One unit's value: `value` / 10^`scale` exactly (extract's numeric) and `real` as
/// PostgreSQL's date_part computes it in double precision.
struct Part {
    int64_t value = 0;
    int scale = 0;
    double real = 0;
};

Part Whole(int64_t v) { return {v, 0, static_cast<double>(v)}; }

/// The value of `unit` at a finite time (a date is its midnight).
Part UnitValue(Unit unit, int64_t micros, bool is_date) {
    const int64_t days = FloorDiv(micros, kMicrosPerDay);
    const int64_t time = micros - days * kMicrosPerDay;
    const int64_t second_micros = time % kMicrosPerMinute;  // seconds and fraction within the minute
    const Civil c = ToCivil(days);
    const int64_t sec = second_micros / kMicrosPerSecond;
    const int64_t frac = second_micros % kMicrosPerSecond;
    switch (unit) {
        case Unit::kMicroseconds: return Whole(second_micros);
        case Unit::kMilliseconds: return {second_micros, 3, sec * 1000.0 + frac / 1000.0};
        case Unit::kSecond: return {second_micros, 6, sec + frac / 1000000.0};
        case Unit::kMinute: return Whole(time / kMicrosPerMinute % 60);
        case Unit::kHour: return Whole(time / kMicrosPerHour);
        case Unit::kDay: return Whole(c.day);
        case Unit::kMonth: return Whole(c.month);
        case Unit::kQuarter: return Whole((c.month - 1) / 3 + 1);
        case Unit::kWeek: return Whole(IsoWeek(days).second);
        case Unit::kYear: return Whole(c.year > 0 ? c.year : c.year - 1);  // there is no year 0
        case Unit::kDecade: return Whole(c.year > 0 ? c.year / 10 : -((8 - (c.year - 1)) / 10));
        case Unit::kCentury: return Whole(c.year > 0 ? (c.year + 99) / 100 : -((99 - (c.year - 1)) / 100));
        case Unit::kMillennium: return Whole(c.year > 0 ? (c.year + 999) / 1000 : -((999 - (c.year - 1)) / 1000));
        case Unit::kIsoYear: {
            const int64_t y = IsoWeek(days).first;
            return Whole(y > 0 ? y : y - 1);
        }
        case Unit::kDow: return Whole(Weekday(days));
        case Unit::kIsoDow: return Whole(Weekday(days) == 0 ? 7 : Weekday(days));
        case Unit::kDoy: return Whole(days - DaysFrom(c.year, 1, 1) + 1);
        case Unit::kEpoch:
            if (is_date) {
                return Whole(days * 86400);
            }
            return {micros, 6, static_cast<double>(micros) / 1000000.0};
        default: return Whole(0);  // time zone units: the session zone is UTC
    }
}

/// Units that keep growing with time: an infinite input gives an infinite value for them and
/// NULL for the others (PostgreSQL 15).
bool Monotonic(Unit unit) {
    return unit == Unit::kYear || unit == Unit::kDecade || unit == Unit::kCentury || unit == Unit::kMillennium ||
           unit == Unit::kIsoYear || unit == Unit::kEpoch;
}

/// Reads row `row` of a date, timestamp or timestamptz column as microseconds (infinities kept).
int64_t ReadMicros(const Column& c, size_t row) {
    if (c.type().id != LogicalType::kDate) {
        return c.Get<int64_t>(row);
    }
    const int32_t d = c.Get<int32_t>(row);
    return d == INT32_MIN ? INT64_MIN : d == INT32_MAX ? INT64_MAX : static_cast<int64_t>(d) * kMicrosPerDay;
}

/// Checks a unit against the argument's type as PostgreSQL does, at plan time.
void CheckUnitForType(const std::string& function, Unit unit, LogicalType type, const ArgInfo& unit_arg) {
    const bool time_unit = unit <= Unit::kHour;
    const bool zone_unit = unit == Unit::kTimezone || unit == Unit::kTimezoneHour || unit == Unit::kTimezoneMinute;
    std::string problem;
    if (unit == Unit::kJulian) {
        problem = "is not available here";
    } else if (type == LogicalType::kDate && (time_unit || zone_unit)) {
        problem = "not supported for date";
    } else if (type == LogicalType::kTimestamp && zone_unit) {
        problem = "not supported for timestamp (it has no time zone)";
    }
    if (!problem.empty()) {
        throw ExprError(unit_arg.offset, fmt::format("{}: unit \"{}\" {}; use one of {}", function, *unit_arg.constant,
                                                     problem, kExtractUnits));
    }
}

/// extract (numeric, exact) and date_part (double precision).
void RegisterExtract(FunctionTable& table, const std::string& name, bool numeric) {
    const std::string usage = numeric ? "extract(unit FROM date | timestamp | timestamptz) -> decimal"
                                      : "date_part('unit', date | timestamp | timestamptz) -> float64";
    table[name] = {
        [name, numeric, usage](const std::vector<ArgInfo>& args, size_t offset) {
            ExpectArgs(name, args, 2, 2, offset, usage);
            DataType type = TemporalArg(name, args, 1, offset, usage);
            if (!numeric && type.id == LogicalType::kDate) {
                type = MakeType(LogicalType::kTimestampTz);  // date_part has no date variant in PostgreSQL
            }
            const std::optional<Unit> unit = ConstantUnit(name, args[0], kExtractUnits);
            if (unit) {
                CheckUnitForType(name, *unit, type.id, args[0]);
            }
            const DataType result = MakeType(numeric ? LogicalType::kDecimal : LogicalType::kFloat64);
            Kernel kernel = [unit, numeric](const KernelCall& call) {
                if (!unit) {
                    return AllNull(call);
                }
                const Column& in = *call.args[1];
                const bool is_date = in.type().id == LogicalType::kDate;
                Column out(call.result);
                out.Reserve(call.rows);
                for (size_t row = 0; row < call.rows; ++row) {
                    if (in.IsNull(row)) {
                        out.AppendNull();
                        continue;
                    }
                    const int64_t t = ReadMicros(in, row);
                    if (!Finite(t)) {
                        if (!Monotonic(*unit)) {
                            out.AppendNull();
                        } else if (numeric) {
                            out.AppendBytes(t > 0 ? "Infinity" : "-Infinity");
                        } else {
                            out.Append<double>(t > 0 ? HUGE_VAL : -HUGE_VAL);
                        }
                        continue;
                    }
                    const Part part = UnitValue(*unit, t, is_date);
                    if (numeric) {
                        out.AppendBytes(FormatDecimal(Decimal{part.value, part.scale}));
                    } else {
                        out.Append<double>(part.real);
                    }
                }
                return out;
            };
            return Resolution{result, {MakeType(LogicalType::kText), type}, kernel, nullptr};
        },
        usage};
}

// ---- make_date, to_timestamp(number), now ------------------------------------------------

}  // namespace

/// Days since 1970 of a date PostgreSQL accepts, or an error message.
std::optional<int64_t> ValidDate(int64_t year, int64_t month, int64_t day, std::string& error) {
    if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month)) {
        error = "date/time field value out of range";
        return std::nullopt;
    }
    const int64_t days = DaysFrom(year, month, day);
    if (days < kFirstDay || days > kLastDay) {
        error = "date out of range";
        return std::nullopt;
    }
    return days;
}

namespace {

void RegisterMakeDate(FunctionTable& table) {
    static const std::string kUsage = "make_date(year integer, month integer, day integer) -> date";
    table["make_date"] = {
        [](const std::vector<ArgInfo>& args, size_t offset) {
            ExpectArgs("make_date", args, 3, 3, offset, kUsage);
            for (const ArgInfo& a : args) {
                if (!a.null_literal && !a.string_literal && !IsIntegerType(a.type.id)) {
                    NoOverload("make_date", args, offset, kUsage);
                }
            }
            const DataType i64 = MakeType(LogicalType::kInt64);
            return Resolution{MakeType(LogicalType::kDate), {i64, i64, i64}, [](const KernelCall& call) {
                                  return MapRows<int32_t, int64_t, int64_t, int64_t>(
                                      call, [&call](size_t row, int64_t y, int64_t m, int64_t d) -> std::optional<int32_t> {
                                          // Negative years are BC: -44 is 44 BC, astronomical -43.
                                          std::string error;
                                          auto days = y == 0 ? std::nullopt : ValidDate(y < 0 ? y + 1 : y, m, d, error);
                                          if (!days) {
                                              call.errors.Fail(row, fmt::format("date field value out of range: {}-{:02}-{:02}",
                                                                                y, m, d));
                                              return std::nullopt;
                                          }
                                          return static_cast<int32_t>(*days);
                                      });
                              },
                              nullptr};
        },
        kUsage};
}

}  // namespace

/// to_timestamp(seconds since 1970) as PostgreSQL: infinities stay, NaN and values outside
/// its timestamp range are errors, rounding to the microsecond is done relative to 2000-01-01.
std::optional<int64_t> EpochSeconds(double seconds, std::string& error) {
    if (std::isnan(seconds)) {
        error = "timestamp cannot be NaN";
        return std::nullopt;
    }
    if (std::isinf(seconds)) {
        return seconds > 0 ? INT64_MAX : INT64_MIN;
    }
    constexpr double kPgEpoch = 946'684'800.0;  // 2000-01-01 in Unix seconds
    constexpr double kLowest = static_cast<double>(kFirstDay) * 86400;
    constexpr double kBeyondInt64 = 9'223'372'036'854'775'808.0;  // 2^63
    const double micros = std::rint((seconds - kPgEpoch) * 1e6) + kPgEpoch * 1e6;
    if (seconds < kLowest || micros >= kBeyondInt64) {
        Column c(MakeType(LogicalType::kFloat64));
        c.Append<double>(seconds);
        error = fmt::format("timestamp out of range: \"{}\"", FormatValue(c, 0));
        return std::nullopt;
    }
    return static_cast<int64_t>(micros);
}

namespace {

}  // namespace

void RegisterTimeFunctions(FunctionTable& table) {
    table["now"] = {[](const std::vector<ArgInfo>& args, size_t offset) {
                        ExpectArgs("now", args, 0, 0, offset, "now()");
                        return Resolution{MakeType(LogicalType::kTimestampTz), {}, [](const KernelCall& call) {
                                              ColumnWriter<int64_t> out(call.result, call.rows);
                                              for (size_t row = 0; row < call.rows; ++row) {
                                                  out.Put(row, call.env.run_started_micros);
                                              }
                                              return out.Finish();
                                          },
                                          nullptr};
                    },
                    "now() -> timestamptz (when the run started; a resumed run keeps it)", true};
    RegisterDateTrunc(table);
    RegisterExtract(table, "extract", true);
    RegisterExtract(table, "date_part", false);
    RegisterMakeDate(table);
    RegisterTemplateFunctions(table);
}

}  // namespace sluice::expr
