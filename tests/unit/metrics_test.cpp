#include <gtest/gtest.h>

#include "server/metrics.hpp"
#include "state/ledger.hpp"

namespace sluice::server {
namespace {

PartitionRecord Part(const std::string& stream, const std::string& tenant, const std::string& status, int attempts,
                     int64_t rows, const std::string& started, const std::string& finished) {
    PartitionRecord p;
    p.stream = stream;
    p.tenant = tenant;
    p.status = status;
    p.attempts = attempts;
    p.rows = rows;
    p.rows_read = rows;
    p.bytes = rows * 10;
    p.bytes_written = rows * 8;
    p.started_at = started;
    p.finished_at = finished;
    return p;
}

bool Has(const std::string& text, const std::string& line) { return text.find(line + "\n") != std::string::npos; }

TEST(EpochSeconds, ReadsBothLedgersForms) {
    // SQLite's text and PostgreSQL's timestamptz output of the same instant.
    EXPECT_DOUBLE_EQ(*EpochSeconds("2026-12-04 21:30:00.250000+00"), 1796419800.25);
    EXPECT_DOUBLE_EQ(*EpochSeconds("2026-12-04 22:30:00.25+01"), 1796419800.25);
    EXPECT_DOUBLE_EQ(*EpochSeconds("2026-12-04 21:30:00+00"), 1796419800.0);
    EXPECT_FALSE(EpochSeconds("").has_value());
    EXPECT_FALSE(EpochSeconds("yesterday").has_value());
}

TEST(DurationHistogram, BucketsAreCumulativeWhenRendered) {
    RunRecord run;
    run.run_id = "r1";
    run.job = "nightly";
    run.status = "succeeded";
    run.started_at = "2026-12-04 21:30:00+00";
    run.finished_at = "2026-12-04 21:30:40+00";  // 40 s
    const std::vector<PartitionRecord> parts = {
        Part("orders", "de", "committed", 1, 100, "2026-12-04 21:30:00+00", "2026-12-04 21:30:00.05+00"),  // 0.05 s
        Part("orders", "de", "committed", 3, 50, "2026-12-04 21:30:00+00", "2026-12-04 21:30:02+00"),      // 2 s
        Part("orders", "fr", "failed", 2, 0, "2026-12-04 21:30:00+00", "2026-12-04 21:30:09+00"),         // not timed
        Part("orders", "fr", "committed", 1, 7, "2026-12-04 21:30:00+00", "2026-12-04 21:30:00.7+00"),     // 0.7 s
    };
    MetricsTotals totals;
    totals.Add(run, SummarizePartitions(parts), SecondsBetween(run.started_at, run.finished_at));
    const std::string text = RenderMetrics({run}, {{"r1", SummarizePartitions(parts)}}, totals, {});
    EXPECT_TRUE(Has(text, R"(sluice_run_duration_seconds_bucket{job="nightly",le="15"} 0)")) << text;
    EXPECT_TRUE(Has(text, R"(sluice_run_duration_seconds_bucket{job="nightly",le="60"} 1)")) << text;
    EXPECT_TRUE(Has(text, R"(sluice_run_duration_seconds_count{job="nightly"} 1)")) << text;
    EXPECT_TRUE(Has(text, R"(sluice_partition_duration_seconds_bucket{job="nightly",stream="orders",le="0.1"} 1)")) << text;
    EXPECT_TRUE(Has(text, R"(sluice_partition_duration_seconds_bucket{job="nightly",stream="orders",le="1"} 2)")) << text;
    EXPECT_TRUE(Has(text, R"(sluice_partition_duration_seconds_bucket{job="nightly",stream="orders",le="5"} 3)")) << text;
    EXPECT_TRUE(Has(text, R"(sluice_partition_duration_seconds_bucket{job="nightly",stream="orders",le="+Inf"} 3)")) << text;
    EXPECT_TRUE(Has(text, R"(sluice_partition_duration_seconds_sum{job="nightly",stream="orders"} 2.750000)")) << text;
    EXPECT_TRUE(Has(text, R"(sluice_tenant_rows_written_total{job="nightly",stream="orders",tenant="de"} 150)")) << text;
    EXPECT_TRUE(Has(text, R"(sluice_tenant_rows_written_total{job="nightly",stream="orders",tenant="fr"} 7)")) << text;
    EXPECT_TRUE(Has(text, R"(sluice_partition_retries_total{job="nightly",stream="orders",tenant="de"} 2)")) << text;
    EXPECT_TRUE(Has(text, R"(sluice_partition_retries_total{job="nightly",stream="orders",tenant="fr"} 1)")) << text;
    EXPECT_TRUE(Has(text, R"(sluice_tenant_partitions{job="nightly",stream="orders",tenant="fr",status="failed"} 1)")) << text;
    EXPECT_TRUE(Has(text, R"(sluice_bytes_read_total{job="nightly"} 1570)")) << text;
    // Written: committed partitions only (the failed one's attempt left nothing).
    EXPECT_TRUE(Has(text, R"(sluice_bytes_written_total{job="nightly"} 1256)")) << text;
    EXPECT_TRUE(Has(text, R"(sluice_tenant_bytes_written_total{job="nightly",stream="orders",tenant="fr"} 56)")) << text;
    // Only running runs list their partitions by run.
    EXPECT_EQ(text.find("sluice_partitions{"), std::string::npos) << text;
}

TEST(MetricsTotals, TwoRunsAddUp) {
    RunRecord a;
    a.job = "j";
    a.rows_read = 5;
    RunRecord b = a;
    b.rows_read = 7;
    MetricsTotals totals;
    totals.Add(a, SummarizePartitions({Part("s", "t", "committed", 2, 5, "2026-01-01 00:00:00+00", "2026-01-01 00:00:01+00")}), 3.0);
    totals.Add(b, SummarizePartitions({Part("s", "t", "committed", 1, 7, "2026-01-01 00:00:00+00", "2026-01-01 00:00:02+00")}), 400.0);
    EXPECT_EQ(totals.jobs["j"].read, 12);
    EXPECT_EQ(totals.jobs["j"].bytes, 120);
    EXPECT_EQ(totals.run_durations["j"].count, 2);
    EXPECT_EQ((totals.tenants[{"j", "s", "t"}].retries), 1);
    EXPECT_EQ((totals.tenants[{"j", "s", "t"}].rows_written), 12);
    EXPECT_EQ((totals.partition_durations[{"j", "s"}].count), 2);
}

TEST(RenderMetrics, EscapesLabelValues) {
    RunRecord run;
    run.run_id = "r1";
    run.job = "a\"b\\c\nd";
    run.status = "running";
    const RunPartitionStats stats = SummarizePartitions({Part("s", "", "running", 1, 0, "", "")});
    MetricsTotals totals;
    totals.Add(run, stats, std::nullopt);
    const std::string text = RenderMetrics({run}, {{"r1", stats}}, totals, {1, 3, {{"sqlite://a \"b\".db", false}}});
    EXPECT_TRUE(Has(text, R"(sluice_runs{job="a\"b\\c\nd",status="running"} 1)")) << text;
    EXPECT_TRUE(Has(text, R"(sluice_partitions{job="a\"b\\c\nd",run="r1",stream="s",status="running"} 1)")) << text;
    EXPECT_TRUE(Has(text, "sluice_server_live_runs 1")) << text;
    EXPECT_TRUE(Has(text, "sluice_server_event_streams 3")) << text;
    EXPECT_TRUE(Has(text, R"(sluice_ledger_up{ledger="sqlite://a \"b\".db"} 0)")) << text;
}

}  // namespace
}  // namespace sluice::server
