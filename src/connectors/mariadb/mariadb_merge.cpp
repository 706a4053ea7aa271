#include "connectors/mariadb/mariadb_merge.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "connectors/mariadb/mariadb_connection.hpp"

namespace sluice::mariadb {

namespace {

std::string Join(const std::vector<std::string>& names, const std::string& prefix = "") {
    std::string out;
    for (const std::string& name : names) {
        out += (out.empty() ? "" : ", ") + prefix + QuoteIdent(name);
    }
    return out;
}

std::string KeysEqual(const std::vector<std::string>& key, const std::string& a, const std::string& b) {
    std::string out;
    for (const std::string& k : key) {
        out += fmt::format("{}{}.{} = {}.{}", out.empty() ? "" : " AND ", a, QuoteIdent(k), b, QuoteIdent(k));
    }
    return out;
}

}  // namespace

MergePlan PlanMerge(const std::string& target_sql, const std::vector<std::string>& columns,
                    const std::vector<std::string>& key, const std::vector<std::string>& order, bool update) {
    MergePlan plan;
    plan.updates = update;
    plan.stage = "`sluice_stage`";
    const std::string cols = Join(columns);
    // Column types from the target (no indexes: rows of one key may repeat), plus the order
    // rows were read in. A temporary table is the connection's own and survives its transactions.
    plan.create = {
        "DROP TEMPORARY TABLE IF EXISTS `sluice_stage`, `sluice_keep`",
        fmt::format("CREATE TEMPORARY TABLE `sluice_stage` ENGINE=InnoDB AS SELECT {} FROM {} LIMIT 0", cols,
                    target_sql),
        "ALTER TABLE `sluice_stage` ADD `sluice_seq` BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY",
        "CREATE TEMPORARY TABLE `sluice_keep` (seq BIGINT NOT NULL PRIMARY KEY) ENGINE=InnoDB",
    };
    plan.clear = "DELETE FROM `sluice_stage`; DELETE FROM `sluice_keep`";
    // MariaDB cannot open a temporary table twice in one statement: the kept rows go through
    // sluice_keep. Window functions read the staging table once.
    std::string ordering;
    for (const std::string& o : order) {
        ordering += QuoteIdent(o) + " DESC, ";
    }
    // A NULL in the key matches no row of a unique index: each such row is its own key.
    std::string has_null;
    for (const std::string& k : key) {
        has_null += (has_null.empty() ? "" : " OR ") + QuoteIdent(k) + " IS NULL";
    }
    plan.pick_last = fmt::format(
        "INSERT INTO `sluice_keep` SELECT seq FROM (SELECT `sluice_seq` AS seq, {} AS has_null, ROW_NUMBER() OVER "
        "(PARTITION BY {} ORDER BY {}`sluice_seq` DESC) AS n FROM `sluice_stage`) AS ranked WHERE n = 1 OR has_null",
        has_null, Join(key), ordering);
    plan.drop_others = "DELETE s FROM `sluice_stage` AS s LEFT JOIN `sluice_keep` AS k ON k.seq = s.`sluice_seq` "
                       "WHERE k.seq IS NULL";
    plan.keys = "SELECT COUNT(*) FROM `sluice_stage`";  // one row per key once drop_others ran
    plan.existing = fmt::format("SELECT COUNT(*) FROM `sluice_stage` AS s JOIN {} AS t ON {}", target_sql,
                                KeysEqual(key, "s", "t"));
    if (!update) {
        plan.merge = fmt::format("INSERT INTO {0} ({1}) SELECT {2} FROM `sluice_stage` AS s LEFT JOIN {0} AS t ON {3} "
                                 "WHERE t.{4} IS NULL",
                                 target_sql, cols, Join(columns, "s."), KeysEqual(key, "s", "t"),
                                 QuoteIdent(key.front()));
        return plan;
    }
    std::string assignments;
    for (const std::string& c : columns) {
        if (std::find(key.begin(), key.end(), c) == key.end()) {
            assignments += fmt::format("{}{} = VALUES({})", assignments.empty() ? "" : ", ", QuoteIdent(c),
                                       QuoteIdent(c));
        }
    }
    if (assignments.empty()) {  // every column is the key: nothing to update
        assignments = fmt::format("{0} = {0}", QuoteIdent(key.front()));
    }
    plan.merge = fmt::format("INSERT INTO {} ({}) SELECT {} FROM `sluice_stage` ORDER BY `sluice_seq` ON DUPLICATE "
                             "KEY UPDATE {}",
                             target_sql, cols, cols, assignments);
    return plan;
}

}  // namespace sluice::mariadb
