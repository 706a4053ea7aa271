#include "connectors/postgres/pg_sink.hpp"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "connectors/postgres/pg_catalog.hpp"
#include "connectors/postgres/pg_connection.hpp"
#include "connectors/postgres/pg_scd2.hpp"
#include "connectors/postgres/pg_schema_copy.hpp"
#include "connectors/postgres/pg_sink_writer.hpp"
#include "connectors/postgres/pg_table_swap.hpp"
#include "connectors/postgres/pg_types.hpp"

namespace sluice {

namespace {

using pg::PgColumn;
using pg::PgConnection;
using pg::QualifiedName;
using pg::QuoteIdent;
using pg::PgResultPtr;
using pg::Relation;

/// The xmin of the rows a partition's transaction wrote, from its UndoToken ("pg-xid:N",
/// N = txid_current(), whose low 32 bits are the xid).
uint64_t XminOf(const std::string& token) {
    constexpr std::string_view kPrefix = "pg-xid:";
    if (token.rfind(kPrefix, 0) != 0 || token.size() == kPrefix.size()) {
        throw Error(ErrorKind::kInternal,
                    fmt::format("cannot undo a committed partition: its ledger mark has no transaction id "
                                "(\"{}\"; recorded by an older sluice?); delete its rows by hand",
                                token));
    }
    return std::stoull(token.substr(kPrefix.size())) & 0xffffffffULL;
}

constexpr const char* kFreshSuffix = "__sluice_new";

bool IsOneIntegerColumn(const Schema& schema, const std::vector<std::string>& key) {
    if (key.size() != 1) {
        return false;
    }
    const std::optional<size_t> at = schema.Find(key.front());
    if (!at) {
        return false;
    }
    const LogicalType type = schema.fields[*at].type.id;
    return type == LogicalType::kInt16 || type == LogicalType::kInt32 || type == LogicalType::kInt64;
}

class PgSink final : public Sink {
public:
    explicit PgSink(TargetSpec spec) : spec_(std::move(spec)), name_(QualifiedName::Parse(spec_.table)) {}

    Schema Prepare(const Schema& source) override {
        PgConnection& conn = Conn();
        const std::optional<Relation> existing = pg::LookupRelation(conn, name_);
        if (existing && existing->kind != 'r' && existing->kind != 'p') {
            throw Error(ErrorKind::kSchema,
                        fmt::format("target {} is not a table (relkind '{}'); name a table",
                                    existing->Display(), existing->kind));
        }
        if (!existing && spec_.create == "never") {
            throw Error(ErrorKind::kSchema,
                        fmt::format("target table {} does not exist in {} — create it, or set "
                                    "create: if_missing to let sluice create it from the source",
                                    name_.Display(), conn.display()));
        }
        // A table sluice creates from the columns alone (append) gets the source's primary key
        // after the data, built once instead of maintained row by row; an unfinished one (the
        // run that created it did not get that far) gets it at the end of this run. Only where
        // the source's key is sure to hold in the rows loaded, since a duplicate would then fail
        // the build after the data instead of being one rejected row: one source table (not
        // tenants, not two streams), and one integer column, which converts exactly (text,
        // time and decimal keys can meet after conversion: SQLite's '10:00' and '10:00:00').
        // Not a merge either: its ON CONFLICT needs the key while loading.
        const std::optional<pg::CopyKind> unfinished =
            existing ? pg::SchemaCopy::Unfinished(conn, *existing) : std::nullopt;
        const bool key_after_data = !copy_ && spec_.mode == "append" && spec_.create != "replace" &&
                                    !spec_.MergesByKey() && !spec_.several_sources &&
                                    IsOneIntegerColumn(source, source.primary_key) &&
                                    (!existing || unfinished == pg::CopyKind::kKey ||
                                     unfinished == pg::CopyKind::kUnrecorded);
        if (key_after_data) {
            copy_.emplace(pg::PrimaryKeyDefinition(conn, name_.name, source.primary_key), spec_.job_tables,
                          pg::CopyKind::kKey);
            key_only_ = true;
        }
        if (!copy_ && unfinished == pg::CopyKind::kDefinition) {
            // Finishing it with the key alone would drop the rest of its definition for good.
            definition_note_ = fmt::format("{} was created by a copy of its source's definition that has not "
                                           "finished: this run loads it as it is, and leaves its indexes, "
                                           "constraints and foreign keys to that copy, run again",
                                           existing->Display());
        }
        if (copy_ && existing && !unfinished) {
            definition_note_ = fmt::format("{} exists and sluice did not create it (or finished it before): "
                                           "its definition is left as it is (no indexes, constraints, foreign "
                                           "keys, defaults or comments copied)",
                                           existing->Display());
            copy_.reset();
        }
        const bool swap = spec_.mode == "replace" || spec_.create == "replace";
        const bool like_old = existing && spec_.create != "replace";
        // An upsert's ON CONFLICT needs its key unique in a table sluice creates; a history
        // holds many rows per key, made unique with valid_from by PlanScd2Ddl's indexes.
        std::vector<std::string> key =
            spec_.MergesByKey() || source.primary_key.empty() ? spec_.key : source.primary_key;
        if (spec_.mode == "scd2") {
            key.clear();
        }
        std::optional<Relation> load = existing;
        old_ = existing;
        if (swap) {
            if (existing) {
                pg::TableSwap::CheckReplaceable(conn, *existing, !like_old);
            }
            const QualifiedName fresh = FreshName(conn, existing, true);
            if (resuming_ && pg::LookupRelation(conn, fresh)) {
                // Resume() found the earlier run's staging table: its committed partitions are in it.
            } else {
                conn.Exec("DROP TABLE IF EXISTS " + fresh.Sql(), "dropping a leftover " + fresh.Display());
                CreateFresh(conn, fresh, existing, like_old, source);
            }
            load = pg::LookupRelation(conn, fresh);
            try {
                swap_.emplace(pg::TableSwap::Plan(conn, name_, existing, *load, like_old, key));
            } catch (...) {
                conn.Exec("DROP TABLE IF EXISTS " + fresh.Sql(), "dropping " + fresh.Display());
                throw;
            }
        } else if (!existing) {
            CreateTable(conn, name_, source, key);
            load = pg::LookupRelation(conn, name_);
        }
        if (!load) {
            throw Error(ErrorKind::kInternal, "created table " + name_.Display() + " is not visible");
        }
        auto target = std::make_shared<pg::LoadTarget>();
        target->url = spec_.url;
        target->application_name = spec_.application_name;
        target->table_display = existing ? existing->Display() : name_.Display();
        target->load_sql = load->Sql();
        const std::vector<PgColumn> columns = pg::ReadRelationColumns(conn, load->oid);
        Schema out;
        out.primary_key = existing && !key_only_ ? pg::ReadPrimaryKey(conn, existing->oid) : key;
        std::vector<std::string> missing;
        for (const Field& field : source.fields) {
            const PgColumn* column = pg::FindColumn(columns, field.name);
            if (!column) {
                missing.push_back(field.name);
                continue;
            }
            if (column->generated) {
                continue;  // the table computes it (COPY into it fails with 42P10): leave it out
            }
            target->columns.push_back(*column);
            out.fields.push_back(pg::ToField(*column));
        }
        if (!missing.empty()) {
            if (swap_) {
                swap_->Discard(conn);  // nothing will be loaded into the new table
                swap_.reset();
            }
            std::string list;
            for (const std::string& m : missing) {
                list += (list.empty() ? "" : ", ") + m;
            }
            Schema table;
            for (const PgColumn& column : columns) {
                table.fields.push_back(pg::ToField(column));
            }
            throw Error(ErrorKind::kSchema,
                        fmt::format("target table {} has no column{} {} (source vs target: {}) — add {} "
                                    "(ALTER TABLE {} ADD COLUMN ...), or select only the columns it has "
                                    "with source.query",
                                    target->table_display, missing.size() == 1 ? "" : "s", list,
                                    DescribeColumnDiff(CompareColumns(source, table)),
                                    missing.size() == 1 ? "it" : "them", target->table_display));
        }
        if (!spec_.delete_missing.empty()) {
            target->delete_missing = PlanDeleteMissing(columns, source, target->table_display);
        }
        target->tenant_column = spec_.tenant_column;
        if (spec_.mode == "scd2") {
            target->merge = pg::PlanStage(target->columns);
            target->scd2 = pg::PlanPgScd2(spec_, target->load_sql, target->table_display, target->columns, columns);
            CheckScd2(conn, *target);
        } else if (spec_.MergesByKey()) {
            target->merge = pg::PlanMerge(target->load_sql, target->columns, spec_.key, spec_.merge_order,
                                          !spec_.insert_new_keys, spec_.delete_missing == "soft", spec_.unique_keys);
            CheckMerge(conn, *target);
        }
        target->created_for_job = (copy_ || swap_ || !existing) && load->kind == 'r' &&
                                  conn.QueryValue("SELECT NOT EXISTS (SELECT FROM pg_constraint WHERE confrelid = $1)",
                                                  {load->oid}) == "t";
        target_ = std::move(target);
        if (copy_) {
            copied_ = load;
        }
        return out;
    }

    std::unique_ptr<SinkWriter> OpenWriter() override {
        if (!target_) {
            throw Error(ErrorKind::kInternal, "Sink::OpenWriter called before Prepare");
        }
        return pg::MakePgSinkWriter(target_);
    }

    bool Resume() override {
        resuming_ = true;
        if (spec_.mode != "replace" && spec_.create != "replace") {
            return true;  // appended rows are in the target itself
        }
        // The staging table holds the committed partitions. Gone (dropped, or swapped in by a
        // run killed before it could record success), or already given indexes by a publish
        // that did not finish: load everything again into a new one.
        PgConnection& conn = Conn();
        const std::optional<Relation> existing = pg::LookupRelation(conn, name_);
        const std::optional<Relation> fresh = pg::LookupRelation(conn, FreshName(conn, existing, false));
        const bool usable =
            fresh && conn.QueryValue("SELECT count(*) FROM pg_index WHERE indrelid = $1",
                                     {fresh->oid}) == "0";
        resuming_ = usable;
        return usable;
    }

    bool ResumePublish() override {
        if (spec_.mode != "replace" && spec_.create != "replace") {
            return Resume();
        }
        PgConnection& conn = Conn();
        const std::optional<Relation> existing = pg::LookupRelation(conn, name_);
        const QualifiedName fresh = FreshName(conn, existing, false);
        resuming_ = pg::LookupRelation(conn, fresh) && pg::StripUnfinishedPublish(conn, fresh);
        return resuming_;
    }

    void Finalize(bool success) override {
        if (success && copy_ && copied_) {
            // Indexes and constraints after the data: faster than maintaining them while loading.
            copy_->AfterData(LiveConn(), *copied_, spec_.url, StepSessionName(""), [this] { CheckFence(); });
        }
        if (!swap_) {
            return;
        }
        PgConnection& conn = success ? LiveConn() : Conn();
        if (!success) {
            swap_.reset();  // the staging table stays for --resume; the next fresh run drops it
            return;
        }
        // A failed publish keeps the staging table (the old table is untouched): a --resume
        // publishes again rather than losing what every partition committed.
        std::optional<pg::TableSwap> swap = std::move(swap_);
        swap_.reset();
        swap->Publish(conn, spec_.url, StepSessionName(""), [this] { CheckFence(); });
    }

    void Undo(const std::vector<std::string>& tokens, const std::string& ledger_sql) override {
        std::string xids;
        for (const std::string& token : tokens) {
            xids += (xids.empty() ? "" : ", ") + std::to_string(XminOf(token));
        }
        PgConnection& conn = LiveConn();
        const std::string table = target_ ? target_->load_sql : name_.Sql();
        const std::string what = "undoing committed partitions in " + name_.Display();
        pg::InTransaction(conn, what, [&] {
            if (!xids.empty()) {
                conn.Exec(fmt::format("DELETE FROM {} WHERE xmin::text::bigint IN ({})", table, xids), what);
            }
            if (!ledger_sql.empty()) {
                conn.Exec(ledger_sql, what);
            }
        });
    }

    int64_t CarryOverTenant(const std::string& column, const std::string& value) override {
        if (!swap_ || !old_ || !target_) {
            return 0;
        }
        PgConnection& conn = LiveConn();
        std::string columns;
        for (const PgColumn& old_column : pg::ReadRelationColumns(conn, old_->oid)) {
            for (const PgColumn& c : target_->columns) {
                if (c.name == old_column.name) {
                    columns += (columns.empty() ? "" : ", ") + QuoteIdent(c.name);
                }
            }
        }
        PgResultPtr result = conn.ExecParams(
            fmt::format("INSERT INTO {} ({}) SELECT {} FROM {} WHERE {}::text = $1", target_->load_sql,
                        columns, columns, old_->Sql(), QuoteIdent(column)),
            {value}, fmt::format("keeping the previous rows of tenant {} in {}", value, name_.Display()));
        const char* copied = PQcmdTuples(result.get());
        return copied[0] == '\0' ? 0 : std::stoll(copied);
    }

    std::vector<std::string> PlanNotes() override {
        if (spec_.mode != "replace" && spec_.create != "replace") {
            return {};
        }
        PgConnection& conn = Conn();
        const std::optional<Relation> existing = pg::LookupRelation(conn, name_);
        if (!existing) {
            return {"publish: the loaded table is renamed into place (the target does not exist yet)"};
        }
        const bool recreate = spec_.create == "replace";
        try {
            return {pg::DescribePublish(pg::TableSwap::CheckReplaceable(conn, *existing, recreate), recreate)};
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::kSchema) {
                throw;
            }
            return {fmt::format("publish: refused, the run will fail before loading: {}", e.what())};
        }
    }

    std::string DefinitionDialect() const override {
        return spec_.copy_definition && spec_.mode == "append" ? "postgresql" : "";
    }

    void UseDefinition(TableDefinition definition) override {
        if (definition.dialect == "postgresql") {
            copy_.emplace(std::move(definition), spec_.job_tables);
        }
    }

    std::string DefinitionNote() const override { return definition_note_; }

    std::vector<std::string> FinishJob() override {
        if (!copy_ || !copied_) {
            return {};
        }
        return copy_->ForeignKeys(LiveConn(), *copied_);
    }

    std::optional<Schema> ExistingSchema() override {
        PgConnection& conn = Conn();
        const std::optional<Relation> existing = pg::LookupRelation(conn, name_);
        if (!existing) {
            return std::nullopt;
        }
        Schema out;
        for (const PgColumn& column : pg::ReadRelationColumns(conn, existing->oid)) {
            out.fields.push_back(pg::ToField(column));
        }
        out.primary_key = pg::ReadPrimaryKey(conn, existing->oid);
        return out;
    }

    std::optional<std::vector<std::string>> MissingSchema() override {
        if (name_.schema.empty()) {
            return std::nullopt;
        }
        PgConnection& conn = Conn();
        if (conn.QueryValue("SELECT to_regnamespace($1) IS NOT NULL", {QuoteIdent(name_.schema)}) == "t") {
            return std::nullopt;
        }
        return conn.QueryColumn(
            "SELECT nspname FROM pg_namespace WHERE nspname !~ '^pg_' AND nspname NOT IN "
            "('information_schema', 'sluice') ORDER BY 1");
    }

private:
    /// delete_missing: soft needs a `deleted_at` column that the target has and the source
    /// does not fill.
    pg::DeleteMissing PlanDeleteMissing(const std::vector<PgColumn>& table, const Schema& source,
                                        const std::string& display) const {
        if (spec_.delete_missing == "soft") {
            const PgColumn* flag = pg::FindColumn(table, pg::kDeletedAt);
            if (flag == nullptr || source.Find(pg::kDeletedAt)) {
                throw Error(ErrorKind::kSchema,
                            fmt::format("delete_missing: soft flags a missing key in the column {} of {}, which {}; "
                                        "add it (ALTER TABLE {} ADD COLUMN {} timestamptz) and leave it out of "
                                        "the source",
                                        pg::kDeletedAt, display,
                                        flag == nullptr ? "the table does not have" : "the source fills too", display,
                                        pg::kDeletedAt));
            }
        }
        return pg::DeleteMissing{spec_.delete_missing, spec_.tenant_column, spec_.key};
    }

    /// Plans the merge statement once, so that a key without a unique index (or a type the
    /// merge cannot compare) fails the stream before any partition loads.
    void CheckMerge(PgConnection& conn, const pg::LoadTarget& target) {
        const std::string what = "checking the upsert into " + target.table_display;
        conn.Exec("BEGIN", what);
        try {
            conn.Exec(target.merge->stage_create, what);
            conn.Exec("EXPLAIN " + target.merge->merge, what);  // the planner infers ON CONFLICT's index
        } catch (const Error& e) {
            conn.Exec("ROLLBACK");
            std::string key;
            for (const std::string& k : spec_.key) {
                key += (key.empty() ? "" : ", ") + QuoteIdent(k);
            }
            if (e.sqlstate() == "42P10") {
                throw Error(ErrorKind::kSchema,
                            fmt::format("mode upsert into {} needs a primary key or unique index on its key "
                                        "({}); add one (CREATE UNIQUE INDEX ON {} ({})) or fix target.key",
                                        target.table_display, key, target.table_display, key),
                            e.sqlstate());
            }
            throw Error(ErrorKind::kSchema, fmt::format("mode upsert into {}: {}", target.table_display, e.what()),
                        e.sqlstate());
        }
        conn.Exec("ROLLBACK", what);
    }

    /// Runs a partition's statements on nothing, so that a wrong type or column fails the
    /// stream before any partition loads.
    void CheckScd2(PgConnection& conn, const pg::LoadTarget& target) {
        const std::string what = "checking the history merge into " + target.table_display;
        conn.Exec("BEGIN", what);
        try {
            conn.Exec(target.merge->stage_create, what);
            pg::RunPgScd2(conn, *target.scd2, {"1 = 0"}, target.table_display);
            if (std::optional<pg::Scd2RowFilter> filter = pg::PlanScd2RowFilter(*target.scd2, target.columns)) {
                // The statements of a partition whose unchanged rows were dropped before staging.
                filter->Load(conn, pg::CurrentVersionsCopySql(*target.scd2, {"1 = 0"}), 1 << 20, 0);
                pg::RunPgScd2(conn, *target.scd2, {"1 = 0"}, target.table_display, &*filter);
            }
        } catch (const Error& e) {
            conn.Exec("ROLLBACK");
            throw Error(ErrorKind::kSchema, fmt::format("mode scd2 into {}: {}", target.table_display, e.what()),
                        e.sqlstate());
        }
        conn.Exec("ROLLBACK", what);
    }

    PgConnection& Conn() {
        if (!conn_ || PQstatus(conn_->get()) != CONNECTION_OK) {
            conn_.reset();
            PgConnection conn = PgConnection::Connect(spec_.url, StepSessionName("/prepare"));
            CheckFence();
            conn_.emplace(std::move(conn));
        }
        return *conn_;
    }

    /// Distributed runs: called once a step's session is open. Holding the stream's lock now
    /// means that a process taking it later ends this session (it is older than that
    /// process's) before its first step: a session that passed this check is fenced.
    void CheckFence() const {
        if (spec_.step_fence) {
            spec_.step_fence->check();
        }
    }

    void FenceSteps() override {
        if (!spec_.step_fence) {
            return;
        }
        // From a session opened now, after this process got the lock, the ones that started
        // before it: those of processes that held the lock before. A process that lost the lock
        // and gets here when it wakes ends only sessions older than its own, never those of the
        // process that took the lock from it. Only this role's: ending another role's needs a
        // privilege a loading role rarely has (as for a partition's earlier attempts).
        conn_.reset();
        Conn().Exec(fmt::format("SELECT pg_terminate_backend(a.pid) FROM pg_stat_activity a, pg_stat_activity me "
                                "WHERE me.pid = pg_backend_pid() AND a.pid <> me.pid AND a.usename = current_user "
                                "AND a.application_name LIKE {} AND a.backend_start < me.backend_start",
                                pg::QuoteLiteral(spec_.step_fence->tag + " %")),
                    "ending the sessions of a process that lost stream " + name_.Display() + "'s lock");
    }

    /// Conn(), after a round trip that proves it: the steps after the data come long after its
    /// last use, and on a connection to a server restarted since, libpq reports the loss only
    /// when it is used (the partitions retried their way through the restart; this reconnects).
    PgConnection& LiveConn() {
        try {
            Conn().Exec("SELECT 1", "checking the connection to " + name_.Display() + "'s database");
        } catch (const Error& e) {
            if (!e.IsTransient()) {
                throw;
            }
            conn_.reset();
        }
        return Conn();
    }

    /// The staging table of a replace: beside the target, or in the schema a new target would
    /// get (that schema is created when `create_schema`).
    QualifiedName FreshName(PgConnection& conn, const std::optional<Relation>& existing, bool create_schema) {
        std::string schema = existing ? existing->schema : name_.schema;
        if (!existing && (schema.empty() || create_schema)) {
            schema = SchemaForNew(conn);
        }
        return QualifiedName{schema, pg::TruncateName(name_.name + kFreshSuffix)};
    }

    void CreateFresh(PgConnection& conn, const QualifiedName& fresh, const std::optional<Relation>& existing,
                     bool like_old, const Schema& source) {
        if (like_old) {
            // Not INCLUDING INDEXES: they are built after the data, which is much faster.
            conn.Exec(fmt::format("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING "
                                  "CONSTRAINTS INCLUDING GENERATED INCLUDING IDENTITY "
                                  "INCLUDING STORAGE INCLUDING COMMENTS INCLUDING COMPRESSION)",
                                  fresh.Sql(), existing->Sql()),
                      "creating " + fresh.Display());
        } else {
            CreateTable(conn, fresh, source, {});
        }
    }

    std::string SchemaForNew(PgConnection& conn) {
        if (!name_.schema.empty()) {
            EnsureSchema(conn);
            return name_.schema;
        }
        auto schema = conn.QueryValue("SELECT current_schema()");
        if (!schema) {
            throw Error(ErrorKind::kSchema,
                        fmt::format("cannot create {}: no schema in search_path exists — "
                                    "schema-qualify the target table",
                                    name_.Display()));
        }
        return *schema;
    }

    // A missing schema is created only with create_schema: true; otherwise a misspelt one
    // (mrat.events) would silently become a new schema. The planner refuses that case with a
    // "did you mean" before the run starts; this guards a schema dropped since.
    void EnsureSchema(PgConnection& conn) {
        if (name_.schema.empty() ||
            conn.QueryValue("SELECT to_regnamespace($1) IS NOT NULL", {QuoteIdent(name_.schema)}) == "t") {
            return;
        }
        if (!spec_.create_schema) {
            throw Error(ErrorKind::kSchema,
                        fmt::format("target schema {} does not exist; create it, fix the table name, or "
                                    "set target.create_schema: true",
                                    name_.schema));
        }
        conn.Exec("CREATE SCHEMA IF NOT EXISTS " + QuoteIdent(name_.schema),
                  "creating schema " + name_.schema);
    }

    std::string AppName() const { return spec_.application_name.empty() ? "sluice" : spec_.application_name; }

    /// The name of a session of the steps before and after the data; the fence's tag first,
    /// so that cutting to 63 bytes never loses it.
    std::string StepSessionName(std::string_view suffix) const {
        const std::string tag = spec_.step_fence ? spec_.step_fence->tag + " " : "";
        return pg::TruncateName(tag + AppName() + std::string(suffix));
    }

    /// A table like the source's (copy_definition): columns with their defaults, NOT NULL,
    /// identity and generated clauses, sequences and comments in one transaction with the
    /// mark that makes the rest (indexes, keys, constraints) sluice's to finish. The primary
    /// key comes after the data too.
    void CreateCopiedTable(PgConnection& conn, const QualifiedName& name, const Schema& source) {
        EnsureSchema(conn);
        const std::string what = "creating table " + name.Display();
        pg::InTransaction(conn, what, [&] {
            const std::string schema = !name.schema.empty() ? name.schema
                                                            : conn.QueryValue("SELECT current_schema()").value_or("public");
            copy_->BeforeCreate(conn, schema);
            std::string columns;
            for (const Field& field : source.fields) {
                // The source's own type (same dialect): ranges, enums, domains stay what they are.
                columns += fmt::format("{}{} {}{}", columns.empty() ? "" : ", ", QuoteIdent(field.name),
                                       field.native_type.empty() ? pg::SqlTypeFor(field) : field.native_type,
                                       copy_->ColumnClauses(field.name));
            }
            conn.Exec(fmt::format("CREATE TABLE {} ({})", name.Sql(), columns), what);
            copy_->AfterCreate(conn, name.Sql());
        });
    }

    void CreateTable(PgConnection& conn, const QualifiedName& name, const Schema& source,
                     const std::vector<std::string>& key) {
        if (copy_ && spec_.mode == "append" && !key_only_) {
            CreateCopiedTable(conn, name, source);
            return;
        }
        EnsureSchema(conn);
        std::string columns;
        for (const Field& field : source.fields) {
            const bool in_key = std::find(key.begin(), key.end(), field.name) != key.end();
            columns += fmt::format("{}{} {}{}", columns.empty() ? "" : ", ", QuoteIdent(field.name),
                                   pg::SqlTypeFor(field), in_key ? " NOT NULL" : "");
        }
        if (key_only_) {
            // NOT NULL now, as the key would have it: a row without a key stays a rejected row.
            // The mark in the same transaction makes the key this job's to add.
            const std::string what = "creating table " + name.Display();
            pg::InTransaction(conn, what, [&] {
                conn.Exec(fmt::format("CREATE TABLE {} ({})", name.Sql(), columns), what);
                copy_->AfterCreate(conn, name.Sql());
            });
            return;
        }
        if (spec_.mode == "scd2") {
            // In one transaction: a table found without its indexes would be taken as a user's.
            const pg::Scd2Ddl ddl = pg::PlanScd2Ddl(spec_, source, name.Sql(), name.Display());
            pg::InTransaction(conn, "creating table " + name.Display(), [&] {
                conn.Exec(fmt::format("CREATE TABLE {} ({}{})", name.Sql(), columns, ddl.columns),
                          "creating table " + name.Display());
                for (const std::string& index : ddl.indexes) {
                    conn.Exec(index, "indexing the history in " + name.Display());
                }
            });
            return;
        }
        if (!key.empty()) {
            std::string list;
            for (const std::string& k : key) {
                list += (list.empty() ? "" : ", ") + QuoteIdent(k);
            }
            columns += fmt::format(", PRIMARY KEY ({})", list);
        }
        conn.Exec(fmt::format("CREATE TABLE {} ({})", name.Sql(), columns),
                  "creating table " + name.Display());
    }

    TargetSpec spec_;
    QualifiedName name_;
    std::optional<PgConnection> conn_;
    std::shared_ptr<const pg::LoadTarget> target_;
    std::optional<pg::TableSwap> swap_;
    std::optional<Relation> old_;  ///< the table a replace swaps out, when it existed
    bool resuming_ = false;
    std::optional<pg::SchemaCopy> copy_;  ///< the source's definition, while the table is sluice's to build
    std::optional<Relation> copied_;      ///< the table it applies to (after Prepare)
    bool key_only_ = false;  ///< copy_ holds only the source's primary key (PrimaryKeyDefinition)
    std::string definition_note_;
};

}  // namespace

void CheckPostgresTarget(const TargetSpec& spec) {
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
}

std::unique_ptr<Sink> OpenPostgresSink(const TargetSpec& spec) {
    CheckPostgresTarget(spec);
    return std::make_unique<PgSink>(spec);
}

}  // namespace sluice
