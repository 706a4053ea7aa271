// The scheduler against fake connectors: `after:` dependencies, tenant rollback, replace and
// its publish, lost COMMIT replies (see scheduler_fakes_test.cpp and tests/support).

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
// after:

TEST_F(SchedulerFakes, FailedAfterStreamSkipsItsDependents) {
    auto up = AddFakeTarget("up");
    auto down = AddFakeTarget("down");
    up->Refuse("r4");
    auto up_source = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 2), MakeRows(3, 4)});
    auto down_source = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 2)});
    options_.continue_on_error = true;
    Plan plan;
    plan.streams.push_back(MakeStream("up", "fake://up", {{"", up_source}}));
    plan.streams.push_back(MakeStream("down", "fake://down", {{"", down_source}}));
    plan.streams[1].spec.after = {"up"};

    const RunSummary summary = Run(plan);

    EXPECT_EQ(summary.status, RunStatus::kPartial);
    EXPECT_EQ(summary.streams[0].status, "partial");
    EXPECT_EQ(summary.streams[1].status, "skipped");
    EXPECT_TRUE(Contains(summary.streams[1].error, "stream up did not succeed")) << summary.streams[1].error;
    EXPECT_EQ(up->Rows(), Texts(MakeRows(1, 2)));
    EXPECT_EQ(down->Opened(), 0);  // its target is not even prepared
    EXPECT_TRUE(down->Rows().empty());
    EXPECT_EQ(down_source->Opens(0), 0);
    EXPECT_EQ(LedgerPartition("down", 1).status, "pending");
}

TEST_F(SchedulerFakes, FailedTenantUpstreamSkipsOnlyThatTenantDownstream) {
    auto partners = AddFakeTarget("partners");
    auto interventions = AddFakeTarget("interventions");
    partners->Refuse("pafg3");
    auto p_afg = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 2, "pafg"), MakeRows(3, 4, "pafg")}, "afg");
    auto p_bgd = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 2, "pbgd")}, "bgd");
    auto i_afg = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 2, "iafg")}, "afg");
    auto i_bgd = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 3, "ibgd")}, "bgd");
    options_.continue_on_error = true;
    Plan plan;
    plan.streams.push_back(MakeStream("partners", "fake://partners", {{"afg", p_afg}, {"bgd", p_bgd}}));
    plan.streams.push_back(MakeStream("interventions", "fake://interventions", {{"afg", i_afg}, {"bgd", i_bgd}}));
    plan.streams[1].spec.after = {"partners"};

    const RunSummary summary = Run(plan);

    EXPECT_EQ(summary.status, RunStatus::kPartial);
    const StreamSummary& ps = summary.streams[0];
    const StreamSummary& is = summary.streams[1];
    EXPECT_EQ(ps.status, "partial");
    EXPECT_EQ(ps.failed_tenants.size(), 1u);
    EXPECT_TRUE(ps.failed_tenants.contains("afg"));
    // afg's committed first partition was rolled back with its tenant.
    EXPECT_EQ(partners->Rows(), Texts(MakeRows(1, 2, "pbgd"), "bgd"));
    EXPECT_EQ(is.status, "partial");
    ASSERT_TRUE(is.failed_tenants.contains("afg"));
    EXPECT_TRUE(Contains(is.failed_tenants.at("afg"), "tenant afg failed in stream partners"))
        << is.failed_tenants.at("afg");
    EXPECT_EQ(is.failed_tenants.size(), 1u);
    EXPECT_EQ(interventions->Rows(), Texts(MakeRows(1, 3, "ibgd"), "bgd"));
    EXPECT_EQ(i_afg->Opens(0), 0);
    EXPECT_EQ(LedgerPartition("interventions", 1).status, "failed");
    EXPECT_EQ(LedgerPartition("interventions", 2).status, "committed");
}

// ---------------------------------------------------------------------------------------------
// Tenant rollback

class SchedulerTenantRollback : public SchedulerFakes, public ::testing::WithParamInterface<int> {};

TEST_P(SchedulerTenantRollback, UndoesExactlyThisRunsRowsOfTheFailedTenant) {
    auto target = AddFakeTarget("tenants");
    const Strings before = {"1,old-afg,afg", "7,old-afg,afg", "1,old-bgd,bgd"};
    target->Seed(SeedRows(before));
    target->Refuse("r4");  // afg's second partition fails on data
    auto afg = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 2), MakeRows(3, 4)}, "afg");
    auto bgd = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 2), MakeRows(5, 6)}, "bgd");
    options_.continue_on_error = true;
    options_.workers = GetParam();
    Plan plan;
    plan.streams.push_back(MakeStream("s", "fake://tenants", {{"afg", afg}, {"bgd", bgd}}));

    const RunSummary summary = Run(plan);

    EXPECT_EQ(summary.status, RunStatus::kPartial);
    const StreamSummary& s = summary.streams[0];
    EXPECT_EQ(s.status, "partial");
    EXPECT_EQ(s.failed_tenants.size(), 1u);
    EXPECT_TRUE(s.failed_tenants.contains("afg"));
    // Rows of earlier runs stay (afg's too), bgd loaded, nothing of afg from this run.
    EXPECT_EQ(target->Rows(), Concat({before, Texts(MakeRows(1, 2), "bgd"), Texts(MakeRows(5, 6), "bgd")}));
    EXPECT_EQ(LedgerPartition("s", 1).status, "failed");
    EXPECT_EQ(LedgerPartition("s", 1).rows, 0);
    EXPECT_EQ(LedgerPartition("s", 2).status, "failed");
    EXPECT_EQ(LedgerPartition("s", 3).status, "committed");
    EXPECT_EQ(LedgerPartition("s", 4).status, "committed");
    EXPECT_EQ(Ledger::Open(ledger_url_, "test")->UndoTokens(options_.run_id, "s", "afg").size(), 0u);
    EXPECT_LE(target->UndoneTokens().size(), 1u);  // afg's first partition, if it committed first
    // The counts reconcile: afg's rows that committed were rolled back, not written.
    EXPECT_TRUE(s.rows.Reconciles());
    EXPECT_EQ(s.rows.written, 4);
    ASSERT_TRUE(s.tenants.contains("bgd"));
    EXPECT_EQ(s.tenants.at("bgd").read, 4);
    EXPECT_EQ(s.tenants.at("bgd").written, 4);
    const RowCounts afg_counts = s.tenants.contains("afg") ? s.tenants.at("afg") : RowCounts{};
    EXPECT_EQ(afg_counts.written, 0);
    EXPECT_EQ(afg_counts.rolled_back, target->UndoneTokens().empty() ? 0 : 2);
    EXPECT_TRUE(afg_counts.Reconciles());
    EXPECT_EQ(s.rows.rolled_back, afg_counts.rolled_back);
    EXPECT_EQ(s.rows_rolled_back_earlier, 0);
}

INSTANTIATE_TEST_SUITE_P(Workers, SchedulerTenantRollback, ::testing::Values(1, 2));

TEST_F(SchedulerFakes, TenantRollbackSharesTheTransactionWithALedgerInTheTarget) {
    auto target = std::make_shared<FakeTarget>();
    SchemeOverride fake_sqlite("sqlite", target);
    target->InTransactionLedger(ledger_url_);
    const Strings before = {"9,old-afg,afg"};
    target->Seed(SeedRows(before));
    target->Refuse("r4");
    auto afg = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 2), MakeRows(3, 4)}, "afg");
    auto bgd = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 2)}, "bgd");
    options_.continue_on_error = true;
    Plan plan;
    plan.streams.push_back(MakeStream("s", ledger_url_, {{"afg", afg}, {"bgd", bgd}}));

    const RunSummary summary = Run(plan);

    EXPECT_EQ(summary.status, RunStatus::kPartial);
    EXPECT_EQ(target->Rows(), Concat({before, Texts(MakeRows(1, 2), "bgd")}));
    EXPECT_EQ(target->UndoneTokens().size(), 1u);
    const PartitionRecord first = LedgerPartition("s", 1);
    EXPECT_EQ(first.status, "failed");
    EXPECT_TRUE(Contains(first.error, "rolled back")) << first.error;
    EXPECT_EQ(LedgerPartition("s", 3).status, "committed");
}

// ---------------------------------------------------------------------------------------------
// Replace

TEST_F(SchedulerFakes, ReplaceDoesNotPublishWhenAPartitionFailed) {
    for (const bool continue_on_error : {false, true}) {
        SCOPED_TRACE(continue_on_error ? "on_error: continue" : "on_error: stop");
        sluice::testing::TempDir dir;
        options_.ledger_url = ledger_url_ = "sqlite://" + (dir / "ledger.db");
        auto target = AddFakeTarget("replace");
        const Strings before = {"1,old", "2,old"};
        target->Seed(SeedRows(before));
        target->Refuse("r4");
        auto source = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 2), MakeRows(3, 4), MakeRows(5, 6)});
        options_.continue_on_error = continue_on_error;
        Plan plan;
        plan.streams.push_back(MakeStream("s", "fake://replace", {{"", source}}));
        plan.streams[0].spec.target.mode = "replace";

        const RunSummary summary = Run(plan);

        if (!continue_on_error) {
            EXPECT_EQ(summary.status, RunStatus::kFailed);  // under continue: see the DISABLED test below
        }
        EXPECT_EQ(summary.streams[0].status, "failed");
        EXPECT_TRUE(Contains(summary.streams[0].error, "not published")) << summary.streams[0].error;
        EXPECT_EQ(target->Finalized(), std::vector<bool>{false});
        EXPECT_EQ(target->Rows(), before);  // the old table stays untouched
    }
}

TEST_F(SchedulerFakes, ReplacePublishesWithTheFailedTenantsPreviousRowsCarriedOver) {
    auto target = AddFakeTarget("replace-tenants");
    const Strings before = {"1,old-afg,afg", "2,old-afg,afg", "1,old-bgd,bgd"};
    target->Seed(SeedRows(before));
    target->Refuse("r4");
    auto afg = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 2), MakeRows(3, 4)}, "afg");
    auto bgd = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 3)}, "bgd");
    options_.continue_on_error = true;
    Plan plan;
    plan.streams.push_back(MakeStream("s", "fake://replace-tenants", {{"afg", afg}, {"bgd", bgd}}));
    plan.streams[0].spec.target.mode = "replace";

    const RunSummary summary = Run(plan);

    EXPECT_EQ(summary.status, RunStatus::kPartial);
    const StreamSummary& s = summary.streams[0];
    EXPECT_EQ(s.status, "partial");
    EXPECT_EQ(s.carried_over_tenants, (std::map<std::string, int64_t>{{"afg", 2}}));
    EXPECT_EQ(target->Finalized(), std::vector<bool>{true});
    // bgd replaced by this run's rows; afg keeps its previous rows, none of this run's.
    EXPECT_EQ(target->Rows(), Concat({{"1,old-afg,afg", "2,old-afg,afg"}, Texts(MakeRows(1, 3), "bgd")}));
}

// Regression test for a bug the fakes found (fixed): with on_error: continue, a run whose only stream is a
// replace that was not published (a partition failed) ends `partial` (exit 3), although the
// target is exactly as before the run. Finish() in stream_lifecycle.cpp calls it partial when
// AnyCommitted(), which counts partitions committed into the staging table of a stream whose
// status is "failed" (not published). Exit 3 tells a scheduler "some data loaded".
TEST_F(SchedulerFakes, UnpublishedReplaceUnderContinueFailsTheRun) {
    auto target = AddFakeTarget("replace-continue");
    target->Seed(SeedRows({"1,old"}));
    target->Refuse("r4");
    auto source = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 2), MakeRows(3, 4)});
    options_.continue_on_error = true;
    Plan plan;
    plan.streams.push_back(MakeStream("s", "fake://replace-continue", {{"", source}}));
    plan.streams[0].spec.target.mode = "replace";

    const RunSummary summary = Run(plan);

    EXPECT_EQ(target->Rows(), Strings{"1,old"});
    EXPECT_EQ(summary.status, RunStatus::kFailed);
}

TEST_F(SchedulerFakes, ReplaceUnderStopWithAFailedTenantDoesNotPublish) {
    // afg's larger first partition fails before bgd loads: the run stops, nothing publishes.
    auto target = AddFakeTarget("replace-stop");
    const Strings before = {"1,old-afg,afg", "1,old-bgd,bgd"};
    target->Seed(SeedRows(before));
    target->Refuse("r3");
    auto afg = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 3), MakeRows(4, 5)}, "afg");
    auto bgd = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 2, "b")}, "bgd");
    Plan plan;
    plan.streams.push_back(MakeStream("s", "fake://replace-stop", {{"afg", afg}, {"bgd", bgd}}));
    plan.streams[0].spec.target.mode = "replace";

    const RunSummary summary = Run(plan);

    EXPECT_EQ(summary.status, RunStatus::kFailed);
    EXPECT_EQ(summary.streams[0].status, "failed");
    EXPECT_EQ(target->Finalized(), std::vector<bool>{false});
    EXPECT_EQ(target->Rows(), before);
}

// Regression test for a bug the fakes found (fixed): under on_error: stop, when the failed tenant's partition is
// the stream's last to end (so the stream completes instead of being cut short), the replace
// is PUBLISHED with the failed tenant carried over, while the run ends failed (exit 1).
// CompleteStream computes "partial" (some partitions committed) and MayPublish (stream_lifecycle.cpp)
// allows publishing a partial stream whose failures are whole, carried-over tenants without
// looking at options_.continue_on_error. DESIGN.md: "A failed run never publishes"; issue 9
// item 4 allows carry-over only "with tenants under `continue`". Whether the table is swapped
// then depends on the order partitions happen to end.
TEST_F(SchedulerFakes, ReplaceUnderStopNeverPublishesWhenTheFailedTenantEndsLast) {
    auto target = AddFakeTarget("replace-stop-last");
    const Strings before = {"1,old-afg,afg"};
    target->Seed(SeedRows(before));
    target->Refuse("r3");
    // Largest first with one worker: bgd (3 rows) commits, afg/1 commits, afg/2 fails last.
    auto afg = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 2), MakeRows(3, 4)}, "afg");
    auto bgd = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 3, "b")}, "bgd");
    Plan plan;
    plan.streams.push_back(MakeStream("s", "fake://replace-stop-last", {{"afg", afg}, {"bgd", bgd}}));
    plan.streams[0].spec.target.mode = "replace";

    const RunSummary summary = Run(plan);

    EXPECT_EQ(summary.status, RunStatus::kFailed);
    EXPECT_EQ(target->Finalized(), std::vector<bool>{false});
    EXPECT_EQ(target->Rows(), before);  // fails today: bgd's new rows + afg's old ones were swapped in
}

TEST_F(SchedulerFakes, FailedPublishLeavesTheOldTable) {
    auto target = AddFakeTarget("publish");
    const Strings before = {"1,old"};
    target->Seed(SeedRows(before));
    target->FailPublish(Error(ErrorKind::kConnection, "fake target: lock timeout during the swap", "55P03"));
    auto source = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 2), MakeRows(3, 4)});
    Plan plan;
    plan.streams.push_back(MakeStream("s", "fake://publish", {{"", source}}));
    plan.streams[0].spec.target.mode = "replace";

    const RunSummary summary = Run(plan);

    EXPECT_EQ(summary.status, RunStatus::kFailed);
    EXPECT_EQ(summary.streams[0].status, "failed");
    EXPECT_TRUE(Contains(summary.streams[0].error, "lock timeout during the swap")) << summary.streams[0].error;
    EXPECT_TRUE(Contains(summary.error, "lock timeout during the swap")) << summary.error;
    EXPECT_EQ(target->Finalized(), std::vector<bool>{true});
    EXPECT_EQ(target->Rows(), before);
    // The staging table keeps the loaded rows for a --resume.
    EXPECT_EQ(target->StagingRows(), Concat({Texts(MakeRows(1, 4))}));
}

// ---------------------------------------------------------------------------------------------
// Lost COMMIT replies

TEST_F(SchedulerFakes, LostCommitReplyWithTheLedgerElsewhereLoadsAtLeastOnce) {
    // The target is not the ledger's database: the mark is written after COMMIT, so when the
    // COMMIT's reply is lost nobody can tell it landed, and the retry loads the partition
    // again. This is the documented at-least-once case (DESIGN.md, issue 9 item 7): the rows
    // are duplicated. A target with a key would refuse the second copy instead.
    auto target = AddFakeTarget("lost-elsewhere");
    target->FailCommit("0", CommitFault::kLostReply);
    auto source = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 3)});
    Plan plan;
    plan.streams.push_back(MakeStream("s", "fake://lost-elsewhere", {{"", source}}));

    const RunSummary summary = Run(plan);

    EXPECT_EQ(summary.status, RunStatus::kSucceeded);
    EXPECT_EQ(target->Commits(), 2);
    EXPECT_EQ(target->Rows(), Concat({Texts(MakeRows(1, 3)), Texts(MakeRows(1, 3))}));
    EXPECT_EQ(LedgerPartition("s", 1).attempts, 2);
}

TEST_F(SchedulerFakes, LostCommitReplyWithTheLedgerInTheTargetLoadsOnce) {
    auto target = std::make_shared<FakeTarget>();
    SchemeOverride fake_sqlite("sqlite", target);
    target->InTransactionLedger(ledger_url_);
    target->FailCommit("0", CommitFault::kLostReply);
    auto source = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 3), MakeRows(4, 5)});
    Plan plan;
    plan.streams.push_back(MakeStream("s", ledger_url_, {{"", source}}));

    const RunSummary summary = Run(plan);

    EXPECT_EQ(summary.status, RunStatus::kSucceeded);
    EXPECT_EQ(summary.streams[0].rows.written, 5);
    EXPECT_EQ(target->Commits(), 2);
    EXPECT_EQ(target->Rows(), Concat({Texts(MakeRows(1, 5))}));
    EXPECT_EQ(source->Opens(0), 1);  // confirmed through the ledger, not loaded again
    const PartitionRecord p = LedgerPartition("s", 1);
    EXPECT_EQ(p.status, "committed");
    EXPECT_EQ(p.attempts, 1);
    EXPECT_EQ(p.rows, 3);
}

TEST_F(SchedulerFakes, CommitFailingBeforeItAppliesIsRetriedAndLoadsOnce) {
    for (const bool in_target : {false, true}) {
        SCOPED_TRACE(in_target ? "ledger in the target" : "ledger elsewhere");
        sluice::testing::TempDir dir;
        options_.ledger_url = ledger_url_ = "sqlite://" + (dir / "ledger.db");
        std::shared_ptr<FakeTarget> target;
        std::optional<SchemeOverride> fake_sqlite;
        std::string url = "fake://before-apply";
        if (in_target) {
            target = std::make_shared<FakeTarget>();
            fake_sqlite.emplace("sqlite", target);
            target->InTransactionLedger(ledger_url_);
            url = ledger_url_;
        } else {
            target = AddFakeTarget("before-apply");
        }
        target->FailCommit("0", CommitFault::kBeforeApply, 2);
        auto source = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 3)});
        Plan plan;
        plan.streams.push_back(MakeStream("s", url, {{"", source}}));

        const RunSummary summary = Run(plan);

        EXPECT_EQ(summary.status, RunStatus::kSucceeded);
        EXPECT_EQ(target->Rows(), Concat({Texts(MakeRows(1, 3))}));
        EXPECT_EQ(source->Opens(0), 3);
        EXPECT_EQ(LedgerPartition("s", 1).attempts, 3);
        EXPECT_EQ(LedgerPartition("s", 1).status, "committed");
    }
}

TEST_F(SchedulerFakes, RejectsCommitWithTheMarkWhenTheLedgerIsInTheTarget) {
    auto target = std::make_shared<FakeTarget>();
    SchemeOverride fake_sqlite("sqlite", target);
    target->InTransactionLedger(ledger_url_);
    target->Refuse("r2");
    auto source = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 3)});
    options_.max_rejects = 5;
    Plan plan;
    plan.streams.push_back(MakeStream("s", ledger_url_, {{"", source}}));

    const RunSummary summary = Run(plan);

    EXPECT_EQ(summary.status, RunStatus::kSucceeded);
    EXPECT_EQ(target->Rows(), Texts({{1, "r1"}, {3, "r3"}}));
    EXPECT_EQ(LedgerRejects(), Strings{R"(id=2: {"id":2,"name":"r2"})"});
}

// ---------------------------------------------------------------------------------------------
// Exceptions that are not sluice::Error

TEST_F(SchedulerFakes, ForeignExceptionInASourceFailsOnlyItsPartition) {
    auto target = AddFakeTarget("foreign-source");
    auto source = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 2), MakeRows(3, 4)});
    source->Fail(0, {ReadFault::kForeign, 1, -1});
    options_.continue_on_error = true;
    Plan plan;
    plan.streams.push_back(MakeStream("s", "fake://foreign-source", {{"", source}}));

    const RunSummary summary = Run(plan);

    EXPECT_EQ(summary.status, RunStatus::kPartial);
    EXPECT_EQ(summary.error_kind, ErrorKind::kInternal);
    EXPECT_TRUE(Contains(summary.error, "std::runtime_error from a foreign library")) << summary.error;
    EXPECT_EQ(target->Rows(), Texts(MakeRows(3, 4)));
    EXPECT_EQ(source->Opens(0), 1);  // not retried
    const PartitionRecord p = LedgerPartition("s", 1);
    EXPECT_EQ(p.status, "failed");
    EXPECT_TRUE(Contains(p.error, "foreign library")) << p.error;
}

TEST_F(SchedulerFakes, ForeignExceptionInASinkFailsOnlyItsPartition) {
    auto target = AddFakeTarget("foreign-sink");
    target->ThrowForeignOnWrite("1");
    auto source = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 2), MakeRows(3, 4)});
    options_.continue_on_error = true;
    Plan plan;
    plan.streams.push_back(MakeStream("s", "fake://foreign-sink", {{"", source}}));

    const RunSummary summary = Run(plan);

    EXPECT_EQ(summary.status, RunStatus::kPartial);
    EXPECT_TRUE(Contains(summary.error, "std::runtime_error while writing")) << summary.error;
    EXPECT_EQ(target->Rows(), Texts(MakeRows(1, 2)));
    EXPECT_EQ(LedgerPartition("s", 2).status, "failed");
    EXPECT_EQ(LedgerPartition("s", 1).status, "committed");
}

}  // namespace
}  // namespace sluice
