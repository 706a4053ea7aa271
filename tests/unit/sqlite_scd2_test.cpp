#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "connectors/sqlite/sqlite_scd2.hpp"
#include "unit/sqlite_test_db.hpp"

namespace sluice {
namespace {

using testing::MakeBatch;
using testing::Rows;
using testing::Target;
using testing::TestDb;

// mode scd2 on SQLite, case by case against histories worked out by hand: the edges of
// docs/job-file.md's rules (ties, late arrivals, in-place corrections, deletions, a key that
// reappears, two points of a key on both sides of its deletion). tests/e2e/*scd2_test.sh
// compare random change streams with a row-by-row oracle.

Schema DimSchema() {
    Schema schema;
    schema.fields = {{"id", MakeType(LogicalType::kInt64), false, ""},
                     {"name", MakeType(LogicalType::kText), true, ""},
                     {"updated_at", MakeType(LogicalType::kText), true, ""}};
    return schema;
}

/// Loads `rows` into `spec`'s target as one full-snapshot run starting at `run_time` (one
/// partition) and returns its counts.
MergeCounts Load(TargetSpec spec, const Rows& rows, const std::string& run_time) {
    spec.run_started_at = run_time;
    auto sink = OpenSqliteSink(spec);
    const Schema target = sink->Prepare(DimSchema());
    auto writer = sink->OpenWriter();
    Slice whole;
    whole.strategy = "none";
    writer->Begin(whole);
    writer->Write(MakeBatch(target, rows));
    std::optional<MergeCounts> counts = writer->Merge();
    writer->Commit();
    sink->Finalize(true);
    EXPECT_TRUE(counts.has_value());
    return counts.value_or(MergeCounts{});
}

/// Load with the timestamp strategy on updated_at.
/// `unique`: the rows hold one per key, as the planner tells a merge when the source's primary
/// key is the key (the quick plan for points after their key's current version).
MergeCounts LoadSnapshot(const TestDb& db, const Rows& rows, const std::string& run_time,
                         const std::string& hard_deletes = "invalidate", bool unique = false) {
    TargetSpec spec = Target(db, "dim", "if_missing", "scd2");
    spec.key = {"id"};
    spec.scd2.updated_at = "updated_at";
    spec.scd2.hard_deletes = hard_deletes;
    spec.unique_keys = unique;
    return Load(spec, rows, run_time);
}

std::vector<std::string> History(const TestDb& db, int64_t id) {
    return db.Strings("SELECT name, valid_from, coalesce(valid_to, '-'), is_current FROM dim WHERE id = " +
                      std::to_string(id));
}

constexpr const char* kR1 = "2026-01-10 00:00:00.000000+00";
constexpr const char* kR2 = "2026-01-20 00:00:00.000000+00";
constexpr const char* kR3 = "2026-01-30 00:00:00.000000+00";
constexpr const char* kR4 = "2026-02-10 00:00:00.000000+00";

TEST(SqliteScd2, TimestampStrategyHistoryEdges) {
    TestDb db;
    MergeCounts c = LoadSnapshot(db, {{"1", "a", "2026-01-01"}, {"2", "b", "2026-01-01"}, {"3", "c", "2026-01-01"}},
                                 kR1, "invalidate", true);
    EXPECT_EQ(c.inserted, 3);
    EXPECT_EQ(db.Int("SELECT count(*) FROM dim WHERE is_current AND valid_to IS NULL"), 3);

    // Two rows of key 1 at one time: the last read wins. Key 2 corrected at its version's own
    // time: overwritten in place. Key 3 is gone: closed at the run's start (invalidate).
    c = LoadSnapshot(db, {{"1", "a2", "2026-01-05"}, {"1", "a3", "2026-01-05"}, {"2", "b-fixed", "2026-01-01"}}, kR2);
    EXPECT_EQ(c.superseded, 1);
    EXPECT_EQ(c.updated, 2);
    EXPECT_EQ(c.deleted, 1);
    EXPECT_EQ(History(db, 1), (std::vector<std::string>{"a3|2026-01-05|-|1", "a|2026-01-01|2026-01-05|0"}));
    EXPECT_EQ(History(db, 2), (std::vector<std::string>{"b-fixed|2026-01-01|-|1"}));
    EXPECT_EQ(History(db, 3), (std::vector<std::string>{std::string("c|2026-01-01|") + kR2 + "|0"}));

    // A late row of key 1 lands inside its history; key 3 comes back with its old time, which
    // is before its deletion: it reopens at the run's start. Key 4 is new.
    c = LoadSnapshot(db, {{"1", "late", "2026-01-03"}, {"2", "b-fixed", "2026-01-01"}, {"3", "c", "2026-01-01"},
                          {"4", "d", "2026-01-15"}},
                     kR3, "invalidate", true);  // one row per key: new keys take the quick plan, the rest the full one
    EXPECT_EQ(c.inserted, 1);
    EXPECT_EQ(c.updated, 2);
    EXPECT_EQ(c.unchanged, 1);
    EXPECT_EQ(c.deleted, 0);
    EXPECT_EQ(History(db, 1), (std::vector<std::string>{"a3|2026-01-05|-|1", "a|2026-01-01|2026-01-03|0",
                                                        "late|2026-01-03|2026-01-05|0"}));
    EXPECT_EQ(History(db, 3), (std::vector<std::string>{std::string("c|2026-01-01|") + kR2 + "|0",
                                                        std::string("c|") + kR3 + "|-|1"}));

    // The same snapshot again changes nothing.
    const std::vector<std::string> before = db.Strings("SELECT * FROM dim");
    c = LoadSnapshot(db, {{"1", "late", "2026-01-03"}, {"2", "b-fixed", "2026-01-01"}, {"3", "c", "2026-01-01"},
                          {"4", "d", "2026-01-15"}},
                     kR4, "invalidate", true);
    EXPECT_EQ(c.unchanged, 4);
    EXPECT_EQ(c.updated + c.inserted + c.deleted, 0);
    EXPECT_EQ(db.Strings("SELECT * FROM dim"), before);
}

TEST(SqliteScd2, OneRowPerKeyAfterTheCurrentVersion) {
    TestDb db;
    LoadSnapshot(db, {{"1", "a", "2026-01-01"}, {"2", "b", "2026-01-01"}}, kR1, "new_record", true);
    LoadSnapshot(db, {{"2", "b", "2026-01-01"}}, kR2, "new_record", true);  // 1 flagged deleted at R2
    // 1 is back after its deletion; 2 changed; 3 is new: all after their keys' current versions.
    const MergeCounts c =
        LoadSnapshot(db, {{"1", "a", "2026-01-25"}, {"2", "b2", "2026-01-21"}, {"3", "c", "2026-01-22"}}, kR3,
                     "new_record", true);
    EXPECT_EQ(c.inserted, 1);
    EXPECT_EQ(c.updated, 2);
    EXPECT_EQ(History(db, 1), (std::vector<std::string>{"a|2026-01-01|" + std::string(kR2) + "|0",
                                                        "a|" + std::string(kR2) + "|2026-01-25|0", "a|2026-01-25|-|1"}));
    EXPECT_EQ(History(db, 2), (std::vector<std::string>{"b2|2026-01-21|-|1", "b|2026-01-01|2026-01-21|0"}));
    EXPECT_EQ(History(db, 3), (std::vector<std::string>{"c|2026-01-22|-|1"}));
    EXPECT_EQ(db.Int("SELECT count(*) FROM dim WHERE is_deleted"), 1);
}

TEST(SqliteScd2, PointsOnBothSidesOfAnInvalidation) {
    TestDb db;
    LoadSnapshot(db, {{"5", "e", "2026-01-01"}, {"6", "f", "2026-01-01"}}, kR1);
    LoadSnapshot(db, {{"6", "f", "2026-01-01"}}, kR2);  // 5 closed at R2
    // Key 5 again: one row from before its deletion (it lands in the closed past, ending at the
    // deletion) and one after it with the same values (a new version: the key was gone between).
    const MergeCounts c = LoadSnapshot(db, {{"5", "e2", "2026-01-15"}, {"5", "e2", "2026-01-25"}, {"6", "f", "2026-01-01"}}, kR3);
    EXPECT_EQ(c.updated, 2);
    EXPECT_EQ(History(db, 5), (std::vector<std::string>{"e2|2026-01-15|" + std::string(kR2) + "|0",
                                                        "e2|2026-01-25|-|1", "e|2026-01-01|2026-01-15|0"}));
}

TEST(SqliteScd2, NewRecordFlagsDeletionsAndCheckStrategyUsesTheRunTime) {
    TestDb db;
    TargetSpec spec = Target(db, "dim", "if_missing", "scd2");
    spec.key = {"id"};
    spec.scd2.tracked = {"name"};  // updated_at alone moving is no change
    spec.scd2.hard_deletes = "new_record";
    const auto run = [&](const Rows& rows, const char* run_time) { return Load(spec, rows, run_time); };
    run({{"1", "a", "2026-01-01"}, {"2", "b", "2026-01-01"}}, kR1);
    MergeCounts c = run({{"1", "a", "2026-01-09"}}, kR2);
    EXPECT_EQ(c.unchanged, 1);
    EXPECT_EQ(c.deleted, 1);
    EXPECT_EQ(db.Strings("SELECT id, name, valid_from, coalesce(valid_to, '-'), is_current, is_deleted FROM dim"),
              (std::vector<std::string>{std::string("1|a|") + kR1 + "|-|1|0",
                                        std::string("2|b|") + kR1 + "|" + kR2 + "|0|0",
                                        std::string("2|b|") + kR2 + "|-|1|1"}));
    c = run({{"1", "a", "2026-01-09"}, {"2", "b", "2026-01-01"}}, kR3);  // 2 is back, unchanged values
    EXPECT_EQ(c.updated, 1);
    EXPECT_EQ(History(db, 2), (std::vector<std::string>{std::string("b|") + kR1 + "|" + kR2 + "|0",
                                                        std::string("b|") + kR2 + "|" + kR3 + "|0",
                                                        std::string("b|") + kR3 + "|-|1"}));
    EXPECT_EQ(db.Int("SELECT count(*) FROM dim WHERE id = 2 AND is_deleted"), 1);
}

TEST(SqliteScd2, CheckStrategyTakesTheLastStagedRowOfAKeyAndCountsTheRest) {
    TestDb db;
    TargetSpec spec = Target(db, "dim", "if_missing", "scd2");
    spec.key = {"id"};
    spec.scd2.tracked = {"name"};
    const auto run = [&](const Rows& rows, const char* run_time) { return Load(spec, rows, run_time); };
    run({{"1", "a", "2026-01-01"}, {"2", "b", "2026-01-01"}, {"3", "c", "2026-01-01"}}, kR1);
    // Key 1 twice (the later row wins: a change), key 2 twice with the same values as before
    // (unchanged), key 3 once, unchanged: only the changed key reaches the history.
    const MergeCounts c = run({{"1", "x", "2026-01-02"}, {"2", "b", "2026-01-02"}, {"1", "a2", "2026-01-03"},
                               {"2", "b", "2026-01-03"}, {"3", "c", "2026-01-01"}},
                              kR2);
    EXPECT_EQ(c.superseded, 2);
    EXPECT_EQ(c.updated, 1);
    EXPECT_EQ(c.unchanged, 2);
    EXPECT_EQ(c.inserted, 0);
    EXPECT_EQ(History(db, 1), (std::vector<std::string>{std::string("a2|") + kR2 + "|-|1",
                                                        std::string("a|") + kR1 + "|" + kR2 + "|0"}));
    EXPECT_EQ(db.Int("SELECT count(*) FROM dim"), 4);
}

TEST(SqliteScd2, HashTellsCompositeValuesApart) {
    TestDb db;
    sqlite::SqliteDbPtr conn = sqlite::OpenDatabase(db.path(), false);
    sqlite::RegisterScd2Hash(conn.get());
    auto stmt = sqlite::Prepare(conn.get(),
                                "SELECT count(DISTINCT sluice_scd2_hash(a, b)) FROM (SELECT 'a' AS a, 'bc' AS b "
                                "UNION ALL SELECT 'ab', 'c' UNION ALL SELECT NULL, 'x' UNION ALL SELECT '', 'x' "
                                "UNION ALL SELECT 1, 'x' UNION ALL SELECT '1', 'x')",
                                "test");
    ASSERT_EQ(sqlite3_step(stmt.get()), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int64(stmt.get(), 0), 6);
}

}  // namespace
}  // namespace sluice
