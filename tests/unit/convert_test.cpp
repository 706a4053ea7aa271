#include "core/convert.hpp"

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include <gtest/gtest.h>

namespace sluice {
namespace {

/// Parses `text` as `type` and returns PostgreSQL's text form, or "ERROR: <message>".
std::string Convert(const char* type_name, std::string_view text) {
    Column column(*ParseTypeName(type_name));
    Status status = AppendParsed(column, text);
    if (!status.ok()) {
        EXPECT_EQ(column.size(), 0u) << "a failed parse must append nothing";
        return "ERROR: " + status.message();
    }
    EXPECT_EQ(column.size(), 1u);
    return FormatValue(column, 0);
}

/// Asserts text → value → text gives `text` back, and that the output parses again to itself.
void ExpectRoundTrip(const char* type_name, std::string_view text) {
    const std::string once = Convert(type_name, text);
    EXPECT_EQ(once, text) << type_name;
    EXPECT_EQ(Convert(type_name, once), once) << type_name;
}

TEST(Convert, Bool) {
    for (const char* yes : {"true", "TRUE", "t", "T", "yes", "y", "on", "1", " true ", "tru"}) {
        EXPECT_EQ(Convert("bool", yes), "t") << yes;
    }
    for (const char* no : {"false", "F", "f", "no", "N", "off", "OFF", "0", "fal"}) {
        EXPECT_EQ(Convert("bool", no), "f") << no;
    }
    EXPECT_EQ(Convert("bool", "maybe"), "ERROR: 'maybe' is not a valid bool");
    EXPECT_EQ(Convert("bool", ""), "ERROR: '' is not a valid bool");
    EXPECT_EQ(Convert("bool", "o"), "ERROR: 'o' is not a valid bool");
}

TEST(Convert, IntegersWithRangeChecks) {
    ExpectRoundTrip("int64", "-9223372036854775808");
    ExpectRoundTrip("int64", "9223372036854775807");
    ExpectRoundTrip("int32", "-2147483648");
    ExpectRoundTrip("int16", "32767");
    EXPECT_EQ(Convert("int64", "+42"), "42");
    EXPECT_EQ(Convert("int64", "  7 "), "7");
    EXPECT_EQ(Convert("int64", "12x"), "ERROR: '12x' is not a valid int64");
    EXPECT_EQ(Convert("int64", "9223372036854775808"),
              "ERROR: '9223372036854775808' is out of range for int64");
    EXPECT_EQ(Convert("int32", "2147483648"), "ERROR: '2147483648' is out of range for int32");
    EXPECT_EQ(Convert("int16", "-32769"), "ERROR: '-32769' is out of range for int16");
    EXPECT_EQ(Convert("int64", ""), "ERROR: '' is not a valid int64");
    EXPECT_EQ(Convert("int64", "+-1"), "ERROR: '+-1' is not a valid int64");
    EXPECT_EQ(Convert("int64", "1.0"), "ERROR: '1.0' is not a valid int64");
}

TEST(Convert, FloatsUseShortestRoundTripInPostgresLayout) {
    ExpectRoundTrip("float64", "1.5");
    ExpectRoundTrip("float64", "0.1");
    ExpectRoundTrip("float64", "-0");
    ExpectRoundTrip("float64", "100");
    ExpectRoundTrip("float64", "123456789012345");
    ExpectRoundTrip("float64", "1e+15");
    ExpectRoundTrip("float64", "0.0001");
    ExpectRoundTrip("float64", "1e-05");
    ExpectRoundTrip("float64", "1.7976931348623157e+308");
    ExpectRoundTrip("float64", "5e-324");
    ExpectRoundTrip("float64", "NaN");
    ExpectRoundTrip("float64", "Infinity");
    ExpectRoundTrip("float64", "-Infinity");
    ExpectRoundTrip("float32", "3.4028235e+38");
    ExpectRoundTrip("float32", "0.1");
    EXPECT_EQ(Convert("float64", "+2.50"), "2.5");
    EXPECT_EQ(Convert("float64", "1000000"), "1000000");
    EXPECT_EQ(Convert("float32", "1000000"), "1e+06");
    EXPECT_EQ(Convert("float64", "-inf"), "-Infinity");
    EXPECT_EQ(Convert("float64", "nan"), "NaN");
    EXPECT_EQ(Convert("float64", ".5"), "0.5");
    EXPECT_EQ(Convert("float64", "abc"), "ERROR: 'abc' is not a valid float64");
    EXPECT_EQ(Convert("float64", "1e400"), "ERROR: '1e400' is out of range for float64");
    EXPECT_EQ(Convert("float32", "1e39"), "ERROR: '1e39' is out of range for float32");
    EXPECT_EQ(Convert("float64", "1.5.2"), "ERROR: '1.5.2' is not a valid float64");
}

TEST(Convert, FloatRoundTripIsExactForRandomBits) {
    std::mt19937_64 rng(42);
    Column column(MakeType(LogicalType::kFloat64));
    for (int i = 0; i < 20000; ++i) {
        uint64_t bits = rng();
        double value = 0;
        std::memcpy(&value, &bits, sizeof value);
        if (std::isnan(value))
            continue;
        column.Clear();
        column.Append(value);
        const std::string text = FormatValue(column, 0);
        Column back(MakeType(LogicalType::kFloat64));
        ASSERT_TRUE(AppendParsed(back, text).ok()) << text;
        ASSERT_EQ(back.Get<double>(0), value) << text;
    }
}

TEST(Convert, DecimalWithPrecisionAndScaleRoundsAndOverflowsLikePostgres) {
    EXPECT_EQ(Convert("numeric(10,2)", "1.005"), "1.01");
    EXPECT_EQ(Convert("numeric(10,2)", "-0.004"), "0.00");
    EXPECT_EQ(Convert("numeric(10,2)", "-0.005"), "-0.01");
    EXPECT_EQ(Convert("numeric(3,2)", "9.995"), "ERROR: '9.995' does not fit decimal(3,2): at most 1 digit(s) before the point (numeric field overflow)");
    EXPECT_EQ(Convert("numeric(10,2)", "12345678.994"), "12345678.99");
    EXPECT_EQ(Convert("numeric(10,2)", "123456789012.345"), "ERROR: '123456789012.345' does not fit decimal(10,2): at most 8 digit(s) before the point (numeric field overflow)");
    EXPECT_EQ(Convert("numeric(1,0)", "0.5"), "1");
    EXPECT_EQ(Convert("numeric(10,2)", "7"), "7");  // the value fits; PostgreSQL shows 7.00
    EXPECT_EQ(Convert("numeric(10,2)", "1.5e3"), "1500");
    EXPECT_EQ(Convert("numeric(12,2)", "NaN"), "NaN");
    EXPECT_NE(Convert("numeric(12,2)", "Infinity").find("does not fit"), std::string::npos);
}

TEST(Convert, DecimalKeepsExactDigits) {
    ExpectRoundTrip("decimal", "12345678901234567890.123456789012345678");
    ExpectRoundTrip("decimal", "-12.50");
    ExpectRoundTrip("decimal", "0");
    ExpectRoundTrip("decimal", "0.000");
    ExpectRoundTrip("decimal", "NaN");
    ExpectRoundTrip("decimal", "Infinity");
    ExpectRoundTrip("numeric(12,2)", "-12.50");
    EXPECT_EQ(Convert("decimal", "+1.10"), "1.10");
    EXPECT_EQ(Convert("decimal", "007.5"), "7.5");
    EXPECT_EQ(Convert("decimal", ".5"), "0.5");
    EXPECT_EQ(Convert("decimal", "5."), "5");
    EXPECT_EQ(Convert("decimal", "-0.00"), "0.00");
    EXPECT_EQ(Convert("decimal", "nan"), "NaN");
    EXPECT_EQ(Convert("decimal", "1.5e2"), "150");
    EXPECT_EQ(Convert("decimal", "1.25E-3"), "0.00125");
    EXPECT_EQ(Convert("decimal", "1e+20"), "100000000000000000000");
    EXPECT_EQ(Convert("decimal", " 3 "), "3");
    EXPECT_EQ(Convert("decimal", "1,5"), "ERROR: '1,5' is not a valid decimal");
    EXPECT_EQ(Convert("decimal", "."), "ERROR: '.' is not a valid decimal");
    EXPECT_EQ(Convert("decimal", "1e"), "ERROR: '1e' is not a valid decimal");
    EXPECT_EQ(Convert("decimal", "-"), "ERROR: '-' is not a valid decimal");
    EXPECT_EQ(Convert("decimal", "1e+-5"), "ERROR: '1e+-5' is not a valid decimal");
    EXPECT_EQ(Convert("decimal", "1e-400000"), "ERROR: '1e-400000' is out of range for decimal");
    EXPECT_EQ(Convert("numeric(10,2)", "x"), "ERROR: 'x' is not a valid decimal(10,2)");
}

TEST(Convert, TextJsonAndArraysAreKeptAsIs) {
    ExpectRoundTrip("text", "");
    ExpectRoundTrip("text", "  héllo, \"world\"\n");
    ExpectRoundTrip("jsonb", R"({"a": [1, 2]})");
    ExpectRoundTrip("int[]", "{1,2,NULL}");
}

TEST(Convert, Bytea) {
    ExpectRoundTrip("bytea", "\\x");
    ExpectRoundTrip("bytea", "\\x00ff10ab");
    EXPECT_EQ(Convert("bytea", "\\xDEADBEEF"), "\\xdeadbeef");
    EXPECT_EQ(Convert("bytea", "abc"), "\\x616263");
    EXPECT_EQ(Convert("bytea", "a\\\\b\\001"), "\\x615c6201");
    EXPECT_EQ(Convert("bytea", "\\x0g"), "ERROR: '\\x0g' is not a valid bytes");
    EXPECT_EQ(Convert("bytea", "\\x123"), "ERROR: '\\x123' is not a valid bytes");
    EXPECT_EQ(Convert("bytea", "a\\q"), "ERROR: 'a\\q' is not a valid bytes");
}

TEST(Convert, Dates) {
    ExpectRoundTrip("date", "1970-01-01");
    ExpectRoundTrip("date", "0001-01-01");
    ExpectRoundTrip("date", "9999-12-31");
    ExpectRoundTrip("date", "2024-02-29");
    ExpectRoundTrip("date", "0044-03-15 BC");
    ExpectRoundTrip("date", "infinity");
    ExpectRoundTrip("date", "-infinity");
    ExpectRoundTrip("date", "12345-06-07");
    EXPECT_EQ(Convert("date", "2024-1-5"), "2024-01-05");
    EXPECT_EQ(Convert("date", "2024-01-05 13:00:00"), "2024-01-05");
    EXPECT_EQ(Convert("date", "+Infinity"), "infinity");
    EXPECT_EQ(Convert("date", "2023-02-29"), "ERROR: '2023-02-29' is not a valid date");
    EXPECT_EQ(Convert("date", "2024-13-01"), "ERROR: '2024-13-01' is not a valid date");
    EXPECT_EQ(Convert("date", "0000-01-01"), "ERROR: '0000-01-01' is not a valid date");
    EXPECT_EQ(Convert("date", "2024/01/01"), "ERROR: '2024/01/01' is not a valid date");
    EXPECT_EQ(Convert("date", "2024-01-01x"), "ERROR: '2024-01-01x' is not a valid date");
    EXPECT_EQ(Convert("date", ""), "ERROR: '' is not a valid date");
}

TEST(Convert, CivilDayNumbers) {
    EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
    EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
    EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
    // Every day over a few thousand years maps back to itself and days are consecutive.
    int32_t previous = DaysFromCivil(-1000, 1, 1) - 1;
    for (int64_t days = DaysFromCivil(-1000, 1, 1); days < DaysFromCivil(3000, 1, 1); days += 1) {
        int64_t year = 0;
        unsigned month = 0;
        unsigned day = 0;
        CivilFromDays(days, year, month, day);
        ASSERT_EQ(DaysFromCivil(year, month, day), days);
        ASSERT_EQ(DaysFromCivil(year, month, day), previous + 1);
        previous = static_cast<int32_t>(days);
    }
}

TEST(Convert, Times) {
    ExpectRoundTrip("time", "00:00:00");
    ExpectRoundTrip("time", "23:59:59.999999");
    ExpectRoundTrip("time", "24:00:00");
    ExpectRoundTrip("time", "12:30:00.5");
    EXPECT_EQ(Convert("time", "7:05"), "07:05:00");
    EXPECT_EQ(Convert("time", "10:00:00.1234567"), "10:00:00.123457");
    EXPECT_EQ(Convert("time", "10:00:00+02"), "10:00:00");
    EXPECT_EQ(Convert("time", "24:00:01"), "ERROR: '24:00:01' is not a valid time");
    EXPECT_EQ(Convert("time", "12:60:00"), "ERROR: '12:60:00' is not a valid time");
    EXPECT_EQ(Convert("time", "noon"), "ERROR: 'noon' is not a valid time");
}

TEST(Convert, Timestamps) {
    ExpectRoundTrip("timestamp", "1970-01-01 00:00:00");
    ExpectRoundTrip("timestamp", "2024-05-06 07:08:09.123456");
    ExpectRoundTrip("timestamp", "0001-01-01 00:00:00");
    ExpectRoundTrip("timestamp", "9999-12-31 23:59:59.999999");
    ExpectRoundTrip("timestamp", "1969-12-31 23:59:59.5");
    ExpectRoundTrip("timestamp", "0100-02-03 04:05:06 BC");
    ExpectRoundTrip("timestamp", "infinity");
    ExpectRoundTrip("timestamp", "-infinity");
    EXPECT_EQ(Convert("timestamp", "2024-05-06T07:08:09"), "2024-05-06 07:08:09");
    EXPECT_EQ(Convert("timestamp", "2024-05-06"), "2024-05-06 00:00:00");
    EXPECT_EQ(Convert("timestamp", "2024-05-06 07:08"), "2024-05-06 07:08:00");
    EXPECT_EQ(Convert("timestamp", "2024-05-06 07:08:09+05"), "2024-05-06 07:08:09");
    EXPECT_EQ(Convert("timestamp", "2024-05-06 25:00:00"),
              "ERROR: '2024-05-06 25:00:00' is not a valid timestamp");
    EXPECT_EQ(Convert("timestamp", "300000-01-01 00:00:00"),
              "ERROR: '300000-01-01 00:00:00' is out of range for timestamp");
}

TEST(Convert, TimestampsWithZoneAreStoredInUtc) {
    ExpectRoundTrip("timestamptz", "2024-05-06 07:08:09+00");
    ExpectRoundTrip("timestamptz", "0001-01-01 00:00:00.000001+00");
    ExpectRoundTrip("timestamptz", "infinity");
    EXPECT_EQ(Convert("timestamptz", "2024-05-06 07:08:09"), "2024-05-06 07:08:09+00");
    EXPECT_EQ(Convert("timestamptz", "2024-05-06T07:08:09Z"), "2024-05-06 07:08:09+00");
    EXPECT_EQ(Convert("timestamptz", "2024-05-06 07:08:09+02"), "2024-05-06 05:08:09+00");
    EXPECT_EQ(Convert("timestamptz", "2024-05-06 07:08:09-05:30"), "2024-05-06 12:38:09+00");
    EXPECT_EQ(Convert("timestamptz", "2024-05-06 00:30:00+0100"), "2024-05-05 23:30:00+00");
    EXPECT_EQ(Convert("timestamptz", "2024-05-06 07:08:09.5 UTC"), "2024-05-06 07:08:09.5+00");
    EXPECT_EQ(Convert("timestamptz", "2024-05-06 07:08:09 +01"), "2024-05-06 06:08:09+00");
    EXPECT_EQ(Convert("timestamptz", "2024-05-06"), "2024-05-06 00:00:00+00");
    EXPECT_EQ(Convert("timestamptz", "2024-05-06 07:08:09+1x"),
              "ERROR: '2024-05-06 07:08:09+1x' is not a valid timestamptz");
    Column column(MakeType(LogicalType::kTimestampTz));
    ASSERT_TRUE(AppendParsed(column, "1970-01-01 01:00:00.000001+01").ok());
    EXPECT_EQ(column.Get<int64_t>(0), 1);
}

TEST(Convert, Uuid) {
    ExpectRoundTrip("uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    ExpectRoundTrip("uuid", "00000000-0000-0000-0000-000000000000");
    const char* expected = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
    EXPECT_EQ(Convert("uuid", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"), expected);
    EXPECT_EQ(Convert("uuid", "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}"), expected);
    EXPECT_EQ(Convert("uuid", "a0eebc999c0b4ef8bb6d6bb9bd380a11"), expected);
    EXPECT_EQ(Convert("uuid", "a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11"), expected);
    EXPECT_EQ(Convert("uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1"),
              "ERROR: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1' is not a valid uuid");
    EXPECT_EQ(Convert("uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-"),
              "ERROR: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-' is not a valid uuid");
    EXPECT_EQ(Convert("uuid", "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
              "ERROR: 'g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11' is not a valid uuid");
}

TEST(Convert, IntervalsInPostgresStyle) {
    ExpectRoundTrip("interval", "00:00:00");
    ExpectRoundTrip("interval", "1 year 2 mons 3 days 04:05:06.5");
    ExpectRoundTrip("interval", "-00:00:01");
    ExpectRoundTrip("interval", "1 day");
    ExpectRoundTrip("interval", "-1 days +02:03:00");
    ExpectRoundTrip("interval", "1 year 1 mon -3 days +00:00:00.000001");
    ExpectRoundTrip("interval", "-1 years -1 mons +3 days -00:00:00.000001");
    ExpectRoundTrip("interval", "-2 years -3 mons");
    ExpectRoundTrip("interval", "2562047788:00:54.775807");
    ExpectRoundTrip("interval", "-2562047788:00:54.775808");
    EXPECT_EQ(Convert("interval", "@ 1 day 2 hours ago"), "-1 days -02:00:00");
    EXPECT_EQ(Convert("interval", "1.5 years"), "1 year 6 mons");
    EXPECT_EQ(Convert("interval", "1.5 days"), "1 day 12:00:00");
    EXPECT_EQ(Convert("interval", "1.5 mons"), "1 mon 15 days");
    EXPECT_EQ(Convert("interval", "2 weeks"), "14 days");
    EXPECT_EQ(Convert("interval", "90 minutes"), "01:30:00");
    EXPECT_EQ(Convert("interval", "250 ms"), "00:00:00.25");
    EXPECT_EQ(Convert("interval", "5"), "00:00:05");
    EXPECT_EQ(Convert("interval", "P1Y2M3DT4H5M6.5S"), "1 year 2 mons 3 days 04:05:06.5");
    EXPECT_EQ(Convert("interval", "PT-1M"), "-00:01:00");
    EXPECT_EQ(Convert("interval", "2 fortnights"), "ERROR: '2 fortnights' is not a valid interval");
    EXPECT_EQ(Convert("interval", ""), "ERROR: '' is not a valid interval");
    EXPECT_EQ(Convert("interval", "1 day ago ago"),
              "ERROR: '1 day ago ago' is not a valid interval");
    EXPECT_EQ(Convert("interval", "3000000000 days"),
              "ERROR: '3000000000 days' is not a valid interval");
    Column column(MakeType(LogicalType::kInterval));
    ASSERT_TRUE(AppendParsed(column, "1 year 2 mons 3 days 04:05:06.5").ok());
    const Interval value = column.Get<Interval>(0);
    EXPECT_EQ(value.months, 14);
    EXPECT_EQ(value.days, 3);
    EXPECT_EQ(value.micros, ((4 * 60 + 5) * 60 + 6) * 1000000LL + 500000);
}

TEST(Convert, LongValuesAreTruncatedInMessages) {
    const std::string value(500, '9');
    const std::string message = Convert("int32", value + "x");
    EXPECT_LT(message.size(), 120u);
    EXPECT_NE(message.find("(501 bytes)"), std::string::npos) << message;
}

DataType Infer(std::initializer_list<std::string_view> values) {
    TypeInferrer inferrer;
    for (std::string_view v : values)
        inferrer.Observe(v);
    return inferrer.Result();
}

TEST(TypeInference, PicksTheNarrowestTypeThatHoldsEveryValue) {
    EXPECT_EQ(Infer({}).id, LogicalType::kText);
    EXPECT_EQ(Infer({"1", "-20", "300"}).id, LogicalType::kInt64);
    EXPECT_EQ(Infer({"1", "2.5", "1e3"}).id, LogicalType::kFloat64);
    EXPECT_EQ(Infer({"1", "abc"}).id, LogicalType::kText);
    EXPECT_EQ(Infer({"true", "F", "yes"}).id, LogicalType::kBool);
    EXPECT_EQ(Infer({"1", "0"}).id, LogicalType::kInt64);
    EXPECT_EQ(Infer({"true", "1"}).id, LogicalType::kText);
    EXPECT_EQ(Infer({"2024-01-01", "1999-12-31"}).id, LogicalType::kDate);
    EXPECT_EQ(Infer({"2024-01-01", "2024-01-01 10:00:00"}).id, LogicalType::kTimestamp);
    EXPECT_EQ(Infer({"2024-01-01T10:00:00Z", "2024-01-01 10:00:00+02"}).id,
              LogicalType::kTimestampTz);
    EXPECT_EQ(Infer({"2024-01-01 10:00:00", "2024-01-01 10:00:00+02"}).id, LogicalType::kText);
    EXPECT_EQ(Infer({"2024-02-30"}).id, LogicalType::kText);
    EXPECT_EQ(Infer({"1-2-3"}).id, LogicalType::kText);
    EXPECT_EQ(Infer({"12-05-2024"}).id, LogicalType::kText);
    EXPECT_EQ(Infer({"00123", "1"}).id, LogicalType::kText) << "leading zeros are identifiers";
    EXPECT_EQ(Infer({"0", "0.5", "-0.25"}).id, LogicalType::kFloat64);
    EXPECT_EQ(Infer({" 1"}).id, LogicalType::kText);
    EXPECT_EQ(Infer({"99999999999999999999"}).id, LogicalType::kFloat64);
    EXPECT_EQ(Infer({"NaN"}).id, LogicalType::kText);
    EXPECT_EQ(Infer({""}).id, LogicalType::kText);
}

}  // namespace
}  // namespace sluice
