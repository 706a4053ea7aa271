#include "connectors/sqlite/sqlite_sink.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <filesystem>
#include <mutex>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "connectors/sqlite/sqlite_db.hpp"
#include "connectors/sqlite/sqlite_scd2.hpp"
#include "connectors/sqlite/sqlite_types.hpp"
#include "connectors/sqlite/sqlite_writer.hpp"

namespace sluice {

namespace {

using sqlite::QuoteIdent;

/// Rows ANALYZE samples per index: enough for good plans, and seconds rather than minutes
/// on a table of 100M rows (a full ANALYZE reads every index).
constexpr int kAnalysisLimit = 1000;

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
        std::optional<Schema> existing = sqlite::ReadTableSchema(db, table_);
        if (existing && IsView(db)) {
            throw Error(ErrorKind::kSchema, fmt::format("target {} in {} is a view; name a table", table_.Display(), path_));
        }
        if (!existing && spec_.create == "never") {
            throw sqlite::MissingTable(db, table_, path_,
                                       "create it, or set target.create: if_missing to let sluice create it");
        }
        replaced_existed_ = existing.has_value() && spec_.create != "replace";
        load_ = table_;
        if (Replaces()) {
            // The live table stays untouched until every partition committed: the rows load
            // into a staging table that Finalize publishes in one transaction.
            load_ = StagingName();
            if (!(resuming_ && sqlite::ReadTableSchema(db, load_))) {
                sqlite::ExecSql(db, "DROP TABLE IF EXISTS " + load_.Sql(), "dropping a leftover " + load_.Display());
                sqlite::ExecSql(db, replaced_existed_ ? StagingDdl(db) : CreateSql(source, load_),
                                "creating " + load_.Display());
            }
        } else if (!existing) {
            // In one transaction: a history table found without its indexes would be taken as
            // a user's, and never get them.
            const std::string what = "creating " + table_.Display();
            sqlite::ExecSql(db, "BEGIN IMMEDIATE", what);
            try {
                sqlite::ExecSql(db, CreateSql(source, table_), what);
                if (spec_.mode == "scd2") {
                    for (const std::string& index : sqlite::PlanScd2Ddl(spec_, source, table_).indexes) {
                        sqlite::ExecSql(db, index, "indexing the history in " + table_.Display());
                    }
                }
                sqlite::ExecSql(db, "COMMIT", what);
            } catch (...) {
                sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
                throw;
            }
        }
        const std::optional<Schema> load = sqlite::ReadTableSchema(db, load_);
        if (!load) {
            throw Error(ErrorKind::kInternal, "created table " + load_.Display() + " is not visible");
        }
        Schema target = MatchColumns(source, *load);
        plan_ = MakeInsertPlan(db, target, *load);
        return target;
    }

    bool Resume() override {
        resuming_ = true;
        if (!Replaces()) {
            return true;  // appended rows are in the table itself
        }
        // A replace's committed partitions are in its staging table; gone (published, or
        // dropped), every partition loads again.
        shared_ = sqlite::AcquireSharedWriter(path_);
        std::lock_guard lock(shared_->mu);
        table_ = sqlite::ResolveTableName(shared_->db.get(), spec_.table);
        resuming_ = sqlite::ReadTableSchema(shared_->db.get(), StagingName()).has_value();
        return resuming_;
    }

    std::unique_ptr<SinkWriter> OpenWriter() override {
        if (!plan_) {
            throw Error(ErrorKind::kInternal, "Sink::OpenWriter called before Prepare");
        }
        return sqlite::MakeSqliteSinkWriter(shared_, plan_);
    }

    void Finalize(bool success) override {
        if (!success || !shared_) {
            return;  // a replace keeps its staging table for --resume
        }
        std::lock_guard lock(shared_->mu);
        if (Replaces()) {
            Publish(shared_->db.get());
        }
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
                sqlite::ExecSql(db, fmt::format("DELETE FROM {} WHERE {}", load_.Sql(), ranges), what);
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

    int64_t CarryOverTenant(const std::string& column, const std::string& value) override {
        if (!Replaces() || !replaced_existed_ || !shared_) {
            return 0;
        }
        std::lock_guard lock(shared_->mu);
        sqlite3* db = shared_->db.get();
        const std::string columns = JoinQuoted(target_columns_);
        auto stmt = sqlite::Prepare(db,
                                    fmt::format("INSERT INTO {} ({}) SELECT {} FROM {} WHERE {} = ?", load_.Sql(),
                                                columns, columns, table_.Sql(), QuoteIdent(column)),
                                    "keeping the previous rows of tenant " + value);
        sqlite3_bind_text(stmt.get(), 1, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
        if (const int rc = sqlite3_step(stmt.get()); rc != SQLITE_DONE) {
            throw sqlite::MakeError(db, rc, "keeping the previous rows of tenant " + value);
        }
        return sqlite3_changes64(db);
    }

private:
    bool Replaces() const { return spec_.mode == "replace" || spec_.create == "replace"; }

    sqlite::TableName StagingName() const { return {table_.schema, table_.name + "__sluice_new"}; }

    /// The live table's own CREATE TABLE statement under the staging name, so the staging
    /// table has its constraints (NOT NULL, CHECK, UNIQUE, keys): rows the table would refuse
    /// are refused, and set aside, per partition rather than at publish.
    std::string StagingDdl(sqlite3* db) const {
        const std::string master =
            table_.schema.empty() ? "sqlite_master" : QuoteIdent(table_.schema) + ".sqlite_master";
        auto stmt = sqlite::Prepare(db, "SELECT sql FROM " + master + " WHERE type = 'table' AND name = ?",
                                    "reading the definition of " + table_.Display());
        sqlite3_bind_text(stmt.get(), 1, table_.name.data(), static_cast<int>(table_.name.size()), SQLITE_STATIC);
        if (sqlite3_step(stmt.get()) != SQLITE_ROW) {
            throw Error(ErrorKind::kInternal, "no definition for " + table_.Display());
        }
        const std::string ddl(sqlite::ColumnText(stmt.get(), 0));
        // "CREATE TABLE [IF NOT EXISTS] name (...": swap the name token, quoted or bare.
        size_t at = ddl.find('(');
        size_t name_end = at;
        while (name_end > 0 && std::isspace(static_cast<unsigned char>(ddl[name_end - 1]))) {
            --name_end;
        }
        const char last = name_end > 0 ? ddl[name_end - 1] : ' ';
        size_t name_begin = name_end;
        if (last == '"' || last == '`' || last == ']' || last == '\'') {
            const char open = last == ']' ? '[' : last;
            name_begin = ddl.rfind(open, name_end - 2);
        } else {
            while (name_begin > 0 && !std::isspace(static_cast<unsigned char>(ddl[name_begin - 1]))) {
                --name_begin;
            }
        }
        if (at == std::string::npos || name_begin == std::string::npos || name_begin == 0) {
            throw Error(ErrorKind::kSchema, fmt::format("cannot read the definition of {} to stage a replace: {}",
                                                        table_.Display(), ddl));
        }
        return ddl.substr(0, name_begin) + StagingName().Sql() + " " + ddl.substr(name_end);
    }

    /// Swaps the staging table in, in one transaction: a table that existed keeps its
    /// definition, indexes, triggers and dependent views (its rows are replaced); a new one,
    /// or create: replace, takes the staging table's place.
    void Publish(sqlite3* db) {
        const std::string what = "publishing the new " + table_.Display();
        sqlite::ExecSql(db, "BEGIN IMMEDIATE", what);
        try {
            if (replaced_existed_) {
                const std::string columns = JoinQuoted(target_columns_);
                sqlite::ExecSql(db,
                                fmt::format("DELETE FROM {0}; INSERT INTO {0} ({1}) SELECT {1} FROM {2}; DROP TABLE {2}",
                                            table_.Sql(), columns, load_.Sql()),
                                what);
            } else {
                sqlite::ExecSql(db,
                                fmt::format("DROP TABLE IF EXISTS {}; ALTER TABLE {} RENAME TO {}", table_.Sql(),
                                            load_.Sql(), QuoteIdent(table_.name)),
                                what);
            }
            sqlite::ExecSql(db, "COMMIT", what);
        } catch (...) {
            sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
            throw;
        }
        load_ = table_;
    }

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
        if (spec_.mode == "scd2") {
            return {};  // many versions per key: PlanScd2Ddl's indexes make (key, valid_from) unique
        }
        if (spec_.MergesByKey() && !spec_.key.empty()) {
            return spec_.key;
        }
        return source.primary_key.empty() ? spec_.key : source.primary_key;
    }

    std::string CreateSql(const Schema& source, const sqlite::TableName& name) const {
        std::string sql = "CREATE TABLE IF NOT EXISTS " + name.Sql() + " (";
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
        if (spec_.mode == "scd2") {
            sql += sqlite::PlanScd2Ddl(spec_, source, name).columns;
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
                        fmt::format("target table {} in {} has no column{} {} (source vs target: {}); add "
                                    "{} with ALTER TABLE ... ADD COLUMN, select only the columns it has "
                                    "with source.query, or set target.create: replace",
                                    table_.Display(), path_, missing.size() == 1 ? "" : "s", names,
                                    DescribeColumnDiff(CompareColumns(source, table)),
                                    missing.size() == 1 ? "it" : "them"),
                        "42703");
        }
        return target;
    }

    std::shared_ptr<const sqlite::InsertPlan> MakeInsertPlan(sqlite3* db, const Schema& target, const Schema& table) {
        auto plan = std::make_shared<sqlite::InsertPlan>();
        plan->table = load_.Display();
        plan->table_sql = load_.Sql();
        target_columns_.clear();
        for (const Field& f : target.fields) {
            target_columns_.push_back(f.name);
        }
        plan->head = fmt::format("INSERT INTO {} ({}) VALUES ", load_.Sql(), JoinQuoted(target_columns_));
        plan->columns = target.size();
        plan->rows_per_statement = sqlite::RowsPerInsert(db, target.size());
        for (const Field& f : target.fields) {
            plan->decimal_as_number.push_back(f.type.id == LogicalType::kDecimal &&
                                              sqlite::HasNumericAffinity(f.native_type));
        }
        if (spec_.mode == "scd2") {
            AddScd2(db, target, table, *plan);
        } else if (spec_.MergesByKey()) {
            AddMerge(db, target, *plan);
        }
        sqlite::Prepare(db, plan->Sql(1), "preparing the INSERT into " + table_.Display());
        return plan;
    }

    /// Whether the table being loaded has `column` (whatever the source has).
    bool ExistingHasColumn(sqlite3* db, const std::string& column) const {
        const std::optional<Schema> table = sqlite::ReadTableSchema(db, load_);
        return table && table->Find(column).has_value();
    }

    /// An upsert writes into a staging table and merges it per partition. The merge is
    /// prepared once now, so that a key without a unique index fails the stream, not each
    /// partition.
    void AddMerge(sqlite3* db, const Schema& target, sqlite::InsertPlan& plan) const {
        static std::atomic<int> stages{0};
        const std::vector<std::string> key = spec_.key.empty() ? target.primary_key : spec_.key;
        if (key.empty()) {
            throw Error(ErrorKind::kConfig, fmt::format("mode upsert into {} needs target.key (the table has "
                                                        "no primary key)",
                                                        table_.Display()));
        }
        const bool soft = spec_.delete_missing == "soft";
        if (soft && (!ExistingHasColumn(db, sqlite::kDeletedAt) || target.Find(sqlite::kDeletedAt))) {
            throw Error(ErrorKind::kSchema,
                        fmt::format("delete_missing: soft flags a missing key in the column {0} of {1}, which the "
                                    "table must have and the source must not fill; add it (ALTER TABLE {1} ADD "
                                    "COLUMN {0} TEXT) and leave it out of the source",
                                    sqlite::kDeletedAt, table_.Display()));
        }
        plan.merge = sqlite::PlanMerge(load_.Sql(), target.fields, key, spec_.merge_order, !spec_.insert_new_keys,
                                       soft, ++stages);
        if (!spec_.delete_missing.empty()) {
            plan.delete_missing = spec_;
            plan.delete_missing->key = key;
            plan.fields = target.fields;
        }
        sqlite::ExecSql(db, plan.merge->stage_create, "creating the staging table of an upsert into " + table_.Display());
        plan.head = fmt::format("INSERT INTO {} ({}) VALUES ", plan.merge->stage_table, JoinQuoted(target_columns_));
        try {
            sqlite::Prepare(db, plan.merge->merge, "preparing the upsert into " + table_.Display());
        } catch (const Error& e) {
            throw Error(ErrorKind::kSchema,
                        fmt::format("{}; mode upsert needs target.key ({}) to be the table's primary key or a "
                                    "UNIQUE index",
                                    e.what(), JoinQuoted(key)),
                        e.sqlstate());
        }
    }

    /// mode scd2 writes into a staging table too; its statements run once now on nothing, so
    /// that a wrong column or type fails the stream, not each partition.
    void AddScd2(sqlite3* db, const Schema& target, const Schema& table, sqlite::InsertPlan& plan) const {
        static std::atomic<int> stages{0};
        const int id = ++stages;
        plan.merge = sqlite::PlanStage(target.fields, id);
        plan.scd2 = sqlite::PlanSqliteScd2(spec_, load_, target.fields, table, plan.merge->stage_table, id);
        plan.tenant_column = spec_.tenant_column;
        plan.fields = target.fields;
        sqlite::RegisterScd2Hash(db);
        const std::string what = "creating the staging table of the history in " + table_.Display();
        sqlite::ExecSql(db, plan.merge->stage_create, what);
        plan.head = fmt::format("INSERT INTO {} ({}) VALUES ", plan.merge->stage_table, JoinQuoted(target_columns_));
        sqlite::ExecSql(db, "SAVEPOINT sluice_scd2_check", what);
        try {
            sqlite::RunSqliteScd2(db, *plan.scd2, "1 = 0", table_.Display());
        } catch (const Error& e) {
            sqlite3_exec(db, "ROLLBACK TO sluice_scd2_check; RELEASE sluice_scd2_check", nullptr, nullptr, nullptr);
            throw Error(ErrorKind::kSchema, fmt::format("mode scd2 into {}: {}", table_.Display(), e.what()), e.sqlstate());
        }
        sqlite::ExecSql(db, "ROLLBACK TO sluice_scd2_check; RELEASE sluice_scd2_check", what);
    }

    TargetSpec spec_;
    std::string path_;
    sqlite::TableName table_;
    sqlite::TableName load_;                    ///< where rows go: table_, or a replace's staging table
    bool replaced_existed_ = false;             ///< a replace of a table that existed (rows replaced in place)
    std::vector<std::string> target_columns_;   ///< the columns batches fill, in order
    std::shared_ptr<sqlite::SharedWriter> shared_;
    std::shared_ptr<const sqlite::InsertPlan> plan_;
    bool resuming_ = false;
};

}  // namespace

void CheckSqliteTarget(const TargetSpec& spec) {

    if (spec.mode != "append" && spec.mode != "replace" && spec.mode != "upsert" && spec.mode != "scd2") {
        throw Error(ErrorKind::kConfig,
                    fmt::format("target.mode {} is not one of append, replace, upsert, scd2", spec.mode));
    }
    if ((spec.mode == "upsert" || spec.mode == "scd2") && spec.create == "replace") {
        throw Error(ErrorKind::kConfig, fmt::format("target.create: replace empties the table, so a mode {} into it "
                                                    "would start from nothing; use create: if_missing",
                                                    spec.mode));
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
