#include "connectors/sqlite/sqlite_merge.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "connectors/sqlite/sqlite_db.hpp"
#include "core/error.hpp"

namespace sluice::sqlite {

namespace {

// Orders rows of a key as written; no target column is likely to carry this name.
constexpr const char* kOrdinal = "sluice__ord";

const Field& Require(const std::vector<Field>& columns, const std::string& name, const char* role) {
    const auto at = std::find_if(columns.begin(), columns.end(),
                                 [&](const Field& f) { return SameNameIgnoringCase(f.name, name); });
    if (at == columns.end()) {
        throw Error(ErrorKind::kConfig,
                    fmt::format("{} column {} is not among the columns loaded into the target", role, name));
    }
    return *at;
}

}  // namespace

MergeStatements PlanStage(const std::vector<Field>& columns, int id) {
    MergeStatements out;
    out.stage_table = fmt::format("temp.sluice_stage_{}", id);
    std::string stage_columns = fmt::format("{} INTEGER PRIMARY KEY", kOrdinal);
    for (const Field& f : columns) {
        // The target's declared types give the staged values the target's affinity, so that
        // a staged value compares equal to the stored one.
        stage_columns += fmt::format(", {} {}{}", QuoteIdent(f.name), f.native_type, f.nullable ? "" : " NOT NULL");
    }
    out.stage_create = fmt::format("CREATE TEMP TABLE IF NOT EXISTS sluice_stage_{} ({})", id, stage_columns);
    out.clear = "DELETE FROM " + out.stage_table;
    return out;
}

MergeStatements PlanMerge(const std::string& target_sql, const std::vector<Field>& columns,
                          const std::vector<std::string>& key, const std::vector<std::string>& order, bool update,
                          bool undelete, int id) {
    MergeStatements out = PlanStage(columns, id);
    std::string list;
    for (const Field& f : columns) {
        list += (list.empty() ? "" : ", ") + QuoteIdent(f.name);
    }
    std::vector<std::string> key_names;
    std::string key_list;
    std::string key_match;
    for (const std::string& k : key) {
        key_names.push_back(Require(columns, k, "key").name);
        const std::string q = QuoteIdent(key_names.back());
        key_list += (key_list.empty() ? "" : ", ") + q;
        key_match += fmt::format("{}t.{} = l.{}", key_match.empty() ? "" : " AND ", q, q);
    }
    std::string order_by;
    std::string old_order;
    std::string staged_order;
    std::string new_order;
    for (const std::string& o : order) {
        const std::string q = QuoteIdent(Require(columns, o, "merge order").name);
        order_by += fmt::format("{} DESC NULLS LAST, ", q);
        old_order += fmt::format("{}t.{}", old_order.empty() ? "" : ", ", q);
        staged_order += fmt::format("{}l.{}", staged_order.empty() ? "" : ", ", q);
        new_order += fmt::format("{}excluded.{}", new_order.empty() ? "" : ", ", q);
    }
    order_by += fmt::format("{} DESC", kOrdinal);
    std::string set;
    std::string differs;
    std::string same = key_match;  // the key first: the lookup goes through its index
    for (const Field& f : columns) {
        if (std::find(key_names.begin(), key_names.end(), f.name) != key_names.end()) {
            continue;
        }
        const std::string q = QuoteIdent(f.name);
        same += fmt::format(" AND t.{} IS l.{}", q, q);
        set += fmt::format("{}{} = excluded.{}", set.empty() ? "" : ", ", q, q);
        differs += fmt::format("{}t.{} IS NOT excluded.{}", differs.empty() ? "" : " OR ", q, q);
    }
    if (undelete) {
        // A key back in the source is alive again, whether or not its values changed.
        const std::string flag = QuoteIdent(kDeletedAt);
        same += fmt::format(" AND t.{} IS NULL", flag);
        set += fmt::format("{}{} = NULL", set.empty() ? "" : ", ", flag);
        differs += fmt::format("{}t.{} IS NOT NULL", differs.empty() ? "" : " OR ", flag);
    }
    // As on PostgreSQL: a row older by cursor than the target's row of its key does not
    // overwrite it (counted unchanged); a NULL cursor compares unknown, and the row applies.
    std::string kept = same;
    if (!old_order.empty() && !differs.empty()) {
        kept = fmt::format("{} AND (({}) OR ((({}) > ({})) IS TRUE))", key_match, same, old_order, staged_order);
        differs = fmt::format("({}) AND ((({}) > ({})) IS NOT TRUE)", differs, old_order, new_order);
    }
    const std::string latest = fmt::format(
        "WITH latest AS (SELECT {list} FROM (SELECT {list}, row_number() OVER (PARTITION BY {key} ORDER BY {order}) "
        "AS sluice__rn FROM {stage}) WHERE sluice__rn = 1) ",
        fmt::arg("list", list), fmt::arg("key", key_list), fmt::arg("order", order_by),
        fmt::arg("stage", out.stage_table));
    out.counts = latest + fmt::format(
        "SELECT (SELECT count(*) FROM {stage}), count(*), "
        "coalesce(sum(NOT EXISTS (SELECT 1 FROM {target} t WHERE {match})), 0), "
        "coalesce(sum(EXISTS (SELECT 1 FROM {target} t WHERE {kept})), 0) FROM latest l",
        fmt::arg("stage", out.stage_table), fmt::arg("target", target_sql), fmt::arg("match", key_match),
        fmt::arg("kept", kept));
    // `WHERE true` tells SQLite's parser that ON CONFLICT belongs to the INSERT, not a join.
    out.merge = latest + fmt::format("INSERT INTO {} AS t ({}) SELECT {} FROM latest WHERE true ON CONFLICT ({}) DO {}",
                                     target_sql, list, list, key_list,
                                     set.empty() || !update ? "NOTHING" : fmt::format("UPDATE SET {} WHERE {}", set, differs));
    out.updates = update && !set.empty();
    return out;
}

MergeCounts RunMerge(sqlite3* db, const MergeStatements& merge, const std::string& table_display,
                     const std::string& delete_missing) {
    const std::string what = "merging the partition into " + table_display;
    SqliteStmtPtr counts = Prepare(db, merge.counts, what);
    const int rc = sqlite3_step(counts.get());
    if (rc != SQLITE_ROW) {
        throw MakeError(db, rc, what);
    }
    const int64_t staged = sqlite3_column_int64(counts.get(), 0);
    const int64_t distinct = sqlite3_column_int64(counts.get(), 1);
    MergeCounts out;
    out.inserted = sqlite3_column_int64(counts.get(), 2);
    out.unchanged = sqlite3_column_int64(counts.get(), 3);
    out.updated = distinct - out.inserted - out.unchanged;
    if (!merge.updates) {  // a key present is left as it is, whatever its values
        out.unchanged += out.updated;
        out.updated = 0;
    }
    out.superseded = staged - distinct;
    counts.reset();
    ExecSql(db, merge.merge, what);
    if (!delete_missing.empty()) {
        ExecSql(db, delete_missing, "removing the keys the source no longer has from " + table_display);
        out.deleted = sqlite3_changes64(db);
    }
    ExecSql(db, merge.clear, what);
    return out;
}

std::string SliceScope(const std::vector<Field>& columns, const Slice& slice, const std::string& tenant_column,
                       const std::string& alias) {
    // Literals compare with the column's affinity: '100' against an INTEGER key is 100.
    const auto literal = [](const std::string& value) {
        std::string out = "'";
        for (const char c : value) {
            out += c == '\'' ? std::string("''") : std::string(1, c);
        }
        return out + "'";
    };
    std::string where;
    if (slice.strategy == "key_range") {
        const std::string key = alias + "." + QuoteIdent(Require(columns, slice.column, "partition").name);
        where = KeyRangeCondition(slice, key, literal);
    }
    if (!tenant_column.empty() && !slice.tenant.empty()) {
        where += fmt::format("{}{}.{} = {}", where.empty() ? "" : " AND ", alias, QuoteIdent(tenant_column),
                             literal(slice.tenant));
    }
    return where;
}

std::string DeleteMissingSql(const std::string& target_sql, const std::vector<Field>& columns,
                             const TargetSpec& target, const Slice& slice, const std::string& stage_table) {
    if (slice.strategy != "none" && slice.strategy != "key_range") {
        throw Error(ErrorKind::kInternal,
                    fmt::format("a {} partition has no key range to remove missing keys from", slice.strategy));
    }
    std::vector<std::string> where = {SliceScope(columns, slice, target.tenant_column, "t")};
    std::string match;
    for (const std::string& k : target.key) {
        const std::string q = QuoteIdent(Require(columns, k, "key").name);
        match += fmt::format("{}s.{} = t.{}", match.empty() ? "" : " AND ", q, q);
    }
    where.push_back(fmt::format("NOT EXISTS (SELECT 1 FROM {} s WHERE {})", stage_table, match));
    std::string condition;
    for (const std::string& w : where) {
        condition += w.empty() ? "" : (condition.empty() ? "" : " AND ") + w;
    }
    if (target.delete_missing == "soft") {
        return fmt::format("UPDATE {} AS t SET {} = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE t.{} IS NULL AND {}",
                           target_sql, QuoteIdent(kDeletedAt), QuoteIdent(kDeletedAt), condition);
    }
    return fmt::format("DELETE FROM {} AS t WHERE {}", target_sql, condition);
}

}  // namespace sluice::sqlite
