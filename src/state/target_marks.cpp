#include "state/target_marks.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

#include "connectors/registry.hpp"

namespace sluice {

namespace {

TargetMark ToMark(const SqlRow& row) {
    return TargetMark{static_cast<int>(SqlInt(row[0])), static_cast<int>(SqlInt(row[1])), SqlInt(row[2]),
                      row[3].value_or("")};
}

}  // namespace

bool KeepsTargetMarks(const std::string& target_url, const std::string& ledger_url) {
    if (ledger_url.empty() || target_url == ledger_url) {
        return false;
    }
    const std::string scheme = UrlScheme(target_url);
    return scheme == "postgresql" || scheme == "postgres" || scheme == "sqlite" || scheme == "mysql" ||
           scheme == "mariadb";
}

std::unique_ptr<TargetMarks> TargetMarks::Open(const std::string& target_url,
                                               const std::string& application_name) {
    auto marks = std::make_unique<TargetMarks>(OpenSqlStore(target_url, application_name), target_url,
                                               application_name);
    const bool pg = marks->store_->postgres();
    if (marks->store_->mariadb()) {
        // InnoDB, so that a mark commits with its rows; bounded keys (an index takes no TEXT).
        marks->store_->ExecScript(
            "CREATE TABLE IF NOT EXISTS sluice_partition_marks (job varchar(255) NOT NULL, run_id varchar(64) NOT NULL, "
            "stream varchar(255) NOT NULL, partition_id integer NOT NULL, tenant text, attempt integer NOT NULL, "
            "`rows` bigint NOT NULL, `undo` text, committed_at text, PRIMARY KEY (run_id, stream, partition_id)) "
            "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin");
        return marks;
    }
    const std::string columns = fmt::format(
        "(job text NOT NULL, run_id text NOT NULL, stream text NOT NULL, partition_id integer NOT NULL, "
        "tenant text, attempt integer NOT NULL, rows {} NOT NULL, undo text, committed_at text, "
        "PRIMARY KEY (run_id, stream, partition_id))",
        pg ? "bigint" : "INTEGER");
    if (pg) {
        // The advisory lock keeps concurrent first runs from racing on CREATE SCHEMA/TABLE.
        marks->store_->ExecScript("BEGIN; SELECT pg_advisory_xact_lock(73656377); "
                                  "CREATE SCHEMA IF NOT EXISTS sluice; "
                                  "CREATE TABLE IF NOT EXISTS sluice.partition_marks " + columns + "; COMMIT;");
    } else {
        marks->store_->ExecScript("CREATE TABLE IF NOT EXISTS sluice_partition_marks " + columns);
    }
    return marks;
}

TargetMarks::TargetMarks(std::unique_ptr<SqlStore> store, std::string url, std::string application_name)
    : url_(std::move(url)), application_name_(std::move(application_name)), store_(std::move(store)) {}

std::vector<SqlRow> TargetMarks::Query(const std::string& sql, const std::vector<SqlValue>& params) {
    try {
        return store_->Query(sql, params);
    } catch (const Error& e) {
        if (!e.IsTransient()) {
            throw;
        }
        store_ = OpenSqlStore(url_, application_name_);
        return store_->Query(sql, params);
    }
}

std::string TargetMarks::Table() const {
    return store_->postgres() ? "sluice.partition_marks" : "sluice_partition_marks";
}

std::string TargetMarks::Columns() const {
    return store_->mariadb() ? "partition_id, attempt, `rows`, `undo`" : "partition_id, attempt, rows, undo";
}

std::string TargetMarks::InsertSql(const std::string& job, const PartitionClaim& claim, const std::string& tenant,
                                   int64_t rows, const std::string& undo) const {
    // Keyed by partition, not attempt: of two attempts that both reach COMMIT (a presumed-dead
    // worker that wakes up), the second inserts nothing and rolls back.
    const bool mariadb = store_->mariadb();
    // Columns in the order of Columns(): partition_id, attempt, rows, undo.
    return fmt::format("INSERT {}INTO {} (job, run_id, stream, tenant, committed_at, {}) VALUES ({}, {}, {}, {}, {}, "
                       "{}, {}, {}, {}){}",
                       mariadb ? "IGNORE " : "", Table(), Columns(), SqlLiteral(job), SqlLiteral(claim.run_id),
                       SqlLiteral(claim.stream), SqlLiteral(tenant), SqlLiteral(UtcTimestamp()), claim.partition,
                       claim.attempt, rows, SqlLiteral(undo), mariadb ? "" : " ON CONFLICT DO NOTHING");
}

std::string TargetMarks::DeleteSql(const std::string& run_id, const std::string& stream,
                                   const std::optional<std::string>& tenant) const {
    return fmt::format("DELETE FROM {} WHERE run_id = {} AND stream = {}{};", Table(), SqlLiteral(run_id),
                       SqlLiteral(stream), tenant ? " AND tenant = " + SqlLiteral(*tenant) : "");
}

std::optional<TargetMark> TargetMarks::Find(const std::string& run_id, const std::string& stream, int partition) {
    std::lock_guard lock(mu_);
    auto rows = Query(fmt::format("SELECT {} FROM {} WHERE run_id = ? AND stream = ? AND partition_id = ?",
                                          Columns(), Table()),
                              {run_id, stream, std::to_string(partition)});
    if (rows.empty()) {
        return std::nullopt;
    }
    return ToMark(rows[0]);
}

std::map<int, TargetMark> TargetMarks::All(const std::string& run_id, const std::string& stream) {
    std::lock_guard lock(mu_);
    std::map<int, TargetMark> out;
    for (const SqlRow& row : Query(fmt::format("SELECT {} FROM {} WHERE run_id = ? AND stream = ?", Columns(),
                                                       Table()),
                                           {run_id, stream})) {
        TargetMark mark = ToMark(row);
        out.emplace(mark.partition, std::move(mark));
    }
    return out;
}

void TargetMarks::Forget(const std::string& run_id, const std::string& stream) {
    std::lock_guard lock(mu_);
    Query(DeleteSql(run_id, stream), {});
}

void TargetMarks::ForgetOtherRuns(const std::string& job, const std::string& run_id) {
    std::lock_guard lock(mu_);
    Query(fmt::format("DELETE FROM {} WHERE job = ? AND run_id <> ?", Table()), {job, run_id});
}

}  // namespace sluice
