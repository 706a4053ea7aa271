// A stream's lock in a PostgreSQL ledger (the row lock under which a distributed run prepares and
// completes each stream once): a process waiting for it is told, again and again, which process
// holds it and for how long, and gets it as soon as that one lets go; a holder whose session
// ended knows it lost the lock.
#include <gmock/gmock.h>

#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "integration/pg_test_env.hpp"
#include "state/ledger.hpp"

namespace sluice::testing {
namespace {

class PgLedgerLockTest : public PgTest {};

TEST_F(PgLedgerLockTest, AWaiterIsToldWhoHoldsTheStreamUntilItIsLetGo) {
    std::unique_ptr<Ledger> holder = Ledger::Open(Url(), "sluice/job/stream-gate host-a:11");
    std::unique_ptr<Ledger> waiter = Ledger::Open(Url(), "sluice/job/stream-gate host-b:22");
    holder->LockStream("r1", "events");

    std::mutex mu;
    std::vector<StreamLockHolder> told;
    std::future<StreamRecord> locked = std::async(std::launch::async, [&] {
        return waiter->LockStream(
            "r1", "events",
            [&](const StreamLockHolder& h) {
                std::lock_guard lock(mu);
                told.push_back(h);
            },
            0.2);
    });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (;;) {
        {
            std::lock_guard lock(mu);
            if (told.size() >= 3 || std::chrono::steady_clock::now() > deadline) {
                break;
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(locked.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout)
        << "the waiter got the lock while another process held it";

    holder->EndStreamLock(true);
    ASSERT_EQ(locked.wait_for(std::chrono::seconds(20)), std::future_status::ready);
    const StreamRecord record = locked.get();
    EXPECT_EQ(record.stream, "events");
    EXPECT_EQ(record.status, "pending");
    waiter->EndStreamLock(true);

    std::lock_guard lock(mu);
    ASSERT_GE(told.size(), 3u);
    for (const StreamLockHolder& h : told) {
        EXPECT_EQ(h.application_name, "sluice/job/stream-gate host-a:11");
        EXPECT_EQ(h.client, "");  // the test connects over the local socket
        EXPECT_GE(h.seconds, 0);
    }
    EXPECT_EQ(waiter->StreamLockHolderOf("r1", "events").application_name, "") << "nobody holds it now";
}

TEST_F(PgLedgerLockTest, TheLockWaitsOnlyForTheStreamItNames) {
    std::unique_ptr<Ledger> a = Ledger::Open(Url(), "sluice/job/stream-gate a");
    std::unique_ptr<Ledger> b = Ledger::Open(Url(), "sluice/job/stream-gate b");
    a->LockStream("r1", "events");
    bool waited = false;
    const StreamRecord accounts =
        b->LockStream("r1", "accounts", [&](const StreamLockHolder&) { waited = true; }, 0.2);
    EXPECT_EQ(accounts.stream, "accounts");
    EXPECT_FALSE(waited);
    b->EndStreamLock(true);
    a->EndStreamLock(true);
}

TEST_F(PgLedgerLockTest, AHolderWhoseSessionEndedKnowsItLostTheLock) {
    std::unique_ptr<Ledger> holder = Ledger::Open(Url(), "sluice/job/stream-gate lost");
    holder->LockStream("r1", "events");
    EXPECT_TRUE(holder->StillHoldsStreamLock());
    // As the server does to a session cut off from the network (its keepalives unanswered).
    Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = "
         "'sluice/job/stream-gate lost'");
    EXPECT_FALSE(holder->StillHoldsStreamLock());
    for (int i = 0; i < 500 && Value("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                     "'sluice/job/stream-gate lost'") != "0";
         ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));  // the backend ends after its client heard
    }
    std::unique_ptr<Ledger> next = Ledger::Open(Url(), "sluice/job/stream-gate next");
    bool waited = false;
    next->LockStream("r1", "events", [&](const StreamLockHolder&) { waited = true; }, 0.2);
    EXPECT_FALSE(waited) << "the lock went with the session";
    next->EndStreamLock(true);
}

}  // namespace
}  // namespace sluice::testing
