#include "connectors/postgres/pg_table_refill.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <thread>

namespace sluice::pg {

namespace {

// The publish's wait for its table lock: long enough for ordinary queries on the old table
// to finish, short enough that readers queued behind the waiting lock are not stalled for
// long. After kPublishAttempts refusals the publish fails and the staging table stays for
// --resume.
constexpr int kPublishLockTimeoutSeconds = 10;
constexpr int kPublishAttempts = 6;

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
    std::string out;
    for (const std::string& item : items) {
        out += (out.empty() ? "" : std::string(sep)) + item;
    }
    return out;
}

std::string QuotedList(const std::vector<std::string>& names, std::string_view prefix = "") {
    std::vector<std::string> quoted;
    for (const std::string& name : names) {
        quoted.push_back(std::string(prefix) + QuoteIdent(name));
    }
    return Join(quoted, ", ");
}

bool Contains(const std::vector<std::string>& items, const std::string& item) {
    return std::find(items.begin(), items.end(), item) != items.end();
}

}  // namespace

Dependents FindDependents(PgConnection& conn, const Relation& table) {
    const std::string what = "checking what depends on " + table.Display();
    Dependents d;
    d.views = conn.QueryColumn(
        "SELECT DISTINCT CASE v.relkind WHEN 'm' THEN 'materialized view ' ELSE 'view ' END "
        "|| v.oid::regclass::text FROM pg_depend d "
        "JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class "
        "WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass "
        "AND d.refobjid = $1::oid AND v.oid <> $1::oid ORDER BY 1",
        {table.oid}, what);
    d.foreign_keys = conn.QueryColumn(
        "SELECT 'foreign key ' || conname || ' of ' || conrelid::regclass::text "
        "FROM pg_constraint WHERE confrelid = $1::oid AND conrelid <> $1::oid AND contype = 'f' "
        "ORDER BY conrelid::regclass::text, conname",
        {table.oid}, what);
    if (!d.foreign_keys.empty()) {
        // conindid of a foreign key is the referenced table's unique index it relies on.
        d.key = conn.QueryColumn(
            "SELECT a.attname FROM (SELECT c.oid, c.confkey, EXISTS (SELECT 1 FROM pg_constraint p "
            "WHERE p.conrelid = $1::oid AND p.contype = 'p' AND p.conindid = c.conindid) AS to_pk "
            "FROM pg_constraint c WHERE c.confrelid = $1::oid AND c.conrelid <> $1::oid "
            "AND c.contype = 'f' ORDER BY to_pk DESC, c.oid LIMIT 1) f, "
            "unnest(f.confkey) WITH ORDINALITY k(attnum, ord) "
            "JOIN pg_attribute a ON a.attrelid = $1::oid AND a.attnum = k.attnum ORDER BY k.ord",
            {table.oid}, what);
    }
    return d;
}

std::vector<std::string> RefillStatements(const RefillSpec& spec) {
    const std::string& target = spec.target_sql;
    const std::string columns = QuotedList(spec.columns);
    std::vector<std::string> out;
    // TRUNCATE needs ACCESS EXCLUSIVE anyway; take it first, under the lock_timeout. The
    // merge only needs to keep writers out: EXCLUSIVE lets readers see the old rows until
    // COMMIT.
    out.push_back(fmt::format("LOCK TABLE {} IN {} MODE", target,
                              spec.key.empty() ? "ACCESS EXCLUSIVE" : "EXCLUSIVE"));
    // Publishing a load is not a user's INSERT: a swap fires no trigger, so neither does a
    // refill (an audit trigger would otherwise log every row on every run). Foreign-key
    // checks are internal triggers and stay on.
    if (!spec.triggers.empty()) {
        out.push_back(fmt::format("ALTER TABLE {} DISABLE TRIGGER USER", target));
    }
    if (spec.key.empty()) {
        out.push_back(fmt::format("TRUNCATE ONLY {}", target));
        out.push_back(fmt::format("INSERT INTO {} ({}) OVERRIDING SYSTEM VALUE SELECT {} FROM {}", target,
                                  columns, columns, spec.staging_sql));
    } else {
        // Other tables reference the target, so its rows cannot all go: TRUNCATE refuses
        // (CASCADE would empty the referencing tables), and DELETE of every row fails at the
        // end of the statement for a NO ACTION/RESTRICT key (only DEFERRABLE keys wait for
        // COMMIT) or cascades for ON DELETE CASCADE/SET NULL before the INSERT could put the
        // rows back. So rows are matched on the referenced key: the keys the new data lacks
        // are deleted (there the foreign keys act as declared, a NO ACTION key failing the
        // publish), the others are updated in place, the new ones inserted.
        std::vector<std::string> match;
        for (const std::string& k : spec.key) {
            match.push_back(fmt::format("t.{0} = s.{0}", QuoteIdent(k)));
        }
        const std::string on = Join(match, " AND ");
        out.push_back(fmt::format("DELETE FROM ONLY {} t WHERE NOT EXISTS (SELECT 1 FROM {} s WHERE {})",
                                  target, spec.staging_sql, on));
        std::vector<std::string> sets;
        for (const std::string& c : spec.columns) {
            if (!Contains(spec.key, c)) {
                sets.push_back(fmt::format("{0} = s.{0}", QuoteIdent(c)));
            }
        }
        if (!sets.empty()) {
            out.push_back(fmt::format("UPDATE ONLY {} t SET {} FROM {} s WHERE {}", target, Join(sets, ", "),
                                      spec.staging_sql, on));
        }
        out.push_back(fmt::format(
            "INSERT INTO {} ({}) OVERRIDING SYSTEM VALUE SELECT {} FROM {} s "
            "WHERE NOT EXISTS (SELECT 1 FROM ONLY {} t WHERE {})",
            target, columns, QuotedList(spec.columns, "s."), spec.staging_sql, target, on));
        // UPDATE ... FROM takes one of several new rows with the same key without complaint,
        // and the unique index only guards the inserted ones: compare the counts.
        out.push_back(fmt::format(
            "DO $sluice$ DECLARE loaded bigint; published bigint; BEGIN "
            "SELECT count(*) INTO loaded FROM {}; SELECT count(*) INTO published FROM ONLY {}; "
            "IF loaded <> published THEN RAISE EXCEPTION USING ERRCODE = 'unique_violation', "
            "MESSAGE = format('%s new rows of %s became %s rows when matched on (%s): the new data "
            "repeats a key', loaded, {}, published, {}); END IF; END $sluice$",
            spec.staging_sql, target, QuoteLiteral(spec.target_display), QuoteLiteral(Join(spec.key, ", "))));
    }
    for (const PausedTrigger& trigger : spec.triggers) {
        out.push_back(fmt::format("ALTER TABLE {} ENABLE {}TRIGGER {}", target,
                                  trigger.enabled == 'R'   ? "REPLICA "
                                  : trigger.enabled == 'A' ? "ALWAYS "
                                                           : "",
                                  QuoteIdent(trigger.name)));
    }
    // In the same transaction: a failed publish keeps it for --resume, a published one
    // leaves nothing behind.
    out.push_back("DROP TABLE " + spec.staging_sql);
    return out;
}

std::string DescribePublish(const Dependents& dependents, bool recreate) {
    if (dependents.empty()) {
        return recreate ? "publish: swap (DROP + RENAME) of the table created from the source's columns, "
                          "keeping grants, owner, comments, publications"
                        : "publish: swap (DROP + RENAME) keeping indexes, constraints, grants, owner, "
                          "comments, triggers, policies, publications";
    }
    std::vector<std::string> all = dependents.foreign_keys;
    all.insert(all.end(), dependents.views.begin(), dependents.views.end());
    const std::string because = fmt::format("because {} depend{} on it", Join(all, ", "),
                                            all.size() == 1 ? "s" : "");
    if (dependents.foreign_keys.empty()) {
        return fmt::format("publish: TRUNCATE + INSERT ... SELECT in one transaction, {}; the table "
                           "itself (indexes, grants, triggers, policies) stays, its triggers do not fire",
                           because);
    }
    return fmt::format("publish: DELETE of the keys the new data lacks + UPDATE + INSERT ... SELECT "
                       "matched on ({}) in one transaction, {} (TRUNCATE would fail or empty the "
                       "referencing tables); the table itself stays, its triggers do not fire",
                       Join(dependents.key, ", "), because);
}

void RunPublishTransaction(PgConnection& conn, const std::vector<std::string>& statements,
                           const std::string& what) {
    for (int attempt = 1;; ++attempt) {
        conn.Exec("BEGIN", what);
        try {
            conn.Exec(fmt::format("SET LOCAL lock_timeout = '{}s'", kPublishLockTimeoutSeconds), what);
            for (const std::string& sql : statements) {
                conn.Exec(sql, what);
            }
            conn.Exec("COMMIT", what);
            return;
        } catch (const Error& e) {
            try {
                conn.Exec("ROLLBACK");
            } catch (...) {  // NOLINT(bugprone-empty-catch): the first error is the one to report
            }
            if (e.sqlstate() != "55P03" || attempt >= kPublishAttempts) {
                throw;
            }
        } catch (...) {
            try {
                conn.Exec("ROLLBACK");
            } catch (...) {  // NOLINT(bugprone-empty-catch): the first error is the one to report
            }
            throw;
        }
        // Let the readers that queued behind the waiting lock through before trying again.
        std::this_thread::sleep_for(std::chrono::seconds(attempt));
    }
}

void RefillTable(PgConnection& conn, const Relation& target, const Relation& staging,
                 const Dependents& dependents) {
    const std::string what = "publishing the new rows of " + target.Display();
    RefillSpec spec;
    spec.target_sql = target.Sql();
    spec.target_display = target.Display();
    spec.staging_sql = staging.Sql();
    spec.key = dependents.foreign_keys.empty() ? std::vector<std::string>{} : dependents.key;
    PgResultPtr columns = conn.ExecParams(
        "SELECT a.attname, a.attidentity FROM pg_attribute a WHERE a.attrelid = $1::oid AND a.attnum > 0 "
        "AND NOT a.attisdropped AND a.attgenerated = '' AND EXISTS (SELECT 1 FROM pg_attribute s "
        "WHERE s.attrelid = $2::oid AND s.attname = a.attname AND s.attnum > 0 AND NOT s.attisdropped) "
        "ORDER BY a.attnum",
        {target.oid, staging.oid}, what);
    for (int i = 0; i < PQntuples(columns.get()); ++i) {
        const std::string name = PQgetvalue(columns.get(), i, 0);
        if (!spec.key.empty() && PQgetvalue(columns.get(), i, 1)[0] == 'a' && !Contains(spec.key, name)) {
            throw Error(ErrorKind::kSchema,
                        fmt::format("cannot publish the replace of {}: foreign keys reference it, so its rows "
                                    "are updated in place, and its column {} is GENERATED ALWAYS AS "
                                    "IDENTITY, which cannot be updated — make it GENERATED BY DEFAULT "
                                    "(ALTER TABLE {} ALTER COLUMN {} SET GENERATED BY DEFAULT) and --resume",
                                    target.Display(), name, target.Display(), QuoteIdent(name)));
        }
        spec.columns.push_back(name);
    }
    PgResultPtr triggers = conn.ExecParams(
        "SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = $1::oid AND NOT tgisinternal "
        "AND tgenabled <> 'D' ORDER BY tgname",
        {target.oid}, what);
    for (int i = 0; i < PQntuples(triggers.get()); ++i) {
        spec.triggers.push_back({PQgetvalue(triggers.get(), i, 0), PQgetvalue(triggers.get(), i, 1)[0]});
    }
    RunPublishTransaction(conn, RefillStatements(spec), what);
    // The rows are published; fresh statistics only help the next queries, so a failure
    // here must not report the publish as failed.
    try {
        conn.Exec("ANALYZE " + spec.target_sql, "analyzing " + target.Display());
    } catch (...) {  // NOLINT(bugprone-empty-catch): see above
    }
}

}  // namespace sluice::pg
