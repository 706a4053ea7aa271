#pragma once

#include <stop_token>
#include <string>
#include <string_view>

#include "engine/scheduler_state.hpp"
#include "engine/work_queue.hpp"

// The threads a run that keeps a ledger runs beside its workers, until the workers end.

namespace sluice {

/// The ledger's stop flag is set (`sluice stop RUN`): reports `stop_requested` unless the run
/// is stopping already, and stops it.
void ObeyLedgerStop(WorkQueue& queue, ProgressReporter& reporter, const std::string& run_id);

/// Polls the ledger's stop flag (`sluice stop RUN` from any shell or host) once a second
/// until `stop` fires or the flag is seen; an unreachable ledger is tried again next second.
void WatchStopFlag(const std::stop_token& stop, const RunContext& run, WorkQueue& queue);

/// The application_name of this process's ledger session for `role` ("heartbeat",
/// "stream-gate"): `sluice/JOB/ROLE WORKER`, the worker whole and the job cut alike for every
/// role (the server keeps 63 bytes), so that one session's name gives the others'.
std::string WorkerSessionName(const RunContext& run, std::string_view role);
/// The name of the heartbeat session of the process whose session is named `name` (by
/// WorkerSessionName); "" when `name` is not one of those.
std::string HeartbeatOf(const std::string& name, std::string_view role);

/// Keeps this process's partition leases alive so that nobody reclaims them, renewing at a
/// third of the lease until `stop` fires; an unreachable ledger is tried again next time.
void RenewLeases(const std::stop_token& stop, const RunContext& run);

/// Writes how far this process's running partitions got (rows read and written, bytes) to
/// the ledger every RunOptions::progress_flush_seconds, for a live `sluice status`; an
/// unreachable ledger is tried again next time.
void FlushProgress(const std::stop_token& stop, const RunContext& run);

}  // namespace sluice
