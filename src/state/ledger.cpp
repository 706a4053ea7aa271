#include "state/ledger.hpp"

#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <chrono>
#include <ctime>
#include <filesystem>

#include <fmt/format.h>

#include "core/error.hpp"

namespace sluice {

namespace {

// Bump when the tables change; Migrate() brings older ledgers forward step by step.
// 2: runs.fingerprint. 3: partitions.undo (what identifies a committed partition's rows).
// 4: rejects.position (the row's origin, apart from the row, which is now a JSON object).
// 5: partitions.rows_read and .bytes (live progress), the invocations table.
// 6: checkpoints.tenant (incremental marks per stream and tenant).
// 7: partitions.rows_inserted, .rows_updated, .rows_unchanged, .rows_deleted (how a merge's
//    rows landed); the files table (incremental: {files: ...}).
// 8: partitions.rows_filtered (rows a transform's filter left out on purpose).
// 9: distributed runs: runs.distributed and .spec (the job, for workers), partitions.estimated_rows
//    (claims take the largest first), the streams table (each stream prepared and completed once).
// 10: partitions.bytes_written.
constexpr int kSchemaVersion = 10;

std::string Script(bool pg) {
    const std::string p = pg ? "sluice." : "sluice_";
    const std::string ts = pg ? "timestamptz" : "TEXT";
    const std::string big = pg ? "bigint" : "INTEGER";
    return fmt::format(R"(
CREATE TABLE IF NOT EXISTS {p}runs (
  run_id text PRIMARY KEY, job text NOT NULL, status text NOT NULL,
  started_at {ts}, finished_at {ts},
  rows_read {big} NOT NULL DEFAULT 0, rows_written {big} NOT NULL DEFAULT 0,
  rows_rejected {big} NOT NULL DEFAULT 0, error text,
  stop_requested integer NOT NULL DEFAULT 0, superseded_by text, owner text, fingerprint text,
  distributed {big} NOT NULL DEFAULT 0, spec text);
CREATE TABLE IF NOT EXISTS {p}partitions (
  run_id text NOT NULL, stream text NOT NULL, partition_id integer NOT NULL, tenant text,
  lower_bound text, upper_bound text, status text NOT NULL, attempts integer NOT NULL DEFAULT 0,
  rows {big} NOT NULL DEFAULT 0, worker text, lease_until {ts}, started_at {ts}, finished_at {ts},
  error text, slice text, undo text, rows_read {big} NOT NULL DEFAULT 0,
  bytes {big} NOT NULL DEFAULT 0, rows_inserted {big} NOT NULL DEFAULT 0,
  rows_updated {big} NOT NULL DEFAULT 0, rows_unchanged {big} NOT NULL DEFAULT 0,
  rows_deleted {big} NOT NULL DEFAULT 0, rows_filtered {big} NOT NULL DEFAULT 0,
  bytes_written {big} NOT NULL DEFAULT 0,
  estimated_rows {big} NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, stream, partition_id));
CREATE TABLE IF NOT EXISTS {p}streams (
  run_id text NOT NULL, stream text NOT NULL, status text NOT NULL, outcome text, error text,
  prepared {big} NOT NULL DEFAULT 0, prepared_by text, completed_by text, updated_at {ts},
  PRIMARY KEY (run_id, stream));
CREATE TABLE IF NOT EXISTS {p}invocations (
  run_id text NOT NULL, invocation integer NOT NULL, owner text, started_at {ts}, finished_at {ts},
  status text, rows_read {big} NOT NULL DEFAULT 0, rows_written {big} NOT NULL DEFAULT 0,
  rows_rejected {big} NOT NULL DEFAULT 0, rows_rolled_back {big} NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, invocation));
CREATE TABLE IF NOT EXISTS {p}checkpoints (
  job text NOT NULL, stream text NOT NULL, tenant text NOT NULL DEFAULT '', cursor text, run_id text,
  updated_at {ts}, PRIMARY KEY (job, stream, tenant));
CREATE TABLE IF NOT EXISTS {p}files (
  job text NOT NULL, stream text NOT NULL, path text NOT NULL, size {big} NOT NULL, mtime_ns {big} NOT NULL,
  fingerprint text, run_id text, loaded_at {ts}, PRIMARY KEY (job, stream, path));
CREATE TABLE IF NOT EXISTS {p}rejects (
  run_id text NOT NULL, stream text NOT NULL, partition_id integer, "row" text, error text,
  sqlstate text, position text);
CREATE INDEX IF NOT EXISTS {i}runs_job ON {p}runs (job, started_at);
)",
                       fmt::arg("p", p), fmt::arg("ts", ts), fmt::arg("big", big),
                       fmt::arg("i", pg ? "" : "sluice_"));
}

}  // namespace

std::string UtcTimestamp(double plus_seconds) {
    const auto now = std::chrono::system_clock::now() +
                     std::chrono::microseconds(static_cast<int64_t>(plus_seconds * 1e6));
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
    const std::time_t secs = micros / 1000000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00", tm.tm_year + 1900,
                       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                       micros % 1000000);
}

namespace {

/// A ledger timestamp ("YYYY-MM-DD HH:MM:SS[.f...][+HH[:MM]]", as SQLite or PostgreSQL write
/// it) as seconds since the epoch and microseconds; nullopt when it does not parse.
std::optional<std::pair<std::time_t, int64_t>> ParseLedgerTime(const std::string& timestamp) {
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
    int used = 0;
    if (std::sscanf(timestamp.c_str(), "%4d-%2d-%2d %2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &used) != 6) {
        return std::nullopt;
    }
    size_t at = static_cast<size_t>(used);
    int64_t micros = 0;
    if (at < timestamp.size() && timestamp[at] == '.') {
        int digits = 0;
        for (++at; at < timestamp.size() && std::isdigit(static_cast<unsigned char>(timestamp[at])) != 0; ++at) {
            if (digits++ < 6) {
                micros = micros * 10 + (timestamp[at] - '0');
            }
        }
        for (; digits < 6; ++digits) {
            micros *= 10;
        }
    }
    int offset = 0;  // seconds east of UTC
    if (at < timestamp.size() && (timestamp[at] == '+' || timestamp[at] == '-')) {
        int oh = 0, om = 0;
        std::sscanf(timestamp.c_str() + at + 1, "%2d:%2d", &oh, &om);
        offset = (timestamp[at] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
    }
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    return std::make_pair(timegm(&tm) - offset, micros);
}

}  // namespace

std::string CanonicalUtc(const std::string& timestamp) {
    const auto parsed = ParseLedgerTime(timestamp);
    if (!parsed) {
        return timestamp;
    }
    std::tm tm{};
    gmtime_r(&parsed->first, &tm);
    return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                       tm.tm_hour, tm.tm_min, tm.tm_sec, parsed->second);
}

std::optional<double> EpochSeconds(const std::string& timestamp) {
    const auto parsed = ParseLedgerTime(timestamp);
    if (!parsed) {
        return std::nullopt;
    }
    return static_cast<double>(parsed->first) + static_cast<double>(parsed->second) / 1e6;
}

std::string ProcessIdentity() {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    return fmt::format("{}:{}", host, getpid());
}

bool OwnerIsDeadLocally(const std::string& owner) {
    const auto colon = owner.rfind(':');
    if (colon == std::string::npos) {
        return false;
    }
    const std::string host = owner.substr(0, colon);
    const std::string me = ProcessIdentity();
    if (host != me.substr(0, me.rfind(':'))) {
        return false;  // another machine: only its lease can tell
    }
    const pid_t pid = static_cast<pid_t>(std::stol(owner.substr(colon + 1)));
    return kill(pid, 0) != 0 && errno == ESRCH;
}

std::unique_ptr<Ledger> Ledger::Open(const std::string& url, const std::string& application_name) {
    auto ledger = std::make_unique<Ledger>(OpenSqlStore(url, application_name));
    ledger->Migrate();
    return ledger;
}

Ledger::Ledger(std::unique_ptr<SqlStore> store) : store_(std::move(store)) {}

std::optional<RunRecord> Ledger::PeekLastSucceeded(const std::string& url, const std::string& job) {
    constexpr std::string_view kSqlite = "sqlite://";
    if (url.starts_with(kSqlite) && !std::filesystem::exists(url.substr(kSqlite.size()))) {
        return std::nullopt;  // opening it would create the file
    }
    try {
        Ledger ledger(OpenSqlStore(url, "sluice/peek"));
        auto rows = ledger.store_->Query(fmt::format("SELECT {} FROM {} WHERE job = ? AND status = 'succeeded' "
                                                     "ORDER BY started_at DESC LIMIT 1",
                                                     RunColumns(false), ledger.Table("runs")),
                                         {job});
        if (rows.empty()) {
            return std::nullopt;
        }
        return ToRun(rows[0]);
    } catch (const Error&) {
        return std::nullopt;  // no ledger tables yet, or unreachable: nothing to warn about
    }
}

bool Ledger::Alive() {
    try {
        store_->Query("SELECT 1");
        return true;
    } catch (const Error&) {
        return false;
    }
}

std::string Ledger::Table(const char* name) const {
    return (store_->postgres() ? "sluice." : "sluice_") + std::string(name);
}

void Ledger::Migrate() {
    if (store_->postgres()) {
        // Concurrent first runs must not race on CREATE SCHEMA / CREATE TABLE.
        store_->ExecScript("BEGIN; SELECT pg_advisory_xact_lock(73656375); "
                           "CREATE SCHEMA IF NOT EXISTS sluice; "
                           "CREATE TABLE IF NOT EXISTS sluice.schema_version (version integer NOT NULL); " +
                           Script(true) + " COMMIT;");
    } else {
        store_->ExecScript("BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS sluice_schema_version "
                           "(version integer NOT NULL); " +
                           Script(false) + " COMMIT;");
    }
    const std::string version_table = Table("schema_version");
    auto rows = store_->Query("SELECT max(version) FROM " + version_table);
    const int64_t version = rows.empty() ? 0 : SqlInt(rows[0][0]);
    if (version > kSchemaVersion) {
        throw Error(ErrorKind::kConfig,
                    fmt::format("the sluice ledger has schema version {} but this sluice knows "
                                "up to {}; upgrade sluice",
                                version, kSchemaVersion));
    }
    if (version == 1) {
        // Ledgers of schema 1 predate runs.fingerprint (CREATE TABLE IF NOT EXISTS kept theirs).
        AddColumnIfMissing("runs", "fingerprint");
    }
    if (version >= 1 && version < 3) {
        AddColumnIfMissing("partitions", "undo");
    }
    if (version >= 1 && version < 4) {
        AddColumnIfMissing("rejects", "position");
    }
    if (version >= 1 && version < 5) {
        AddColumnIfMissing("partitions", "rows_read", true);
        AddColumnIfMissing("partitions", "bytes", true);
    }
    if (version >= 1 && version < 6) {
        AddCheckpointTenant();
    }
    if (version >= 1 && version < 7) {
        AddColumnIfMissing("partitions", "rows_inserted", true);
        AddColumnIfMissing("partitions", "rows_updated", true);
        AddColumnIfMissing("partitions", "rows_unchanged", true);
        AddColumnIfMissing("partitions", "rows_deleted", true);
    }
    if (version >= 1 && version < 8) {
        AddColumnIfMissing("partitions", "rows_filtered", true);
    }
    if (version >= 1 && version < 9) {
        AddColumnIfMissing("runs", "distributed", true);
        AddColumnIfMissing("runs", "spec");
        AddColumnIfMissing("partitions", "estimated_rows", true);
    }
    if (version >= 1 && version < 10) {
        AddColumnIfMissing("partitions", "bytes_written", true);
    }
    if (version < 9) {
        // After the columns it reads exist (schema 9): distributed claims take the largest open
        // partition without reading a run's finished ones.
        // In the claim's ORDER BY: the scan stops at the first open partition no other
        // claimer has locked, without sorting the run's open partitions for every claim.
        const std::string index = fmt::format("CREATE INDEX IF NOT EXISTS {0}partitions_open ON {1} (run_id, "
                                              "estimated_rows DESC, stream, partition_id) WHERE status IN "
                                              "('pending', 'running')",
                                              store_->postgres() ? "" : "sluice_", Table("partitions"));
        // Under the migration lock: workers opening a new ledger together must not race.
        store_->ExecScript(store_->postgres() ? "BEGIN; SELECT pg_advisory_xact_lock(73656375); " + index + "; COMMIT;"
                                              : index);
    }
    if (version < kSchemaVersion) {
        store_->Exec("INSERT INTO " + version_table + " (version) VALUES (?)",
                     {std::to_string(kSchemaVersion)});
    }
}

void Ledger::AddColumnIfMissing(const char* table, const char* column, bool counter) {
    const bool pg = store_->postgres();
    const char* type = !counter ? "text" : pg ? "bigint NOT NULL DEFAULT 0" : "INTEGER NOT NULL DEFAULT 0";
    if (pg) {
        store_->Exec(fmt::format("ALTER TABLE sluice.{} ADD COLUMN IF NOT EXISTS {} {}", table, column, type));
    } else if (store_->Query(fmt::format("SELECT 1 FROM pragma_table_info('sluice_{}') WHERE name = '{}'",
                                         table, column))
                   .empty()) {
        store_->Exec(fmt::format("ALTER TABLE sluice_{} ADD COLUMN {} {}", table, column, type));
    }
}

const char* Ledger::RunColumns(bool schema9) {
    // A peek reads ledgers it does not migrate: those before schema 9 lack the last two.
    return schema9 ? "run_id, job, status, started_at, finished_at, rows_read, rows_written, rows_rejected, error, "
                     "stop_requested, superseded_by, owner, fingerprint, distributed, spec"
                   : "run_id, job, status, started_at, finished_at, rows_read, rows_written, rows_rejected, error, "
                     "stop_requested, superseded_by, owner, fingerprint";
}

RunRecord Ledger::ToRun(const SqlRow& r) {
    RunRecord run;
    run.run_id = SqlText(r[0]);
    run.job = SqlText(r[1]);
    run.status = SqlText(r[2]);
    run.started_at = SqlText(r[3]);
    run.finished_at = SqlText(r[4]);
    run.rows_read = SqlInt(r[5]);
    run.rows_written = SqlInt(r[6]);
    run.rows_rejected = SqlInt(r[7]);
    run.error = SqlText(r[8]);
    run.stop_requested = SqlInt(r[9]) != 0;
    run.superseded_by = SqlText(r[10]);
    run.owner = SqlText(r[11]);
    run.fingerprint = SqlText(r[12]);
    if (r.size() > 14) {
        run.distributed = SqlInt(r[13]) != 0;
        run.spec = SqlText(r[14]);
    }
    return run;
}

std::optional<RunRecord> Ledger::FindUnfinished(const std::string& job) {
    auto rows = store_->Query(fmt::format("SELECT {} FROM {} WHERE job = ? AND status <> 'succeeded' "
                                          "AND superseded_by IS NULL ORDER BY started_at DESC LIMIT 1",
                                          RunColumns(), Table("runs")),
                              {job});
    if (rows.empty()) {
        return std::nullopt;
    }
    return ToRun(rows[0]);
}

std::optional<RunRecord> Ledger::GetRun(const std::string& run_id) {
    auto rows = store_->Query(
        fmt::format("SELECT {} FROM {} WHERE run_id = ?", RunColumns(), Table("runs")), {run_id});
    if (rows.empty()) {
        return std::nullopt;
    }
    RunRecord run = ToRun(rows[0]);
    if (run.status == "running") {
        run.rows_written = CommittedRows(run_id);  // see RecentRuns
        run.rows_read = LiveTally(run_id).rows_read;
    }
    return run;
}

namespace {

/// "WHERE job = ? AND status = ?" for the filters given, and their parameters.
std::string RunFilter(const std::string& job, const std::string& status, std::vector<SqlValue>& params) {
    std::string where;
    for (const auto& [column, value] : {std::pair{"job", &job}, std::pair{"status", &status}}) {
        if (!value->empty()) {
            where += fmt::format("{} {} = ?", where.empty() ? "WHERE" : " AND", column);
            params.emplace_back(*value);
        }
    }
    return where;
}

}  // namespace

int64_t Ledger::CountRuns(const std::string& job, const std::string& status) {
    std::vector<SqlValue> params;
    const std::string where = RunFilter(job, status, params);
    return SqlInt(store_->Query(fmt::format("SELECT count(*) FROM {} {}", Table("runs"), where), params)[0][0]);
}

std::vector<RunRecord> Ledger::RecentRuns(int limit, const std::string& job, const std::string& status) {
    std::vector<RunRecord> out;
    std::vector<SqlValue> params;
    const std::string where = RunFilter(job, status, params);
    for (const SqlRow& row : store_->Query(fmt::format("SELECT {} FROM {} {} ORDER BY started_at DESC LIMIT {}",
                                                       RunColumns(), Table("runs"), where, limit),
                                           params)) {
        out.push_back(ToRun(row));
        if (out.back().status == "running") {
            // The counts are written when a run ends; until then (or when it was killed) the
            // committed partitions say how far it got.
            out.back().rows_written = CommittedRows(out.back().run_id);
        }
    }
    return out;
}

int64_t Ledger::CommittedRows(const std::string& run_id) {
    auto rows = store_->Query(fmt::format("SELECT COALESCE(sum(rows), 0) FROM {} WHERE run_id = ? "
                                          "AND status = 'committed'",
                                          Table("partitions")),
                              {run_id});
    return rows.empty() ? 0 : SqlInt(rows[0][0]);
}

std::vector<PartitionRecord> Ledger::Partitions(const std::string& run_id, const std::string& stream,
                                               int partition) {
    std::vector<PartitionRecord> out;
    std::vector<SqlValue> params{run_id};
    std::string where = "run_id = ?";
    if (!stream.empty()) {
        where += " AND stream = ? AND partition_id = ?";
        params.emplace_back(stream);
        params.emplace_back(std::to_string(partition));
    }
    auto rows = store_->Query(
        fmt::format("SELECT stream, partition_id, tenant, lower_bound, upper_bound, status, attempts, "
                    "rows, worker, lease_until, error, slice, undo, rows_read, bytes, rows_inserted, rows_updated, "
                    "rows_unchanged, rows_deleted, rows_filtered, started_at, finished_at, bytes_written FROM {} WHERE {} "
                    "ORDER BY stream, partition_id",
                    Table("partitions"), where),
        params);
    for (const SqlRow& r : rows) {
        PartitionRecord p;
        p.stream = SqlText(r[0]);
        p.partition_id = static_cast<int>(SqlInt(r[1]));
        p.tenant = SqlText(r[2]);
        p.lower_bound = SqlText(r[3]);
        p.upper_bound = SqlText(r[4]);
        p.status = SqlText(r[5]);
        p.attempts = static_cast<int>(SqlInt(r[6]));
        p.rows = SqlInt(r[7]);
        p.worker = SqlText(r[8]);
        p.lease_until = SqlText(r[9]);
        p.error = SqlText(r[10]);
        p.slice = SqlText(r[11]);
        p.undo = SqlText(r[12]);
        p.rows_read = SqlInt(r[13]);
        p.bytes = SqlInt(r[14]);
        p.rows_inserted = SqlInt(r[15]);
        p.rows_updated = SqlInt(r[16]);
        p.rows_unchanged = SqlInt(r[17]);
        p.rows_deleted = SqlInt(r[18]);
        p.rows_filtered = SqlInt(r[19]);
        p.started_at = SqlText(r[20]);
        p.finished_at = SqlText(r[21]);
        p.bytes_written = SqlInt(r[22]);
        out.push_back(std::move(p));
    }
    return out;
}

void Ledger::CreateRun(const RunRecord& run, const std::vector<PartitionRecord>& partitions,
                       const std::vector<std::string>& streams) {
    store_->Exec(store_->postgres() ? "BEGIN" : "BEGIN IMMEDIATE");
    try {
        store_->Exec(fmt::format("INSERT INTO {} (run_id, job, status, started_at, owner, "
                                 "fingerprint, distributed, spec) VALUES (?, ?, 'running', ?, ?, ?, ?, ?)",
                                 Table("runs")),
                     {run.run_id, run.job, run.started_at, run.owner, run.fingerprint,
                      run.distributed ? "1" : "0", run.spec.empty() ? SqlValue() : SqlValue(run.spec)});
        InsertPartitions(run.run_id, partitions);
        for (const std::string& stream : streams) {
            store_->Exec(fmt::format("INSERT INTO {} (run_id, stream, status, updated_at) VALUES (?, ?, 'pending', ?)",
                                     Table("streams")),
                         {run.run_id, stream, UtcTimestamp()});
        }
        StartInvocation(run.run_id, run.owner);
        store_->Exec("COMMIT");
    } catch (...) {
        store_->Exec("ROLLBACK");
        throw;
    }
}

void Ledger::InsertPartitions(const std::string& run_id, const std::vector<PartitionRecord>& partitions) {
    const std::string insert = fmt::format(
        "INSERT INTO {} (run_id, stream, partition_id, tenant, lower_bound, upper_bound, status, "
        "slice, estimated_rows) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
        Table("partitions"));
    for (const PartitionRecord& p : partitions) {
        store_->Exec(insert, {run_id, p.stream, std::to_string(p.partition_id),
                              p.tenant.empty() ? SqlValue() : SqlValue(p.tenant),
                              p.lower_bound.empty() ? SqlValue() : SqlValue(p.lower_bound),
                              p.upper_bound.empty() ? SqlValue() : SqlValue(p.upper_bound), p.slice,
                              std::to_string(p.estimated_rows)});
    }
}

void Ledger::AddPartitions(const std::string& run_id, const std::vector<PartitionRecord>& partitions) {
    store_->Exec(store_->postgres() ? "BEGIN" : "BEGIN IMMEDIATE");
    try {
        InsertPartitions(run_id, partitions);
        store_->Exec("COMMIT");
    } catch (...) {
        store_->Exec("ROLLBACK");
        throw;
    }
}

void Ledger::ResumeRun(const std::string& run_id, const std::string& owner) {
    store_->Exec(fmt::format("UPDATE {} SET status = 'running', stop_requested = 0, owner = ?, "
                             "finished_at = NULL, error = NULL WHERE run_id = ?",
                             Table("runs")),
                 {owner, run_id});
    StartInvocation(run_id, owner);
}

void Ledger::Supersede(const std::string& old_run, const std::string& new_run) {
    store_->Exec(fmt::format("UPDATE {} SET superseded_by = ?, status = CASE WHEN status = "
                             "'running' THEN 'stopped' ELSE status END WHERE run_id = ?",
                             Table("runs")),
                 {new_run, old_run});
}

std::optional<std::string> Ledger::SupersededBy(const std::string& new_run) {
    const std::vector<SqlRow> rows = store_->Query(
        fmt::format("SELECT run_id FROM {} WHERE superseded_by = ? ORDER BY started_at DESC LIMIT 1", Table("runs")),
        {new_run});
    if (rows.empty()) {
        return std::nullopt;
    }
    return SqlText(rows.front()[0]);
}

void Ledger::FinishRun(const RunRecord& run, bool resumed) {
    const char* plus = resumed ? "rows_read + " : "";
    const char* plus_rejected = resumed ? "rows_rejected + " : "";
    // A resumed run's written rows come from its partitions: this invocation only saw its own.
    const std::string written =
        resumed ? fmt::format("(SELECT coalesce(sum(rows), 0) FROM {} WHERE run_id = ? AND status = 'committed')",
                              Table("partitions"))
                : "?";
    store_->Exec(fmt::format("UPDATE {} SET status = ?, finished_at = ?, rows_read = {}?, rows_written = {}, "
                             "rows_rejected = {}?, error = ? WHERE run_id = ?",
                             Table("runs"), plus, written, plus_rejected),
                 {run.status, UtcTimestamp(), std::to_string(run.rows_read),
                  resumed ? SqlValue(run.run_id) : SqlValue(std::to_string(run.rows_written)),
                  std::to_string(run.rows_rejected), run.error.empty() ? SqlValue() : SqlValue(run.error),
                  run.run_id});
    FinishInvocation(run);
}

void Ledger::FinishInvocation(const RunRecord& run) {
    store_->Exec(fmt::format("UPDATE {} SET status = ?, finished_at = ?, rows_read = ?, rows_written = ?, "
                             "rows_rejected = ?, rows_rolled_back = ? WHERE run_id = ? AND owner = ? "
                             "AND finished_at IS NULL",
                             Table("invocations")),
                 {run.status, UtcTimestamp(), std::to_string(run.rows_read), std::to_string(run.rows_written),
                  std::to_string(run.rows_rejected), std::to_string(run.rows_rolled_back), run.run_id,
                  run.owner});
}

std::optional<int> Ledger::ClaimPartition(const std::string& run_id, const std::string& stream,
                                          int partition, const std::string& worker,
                                          double lease_seconds, bool respect_leases) {
    // A distributed run's partition may be running under another worker: taken over only
    // once its lease ran out on the server's clock.
    const std::string others =
        respect_leases ? " AND status <> 'failed' AND (status <> 'running' OR worker = ? OR lease_until < now())" : "";
    std::vector<SqlValue> params{worker, LeaseUntilParam(lease_seconds), UtcTimestamp(), run_id, stream,
                                 std::to_string(partition)};
    if (respect_leases) {
        params.emplace_back(worker);
    }
    auto rows = store_->Query(
        fmt::format("UPDATE {} SET status = 'running', attempts = attempts + 1, worker = ?, "
                    "lease_until = {}, started_at = ?, finished_at = NULL, error = NULL, rows = 0, rows_read = 0, bytes = 0, bytes_written = 0 "
                    "WHERE run_id = ? AND stream = ? AND partition_id = ? AND status <> 'committed'{} "
                    "RETURNING attempts",
                    Table("partitions"), LeaseUntilSql(), others),
        params);
    if (rows.empty()) {
        return std::nullopt;
    }
    return static_cast<int>(SqlInt(rows[0][0]));
}

std::optional<PartitionRecord> Ledger::GetPartition(const std::string& run_id, const std::string& stream,
                                                    int partition) {
    for (PartitionRecord& p : Partitions(run_id, stream, partition)) {
        return std::move(p);
    }
    return std::nullopt;
}

std::vector<std::string> Ledger::UndoTokens(const std::string& run_id, const std::string& stream,
                                            const std::optional<std::string>& tenant) {
    std::vector<std::string> out;
    std::vector<SqlValue> params{run_id, stream};
    if (tenant) {
        params.emplace_back(*tenant);
    }
    for (const SqlRow& r : store_->Query(fmt::format("SELECT undo FROM {} WHERE run_id = ? AND stream = ? "
                                                     "{} AND status = 'committed'",
                                                     Table("partitions"), tenant ? "AND tenant = ?" : ""),
                                         params)) {
        out.push_back(SqlText(r[0]));
    }
    return out;
}

void Ledger::RenewLeases(const std::string& run_id, const std::string& worker, double lease_seconds) {
    store_->Exec(fmt::format("UPDATE {} SET lease_until = {} WHERE run_id = ? AND worker = ? AND "
                             "status = 'running'",
                             Table("partitions"), LeaseUntilSql()),
                 {LeaseUntilParam(lease_seconds), run_id, worker});
}

std::string Ledger::LeaseUntilSql() const {
    // PostgreSQL: the server's clock, which every worker of a distributed run shares. SQLite
    // ledgers are local files: this machine's clock is the only one.
    return store_->postgres() ? "now() + make_interval(secs => ?::float8)" : "?";
}

SqlValue Ledger::LeaseUntilParam(double lease_seconds) const {
    return store_->postgres() ? fmt::format("{}", lease_seconds) : UtcTimestamp(lease_seconds);
}

void Ledger::MarkFailed(const std::string& run_id, const std::string& stream, int partition,
                        const std::string& error) {
    store_->Exec(fmt::format("UPDATE {} SET status = 'failed', error = ?, finished_at = ?, "
                             "lease_until = NULL, rows = 0 WHERE run_id = ? AND stream = ? AND partition_id = ? "
                             "AND status <> 'committed'",
                             Table("partitions")),
                 {error, UtcTimestamp(), run_id, stream, std::to_string(partition)});
}

void Ledger::Release(const std::string& run_id, const std::string& stream, int partition) {
    store_->Exec(fmt::format("UPDATE {} SET status = 'pending', worker = NULL, lease_until = NULL, "
                             "rows = 0 WHERE run_id = ? AND stream = ? AND partition_id = ? AND status = 'running'",
                             Table("partitions")),
                 {run_id, stream, std::to_string(partition)});
}

void Ledger::MarkCommitted(const PartitionClaim& claim, const PartitionTally& tally,
                           const std::vector<RejectedRow>& rejects, const std::string& undo) {
    const CommitMark mark = CommitMarkFor(claim, tally, rejects, undo);
    store_->Exec(store_->postgres() ? "BEGIN" : "BEGIN IMMEDIATE");
    try {
        store_->Exec(mark.fenced_update);
        if (!mark.rejects.empty()) {
            store_->ExecScript(mark.rejects);
        }
        store_->Exec("COMMIT");
    } catch (...) {
        try {
            store_->Exec("ROLLBACK");
        } catch (...) {  // NOLINT(bugprone-empty-catch): the first error is the one to report
        }
        throw;
    }
}

CommitMark Ledger::CommitMarkFor(const PartitionClaim& claim, const PartitionTally& tally,
                                 const std::vector<RejectedRow>& rejects, const std::string& undo) const {
    CommitMark mark;
    // Fenced: only the claim that is still running, by this worker at this attempt, may mark
    // the partition. A claim that was taken over (expired lease, --restart) updates no row,
    // and the caller rolls the data back with it.
    mark.fenced_update = fmt::format(
        "UPDATE {} SET status = 'committed', rows = {}, rows_read = {}, bytes = {}, rows_inserted = {}, "
        "rows_updated = {}, rows_unchanged = {}, rows_deleted = {}, rows_filtered = {}, bytes_written = {}, finished_at = {}, "
        "lease_until = NULL, error = NULL, undo = {} WHERE run_id = {} AND stream = {} "
        "AND partition_id = {} AND status = 'running' AND worker = {} AND attempts = {}",
        Table("partitions"), tally.rows_written, tally.rows_read, tally.bytes, tally.rows_inserted,
        tally.rows_updated, tally.rows_unchanged, tally.rows_deleted, tally.rows_filtered, tally.bytes_written,
        SqlLiteral(UtcTimestamp()), SqlLiteral(undo), SqlLiteral(claim.run_id),
        SqlLiteral(claim.stream), claim.partition, SqlLiteral(claim.worker), claim.attempt);
    for (const RejectedRow& r : rejects) {
        mark.rejects += fmt::format(
            "INSERT INTO {} (run_id, stream, partition_id, position, \"row\", error, sqlstate) VALUES "
            "({}, {}, {}, {}, {}, {}, {});",
            Table("rejects"), SqlLiteral(claim.run_id), SqlLiteral(claim.stream), claim.partition,
            SqlLiteral(r.position), SqlLiteral(r.row), SqlLiteral(r.error), SqlLiteral(r.sqlstate));
    }
    return mark;
}

std::string Ledger::RollbackTenantSql(const std::string& run_id, const std::string& stream,
                                      const std::string& tenant) const {
    return fmt::format("UPDATE {} SET status = 'failed', rows = 0, bytes_written = 0, error = {} WHERE run_id = {} "
                       "AND stream = {} AND tenant = {} AND status = 'committed';",
                       Table("partitions"),
                       SqlLiteral("rolled back: another partition of tenant " + tenant + " failed"),
                       SqlLiteral(run_id), SqlLiteral(stream), SqlLiteral(tenant));
}

std::string Ledger::UndoneByRestartSql(const std::string& run_id, const std::string& stream,
                                       const std::string& new_run) const {
    return fmt::format("UPDATE {} SET status = 'failed', rows = 0, error = {} WHERE run_id = {} "
                       "AND stream = {} AND status = 'committed';",
                       Table("partitions"), SqlLiteral("undone: run " + new_run + " restarted the job"),
                       SqlLiteral(run_id), SqlLiteral(stream));
}

void Ledger::ReopenPartitions(const std::string& run_id, const std::string& stream) {
    store_->Exec(fmt::format("UPDATE {} SET status = 'pending', rows = 0, undo = NULL, error = NULL "
                             "WHERE run_id = ? AND stream = ? AND status = 'committed'",
                             Table("partitions")),
                 {run_id, stream});
}

void Ledger::ReopenPartition(const std::string& run_id, const std::string& stream, int partition) {
    store_->Exec(fmt::format("UPDATE {} SET status = 'pending', rows = 0, undo = NULL, error = NULL "
                             "WHERE run_id = ? AND stream = ? AND partition_id = ? AND status = 'committed'",
                             Table("partitions")),
                 {run_id, stream, std::to_string(partition)});
}

void Ledger::AdoptCommitted(const std::string& run_id, const std::string& stream, int partition, int64_t rows,
                            const std::string& undo) {
    store_->Exec(fmt::format("UPDATE {} SET status = 'committed', rows = ?, undo = ?, error = NULL, "
                             "lease_until = NULL, finished_at = ? WHERE run_id = ? AND stream = ? "
                             "AND partition_id = ?",
                             Table("partitions")),
                 {std::to_string(rows), undo, UtcTimestamp(), run_id, stream, std::to_string(partition)});
}

std::vector<RejectRecord> Ledger::Rejects(const std::string& run_id, const std::string& stream) {
    std::vector<SqlValue> params{run_id};
    if (!stream.empty()) {
        params.emplace_back(stream);
    }
    std::vector<RejectRecord> out;
    for (const SqlRow& r : store_->Query(
             fmt::format("SELECT j.stream, j.partition_id, p.tenant, j.position, j.\"row\", j.error, j.sqlstate "
                         "FROM {} j LEFT JOIN {} p ON p.run_id = j.run_id AND p.stream = j.stream "
                         "AND p.partition_id = j.partition_id WHERE j.run_id = ? {} "
                         "ORDER BY j.stream, j.partition_id",
                         Table("rejects"), Table("partitions"), stream.empty() ? "" : "AND j.stream = ?"),
             params)) {
        out.push_back({SqlText(r[0]), static_cast<int>(SqlInt(r[1])), SqlText(r[2]), SqlText(r[3]), SqlText(r[4]), SqlText(r[5]),
                       SqlText(r[6])});
    }
    return out;
}

void Ledger::RequestStop(const std::string& run_id) {
    store_->Exec(fmt::format("UPDATE {} SET stop_requested = 1 WHERE run_id = ?", Table("runs")),
                 {run_id});
}

bool Ledger::StopRequested(const std::string& run_id) {
    auto rows = store_->Query(
        fmt::format("SELECT stop_requested FROM {} WHERE run_id = ?", Table("runs")), {run_id});
    return !rows.empty() && SqlInt(rows[0][0]) != 0;
}

}  // namespace sluice
