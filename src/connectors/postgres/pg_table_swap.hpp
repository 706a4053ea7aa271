#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "connectors/postgres/pg_catalog.hpp"
#include "connectors/postgres/pg_table_refill.hpp"

namespace sluice::pg {

/// Runs `statements` (independent index builds) on up to 4 connections of their own to `url`
/// at once; a single statement runs on `conn`. `opened`, when given, is called once each
/// connection is open, one at a time, and may throw to stop the builds (a StepFence's check).
/// Throws the first error after all builders stopped.
void RunParallel(PgConnection& conn, const std::vector<std::string>& statements, const std::string& url,
                 const std::string& application_name, const std::string& what,
                 const std::function<void()>& opened = {});

/// Puts `fresh`, a loaded table whose publish did not finish (its process died), back as the
/// load left it: drops the indexes and the key, exclusion and foreign-key constraints that
/// publish built, so that it can publish again. Takes the table's lock first, so a builder the
/// dead process left running (its backend finishes the statement) ends before. False when
/// `fresh` is gone.
bool StripUnfinishedPublish(PgConnection& conn, const QualifiedName& fresh);

/// Publishes a table loaded under a temporary name in place of the target, so readers see
/// either the old rows or all of the new ones. Usually a swap: indexes and key constraints
/// are built after the data (independent indexes in parallel connections), then one
/// transaction drops the old table, renames the new one and gives it everything else the
/// old one had (CarryOverStatements). When views or other tables' foreign keys depend on
/// the old table, which DROP would refuse, the old table stays and its rows are rewritten
/// from the loaded one in one transaction instead (RefillTable).
class TableSwap {
public:
    /// What depends on `old` (which decides how the replace publishes). Throws
    /// Error(kSchema) when `old` cannot be replaced: it is partitioned, or something depends
    /// on it and `recreate` (create: replace, which must rebuild the table from the source's
    /// columns) rules out rewriting its rows in place. Call before creating the new table,
    /// so a refusal comes before the load rather than after it.
    static Dependents CheckReplaceable(PgConnection& conn, const Relation& old, bool recreate);

    /// Plans the swap of `fresh` (already created, loaded later) into `target`'s place.
    /// With `old` (the existing target, checked by CheckReplaceable) and
    /// `copy_old_definitions`, its indexes, key, unique, exclusion and foreign-key
    /// constraints, grants and serial sequences carry over; else the primary key
    /// `primary_key` is built.
    static TableSwap Plan(PgConnection& conn, const QualifiedName& target,
                          const std::optional<Relation>& old, const Relation& fresh,
                          bool copy_old_definitions, const std::vector<std::string>& primary_key);

    /// Builds indexes and constraints, ANALYZEs, swaps; or, when views or foreign keys depend
    /// on the old table now (looked up again: one may have appeared during the load), refills
    /// it. `url`/`application_name` open the extra connections for parallel index builds
    /// (`opened`: RunParallel's).
    /// Throws the server's errors (a duplicate key while building the primary key is
    /// Error(kData, 23505)); the old table is untouched and the loaded one kept unless the
    /// final transaction committed.
    void Publish(PgConnection& conn, const std::string& url, const std::string& application_name,
                 const std::function<void()>& opened = {});

    /// Drops the loaded table (the old one is untouched). Never throws.
    void Discard(PgConnection& conn) noexcept;

private:
    std::optional<Relation> old_;          ///< the table being replaced, when there is one
    Relation fresh_;                       ///< the loaded table
    bool copy_old_definitions_ = false;
    std::string target_display_;
    std::string fresh_sql_;                ///< quoted name of the loaded table before the swap
    std::vector<std::string> parallel_;    ///< CREATE INDEX statements on the loaded table
    std::vector<std::string> serial_;      ///< ALTER TABLE ... ADD CONSTRAINT before the swap
    std::vector<std::string> swap_;        ///< the statements of the swap transaction
};

}  // namespace sluice::pg
