// incremental: on a PostgreSQL source. The window's bounds are text at the source's full
// precision and go back as literals cast to the column's own type, so a timestamptz keeps its
// microseconds and a numeric its digits: the boundary row is never read twice or lost.
#include <fmt/format.h>

#include "connectors/postgres/pg_source_shape.hpp"

namespace sluice::pg {

namespace {

const PgColumn& CursorColumn(const SourceShape& shape, const std::string& name) {
    const PgColumn* column = shape.FindColumn(name);
    if (column == nullptr) {
        std::string names;
        for (const PgColumn& c : shape.columns) {
            names += (names.empty() ? "" : ", ") + c.name;
        }
        throw Error(ErrorKind::kSchema, fmt::format("incremental.cursor column {} is not a column of {} "
                                                    "(columns: {})",
                                                    name, shape.display, names));
    }
    return *column;
}

std::string Where(const SourceShape& shape, const std::string& condition) {
    const std::string both = condition.empty() || shape.filter.empty()
                                 ? condition + shape.filter
                                 : condition + " AND " + shape.filter;
    return both.empty() ? "" : " WHERE " + both;
}

}  // namespace

std::string WindowSql(const SourceShape& shape, const CursorWindow& window) {
    std::vector<const PgColumn*> columns;
    for (const std::string& name : window.columns) {
        columns.push_back(&CursorColumn(shape, name));
    }
    return WindowCondition(
        window, [&](size_t i) { return QuoteIdent(columns[i]->name); },
        [&](size_t i, const std::string& value) {
            return fmt::format("{}::{}", QuoteLiteral(value), columns[i]->type.native);
        },
        /*row_values=*/true);
}

std::optional<std::vector<std::string>> ReadCursorMax(PgConnection& conn, const SourceShape& shape,
                                                      const std::vector<std::string>& columns,
                                                      double settle_seconds) {
    std::string select;
    std::string order;
    std::string condition;
    for (size_t i = 0; i < columns.size(); ++i) {
        const std::string column = QuoteIdent(CursorColumn(shape, columns[i]).name);
        // Aliased: an output column named like the table's would make ORDER BY sort the text.
        select += fmt::format("{}{}::text AS sluice_cursor_{}", select.empty() ? "" : ", ", column, i);
        order += (order.empty() ? "" : ", ") + column + " DESC";
        condition += (condition.empty() ? "" : " AND ") + column + " IS NOT NULL";
    }
    if (settle_seconds > 0) {
        // Rows younger than `settle` may still have company on the way: a transaction that
        // began earlier can commit a smaller timestamp after this read.
        condition += fmt::format(" AND {} <= now() - interval '{} milliseconds'", QuoteIdent(columns.front()),
                                 static_cast<int64_t>(settle_seconds * 1000));
    }
    PgResultPtr result =
        conn.Exec(fmt::format("SELECT {} FROM {}{} ORDER BY {} LIMIT 1", select, shape.from_sql,
                              Where(shape, condition), order),
                  "reading the incremental cursor's high-water mark of " + shape.display);
    if (PQntuples(result.get()) == 0) {
        return std::nullopt;
    }
    std::vector<std::string> out;
    for (int i = 0; i < PQnfields(result.get()); ++i) {
        out.emplace_back(PQgetvalue(result.get(), 0, i));
    }
    return out;
}

WindowCount CountWindow(PgConnection& conn, const SourceShape& shape, const CursorWindow& window,
                        const std::vector<std::string>& key) {
    // Two queries, each an index range scan where the cursor is indexed: one count over the
    // whole table would read all of it on every run, however little is new.
    const std::string what = "counting the rows of the incremental window of " + shape.display;
    std::string key_row;
    for (const std::string& name : key) {
        if (const PgColumn* column = shape.FindColumn(name)) {
            key_row += (key_row.empty() ? "" : ", ") + QuoteIdent(column->name);
        }
    }
    const std::string distinct = key_row.empty() ? "count(*)" : fmt::format("count(DISTINCT ROW({}))", key_row);
    PgResultPtr counted = conn.Exec(fmt::format("SELECT count(*), {} FROM {}{}", distinct, shape.from_sql,
                                                Where(shape, WindowSql(shape, window))),
                                    what);
    WindowCount count;
    count.rows = std::stoll(PQgetvalue(counted.get(), 0, 0));
    count.repeated_keys = count.rows - std::stoll(PQgetvalue(counted.get(), 0, 1));
    std::string any_null;
    for (const std::string& name : window.columns) {
        const PgColumn& column = CursorColumn(shape, name);
        if (!column.not_null) {
            any_null += (any_null.empty() ? "" : " OR ") + QuoteIdent(column.name) + " IS NULL";
        }
    }
    if (!any_null.empty()) {
        count.null_cursors = std::stoll(
            conn.QueryValue(fmt::format("SELECT count(*) FROM {}{}", shape.from_sql, Where(shape, "(" + any_null + ")")),
                            {}, what)
                .value_or("0"));
    }
    return count;
}

std::string CursorBefore(PgConnection& conn, const SourceShape& shape, const std::string& column,
                         const std::string& value, double seconds) {
    const PgColumn& c = CursorColumn(shape, column);
    const LogicalType type = c.type.type.id;
    if (type != LogicalType::kDate && type != LogicalType::kTimestamp && type != LogicalType::kTimestampTz) {
        throw Error(ErrorKind::kConfig,
                    fmt::format("incremental.lookback goes back in time, but the first cursor column {} of {} is "
                                "{}; lookback needs a date or timestamp cursor",
                                c.name, shape.display, c.type.native));
    }
    // Computed by the server, in the column's own type and precision (a date stays a date).
    return conn
        .QueryValue(fmt::format("SELECT ($1::{} - make_interval(secs => $2::float8))::{}::text", c.type.native,
                                c.type.native),
                    {value, fmt::format("{}", seconds)}, "going back incremental.lookback from the mark")
        .value_or(value);
}

}  // namespace sluice::pg
