#include <gtest/gtest.h>

#include "observe/eta.hpp"
#include "observe/progress.hpp"
#include "observe/reporter.hpp"

namespace sluice {
namespace {

// The run that once showed "ETA 47s" for 6 s: a second of start-up with no rows, then a
// steady 100k rows/s for 600k rows.
TEST(ProgressEta, NoEtaBeforeWarmUpThenTheRecentRate) {
    EtaEstimator eta;
    constexpr int64_t kTotal = 600000;
    double at_2s = 0;
    double at_4s = 0;
    for (int tick = 1; tick <= 40; ++tick) {  // every 0.2 s for 8 s
        const double t = tick * 0.2;
        const int64_t read = t <= 1.0 ? 0 : std::min<int64_t>(kTotal, static_cast<int64_t>((t - 1.0) * 100000));
        const double left = eta.Update(t, read, kTotal - read);
        if (tick == 10) {
            at_2s = left;
        }
        if (tick == 20) {
            at_4s = left;
        }
    }
    EXPECT_EQ(at_2s, -1) << "one second of rows is not enough to judge";
    // At 4 s, 300k rows read, 300k left at 100k rows/s: 3 s (the whole-run average would
    // have said 4 s; a first-second rate, forever).
    EXPECT_NEAR(at_4s, 3.0, 0.25);
}

TEST(ProgressEta, UnknownWithoutAnEstimateAndZeroWhenDone) {
    EtaEstimator eta(10, 0);
    eta.Update(0.5, 0, -1);
    EXPECT_EQ(eta.Update(1.0, 5000, -1), -1);
    EXPECT_EQ(eta.Update(2.0, 10000, 0), 0);
}

TEST(ProgressEta, FollowsAChangeOfPaceWithinTheWindow) {
    EtaEstimator eta(5, 1);
    int64_t read = 0;
    double left = -1;
    for (int s = 1; s <= 30; ++s) {
        read += s <= 10 ? 1000 : 10000;  // ten times faster after 10 s
        left = eta.Update(s, read, 100000);
    }
    EXPECT_NEAR(left, 10.0, 0.5);
}

TEST(ProgressLines, RunningStreamsShowTheirSlowestTenants) {
    ProgressTracker tracker;
    StreamCounters& mart = tracker.AddStream("mart", 1000, 4);
    StreamCounters& idle = tracker.AddStream("later", 10, 1);
    (void)idle;  // not started: no line
    mart.started_ns = 1;
    mart.rows_read = 500;
    const int64_t now = ProgressTracker::SteadyNowNs();
    mart.PartitionStarted(1, "tza", now - 45'000'000'000);
    mart.PartitionStarted(2, "ken", now - 30'000'000'000);
    mart.PartitionStarted(3, "tza", now - 10'000'000'000);
    mart.PartitionStarted(4, "uga", now - 5'000'000'000);
    mart.PartitionStarted(5, "rwa", now - 1'000'000'000);
    mart.PartitionEnded(4);
    const ProgressSnapshot s = tracker.Snapshot();
    ASSERT_EQ(s.running.size(), 1u);
    ASSERT_EQ(s.running[0].slowest_tenants.size(), 3u);
    EXPECT_EQ(s.running[0].slowest_tenants[0].first, "tza");
    EXPECT_EQ(s.running[0].slowest_tenants[1].first, "ken");
    EXPECT_EQ(s.running[0].slowest_tenants[2].first, "rwa");
    const std::string line = StreamLine(s.running[0]);
    EXPECT_NE(line.find("  mart [############............]  50% 500 rows"), std::string::npos) << line;
    EXPECT_NE(line.find("slowest: tza 45s, ken 30s, rwa 1s"), std::string::npos) << line;
    EXPECT_NE(TotalLine(s).find("ETA ?"), std::string::npos);
}

// A waiting worker names whom it waits for; past the holder's lease, on a target that cannot
// fence the steps the holder may wake in, it says why it still waits and what to do.
TEST(EventLines, AWaitSaysWhoHoldsTheLockAndWhyASilentHolderIsNotTakenFrom) {
    nlohmann::json waiting = {{"event", "stream_waiting"}, {"stream", "orders"},
                              {"holder", "sluice/nightly/stream-gate vm1:812"}, {"client", "10.0.0.7"},
                              {"seconds", 30}};
    EXPECT_EQ(EventLine(waiting), "stream orders: waiting for sluice/nightly/stream-gate vm1:812 at 10.0.0.7, "
                                  "which has held it for 30 s to prepare or complete it");
    waiting["silent_seconds"] = 95;
    waiting["holder_pid"] = 4242;
    EXPECT_EQ(EventLine(waiting), "stream orders: waiting for sluice/nightly/stream-gate vm1:812 at 10.0.0.7, "
                                  "which has held it for 30 s to prepare or complete it; its heartbeat has been "
                                  "silent for 95 s, past its lease, but this target cannot fence the steps it may "
                                  "wake in, so its lock is not taken: end that worker, or its gate session "
                                  "(SELECT pg_terminate_backend(4242) on the ledger), to go on");
    EXPECT_EQ(EventLine({{"event", "stream_waiting"}, {"stream", "orders"}, {"holder", ""}}),
              "stream orders: waiting for another process that prepares or completes it");
    EXPECT_EQ(EventLine({{"event", "progress"}, {"rows_read", 5}}), "");
}

}  // namespace
}  // namespace sluice
