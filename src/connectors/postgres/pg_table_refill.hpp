#pragma once

#include <string>
#include <vector>

#include "connectors/postgres/pg_catalog.hpp"

namespace sluice::pg {

/// What keeps a table from being dropped and swapped: views that read it and foreign keys
/// of other tables that reference it.
struct Dependents {
    std::vector<std::string> views;         ///< "view public.v"
    std::vector<std::string> foreign_keys;  ///< "foreign key fk of public.child"
    /// With foreign_keys: the referenced columns a refill matches old and new rows on (the
    /// primary key when a foreign key references it, else the first foreign key's columns).
    std::vector<std::string> key;

    bool empty() const { return views.empty() && foreign_keys.empty(); }
};

/// Reads what depends on `table` (see Dependents).
Dependents FindDependents(PgConnection& conn, const Relation& table);

/// A trigger a refill switches off while it rewrites the rows, and how to switch it back on.
struct PausedTrigger {
    std::string name;
    char enabled = 'O';  ///< pg_trigger.tgenabled: O origin, R replica, A always
};

/// Everything a refill needs to know about the target, read from the catalog.
struct RefillSpec {
    std::string target_sql;                ///< quoted name of the published table
    std::string target_display;
    std::string staging_sql;               ///< quoted name of the loaded table
    std::vector<std::string> columns;      ///< columns both have, less generated ones
    std::vector<std::string> key;          ///< empty: TRUNCATE; else merge by this key
    std::vector<PausedTrigger> triggers;   ///< enabled user triggers of the target
};

/// The statements of one refill transaction, after BEGIN and before COMMIT (pure; the
/// caller sets lock_timeout). Without a key: TRUNCATE + INSERT ... SELECT. With a key
/// (foreign keys reference the target): delete the rows whose key the new data lacks,
/// update the others in place, insert the new keys, then check that the table holds
/// exactly as many rows as the staging table (a key repeated in the new data would
/// otherwise collapse silently). The staging table is dropped in the same transaction.
std::vector<std::string> RefillStatements(const RefillSpec& spec);

/// The `plan` note saying how a replace into an existing table publishes.
/// `recreate`: create: replace (the table is rebuilt from the source's columns).
std::string DescribePublish(const Dependents& dependents, bool recreate);

/// Runs `statements` in one transaction with a bounded wait for locks (SET LOCAL
/// lock_timeout), and again after a pause when that wait timed out (SQLSTATE 55P03), a few
/// times. Readers queued behind a waiting ACCESS EXCLUSIVE lock are thus never stalled for
/// long. Rolls back and throws on any other error, or when the last try timed out.
void RunPublishTransaction(PgConnection& conn, const std::vector<std::string>& statements,
                           const std::string& what);

/// Publishes `staging` into `target` by RefillStatements, in one transaction that waits a
/// bounded time for its lock and is retried when that wait times out. On any failure the
/// transaction rolls back: `target` keeps its old rows and `staging` stays for --resume.
/// Throws the server's errors; Error(kSchema) when a GENERATED ALWAYS identity column is
/// not part of the key (it cannot be updated in place).
void RefillTable(PgConnection& conn, const Relation& target, const Relation& staging,
                 const Dependents& dependents);

}  // namespace sluice::pg
