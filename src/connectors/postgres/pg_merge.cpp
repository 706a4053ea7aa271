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
// Orders rows of a key as read; no target column is likely to carry this name.
constexpr const char* kOrdinal = "sluice__ord";

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

std::string JoinQuoted(const std::vector<std::string>& names, std::string_view prefix = {}) {
    std::string out;
    for (const std::string& name : names) {
        out += fmt::format("{}{}{}", out.empty() ? "" : ", ", prefix, QuoteIdent(name));
    }
    return out;
}

}  // namespace

MergeStatements PlanMerge(const std::string& target_sql, const std::vector<PgColumn>& columns,
                          const std::vector<std::string>& key, const std::vector<std::string>& order) {
    std::vector<std::string> names;
    std::string stage_columns = fmt::format("{} bigint GENERATED ALWAYS AS IDENTITY", kOrdinal);
    for (const PgColumn& c : columns) {
        names.push_back(c.name);
        // NOT NULL is kept so that a NULL is refused at COPY, where bisection can set the row
        // aside, rather than by the merge, which would fail the whole partition.
        stage_columns += fmt::format(", {} {}{}", QuoteIdent(c.name), c.type.native, c.not_null ? " NOT NULL" : "");
    }
    std::vector<std::string> key_names;
    for (const std::string& k : key) {
        key_names.push_back(Require(columns, k, "key").name);
    }
    std::string order_by = JoinQuoted(key_names);
    for (const std::string& o : order) {
        order_by += fmt::format(", {} DESC NULLS LAST", QuoteIdent(Require(columns, o, "merge order").name));
    }
    order_by += fmt::format(", {} DESC", kOrdinal);

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
    const std::string action =
        set.empty() ? "DO NOTHING"
                    : fmt::format("DO UPDATE SET {} WHERE ROW({}) IS DISTINCT FROM ROW({})", set, old_values, new_values);
    const std::string list = JoinQuoted(names);
    MergeStatements out;
    out.stage_table = kStage;
    out.stage_create =
        fmt::format("CREATE TEMP TABLE IF NOT EXISTS sluice_stage ({}) ON COMMIT DELETE ROWS", stage_columns);
    // xmax is 0 on a row the INSERT created and the locking transaction on one it updated.
    out.merge = fmt::format(
        "WITH latest AS MATERIALIZED (SELECT DISTINCT ON ({key}) {list} FROM {stage} ORDER BY {order}), "
        "merged AS (INSERT INTO {target} AS t ({list}) SELECT {list} FROM latest ON CONFLICT ({key}) {action} "
        "RETURNING t.xmax = 0 AS inserted) "
        "SELECT (SELECT count(*) FROM {stage}), (SELECT count(*) FROM latest), "
        "count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM merged",
        fmt::arg("key", JoinQuoted(key_names)), fmt::arg("list", list), fmt::arg("stage", kStage),
        fmt::arg("order", order_by), fmt::arg("target", target_sql), fmt::arg("action", action));
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

}  // namespace sluice::pg
