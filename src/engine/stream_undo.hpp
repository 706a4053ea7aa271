#pragma once

#include "engine/scheduler_state.hpp"

// Taking rows back out of a stream's target by the undo tokens the ledger keeps (see
// SinkWriter::UndoToken): only the rows a given run's committed partitions wrote, never what
// earlier runs or other tenants loaded. Each runs without mu_, on the one thread that
// prepares or completes the stream: nothing else touches the stream then.

namespace sluice {

/// --restart: deletes what the abandoned run's committed partitions of this stream wrote
/// (a replace starts a fresh staging table instead), with their ledger marks. Throws Error.
void UndoAbandonedRun(const RunContext& run, StreamState& st);

/// Deletes exactly the rows this run's committed partitions of every failed tenant wrote
/// (by their undo tokens: rows earlier runs loaded stay) and turns those partitions back
/// to failed, so each tenant is all-or-nothing and a --resume loads it whole. A replace
/// then carries the tenant's previous rows over from the old table, so publishing does not
/// blank it. Returns false when a failed tenant's previous rows cannot be carried over
/// (no tenant column): the replace must not publish then. Throws Error.
bool RollBackFailedTenants(const RunContext& run, StreamState& st);

/// A replace about to publish without some tenants: copies each failed tenant's previous
/// rows from the old table into the new one, so publishing does not blank it. Only right
/// before the publish: a staging table kept for --resume must hold this run's rows only.
/// Takes mu to record the counts in the summary. Throws Error.
void CarryOverFailedTenants(const RunContext& run, StreamState& st);

}  // namespace sluice
