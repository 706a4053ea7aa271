#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "server/ledger_pool.hpp"
#include "state/ledger.hpp"

namespace sluice::server {

/// Durations in Prometheus' histogram shape: counts per upper bound (seconds), sum and count.
struct DurationHistogram {
    static constexpr std::array<double, 10> kBounds{0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 14400};
    std::array<int64_t, kBounds.size()> in_bucket{};  ///< not cumulative: the first bound ≥ it
    int64_t count = 0;
    double sum = 0;

    void Add(double seconds);
    void Merge(const DurationHistogram& other);
};

/// What one run's partitions add to the metrics.
struct RunPartitionStats {
    struct Totals {
        int64_t rows_read = 0;
        int64_t rows_written = 0;
        int64_t bytes = 0;
        int64_t bytes_written = 0;  ///< committed partitions' (Batch::DataBytes)
        int64_t retries = 0;  ///< attempts past each partition's first
        std::map<std::string, int64_t> partitions;  ///< by status

        void Merge(const Totals& other);
    };
    std::map<std::pair<std::string, std::string>, Totals> by_tenant;  ///< by (stream, tenant)
    std::map<std::string, DurationHistogram> durations;  ///< by stream: committed partitions' last attempt
};

/// What the server itself is doing now.
struct ServerGauges {
    size_t live_runs = 0;      ///< runs it started that are still going
    size_t event_streams = 0;  ///< event streams open
    std::vector<std::pair<std::string, bool>> ledgers;  ///< each ledger (masked URL) and whether it answered
};

RunPartitionStats SummarizePartitions(const std::vector<PartitionRecord>& partitions);

/// Seconds from one ledger timestamp to another; nullopt when either is missing.
std::optional<double> SecondsBetween(const std::string& started, const std::string& finished);

/// Figures summed over runs, for the `_total` counters and the duration histograms.
struct MetricsTotals {
    struct Rows {
        int64_t read = 0, written = 0, rejected = 0, bytes = 0, bytes_written = 0;
    };
    std::map<std::string, Rows> jobs;
    std::map<std::string, DurationHistogram> run_durations;  ///< by job
    std::map<std::tuple<std::string, std::string, std::string>, RunPartitionStats::Totals> tenants;  ///< job, stream, tenant
    std::map<std::pair<std::string, std::string>, DurationHistogram> partition_durations;  ///< job, stream

    /// Adds a run: its record, its partitions' figures and its duration (nullopt while it runs).
    void Add(const RunRecord& run, const RunPartitionStats& stats, std::optional<double> seconds);
};

/// `GET /metrics` in Prometheus' text format (0.0.4): the counters and histograms of `totals`;
/// as gauges, the ledger's latest `runs` by job and status and the partitions of those running
/// (`stats`, by run id); and what the server is doing now.
std::string RenderMetrics(const std::vector<RunRecord>& runs, const std::map<std::string, RunPartitionStats>& stats,
                          const MetricsTotals& totals, const ServerGauges& server);

/// Reads what RenderMetrics needs from the ledgers (their latest runs; a ledger that does not
/// answer is skipped and shown down). The partitions of an ended run change only when it is
/// resumed, which changes its status or finish time: those are kept between scrapes, so a
/// scrape reads the partitions of running and changed runs only. Counters only grow while the
/// server runs: a run that leaves the latest runs keeps counting, and a run's duration is the
/// one first seen (a resume does not move it to another bucket). A restart recomputes them from
/// the ledgers, which Prometheus takes as a counter reset. Thread-safe.
class MetricsCollector {
public:
    static constexpr int kRunsScanned = 1000;  ///< the latest runs per ledger

    std::string Collect(LedgerPool& ledgers, const std::vector<std::string>& ledger_urls, ServerGauges server);

private:
    struct Cached {
        RunRecord run;
        RunPartitionStats stats;
        std::optional<double> seconds;  ///< its duration when first seen ended
    };
    std::mutex mu_;
    std::map<std::string, Cached> cache_;  // guarded by mu_; by run id
    MetricsTotals retired_;                // guarded by mu_; runs that left the latest ones
};

}  // namespace sluice::server
