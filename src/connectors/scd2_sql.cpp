#include "connectors/scd2_sql.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace sluice {

namespace {

/// "a.x, a.y" (or "x, y" without an alias).
std::string List(const std::vector<std::string>& names, const std::string& alias = "") {
    std::string out;
    for (const std::string& n : names) {
        out += (out.empty() ? "" : ", ") + (alias.empty() ? n : alias + "." + n);
    }
    return out;
}

/// "a.k1 = b.k1 AND a.k2 = b.k2".
std::string Match(const std::vector<std::string>& key, const std::string& a, const std::string& b) {
    std::string out;
    for (const std::string& k : key) {
        out += fmt::format("{}{}.{} = {}.{}", out.empty() ? "" : " AND ", a, k, b, k);
    }
    return out;
}

/// "x.k1 IS NULL OR x.k2 IS NULL".
std::string NullKey(const std::vector<std::string>& key) {
    std::string out;
    for (const std::string& k : key) {
        out += fmt::format("{}x.{} IS NULL", out.empty() ? "" : " OR ", k);
    }
    return out;
}

std::vector<std::string> Qualified(const std::vector<std::string>& names, const std::string& alias) {
    std::vector<std::string> out;
    for (const std::string& n : names) {
        out.push_back(alias + "." + n);
    }
    return out;
}

/// The plan of a partition's points against the history of their keys. Every staged key's
/// versions and points form one timeline ordered by time (a version before a point at the same
/// time), and every window below shares that order, so the server sorts once. Per point:
///  - V is the last version at or before it: V's start is the running max of the versions'
///    starts, and V's end the running max of their ends when that is after V's start (versions
///    never overlap, so their ends grow; V still open leaves an earlier version's end);
///  - it is kept unless the element before it has the same hash and state at its time: not a
///    deleted version, and not across the gap an invalidated V left (V ended at or before the
///    point, and the element before is V itself or a point before V's end);
///  - a kept point at exactly V's start overwrites V ('update'), else it is 'insert'ed.
/// Then an inserted point ends where the next version or inserted point starts, or where V
/// ended when that is sooner; a version is closed where the next inserted point starts, when
/// it still covers it.
std::string PlanSelect(const Scd2Target& t, const std::string& points, const std::string& scope) {
    const std::string key = List(t.key);
    const std::string deleted_flag =
        t.deleted.empty() ? "0" : fmt::format("CASE WHEN x.{} THEN 1 ELSE 0 END", t.deleted);
    return fmt::format(
        "SELECT {key}, sluice_t, sluice_src, sluice_keep, sluice_action, "
        "CASE WHEN run_vf IS NOT NULL OR next_vf IS NOT NULL THEN 1 ELSE 0 END AS sluice_known, "
        "CASE WHEN sluice_src = 0 AND next_insert IS NOT NULL AND (sluice_vt IS NULL OR next_insert < sluice_vt) "
        "THEN next_insert END AS sluice_close_at, "
        "CASE WHEN sluice_src = 0 OR sluice_keep = 0 OR sluice_action <> 'insert' THEN NULL "
        "WHEN grp_vt IS NOT NULL AND grp_vt > sluice_t AND (next_t IS NULL OR next_t > grp_vt) THEN grp_vt "
        "ELSE next_t END AS sluice_new_vt "
        "FROM (SELECT d.*, "
        "MIN(CASE WHEN sluice_src = 1 AND sluice_keep = 1 AND sluice_action = 'insert' THEN sluice_t END) "
        "OVER (w ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_insert, "
        "MIN(CASE WHEN sluice_src = 0 OR (sluice_keep = 1 AND sluice_action = 'insert') THEN sluice_t END) "
        "OVER (w ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_t, "
        "MIN(CASE WHEN sluice_src = 0 THEN sluice_t END) OVER (w ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) "
        "AS next_vf "
        "FROM (SELECT g.*, "
        "CASE WHEN sluice_src = 0 OR prev_src IS NULL THEN 1 WHEN prev_src = 0 AND prev_del = 1 THEN 1 "
        "WHEN grp_vt IS NOT NULL AND grp_vt <= sluice_t AND (prev_src = 0 OR prev_t < grp_vt) THEN 1 "
        "WHEN prev_h = sluice_h THEN 0 ELSE 1 END AS sluice_keep, "
        "CASE WHEN sluice_src = 0 THEN NULL WHEN prev_src = 0 AND prev_t = sluice_t THEN 'update' ELSE 'insert' END "
        "AS sluice_action "
        "FROM (SELECT r.*, CASE WHEN run_vt > run_vf THEN run_vt END AS grp_vt "
        "FROM (SELECT tl.*, LAG(sluice_src) OVER w AS prev_src, LAG(sluice_t) OVER w AS prev_t, "
        "LAG(sluice_h) OVER w AS prev_h, LAG(sluice_del) OVER w AS prev_del, "
        "MAX(CASE WHEN sluice_src = 0 THEN sluice_t END) OVER w AS run_vf, "
        "MAX(CASE WHEN sluice_src = 0 THEN sluice_vt END) OVER w AS run_vt "
        "FROM (SELECT {xkey}, x.{vf} AS sluice_t, x.{hash} AS sluice_h, x.{vt} AS sluice_vt, {del} AS sluice_del, "
        "0 AS sluice_src FROM {table} x WHERE {scope}EXISTS (SELECT 1 FROM {points} p WHERE {px}) "
        "UNION ALL SELECT {pkey}, p.sluice_t, p.sluice_h, NULL, 0, 1 FROM {points} p) tl "
        "WINDOW w AS (PARTITION BY {key} ORDER BY sluice_t, sluice_src ROWS UNBOUNDED PRECEDING)) r) g) d "
        "WINDOW w AS (PARTITION BY {key} ORDER BY sluice_t, sluice_src)) h",
        fmt::arg("xkey", List(t.key, "x")), fmt::arg("pkey", List(t.key, "p")),
        fmt::arg("key", key), fmt::arg("vf", t.valid_from), fmt::arg("vt", t.valid_to), fmt::arg("hash", t.hash),
        fmt::arg("del", deleted_flag), fmt::arg("table", t.table), fmt::arg("points", points),
        fmt::arg("px", Match(t.key, "p", "x")), fmt::arg("scope", scope.empty() ? "" : scope + " AND "));
}

/// With one point per key (unique keys, or the check strategy's single time), most points come
/// after every version of their key: then V is the key's current version, found by a join on
/// the index of current rows rather than by sorting the key's history, and the point is a new
/// version unless V is alive with the same hash (V closes at the point). The points are made
/// by that join, and a point that changes nothing is dropped there: an unchanged key costs one
/// hash and one index probe (or, with `values_differ`, a comparison of values and no hash), and
/// nothing later in the merge sees it. `sluice_simple` = 0 marks the points of keys with a
/// version at or after the point, or with closed versions only: they are left to PlanSelect. (The lookup of a key without a current version is a LIMIT 1
/// subquery: as EXISTS, PostgreSQL hashes the whole table for it.)
std::string QuickPointsSql(const Scd2Target& t, const std::string& points, const std::string& source,
                           const std::string& scope) {
    const std::string deleted_flag =
        t.deleted.empty() ? "0" : fmt::format("CASE WHEN x.{} THEN 1 ELSE 0 END", t.deleted);
    return fmt::format(
        "CREATE TEMP TABLE {points} AS SELECT q.*, x.{vf} AS cur_vf, x.{hash} AS cur_h, {del} AS cur_del, "
        "CASE WHEN x.{vf} IS NOT NULL THEN CASE WHEN x.{vf} < q.sluice_t THEN 1 ELSE 0 END "
        "WHEN (SELECT 1 FROM {table} y WHERE {qy} LIMIT 1) IS NOT NULL THEN 0 ELSE 1 END AS sluice_simple "
        "FROM {source} q LEFT JOIN {table} x ON {qx} AND x.{cur}{scope} "
        "WHERE x.{vf} IS NULL OR x.{vf} >= q.sluice_t OR {del} = 1 OR {changed}",
        fmt::arg("points", points), fmt::arg("vf", t.valid_from), fmt::arg("hash", t.hash),
        fmt::arg("del", deleted_flag), fmt::arg("table", t.table), fmt::arg("qy", Match(t.key, "q", "y")),
        fmt::arg("source", source), fmt::arg("qx", Match(t.key, "q", "x")), fmt::arg("cur", t.current),
        fmt::arg("scope", scope.empty() ? "" : " AND " + scope),
        fmt::arg("changed", t.values_differ ? t.values_differ("x", "q")
                                            : fmt::format("x.{} IS NULL OR x.{} <> q.sluice_h", t.hash, t.hash)));
}

/// The plan of QuickPointsSql's points: the simple ones are new versions (closing V), the rest
/// take PlanSelect.
std::vector<std::string> QuickPlanSql(const Scd2Target& t, const std::string& points, const std::string& plan,
                                      const std::string& scope) {
    const std::string key = List(t.key);
    // NULLs typed like the times, so that the union and the INSERT below agree on types.
    const std::string simple = fmt::format(
        "(SELECT q.*, CASE WHEN cur_vf IS NULL OR cur_del = 1 THEN 1 WHEN cur_h = sluice_h THEN 0 ELSE 1 END "
        "AS sluice_keep FROM {} q WHERE sluice_simple = 1) s",
        points);
    return {fmt::format(
                "CREATE TEMP TABLE {plan} AS SELECT {key}, sluice_t, 1 AS sluice_src, sluice_keep, 'insert' AS "
                "sluice_action, CASE WHEN cur_vf IS NULL THEN 0 ELSE 1 END AS sluice_known, CASE WHEN 1 = 0 THEN "
                "sluice_t END AS sluice_close_at, CASE WHEN 1 = 0 THEN sluice_t END AS sluice_new_vt FROM {simple} "
                "UNION ALL SELECT {key}, cur_vf, 0, 1, NULL, 1, sluice_t, CASE WHEN 1 = 0 THEN sluice_t END FROM "
                "{simple} WHERE sluice_keep = 1 AND cur_vf IS NOT NULL",
                fmt::arg("plan", plan), fmt::arg("key", key), fmt::arg("simple", simple)),
            fmt::format("INSERT INTO {} {}", plan,
                        PlanSelect(t, fmt::format("(SELECT * FROM {} WHERE sluice_simple = 0)", points), scope))};
}

/// A key that comes back after a deletion, with its last point at or before the deletion time,
/// gets that point at the run's start time: it reopens rather than landing inside history.
std::string ReappearSql(const Scd2Target& t, const std::string& points) {
    const std::string flagged = t.deleted.empty() ? "" : fmt::format("WHEN x.{} THEN x.{} ", t.deleted, t.valid_from);
    const std::string deletion = fmt::format(
        "(SELECT CASE {flagged}WHEN x.{vt} IS NOT NULL THEN x.{vt} END FROM {table} x WHERE {match} "
        "ORDER BY x.{vf} DESC LIMIT 1)",
        fmt::arg("flagged", flagged), fmt::arg("vt", t.valid_to), fmt::arg("vf", t.valid_from),
        fmt::arg("table", t.table), fmt::arg("match", Match(t.key, "x", "p")));
    return fmt::format(
        "UPDATE {points} AS p SET sluice_t = {now} WHERE p.sluice_t = (SELECT max(q.sluice_t) FROM {points} q "
        "WHERE {match}) AND p.sluice_t <= {deletion} AND {now} > {deletion}",
        fmt::arg("points", points), fmt::arg("now", t.run_time), fmt::arg("match", Match(t.key, "q", "p")),
        fmt::arg("deletion", deletion));
}

}  // namespace

Scd2Statements PlanScd2(const Scd2Target& t, const std::string& scope) {
    const std::string points = t.temp_prefix + "sluice_scd2_points" + t.temp_suffix;
    const std::string plan = t.temp_prefix + "sluice_scd2_plan" + t.temp_suffix;
    const std::string gone = t.temp_prefix + "sluice_scd2_gone" + t.temp_suffix;
    const std::string latest = t.temp_prefix + "sluice_scd2_latest" + t.temp_suffix;
    const std::string time = t.updated_at.empty() ? t.run_time : fmt::format("COALESCE(s.{}, {})", t.updated_at, t.run_time);
    std::string order;
    for (const std::string& o : t.order) {
        order += fmt::format("s.{} DESC NULLS LAST, ", o);
    }
    const std::string history = fmt::format("{}, {}, {}, {}, {}{}", List(t.loaded), t.valid_from, t.valid_to, t.current,
                                            t.hash, t.deleted.empty() ? "" : ", " + t.deleted);
    const std::string alive = t.deleted.empty() ? "" : ", FALSE";

    Scd2Statements out;
    out.plan.push_back("DROP TABLE IF EXISTS " + points);
    out.plan.push_back("DROP TABLE IF EXISTS " + plan);
    out.plan.push_back("DROP TABLE IF EXISTS " + latest);
    // The points: per key (and time, with the timestamp strategy) the last staged row.
    const std::string hash = t.hash_of(Qualified(t.tracked, "s"));
    std::string source;
    if (t.unique_keys) {
        source = fmt::format("(SELECT {}, {} AS sluice_t, {} AS sluice_h FROM {} s)", List(t.loaded, "s"), time, hash,
                             t.stage);
    } else {
        source = fmt::format(
            "(SELECT {loaded}, sluice_t, {hash} AS sluice_h FROM (SELECT s.*, {time} AS sluice_t, ROW_NUMBER() "
            "OVER (PARTITION BY {key}{by_time} ORDER BY {order}{read_order} DESC) AS sluice_rn FROM {stage} s) s "
            "WHERE s.sluice_rn = 1)",
            fmt::arg("loaded", List(t.loaded, "s")), fmt::arg("hash", hash), fmt::arg("time", time),
            fmt::arg("key", List(t.key, "s")), fmt::arg("by_time", t.updated_at.empty() ? "" : ", " + time),
            fmt::arg("order", order), fmt::arg("read_order", t.read_order), fmt::arg("stage", t.stage));
    }
    const bool quick = t.unique_keys || t.updated_at.empty();
    // How many points there were, before the quick plan dropped the unchanged ones.
    std::string all_points = "p.points";
    if (quick && t.unique_keys) {
        all_points = "c.staged";
    } else if (quick) {
        out.plan.push_back(fmt::format("CREATE TEMP TABLE {} AS SELECT * FROM {} s", latest, source));
        source = latest;
        all_points = fmt::format("(SELECT count(*) FROM {})", latest);
    }
    out.plan.push_back(quick ? QuickPointsSql(t, points, source, scope)
                             : fmt::format("CREATE TEMP TABLE {} AS SELECT * FROM {} s", points, source));
    if (!t.updated_at.empty() && t.hard_deletes != "ignore") {
        // A quick point this moves was not simple (its key has no alive version after it), and
        // no dropped point would have moved (its key has one).
        out.plan.push_back(ReappearSql(t, points));
    }
    if (!t.analyze.empty() && !quick) {
        // Its size decides how the history is joined. The quick plan's points are the few
        // that change something, and its history is joined by the index of current rows.
        out.plan.push_back(t.analyze + " " + points);
    }
    if (quick) {
        for (std::string& statement : QuickPlanSql(t, points, plan, scope)) {
            out.plan.push_back(std::move(statement));
        }
    } else {
        out.plan.push_back(fmt::format("CREATE TEMP TABLE {} AS {}", plan, PlanSelect(t, points, scope)));
    }
    if (!t.analyze.empty()) {
        out.plan.push_back(t.analyze + " " + plan);  // the apply statements join it with the history
    }
    out.counts = fmt::format(
        "SELECT c.staged, {all}, {all} - p.points + p.same, p.new_keys FROM (SELECT count(*) AS staged FROM {stage}) c, "
        "(SELECT count(*) AS points, coalesce(sum(1 - sluice_keep), 0) AS same, coalesce(sum(CASE WHEN sluice_keep = 1 "
        "AND sluice_known = 0 THEN 1 ELSE 0 END), 0) AS new_keys FROM {plan} WHERE sluice_src = 1) p",
        fmt::arg("stage", t.stage), fmt::arg("all", all_points), fmt::arg("plan", plan));
    // The partition's scope on the history too: the server then reads the index of its key
    // range only, rather than from the first key on.
    const std::string in_scope = scope.empty() ? "" : " AND " + scope;

    const std::string joined = fmt::format("{plan} l JOIN {points} p ON {match} AND p.sluice_t = l.sluice_t",
                                           fmt::arg("plan", plan), fmt::arg("points", points),
                                           fmt::arg("match", Match(t.key, "p", "l")));
    // Closing first: the new current version must not meet the old one in the unique index
    // on key WHERE current.
    out.apply.push_back(fmt::format(
        "UPDATE {table} AS x SET {vt} = l.sluice_close_at, {cur} = FALSE FROM {plan} l WHERE l.sluice_close_at IS NOT "
        "NULL AND {match} AND x.{vf} = l.sluice_t{scope}",
        fmt::arg("table", t.table), fmt::arg("vt", t.valid_to), fmt::arg("cur", t.current), fmt::arg("plan", plan),
        fmt::arg("match", Match(t.key, "l", "x")), fmt::arg("vf", t.valid_from), fmt::arg("scope", in_scope)));
    std::string set;
    for (const std::string& c : t.loaded) {
        if (std::find(t.key.begin(), t.key.end(), c) == t.key.end()) {
            set += fmt::format("{} = p.{}, ", c, c);
        }
    }
    set += fmt::format("{} = p.sluice_h", t.hash);
    if (!t.deleted.empty()) {
        set += fmt::format(", {} = FALSE", t.deleted);
    }
    out.apply.push_back(fmt::format(
        "UPDATE {table} AS x SET {set} FROM {joined} WHERE l.sluice_action = 'update' AND l.sluice_keep = 1 AND "
        "{match} AND x.{vf} = l.sluice_t{scope}",
        fmt::arg("table", t.table), fmt::arg("set", set), fmt::arg("joined", joined),
        fmt::arg("match", Match(t.key, "l", "x")), fmt::arg("vf", t.valid_from), fmt::arg("scope", in_scope)));
    out.apply.push_back(fmt::format(
        "INSERT INTO {table} ({history}) SELECT {loaded}, l.sluice_t, l.sluice_new_vt, l.sluice_new_vt IS NULL, "
        "p.sluice_h{alive} FROM {joined} WHERE l.sluice_action = 'insert' AND l.sluice_keep = 1",
        fmt::arg("table", t.table), fmt::arg("history", history), fmt::arg("loaded", List(t.loaded, "p")),
        fmt::arg("alive", alive), fmt::arg("joined", joined)));

    if (t.hard_deletes != "ignore") {
        out.deletes.push_back("DROP TABLE IF EXISTS " + gone);
        const std::string versions = fmt::format(
            "SELECT {xkey}, x.{vf} AS sluice_t FROM {table} x WHERE x.{cur}{alive} AND x.{vf} < {now}{scope}",
            fmt::arg("xkey", List(t.key, "x")), fmt::arg("vf", t.valid_from), fmt::arg("table", t.table),
            fmt::arg("cur", t.current),
            fmt::arg("alive", t.deleted.empty() ? "" : fmt::format(" AND x.{} IS NOT TRUE", t.deleted)),
            fmt::arg("now", t.run_time), fmt::arg("scope", scope.empty() ? "" : " AND " + scope));
        // The alive current versions of keys no staged row has: a NULL key matches none.
        out.deletes.push_back(
            t.unseen_keys.empty()
                ? fmt::format("CREATE TEMP TABLE {} AS {} AND NOT EXISTS (SELECT 1 FROM {} s WHERE {})", gone,
                              versions, t.stage, Match(t.key, "s", "x"))
                : fmt::format("CREATE TEMP TABLE {0} AS {1} AND EXISTS (SELECT 1 FROM {2} u WHERE {3}) AND NOT "
                              "EXISTS (SELECT 1 FROM {4} s WHERE {5}) UNION ALL {1} AND ({6})",
                              gone, versions, t.unseen_keys, Match(t.key, "u", "x"), t.stage,
                              Match(t.key, "s", "x"), NullKey(t.key)));
        out.deletes.push_back(fmt::format(
            "UPDATE {table} AS x SET {vt} = {now}, {cur} = FALSE FROM {gone} g WHERE {match} AND x.{vf} = g.sluice_t",
            fmt::arg("table", t.table), fmt::arg("vt", t.valid_to), fmt::arg("now", t.run_time),
            fmt::arg("cur", t.current), fmt::arg("gone", gone), fmt::arg("match", Match(t.key, "g", "x")),
            fmt::arg("vf", t.valid_from)));
        if (t.hard_deletes == "new_record" && !t.deleted.empty()) {
            out.deletes.push_back(fmt::format(
                "INSERT INTO {table} ({history}) SELECT {loaded}, {now}, NULL, TRUE, x.{hash}, TRUE FROM {table} x "
                "JOIN {gone} g ON {match} AND x.{vf} = g.sluice_t",
                fmt::arg("table", t.table), fmt::arg("history", history), fmt::arg("loaded", List(t.loaded, "x")),
                fmt::arg("now", t.run_time), fmt::arg("hash", t.hash), fmt::arg("gone", gone),
                fmt::arg("match", Match(t.key, "g", "x")), fmt::arg("vf", t.valid_from)));
        }
        out.deleted = "SELECT count(*) FROM " + gone;
        out.cleanup.push_back("DROP TABLE IF EXISTS " + gone);
    }
    if (!t.unseen_keys.empty()) {
        out.cleanup.push_back("DROP TABLE IF EXISTS " + t.unseen_keys);
    }
    out.cleanup.push_back("DROP TABLE IF EXISTS " + latest);
    out.cleanup.push_back("DROP TABLE IF EXISTS " + points);
    out.cleanup.push_back("DROP TABLE IF EXISTS " + plan);
    return out;
}

MergeCounts Scd2Counts(int64_t staged, int64_t points, int64_t unchanged, int64_t new_keys, int64_t deleted) {
    MergeCounts out;
    out.superseded = staged - points;
    out.unchanged = unchanged;
    out.inserted = new_keys;
    out.updated = points - unchanged - new_keys;
    out.deleted = deleted;
    return out;
}

}  // namespace sluice
