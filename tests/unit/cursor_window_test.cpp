// The incremental window's SQL: tuple comparisons over a composite cursor, expanded for every
// dialect, with bounds that may cover only the leading columns; and its trip through the ledger.
#include <gtest/gtest.h>

#include "connectors/connector.hpp"
#include "plan/slice_json.hpp"

namespace sluice {
namespace {

std::string Sql(const CursorWindow& w) {
    return WindowCondition(
        w, [&](size_t i) { return w.columns[i]; }, [](size_t, const std::string& v) { return "'" + v + "'"; });
}

TEST(CursorWindow, InactiveWindowAddsNoCondition) {
    EXPECT_EQ(Sql({}), "");
}

TEST(CursorWindow, FirstRunTakesEveryRowWithAFullCursorUpToTheMark) {
    EXPECT_EQ(Sql({{"t", "id"}, {}, {"9", "5"}}),
              "t IS NOT NULL AND id IS NOT NULL AND (t < '9' OR (t = '9' AND (id <= '5')))");
}

TEST(CursorWindow, CompositeBoundsCompareAsTuples) {
    EXPECT_EQ(Sql({{"t", "id"}, {"1", "2"}, {"9", "5"}}),
              "t IS NOT NULL AND id IS NOT NULL AND (t > '1' OR (t = '1' AND (id > '2'))) AND "
              "(t < '9' OR (t = '9' AND (id <= '5')))");
    EXPECT_EQ(Sql({{"a", "b", "c"}, {"1", "2", "3"}, {}}),
              "a IS NOT NULL AND b IS NOT NULL AND c IS NOT NULL AND "
              "(a > '1' OR (a = '1' AND (b > '2' OR (b = '2' AND (c > '3')))))");
}

TEST(CursorWindow, RowValuesForDialectsThatIndexThem) {
    const CursorWindow w{{"t", "id"}, {"1", "2"}, {"9"}};
    EXPECT_EQ(WindowCondition(
                  w, [&](size_t i) { return w.columns[i]; },
                  [](size_t, const std::string& v) { return "'" + v + "'"; }, /*row_values=*/true),
              "t IS NOT NULL AND id IS NOT NULL AND (t, id) > ('1', '2') AND t <= '9'");
}

TEST(CursorWindow, ABoundOverTheLeadingColumnsComparesOnlyThose) {
    // A mark set by hand for the first column only: every id of a later timestamp.
    EXPECT_EQ(Sql({{"t", "id"}, {"1"}, {}}), "t IS NOT NULL AND id IS NOT NULL AND (t > '1')");
}

TEST(CursorWindow, TravelsWithItsSliceThroughTheLedger) {
    Slice slice;
    slice.strategy = "key_range";
    slice.column = "id";
    slice.window = {{"updated_at", "id"}, {"2026-11-01 10:00:00.000001+00", "7"}, {"2026-11-02 00:00:00+00", "99"}};
    const Slice back = SliceFromJson(SliceToJson(slice));
    EXPECT_EQ(back.window.columns, slice.window.columns);
    EXPECT_EQ(back.window.after, slice.window.after);
    EXPECT_EQ(back.window.upto, slice.window.upto);
    EXPECT_FALSE(SliceFromJson(SliceToJson(Slice{})).window.active());
}

}  // namespace
}  // namespace sluice
