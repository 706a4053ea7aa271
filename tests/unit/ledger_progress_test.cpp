// The ledger's live view: running partitions' progress, invocations of a resumed run, and
// the schema-4 ledgers that predate both.
#include <cstdlib>

#include <gtest/gtest.h>

#include "state/ledger.hpp"
#include "support/temp_dir.hpp"

namespace sluice {
namespace {

std::vector<PartitionRecord> Partitions(int n) {
    std::vector<PartitionRecord> parts(n);
    for (int i = 0; i < n; ++i) {
        parts[i].stream = "events";
        parts[i].partition_id = i + 1;
        parts[i].slice = "{}";
    }
    return parts;
}

RunRecord NewRun(const std::string& id, const std::string& owner) {
    RunRecord run;
    run.run_id = id;
    run.job = "job";
    run.started_at = UtcTimestamp();
    run.owner = owner;
    return run;
}

TEST(LedgerProgress, RunningPartitionsShowHowFarTheyGotUntilTheyEnd) {
    testing::TempDir dir;
    auto ledger = Ledger::Open("sqlite://" + dir / "state.db", "test");
    ledger->CreateRun(NewRun("r1", "host:1"), Partitions(3));
    ASSERT_TRUE(ledger->ClaimPartition("r1", "events", 1, "host:1", 60));
    ASSERT_TRUE(ledger->ClaimPartition("r1", "events", 2, "host:1", 60));
    ASSERT_TRUE(ledger->ClaimPartition("r1", "events", 3, "host:2", 60));

    // Partition 3 belongs to another process: this one's report must not touch it.
    ledger->RecordProgress("r1", "host:1", {{"events", 1, {500, 400, 8000}}, {"events", 2, {70, 0, 900}},
                                            {"events", 3, {999, 999, 999}}});
    auto parts = ledger->Partitions("r1");
    EXPECT_EQ(parts[0].rows_read, 500);
    EXPECT_EQ(parts[0].rows, 400);
    EXPECT_EQ(parts[0].bytes, 8000);
    EXPECT_EQ(parts[1].rows_read, 70);
    EXPECT_EQ(parts[2].rows_read, 0);
    const PartitionTally live = ledger->LiveTally("r1");
    EXPECT_EQ(live.rows_read, 570);
    EXPECT_EQ(live.rows_written, 400);
    EXPECT_EQ(live.bytes, 8900);
    EXPECT_EQ(ledger->GetRun("r1")->rows_read, 570);
    EXPECT_EQ(ledger->GetRun("r1")->rows_written, 0) << "nothing committed yet";

    // Partition 1 commits with its final numbers; a late report must not overwrite them.
    PartitionTally committed{600, 590, 9000};
    committed.bytes_written = 4720;
    ledger->MarkCommitted({"r1", "events", 1, "host:1", 1}, committed, {}, "");
    ledger->RecordProgress("r1", "host:1", {{"events", 1, {550, 540, 8500}}});
    EXPECT_EQ(ledger->Partitions("r1")[0].rows, 590);
    EXPECT_EQ(ledger->Partitions("r1")[0].rows_read, 600);
    EXPECT_EQ(ledger->Partitions("r1")[0].bytes_written, 4720);
    // A failed partition holds no rows in the target; how far it read stays visible.
    ledger->MarkFailed("r1", "events", 2, "boom");
    EXPECT_EQ(ledger->Partitions("r1")[1].rows, 0);
    EXPECT_EQ(ledger->Partitions("r1")[1].rows_read, 70);
    // A new claim starts from zero.
    ASSERT_TRUE(ledger->ClaimPartition("r1", "events", 2, "host:1", 60));
    EXPECT_EQ(ledger->Partitions("r1")[1].rows_read, 0);
    EXPECT_EQ(ledger->GetRun("r1")->rows_written, 590);
}

TEST(LedgerProgress, EachInvocationOfAResumedRunIsRecorded) {
    testing::TempDir dir;
    auto ledger = Ledger::Open("sqlite://" + dir / "state.db", "test");
    ledger->CreateRun(NewRun("r1", "host:1"), Partitions(3));
    // Invocation 1 commits partition 1, then dies without a summary.
    ASSERT_TRUE(ledger->ClaimPartition("r1", "events", 1, "host:1", 60));
    ledger->MarkCommitted({"r1", "events", 1, "host:1", 1}, {10, 10, 100}, {}, "");
    // Invocation 2 resumes, commits the other two and finishes.
    ledger->ResumeRun("r1", "host:2");
    for (int p : {2, 3}) {
        ASSERT_TRUE(ledger->ClaimPartition("r1", "events", p, "host:2", 60));
        ledger->MarkCommitted({"r1", "events", p, "host:2", 1}, {20, 19, 200}, {}, "");
    }
    RunRecord outcome = NewRun("r1", "host:2");
    outcome.status = "succeeded";
    outcome.rows_read = 40;
    outcome.rows_written = 38;
    outcome.rows_rejected = 2;
    ledger->FinishRun(outcome, /*resumed=*/true);

    const std::vector<InvocationRecord> invocations = ledger->Invocations("r1");
    ASSERT_EQ(invocations.size(), 2u);
    EXPECT_EQ(invocations[0].invocation, 1);
    EXPECT_EQ(invocations[0].owner, "host:1");
    EXPECT_EQ(invocations[0].status, "") << "it never ended";
    EXPECT_EQ(invocations[0].finished_at, "");
    EXPECT_EQ(invocations[0].partitions_committed, 1);
    EXPECT_EQ(invocations[0].rows_committed, 10);
    EXPECT_EQ(invocations[1].invocation, 2);
    EXPECT_EQ(invocations[1].status, "succeeded");
    EXPECT_EQ(invocations[1].rows_read, 40);
    EXPECT_EQ(invocations[1].rows_written, 38);
    EXPECT_EQ(invocations[1].rows_rejected, 2);
    EXPECT_EQ(invocations[1].partitions_committed, 2);
    EXPECT_EQ(invocations[1].rows_committed, 38);
    // The run's totals cover both: written from its committed partitions.
    EXPECT_EQ(ledger->GetRun("r1")->rows_written, 48);
}

TEST(LedgerProgress, ASchemaFourLedgerGainsTheProgressColumnsAndKeepsItsPartitions) {
    testing::TempDir dir;
    const std::string path = dir / "state.db";
    const std::string v4 =
        "CREATE TABLE sluice_schema_version (version integer NOT NULL);"
        "INSERT INTO sluice_schema_version VALUES (4);"
        "CREATE TABLE sluice_partitions (run_id text NOT NULL, stream text NOT NULL, partition_id "
        "integer NOT NULL, tenant text, lower_bound text, upper_bound text, status text NOT NULL, "
        "attempts integer NOT NULL DEFAULT 0, rows INTEGER NOT NULL DEFAULT 0, worker text, lease_until "
        "TEXT, started_at TEXT, finished_at TEXT, error text, slice text, undo text, PRIMARY KEY "
        "(run_id, stream, partition_id));"
        "INSERT INTO sluice_partitions (run_id, stream, partition_id, status, rows, slice) VALUES "
        "('old', 'events', 1, 'committed', 12, '{}');";
    ASSERT_EQ(std::system(("sqlite3 '" + path + "' \"" + v4 + "\"").c_str()), 0);

    auto ledger = Ledger::Open("sqlite://" + path, "test");
    const auto parts = ledger->Partitions("old");
    ASSERT_EQ(parts.size(), 1u);
    EXPECT_EQ(parts[0].rows, 12);
    EXPECT_EQ(parts[0].rows_read, 0);
    EXPECT_EQ(parts[0].bytes_written, 0);
    EXPECT_TRUE(ledger->Invocations("old").empty());
    Ledger::Open("sqlite://" + path, "test");  // a second open migrates nothing twice
}

}  // namespace
}  // namespace sluice
