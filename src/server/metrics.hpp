#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "state/ledger.hpp"

namespace sluice::server {

/// `GET /metrics` in Prometheus' text format (0.0.4), from the ledger's runs (so the counts
/// survive a server restart) and the partitions of the runs still going: runs by job and
/// status, rows read / written / rejected per job, partitions by stream and status, and the
/// runs this server is running now.
std::string RenderMetrics(const std::vector<RunRecord>& runs,
                          const std::map<std::string, std::vector<PartitionRecord>>& running_partitions,
                          size_t live_runs);

}  // namespace sluice::server
