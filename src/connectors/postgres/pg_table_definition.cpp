#include "connectors/postgres/pg_table_definition.hpp"

#include <fmt/format.h>

namespace sluice::pg {

namespace {

std::string Value(PGresult* r, int row, int col) {
    return PQgetisnull(r, row, col) ? std::string() : std::string(PQgetvalue(r, row, col));
}

// One row per column. The sequence a column owns: identity ('i') or serial / OWNED BY ('a').
constexpr const char* kColumnsSql = R"(
SELECT a.attname, a.attnotnull,
       CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END,
       CASE WHEN a.attgenerated <> '' THEN pg_get_expr(d.adbin, d.adrelid) END,
       CASE a.attidentity WHEN 'a' THEN 'ALWAYS' WHEN 'd' THEN 'BY DEFAULT' ELSE '' END,
       col_description(a.attrelid, a.attnum),
       s.relname, quote_ident(s.nspname) || '.' || quote_ident(s.relname),
       format('START WITH %s INCREMENT BY %s MINVALUE %s MAXVALUE %s CACHE %s %sCYCLE',
              q.seqstart, q.seqincrement, q.seqmin, q.seqmax, q.seqcache,
              CASE WHEN q.seqcycle THEN '' ELSE 'NO ' END),
       format_type(q.seqtypid, NULL)
FROM pg_attribute a
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN LATERAL (
    SELECT s.oid, s.relname, n.nspname FROM pg_depend dep
    JOIN pg_class s ON s.oid = dep.objid AND s.relkind = 'S'
    JOIN pg_namespace n ON n.oid = s.relnamespace
    WHERE dep.classid = 'pg_class'::regclass AND dep.refclassid = 'pg_class'::regclass
      AND dep.refobjid = a.attrelid AND dep.refobjsubid = a.attnum AND dep.deptype IN ('a', 'i')
    ORDER BY s.oid LIMIT 1) s ON true
LEFT JOIN pg_sequence q ON q.seqrelid = s.oid
WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum)";

// Indexes, with the constraint each backs (primary key, unique, exclusion). `head` is what
// pg_get_indexdef writes before the access method; the rest names no table.
constexpr const char* kIndexesSql = R"(
SELECT ic.relname, i.indisunique, coalesce(con.contype::text, ''), coalesce(con.conname, ''),
       pg_get_indexdef(i.indexrelid),
       'CREATE ' || CASE WHEN i.indisunique THEN 'UNIQUE ' ELSE '' END || 'INDEX ' ||
       quote_ident(ic.relname) || ' ON ' || CASE WHEN c.relkind = 'p' THEN 'ONLY ' ELSE '' END ||
       quote_ident(n.nspname) || '.' || quote_ident(c.relname) || ' USING ',
       coalesce(pg_get_constraintdef(con.oid), ''), coalesce(con.condeferrable, false)
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
                           AND con.contype IN ('p', 'u', 'x')
WHERE i.indrelid = $1 AND i.indislive
ORDER BY ic.relname)";

// Check constraints and foreign keys (the others came with their indexes). `refmark` is how
// pg_get_constraintdef names the referenced table (always qualified under this search_path).
constexpr const char* kConstraintsSql = R"(
SELECT con.conname, con.contype, pg_get_constraintdef(con.oid), rn.nspname, rc.relname,
       ' REFERENCES ' || quote_ident(rn.nspname) || '.' || quote_ident(rc.relname) || '('
FROM pg_constraint con
LEFT JOIN pg_class rc ON rc.oid = con.confrelid
LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE con.conrelid = $1 AND con.contype IN ('c', 'f') AND con.conislocal
ORDER BY con.contype, con.conname)";

std::string StripHead(const std::string& def, const std::string& head) {
    if (def.rfind(head, 0) != 0) {
        throw Error(ErrorKind::kInternal, "cannot read index definition: " + def);
    }
    return def.substr(head.size());
}

void ReadColumns(PgConnection& conn, const Relation& table, TableDefinition& out) {
    PgResultPtr r = conn.ExecParams(kColumnsSql, {table.oid}, "reading the columns of " + table.Display());
    for (int i = 0; i < PQntuples(r.get()); ++i) {
        TableDefinition::Column c;
        c.name = Value(r.get(), i, 0);
        c.not_null = Value(r.get(), i, 1) == "t";
        c.default_sql = Value(r.get(), i, 2);
        c.generated_sql = Value(r.get(), i, 3);
        c.identity = Value(r.get(), i, 4);
        c.comment = Value(r.get(), i, 5);
        const std::string sequence = Value(r.get(), i, 6);
        const bool serial = c.identity.empty() && !sequence.empty() && c.default_sql.find("nextval(") != std::string::npos;
        if (c.default_sql.find("nextval(") != std::string::npos) {
            c.default_sql.clear();  // a serial's default names the target's own sequence; others are not carried
        }
        if (serial || !c.identity.empty()) {
            c.sequence = sequence;
            c.sequence_options = (serial ? "AS " + Value(r.get(), i, 9) + " " : "") + Value(r.get(), i, 8);
            // The value now; a privilege missing to read it leaves the sequence at its start.
            try {
                PgResultPtr v = conn.Exec("SELECT last_value, is_called FROM " + Value(r.get(), i, 7),
                                          "reading sequence " + sequence);
                c.sequence_last_value = Value(v.get(), 0, 0);
                c.sequence_called = Value(v.get(), 0, 1) == "t";
            } catch (const Error&) {
                conn.Exec("ROLLBACK TO SAVEPOINT sluice_definition");
            }
            conn.Exec("SAVEPOINT sluice_definition");
        }
        out.columns.push_back(std::move(c));
    }
}

void ReadIndexes(PgConnection& conn, const Relation& table, TableDefinition& out) {
    PgResultPtr r = conn.ExecParams(kIndexesSql, {table.oid}, "reading the indexes of " + table.Display());
    for (int i = 0; i < PQntuples(r.get()); ++i) {
        TableDefinition::Object o;
        const std::string contype = Value(r.get(), i, 2);
        const std::string tail = StripHead(Value(r.get(), i, 4), Value(r.get(), i, 5));
        const bool deferrable = Value(r.get(), i, 7) == "t";
        if (contype.empty()) {
            o.kind = Value(r.get(), i, 1) == "t" ? "unique_index" : "index";
            o.name = Value(r.get(), i, 0);
            o.body = tail;
        } else {
            o.kind = contype == "p" ? "primary_key" : contype == "u" ? "unique" : "exclusion";
            o.name = Value(r.get(), i, 3);
            o.body = Value(r.get(), i, 6);
            // Built as an index first (in parallel with the others), then made the constraint
            // (USING INDEX), which a deferrable one cannot be.
            if (contype != "x" && !deferrable) {
                o.index_body = tail;
            }
        }
        out.objects.push_back(std::move(o));
    }
}

void ReadConstraints(PgConnection& conn, const Relation& table, TableDefinition& out) {
    PgResultPtr r = conn.ExecParams(kConstraintsSql, {table.oid}, "reading the constraints of " + table.Display());
    for (int i = 0; i < PQntuples(r.get()); ++i) {
        TableDefinition::Object o;
        o.name = Value(r.get(), i, 0);
        o.body = Value(r.get(), i, 2);
        if (Value(r.get(), i, 1) == "c") {
            o.kind = "check";
        } else {
            o.kind = "foreign_key";
            const std::string mark = Value(r.get(), i, 5);
            const size_t at = o.body.find(mark);
            if (at == std::string::npos) {
                throw Error(ErrorKind::kInternal, "cannot read foreign key definition: " + o.body);
            }
            o.ref_schema = Value(r.get(), i, 3);
            o.ref_name = Value(r.get(), i, 4);
            o.ref_tail = o.body.substr(at + mark.size() - 1);
            o.body = o.body.substr(0, at) + " REFERENCES ";
        }
        out.objects.push_back(std::move(o));
    }
}

}  // namespace

TableDefinition ReadTableDefinition(PgConnection& conn, const Relation& table) {
    TableDefinition out;
    out.dialect = "postgresql";
    out.schema = table.schema;
    out.name = table.name;
    const std::string what = "reading the definition of " + table.Display();
    InTransaction(
        conn, what,
        [&] {
            conn.Exec("SELECT set_config('search_path', 'pg_catalog', true)", what);
            conn.Exec("SAVEPOINT sluice_definition", what);
            out.comment = conn.QueryValue("SELECT obj_description($1::oid, 'pg_class')", {table.oid}).value_or("");
            ReadColumns(conn, table, out);
            ReadIndexes(conn, table, out);
            ReadConstraints(conn, table, out);
        },
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    return out;
}

}  // namespace sluice::pg
