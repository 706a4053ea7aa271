#pragma once

#include <memory>
#include <string>

namespace sluice {

/// The per-job lock: one process at a time may start, resume or restart a run of a job, and
/// holds the lock until that run has ended and its outcome is recorded. On PostgreSQL a
/// session advisory lock on a connection of its own; on SQLite an exclusive `flock` on a
/// file beside the database. Both end with the process, so a kill -9 never leaves a stale
/// lock behind (a lock row would need a lease to expire first).
class JobLock {
public:
    /// Takes the lock of `job` in the ledger at `state_url`, or returns nullptr when another
    /// process holds it. Throws Error when the ledger cannot be reached.
    static std::unique_ptr<JobLock> TryAcquire(const std::string& state_url, const std::string& job);

    virtual ~JobLock() = default;
};

}  // namespace sluice
