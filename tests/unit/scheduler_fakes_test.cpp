// The scheduler against fake connectors whose faults are scripted (tests/support): retries,
// bisection, on_error, `after:`, replace, tenant rollback, lost COMMIT replies and foreign
// exceptions, each asserting the target's exact final content, the summary and the ledger.
// The ledger is a real SQLite file; the target is in memory. Unless a test says otherwise the
// target (fake://) is another database than the ledger, so marks are written after COMMIT.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "engine/run.hpp"
#include "plan/slice_json.hpp"
#include "state/ledger.hpp"
#include "support/fake_connectors.hpp"
#include "support/temp_dir.hpp"

namespace sluice {
namespace {

using sluice::testing::AddFakeTarget;
using sluice::testing::CommitFault;
using sluice::testing::FakeRows;
using sluice::testing::FakeSchema;
using sluice::testing::FakeSource;
using sluice::testing::FakeTarget;
using sluice::testing::MakeRows;
using sluice::testing::ReadFault;
using sluice::testing::ReadFaultSpec;
using sluice::testing::SchemeOverride;

using Strings = std::vector<std::string>;

/// A stream over fake sources: one per tenant (tenant "" = no tenants), partitions numbered
/// from 1 in tenant order.
StreamPlan MakeStream(const std::string& name, const std::string& target_url,
                      const std::vector<std::pair<std::string, std::shared_ptr<FakeSource>>>& sources) {
    StreamPlan sp;
    sp.spec.name = name;
    sp.spec.target.url = target_url;
    sp.spec.target.table = name;
    sp.source_schema = FakeSchema();
    sp.strategy = "fake";
    const bool tenants = !sources.front().first.empty();
    if (tenants) {
        sp.spec.tenants.as_column = "country";
    }
    int id = 0;
    for (size_t t = 0; t < sources.size(); ++t) {
        const auto& [tenant, source] = sources[t];
        sp.sources.push_back(source);
        sp.source_schemas.push_back(FakeSchema());
        if (tenants) {
            sp.spec.tenants.schemas.push_back(tenant);
            sp.tenants.push_back(TenantPlan{tenant, source->EstimateRows(), 0, {}, {}});
        }
        for (Slice& slice : source->Partition({})) {
            sp.partitions.push_back(PartitionPlan{++id, std::move(slice), t, false});
            if (tenants) {
                sp.tenants.back().partitions++;
            }
        }
    }
    sp.estimated_rows = 0;
    for (const auto& [tenant, source] : sources) {
        sp.estimated_rows += source->EstimateRows();
    }
    return sp;
}

/// Expected target rows of fake rows: "id,name" (plus ",tenant").
Strings Texts(const FakeRows& rows, const std::string& tenant = "") {
    Strings out;
    for (const auto& [id, name] : rows) {
        out.push_back(std::to_string(id) + "," + name + (tenant.empty() ? "" : "," + tenant));
    }
    return out;
}

Strings Concat(std::initializer_list<Strings> parts) {
    Strings out;
    for (const Strings& part : parts) {
        out.insert(out.end(), part.begin(), part.end());
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::vector<std::string>> SeedRows(const Strings& texts) {
    std::vector<std::vector<std::string>> out;
    for (const std::string& text : texts) {
        std::vector<std::string> values;
        size_t begin = 0;
        for (size_t comma; (comma = text.find(',', begin)) != std::string::npos; begin = comma + 1) {
            values.push_back(text.substr(begin, comma - begin));
        }
        values.push_back(text.substr(begin));
        out.push_back(std::move(values));
    }
    return out;
}

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

class SchedulerFakes : public ::testing::Test {
protected:
    SchedulerFakes() {
        options_.workers = 1;
        options_.retry.attempts = 3;
        options_.retry.initial = std::chrono::milliseconds(1);
        options_.retry.max = std::chrono::milliseconds(2);
        options_.ledger_url = ledger_url_;
        options_.run_id = "run-1";
        options_.worker = "test:1";
        options_.rejects_dir = dir_ / "rejects";
    }

    /// Records the plan's run in the ledger (as `sluice run` does) and runs it.
    RunSummary Run(Plan& plan) {
        plan.job = "fakes";
        std::vector<PartitionRecord> records;
        for (const StreamPlan& stream : plan.streams) {
            for (const PartitionPlan& p : stream.partitions) {
                PartitionRecord r;
                r.stream = stream.spec.name;
                r.partition_id = p.id;
                r.tenant = p.slice.tenant;
                r.lower_bound = p.slice.lower.value_or("");
                r.upper_bound = p.slice.upper.value_or("");
                r.slice = SliceToJson(p.slice);
                records.push_back(std::move(r));
            }
        }
        RunRecord run;
        run.run_id = options_.run_id;
        run.job = plan.job;
        run.started_at = UtcTimestamp();
        run.owner = options_.worker;
        Ledger::Open(ledger_url_, "test")->CreateRun(run, records);
        ProgressTracker tracker;
        ProgressReporter reporter(tracker, ProgressMode::kNone);
        return RunPlan(plan, options_, tracker, reporter);
    }

    PartitionRecord LedgerPartition(const std::string& stream, int partition) {
        std::optional<PartitionRecord> p = Ledger::Open(ledger_url_, "test")->GetPartition(options_.run_id, stream, partition);
        EXPECT_TRUE(p.has_value());
        return p.value_or(PartitionRecord{});
    }

    /// The ledger's `rejects` rows of the run ("position: row"), sorted.
    Strings LedgerRejects() {
        Strings out;
        for (const SqlRow& row : OpenSqlStore(ledger_url_, "test")->Query(
                 "SELECT \"row\" FROM sluice_rejects WHERE run_id = ? ORDER BY \"row\"", {options_.run_id})) {
            out.push_back(row[0].value_or("NULL"));
        }
        return out;
    }

    /// Lines of the stream's reject file.
    static size_t FileLines(const std::string& path) {
        std::ifstream in(path);
        size_t lines = 0;
        for (std::string line; std::getline(in, line);) {
            ++lines;
        }
        return lines;
    }

    sluice::testing::TempDir dir_;
    std::string ledger_url_ = "sqlite://" + (dir_ / "ledger.db");
    RunOptions options_;
};

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
    EXPECT_EQ(summary.streams[0].rows_written, 5);
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
    EXPECT_EQ(summary.streams[0].rows_written, 5);
    EXPECT_EQ(summary.streams[0].rows_rejected, 2);
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

// Bug (reported, not fixed here): when the ledger is not in the target's database, the commit
// mark is written after COMMIT by Ledger::MarkCommitted (scheduler.cpp RunTask), which calls
// CommitMarkFor(claim, rows, /*rejects=*/{}, undo): the partition's rejects never reach the
// ledger's `rejects` table, although DESIGN.md says bad rows go "to the reject file and
// `rejects` table", and pipeline.cpp's warning about a failed reject file says "the rejected
// rows are in the ledger".
TEST_F(SchedulerFakes, DISABLED_RejectsReachTheLedgerWhenMarksAreWrittenAfterCommit) {
    auto target = AddFakeTarget("bisect-ledger");
    target->Refuse("r2");
    auto source = std::make_shared<FakeSource>(std::vector<FakeRows>{MakeRows(1, 3)});
    options_.max_rejects = 5;
    Plan plan;
    plan.streams.push_back(MakeStream("s", "fake://bisect-ledger", {{"", source}}));

    const RunSummary summary = Run(plan);

    EXPECT_EQ(summary.status, RunStatus::kSucceeded);
    EXPECT_EQ(LedgerRejects(), Strings{"id=2: 2,r2"});
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
    EXPECT_EQ(summary.streams[0].rows_rejected, 0);  // the partition rolled back
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
    EXPECT_EQ(summary.streams[0].rows_rejected, 0);
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
    EXPECT_EQ(summary.streams[0].rows_written, 4);
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

// Bug (reported, not fixed here): with on_error: continue, a run whose only stream is a
// replace that was not published (a partition failed) ends `partial` (exit 3), although the
// target is exactly as before the run. Finish() in scheduler.cpp calls it partial when
// AnyCommitted(), which counts partitions committed into the staging table of a stream whose
// status is "failed" (not published). Exit 3 tells a scheduler "some data loaded".
TEST_F(SchedulerFakes, DISABLED_UnpublishedReplaceUnderContinueFailsTheRun) {
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

// Bug (reported, not fixed here): under on_error: stop, when the failed tenant's partition is
// the stream's last to end (so the stream completes instead of being cut short), the replace
// is PUBLISHED with the failed tenant carried over, while the run ends failed (exit 1).
// CompleteStream computes "partial" (some partitions committed) and MayPublish (scheduler.cpp)
// allows publishing a partial stream whose failures are whole, carried-over tenants without
// looking at options_.continue_on_error. DESIGN.md: "A failed run never publishes"; issue 9
// item 4 allows carry-over only "with tenants under `continue`". Whether the table is swapped
// then depends on the order partitions happen to end.
TEST_F(SchedulerFakes, DISABLED_ReplaceUnderStopNeverPublishesWhenTheFailedTenantEndsLast) {
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
    EXPECT_EQ(summary.streams[0].rows_written, 5);
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
    EXPECT_EQ(LedgerRejects(), Strings{"id=2: 2,r2"});
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
