#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "server/metrics.hpp"
#include "state/ledger.hpp"

namespace sluice::server {

// The JSON shapes of the REST API's answers (src/server/openapi.json describes them).

/// `value` as JSON text, invalid UTF-8 replaced rather than thrown: messages quote requests
/// and source values, and an event stream's writer must not throw (httplib would terminate).
std::string Dump(const nlohmann::json& value);

/// A ledger timestamp as RFC 3339 UTC ("2026-12-04T21:30:00.123456Z"), whichever ledger wrote
/// it; null when unset.
nlohmann::json IsoTime(const std::string& ledger_text);

nlohmann::json RunJson(const RunRecord& r);

/// How long the partition's latest attempt ran, or has run so far; null before it started.
nlohmann::json PartitionSeconds(const PartitionRecord& p);

nlohmann::json PartitionJson(const PartitionRecord& p);

/// A group of partitions (a stream's, a tenant's): counts by status, rows, bytes, retries.
nlohmann::json TotalsJson(const RunPartitionStats::Totals& t);

}  // namespace sluice::server
