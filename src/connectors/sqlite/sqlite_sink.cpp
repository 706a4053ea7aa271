#include "connectors/sqlite/sqlite_sink.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <mutex>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "connectors/sqlite/sqlite_db.hpp"
#include "connectors/sqlite/sqlite_types.hpp"
#include "connectors/sqlite/sqlite_writer.hpp"

namespace sluice {

namespace {

using sqlite::QuoteIdent;

/// Rows ANALYZE samples per index: enough for good plans, and seconds rather than minutes
/// on a table of 100M rows (a full ANALYZE reads every index).
constexpr int kAnalysisLimit = 1000;

/// Column names compare case-insensitively, as SQLite compares identifiers.
bool SameName(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

std::string JoinQuoted(const std::vector<std::string>& names) {
    std::string out;
    for (const std::string& name : names) {
        out += (out.empty() ? "" : ", ") + QuoteIdent(name);
    }
    return out;
}

/// The rowids a partition's transaction appended, from its UndoToken ("sqlite-rowid:A-B").
std::pair<int64_t, int64_t> RowidRangeOf(const std::string& token) {
    constexpr std::string_view kPrefix = "sqlite-rowid:";
    const size_t dash = token.find('-', kPrefix.size());
    if (token.rfind(kPrefix, 0) != 0 || dash == std::string::npos) {
        throw Error(ErrorKind::kInternal,
                    fmt::format("cannot undo a committed partition: its ledger mark has no rowid range "
                                "(\"{}\": a WITHOUT ROWID table, or recorded by an older sluice); "
                                "delete its rows by hand",
                                token));
    }
    return {std::stoll(token.substr(kPrefix.size(), dash - kPrefix.size())), std::stoll(token.substr(dash + 1))};
}

class SqliteSink final : public Sink {
public:
    explicit SqliteSink(TargetSpec spec)
        : spec_(std::move(spec)), path_(sqlite::PathFromUrl(spec_.url, spec_.base_dir)) {}

    Schema Prepare(const Schema& source) override {
        shared_ = sqlite::AcquireSharedWriter(path_);
        std::lock_guard lock(shared_->mu);
        sqlite3* db = shared_->db.get();
        table_ = sqlite::ResolveTableName(db, spec_.table);
        if (spec_.create == "replace" && !resuming_) {
            sqlite::ExecSql(db, "DROP TABLE IF EXISTS " + table_.Sql(), "dropping " + table_.Display());
        }
        std::optional<Schema> existing = sqlite::ReadTableSchema(db, table_);
        const bool created = !existing;
        if (created) {
            if (spec_.create == "never") {
                throw sqlite::MissingTable(db, table_, path_,
                                           "create it, or set target.create: if_missing to let sluice create it");
            }
            sqlite::ExecSql(db, CreateSql(source), "creating " + table_.Display());
            existing = sqlite::ReadTableSchema(db, table_);
            if (!existing) {
                throw Error(ErrorKind::kInternal, "created table " + table_.Display() + " is not visible");
            }
        } else if (IsView(db)) {
            throw Error(ErrorKind::kSchema, fmt::format("target {} in {} is a view; name a table", table_.Display(), path_));
        }
        Schema target = MatchColumns(source, *existing);
        plan_ = MakeInsertPlan(db, target);
        if (spec_.mode == "replace" && !created && !resuming_) {
            // Only after every check passed: a refused job must not empty the table. A resumed
            // run keeps what the committed partitions of the earlier one wrote.
            sqlite::ExecSql(db, "DELETE FROM " + table_.Sql(), "emptying " + table_.Display());
        }
        return target;
    }

    bool Resume() override {
        resuming_ = true;  // the table is replaced in place: its committed rows are still there
        return true;
    }

    std::unique_ptr<SinkWriter> OpenWriter() override {
        if (!plan_) {
            throw Error(ErrorKind::kInternal, "Sink::OpenWriter called before Prepare");
        }
        return sqlite::MakeSqliteSinkWriter(shared_, plan_);
    }

    void Finalize(bool success) override {
        if (!success || !shared_) {
            return;
        }
        std::lock_guard lock(shared_->mu);
        // Statistics are an optimization: a failure here must not fail a load that committed.
        sqlite3_exec(shared_->db.get(),
                     fmt::format("PRAGMA analysis_limit={}; ANALYZE {}", kAnalysisLimit, table_.Sql()).c_str(),
                     nullptr, nullptr, nullptr);
    }

    void Undo(const std::vector<std::string>& tokens, const std::string& ledger_sql) override {
        if (!shared_) {
            throw Error(ErrorKind::kInternal, "Sink::Undo called before Prepare");
        }
        std::string ranges;
        for (const std::string& token : tokens) {
            const auto [first, last] = RowidRangeOf(token);
            ranges += fmt::format("{}rowid BETWEEN {} AND {}", ranges.empty() ? "" : " OR ", first, last);
        }
        std::lock_guard lock(shared_->mu);
        sqlite3* db = shared_->db.get();
        const std::string what = "undoing committed partitions in " + table_.Display();
        sqlite::ExecSql(db, "BEGIN IMMEDIATE", what);
        try {
            if (!ranges.empty()) {
                sqlite::ExecSql(db, fmt::format("DELETE FROM {} WHERE {}", table_.Sql(), ranges), what);
            }
            if (!ledger_sql.empty()) {
                sqlite::ExecSql(db, ledger_sql, "recording the tenant rollback in the sluice ledger");
            }
            sqlite::ExecSql(db, "COMMIT", what);
        } catch (...) {
            sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
            throw;
        }
    }

    std::optional<Schema> ExistingSchema() override {
        std::error_code ec;
        if (!std::filesystem::is_regular_file(path_, ec)) {
            return std::nullopt;
        }
        sqlite::SqliteDbPtr db = sqlite::OpenDatabase(path_, true);
        return sqlite::ReadTableSchema(db.get(), sqlite::ResolveTableName(db.get(), spec_.table));
    }

private:
    bool IsView(sqlite3* db) const {
        const std::string master =
            table_.schema.empty() ? "sqlite_master" : QuoteIdent(table_.schema) + ".sqlite_master";
        auto stmt = sqlite::Prepare(db, "SELECT 1 FROM " + master + " WHERE type = 'view' AND name = ?",
                                    "looking up " + table_.Display());
        sqlite3_bind_text(stmt.get(), 1, table_.name.data(), static_cast<int>(table_.name.size()), SQLITE_STATIC);
        return sqlite3_step(stmt.get()) == SQLITE_ROW;
    }

    /// The key of a new table: target.key for upserts (ON CONFLICT needs it unique), else the
    /// source's primary key, else target.key.
    std::vector<std::string> KeyForNewTable(const Schema& source) const {
        if (spec_.mode == "upsert" && !spec_.key.empty()) {
            return spec_.key;
        }
        return source.primary_key.empty() ? spec_.key : source.primary_key;
    }

    std::string CreateSql(const Schema& source) const {
        std::string sql = "CREATE TABLE IF NOT EXISTS " + table_.Sql() + " (";
        for (size_t i = 0; i < source.size(); ++i) {
            const Field& f = source.fields[i];
            sql += (i == 0 ? "" : ", ") + QuoteIdent(f.name) + " " + sqlite::DeclFromType(f.type);
            if (!f.nullable) {
                sql += " NOT NULL";
            }
        }
        if (const std::vector<std::string> key = KeyForNewTable(source); !key.empty()) {
            sql += ", PRIMARY KEY (" + JoinQuoted(key) + ")";
        }
        return sql + ")";
    }

    /// The table's columns for the source's, in the source's order.
    Schema MatchColumns(const Schema& source, const Schema& table) const {
        Schema target;
        target.primary_key = table.primary_key;
        std::vector<std::string> missing;
        for (const Field& field : source.fields) {
            if (const std::optional<size_t> at = table.Find(field.name)) {
                target.fields.push_back(table.fields[*at]);
            } else {
                missing.push_back(field.name);
            }
        }
        if (!missing.empty()) {
            std::string names;
            for (const std::string& m : missing) {
                names += (names.empty() ? "" : ", ") + m;
            }
            throw Error(ErrorKind::kSchema,
                        fmt::format("target table {} in {} has no column{} {} (its columns: {}); add {} with "
                                    "ALTER TABLE ... ADD COLUMN, select only the columns it has "
                                    "with source.query, or set target.create: replace",
                                    table_.Display(), path_, missing.size() == 1 ? "" : "s", names,
                                    table.Describe(), missing.size() == 1 ? "it" : "them"),
                        "42703");
        }
        return target;
    }

    std::shared_ptr<const sqlite::InsertPlan> MakeInsertPlan(sqlite3* db, const Schema& target) const {
        auto plan = std::make_shared<sqlite::InsertPlan>();
        plan->table = table_.Display();
        plan->table_sql = table_.Sql();
        std::vector<std::string> names;
        for (const Field& f : target.fields) {
            names.push_back(f.name);
        }
        plan->head = fmt::format("INSERT INTO {} ({}) VALUES ", table_.Sql(), JoinQuoted(names));
        plan->columns = target.size();
        plan->rows_per_statement = sqlite::RowsPerInsert(db, target.size());
        for (const Field& f : target.fields) {
            plan->decimal_as_number.push_back(f.type.id == LogicalType::kDecimal &&
                                              sqlite::HasNumericAffinity(f.native_type));
        }
        if (spec_.mode == "upsert") {
            plan->tail = UpsertClause(target);
        }
        // Prepare once now so that a bad ON CONFLICT target fails the stream, not each partition.
        try {
            sqlite::Prepare(db, plan->Sql(1), "preparing the INSERT into " + table_.Display());
        } catch (const Error& e) {
            throw Error(ErrorKind::kSchema,
                        fmt::format("{}{}", e.what(),
                                    spec_.mode == "upsert" ? "; upsert needs target.key to be the table's primary "
                                                             "key or a UNIQUE index"
                                                           : ""),
                        e.sqlstate());
        }
        return plan;
    }

    std::string UpsertClause(const Schema& target) const {
        const std::vector<std::string> key = spec_.key.empty() ? target.primary_key : spec_.key;
        if (key.empty()) {
            throw Error(ErrorKind::kConfig, fmt::format("mode upsert into {} needs target.key (the table has "
                                                        "no primary key)",
                                                        table_.Display()));
        }
        std::string updates;
        for (const Field& f : target.fields) {
            const bool is_key = std::any_of(key.begin(), key.end(), [&](const std::string& k) { return SameName(k, f.name); });
            if (!is_key) {
                updates += fmt::format("{0}{1} = excluded.{1}", updates.empty() ? "" : ", ", QuoteIdent(f.name));
            }
        }
        return fmt::format(" ON CONFLICT ({}) DO {}", JoinQuoted(key),
                           updates.empty() ? "NOTHING" : "UPDATE SET " + updates);
    }

    TargetSpec spec_;
    std::string path_;
    sqlite::TableName table_;
    std::shared_ptr<sqlite::SharedWriter> shared_;
    std::shared_ptr<const sqlite::InsertPlan> plan_;
    bool resuming_ = false;
};

}  // namespace

void CheckSqliteTarget(const TargetSpec& spec) {
    if (spec.mode == "scd2") {
        throw Error(ErrorKind::kConfig, "target.mode scd2 is not available for SQLite targets in this "
                                        "version; use append, replace or upsert");
    }
    if (spec.mode != "append" && spec.mode != "replace" && spec.mode != "upsert") {
        throw Error(ErrorKind::kConfig, fmt::format("target.mode {} is not one of append, replace, upsert", spec.mode));
    }
    if (spec.create != "if_missing" && spec.create != "never" && spec.create != "replace") {
        throw Error(ErrorKind::kConfig,
                    fmt::format("target.create {} is not one of if_missing, never, replace", spec.create));
    }
    if (spec.table.empty()) {
        throw Error(ErrorKind::kConfig, "a SQLite target needs target.table");
    }
}

std::unique_ptr<Sink> OpenSqliteSink(const TargetSpec& spec) {
    CheckSqliteTarget(spec);
    return std::make_unique<SqliteSink>(spec);
}

}  // namespace sluice
