#include "connectors/postgres/pg_schema_copy.hpp"

#include <fmt/format.h>

#include <mutex>
#include <set>

#include "connectors/postgres/pg_names.hpp"
#include "connectors/postgres/pg_table_swap.hpp"

namespace sluice::pg {

namespace {

constexpr const char* kMarkTable = "sluice.copy_unfinished";
constexpr const char* kIndexMemory = "512MB";  // per build; at most 4 builds at once per table

std::string Value(PGresult* r, int row, int col) {
    return PQgetisnull(r, row, col) ? std::string() : std::string(PQgetvalue(r, row, col));
}

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
    std::string out;
    for (const std::string& item : items) {
        out += (out.empty() ? "" : std::string(sep)) + item;
    }
    return out;
}

/// Index and sequence names this process is creating, as "<database> schema.name": two tables of a job
/// may land in one schema with objects of the same name, built at the same time, and neither
/// is in the catalog until its build commits.
struct ReservedNames {
    std::mutex mu;
    std::set<std::string> names;
};

ReservedNames& Reserved() {
    static ReservedNames reserved;
    return reserved;
}

/// The table's indexes as the source's reader prints them (after " USING "), by name; under
/// search_path = pg_catalog like the source, so equal indexes print equal texts.
std::multimap<std::string, std::string> ExistingIndexes(PgConnection& conn, const Relation& table) {
    const std::string what = "reading the indexes of " + table.Display();
    conn.Exec("BEGIN", what);
    PgResultPtr r;
    try {
        conn.Exec("SELECT set_config('search_path', 'pg_catalog', true)", what);
        r = conn.ExecParams(
            "SELECT ic.relname, substr(pg_get_indexdef(i.indexrelid), position(' USING ' in "
            "pg_get_indexdef(i.indexrelid)) + 7) FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid "
            "WHERE i.indrelid = $1",
            {table.oid}, what);
        conn.Exec("COMMIT", what);
    } catch (...) {
        conn.Exec("ROLLBACK");
        throw;
    }
    std::multimap<std::string, std::string> out;  // definition -> index name
    for (int i = 0; i < PQntuples(r.get()); ++i) {
        out.emplace(Value(r.get(), i, 1), Value(r.get(), i, 0));
    }
    return out;
}

/// The table's constraints: name -> the name of the index it uses ("" for none).
std::map<std::string, std::string> ExistingConstraints(PgConnection& conn, const Relation& table) {
    PgResultPtr r = conn.ExecParams(
        "SELECT conname, coalesce((SELECT relname FROM pg_class WHERE oid = conindid), ''), contype "
        "FROM pg_constraint WHERE conrelid = $1",
        {table.oid}, "reading the constraints of " + table.Display());
    std::map<std::string, std::string> out;
    for (int i = 0; i < PQntuples(r.get()); ++i) {
        out[Value(r.get(), i, 0)] = Value(r.get(), i, 2) == "f" ? "" : Value(r.get(), i, 1);
        if (Value(r.get(), i, 2) == "p") {
            out[" primary key"] = Value(r.get(), i, 1);
        }
    }
    return out;
}

bool UsesIndex(const std::map<std::string, std::string>& constraints, const std::string& index) {
    for (const auto& [name, used] : constraints) {
        if (used == index) {
            return true;
        }
    }
    return false;
}

}  // namespace

std::optional<CopyKind> SchemaCopy::Unfinished(PgConnection& conn, const Relation& table) {
    if (conn.QueryValue("SELECT to_regclass($1) IS NOT NULL", {kMarkTable}) != "t") {
        return std::nullopt;
    }
    // Through to_jsonb: the mark table of an older sluice has no kind column yet.
    const std::optional<std::string> kind = conn.QueryValue(
        fmt::format("SELECT coalesce(to_jsonb(m) ->> 'kind', '') FROM {} m WHERE relid = $1::oid", kMarkTable),
        {table.oid});
    if (!kind) {
        return std::nullopt;
    }
    return *kind == "key" ? CopyKind::kKey : *kind == "definition" ? CopyKind::kDefinition : CopyKind::kUnrecorded;
}

std::string SchemaCopy::ColumnClauses(const std::string& column) const {
    for (const TableDefinition::Column& c : def_.columns) {
        if (c.name != column) {
            continue;
        }
        std::string out;
        if (!c.generated_sql.empty()) {
            out += fmt::format(" GENERATED ALWAYS AS ({}) STORED", c.generated_sql);
        } else if (!c.identity.empty()) {
            out += fmt::format(" GENERATED {} AS IDENTITY ({})", c.identity, c.sequence_options);
        } else if (const auto seq = sequences_.find(c.name); seq != sequences_.end()) {
            out += fmt::format(" DEFAULT nextval({}::regclass)", QuoteLiteral(seq->second));
        } else if (!c.default_sql.empty()) {
            out += " DEFAULT " + c.default_sql;
        }
        return out + (c.not_null ? " NOT NULL" : "");
    }
    return "";
}

SchemaCopy::~SchemaCopy() {
    ReservedNames& reserved = Reserved();
    std::lock_guard lock(reserved.mu);
    for (const std::string& name : reserved_) {
        reserved.names.erase(name);
    }
}

std::string SchemaCopy::FreeName(PgConnection& conn, const std::string& schema, const std::string& wanted) {
    ReservedNames& reserved = Reserved();
    std::lock_guard lock(reserved.mu);
    for (int i = 0;; ++i) {
        const std::string name = i == 0 ? TruncateName(wanted) : fmt::format("{}_{}", TruncateName(wanted.substr(0, 56)), i);
        const std::string key = conn.display() + " " + schema + "." + name;
        if (reserved.names.contains(key)) {
            continue;
        }
        if (!conn.QueryValue("SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                             "WHERE n.nspname = $1 AND c.relname = $2",
                             {schema, name})) {
            reserved.names.insert(key);
            reserved_.push_back(key);
            return name;
        }
    }
}

void SchemaCopy::BeforeCreate(PgConnection& conn, const std::string& schema) {
    for (const TableDefinition::Column& c : def_.columns) {
        if (c.sequence.empty() || !c.identity.empty()) {
            continue;  // an identity column creates its own sequence
        }
        const std::string seq = QualifiedName{schema, FreeName(conn, schema, c.sequence)}.Sql();
        conn.Exec(fmt::format("CREATE SEQUENCE {} {}", seq, c.sequence_options), "creating sequence " + seq);
        sequences_[c.name] = seq;
    }
}

void SchemaCopy::AfterCreate(PgConnection& conn, const std::string& table_sql) {
    const std::string what = "creating " + table_sql;
    for (const auto& [column, seq] : sequences_) {
        conn.Exec(fmt::format("ALTER SEQUENCE {} OWNED BY {}.{}", seq, table_sql, QuoteIdent(column)), what);
    }
    if (!def_.comment.empty()) {
        conn.Exec(fmt::format("COMMENT ON TABLE {} IS {}", table_sql, QuoteLiteral(def_.comment)), what);
    }
    for (const TableDefinition::Column& c : def_.columns) {
        if (!c.comment.empty()) {
            conn.Exec(fmt::format("COMMENT ON COLUMN {}.{} IS {}", table_sql, QuoteIdent(c.name), QuoteLiteral(c.comment)),
                      what);
        }
    }
    // One creator of the mark table at a time (streams are prepared concurrently).
    conn.Exec("SELECT pg_advisory_xact_lock(hashtext('sluice.copy_unfinished'))", what);
    conn.Exec("CREATE SCHEMA IF NOT EXISTS sluice", what);
    conn.Exec(fmt::format("CREATE TABLE IF NOT EXISTS {} (relid oid PRIMARY KEY, table_name text NOT NULL, "
                          "created_at timestamptz NOT NULL DEFAULT now(), kind text)",
                          kMarkTable),
              what);
    if (conn.QueryValue("SELECT 1 FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'kind'", {kMarkTable},
                        what) != "1") {
        conn.Exec(fmt::format("ALTER TABLE {} ADD COLUMN kind text", kMarkTable), what);
    }
    conn.ExecParams(fmt::format("INSERT INTO {} (relid, table_name, kind) VALUES ($1::regclass, $1, $2) "
                                "ON CONFLICT (relid) DO NOTHING",
                                kMarkTable),
                    {table_sql, kind_ == CopyKind::kKey ? "key" : "definition"}, what);
}

void SchemaCopy::AfterData(PgConnection& conn, const Relation& table, const std::string& url,
                           const std::string& application_name, const std::function<void()>& opened) {
    // Indexes first, each on its own connection: CREATE INDEX takes a lock that lets the
    // others build at the same time.
    std::multimap<std::string, std::string> existing = ExistingIndexes(conn, table);
    std::map<std::string, std::string> index_of;  // object name -> index name on the target
    std::vector<std::string> builds;
    for (const TableDefinition::Object& o : def_.objects) {
        const bool plain = o.kind == "index" || o.kind == "unique_index";
        const std::string& body = plain ? o.body : o.index_body;
        if (body.empty()) {
            continue;
        }
        if (const auto it = existing.find(body); it != existing.end()) {
            index_of[o.name] = it->second;  // built by an earlier attempt (or the table had it)
            existing.erase(it);
            continue;
        }
        const std::string name = FreeName(conn, table.schema, o.name);
        // A sort in memory: the server's default (64MB) spills a large table's keys to disk.
        builds.push_back(fmt::format("SET maintenance_work_mem = '{}'; CREATE {}INDEX {} ON {} USING {}",
                                     kIndexMemory, o.kind == "index" ? "" : "UNIQUE ", QuoteIdent(name),
                                     table.Sql(), body));
        index_of[o.name] = name;
    }
    RunParallel(conn, builds, url, application_name, "building the indexes of " + table.Display(), opened);
    // Then the constraints, in one ALTER TABLE (one scan of the table for all checks).
    const std::map<std::string, std::string> constraints = ExistingConstraints(conn, table);
    std::vector<std::string> adds;
    for (const TableDefinition::Object& o : def_.objects) {
        if (o.kind == "index" || o.kind == "unique_index" || o.kind == "foreign_key") {
            continue;
        }
        if (!o.index_body.empty()) {
            const std::string& index = index_of.at(o.name);
            if (o.kind == "primary_key" ? !constraints.contains(" primary key") : !UsesIndex(constraints, index)) {
                adds.push_back(fmt::format("ADD CONSTRAINT {} {} USING INDEX {}", QuoteIdent(index),
                                           o.kind == "primary_key" ? "PRIMARY KEY" : "UNIQUE", QuoteIdent(index)));
            }
        } else if (!constraints.contains(o.name)) {
            adds.push_back(fmt::format("ADD CONSTRAINT {} {}", QuoteIdent(o.name), o.body));
        }
    }
    if (!adds.empty()) {
        conn.Exec(fmt::format("ALTER TABLE {} {}", table.Sql(), Join(adds, ", ")),
                  "adding the constraints of " + table.Display());
    }
    for (const TableDefinition::Column& c : def_.columns) {
        if (!c.sequence.empty() && !c.sequence_last_value.empty()) {
            conn.ExecParams("SELECT setval(pg_get_serial_sequence($1, $2), $3::bigint, $4::boolean)",
                            {table.Sql(), c.name, c.sequence_last_value, c.sequence_called ? "t" : "f"},
                            "setting the sequence of " + table.Display() + "." + c.name);
        }
    }
}

std::string SchemaCopy::ReferencedTable(const TableDefinition::Object& fk, const Relation& table) const {
    if (fk.ref_schema == def_.schema && fk.ref_name == def_.name) {
        return table.Sql();
    }
    const auto it = job_tables_.find(fk.ref_schema + "." + fk.ref_name);
    return it != job_tables_.end() ? it->second : QualifiedName{fk.ref_schema, fk.ref_name}.Sql();
}

std::vector<std::string> SchemaCopy::ForeignKeys(PgConnection& conn, const Relation& table) {
    const std::map<std::string, std::string> constraints = ExistingConstraints(conn, table);
    std::vector<std::string> skipped;
    std::vector<std::string> validate;
    // Added NOT VALID (a moment's lock on both tables), one process at a time: two tables
    // referencing each other, added at once, would deadlock. Validated after that, without
    // the lock: VALIDATE CONSTRAINT lets the other tables' validations run at the same time.
    const std::string what = "adding the foreign keys of " + table.Display();
    conn.Exec("SELECT pg_advisory_lock(hashtext('sluice.copy_foreign_keys'))", what);
    try {
        for (const TableDefinition::Object& o : def_.objects) {
            if (o.kind != "foreign_key") {
                continue;
            }
            const bool not_valid = o.ref_tail.ends_with("NOT VALID");  // so in the source: kept so
            if (!constraints.contains(o.name)) {
                const std::string ref = ReferencedTable(o, table);
                if (conn.QueryValue("SELECT to_regclass($1) IS NOT NULL", {ref}) != "t") {
                    skipped.push_back(fmt::format("foreign key {} of {}: the target has no table {} (copy it too)",
                                                  o.name, table.Display(), ref));
                    continue;
                }
                conn.Exec(fmt::format("ALTER TABLE {} ADD CONSTRAINT {} {}{}{}{}", table.Sql(), QuoteIdent(o.name),
                                      o.body, ref, o.ref_tail, not_valid ? "" : " NOT VALID"),
                          what);
            }
            if (!not_valid) {
                validate.push_back(o.name);  // a no-op when an earlier attempt validated it
            }
        }
    } catch (...) {
        conn.Exec("SELECT pg_advisory_unlock(hashtext('sluice.copy_foreign_keys'))");
        throw;
    }
    conn.Exec("SELECT pg_advisory_unlock(hashtext('sluice.copy_foreign_keys'))", what);
    for (const std::string& name : validate) {
        conn.Exec(fmt::format("ALTER TABLE {} VALIDATE CONSTRAINT {}", table.Sql(), QuoteIdent(name)),
                  "validating foreign key " + name + " of " + table.Display());
    }
    conn.ExecParams(fmt::format("DELETE FROM {} WHERE relid = $1::oid", kMarkTable), {table.oid},
                    "finishing the copy of " + table.Display());
    return skipped;
}

TableDefinition PrimaryKeyDefinition(PgConnection& conn, const std::string& table_name,
                                     const std::vector<std::string>& key) {
    // Quoted by the server, as pg_get_indexdef prints them: AfterData recognizes the index an
    // interrupted earlier attempt built by comparing the texts.
    std::string columns;
    for (const std::string& column : key) {
        columns += (columns.empty() ? "" : ", ") + conn.QueryValue("SELECT quote_ident($1)", {column}).value_or(column);
    }
    TableDefinition def;
    def.dialect = "postgresql";
    def.name = table_name;
    TableDefinition::Object pk;
    pk.kind = "primary_key";
    pk.name = table_name + "_pkey";
    pk.index_body = "btree (" + columns + ")";
    def.objects.push_back(std::move(pk));
    return def;
}

}  // namespace sluice::pg
