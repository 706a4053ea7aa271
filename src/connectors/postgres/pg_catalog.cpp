#include "connectors/postgres/pg_catalog.hpp"

#include <utility>

#include "core/utf8.hpp"

namespace sluice::pg {

std::optional<Relation> LookupRelation(PgConnection& conn, const QualifiedName& name) {
    PgResultPtr r = conn.ExecParams(
        "SELECT c.oid, n.nspname, c.relname, c.relkind FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)",
        {name.Sql()}, "looking up table " + name.Display());
    if (PQntuples(r.get()) == 0) {
        return std::nullopt;
    }
    Relation rel;
    rel.oid = PQgetvalue(r.get(), 0, 0);
    rel.schema = PQgetvalue(r.get(), 0, 1);
    rel.name = PQgetvalue(r.get(), 0, 2);
    rel.kind = PQgetvalue(r.get(), 0, 3)[0];
    return rel;
}

std::vector<std::string> ReadPrimaryKey(PgConnection& conn, const std::string& relid) {
    return conn.QueryColumn(
        "SELECT a.attname FROM pg_index i "
        "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "WHERE i.indrelid = $1::oid AND i.indisprimary ORDER BY k.n",
        {relid}, "reading the primary key");
}

std::string FindUniqueKeyColumn(PgConnection& conn, const std::string& relid,
                                const std::string& oid_list) {
    return conn
        .QueryValue(
            "SELECT a.attname FROM pg_index i "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
            "JOIN pg_type t ON t.oid = a.atttypid "
            "WHERE i.indrelid = $1::oid AND i.indisunique AND i.indnkeyatts = 1 "
            "AND i.indpred IS NULL AND i.indexprs IS NULL "
            "AND (CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END) = ANY($2::oid[]) "
            "ORDER BY i.indisprimary DESC, i.indexrelid LIMIT 1",
            {relid, oid_list}, "looking for a key column")
        .value_or("");
}

std::string TruncateName(std::string name) {
    return TruncateUtf8(std::move(name), 63);
}

}  // namespace sluice::pg
