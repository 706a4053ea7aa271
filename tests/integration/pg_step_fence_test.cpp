// Fencing a stream's steps before and after its data in a distributed run (StepFence): the
// process that takes a stream's lock from one silent past its lease ends that one's sessions
// on the target, and the one that lost the lock does not reconnect and go on when it wakes.
// With the ledger's side of it: telling a silent process by its heartbeat session, and ending
// the session that holds the lock.
#include <gmock/gmock.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <thread>

#include "integration/pg_test_env.hpp"
#include "state/ledger.hpp"
#include "support/catch_error.hpp"

namespace sluice::testing {
namespace {

using ::testing::HasSubstr;

constexpr const char* kTag = "sluice^00000000f00d";

class PgStepFenceTest : public PgTest {
protected:
    /// A replace target whose steps carry kTag, and whose check throws once `lost` is set,
    /// as a process's does once it lost the stream's lock.
    TargetSpec FencedReplace(std::atomic<bool>& lost) {
        return FencedReplace([&lost] {
            if (lost) {
                throw Error(ErrorKind::kConnection, "this worker lost stream events's lock");
            }
        });
    }

    TargetSpec FencedReplace(std::function<void()> check) {
        TargetSpec spec = PgTargetSpec(Url(), "events", "replace");
        spec.application_name = "sluice/job/events";
        auto fence = std::make_shared<StepFence>();
        fence->tag = kTag;
        fence->check = std::move(check);
        spec.step_fence = fence;
        return spec;
    }

    pg::PgConnection TaggedSession() {
        return pg::PgConnection::Connect(Url(), std::string(kTag) + " sluice/job/events/prepare");
    }

    std::string TaggedSessions() {
        return Value(std::string("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE '") + kTag + " %'");
    }

    void WaitForTaggedSessions(const std::string& count) {
        for (int i = 0; i < 500 && TaggedSessions() != count; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));  // a backend ends after its client heard
        }
    }
};

Schema IdName() {
    Schema s;
    for (auto [name, type] : {std::pair{"id", LogicalType::kInt32}, std::pair{"name", LogicalType::kText}}) {
        Field f;
        f.name = name;
        f.type = MakeType(type);
        s.fields.push_back(std::move(f));
    }
    s.primary_key = {"id"};
    return s;
}

TEST_F(PgStepFenceTest, TheProcessThatTookTheStreamEndsTheStepsOfTheOneThatLostIt) {
    Exec("CREATE TABLE events (id int PRIMARY KEY, name text); INSERT INTO events VALUES (1, 'old'), (2, 'old')");
    const std::string old_rows = Value("SELECT string_agg(id || name, ',' ORDER BY id) FROM events");

    std::atomic<bool> paused_lost{false};
    auto paused = OpenPostgresSink(FencedReplace(paused_lost));
    paused->Prepare(IdName());  // then paused with its session open, past its lease
    EXPECT_EQ(Value(std::string("SELECT application_name FROM pg_stat_activity WHERE application_name LIKE '") +
                    kTag + " %'"),
              std::string(kTag) + " sluice/job/events/prepare")
        << "the tag comes first, so that cutting a long name never loses it";

    std::atomic<bool> taker_lost{false};
    auto taker = OpenPostgresSink(FencedReplace(taker_lost));
    taker->FenceSteps();
    WaitForTaggedSessions("1");
    EXPECT_EQ(TaggedSessions(), "1") << "only the taker's own session is left";
    const Schema target = taker->Prepare(IdName());

    // The paused process wakes: its session is gone, and its check refuses the new one (made
    // after connecting: a check passed before it could be stale by the time the session opens).
    paused_lost = true;
    const Error e = CatchError([&] { paused->Finalize(true); });
    EXPECT_THAT(e.what(), HasSubstr("lost stream events's lock"));
    WaitForTaggedSessions("1");
    EXPECT_EQ(TaggedSessions(), "1") << "the process that lost the lock kept no session";
    EXPECT_EQ(Value("SELECT string_agg(id || name, ',' ORDER BY id) FROM events"), old_rows)
        << "nothing published by the process that lost the lock";

    // The taker loads and publishes as if nothing happened.
    auto writer = taker->OpenWriter();
    Slice all;
    all.strategy = "none";
    writer->Begin(all);
    Batch rows(target);
    for (int32_t id : {10, 20, 30}) {
        rows.columns[0].Append<int32_t>(id);
        rows.columns[1].AppendBytes("new");
    }
    writer->Write(rows);
    writer->Commit();
    taker->Finalize(true);
    EXPECT_EQ(Value("SELECT string_agg(id || name, ',' ORDER BY id) FROM events"), "10new,20new,30new");
    EXPECT_EQ(Value("SELECT to_regclass('events__sluice_new') IS NULL"), "t");
}

TEST_F(PgStepFenceTest, OnlySessionsOlderThanItsOwnAreEnded) {
    Exec("CREATE TABLE events (id int PRIMARY KEY, name text)");
    pg::PgConnection earlier = TaggedSession();  // of a process that held the lock before
    // This process passes its check, then is paused past its lease: the next holder opens its
    // session before this one, woken, ends the others.
    std::optional<pg::PgConnection> next;
    OpenPostgresSink(FencedReplace([&] {
        if (!next) {
            next.emplace(TaggedSession());
        }
    }))->FenceSteps();
    ASSERT_TRUE(next.has_value());
    for (int i = 0; i < 500 && Value(std::string("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE '") +
                                     kTag + " %'") != "1";
         ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_THROW(earlier.Exec("SELECT 1"), Error) << "the earlier holder's session was ended";
    EXPECT_NO_THROW(next->Exec("SELECT 1")) << "the next holder's session was left alone";
}

TEST_F(PgStepFenceTest, WithoutAFenceNoSessionIsEnded) {
    Exec("CREATE TABLE events (id int PRIMARY KEY, name text)");
    std::atomic<bool> lost{false};
    auto fenced = OpenPostgresSink(FencedReplace(lost));
    fenced->Prepare(IdName());
    auto plain = OpenPostgresSink(PgTargetSpec(Url(), "events", "append"));
    plain->FenceSteps();  // a single-process run's: nothing to fence
    plain->Prepare(IdName());
    EXPECT_EQ(TaggedSessions(), "1");
}

TEST_F(PgStepFenceTest, AHeartbeatSilentForSecondsIsToldAndTheLockItsProcessHoldsCanBeTaken) {
    std::unique_ptr<Ledger> heartbeat = Ledger::Open(Url(), "sluice/job/heartbeat host-a:11");
    std::unique_ptr<Ledger> gate = Ledger::Open(Url(), "sluice/job/stream-gate host-a:11");
    heartbeat->RenewLeases("r1", "host-a:11", 4);
    gate->LockStream("r1", "events");
    std::unique_ptr<Ledger> waiter = Ledger::Open(Url(), "sluice/job/stream-gate host-b:22");

    EXPECT_EQ(waiter->SessionIdleSeconds("sluice/job/heartbeat nobody:1"), std::nullopt);
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    const std::optional<int64_t> silent = waiter->SessionIdleSeconds("sluice/job/heartbeat host-a:11");
    ASSERT_TRUE(silent.has_value());
    EXPECT_GE(*silent, 2);
    EXPECT_LE(*silent, 10);

    const StreamLockHolder holder = waiter->StreamLockHolderOf("r1", "events");
    EXPECT_EQ(holder.application_name, "sluice/job/stream-gate host-a:11");
    ASSERT_GT(holder.pid, 0);
    EXPECT_TRUE(waiter->EndSession(holder.pid));
    EXPECT_FALSE(gate->StillHoldsStreamLock());
    // The lock goes when the ended backend has left, at once.
    const StreamRecord record = waiter->LockStream("r1", "events", [](const StreamLockHolder&) {}, 0.1);
    EXPECT_EQ(record.stream, "events");
    waiter->EndStreamLock(false);
    EXPECT_FALSE(waiter->EndSession(holder.pid)) << "ended already";
}

}  // namespace
}  // namespace sluice::testing
