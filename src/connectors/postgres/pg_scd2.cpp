#include "connectors/postgres/pg_scd2.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <set>

#include "connectors/postgres/pg_connection.hpp"
#include "connectors/postgres/pg_names.hpp"
#include "connectors/postgres/pg_wire.hpp"
#include "core/error.hpp"

namespace sluice::pg {

namespace {

// The row text a hash is taken of must not depend on the session: pinned for the merge.
constexpr const char* kSettings =
    "SET LOCAL work_mem = '256MB'; SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; "
    "SET LOCAL IntervalStyle = 'postgres'; SET LOCAL extra_float_digits = 3; SET LOCAL bytea_output = 'hex'; "
    // Compiling the plan's statements costs ~180 ms each and saves nothing on one pass.
    "SET LOCAL jit = off";

std::string KeyList(const TargetSpec& spec) {
    std::string out;
    for (const std::string& k : spec.key) {
        out += (out.empty() ? "" : ", ") + QuoteIdent(k);
    }
    return out;
}

/// The history columns: (name, type for ALTER TABLE hints).
std::vector<std::pair<std::string, std::string>> HistoryColumns(const Scd2Spec& s, const std::string& time_type) {
    std::vector<std::pair<std::string, std::string>> out = {
        {s.valid_from, time_type}, {s.valid_to, time_type}, {s.current, "boolean"}, {s.hash, "text"}};
    if (s.hard_deletes == "new_record") {
        out.emplace_back(s.deleted, "boolean");
    }
    return out;
}

const PgColumn& Loaded(const std::vector<PgColumn>& loaded, const std::string& name, const char* role,
                       const std::string& display) {
    if (const PgColumn* c = FindColumn(loaded, name)) {
        return *c;
    }
    throw Error(ErrorKind::kSchema, fmt::format("mode scd2 into {}: the {} column {} is not among the columns "
                                                "loaded from the source",
                                                display, role, name));
}

/// Types whose values are equal exactly when their text is (format_type's names, without a
/// type modifier): for them equal values mean an equal hash. Not numeric (1.0 = 1.00), the
/// floats (0 = -0), interval ('1 day' = '24 hours'), json, character (padding), arrays, domains.
bool EqualMeansSameText(const std::string& native) {
    static const std::set<std::string> kExact = {
        "smallint", "integer", "bigint", "oid", "boolean", "text", "character varying", "bytea", "uuid", "date",
        "timestamp without time zone", "timestamp with time zone"};
    std::string bare;  // "timestamp(3) with time zone" -> "timestamp with time zone"
    for (size_t i = 0; i < native.size(); ++i) {
        if (native[i] == '(') {
            i = native.find(')', i);
            if (i == std::string::npos) {
                return false;
            }
            continue;
        }
        bare += native[i];
    }
    return kExact.count(bare) > 0;
}

/// Compares the tracked columns' values instead of their hash when every one is of such a
/// type: an unchanged row then costs no md5 of its row text. Texts compare in the "C"
/// collation, byte by byte, as their hash does. Equal to comparing hashes while the hash
/// column holds the hash of its row's tracked values, as sluice writes it.
std::function<std::string(const std::string&, const std::string&)> ValuesDiffer(
    const std::vector<PgColumn>& loaded, const std::vector<std::string>& tracked) {
    std::vector<std::pair<std::string, bool>> columns;  // quoted name, compares in "C"
    for (const std::string& quoted : tracked) {
        const auto c = std::find_if(loaded.begin(), loaded.end(),
                                    [&](const PgColumn& l) { return QuoteIdent(l.name) == quoted; });
        if (c == loaded.end() || !EqualMeansSameText(c->type.native)) {
            return {};
        }
        columns.emplace_back(quoted, c->type.native.rfind("text", 0) == 0 ||
                                         c->type.native.rfind("character varying", 0) == 0);
    }
    if (columns.empty()) {
        return {};
    }
    return [columns](const std::string& a, const std::string& b) {
        std::string out;
        for (const auto& [name, text] : columns) {
            out += fmt::format("{}{}.{}{} IS DISTINCT FROM {}.{}", out.empty() ? "(" : " OR ", a, name,
                               text ? " COLLATE \"C\"" : "", b, name);
        }
        return out + ")";
    };
}

}  // namespace

Scd2Ddl PlanScd2Ddl(const TargetSpec& spec, const Schema& source, const std::string& table_sql,
                    const std::string& table_name) {
    std::string time_type = "timestamptz";
    if (!spec.scd2.updated_at.empty()) {
        const std::optional<size_t> at = source.Find(spec.scd2.updated_at);
        if (!at) {
            throw Error(ErrorKind::kSchema, fmt::format("mode scd2 into {}: scd2.updated_at {} is not a source column",
                                                        table_name, spec.scd2.updated_at));
        }
        time_type = SqlTypeFor(source.fields[*at]);
    }
    Scd2Ddl out;
    const Scd2Spec& s = spec.scd2;
    out.columns = fmt::format(", {} {} NOT NULL, {} {}, {} boolean NOT NULL DEFAULT true, {} text", QuoteIdent(s.valid_from),
                              time_type, QuoteIdent(s.valid_to), time_type, QuoteIdent(s.current), QuoteIdent(s.hash));
    if (s.hard_deletes == "new_record") {
        out.columns += fmt::format(", {} boolean NOT NULL DEFAULT false", QuoteIdent(s.deleted));
    }
    const std::string key = KeyList(spec);
    out.indexes.push_back(fmt::format("CREATE UNIQUE INDEX ON {} ({}, {})", table_sql, key, QuoteIdent(s.valid_from)));
    out.indexes.push_back(
        fmt::format("CREATE UNIQUE INDEX ON {} ({}) WHERE {}", table_sql, key, QuoteIdent(s.current)));
    return out;
}

Scd2Target PlanPgScd2(const TargetSpec& spec, const std::string& table_sql, const std::string& display,
                      const std::vector<PgColumn>& loaded, const std::vector<PgColumn>& table) {
    const Scd2Spec& s = spec.scd2;
    std::string time_type = "timestamptz";
    if (const PgColumn* vf = FindColumn(table, s.valid_from)) {
        time_type = vf->type.native;
    }
    std::vector<std::string> missing;
    for (const auto& [name, type] : HistoryColumns(s, time_type)) {
        if (FindColumn(loaded, name)) {
            throw Error(ErrorKind::kSchema,
                        fmt::format("mode scd2 into {}: the source has a column {}, which is a history column sluice "
                                    "fills; leave it out of the source (source.query) or name the history "
                                    "column differently (target.scd2)",
                                    display, name));
        }
        if (!FindColumn(table, name)) {
            missing.push_back(fmt::format("ADD COLUMN {} {}", QuoteIdent(name), type));
        }
    }
    if (!missing.empty()) {
        std::string alter;
        for (const std::string& m : missing) {
            alter += (alter.empty() ? "" : ", ") + m;
        }
        throw Error(ErrorKind::kSchema,
                    fmt::format("mode scd2 into {}: the table lacks history columns; add them (ALTER TABLE {} {}), "
                                "or let sluice create the table",
                                display, display, alter));
    }
    Scd2Target t;
    t.table = table_sql;
    for (const std::string& k : spec.key) {
        t.key.push_back(QuoteIdent(Loaded(loaded, k, "key", display).name));
    }
    for (const PgColumn& c : loaded) {
        t.loaded.push_back(QuoteIdent(c.name));
    }
    if (!s.updated_at.empty()) {
        t.updated_at = QuoteIdent(Loaded(loaded, s.updated_at, "scd2.updated_at", display).name);
    }
    if (s.tracked.empty()) {
        for (const std::string& c : t.loaded) {
            if (std::find(t.key.begin(), t.key.end(), c) == t.key.end() && c != t.updated_at) {
                t.tracked.push_back(c);
            }
        }
    } else {
        for (const std::string& name : s.tracked) {
            const std::string q = QuoteIdent(Loaded(loaded, name, "tracked", display).name);
            if (std::find(t.key.begin(), t.key.end(), q) != t.key.end()) {
                throw Error(ErrorKind::kConfig, fmt::format("mode scd2 into {}: scd2.tracked names the key column {}; "
                                                            "a key identifies the history, it does not change in it",
                                                            display, name));
            }
            t.tracked.push_back(q);
        }
    }
    t.values_differ = ValuesDiffer(loaded, t.tracked);
    for (const std::string& o : spec.merge_order) {
        t.order.push_back(QuoteIdent(Loaded(loaded, o, "incremental cursor", display).name));
    }
    t.valid_from = QuoteIdent(FindColumn(table, s.valid_from)->name);
    t.valid_to = QuoteIdent(FindColumn(table, s.valid_to)->name);
    t.current = QuoteIdent(FindColumn(table, s.current)->name);
    t.hash = QuoteIdent(FindColumn(table, s.hash)->name);
    if (s.hard_deletes == "new_record") {
        t.deleted = QuoteIdent(FindColumn(table, s.deleted)->name);
    }
    t.hard_deletes = s.hard_deletes;
    t.unique_keys = spec.unique_keys;
    t.stage = "pg_temp.sluice_stage";
    t.read_order = "s.ctid";  // the staging table is emptied at commit and only appended to
    t.temp_prefix = "pg_temp.";
    t.analyze = "ANALYZE";
    t.run_time = fmt::format("{}::timestamptz::{}",
                             spec.run_started_at.empty() ? "now()" : QuoteLiteral(spec.run_started_at), time_type);
    // md5 of the row value's text: quoted and delimited per field, so ('a','bc') and
    // ('ab','c') differ, and NULL differs from ''.
    t.hash_of = [](const std::vector<std::string>& columns) {
        std::string list;
        for (const std::string& c : columns) {
            list += (list.empty() ? "" : ", ") + c;
        }
        return fmt::format("md5(ROW({})::text)", list);
    };
    return t;
}

std::optional<Scd2RowFilter> PlanScd2RowFilter(const Scd2Target& t, const std::vector<PgColumn>& loaded) {
    if (!t.unique_keys || !t.updated_at.empty() || !t.values_differ) {
        return std::nullopt;
    }
    const auto at = [&](const std::string& quoted) {
        const auto c = std::find_if(loaded.begin(), loaded.end(),
                                    [&](const PgColumn& l) { return QuoteIdent(l.name) == quoted; });
        return static_cast<size_t>(c - loaded.begin());
    };
    std::vector<size_t> key;
    std::vector<size_t> tracked;
    std::vector<PgColumn> current;
    for (const std::string& k : t.key) {
        key.push_back(at(k));
        current.push_back(loaded.at(key.back()));
    }
    for (const std::string& c : t.tracked) {
        tracked.push_back(at(c));
        current.push_back(loaded.at(tracked.back()));
    }
    return Scd2RowFilter(loaded.size(), std::move(key), std::move(tracked), std::move(current));
}

std::string CurrentVersionsCopySql(const Scd2Target& t, const std::vector<std::string>& scope) {
    std::string columns;
    for (const std::vector<std::string>* list : {&t.key, &t.tracked}) {
        for (const std::string& c : *list) {
            columns += (columns.empty() ? "x." : ", x.") + c;
        }
    }
    std::string where = fmt::format("x.{} AND x.{} < {}", t.current, t.valid_from, t.run_time);
    for (const std::string& k : t.key) {
        where += fmt::format(" AND x.{} IS NOT NULL", k);  // a NULL key matches no row: never dropped
    }
    if (!t.deleted.empty()) {
        where += fmt::format(" AND x.{} IS NOT TRUE", t.deleted);
    }
    for (const std::string& c : scope) {
        where += c.empty() ? "" : " AND " + c;
    }
    return fmt::format("COPY (SELECT {} FROM {} x WHERE {}) TO STDOUT (FORMAT binary)", columns, t.table, where);
}

MergeCounts RunPgScd2(PgConnection& conn, const Scd2Target& target, const std::vector<std::string>& scope,
                      const std::string& display, const Scd2RowFilter* filter) {
    std::string condition;
    for (const std::string& c : scope) {
        condition += c.empty() ? "" : (condition.empty() ? "" : " AND ") + c;
    }
    const std::string what = "merging the partition's history into " + display;
    Scd2Target t = target;
    if (filter && t.hard_deletes != "ignore") {
        t.unseen_keys = "pg_temp.sluice_scd2_unseen";
        std::string keys;
        for (const std::string& k : t.key) {
            keys += (keys.empty() ? "x." : ", x.") + k;
        }
        conn.Exec(fmt::format("DROP TABLE IF EXISTS {0}; CREATE TEMP TABLE {0} AS SELECT {1} FROM {2} x LIMIT 0",
                              t.unseen_keys, keys, t.table),
                  what);
        WireBuffer unseen;
        filter->AppendKeysNotDropped(unseen);
        conn.BeginCopyIn(fmt::format("COPY {} FROM STDIN (FORMAT binary)", t.unseen_keys), what);
        conn.PutCopyData(unseen.view());
        conn.EndCopyIn();
    }
    const Scd2Statements sql = PlanScd2(t, condition);
    conn.Exec(kSettings, what);
    for (const std::string& statement : sql.plan) {
        conn.Exec(statement, what);
    }
    PgResultPtr counts = conn.Exec(sql.counts, what);
    const auto value = [](const PGresult* r, int i) { return std::stoll(PQgetvalue(r, 0, i)); };
    for (const std::string& statement : sql.apply) {
        conn.Exec(statement, what);
    }
    int64_t deleted = 0;
    if (!sql.deletes.empty()) {
        const std::string closing = "closing the keys the source no longer has in " + display;
        for (const std::string& statement : sql.deletes) {
            conn.Exec(statement, closing);
        }
        PgResultPtr gone = conn.Exec(sql.deleted, closing);
        deleted = value(gone.get(), 0);
    }
    for (const std::string& statement : sql.cleanup) {
        conn.Exec(statement, what);
    }
    const int64_t dropped = filter ? filter->dropped() : 0;
    return Scd2Counts(value(counts.get(), 0) + dropped, value(counts.get(), 1) + dropped,
                      value(counts.get(), 2) + dropped, value(counts.get(), 3), deleted);
}

}  // namespace sluice::pg
