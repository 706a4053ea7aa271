#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/batch.hpp"
#include "state/sql_store.hpp"

namespace sluice {

/// A row of `runs`.
struct RunRecord {
    std::string run_id;
    std::string job;
    std::string status;        ///< running | succeeded | failed | partial | stopped
    std::string started_at;
    std::string finished_at;
    int64_t rows_read = 0;
    int64_t rows_written = 0;
    int64_t rows_rejected = 0;
    std::string error;
    bool stop_requested = false;
    std::string superseded_by; ///< set by --restart: the run that replaced this one
    std::string owner;         ///< host:pid of the process that last ran it
    int64_t rows_rolled_back = 0;  ///< FinishRun: of the finishing invocation, for `invocations`
    /// What the run reads and writes, per stream (JSON, secrets masked): a resume must not
    /// continue it with a job that now means other tables.
    std::string fingerprint;
    /// A distributed run (`run --distributed`): workers on any host join it through the
    /// ledger, claiming partitions and preparing and completing streams once (`streams`).
    bool distributed = false;
    /// A distributed run's job as workers read it (JSON: the job file's text, its --set
    /// flags, its path and directory); `${VAR}`s stay unexpanded, so secrets stay out.
    std::string spec;
};

/// A row of `streams` (distributed runs): each stream's target is prepared once before its
/// first partition and completed (tenant rollback, publish) once after its last, under this
/// row's lock, whichever worker gets there.
struct StreamRecord {
    std::string stream;
    std::string status = "pending";  ///< pending | active | done
    std::string outcome;             ///< done: succeeded | partial | failed | stopped | skipped
    std::string error;
    bool prepared = false;           ///< prepared before: a resume prepares it as resuming
    std::string prepared_by;
    std::string completed_by;
};

/// The process holding a stream's row lock, as the ledger's server sees it.
struct StreamLockHolder {
    std::string application_name;  ///< names the job and the worker (host:pid)
    std::string client;            ///< its address; empty over a local socket
    int64_t seconds = 0;           ///< how long its transaction has been open
    int64_t pid = 0;               ///< its server process; 0 when nobody holds the lock
};

/// A distributed run's stream as its partitions in the ledger add up.
struct StreamTally {
    int64_t committed = 0;
    int64_t failed = 0;
    int64_t open = 0;  ///< pending or running
    std::map<std::string, std::string> failed_tenants;  ///< tenant -> first error
    std::vector<std::string> failed_partition_tenants;  ///< the tenant of each failed partition
};

/// How far a partition got: rows read from the source, rows written to the target (in its
/// open transaction while it runs; committed once it has), and bytes read.
struct PartitionTally {
    int64_t rows_read = 0;
    int64_t rows_written = 0;
    int64_t bytes = 0;
    /// Of the rows written, how they landed (a merge; appends insert all): the rest were
    /// superseded by a later row with the same key. Recorded with the commit mark.
    int64_t rows_inserted = 0;
    int64_t rows_updated = 0;
    int64_t rows_unchanged = 0;
    int64_t rows_deleted = 0;  ///< target rows delete_missing removed (never read)
    int64_t rows_filtered = 0; ///< rows a transform's filter left out (read, not written)
    int64_t bytes_written = 0; ///< Batch::DataBytes of the rows written (committed)
};

/// A running partition's tally, for Ledger::RecordProgress.
struct PartitionProgress {
    std::string stream;
    int partition = 0;
    PartitionTally tally;
};

/// A row of `invocations`: one `sluice run` (or `--resume`) process working on a run.
struct InvocationRecord {
    int invocation = 0;              ///< 1 for the run's first process, then one per --resume
    std::string owner;               ///< host:pid
    std::string started_at;
    std::string finished_at;         ///< empty while it runs, or when it died without a summary
    std::string status;              ///< the run status it ended with; empty when it never ended
    int64_t rows_read = 0;           ///< from its summary (0 when it never ended)
    int64_t rows_written = 0;
    int64_t rows_rejected = 0;
    int64_t rows_rolled_back = 0;
    /// From the partitions it committed (known even when the process was killed).
    int64_t partitions_committed = 0;
    int64_t rows_committed = 0;
};

/// A row of `partitions`.
struct PartitionRecord {
    std::string stream;
    int partition_id = 0;
    std::string tenant;
    std::string lower_bound;
    std::string upper_bound;
    std::string status = "pending";  ///< pending | running | committed | failed
    int attempts = 0;
    int64_t rows = 0;                ///< rows written: committed, or sent so far while running
    int64_t rows_read = 0;           ///< flushed every few seconds while running
    int64_t bytes = 0;               ///< bytes read, likewise
    int64_t rows_inserted = 0;       ///< committed: how its rows landed (PartitionTally)
    int64_t rows_updated = 0;
    int64_t rows_unchanged = 0;
    int64_t rows_deleted = 0;
    int64_t rows_filtered = 0;       ///< committed: rows the transform's filter left out
    int64_t bytes_written = 0;       ///< committed: bytes of the values written (Batch::DataBytes)
    std::string worker;
    std::string lease_until;
    std::string started_at;          ///< the latest attempt's claim (ledger text, UTC)
    std::string finished_at;         ///< its commit or failure; empty while it runs
    std::string error;
    std::string slice;               ///< the Slice as JSON, to rebuild the plan on resume
    /// What identifies the rows the committed partition wrote in its target (the sink's
    /// SinkWriter::UndoToken), so a failed tenant's rollback deletes exactly those.
    std::string undo;
    int64_t estimated_rows = 0;      ///< the planner's estimate: claims take the largest first
};

/// A row of `checkpoints`: the incremental high-water mark of a stream (and tenant).
struct CheckpointRecord {
    std::string stream;
    std::string tenant;                  ///< empty for a stream without tenants
    std::vector<std::string> cursor;     ///< the mark, one value per cursor column
    std::string run_id;                  ///< the run that set it ("" when set by hand)
    std::string updated_at;
};

/// A row of `files`: a file an incremental: {files: ...} stream loaded, as it was then.
struct FileRecord {
    std::string stream;
    std::string path;
    int64_t size = 0;
    int64_t mtime_ns = 0;
    std::string fingerprint;
    std::string run_id;
    std::string loaded_at;
};

/// A row of `rejects`: a row set aside, with where it came from and why.
struct RejectRecord {
    std::string stream;
    int partition_id = 0;
    std::string tenant;
    std::string position;  ///< "data/afg.csv:17", "id=42", "row 7" (empty in ledgers before schema 4)
    std::string row;       ///< a JSON object of the row's values, or a file's raw record
    std::string error;
    std::string sqlstate;
};

/// One claim of a partition: the attempt number is the fencing token of its commit mark.
struct PartitionClaim {
    std::string run_id;
    std::string stream;
    int partition = 0;
    std::string worker;
    int attempt = 0;
};

/// The statements that mark a partition committed inside its data's transaction.
struct CommitMark {
    /// One UPDATE that must change exactly one row; zero rows means the claim was fenced
    /// off (another attempt or process owns the partition now): roll the data back.
    std::string fenced_update;
    std::string rejects;  ///< INSERTs of the partition's rejects (may be empty)
};

/// The run ledger: the state tables of DESIGN.md (`sluice.*` on PostgreSQL, `sluice_*` on
/// SQLite), created and migrated on open. One Ledger per thread (it owns one connection).
class Ledger {
public:
    /// Opens the ledger at a state URL and migrates its schema to the current version.
    static std::unique_ptr<Ledger> Open(const std::string& url, const std::string& application_name);

    explicit Ledger(std::unique_ptr<SqlStore> store);

    /// The newest succeeded run of `job` in the ledger at `url`, read without creating or
    /// migrating anything (for `plan`, which writes nothing); nullopt when there is no such
    /// run or no ledger there yet.
    static std::optional<RunRecord> PeekLastSucceeded(const std::string& url, const std::string& job);

    /// The newest run of `job` that is neither succeeded nor superseded.
    std::optional<RunRecord> FindUnfinished(const std::string& job);
    std::optional<RunRecord> GetRun(const std::string& run_id);
    /// The newest `limit` runs, only those of `job` and in `status` when those are not empty.
    std::vector<RunRecord> RecentRuns(int limit, const std::string& job = "", const std::string& status = "");
    /// How many runs there are of `job` in `status` (all when empty).
    int64_t CountRuns(const std::string& job = "", const std::string& status = "");
    /// Whether the ledger's connection still answers (a round trip; false instead of throwing).
    bool Alive();
    /// Rows of the run's committed partitions so far.
    int64_t CommittedRows(const std::string& run_id);
    /// The run's partitions; with `stream`, only that stream's `partition`.
    std::vector<PartitionRecord> Partitions(const std::string& run_id, const std::string& stream = "",
                                            int partition = 0);
    std::optional<PartitionRecord> GetPartition(const std::string& run_id, const std::string& stream,
                                                int partition);
    /// Undo tokens of the tenant's committed partitions in this run.
    /// Undo tokens of the committed partitions of a stream in this run (of one tenant, if given).
    std::vector<std::string> UndoTokens(const std::string& run_id, const std::string& stream,
                                        const std::optional<std::string>& tenant = std::nullopt);
    /// SQL that turns a stream's committed partitions of `run_id` to failed, run together with
    /// the deletion of their rows when `new_run` restarts the job.
    std::string UndoneByRestartSql(const std::string& run_id, const std::string& stream,
                                   const std::string& new_run) const;

    /// Inserts a new run (status running) with its partitions, in one transaction; a
    /// distributed run's `streams` rows too (pending).
    void CreateRun(const RunRecord& run, const std::vector<PartitionRecord>& partitions,
                   const std::vector<std::string>& streams = {});
    /// Adds pending partitions to a run (a resumed run's tenants that could not be planned
    /// before), in one transaction.
    void AddPartitions(const std::string& run_id, const std::vector<PartitionRecord>& partitions);
    /// Takes over an unfinished run: status running, new owner, stop flag cleared.
    void ResumeRun(const std::string& run_id, const std::string& owner);
    /// Marks `old_run` as replaced by `new_run` (--restart).
    void Supersede(const std::string& old_run, const std::string& new_run);
    /// The run `new_run` replaced with --restart, if any.
    std::optional<std::string> SupersededBy(const std::string& new_run);
    /// Records a run's outcome. Rows read and rejected add to what earlier invocations of a
    /// resumed run recorded; rows written are the rows of its committed partitions (all of its
    /// invocations, without what a failed tenant's rollback removed).
    void FinishRun(const RunRecord& run, bool resumed = false);
    /// FinishRun of a succeeded run together with the incremental marks its windows reached,
    /// in one transaction: the marks move exactly when the run's rows are all in.
    /// The files such a run loaded are recorded with them (replacing earlier records of a path).
    void FinishRunAdvancing(const RunRecord& run, bool resumed, const std::vector<CheckpointRecord>& marks,
                            const std::vector<FileRecord>& files = {});

    /// The job's incremental marks, by stream and tenant.
    std::vector<CheckpointRecord> Checkpoints(const std::string& job);
    /// Checkpoints() of the ledger at `url`, read without creating or migrating anything
    /// (for `plan` and for planning a run before its lock is taken); empty when there is none.
    static std::vector<CheckpointRecord> PeekCheckpoints(const std::string& url, const std::string& job);
    /// Sets (inserts or replaces) one mark; `sluice checkpoints --set`.
    void SetCheckpoint(const std::string& job, const CheckpointRecord& mark);
    /// Deletes the job's marks and loaded-file records (of one stream, if given); the next
    /// run loads from the first row, and every file. Returns how many marks and files.
    int64_t ResetCheckpoints(const std::string& job, const std::string& stream = "");
    /// The files the job's incremental: {files: ...} streams loaded, read like PeekCheckpoints.
    static std::vector<FileRecord> PeekLoadedFiles(const std::string& url, const std::string& job);

    /// Claims a partition for `worker` for `lease_seconds` (on the server's clock, on
    /// PostgreSQL), counting an attempt; returns the attempt number (the claim's fencing
    /// token), or nullopt when the partition is already committed (an earlier attempt whose
    /// COMMIT reply was lost did commit it). With `respect_leases` (distributed runs), also
    /// nullopt when it failed or another worker holds it under a lease that has not run out.
    std::optional<int> ClaimPartition(const std::string& run_id, const std::string& stream, int partition,
                                      const std::string& worker, double lease_seconds,
                                      bool respect_leases = false);
    /// Extends the leases of every partition `worker` is running.
    void RenewLeases(const std::string& run_id, const std::string& worker, double lease_seconds);

    // Distributed runs (PostgreSQL ledgers only; state/ledger_distributed.cpp).

    /// Claims the largest partition of `streams` that is pending, or running under a lease
    /// that ran out (its worker died, lost the network or was paused), for `worker`:
    /// `FOR UPDATE SKIP LOCKED`, so concurrent workers never wait for each other. nullopt
    /// when there is none.
    std::optional<PartitionClaim> ClaimNext(const std::string& run_id, const std::vector<std::string>& streams,
                                            const std::string& worker, double lease_seconds);
    /// The run's `streams` rows.
    std::vector<StreamRecord> Streams(const std::string& run_id);
    /// Whether any partition of the stream is still pending or running.
    bool StreamHasOpenPartitions(const std::string& run_id, const std::string& stream);
    /// The stream's partitions as they add up now.
    StreamTally TallyStream(const std::string& run_id, const std::string& stream);
    /// Begins a transaction on this ledger's connection and locks the stream's row (creating
    /// it, pending, when a stream planned late has none); returns it. UpdateLockedStream
    /// changes it; EndStreamLock commits (or rolls back) and releases the lock. While another
    /// process holds the lock (it prepares or completes the stream, or it was paused doing
    /// so), `waiting` is told who every `wait_seconds`, and the wait goes on unless it throws.
    StreamRecord LockStream(const std::string& run_id, const std::string& stream,
                            const std::function<void(const StreamLockHolder&)>& waiting = {},
                            double wait_seconds = 1);
    /// Who holds the stream's lock now; empty when nobody does.
    StreamLockHolder StreamLockHolderOf(const std::string& run_id, const std::string& stream);
    void UpdateLockedStream(const std::string& run_id, const StreamRecord& record);
    void EndStreamLock(bool commit);
    /// False when the connection holding the stream's lock is gone, and the lock with it.
    bool StillHoldsStreamLock();
    /// Seconds since the session named `application_name` last finished a statement, while it
    /// is idle; nullopt when there is none, it is running one, or the server hides its details
    /// (another role's session).
    std::optional<int64_t> SessionIdleSeconds(const std::string& application_name);
    /// Ends server process `pid` and its session (pg_terminate_backend); false when the server
    /// refused (another role's) or it had ended already.
    bool EndSession(int64_t pid);
    /// Turns a run started without --distributed into a distributed one (`run --distributed
    /// --resume`): it records the job for workers and gets its `streams` rows (pending).
    void MakeDistributed(const std::string& run_id, const std::string& spec, const std::vector<std::string>& streams);
    /// A resumed distributed run: streams that did not succeed go back to pending, so the
    /// first worker prepares them again as resuming (reconciling the target with the ledger)
    /// and completes (publishes) them when their partitions are in; failed partitions go back
    /// to pending, to load again.
    void ReopenUnfinishedStreams(const std::string& run_id);
    /// Distributed runs that are running and not asked to stop (of `job`, if given), oldest
    /// first.
    std::vector<RunRecord> OpenDistributedRuns(const std::string& job = "");
    /// A worker joins a distributed run: one `invocations` row for it.
    void JoinRun(const std::string& run_id, const std::string& owner);
    /// A worker leaves a distributed run: its invocation's own counts (`run`, with its owner)
    /// are recorded and its rows read and rejected added to the run's.
    void LeaveRun(const RunRecord& run);
    /// Ends a distributed run once, whichever worker gets there first: sets its status,
    /// error and rows written (its committed partitions), and moves the incremental marks
    /// and loaded files of a succeeded run in the same transaction. False when the run had
    /// ended already.
    bool CloseRun(const RunRecord& run, const std::vector<CheckpointRecord>& marks,
                  const std::vector<FileRecord>& files);
    /// Gives a partition back (stopped before it committed): pending again, no lease.
    void Release(const std::string& run_id, const std::string& stream, int partition);
    void MarkFailed(const std::string& run_id, const std::string& stream, int partition,
                    const std::string& error);
    /// Marks a partition committed after the fact (targets that cannot share a transaction:
    /// at least once), fenced like CommitMarkFor.
    void MarkCommitted(const PartitionClaim& claim, const PartitionTally& tally,
                       const std::vector<RejectedRow>& rejects, const std::string& undo);
    /// The statements that mark the claimed partition committed and record its rejects; the
    /// sink runs them inside the partition's own transaction, which makes resume exactly-once.
    CommitMark CommitMarkFor(const PartitionClaim& claim, const PartitionTally& tally,
                             const std::vector<RejectedRow>& rejects, const std::string& undo) const;
    /// Records how far `worker`'s running partitions got (live progress for `sluice status`);
    /// a partition that committed or changed hands meanwhile is left alone.
    void RecordProgress(const std::string& run_id, const std::string& worker,
                        const std::vector<PartitionProgress>& running);
    /// Rows read and written and bytes of the run's committed and running partitions.
    PartitionTally LiveTally(const std::string& run_id);
    /// The processes that worked on the run, first to last (empty for runs recorded before
    /// ledger schema 5).
    std::vector<InvocationRecord> Invocations(const std::string& run_id);

    /// SQL that turns a failed tenant's committed partitions back to failed, run together
    /// with the deletion of its rows so that --resume loads the whole tenant again.
    std::string RollbackTenantSql(const std::string& run_id, const std::string& stream,
                                  const std::string& tenant) const;

    /// Turns a stream's committed partitions back to pending: their rows are gone (a replace's
    /// staging table was dropped or published), so a resume must load them again.
    void ReopenPartitions(const std::string& run_id, const std::string& stream);
    /// Turns one committed partition back to pending: the target holds none of its rows (its
    /// mark in the target is gone, see TargetMarks).
    void ReopenPartition(const std::string& run_id, const std::string& stream, int partition);
    /// Records a partition as committed because its target says so (TargetMarks), whatever
    /// the ledger thought: the mark committed with the rows, the ledger only follows.
    void AdoptCommitted(const std::string& run_id, const std::string& stream, int partition, int64_t rows,
                        const std::string& undo);

    /// The rows a run set aside (of one stream, if given), in stream and partition order.
    std::vector<RejectRecord> Rejects(const std::string& run_id, const std::string& stream = "");

    void RequestStop(const std::string& run_id);
    bool StopRequested(const std::string& run_id);

    /// A worker's claims, failures and releases need not wait for the ledger's WAL flush: one
    /// lost in a server crash leaves the partition claimable again, and the commit marks that
    /// decide what committed run in the data's transaction (or the target's marks), not here.
    /// Halves the flushes per partition. PostgreSQL only; a no-op on SQLite.
    void CommitWithoutWaitingForFlush();

    /// Runs SQL such as CommitSql output on this ledger's own connection.
    void ExecScript(const std::string& sql) { store_->ExecScript(sql); }

    /// Table name for this dialect ("sluice.runs" or "sluice_runs").
    std::string Table(const char* name) const;

private:
    void Migrate();
    /// SQL for "lease_until" `lease_seconds` from now, and its parameter.
    std::string LeaseUntilSql() const;
    SqlValue LeaseUntilParam(double lease_seconds) const;
    /// Sets the marks and records the files of FinishRunAdvancing; inside its transaction.
    void AdvanceMarks(const std::string& job, const std::string& run_id, const std::vector<CheckpointRecord>& marks,
                      const std::vector<FileRecord>& files);
    void AddColumnIfMissing(const char* table, const char* column, bool counter = false);
    /// Schema 6: checkpoints gain `tenant`, which joins their primary key.
    void AddCheckpointTenant();
    /// Records that `owner` starts working on the run (a new run, or --resume).
    void StartInvocation(const std::string& run_id, const std::string& owner);
    void InsertPartitions(const std::string& run_id, const std::vector<PartitionRecord>& partitions);
    static RunRecord ToRun(const SqlRow& row);
    /// The columns ToRun reads, in its order (without schema 9's, for ledgers not migrated).
    static const char* RunColumns(bool schema9 = true);
    /// Records the end of `run.owner`'s invocation with its own counts.
    void FinishInvocation(const RunRecord& run);

    std::unique_ptr<SqlStore> store_;
};

/// Current UTC time as "YYYY-MM-DD HH:MM:SS.ffffff+00", optionally `plus_seconds` ahead:
/// sorts as text in SQLite and parses as timestamptz in PostgreSQL.
std::string UtcTimestamp(double plus_seconds = 0);

/// `timestamp` as UtcTimestamp writes it, whatever offset and fraction digits a ledger's
/// timestamptz came back with; unchanged when it does not parse.
std::string CanonicalUtc(const std::string& timestamp);

/// `timestamp` (as CanonicalUtc reads it) in seconds since the epoch; nullopt when it does not
/// parse.
std::optional<double> EpochSeconds(const std::string& timestamp);

/// "host:pid" of this process, for `worker` and `owner`.
std::string ProcessIdentity();

/// True when `owner` names a process on this host that no longer exists.
bool OwnerIsDeadLocally(const std::string& owner);

}  // namespace sluice
