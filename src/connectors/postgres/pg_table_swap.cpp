#include "connectors/postgres/pg_table_swap.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

#include "connectors/postgres/pg_table_carryover.hpp"

namespace sluice::pg {

namespace {

// More builders than cores only makes them compete for the server's CPU and I/O; each also
// takes maintenance_work_mem on the server.
constexpr size_t kMaxIndexBuilders = 4;

// "CREATE UNIQUE INDEX old_name ON public.t USING btree (id)" -> same index under `name` on
// `table`: pg_get_indexdef always writes " ON " before the table and " USING " after it.
std::string RewriteIndexDef(const std::string& def, const std::string& name, const std::string& table) {
    const size_t index_kw = def.find("INDEX ");
    const size_t on = def.find(" ON ", index_kw);
    const size_t using_kw = def.find(" USING ", on);
    if (index_kw == std::string::npos || on == std::string::npos || using_kw == std::string::npos) {
        throw Error(ErrorKind::kInternal, "cannot read index definition: " + def);
    }
    return def.substr(0, index_kw + 6) + name + " ON " + table + def.substr(using_kw);
}

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
    std::string out;
    for (const std::string& item : items) {
        out += (out.empty() ? "" : std::string(sep)) + item;
    }
    return out;
}

}  // namespace

void RunParallel(PgConnection& conn, const std::vector<std::string>& statements,
                 const std::string& url, const std::string& application_name,
                 const std::string& what, const std::function<void()>& opened) {
    const size_t builders = std::min(statements.size(), kMaxIndexBuilders);
    if (builders <= 1) {
        for (const std::string& sql : statements) {
            conn.Exec(sql, what);
        }
        return;
    }
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex mu;
    std::optional<Error> first_error;  // guarded by mu
    {
        std::vector<std::jthread> threads;
        for (size_t t = 0; t < builders; ++t) {
            threads.emplace_back([&, t] {
                try {
                    PgConnection own = PgConnection::Connect(
                        url, TruncateName(fmt::format("{}/index{}", application_name, t)));
                    if (opened) {
                        std::lock_guard lock(mu);
                        opened();
                    }
                    // Builds side by side already keep as many backends busy as there are
                    // builders; parallel workers for each only add their start-up and the
                    // merge of their sorts (wide_a's 4 indexes: 2.5 CPU-s without, 3.2-4.2
                    // with, bench/RESULTS.md 2026-12-04).
                    own.Exec("SET max_parallel_maintenance_workers = 0", what);
                    for (size_t k = next++; k < statements.size() && !failed; k = next++) {
                        own.Exec(statements[k], what);
                    }
                } catch (const Error& e) {
                    failed = true;
                    std::lock_guard lock(mu);
                    if (!first_error) {
                        first_error = e;
                    }
                } catch (const std::exception& e) {
                    failed = true;
                    std::lock_guard lock(mu);
                    if (!first_error) {
                        first_error = Error(ErrorKind::kInternal, e.what());
                    }
                }
            });
        }
    }
    if (first_error) {
        throw *first_error;
    }
}

Dependents TableSwap::CheckReplaceable(PgConnection& conn, const Relation& old, bool recreate) {
    if (old.kind == 'p') {
        throw Error(ErrorKind::kSchema,
                    fmt::format("cannot replace {}: it is a partitioned table; load it with "
                                "mode: append (after truncating it) instead", old.Display()));
    }
    Dependents dependents = FindDependents(conn, old);
    if (!dependents.empty() && recreate) {
        std::vector<std::string> all = dependents.foreign_keys;
        all.insert(all.end(), dependents.views.begin(), dependents.views.end());
        throw Error(ErrorKind::kSchema,
                    fmt::format("cannot replace {} with create: replace: {} depend{} on it, so it cannot "
                                "be dropped and built again from the source's columns — use create: "
                                "if_missing (mode: replace then rewrites its rows in place), or drop {} "
                                "before the run and recreate {} after",
                                old.Display(), Join(all, ", "), all.size() == 1 ? "s" : "",
                                all.size() == 1 ? "it" : "them", all.size() == 1 ? "it" : "them"));
    }
    return dependents;
}

TableSwap TableSwap::Plan(PgConnection& conn, const QualifiedName& target,
                          const std::optional<Relation>& old, const Relation& fresh,
                          bool copy_old_definitions, const std::vector<std::string>& primary_key) {
    TableSwap s;
    s.old_ = old;
    s.fresh_ = fresh;
    s.copy_old_definitions_ = copy_old_definitions;
    s.target_display_ = old ? old->Display() : target.Display();
    s.fresh_sql_ = fresh.Sql();
    const std::string final_name = old ? old->name : target.name;
    const std::string final_sql = QualifiedName{fresh.schema, final_name}.Sql();
    int counter = 0;
    auto temp_name = [&] { return fmt::format("sluice_{}_{}", fresh.oid, counter++); };
    std::vector<std::string> after_rename;
    std::vector<std::string> before_drop;

    if (old) {
        if (copy_old_definitions) {
            // serial columns: their defaults now point at sequences the old table owns.
            PgResultPtr seqs = conn.ExecParams(
                "SELECT s.oid::regclass::text, a.attname FROM pg_depend d "
                "JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
                "JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
                "WHERE d.classid = 'pg_class'::regclass AND d.refobjid = $1::oid AND d.deptype = 'a'",
                {old->oid}, "reading sequences of " + old->Display());
            for (int i = 0; i < PQntuples(seqs.get()); ++i) {
                before_drop.push_back(fmt::format("ALTER SEQUENCE {} OWNED BY {}.{}",
                                                  PQgetvalue(seqs.get(), i, 0), s.fresh_sql_,
                                                  QuoteIdent(PQgetvalue(seqs.get(), i, 1))));
            }
            PgResultPtr keys = conn.ExecParams(
                "SELECT conname, contype, pg_get_indexdef(conindid), condeferrable, condeferred "
                "FROM pg_constraint WHERE conrelid = $1::oid AND contype IN ('p', 'u') ORDER BY oid",
                {old->oid}, "reading constraints of " + old->Display());
            for (int i = 0; i < PQntuples(keys.get()); ++i) {
                const std::string index = QuoteIdent(temp_name());
                s.parallel_.push_back(RewriteIndexDef(PQgetvalue(keys.get(), i, 2), index, s.fresh_sql_));
                std::string add = fmt::format(
                    "ALTER TABLE {} ADD CONSTRAINT {} {} USING INDEX {}", final_sql,
                    QuoteIdent(PQgetvalue(keys.get(), i, 0)),
                    PQgetvalue(keys.get(), i, 1)[0] == 'p' ? "PRIMARY KEY" : "UNIQUE", index);
                if (PQgetvalue(keys.get(), i, 3)[0] == 't') {
                    add += PQgetvalue(keys.get(), i, 4)[0] == 't' ? " DEFERRABLE INITIALLY DEFERRED"
                                                                 : " DEFERRABLE";
                }
                after_rename.push_back(std::move(add));
            }
            PgResultPtr indexes = conn.ExecParams(
                "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = $1::oid "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid "
                "AND k.conrelid = $1::oid) ORDER BY i.indexrelid",
                {old->oid}, "reading indexes of " + old->Display());
            for (int i = 0; i < PQntuples(indexes.get()); ++i) {
                const std::string index = temp_name();
                s.parallel_.push_back(
                    RewriteIndexDef(PQgetvalue(indexes.get(), i, 1), QuoteIdent(index), s.fresh_sql_));
                after_rename.push_back(fmt::format("ALTER INDEX {} RENAME TO {}",
                                                   QualifiedName{fresh.schema, index}.Sql(),
                                                   QuoteIdent(PQgetvalue(indexes.get(), i, 0))));
            }
            PgResultPtr others = conn.ExecParams(
                "SELECT conname, contype, pg_get_constraintdef(oid), confrelid = conrelid "
                "FROM pg_constraint WHERE conrelid = $1::oid AND contype IN ('x', 'f') ORDER BY oid",
                {old->oid}, "reading constraints of " + old->Display());
            for (int i = 0; i < PQntuples(others.get()); ++i) {
                const std::string name = PQgetvalue(others.get(), i, 0);
                const std::string def = PQgetvalue(others.get(), i, 2);
                if (PQgetvalue(others.get(), i, 1)[0] == 'x') {
                    // Its index name must be unique in the schema: build under a temporary name.
                    const std::string tmp = QuoteIdent(temp_name());
                    s.serial_.push_back(fmt::format("ALTER TABLE {} ADD CONSTRAINT {} {}", s.fresh_sql_, tmp, def));
                    after_rename.push_back(fmt::format("ALTER TABLE {} RENAME CONSTRAINT {} TO {}",
                                                       final_sql, tmp, QuoteIdent(name)));
                } else if (PQgetvalue(others.get(), i, 3)[0] == 't') {
                    // Self-reference: the definition names the table, valid only after the rename.
                    after_rename.push_back(fmt::format("ALTER TABLE {} ADD CONSTRAINT {} {}", final_sql,
                                                       QuoteIdent(name), def));
                } else {
                    s.serial_.push_back(fmt::format("ALTER TABLE {} ADD CONSTRAINT {} {}", s.fresh_sql_,
                                                    QuoteIdent(name), def));
                }
            }
        }
    }
    if (!copy_old_definitions && !primary_key.empty()) {
        std::vector<std::string> columns;
        for (const std::string& c : primary_key) {
            columns.push_back(QuoteIdent(c));
        }
        const std::string index = QuoteIdent(temp_name());
        s.parallel_.push_back(fmt::format("CREATE UNIQUE INDEX {} ON {} ({})", index, s.fresh_sql_,
                                          Join(columns, ", ")));
        after_rename.push_back(fmt::format("ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY USING INDEX {}",
                                           final_sql, QuoteIdent(TruncateName(final_name + "_pkey")),
                                           index));
    }
    if (old) {
        s.swap_.push_back(fmt::format("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE", old->Sql()));
        s.swap_.insert(s.swap_.end(), before_drop.begin(), before_drop.end());
        s.swap_.push_back(fmt::format("DROP TABLE {}", old->Sql()));
    }
    s.swap_.push_back(fmt::format("ALTER TABLE {} RENAME TO {}", s.fresh_sql_, QuoteIdent(final_name)));
    s.swap_.insert(s.swap_.end(), after_rename.begin(), after_rename.end());
    if (old) {
        // After the key constraints and index renames: a replica identity names an index.
        std::vector<std::string> rest = CarryOverStatements(conn, *old, fresh, final_sql, copy_old_definitions);
        s.swap_.insert(s.swap_.end(), rest.begin(), rest.end());
    }
    return s;
}

void TableSwap::Publish(PgConnection& conn, const std::string& url, const std::string& application_name,
                        const std::function<void()>& opened) {
    if (old_ && copy_old_definitions_) {
        const Dependents dependents = FindDependents(conn, *old_);
        if (!dependents.empty()) {
            conn.Exec("ANALYZE " + fresh_sql_, "analyzing the new rows of " + target_display_);
            RefillTable(conn, *old_, fresh_, dependents);
            return;
        }
    }
    RunParallel(conn, parallel_, url, application_name, "building indexes for " + target_display_, opened);
    for (const std::string& sql : serial_) {
        conn.Exec(sql, "adding constraints for " + target_display_);
    }
    conn.Exec("ANALYZE " + fresh_sql_, "analyzing the new " + target_display_);
    RunPublishTransaction(conn, swap_, "swapping in the new " + target_display_);
}

bool StripUnfinishedPublish(PgConnection& conn, const QualifiedName& fresh) {
    const std::string what = "undoing the unfinished publish of " + fresh.Display();
    try {
        InTransaction(conn, what, [&] {
            conn.Exec(fmt::format("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE", fresh.Sql()), what);
            // The load itself makes neither (LIKE ... INCLUDING CONSTRAINTS copies CHECKs only).
            PgResultPtr constraints = conn.ExecParams(
                "SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass AND contype IN ('p', 'u', 'x', 'f')",
                {fresh.Sql()}, what);
            for (int i = 0; i < PQntuples(constraints.get()); ++i) {
                conn.Exec(fmt::format("ALTER TABLE {} DROP CONSTRAINT {}", fresh.Sql(),
                                      QuoteIdent(PQgetvalue(constraints.get(), i, 0))),
                          what);
            }
            PgResultPtr indexes = conn.ExecParams(
                "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = $1::regclass", {fresh.Sql()}, what);
            for (int i = 0; i < PQntuples(indexes.get()); ++i) {
                conn.Exec(fmt::format("DROP INDEX {}", PQgetvalue(indexes.get(), i, 0)), what);
            }
        });
    } catch (const Error& e) {
        if (e.sqlstate() == "42P01") {
            return false;  // renamed into place, or dropped, while this waited for its lock
        }
        throw;
    }
    return true;
}

void TableSwap::Discard(PgConnection& conn) noexcept {
    try {
        conn.Exec("DROP TABLE IF EXISTS " + fresh_sql_, "dropping the partial load");
    } catch (...) {  // NOLINT(bugprone-empty-catch): cleanup after a failure must not mask it
    }
}

}  // namespace sluice::pg
