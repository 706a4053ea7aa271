// The ledger's incremental marks (`checkpoints`): where each stream and tenant's last window
// ended, and the files `incremental: {files: ...}` streams loaded (`files`). Both move only
// with a run that succeeded, in the transaction that records it.
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "state/ledger.hpp"

namespace sluice {

namespace {

/// Whether a ledger may be at `url`: not for an empty one, nor a SQLite file that does not
/// exist (opening it would create it).
bool MayExist(const std::string& url) {
    constexpr std::string_view kSqlite = "sqlite://";
    return !url.empty() && !(url.starts_with(kSqlite) && !std::filesystem::exists(url.substr(kSqlite.size())));
}

std::vector<std::string> CursorFromJson(const std::string& text) {
    try {
        return nlohmann::json::parse(text).get<std::vector<std::string>>();
    } catch (const nlohmann::json::exception& e) {
        throw Error(ErrorKind::kInternal, "unreadable incremental mark in the sluice ledger: " + text);
    }
}

}  // namespace

void Ledger::AddCheckpointTenant() {
    if (store_->postgres()) {
        if (store_->Query("SELECT 1 FROM information_schema.columns WHERE table_schema = 'sluice' AND "
                          "table_name = 'checkpoints' AND column_name = 'tenant'")
                .empty()) {
            store_->ExecScript("BEGIN; ALTER TABLE sluice.checkpoints ADD COLUMN tenant text NOT NULL DEFAULT ''; "
                               "ALTER TABLE sluice.checkpoints DROP CONSTRAINT IF EXISTS checkpoints_pkey; "
                               "ALTER TABLE sluice.checkpoints ADD PRIMARY KEY (job, stream, tenant); COMMIT;");
        }
        return;
    }
    if (store_->Query("SELECT 1 FROM pragma_table_info('sluice_checkpoints') WHERE name = 'tenant'").empty()) {
        // SQLite cannot change a primary key in place: copy the marks into a new table.
        store_->ExecScript(
            "BEGIN IMMEDIATE; ALTER TABLE sluice_checkpoints RENAME TO sluice_checkpoints_v5; "
            "CREATE TABLE sluice_checkpoints (job text NOT NULL, stream text NOT NULL, tenant text NOT NULL "
            "DEFAULT '', cursor text, run_id text, updated_at TEXT, PRIMARY KEY (job, stream, tenant)); "
            "INSERT INTO sluice_checkpoints (job, stream, cursor, run_id, updated_at) SELECT job, stream, "
            "cursor, run_id, updated_at FROM sluice_checkpoints_v5; DROP TABLE sluice_checkpoints_v5; COMMIT;");
    }
}

void Ledger::FinishRunAdvancing(const RunRecord& run, bool resumed, const std::vector<CheckpointRecord>& marks,
                                const std::vector<FileRecord>& files) {
    store_->Exec(store_->postgres() ? "BEGIN" : "BEGIN IMMEDIATE");
    try {
        AdvanceMarks(run.job, run.run_id, marks, files);
        FinishRun(run, resumed);
        store_->Exec("COMMIT");
    } catch (...) {
        try {
            store_->Exec("ROLLBACK");
        } catch (...) {  // NOLINT(bugprone-empty-catch): the first error is the one to report
        }
        throw;
    }
}

void Ledger::AdvanceMarks(const std::string& job, const std::string& run_id,
                          const std::vector<CheckpointRecord>& marks, const std::vector<FileRecord>& files) {
    for (CheckpointRecord mark : marks) {
        mark.run_id = run_id;
        SetCheckpoint(job, mark);
    }
    for (const FileRecord& file : files) {
        store_->Exec(fmt::format("INSERT INTO {} (job, stream, path, size, mtime_ns, fingerprint, run_id, loaded_at) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (job, stream, path) DO UPDATE SET "
                                 "size = excluded.size, mtime_ns = excluded.mtime_ns, fingerprint = "
                                 "excluded.fingerprint, run_id = excluded.run_id, loaded_at = excluded.loaded_at",
                                 Table("files")),
                     {job, file.stream, file.path, std::to_string(file.size), std::to_string(file.mtime_ns),
                      file.fingerprint, run_id, UtcTimestamp()});
    }
}

std::vector<CheckpointRecord> Ledger::Checkpoints(const std::string& job) {
    std::vector<CheckpointRecord> out;
    for (const SqlRow& r : store_->Query(fmt::format("SELECT stream, tenant, cursor, run_id, updated_at FROM {} "
                                                     "WHERE job = ? ORDER BY stream, tenant",
                                                     Table("checkpoints")),
                                         {job})) {
        out.push_back({SqlText(r[0]), SqlText(r[1]), CursorFromJson(SqlText(r[2])), SqlText(r[3]), SqlText(r[4])});
    }
    return out;
}

std::vector<CheckpointRecord> Ledger::PeekCheckpoints(const std::string& url, const std::string& job) {
    if (!MayExist(url)) {
        return {};
    }
    std::unique_ptr<Ledger> ledger;
    try {
        ledger = std::make_unique<Ledger>(OpenSqlStore(url, "sluice/peek"));
        ledger->store_->Query("SELECT tenant FROM " + ledger->Table("checkpoints") + " WHERE 1 = 0");
    } catch (const Error&) {
        return {};  // no ledger (or no schema-6 checkpoints) yet: no marks
    }
    return ledger->Checkpoints(job);
}

void Ledger::SetCheckpoint(const std::string& job, const CheckpointRecord& mark) {
    store_->Exec(fmt::format("INSERT INTO {} (job, stream, tenant, cursor, run_id, updated_at) VALUES "
                             "(?, ?, ?, ?, ?, ?) ON CONFLICT (job, stream, tenant) DO UPDATE SET "
                             "cursor = excluded.cursor, run_id = excluded.run_id, updated_at = excluded.updated_at",
                             Table("checkpoints")),
                 {job, mark.stream, mark.tenant, nlohmann::json(mark.cursor).dump(),
                  mark.run_id.empty() ? SqlValue() : SqlValue(mark.run_id), UtcTimestamp()});
}

int64_t Ledger::ResetCheckpoints(const std::string& job, const std::string& stream) {
    const std::string where = stream.empty() ? "job = ?" : "job = ? AND stream = ?";
    std::vector<SqlValue> params{job};
    if (!stream.empty()) {
        params.emplace_back(stream);
    }
    int64_t count = 0;
    for (const char* table : {"checkpoints", "files"}) {
        const auto n = store_->Query(fmt::format("SELECT count(*) FROM {} WHERE {}", Table(table), where), params);
        store_->Exec(fmt::format("DELETE FROM {} WHERE {}", Table(table), where), params);
        count += n.empty() ? 0 : SqlInt(n[0][0]);
    }
    return count;
}

std::vector<FileRecord> Ledger::PeekLoadedFiles(const std::string& url, const std::string& job) {
    if (!MayExist(url)) {
        return {};
    }
    std::vector<FileRecord> out;
    try {
        Ledger ledger(OpenSqlStore(url, "sluice/peek"));
        for (const SqlRow& r : ledger.store_->Query(
                 fmt::format("SELECT stream, path, size, mtime_ns, fingerprint, run_id, loaded_at FROM {} WHERE job = ?",
                             ledger.Table("files")),
                 {job})) {
            out.push_back({SqlText(r[0]), SqlText(r[1]), SqlInt(r[2]), SqlInt(r[3]), SqlText(r[4]), SqlText(r[5]),
                           SqlText(r[6])});
        }
    } catch (const Error&) {
        return {};  // no ledger (or one from before the files table) yet: nothing loaded
    }
    return out;
}

}  // namespace sluice
