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

/// delete_missing: what a partition removes after its merge.
struct DeleteMissing {
    std::string mode;           ///< "hard" deletes, "soft" sets `deleted_at`
    std::string tenant_column;  ///< the target's tenant column, or ""
    std::vector<std::string> key;
};

/// The conditions on `alias` that the target rows of `slice` meet: its key range (a key_range
/// slice; others give none) and its tenant by `tenant_column` (when both are set).
std::vector<std::string> SliceScope(const std::vector<PgColumn>& columns, const Slice& slice,
                                    const std::string& tenant_column, const std::string& alias);

/// Throws Error(kInternal) unless `slice` is a key range (or the whole source): removing the
/// keys a partition lacks needs to know which keys it covers.
void RequireKeyRange(const Slice& slice);

/// The statement that deletes (or flags) the target rows of `slice`'s key range (and tenant)
/// whose key is not in the staging table; its row count is the rows deleted.
std::string DeleteMissingSql(const std::string& target_sql, const std::vector<PgColumn>& columns,
                             const DeleteMissing& spec, const Slice& slice);

/// The soft-delete column of delete_missing: soft.
inline constexpr const char* kDeletedAt = "deleted_at";

/// The session staging table of `columns` that a merge's COPY loads, and the settings of its
/// transaction (`merge` is left empty).
MergeStatements PlanStage(const std::vector<PgColumn>& columns);

/// `columns`: the COPY columns (target column names); `key` and `order` name some of them.
/// Throws Error(kConfig) when a key or order column is not among the columns.
/// Without `update`, a key the target holds is left alone (counted unchanged): an append of
/// new keys only.
/// With `undelete`, an update or an unchanged row also clears a soft delete's `deleted_at`.
/// With `unique_keys` (TargetSpec::unique_keys) the staged rows are merged as they are, without
/// the sort that picks the latest row of a key.
MergeStatements PlanMerge(const std::string& target_sql, const std::vector<PgColumn>& columns,
                          const std::vector<std::string>& key, const std::vector<std::string>& order, bool update,
                          bool undelete = false, bool unique_keys = false);

/// Reads the row `merge` returned.
MergeCounts ReadMergeCounts(const PGresult* result);

}  // namespace sluice::pg
