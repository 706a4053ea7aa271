#include <gtest/gtest.h>

#include <sqlite3.h>

#include "engine/stream_marks.hpp"
#include "state/ledger.hpp"
#include "state/target_marks.hpp"
#include "support/temp_dir.hpp"

namespace sluice {
namespace {

/// Runs `sql` on its own connection to the SQLite file, like a sink's transaction would, and
/// returns how many rows it changed.
int64_t RunInTarget(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
    sqlite3_free(error);
    const int64_t changed = sqlite3_changes64(db);
    sqlite3_close(db);
    return changed;
}

TEST(TargetMarks, KeptOnlyForPostgresAndSqliteTargetsAwayFromTheLedger) {
    EXPECT_FALSE(KeepsTargetMarks("sqlite:///a.db", ""));                // no ledger at all
    EXPECT_FALSE(KeepsTargetMarks("sqlite:///a.db", "sqlite:///a.db"));  // shares the ledger's transaction
    EXPECT_TRUE(KeepsTargetMarks("sqlite:///a.db", "sqlite:///state.db"));
    EXPECT_TRUE(KeepsTargetMarks("postgresql://h/dwh", "sqlite:///state.db"));
    EXPECT_FALSE(KeepsTargetMarks("file:///out/", "sqlite:///state.db"));
}

TEST(TargetMarks, OneMarkPerPartitionTheSecondAttemptInsertsNothing) {
    testing::TempDir dir;
    const std::string path = dir / "target.db";
    auto marks = TargetMarks::Open("sqlite://" + path, "test");
    const PartitionClaim first{"r1", "events", 3, "host:1", 1};
    const PartitionClaim zombie{"r1", "events", 3, "host:2", 2};
    EXPECT_EQ(RunInTarget(path, marks->InsertSql("job", first, "de", 41, "sqlite-rowid:1-41")), 1);
    // A presumed-dead attempt reaching COMMIT later changes nothing: its caller rolls back.
    EXPECT_EQ(RunInTarget(path, marks->InsertSql("job", zombie, "de", 41, "sqlite-rowid:42-82")), 0);
    const std::optional<TargetMark> mark = marks->Find("r1", "events", 3);
    ASSERT_TRUE(mark);
    EXPECT_EQ(mark->attempt, 1);
    EXPECT_EQ(mark->rows, 41);
    EXPECT_EQ(mark->undo, "sqlite-rowid:1-41");
    EXPECT_FALSE(marks->Find("r1", "events", 4));
    EXPECT_FALSE(marks->Find("r2", "events", 3));
}

TEST(TargetMarks, DeletedByTenantByRunAndForOtherRuns) {
    testing::TempDir dir;
    const std::string path = dir / "target.db";
    auto marks = TargetMarks::Open("sqlite://" + path, "test");
    RunInTarget(path, marks->InsertSql("job", {"r1", "s", 1, "w", 1}, "de", 1, "") +
                          ";" + marks->InsertSql("job", {"r1", "s", 2, "w", 1}, "fr", 1, "") +
                          ";" + marks->InsertSql("job", {"r1", "t", 1, "w", 1}, "fr", 1, "") +
                          ";" + marks->InsertSql("job", {"r0", "s", 1, "w", 1}, "de", 1, "") +
                          ";" + marks->InsertSql("other", {"q0", "s", 1, "w", 1}, "de", 1, ""));
    RunInTarget(path, marks->DeleteSql("r1", "s", std::string("fr")));
    EXPECT_EQ(marks->All("r1", "s").size(), 1u);
    EXPECT_TRUE(marks->Find("r1", "t", 1));  // another stream's mark of that tenant stays
    marks->ForgetOtherRuns("job", "r1");
    EXPECT_FALSE(marks->Find("r0", "s", 1));
    EXPECT_TRUE(marks->Find("q0", "s", 1));  // another job's run stays
    marks->Forget("r1", "s");
    EXPECT_TRUE(marks->All("r1", "s").empty());
}

TEST(TargetMarks, AResumeTakesTheTargetsWordBothWays) {
    testing::TempDir dir;
    const std::string target = dir / "target.db";
    auto marks = TargetMarks::Open("sqlite://" + target, "test");
    auto ledger = Ledger::Open("sqlite://" + dir / "state.db", "test");
    RunRecord run;
    run.run_id = "r1";
    run.job = "job";
    run.started_at = UtcTimestamp();
    std::vector<PartitionRecord> records(3);
    StreamPlan stream;
    stream.spec.name = "s";
    for (int i = 0; i < 3; ++i) {
        records[i].stream = "s";
        records[i].partition_id = i + 1;
        PartitionPlan p;
        p.id = i + 1;
        stream.partitions.push_back(p);
    }
    ledger->CreateRun(run, records);
    // Partition 1: committed in the target, the ledger never heard. Partition 2: committed in
    // the ledger, but its rows and mark left the target. Partition 3: both agree it is pending.
    RunInTarget(target, marks->InsertSql("job", {"r1", "s", 1, "w", 1}, "", 7, "sqlite-rowid:1-7"));
    ledger->AdoptCommitted("r1", "s", 2, 5, "sqlite-rowid:8-12");
    stream.partitions[1].committed = true;

    MarksReconciled changed;
    ReconcileWithTargetMarks(*ledger, *marks, "r1", stream, changed);
    EXPECT_EQ(changed.adopted, 1u);
    EXPECT_EQ(changed.reopened, 1u);
    EXPECT_TRUE(stream.partitions[0].committed);
    EXPECT_FALSE(stream.partitions[1].committed);
    EXPECT_FALSE(stream.partitions[2].committed);
    const std::vector<PartitionRecord> after = ledger->Partitions("r1");
    EXPECT_EQ(after[0].status, "committed");
    EXPECT_EQ(after[0].rows, 7);
    EXPECT_EQ(after[0].undo, "sqlite-rowid:1-7");
    EXPECT_EQ(after[1].status, "pending");
    EXPECT_EQ(after[2].status, "pending");
}

}  // namespace
}  // namespace sluice
