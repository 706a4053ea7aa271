#include "connectors/postgres/pg_table_carryover.hpp"

#include <fmt/format.h>

namespace sluice::pg {

namespace {

// Statements are written by the server with format() (%I, %L quote identifiers and
// literals exactly as it parses them). $1 is the old table's oid, $2 the new table's oid,
// $3 its name after the rename, $4 whether the old table's indexes were carried over.

// Table and column privileges, except the owner's own (the new table's owner has them).
constexpr const char* kGrants =
    "SELECT format('GRANT %s ON %s TO %s%s', a.privilege_type, $3::text, "
    "CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END, "
    "CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END) "
    "FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = $1::oid AND a.grantee <> c.relowner "
    "UNION ALL "
    "SELECT format('GRANT %s (%I) ON %s TO %s%s', a.privilege_type, att.attname, $3::text, "
    "CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END, "
    "CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END) "
    "FROM pg_class c JOIN pg_attribute att ON att.attrelid = c.oid, aclexplode(att.attacl) a "
    "WHERE c.oid = $1::oid AND att.attnum > 0 AND NOT att.attisdropped AND a.grantee <> c.relowner "
    "AND EXISTS (SELECT 1 FROM pg_attribute f WHERE f.attrelid = $2::oid AND f.attname = att.attname "
    "AND f.attnum > 0 AND NOT f.attisdropped)";

constexpr const char* kComments =
    "SELECT format('COMMENT ON TABLE %s IS %L', $3::text, d.description) FROM pg_description d "
    "WHERE d.objoid = $1::oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0 "
    "UNION ALL "
    "SELECT format('COMMENT ON COLUMN %s.%I IS %L', $3::text, a.attname, d.description) "
    "FROM pg_description d JOIN pg_attribute a ON a.attrelid = d.objoid AND a.attnum = d.objsubid "
    "WHERE d.objoid = $1::oid AND d.classoid = 'pg_class'::regclass AND d.objsubid > 0 "
    "AND NOT a.attisdropped AND EXISTS (SELECT 1 FROM pg_attribute f WHERE f.attrelid = $2::oid "
    "AND f.attname = a.attname AND f.attnum > 0 AND NOT f.attisdropped)";

// ENABLE/FORCE first: policies alone do nothing while row security is off.
constexpr const char* kRowSecurity =
    "SELECT format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', $3::text) FROM pg_class "
    "WHERE oid = $1::oid AND relrowsecurity "
    "UNION ALL "
    "SELECT format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', $3::text) FROM pg_class "
    "WHERE oid = $1::oid AND relforcerowsecurity "
    "UNION ALL "
    "SELECT * FROM (SELECT format('CREATE POLICY %I ON %s AS %s FOR %s TO %s%s%s', p.polname, $3::text, "
    "CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END, "
    "CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' "
    "WHEN 'd' THEN 'DELETE' ELSE 'ALL' END, "
    "(SELECT string_agg(CASE WHEN r.role = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r.role)) END, "
    "', ' ORDER BY r.ord) FROM unnest(p.polroles) WITH ORDINALITY r(role, ord)), "
    "' USING (' || pg_get_expr(p.polqual, p.polrelid) || ')', "
    "' WITH CHECK (' || pg_get_expr(p.polwithcheck, p.polrelid) || ')') "
    "FROM pg_policy p WHERE p.polrelid = $1::oid ORDER BY p.polname) policies";

// pg_get_triggerdef names the old table, which is the new one's name after the rename.
// Internal triggers (foreign keys) come with the constraints.
constexpr const char* kTriggers =
    "SELECT stmt FROM (SELECT t.tgname, 0 AS step, pg_get_triggerdef(t.oid) AS stmt FROM pg_trigger t "
    "WHERE t.tgrelid = $1::oid AND NOT t.tgisinternal "
    "UNION ALL "
    "SELECT t.tgname, 1, format('ALTER TABLE %s %s TRIGGER %I', $3::text, "
    "CASE t.tgenabled WHEN 'D' THEN 'DISABLE' WHEN 'R' THEN 'ENABLE REPLICA' ELSE 'ENABLE ALWAYS' END, "
    "t.tgname) FROM pg_trigger t WHERE t.tgrelid = $1::oid AND NOT t.tgisinternal AND t.tgenabled <> 'O') "
    "triggers ORDER BY tgname, step";

// Only explicit membership: FOR ALL TABLES and (15+) FOR TABLES IN SCHEMA publications take
// the new table by themselves.
constexpr const char* kPublications14 =
    "SELECT format('ALTER PUBLICATION %I ADD TABLE %s', p.pubname, $3::text) "
    "FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid "
    "WHERE pr.prrelid = $1::oid ORDER BY p.pubname";
constexpr const char* kPublications15 =
    "SELECT format('ALTER PUBLICATION %I ADD TABLE %s%s%s', p.pubname, $3::text, "
    "' (' || (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord) "
    "FROM unnest(pr.prattrs::int2[]) WITH ORDINALITY k(attnum, ord) "
    "JOIN pg_attribute a ON a.attrelid = pr.prrelid AND a.attnum = k.attnum) || ')', "
    "' WHERE (' || pg_get_expr(pr.prqual, pr.prrelid) || ')') "
    "FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid "
    "WHERE pr.prrelid = $1::oid ORDER BY p.pubname";

// An index replica identity names an index that exists on the new table only when the old
// table's indexes were carried over (under their old names, by then).
constexpr const char* kReplicaIdentity =
    "SELECT format('ALTER TABLE %s REPLICA IDENTITY %s', $3::text, "
    "CASE c.relreplident WHEN 'n' THEN 'NOTHING' WHEN 'f' THEN 'FULL' "
    "ELSE 'USING INDEX ' || quote_ident(i.relname) END) "
    "FROM pg_class c LEFT JOIN pg_index x ON x.indrelid = c.oid AND x.indisreplident "
    "LEFT JOIN pg_class i ON i.oid = x.indexrelid "
    "WHERE c.oid = $1::oid AND (c.relreplident IN ('n', 'f') "
    "OR (c.relreplident = 'i' AND i.relname IS NOT NULL AND $4::bool))";

// Last, so that everything above runs as the table's creator (who owns it until here).
constexpr const char* kOwner =
    "SELECT format('ALTER TABLE %s OWNER TO %I', $3::text, pg_get_userbyid(o.relowner)) "
    "FROM pg_class o, pg_class f WHERE o.oid = $1::oid AND f.oid = $2::oid AND o.relowner <> f.relowner";

}  // namespace

std::vector<std::string> CarryOverStatements(PgConnection& conn, const Relation& old,
                                             const Relation& fresh, const std::string& final_sql,
                                             bool same_columns) {
    std::vector<const char*> queries = {kGrants, kComments};
    if (same_columns) {
        queries.push_back(kRowSecurity);
        queries.push_back(kTriggers);
    }
    queries.push_back(conn.server_version() >= 150000 ? kPublications15 : kPublications14);
    queries.push_back(kReplicaIdentity);
    queries.push_back(kOwner);
    const std::vector<PgParam> params = {old.oid, fresh.oid, final_sql, same_columns ? "true" : "false"};
    std::vector<std::string> out;
    for (const char* query : queries) {
        // The server refuses a parameter whose type it cannot infer, and not every query uses
        // every parameter: the (unused) CTE types them all.
        const std::string sql =
            std::string("WITH params AS (SELECT $1::oid, $2::oid, $3::text, $4::bool) ") + query;
        for (std::string& statement : conn.QueryColumn(sql, params, "reading the definition of " + old.Display())) {
            out.push_back(std::move(statement));
        }
    }
    return out;
}

}  // namespace sluice::pg
