#pragma once

#include <string>
#include <vector>

namespace sluice::mariadb {

/// The statements of an upsert into one MariaDB table, with PostgreSQL's semantics: a
/// partition's rows load into a temporary staging table (with the order they were read in);
/// Merge keeps the last row of each key (by `order`, then as read), inserts it, or updates
/// the target's row where a value differs, and leaves identical rows alone (MariaDB reports
/// an unchanged row as 0 rows affected, which is how they are counted).
struct MergePlan {
    std::string stage;         ///< `sluice_stage`, the temporary table the loads write into
    std::vector<std::string> create;  ///< run once per connection, outside a transaction
    std::string clear;         ///< empties the staging tables before a partition
    std::string pick_last;     ///< keeps the last row's position per key in `sluice_keep`
    std::string drop_others;   ///< deletes the staged rows pick_last did not keep
    std::string keys;          ///< one value: distinct keys staged
    std::string existing;      ///< one value: staged keys the target holds
    std::string merge;         ///< INSERT ... ON DUPLICATE KEY UPDATE (or only new keys)
    bool updates = true;       ///< false: keys the target holds are left alone
};

/// `target_sql`: the quoted target, whose column types the staging table copies; `columns`: the
/// columns the partitions fill (the target's names), `key` and `order` among them. Without
/// `update`, a key the target holds is left alone (append with a key: only new keys).
MergePlan PlanMerge(const std::string& target_sql, const std::vector<std::string>& columns,
                    const std::vector<std::string>& key, const std::vector<std::string>& order, bool update);

}  // namespace sluice::mariadb
