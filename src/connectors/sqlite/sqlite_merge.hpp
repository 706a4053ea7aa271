#pragma once

#include <sqlite3.h>

#include <string>
#include <vector>

#include "connectors/connector.hpp"
#include "core/schema.hpp"

namespace sluice::sqlite {

/// The statements of an upsert into one SQLite table, the same semantics as PostgreSQL's:
/// a partition's rows go into a temporary staging table; Merge keeps the last row of each key
/// (by `order`, then as written), inserts it, or updates the target's row when a value
/// differs (`IS NOT`), and leaves identical rows alone.
struct MergeStatements {
    std::string stage_table;   ///< what the partition's INSERTs write into
    std::string stage_create;  ///< run once on the shared connection
    std::string counts;        ///< one row: rows staged, distinct keys, new keys, identical rows
    std::string merge;
    std::string clear;         ///< empties the staging table for the next partition
    bool updates = true;       ///< false: keys the target holds are left alone
};

/// The staging table of `columns` (with an ordinal of the order rows were written in) that a
/// merge's partitions write into; `counts` and `merge` are left empty.
MergeStatements PlanStage(const std::vector<Field>& columns, int id);

/// The conditions on `alias` ("" for none, else joined by AND) that the target rows of
/// `slice` meet: its key range (key_range slices) and its tenant by `tenant_column`.
std::string SliceScope(const std::vector<Field>& columns, const Slice& slice, const std::string& tenant_column,
                       const std::string& alias);

/// `target_sql`: the quoted target table; `columns`: the target's fields the partitions fill,
/// in order; `key` and `order` name some of them; `id` tells the staging tables of several
/// sinks on one connection apart. Throws Error(kConfig) when a key or order column is unknown.
/// Without `update`, a key the target holds is left alone (counted unchanged). With
/// `undelete`, a merged key also clears delete_missing: soft's `deleted_at`.
MergeStatements PlanMerge(const std::string& target_sql, const std::vector<Field>& columns,
                          const std::vector<std::string>& key, const std::vector<std::string>& order, bool update,
                          bool undelete, int id);

/// The soft-delete column of delete_missing: soft.
inline constexpr const char* kDeletedAt = "deleted_at";

/// delete_missing (target.delete_missing, .tenant_column, .key): the statement that deletes
/// (or flags) the target rows of `slice`'s key range and tenant whose key is not in the
/// staging table; its change count is the rows deleted.
std::string DeleteMissingSql(const std::string& target_sql, const std::vector<Field>& columns,
                             const TargetSpec& target, const Slice& slice, const std::string& stage_table);

/// Runs the merge in the open transaction, then `delete_missing` (a DeleteMissingSql, or
/// ""), and returns how the staged rows landed.
MergeCounts RunMerge(sqlite3* db, const MergeStatements& merge, const std::string& table_display,
                     const std::string& delete_missing);

}  // namespace sluice::sqlite
