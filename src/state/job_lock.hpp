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

    /// A distributed run's worker (PostgreSQL ledgers only): the job's lock in shared mode,
    /// which any number of workers hold together while a start, resume or restart (which
    /// need it exclusive) waits; nullptr while one of those holds it.
    static std::unique_ptr<JobLock> TryAcquireShared(const std::string& state_url, const std::string& job);

    /// Turns a held exclusive lock into a shared one without letting go in between: the
    /// process that started a distributed run then works on it beside the other workers.
    virtual void Share() {}

    virtual ~JobLock() = default;
};

}  // namespace sluice
