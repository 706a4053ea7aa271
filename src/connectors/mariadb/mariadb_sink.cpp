#include "connectors/mariadb/mariadb_sink.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "connectors/mariadb/mariadb_catalog.hpp"
#include "connectors/mariadb/mariadb_connection.hpp"
#include "connectors/mariadb/mariadb_types.hpp"
#include "connectors/mariadb/mariadb_writer.hpp"

namespace sluice::mariadb {

namespace {

/// MariaDB names are at most 64 characters: room for the suffixes.
constexpr size_t kBaseNameLength = 50;

bool IsInteger(LogicalType t) {
    return t == LogicalType::kInt16 || t == LogicalType::kInt32 || t == LogicalType::kInt64;
}

std::string JoinQuoted(const std::vector<std::string>& names) {
    std::string out;
    for (const std::string& name : names) {
        out += (out.empty() ? "" : ", ") + QuoteIdent(name);
    }
    return out;
}

class MariaDbSink final : public Sink {
public:
    explicit MariaDbSink(TargetSpec spec) : spec_(std::move(spec)), url_(ParseUrl(spec_.url)) {
        auto [database, table] = SplitTableName(spec_.table, "target.table");
        database_ = database.empty() ? url_.database : database;
        table_ = table;
        if (database_.empty()) {
            throw Error(ErrorKind::kConfig, fmt::format("target.table {} names no database, and the URL has none: "
                                                        "write database.table or mysql://host/database",
                                                        spec_.table));
        }
    }

    Schema Prepare(const Schema& source) override {
        Connection& conn = Planner();
        const std::optional<Schema> existing = ReadTable(conn, database_, table_);
        if (existing && IsView(conn)) {
            throw Error(ErrorKind::kSchema, fmt::format("target {} is a view; name a table", Display(table_)));
        }
        if (!existing && spec_.create == "never") {
            Error missing = MissingTableError(conn, database_, table_, "target.table");
            throw Error(missing.kind(),
                        std::string(missing.what()) + "; create it, or set target.create: if_missing to let sluice create it",
                        missing.sqlstate());
        }
        replaced_existed_ = existing.has_value() && spec_.create != "replace";
        load_ = table_;
        if (Replaces() && existing) {
            RefuseReplaceThatLoses(conn);
        }
        if (Replaces()) {
            load_ = StagingName();
            conn.Execute("DROP TABLE IF EXISTS " + Sql(OldName()), "dropping a leftover " + Display(OldName()));
            std::string staging = load_;
            if (!(resuming_ && ReadTable(conn, database_, staging))) {
                conn.Execute("DROP TABLE IF EXISTS " + Sql(load_), "dropping a leftover " + Display(load_));
                conn.Execute(replaced_existed_ ? fmt::format("CREATE TABLE {} LIKE {}", Sql(load_), Sql(table_))
                                               : CreateSql(source, load_),
                             "creating " + Display(load_));
            }
        } else if (!existing) {
            conn.Execute(CreateSql(source, table_), "creating " + Display(table_));
        }
        std::string load_name = load_;
        const std::optional<Schema> load = ReadTable(conn, database_, load_name);
        if (!load) {
            throw Error(ErrorKind::kInternal, "created table " + Display(load_) + " is not visible");
        }
        return MatchColumns(source, *load);
    }

    bool Resume() override {
        resuming_ = true;
        if (!Replaces()) {
            return true;  // appended rows are in the table itself
        }
        // A replace's committed partitions are in its staging table; gone (published, or
        // dropped), every partition loads again.
        std::string table = table_;
        ReadTable(Planner(), database_, table);
        table_ = table;
        std::string staging = StagingName();
        resuming_ = ReadTable(Planner(), database_, staging).has_value();
        return resuming_;
    }

    std::unique_ptr<SinkWriter> OpenWriter() override {
        if (!plan_) {
            throw Error(ErrorKind::kInternal, "Sink::OpenWriter called before Prepare");
        }
        return MakeWriter(plan_);
    }

    void Finalize(bool success) override {
        if (!success || !plan_) {
            return;  // a replace keeps its staging table for --resume
        }
        if (Replaces()) {
            Publish(Planner());
        }
        // Statistics are an optimization: a failure here must not fail a load that committed.
        try {
            Planner().Execute("ANALYZE TABLE " + Sql(table_), "analyzing " + Display(table_));
        } catch (const Error&) {  // NOLINT(bugprone-empty-catch)
        }
    }

    void Undo(const std::vector<std::string>& tokens, const std::string& ledger_sql) override {
        if (tokens.empty()) {
            if (!ledger_sql.empty()) {
                Planner().Execute(ledger_sql, "recording the rollback in the partition marks");
            }
            return;  // nothing committed: nothing to take back
        }
        throw Error(ErrorKind::kConfig,
                    fmt::format("cannot take back the rows of {} committed partition(s) in MariaDB table {}: MariaDB "
                                "rows do not record the transaction that wrote them, so they cannot be told from "
                                "rows loaded before. Nothing was deleted. To finish that run use --resume (it skips "
                                "the committed partitions)",
                                tokens.size(), Display(table_)));
    }

    std::optional<Schema> ExistingSchema() override {
        Connection conn(url_, "looking up the target");
        std::string table = table_;
        return ReadTable(conn, database_, table);
    }

    std::vector<std::string> PlanNotes() override {
        if (!Replaces()) {
            return {};
        }
        return {fmt::format("replace: rows load into {}, which one RENAME TABLE swaps in when every partition "
                            "committed",
                            Display(StagingName()))};
    }

private:
    bool Replaces() const { return spec_.mode == "replace" || spec_.create == "replace"; }
    std::string StagingName() const { return table_.substr(0, kBaseNameLength) + "__sluice_new"; }
    std::string OldName() const { return table_.substr(0, kBaseNameLength) + "__sluice_old"; }
    std::string Sql(const std::string& table) const { return QuoteIdent(database_) + "." + QuoteIdent(table); }
    std::string Display(const std::string& table) const { return database_ + "." + table; }

    Connection& Planner() {
        if (!planner_) {
            planner_ = std::make_unique<Connection>(url_, "preparing " + Display(table_));
        }
        return *planner_;
    }

    bool IsView(Connection& conn) const {
        return conn.Value(fmt::format("SELECT TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = {} AND "
                                      "TABLE_NAME = {}",
                                      QuoteString(database_), QuoteString(table_)),
                          "looking up " + Display(table_)) == "VIEW";
    }

    std::vector<std::string> KeyForNewTable(const Schema& source) const {
        if (spec_.MergesByKey() && !spec_.key.empty()) {
            return spec_.key;  // ON DUPLICATE KEY needs it unique
        }
        return source.primary_key.empty() ? spec_.key : source.primary_key;
    }

    /// An upsert loads a staging table and merges it per partition, by `key`, which must be
    /// the table's primary key or a unique index (ON DUPLICATE KEY finds rows by those).
    void AddMerge(const Schema& target, LoadPlan& plan) {
        std::vector<std::string> key;
        for (const std::string& k : spec_.key.empty() ? target.primary_key : spec_.key) {
            const std::optional<size_t> at = target.Find(k);
            if (!at) {
                throw Error(ErrorKind::kConfig, fmt::format("target.key {} is not a column the source fills in {} "
                                                            "(columns: {})",
                                                            k, Display(table_), target.Describe()));
            }
            key.push_back(target.fields[*at].name);
        }
        if (key.empty()) {
            throw Error(ErrorKind::kConfig,
                        fmt::format("mode {} into {} needs target.key (the table has no primary key)", spec_.mode,
                                    Display(table_)));
        }
        if (!HasUniqueIndexOn(key)) {
            throw Error(ErrorKind::kSchema,
                        fmt::format("mode {} into {} merges by target.key ({}), which must be the table's primary "
                                    "key or a UNIQUE index; add one (ALTER TABLE {} ADD UNIQUE ({}))",
                                    spec_.mode, Display(table_), JoinQuoted(key), Sql(table_), JoinQuoted(key)),
                        "42P10");
        }
        std::vector<std::string> order;
        for (const std::string& o : spec_.merge_order) {
            if (const std::optional<size_t> at = target.Find(o)) {
                order.push_back(target.fields[*at].name);
            }
        }
        plan.merge = PlanMerge(Sql(load_), plan.columns, key, order, !spec_.insert_new_keys);
    }

    bool HasUniqueIndexOn(const std::vector<std::string>& key) {
        std::map<std::string, std::set<std::string>> indexes;
        for (const auto& r : Planner().Rows(
                 fmt::format("SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = {} "
                             "AND TABLE_NAME = {} AND NON_UNIQUE = 0",
                             QuoteString(database_), QuoteString(load_)),
                 "reading the unique indexes of " + Display(load_))) {
            std::string column = r[1].value_or("");
            std::transform(column.begin(), column.end(), column.begin(), [](unsigned char c) { return std::tolower(c); });
            indexes[r[0].value_or("")].insert(column);
        }
        std::set<std::string> wanted;
        for (std::string k : key) {
            std::transform(k.begin(), k.end(), k.begin(), [](unsigned char c) { return std::tolower(c); });
            wanted.insert(k);
        }
        return std::any_of(indexes.begin(), indexes.end(), [&](const auto& index) { return index.second == wanted; });
    }

    std::string CreateSql(const Schema& source, const std::string& name) const {
        const std::vector<std::string> key = KeyForNewTable(source);
        std::string sql = "CREATE TABLE " + Sql(name) + " (";
        for (size_t i = 0; i < source.size(); ++i) {
            const Field& f = source.fields[i];
            const bool in_key = std::find(key.begin(), key.end(), f.name) != key.end();
            sql += fmt::format("{}{} {}{}", i == 0 ? "" : ", ", QuoteIdent(f.name), SqlTypeFor(f, in_key),
                               f.nullable && !in_key ? "" : " NOT NULL");
        }
        if (!key.empty()) {
            sql += ", PRIMARY KEY (" + JoinQuoted(key) + ")";
        }
        // Binary no-pad: text keys compare byte for byte, as the source's did ('a' <> 'A' <> 'a ').
        return sql + ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin";
    }

    /// The table's columns for the source's, in the source's order, typed as the writers send
    /// them; and the plan the writers load by.
    Schema MatchColumns(const Schema& source, const Schema& table) {
        Schema target;
        target.primary_key = table.primary_key;
        std::vector<std::string> missing;
        auto plan = std::make_shared<LoadPlan>();
        plan->url = url_;
        plan->table_sql = Sql(load_);
        plan->display = Display(load_);
        for (const Field& field : source.fields) {
            const std::optional<size_t> at = table.Find(field.name);
            if (!at) {
                missing.push_back(field.name);
                continue;
            }
            Field column = table.fields[*at];
            const LogicalType from = field.type.id;
            if (from == LogicalType::kBool && IsInteger(column.type.id)) {
                column.type = field.type;  // TINYINT(1), MariaDB's BOOLEAN: sent as 1 and 0
            } else if (from == LogicalType::kTimestampTz && column.type.id == LogicalType::kTimestamp) {
                column.type = field.type;  // DATETIME holding UTC: sent in UTC
            }
            plan->columns.push_back(column.name);
            plan->load_as.push_back(column.type.id == LogicalType::kBytes ? LoadAs::kHex
                                    : IsBit(column)                       ? LoadAs::kBit
                                                                          : LoadAs::kText);
            target.fields.push_back(std::move(column));
        }
        if (!missing.empty()) {
            std::string names;
            for (const std::string& m : missing) {
                names += (names.empty() ? "" : ", ") + m;
            }
            throw Error(ErrorKind::kSchema,
                        fmt::format("target table {} has no column{} {} (source vs target: {}); add {} with ALTER "
                                    "TABLE ... ADD COLUMN, select only the columns it has with source.query, or set "
                                    "target.create: replace",
                                    Display(table_), missing.size() == 1 ? "" : "s", names,
                                    DescribeColumnDiff(CompareColumns(source, table)), missing.size() == 1 ? "it" : "them"),
                        "42S22");
        }
        if (spec_.MergesByKey()) {
            AddMerge(target, *plan);
        }
        plan_ = std::move(plan);
        return target;
    }

    /// A replace swaps in a table made LIKE the old one, which copies neither the table's own
    /// foreign keys nor its triggers, and other tables' foreign keys would follow the old table
    /// (and a DELETE instead would cascade into them): refused before anything loads.
    void RefuseReplaceThatLoses(Connection& conn) const {
        const std::string table = QuoteString(table_);
        const std::string database = QuoteString(database_);
        const auto count = [&](const std::string& sql) {
            return std::stoll(conn.Value(sql, "looking up what depends on " + Display(table_)).value_or("0"));
        };
        const int64_t referenced = count(fmt::format(
            "SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE UNIQUE_CONSTRAINT_SCHEMA = {} AND "
            "REFERENCED_TABLE_NAME = {}",
            database, table));
        const int64_t references = count(fmt::format(
            "SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = {} AND "
            "TABLE_NAME = {}",
            database, table));
        const int64_t triggers = count(fmt::format(
            "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = {} AND EVENT_OBJECT_TABLE = {}",
            database, table));
        if (referenced + references + triggers == 0) {
            return;
        }
        throw Error(ErrorKind::kSchema,
                    fmt::format("mode replace of MariaDB table {} would lose what depends on it ({} foreign key(s) of "
                                "other tables referencing it, {} of its own, {} trigger(s)): the table swapped in "
                                "cannot carry them over. Nothing was loaded; use mode append or upsert into it",
                                Display(table_), referenced, references, triggers),
                    "2BP01");
    }

    /// Swaps the staging table in with one RENAME TABLE of both names, which MariaDB does
    /// atomically (RefuseReplaceThatLoses made sure nothing depends on the old table).
    void Publish(Connection& conn) {
        const std::string what = "publishing the new " + Display(table_);
        std::string table = table_;
        if (!ReadTable(conn, database_, table)) {
            conn.Execute(fmt::format("RENAME TABLE {} TO {}", Sql(load_), Sql(table_)), what);
        } else {
            conn.Execute(fmt::format("RENAME TABLE {} TO {}, {} TO {}", Sql(table_), Sql(OldName()), Sql(load_),
                                     Sql(table_)),
                         what);
            conn.Execute("DROP TABLE " + Sql(OldName()), "dropping the replaced " + Display(table_));
        }
        load_ = table_;
    }

    TargetSpec spec_;
    Url url_;
    std::string database_;
    std::string table_;
    std::string load_;  ///< where rows go: table_, or a replace's staging table
    bool replaced_existed_ = false;
    bool resuming_ = false;
    std::unique_ptr<Connection> planner_;  ///< Prepare and Finalize (the coordinating thread)
    std::shared_ptr<const LoadPlan> plan_;
};

}  // namespace

void CheckTarget(const TargetSpec& spec) {
    if (spec.mode != "append" && spec.mode != "replace" && spec.mode != "upsert") {
        throw Error(ErrorKind::kConfig, fmt::format("target.mode {} into MariaDB is not in this build; MariaDB targets "
                                                    "take append, replace and upsert",
                                                    spec.mode));
    }
    if (!spec.delete_missing.empty()) {
        throw Error(ErrorKind::kConfig, "target.delete_missing into MariaDB is not in this build; a MariaDB upsert "
                                        "keeps the keys the source no longer has");
    }
    if (spec.mode == "upsert" && spec.create == "replace") {
        throw Error(ErrorKind::kConfig, "target.create: replace empties the table, so a mode upsert into it would "
                                        "start from nothing; use create: if_missing");
    }
    if (spec.create != "if_missing" && spec.create != "never" && spec.create != "replace") {
        throw Error(ErrorKind::kConfig,
                    fmt::format("target.create {} is not one of if_missing, never, replace", spec.create));
    }
    if (spec.table.empty()) {
        throw Error(ErrorKind::kConfig, "a MariaDB target needs target.table");
    }
    SplitTableName(spec.table, "target.table");
    if (ParseUrl(spec.url).database.empty()) {
        throw Error(ErrorKind::kConfig, "a MariaDB target's URL must name a database (mysql://host/database): "
                                        "sluice keeps the partition marks that make each partition exactly once there");
    }
}

std::unique_ptr<Sink> OpenSink(const TargetSpec& spec) {
    CheckTarget(spec);
    return std::make_unique<MariaDbSink>(spec);
}

}  // namespace sluice::mariadb
