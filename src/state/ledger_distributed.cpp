// The ledger as a distributed run's work queue and coordinator: claims with SKIP LOCKED,
// the `streams` rows whose locks make each stream's preparation and completion happen once,
// and the run's end recorded once. PostgreSQL only (a SQLite ledger is one machine's file).

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>

#include <fmt/format.h>

#include "core/error.hpp"
#include "state/ledger.hpp"

namespace sluice {

namespace {

/// `names` as a PostgreSQL text[] literal: {"a","b\"c"}.
std::string TextArray(const std::vector<std::string>& names) {
    std::string out = "{";
    for (const std::string& name : names) {
        out += out.size() > 1 ? ",\"" : "\"";
        for (const char c : name) {
            if (c == '"' || c == '\\') {
                out += '\\';
            }
            out += c;
        }
        out += '"';
    }
    return out + "}";
}

StreamRecord ToStream(const SqlRow& r) {
    StreamRecord s;
    s.stream = SqlText(r[0]);
    s.status = SqlText(r[1]);
    s.outcome = SqlText(r[2]);
    s.error = SqlText(r[3]);
    s.prepared = SqlInt(r[4]) != 0;
    s.prepared_by = SqlText(r[5]);
    s.completed_by = SqlText(r[6]);
    return s;
}

constexpr const char* kStreamColumns = "stream, status, outcome, error, prepared, prepared_by, completed_by";

}  // namespace

std::optional<PartitionClaim> Ledger::ClaimNext(const std::string& run_id, const std::vector<std::string>& streams,
                                                const std::string& worker, double lease_seconds) {
    if (streams.empty()) {
        return std::nullopt;
    }
    // The sub-select (an InitPlan, run once: a subquery joined in FROM may be run again per
    // row and claim several) picks and locks one row no other claimer has locked; the
    // partial index partitions_open keeps it from reading the run's finished partitions.
    const auto rows = store_->Query(
        fmt::format("UPDATE {0} SET status = 'running', attempts = attempts + 1, worker = ?, lease_until = {1}, "
                    "started_at = ?, finished_at = NULL, error = NULL, rows = 0, rows_read = 0, bytes = 0, bytes_written = 0 "
                    "WHERE run_id = ? AND (stream, partition_id) = (SELECT stream, partition_id FROM {0} "
                    "WHERE run_id = ? AND stream = ANY (?::text[]) AND status IN ('pending', 'running') "
                    "AND (status = 'pending' OR lease_until < now()) "
                    "ORDER BY estimated_rows DESC, stream, partition_id LIMIT 1 FOR UPDATE SKIP LOCKED) "
                    "RETURNING stream, partition_id, attempts",
                    Table("partitions"), LeaseUntilSql()),
        {worker, LeaseUntilParam(lease_seconds), UtcTimestamp(), run_id, run_id, TextArray(streams)});
    if (rows.empty()) {
        return std::nullopt;
    }
    return PartitionClaim{run_id, SqlText(rows[0][0]), static_cast<int>(SqlInt(rows[0][1])), worker,
                          static_cast<int>(SqlInt(rows[0][2]))};
}

void Ledger::CommitWithoutWaitingForFlush() {
    if (store_->postgres()) {
        store_->Exec("SET synchronous_commit = off");
    }
}

std::vector<StreamRecord> Ledger::Streams(const std::string& run_id) {
    std::vector<StreamRecord> out;
    for (const SqlRow& r : store_->Query(fmt::format("SELECT {} FROM {} WHERE run_id = ? ORDER BY stream",
                                                     kStreamColumns, Table("streams")),
                                         {run_id})) {
        out.push_back(ToStream(r));
    }
    return out;
}

bool Ledger::StreamHasOpenPartitions(const std::string& run_id, const std::string& stream) {
    return !store_
                ->Query(fmt::format("SELECT 1 FROM {} WHERE run_id = ? AND stream = ? AND status IN ('pending', "
                                    "'running') LIMIT 1",
                                    Table("partitions")),
                        {run_id, stream})
                .empty();
}

StreamTally Ledger::TallyStream(const std::string& run_id, const std::string& stream) {
    StreamTally tally;
    for (const SqlRow& r : store_->Query(fmt::format("SELECT status, tenant, error FROM {} WHERE run_id = ? AND "
                                                     "stream = ? ORDER BY partition_id",
                                                     Table("partitions")),
                                         {run_id, stream})) {
        const std::string status = SqlText(r[0]);
        if (status == "committed") {
            ++tally.committed;
        } else if (status == "failed") {
            ++tally.failed;
            const std::string tenant = SqlText(r[1]);
            tally.failed_partition_tenants.push_back(tenant);
            if (!tenant.empty()) {
                tally.failed_tenants.emplace(tenant, SqlText(r[2]));
            }
        } else {
            ++tally.open;
        }
    }
    return tally;
}

StreamRecord Ledger::LockStream(const std::string& run_id, const std::string& stream,
                                const std::function<void(const StreamLockHolder&)>& waiting,
                                double wait_seconds) {
    // Committed before it is locked, so that a waiter can see who locked it (the row's xmax);
    // inserted only when missing, since the INSERT would wait, unheard, for a holder that
    // changed the row.
    if (store_->Query(fmt::format("SELECT 1 FROM {} WHERE run_id = ? AND stream = ?", Table("streams")),
                      {run_id, stream})
            .empty()) {
        store_->Exec(fmt::format("INSERT INTO {} (run_id, stream, status, updated_at) VALUES (?, ?, 'pending', ?) "
                                 "ON CONFLICT (run_id, stream) DO NOTHING",
                                 Table("streams")),
                     {run_id, stream, UtcTimestamp()});
    }
    const bool report = waiting && store_->postgres();
    for (;;) {
        store_->Exec("BEGIN");
        try {
            if (report) {
                store_->Exec(fmt::format("SET LOCAL lock_timeout = {}",
                                         std::max<int64_t>(1, static_cast<int64_t>(wait_seconds * 1000))));
            }
            const auto rows = store_->Query(fmt::format("SELECT {} FROM {} WHERE run_id = ? AND stream = ? FOR UPDATE",
                                                        kStreamColumns, Table("streams")),
                                            {run_id, stream});
            if (report) {
                store_->Exec("SET LOCAL lock_timeout = DEFAULT");
            }
            if (rows.empty()) {
                throw Error(ErrorKind::kInternal, "the ledger lost stream " + stream + " of run " + run_id);
            }
            return ToStream(rows[0]);
        } catch (const Error& e) {
            EndStreamLock(false);
            if (!report || e.sqlstate() != "55P03") {
                throw;
            }
        } catch (...) {
            EndStreamLock(false);
            throw;
        }
        StreamLockHolder holder;
        try {
            holder = StreamLockHolderOf(run_id, stream);
        } catch (const Error&) {  // NOLINT(bugprone-empty-catch): who it is only informs; the wait goes on
        }
        waiting(holder);
    }
}

StreamLockHolder Ledger::StreamLockHolderOf(const std::string& run_id, const std::string& stream) {
    // A row lock is the locking transaction's id in the row's xmax.
    const auto rows = store_->Query(
        fmt::format("SELECT a.application_name, coalesce(host(a.client_addr), ''), "
                    "extract(epoch FROM now() - a.xact_start)::bigint, a.pid FROM {} s JOIN pg_stat_activity a "
                    "ON a.backend_xid = s.xmax WHERE s.run_id = ? AND s.stream = ?",
                    Table("streams")),
        {run_id, stream});
    if (rows.empty()) {
        return {};  // released meanwhile
    }
    return {SqlText(rows[0][0]), SqlText(rows[0][1]), SqlInt(rows[0][2]), SqlInt(rows[0][3])};
}

void Ledger::UpdateLockedStream(const std::string& run_id, const StreamRecord& s) {
    store_->Exec(fmt::format("UPDATE {} SET status = ?, outcome = ?, error = ?, prepared = ?, prepared_by = ?, "
                             "completed_by = ?, updated_at = ? WHERE run_id = ? AND stream = ?",
                             Table("streams")),
                 {s.status, s.outcome.empty() ? SqlValue() : SqlValue(s.outcome),
                  s.error.empty() ? SqlValue() : SqlValue(s.error), s.prepared ? "1" : "0",
                  s.prepared_by.empty() ? SqlValue() : SqlValue(s.prepared_by),
                  s.completed_by.empty() ? SqlValue() : SqlValue(s.completed_by), UtcTimestamp(), run_id, s.stream});
}

void Ledger::EndStreamLock(bool commit) {
    if (commit) {
        store_->Exec("COMMIT");
        return;
    }
    try {
        store_->Exec("ROLLBACK");
    } catch (const Error&) {  // NOLINT(bugprone-empty-catch): a dead connection released the lock
    }
}

bool Ledger::StillHoldsStreamLock() {
    try {
        store_->Query("SELECT 1", {});  // no reconnect: a new session would not hold the lock
        return true;
    } catch (const Error&) {
        return false;
    }
}

std::optional<int64_t> Ledger::SessionIdleSeconds(const std::string& application_name) {
    const auto rows = store_->Query(
        "SELECT min(extract(epoch FROM now() - state_change)::bigint) FROM pg_stat_activity "
        "WHERE application_name = ? HAVING bool_and(state = 'idle')",
        {application_name});
    if (rows.empty() || !rows[0][0]) {
        return std::nullopt;
    }
    return SqlInt(rows[0][0]);
}

bool Ledger::EndSession(int64_t pid) {
    try {
        const auto rows = store_->Query("SELECT pg_terminate_backend(?::int)", {std::to_string(pid)});
        return !rows.empty() && SqlText(rows[0][0]) == "t";
    } catch (const Error&) {
        return false;  // another role's session: permission denied
    }
}

void Ledger::MakeDistributed(const std::string& run_id, const std::string& spec,
                             const std::vector<std::string>& streams) {
    store_->Exec("BEGIN");
    try {
        store_->Exec(fmt::format("UPDATE {} SET distributed = 1, spec = ? WHERE run_id = ?", Table("runs")),
                     {spec, run_id});
        for (const std::string& stream : streams) {
            store_->Exec(fmt::format("INSERT INTO {} (run_id, stream, status, updated_at) VALUES (?, ?, 'pending', ?) "
                                     "ON CONFLICT (run_id, stream) DO NOTHING",
                                     Table("streams")),
                         {run_id, stream, UtcTimestamp()});
        }
        store_->Exec("COMMIT");
    } catch (...) {
        EndStreamLock(false);
        throw;
    }
}

void Ledger::ReopenUnfinishedStreams(const std::string& run_id) {
    // Failed partitions load again, as a single process's resume loads them: claims take
    // pending ones only.
    store_->Exec(fmt::format("UPDATE {} SET status = 'pending', worker = NULL, lease_until = NULL WHERE run_id = ? "
                             "AND status = 'failed'",
                             Table("partitions")),
                 {run_id});
    store_->Exec(fmt::format("UPDATE {} SET status = 'pending', outcome = NULL, error = NULL, updated_at = ? "
                             "WHERE run_id = ? AND NOT (status = 'done' AND outcome = 'succeeded')",
                             Table("streams")),
                 {UtcTimestamp(), run_id});
}

std::vector<RunRecord> Ledger::OpenDistributedRuns(const std::string& job) {
    std::vector<SqlValue> params;
    std::string where = "distributed <> 0 AND status = 'running' AND stop_requested = 0 AND superseded_by IS NULL";
    if (!job.empty()) {
        where += " AND job = ?";
        params.emplace_back(job);
    }
    std::vector<RunRecord> out;
    for (const SqlRow& r : store_->Query(
             fmt::format("SELECT {} FROM {} WHERE {} ORDER BY started_at", RunColumns(), Table("runs"), where),
             params)) {
        out.push_back(ToRun(r));
    }
    return out;
}

void Ledger::JoinRun(const std::string& run_id, const std::string& owner) {
    // The run's row lock makes the invocation numbers of workers joining at once unique.
    store_->Exec("BEGIN");
    try {
        store_->Query(fmt::format("SELECT 1 FROM {} WHERE run_id = ? FOR UPDATE", Table("runs")), {run_id});
        StartInvocation(run_id, owner);
        store_->Exec("COMMIT");
    } catch (...) {
        EndStreamLock(false);
        throw;
    }
}

void Ledger::LeaveRun(const RunRecord& run) {
    store_->Exec(fmt::format("UPDATE {} SET rows_read = rows_read + ?, rows_rejected = rows_rejected + ? "
                             "WHERE run_id = ?",
                             Table("runs")),
                 {std::to_string(run.rows_read), std::to_string(run.rows_rejected), run.run_id});
    FinishInvocation(run);
}

bool Ledger::CloseRun(const RunRecord& run, const std::vector<CheckpointRecord>& marks,
                      const std::vector<FileRecord>& files) {
    store_->Exec("BEGIN");
    try {
        const auto rows =
            store_->Query(fmt::format("SELECT status FROM {} WHERE run_id = ? FOR UPDATE", Table("runs")), {run.run_id});
        if (rows.empty() || SqlText(rows[0][0]) != "running") {
            store_->Exec("ROLLBACK");
            return false;
        }
        store_->Exec(fmt::format("UPDATE {} SET status = ?, finished_at = ?, error = ?, rows_written = (SELECT "
                                 "coalesce(sum(rows), 0) FROM {} WHERE run_id = ? AND status = 'committed') "
                                 "WHERE run_id = ?",
                                 Table("runs"), Table("partitions")),
                     {run.status, UtcTimestamp(), run.error.empty() ? SqlValue() : SqlValue(run.error), run.run_id,
                      run.run_id});
        if (run.status == "succeeded") {
            AdvanceMarks(run.job, run.run_id, marks, files);
        }
        store_->Exec("COMMIT");
        return true;
    } catch (...) {
        EndStreamLock(false);
        throw;
    }
}

}  // namespace sluice
