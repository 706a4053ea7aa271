#include <gtest/gtest.h>

#include "config/schedule.hpp"
#include "core/convert.hpp"
#include "core/error.hpp"

namespace sluice {
namespace {

int64_t Utc(int y, int mo, int d, int h, int mi) {
    return static_cast<int64_t>(DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d))) * 86400 +
           h * 3600 + mi * 60;
}

TEST(CronSchedule, FieldsRangesStepsListsAndNames) {
    const CronSchedule s = CronSchedule::Parse("*/15 2-4 * jan,JUL mon-fri");
    EXPECT_TRUE(s.Matches(30, 3, 10, 7, 2));
    EXPECT_FALSE(s.Matches(31, 3, 10, 7, 2));
    EXPECT_FALSE(s.Matches(30, 5, 10, 7, 2));
    EXPECT_FALSE(s.Matches(30, 3, 10, 8, 2));
    EXPECT_FALSE(s.Matches(30, 3, 10, 7, 0));  // Sunday
    EXPECT_TRUE(CronSchedule::Parse("0 0 * * 7").Matches(0, 0, 5, 3, 0));  // 7 is Sunday
    // Both day fields restricted: either one is enough, as in cron.
    const CronSchedule both = CronSchedule::Parse("0 0 13 * 5");
    EXPECT_TRUE(both.Matches(0, 0, 13, 1, 2));
    EXPECT_TRUE(both.Matches(0, 0, 7, 1, 5));
    EXPECT_FALSE(both.Matches(0, 0, 7, 1, 4));
    EXPECT_TRUE(CronSchedule::Parse("@daily").Matches(0, 0, 1, 1, 3));
    EXPECT_FALSE(CronSchedule::Parse("@hourly").Matches(1, 0, 1, 1, 3));
}

TEST(CronSchedule, RefusalsSayWhatIsWrong) {
    for (const char* bad : {"0 2 * *", "61 * * * *", "* 24 * * *", "5-1 * * * *", "* * * foo *", "@sometimes", "*/0 * * * *"}) {
        try {
            CronSchedule::Parse(bad);
            ADD_FAILURE() << bad << " was accepted";
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::kConfig);
            EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
        }
    }
}

TEST(CronSchedule, LastFiringInUtcAndInAZoneWithSummerTime) {
    const CronSchedule daily2 = CronSchedule::Parse("0 2 * * *");
    const TimeZone utc = TimeZone::Load("UTC");
    EXPECT_EQ(LastFiring(daily2, utc, Utc(2026, 12, 4, 19, 30)), Utc(2026, 12, 4, 2, 0));
    EXPECT_EQ(LastFiring(daily2, utc, Utc(2026, 12, 4, 2, 0)), Utc(2026, 12, 4, 2, 0));  // at the minute itself
    EXPECT_EQ(LastFiring(daily2, utc, Utc(2026, 12, 4, 1, 59)), Utc(2026, 12, 3, 2, 0));
    // 02:00 in Paris is 01:00 UTC in winter and 00:00 UTC in summer.
    const TimeZone paris = TimeZone::Load("Europe/Paris");
    EXPECT_EQ(LastFiring(daily2, paris, Utc(2026, 12, 4, 19, 30)), Utc(2026, 12, 4, 1, 0));
    EXPECT_EQ(LastFiring(daily2, paris, Utc(2026, 7, 4, 19, 30)), Utc(2026, 7, 4, 0, 0));
    // Never within a year: none.
    EXPECT_FALSE(LastFiring(CronSchedule::Parse("0 0 30 2 *"), utc, Utc(2026, 12, 4, 0, 0)).has_value());
    EXPECT_THROW(TimeZone::Load("Mars/Olympus_Mons"), Error);
    EXPECT_THROW(TimeZone::Load("../../etc/passwd"), Error);
}

}  // namespace
}  // namespace sluice
