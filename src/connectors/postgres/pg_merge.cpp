#include "connectors/postgres/pg_merge.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <string_view>

#include "connectors/postgres/pg_names.hpp"
#include "core/error.hpp"

namespace sluice::pg {

namespace {

constexpr const char* kStage = "pg_temp.sluice_stage";
// The sort of a partition's rows by key stays in memory up to this size (the default 4MB
// spills a 50,000-row partition to disk).
constexpr const char* kMergeWorkMem = "256MB";

const PgColumn& Require(const std::vector<PgColumn>& columns, const std::string& name, const char* role) {
    if (const PgColumn* column = FindColumn(columns, name)) {
        return *column;
    }
    throw Error(ErrorKind::kConfig,
                fmt::format("{} column {} is not among the columns loaded into the target", role, name));
}

/// Types without an equality operator (json, xml, geometric): compared by their text.
bool ComparesAsText(const PgColumn& column) {
    static constexpr std::array<std::string_view, 10> kNoEquality = {
        "json", "xml", "point", "line", "lseg", "box", "path", "polygon", "circle", "json[]"};
    return std::find(kNoEquality.begin(), kNoEquality.end(), column.type.native) != kNoEquality.end();
}

std::string JoinQuoted(const std::vector<std::string>& names) {
    std::string out;
    for (const std::string& name : names) {
        out += fmt::format("{}{}", out.empty() ? "" : ", ", QuoteIdent(name));
    }
    return out;
}

}  // namespace

MergeStatements PlanStage(const std::vector<PgColumn>& columns) {
    std::string stage_columns;
    for (const PgColumn& c : columns) {
        // NOT NULL is kept so that a NULL is refused at COPY, where bisection can set the row
        // aside, rather than by the merge, which would fail the whole partition.
        stage_columns += fmt::format("{}{} {}{}", stage_columns.empty() ? "" : ", ", QuoteIdent(c.name),
                                     c.type.native, c.not_null ? " NOT NULL" : "");
    }
    MergeStatements out;
    out.stage_table = kStage;
    out.stage_create =
        fmt::format("CREATE TEMP TABLE IF NOT EXISTS sluice_stage ({}) ON COMMIT DELETE ROWS", stage_columns);
    out.settings = fmt::format("SET LOCAL work_mem = '{}'", kMergeWorkMem);
    return out;
}

MergeStatements PlanMerge(const std::string& target_sql, const std::vector<PgColumn>& columns,
                          const std::vector<std::string>& key, const std::vector<std::string>& order, bool update,
                          bool undelete, bool unique_keys) {
    std::vector<std::string> names;
    for (const PgColumn& c : columns) {
        names.push_back(c.name);
    }
    std::vector<std::string> key_names;
    for (const std::string& k : key) {
        key_names.push_back(Require(columns, k, "key").name);
    }
    std::string order_by = JoinQuoted(key_names);
    std::string old_order;
    std::string new_order;
    for (const std::string& o : order) {
        const std::string name = QuoteIdent(Require(columns, o, "merge order").name);
        order_by += fmt::format(", {} DESC NULLS LAST", name);
        old_order += fmt::format("{}t.{}", old_order.empty() ? "" : ", ", name);
        new_order += fmt::format("{}EXCLUDED.{}", new_order.empty() ? "" : ", ", name);
    }
    // Then the order read: the staging table is emptied at every commit and only appended
    // to, so its rows' physical order (ctid) is the order they were copied in.
    order_by += ", ctid DESC";

    std::string set;
    std::string old_values;
    std::string new_values;
    for (const PgColumn& c : columns) {
        if (std::find(key_names.begin(), key_names.end(), c.name) != key_names.end()) {
            continue;
        }
        const std::string name = QuoteIdent(c.name);
        const char* cast = ComparesAsText(c) ? "::text" : "";
        set += fmt::format("{}{} = EXCLUDED.{}", set.empty() ? "" : ", ", name, name);
        old_values += fmt::format("{}t.{}{}", old_values.empty() ? "" : ", ", name, cast);
        new_values += fmt::format("{}EXCLUDED.{}{}", new_values.empty() ? "" : ", ", name, cast);
    }
    // A key whose every column is in the key has nothing to update: present means unchanged.
    // A row older by cursor than the target's row of its key (read again by a lookback, or
    // a late arrival) does not overwrite it: the latest row by cursor wins across runs too.
    // A NULL cursor on either side compares unknown, and the row applies.
    const std::string newer =
        old_order.empty() ? "" : fmt::format(" AND (ROW({}) > ROW({})) IS NOT TRUE", old_order, new_order);
    std::string differs = fmt::format("ROW({}) IS DISTINCT FROM ROW({})", old_values, new_values);
    if (undelete) {
        // A key back in the source is alive again, whether or not its values changed.
        set += fmt::format("{}{} = NULL", set.empty() ? "" : ", ", QuoteIdent(kDeletedAt));
        differs = old_values.empty() ? fmt::format("t.{} IS NOT NULL", QuoteIdent(kDeletedAt))
                                     : fmt::format("({} OR t.{} IS NOT NULL)", differs, QuoteIdent(kDeletedAt));
    }
    const std::string action = set.empty() || !update
                                   ? "DO NOTHING"
                                   : fmt::format("DO UPDATE SET {} WHERE {}{}", set, differs, newer);
    const std::string list = JoinQuoted(names);
    MergeStatements out = PlanStage(columns);
    // xmax is 0 on a row the INSERT created and the locking transaction on one it updated.
    out.merge = fmt::format(
        "WITH latest AS MATERIALIZED ({latest}), "
        "merged AS (INSERT INTO {target} AS t ({list}) SELECT {list} FROM latest ON CONFLICT ({key}) {action} "
        "RETURNING t.xmax = 0 AS inserted) "
        "SELECT (SELECT count(*) FROM {stage}), (SELECT count(*) FROM latest), "
        "count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM merged",
        fmt::arg("latest", unique_keys ? fmt::format("SELECT {} FROM {}", list, kStage)
                                       : fmt::format("SELECT DISTINCT ON ({}) {} FROM {} ORDER BY {}",
                                                     JoinQuoted(key_names), list, kStage, order_by)),
        fmt::arg("key", JoinQuoted(key_names)), fmt::arg("list", list), fmt::arg("stage", kStage),
        fmt::arg("target", target_sql), fmt::arg("action", action));
    return out;
}

MergeCounts ReadMergeCounts(const PGresult* result) {
    if (PQntuples(result) != 1 || PQnfields(result) != 4) {
        throw Error(ErrorKind::kInternal, "the merge statement returned an unexpected result");
    }
    const auto value = [&](int i) { return std::stoll(PQgetvalue(result, 0, i)); };
    const int64_t staged = value(0);
    const int64_t distinct = value(1);
    MergeCounts counts;
    counts.inserted = value(2);
    counts.updated = value(3);
    counts.unchanged = distinct - counts.inserted - counts.updated;
    counts.superseded = staged - distinct;
    return counts;
}

void RequireKeyRange(const Slice& slice) {
    if (slice.strategy != "none" && slice.strategy != "key_range") {
        throw Error(ErrorKind::kInternal,
                    fmt::format("a {} partition has no key range to remove missing keys from", slice.strategy));
    }
}

std::vector<std::string> SliceScope(const std::vector<PgColumn>& columns, const Slice& slice,
                                    const std::string& tenant_column, const std::string& alias) {
    std::vector<std::string> where;
    if (slice.strategy == "key_range") {
        const PgColumn& key = Require(columns, slice.column, "partition");
        where.push_back(KeyRangeCondition(slice, alias + "." + QuoteIdent(key.name), [&](const std::string& value) {
            return fmt::format("{}::{}", QuoteLiteral(value), key.type.native);
        }));
    }
    if (!tenant_column.empty() && !slice.tenant.empty()) {
        where.push_back(fmt::format("{}.{}::text = {}", alias, QuoteIdent(tenant_column), QuoteLiteral(slice.tenant)));
    }
    return where;
}

std::string DeleteMissingSql(const std::string& target_sql, const std::vector<PgColumn>& columns,
                             const DeleteMissing& spec, const Slice& slice) {
    RequireKeyRange(slice);
    std::vector<std::string> where = SliceScope(columns, slice, spec.tenant_column, "t");
    std::string match;
    for (const std::string& k : spec.key) {
        const std::string q = QuoteIdent(Require(columns, k, "key").name);
        match += fmt::format("{}s.{} = t.{}", match.empty() ? "" : " AND ", q, q);
    }
    where.push_back(fmt::format("NOT EXISTS (SELECT 1 FROM {} s WHERE {})", kStage, match));
    std::string condition;
    for (const std::string& w : where) {
        condition += w.empty() ? "" : (condition.empty() ? "" : " AND ") + w;
    }
    if (spec.mode == "soft") {
        return fmt::format("UPDATE {} AS t SET {} = now() WHERE t.{} IS NULL AND {}", target_sql, QuoteIdent(kDeletedAt),
                           QuoteIdent(kDeletedAt), condition);
    }
    return fmt::format("DELETE FROM {} AS t WHERE {}", target_sql, condition);
}

}  // namespace sluice::pg
