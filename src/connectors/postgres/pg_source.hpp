#pragma once

#include <memory>

#include "connectors/connector.hpp"

namespace sluice {

/// Opens a PostgreSQL source for `spec` (table: or query:, tenant scoping, consistent
/// snapshot, raw pass-through). Connects lazily: nothing touches the server until Describe,
/// EstimateRows, Partition or Open. See pg_source.cpp for the partition strategies.
///
/// Slice bounds, as text: key_range — key values, lower inclusive, upper exclusive;
/// ctid — block numbers; hash — lower is the bucket, upper the bucket count;
/// offset — row offsets into the ordered result.
std::unique_ptr<Source> OpenPostgresSource(const SourceSpec& spec);

}  // namespace sluice
