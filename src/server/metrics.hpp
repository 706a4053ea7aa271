#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
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
        int64_t retries = 0;  ///< attempts past each partition's first
        std::map<std::string, int64_t> partitions;  ///< by status
    };
    std::map<std::pair<std::string, std::string>, Totals> by_tenant;  ///< by (stream, tenant)
    std::map<std::string, DurationHistogram> durations;  ///< by stream: committed partitions' last attempt
};

/// What the server itself is doing now.
struct ServerGauges {
    size_t live_runs = 0;      ///< runs it started that are still going
    size_t event_streams = 0;  ///< event streams open
};

RunPartitionStats SummarizePartitions(const std::vector<PartitionRecord>& partitions);

/// `GET /metrics` in Prometheus' text format (0.0.4), from the ledger's runs (so the counts
/// survive a server restart) and their partitions (`stats`, by run id): runs by job and
/// status, rows and bytes per job and per stream and tenant, retries, partitions by status,
/// run and partition duration histograms, and what the server is doing now.
std::string RenderMetrics(const std::vector<RunRecord>& runs, const std::map<std::string, RunPartitionStats>& stats,
                          const ServerGauges& server);

/// Reads what RenderMetrics needs from the ledgers. The partitions of an ended run change only
/// when it is resumed, which changes its status or finish time: those are kept between scrapes,
/// so a scrape reads the partitions of running and changed runs only. Thread-safe.
class MetricsCollector {
public:
    static constexpr int kRunsScanned = 1000;  ///< the latest runs per ledger

    std::string Collect(LedgerPool& ledgers, const std::vector<std::string>& ledger_urls, const ServerGauges& server);

private:
    struct Cached {
        std::string status;
        std::string finished_at;
        RunPartitionStats stats;
    };
    std::mutex mu_;
    std::map<std::string, Cached> cache_;  // guarded by mu_; by run id
};

}  // namespace sluice::server
