#pragma once

#include <optional>
#include <string>
#include <vector>

#include "connectors/postgres/pg_catalog.hpp"

namespace sluice::pg {

/// Publishes a table loaded under a temporary name in place of the target, so readers see
/// either the old rows or all of the new ones: indexes and key constraints are built after
/// the data (independent indexes in parallel connections), then one transaction drops the
/// old table and renames the new one.
class TableSwap {
public:
    /// Throws Error(kSchema) when `old` cannot be swapped out: something else depends on it
    /// (a view, a foreign key from another table), so DROP would fail at the very end,
    /// after the whole load; or it is partitioned. Call before creating the new table.
    static void CheckReplaceable(PgConnection& conn, const Relation& old);

    /// Plans the swap of `fresh` (already created, loaded later) into `target`'s place.
    /// With `old` (the existing target, checked by CheckReplaceable) and
    /// `copy_old_definitions`, its indexes, key, unique, exclusion and foreign-key
    /// constraints, grants and serial sequences carry over; else the primary key
    /// `primary_key` is built.
    static TableSwap Plan(PgConnection& conn, const QualifiedName& target,
                          const std::optional<Relation>& old, const Relation& fresh,
                          bool copy_old_definitions, const std::vector<std::string>& primary_key);

    /// Builds indexes and constraints, ANALYZEs, swaps. `url`/`application_name` open the
    /// extra connections for parallel index builds. Throws the server's errors (a duplicate
    /// key while building the primary key is Error(kData, 23505)); the old table is untouched
    /// unless the final transaction committed.
    void Publish(PgConnection& conn, const std::string& url, const std::string& application_name);

    /// Drops the loaded table (the old one is untouched). Never throws.
    void Discard(PgConnection& conn) noexcept;

private:
    void SwapOnce(PgConnection& conn);

    std::string target_display_;
    std::string fresh_sql_;                ///< quoted name of the loaded table before the swap
    std::vector<std::string> parallel_;    ///< CREATE INDEX statements on the loaded table
    std::vector<std::string> serial_;      ///< ALTER TABLE ... ADD CONSTRAINT before the swap
    std::vector<std::string> swap_;        ///< the statements of the swap transaction
};

}  // namespace sluice::pg
