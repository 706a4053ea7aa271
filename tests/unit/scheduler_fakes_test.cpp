// The scheduler against fake connectors whose faults are scripted (tests/support): retries,
// bisection, on_error and exceptions that are not sluice::Error; scheduler_streams_test.cpp
// has `after:`, tenants, replace and lost COMMIT replies. Each test asserts the target's exact
// final content, the summary and the ledger. The ledger is a real SQLite file; the target is
// in memory. Unless a test says otherwise the target (fake://) is another database than the
// ledger, so marks are written after COMMIT.

#include <gtest/gtest.h>

#include "support/scheduler_harness.hpp"

namespace sluice {
namespace {

using sluice::testing::AddFakeTarget;
using sluice::testing::CommitFault;
using sluice::testing::Concat;
using sluice::testing::Contains;
using sluice::testing::FakeRows;
using sluice::testing::FakeSource;
using sluice::testing::FakeTarget;
using sluice::testing::MakeRows;
using sluice::testing::MakeStream;
using sluice::testing::ReadFault;
using sluice::testing::SchedulerFakes;
using sluice::testing::SchemeOverride;
using sluice::testing::SeedRows;
using sluice::testing::Strings;
using sluice::testing::Texts;

// ---------------------------------------------------------------------------------------------
// Retries

TEST_F(SchedulerFakes, TransientSourceErrorsRetryAndLoadOnce) {
    auto target = AddFakeTarget("retry");
    auto source = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 5)});
    source->Fail(0, {ReadFault::kTransient, /*on_next=*/2, /*times=*/2});
    options_.retry.attempts = 5;
    Plan plan;
    plan.streams.push_back(MakeStream("s", "fake://retry", {{"", source}}));

    const RunSummary summary = Run(plan);

    EXPECT_EQ(summary.status, RunStatus::kSucceeded);
    EXPECT_EQ(summary.streams[0].status, "succeeded");
    EXPECT_EQ(summary.streams[0].rows.written, 5);
    EXPECT_EQ(target->Rows(), Concat({Texts(MakeRows(1, 5))}));  // the failed attempts left nothing
    EXPECT_EQ(source->Opens(0), 3);
    EXPECT_EQ(target->Commits(), 1);
    EXPECT_EQ(target->TryWrites(), 0);  // a transient error never bisects
    const PartitionRecord p = LedgerPartition("s", 1);
    EXPECT_EQ(p.status, "committed");
    EXPECT_EQ(p.attempts, 3);
    EXPECT_EQ(p.rows, 5);
}

TEST_F(SchedulerFakes, TransientErrorsFailThePartitionAfterTheLastAttempt) {
    auto target = AddFakeTarget("exhausted");
    auto source = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 4)});
    source->Fail(0, {ReadFault::kTransient, 1, /*times=*/-1});
    Plan plan;
    plan.streams.push_back(MakeStream("s", "fake://exhausted", {{"", source}}));

    const RunSummary summary = Run(plan);

    EXPECT_EQ(summary.status, RunStatus::kFailed);
    EXPECT_EQ(summary.streams[0].status, "failed");
    EXPECT_EQ(summary.error_kind, ErrorKind::kConnection);
    EXPECT_TRUE(Contains(summary.error, "server closed the connection")) << summary.error;
    EXPECT_EQ(source->Opens(0), 3);  // settings.retry.attempts
    EXPECT_TRUE(target->Rows().empty());
    const PartitionRecord p = LedgerPartition("s", 1);
    EXPECT_EQ(p.status, "failed");
    EXPECT_EQ(p.attempts, 3);
    EXPECT_TRUE(Contains(p.error, "08006") || Contains(p.error, "server closed")) << p.error;
}

TEST_F(SchedulerFakes, DataErrorsAreNotRetried) {
    auto target = AddFakeTarget("data");
    auto source = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 4)});
    source->Fail(0, {ReadFault::kData, 2, -1});
    Plan plan;
    plan.streams.push_back(MakeStream("s", "fake://data", {{"", source}}));

    const RunSummary summary = Run(plan);

    EXPECT_EQ(summary.status, RunStatus::kFailed);
    EXPECT_EQ(summary.error_kind, ErrorKind::kData);
    EXPECT_EQ(source->Opens(0), 1);
    EXPECT_EQ(LedgerPartition("s", 1).attempts, 1);
    EXPECT_TRUE(target->Rows().empty());
}

// ---------------------------------------------------------------------------------------------
// Bisection

TEST_F(SchedulerFakes, RefusedRowsAreBisectedAsideWhenMaxRejectsAllows) {
    auto target = AddFakeTarget("bisect");
    target->Refuse("r3");
    target->Refuse("r6");
    auto source = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 7)}, "", /*batch_rows=*/4);
    options_.max_rejects = 2;
    options_.retry.attempts = 1;  // the bisecting pass is not a retry: no budget needed
    Plan plan;
    plan.streams.push_back(MakeStream("s", "fake://bisect", {{"", source}}));

    const RunSummary summary = Run(plan);

    EXPECT_EQ(summary.status, RunStatus::kSucceeded);
    EXPECT_EQ(summary.streams[0].rows.written, 5);
    EXPECT_EQ(summary.streams[0].rows.rejected, 2);
    EXPECT_EQ(summary.streams[0].rows_in_rejects_file, 2);
    EXPECT_EQ(FileLines(summary.streams[0].rejects_file), 2u);
    EXPECT_EQ(target->Rows(), Texts({{1, "r1"}, {2, "r2"}, {4, "r4"}, {5, "r5"}, {7, "r7"}}));
    EXPECT_GT(target->TryWrites(), 0);
    EXPECT_EQ(source->Opens(0), 2);  // the plain attempt, then the bisecting one
    const PartitionRecord p = LedgerPartition("s", 1);
    EXPECT_EQ(p.status, "committed");
    EXPECT_EQ(p.attempts, 2);  // the ledger counts claims (the fencing token): both passes
    EXPECT_EQ(p.rows, 5);
}

// Regression test for a bug the fakes found (fixed): when the ledger is not in the target's database, the commit
// mark is written after COMMIT by Ledger::MarkCommitted (partition_loader.cpp RunTask), which calls
// CommitMarkFor(claim, tally, /*rejects=*/{}, undo): the partition's rejects never reach the
// ledger's `rejects` table, although DESIGN.md says bad rows go "to the reject file and
// `rejects` table", and pipeline.cpp's warning about a failed reject file says "the rejected
// rows are in the ledger".
TEST_F(SchedulerFakes, RejectsReachTheLedgerWhenMarksAreWrittenAfterCommit) {
    auto target = AddFakeTarget("bisect-ledger");
    target->Refuse("r2");
    auto source = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 3)});
    options_.max_rejects = 5;
    Plan plan;
    plan.streams.push_back(MakeStream("s", "fake://bisect-ledger", {{"", source}}));

    const RunSummary summary = Run(plan);

    EXPECT_EQ(summary.status, RunStatus::kSucceeded);
    EXPECT_EQ(LedgerRejects(), Strings{R"(id=2: {"id":2,"name":"r2"})"});
}

TEST_F(SchedulerFakes, RefusedRowsOverMaxRejectsFailThePartition) {
    auto target = AddFakeTarget("over");
    target->Refuse("r2");
    target->Refuse("r4");
    auto source = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 5)});
    options_.max_rejects = 1;
    Plan plan;
    plan.streams.push_back(MakeStream("s", "fake://over", {{"", source}}));

    const RunSummary summary = Run(plan);

    EXPECT_EQ(summary.status, RunStatus::kFailed);
    EXPECT_EQ(summary.streams[0].rows.rejected, 0);  // the partition rolled back
    EXPECT_EQ(summary.streams[0].rows_in_rejects_file, 2);  // but the user sees the bad rows
    EXPECT_TRUE(Contains(summary.error, "more than settings.max_rejects = 1")) << summary.error;
    EXPECT_TRUE(target->Rows().empty());
    EXPECT_EQ(LedgerPartition("s", 1).status, "failed");
}

TEST_F(SchedulerFakes, RefusedRowsDoNotBisectWithoutMaxRejects) {
    auto target = AddFakeTarget("nobisect");
    target->Refuse("r2");
    auto source = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 4)});
    options_.max_rejects = 0;
    Plan plan;
    plan.streams.push_back(MakeStream("s", "fake://nobisect", {{"", source}}));

    const RunSummary summary = Run(plan);

    EXPECT_EQ(summary.status, RunStatus::kFailed);
    EXPECT_EQ(summary.error_kind, ErrorKind::kData);
    EXPECT_TRUE(Contains(summary.error, "23514")) << summary.error;
    EXPECT_EQ(target->TryWrites(), 0);
    EXPECT_EQ(source->Opens(0), 1);  // a data error is not retried either
    EXPECT_EQ(LedgerPartition("s", 1).attempts, 1);
    EXPECT_TRUE(target->Rows().empty());
}

TEST_F(SchedulerFakes, RefusedRowsDoNotBisectWithoutSavepoints) {
    auto target = AddFakeTarget("nosavepoints");
    target->Refuse("r2");
    target->DisableSavepoints();
    auto source = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 4)});
    options_.max_rejects = 10;
    Plan plan;
    plan.streams.push_back(MakeStream("s", "fake://nosavepoints", {{"", source}}));

    const RunSummary summary = Run(plan);

    EXPECT_EQ(summary.status, RunStatus::kFailed);
    EXPECT_EQ(target->TryWrites(), 0);
    EXPECT_EQ(source->Opens(0), 1);
    EXPECT_TRUE(target->Rows().empty());
}

TEST_F(SchedulerFakes, SourceDataErrorsFailThePartitionWithoutRejects) {
    // Only the target's refusals become rejects; a source that cannot be read fails. (The
    // scheduler does not tell a source's data error from the target's, so it reads the
    // partition once more in bisecting mode before failing: a wasted pass, nothing wrong.)
    auto target = AddFakeTarget("srcdata");
    auto source = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 4)});
    source->Fail(0, {ReadFault::kData, 2, -1});
    options_.max_rejects = 10;
    Plan plan;
    plan.streams.push_back(MakeStream("s", "fake://srcdata", {{"", source}}));

    const RunSummary summary = Run(plan);

    EXPECT_EQ(summary.status, RunStatus::kFailed);
    EXPECT_EQ(summary.streams[0].rows.rejected, 0);
    EXPECT_EQ(summary.error_kind, ErrorKind::kData);
    EXPECT_TRUE(target->Rows().empty());
    EXPECT_EQ(source->Opens(0), 2);  // the plain pass and the bisecting one, no retries
    EXPECT_EQ(LedgerPartition("s", 1).status, "failed");
}

// ---------------------------------------------------------------------------------------------
// on_error

class SchedulerOnError : public SchedulerFakes {
protected:
    /// Three partitions of two rows; the second one's r4 is refused. One worker: in order.
    RunSummary RunWithMiddleFailure(bool continue_on_error, std::shared_ptr<FakeTarget>& target,
                                    std::shared_ptr<FakeSource>& source) {
        target = AddFakeTarget("onerror");
        target->Refuse("r4");
        source = std::make_shared<FakeSource>(
            std::vector<FakeRows>{MakeRows(1, 2), MakeRows(3, 4), MakeRows(5, 6)});
        options_.continue_on_error = continue_on_error;
        plan_.streams.push_back(MakeStream("s", "fake://onerror", {{"", source}}));
        return Run(plan_);
    }

    Plan plan_;
};

TEST_F(SchedulerOnError, StopEndsTheRunAtTheFirstFailedPartition) {
    std::shared_ptr<FakeTarget> target;
    std::shared_ptr<FakeSource> source;
    const RunSummary summary = RunWithMiddleFailure(false, target, source);

    EXPECT_EQ(summary.status, RunStatus::kFailed);
    EXPECT_EQ(ExitCodeFor(summary.status), ExitCode::kFailed);
    EXPECT_EQ(summary.streams[0].status, "failed");
    EXPECT_EQ(summary.streams[0].partitions_committed, 1u);
    EXPECT_EQ(summary.streams[0].partitions_failed, 1u);
    // Append keeps what committed for --resume; the third partition never started.
    EXPECT_EQ(target->Rows(), Texts(MakeRows(1, 2)));
    EXPECT_EQ(source->Opens(2), 0);
    EXPECT_EQ(LedgerPartition("s", 1).status, "committed");
    EXPECT_EQ(LedgerPartition("s", 2).status, "failed");
    EXPECT_EQ(LedgerPartition("s", 3).status, "pending");
    EXPECT_EQ(target->Finalized(), std::vector<bool>{false});
}

TEST_F(SchedulerOnError, ContinueLoadsTheOthersAndEndsPartial) {
    std::shared_ptr<FakeTarget> target;
    std::shared_ptr<FakeSource> source;
    const RunSummary summary = RunWithMiddleFailure(true, target, source);

    EXPECT_EQ(summary.status, RunStatus::kPartial);
    EXPECT_EQ(ExitCodeFor(summary.status), ExitCode::kPartial);
    EXPECT_EQ(summary.streams[0].status, "partial");
    EXPECT_EQ(summary.streams[0].partitions_committed, 2u);
    EXPECT_EQ(summary.streams[0].partitions_failed, 1u);
    EXPECT_EQ(summary.streams[0].rows.written, 4);
    EXPECT_EQ(target->Rows(), Concat({Texts(MakeRows(1, 2)), Texts(MakeRows(5, 6))}));
    EXPECT_EQ(LedgerPartition("s", 2).status, "failed");
    EXPECT_EQ(LedgerPartition("s", 3).status, "committed");
}

TEST_F(SchedulerFakes, StopRollsBackInFlightPartitionsWithTwoWorkers) {
    // Timing decides whether the slow partition finishes before the failure stops the run;
    // either way nothing is half-committed: the target holds exactly the partitions the
    // ledger says committed.
    auto target = AddFakeTarget("inflight");
    auto source = std::make_shared<FakeSource>(
        std::vector<FakeRows>{MakeRows(1, 40), MakeRows(41, 42)}, "", 2);
    source->Fail(0, {ReadFault::kSlow, 1, -1, std::chrono::milliseconds(2)});
    source->Fail(1, {ReadFault::kData, 1, -1});
    options_.workers = 2;
    Plan plan;
    plan.streams.push_back(MakeStream("s", "fake://inflight", {{"", source}}));

    const RunSummary summary = Run(plan);

    EXPECT_EQ(summary.status, RunStatus::kFailed);
    const PartitionRecord slow = LedgerPartition("s", 1);
    if (slow.status == "committed") {
        EXPECT_EQ(target->Rows(), Concat({Texts(MakeRows(1, 40))}));
    } else {
        EXPECT_TRUE(slow.status == "pending" || slow.status == "failed") << slow.status;
        EXPECT_TRUE(target->Rows().empty());
    }
    EXPECT_EQ(LedgerPartition("s", 2).status, "failed");
}

}  // namespace
}  // namespace sluice
