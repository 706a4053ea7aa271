#include <cstdlib>

#include <gtest/gtest.h>

#include "plan/slice_json.hpp"
#include "state/ledger.hpp"
#include "support/temp_dir.hpp"

namespace sluice {
namespace {

std::vector<PartitionRecord> TwoPartitions() {
    std::vector<PartitionRecord> parts(2);
    for (int i = 0; i < 2; ++i) {
        parts[i].stream = "events";
        parts[i].partition_id = i + 1;
        Slice slice;
        slice.strategy = "key_range";
        slice.column = "id";
        slice.lower = i == 0 ? std::nullopt : std::optional<std::string>("100");
        slice.upper = i == 0 ? std::optional<std::string>("100") : std::nullopt;
        slice.includes_nulls = i == 0;
        parts[i].slice = SliceToJson(slice);
    }
    return parts;
}

RunRecord MakeRun(const std::string& id, double seconds_from_now) {
    RunRecord run;
    run.run_id = id;
    run.job = "job";
    run.started_at = UtcTimestamp(seconds_from_now);
    run.owner = ProcessIdentity();
    return run;
}

TEST(Ledger, MigratesASchemaOneLedgerAndKeepsItsRuns) {
    testing::TempDir dir;
    const std::string path = dir / "state.db";
    // A ledger as sluice with schema version 1 left it: runs without the fingerprint column.
    const std::string v1 =
        "CREATE TABLE sluice_schema_version (version integer NOT NULL);"
        "INSERT INTO sluice_schema_version VALUES (1);"
        "CREATE TABLE sluice_runs (run_id text PRIMARY KEY, job text NOT NULL, status text NOT "
        "NULL, started_at TEXT, finished_at TEXT, rows_read INTEGER NOT NULL DEFAULT 0, "
        "rows_written INTEGER NOT NULL DEFAULT 0, rows_rejected INTEGER NOT NULL DEFAULT 0, "
        "error text, stop_requested integer NOT NULL DEFAULT 0, superseded_by text, owner text);"
        "INSERT INTO sluice_runs (run_id, job, status, started_at) VALUES ('old', 'job', "
        "'failed', '2026-01-01 00:00:00.000000+00');";
    ASSERT_EQ(std::system(("sqlite3 '" + path + "' \"" + v1 + "\"").c_str()), 0);

    auto ledger = Ledger::Open("sqlite://" + path, "test");
    auto old = ledger->GetRun("old");
    ASSERT_TRUE(old);
    EXPECT_EQ(old->status, "failed");
    EXPECT_EQ(old->fingerprint, "");
    RunRecord run = MakeRun("new", 0);
    run.fingerprint = R"({"events":{}})";
    ledger->CreateRun(run, TwoPartitions());
    EXPECT_EQ(ledger->GetRun("new")->fingerprint, run.fingerprint);
    Ledger::Open("sqlite://" + path, "test");  // a second open finds schema 2 and does nothing
}

TEST(Ledger, RunLifecycleOnSqlite) {
    testing::TempDir dir;
    const std::string url = "sqlite://" + dir / "state.db";
    auto ledger = Ledger::Open(url, "test");
    // Opening again migrates nothing twice.
    auto again = Ledger::Open(url, "test");

    EXPECT_FALSE(ledger->FindUnfinished("job"));
    RunRecord run = MakeRun("r1", 0);
    ledger->CreateRun(run, TwoPartitions());
    auto unfinished = ledger->FindUnfinished("job");
    ASSERT_TRUE(unfinished);
    EXPECT_EQ(unfinished->run_id, "r1");
    EXPECT_EQ(unfinished->status, "running");

    EXPECT_EQ(ledger->ClaimPartition("r1", "events", 1, "host:1", 60), std::optional<int>(1));
    auto parts = ledger->Partitions("r1");
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].status, "running");
    EXPECT_EQ(parts[0].attempts, 1);
    EXPECT_EQ(parts[1].status, "pending");
    Slice back = SliceFromJson(parts[0].slice);
    EXPECT_EQ(back.upper, std::optional<std::string>("100"));
    EXPECT_TRUE(back.includes_nulls);

    // The commit mark is plain SQL the sink runs inside its own transaction; it is fenced by
    // the claim: a stale attempt, or another worker, changes nothing.
    RejectedRow bad{"in.csv:3", "2,b,o'ops", "'o'ops' is not a valid float64", "22P02"};
    const PartitionClaim stale{"r1", "events", 1, "host:1", 0};
    const PartitionClaim other{"r1", "events", 1, "host:9", 1};
    again->ExecScript(ledger->CommitMarkFor(stale, {41, 41, 0}, {}, "").fenced_update);
    again->ExecScript(ledger->CommitMarkFor(other, {41, 41, 0}, {}, "").fenced_update);
    EXPECT_EQ(ledger->Partitions("r1")[0].status, "running");
    const CommitMark mark = ledger->CommitMarkFor({"r1", "events", 1, "host:1", 1}, {42, 41, 900}, {bad}, "pg-xid:7");
    again->ExecScript(mark.fenced_update + ";" + mark.rejects);
    // Committed: no second claim (a retry after a lost COMMIT reply finds it done).
    EXPECT_EQ(ledger->ClaimPartition("r1", "events", 1, "host:1", 60), std::nullopt);
    ledger->MarkFailed("r1", "events", 2, "boom");
    parts = ledger->Partitions("r1");
    EXPECT_EQ(parts[0].status, "committed");
    EXPECT_EQ(parts[0].rows, 41);
    EXPECT_EQ(parts[0].undo, "pg-xid:7");
    EXPECT_EQ(parts[0].rows_read, 42);
    EXPECT_EQ(parts[0].bytes, 900);
    EXPECT_EQ(parts[1].status, "failed");
    EXPECT_EQ(parts[1].error, "boom");
    // Before the run ends (or when it was killed), listings count its committed partitions.
    EXPECT_EQ(ledger->RecentRuns(10)[0].rows_written, 41);
    EXPECT_EQ(ledger->GetRun("r1")->rows_written, 41);

    EXPECT_FALSE(ledger->StopRequested("r1"));
    ledger->RequestStop("r1");
    EXPECT_TRUE(ledger->StopRequested("r1"));
    ledger->ResumeRun("r1", "host:2");
    EXPECT_FALSE(ledger->StopRequested("r1"));

    run.status = "succeeded";
    run.rows_written = 41;
    ledger->FinishRun(run);
    EXPECT_FALSE(ledger->FindUnfinished("job"));
    auto runs = ledger->RecentRuns(10);
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].rows_written, 41);
}

TEST(Ledger, RestartSupersedesTheUnfinishedRun) {
    testing::TempDir dir;
    auto ledger = Ledger::Open("sqlite://" + dir / "state.db", "test");
    ledger->CreateRun(MakeRun("old", 0), TwoPartitions());
    ledger->CreateRun(MakeRun("new", 1), TwoPartitions());
    ledger->Supersede("old", "new");
    auto unfinished = ledger->FindUnfinished("job");
    ASSERT_TRUE(unfinished);
    EXPECT_EQ(unfinished->run_id, "new");
    EXPECT_EQ(ledger->GetRun("old")->superseded_by, "new");
}

TEST(Ledger, OwnerLiveness) {
    EXPECT_FALSE(OwnerIsDeadLocally(ProcessIdentity()));
    EXPECT_TRUE(OwnerIsDeadLocally(ProcessIdentity().substr(0, ProcessIdentity().rfind(':')) + ":999999999"));
    EXPECT_FALSE(OwnerIsDeadLocally("some-other-host:1"));
}

}  // namespace
}  // namespace sluice
