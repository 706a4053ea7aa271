#pragma once

#include <string>
#include <vector>

#include "connectors/connector.hpp"
#include "connectors/postgres/pg_types.hpp"

namespace sluice::pg {

/// The statements of an upsert (SCD type 1) into one table. A partition's rows are copied
/// into a session staging table (`stage_create`, run once per transaction until a commit made
/// it permanent for the session); `merge` then applies them in one set-based statement:
/// the last row of each key (by `order`, then as read) is inserted, or updates the target's
/// row when any value differs, and leaves it alone when none does. `merge` returns one row:
/// rows staged, distinct keys, inserted, updated.
struct MergeStatements {
    std::string stage_table;   ///< what COPY loads into
    std::string stage_create;
    std::string merge;
    std::string settings;      ///< run in the partition's transaction before `merge`
};

/// `columns`: the COPY columns (target column names); `key` and `order` name some of them.
/// Throws Error(kConfig) when a key or order column is not among the columns.
/// Without `update`, a key the target holds is left alone (counted unchanged): an append of
/// new keys only.
MergeStatements PlanMerge(const std::string& target_sql, const std::vector<PgColumn>& columns,
                          const std::vector<std::string>& key, const std::vector<std::string>& order, bool update);

/// Reads the row `merge` returned.
MergeCounts ReadMergeCounts(const PGresult* result);

}  // namespace sluice::pg
