#include "connectors/sqlite/sqlite_cursor.hpp"

#include <cstdlib>

#include <fmt/format.h>

namespace sluice::sqlite {

namespace {

const Field& CursorField(const Schema& schema, const std::string& name, const std::string& label) {
    const std::optional<size_t> at = schema.Find(name);
    if (!at) {
        throw Error(ErrorKind::kSchema, fmt::format("incremental.cursor column {} is not a column of {} "
                                                    "(columns: {})",
                                                    name, label, schema.Describe()));
    }
    return schema.fields[*at];
}

bool IsNumber(const std::string& text) {
    if (text.empty()) {
        return false;
    }
    char* end = nullptr;
    std::strtod(text.c_str(), &end);
    return end == text.c_str() + text.size();
}

/// A value as SQLite compares it with the column: numbers bare for numeric columns (a quoted
/// one would be text, which SQLite orders after every number where a column has no affinity).
std::string Literal(const Field& field, const std::string& value) {
    const LogicalType t = field.type.id;
    const bool numeric = t == LogicalType::kInt16 || t == LogicalType::kInt32 || t == LogicalType::kInt64 ||
                         t == LogicalType::kFloat32 || t == LogicalType::kFloat64 || t == LogicalType::kBool;
    if (numeric && IsNumber(value)) {
        return value;
    }
    std::string quoted = "'";
    for (char c : value) {
        quoted += c == '\'' ? "''" : std::string(1, c);
    }
    return quoted + "'";
}

}  // namespace

std::string WindowSql(const Schema& schema, const std::string& label, const CursorWindow& window) {
    std::vector<const Field*> fields;
    for (const std::string& name : window.columns) {
        fields.push_back(&CursorField(schema, name, label));
    }
    return WindowCondition(
        window, [&](size_t i) { return QuoteIdent(fields[i]->name); },
        [&](size_t i, const std::string& value) { return Literal(*fields[i], value); });
}

std::optional<std::vector<std::string>> ReadCursorMax(sqlite3* db, const CursorQuery& q,
                                                      const std::vector<std::string>& columns,
                                                      double settle_seconds) {
    std::string select;
    std::string order;
    std::string condition = q.tenant_filter;
    for (const std::string& name : columns) {
        const std::string column = QuoteIdent(CursorField(q.schema, name, q.label).name);
        select += (select.empty() ? "" : ", ") + column;
        order += (order.empty() ? "" : ", ") + column + " DESC";
        condition += (condition.empty() ? "" : " AND ") + column + " IS NOT NULL";
    }
    if (settle_seconds > 0) {
        condition += fmt::format(" AND datetime({}) <= datetime('now', '-{} seconds')", QuoteIdent(columns.front()),
                                 static_cast<int64_t>(settle_seconds));
    }
    const std::string what = "reading the incremental cursor's high-water mark of " + q.label;
    SqliteStmtPtr stmt = Prepare(
        db, fmt::format("SELECT {} FROM {} WHERE {} ORDER BY {} LIMIT 1", select, q.from, condition, order), what);
    q.bind_tenant(stmt.get(), 1);
    const int rc = sqlite3_step(stmt.get());
    if (rc == SQLITE_DONE) {
        return std::nullopt;
    }
    if (rc != SQLITE_ROW) {
        throw MakeError(db, rc, what);
    }
    std::vector<std::string> out;
    for (int i = 0; i < static_cast<int>(columns.size()); ++i) {
        out.emplace_back(ColumnText(stmt.get(), i));
    }
    return out;
}

WindowCount CountWindow(sqlite3* db, const CursorQuery& q, const CursorWindow& window,
                        const std::vector<std::string>& key) {
    std::string any_null;
    for (const std::string& name : window.columns) {
        any_null += (any_null.empty() ? "" : " OR ") + QuoteIdent(CursorField(q.schema, name, q.label).name) +
                    " IS NULL";
    }
    const std::string what = "counting the rows of the incremental window of " + q.label;
    SqliteStmtPtr stmt = Prepare(db,
                                 fmt::format("SELECT coalesce(sum({}), 0), coalesce(sum({}), 0) FROM {}{}",
                                             WindowSql(q.schema, q.label, window), any_null, q.from,
                                             q.tenant_filter.empty() ? "" : " WHERE " + q.tenant_filter),
                                 what);
    q.bind_tenant(stmt.get(), 1);
    const int rc = sqlite3_step(stmt.get());
    if (rc != SQLITE_ROW) {
        throw MakeError(db, rc, what);
    }
    WindowCount out{sqlite3_column_int64(stmt.get(), 0), sqlite3_column_int64(stmt.get(), 1)};
    std::string key_list;
    for (const std::string& name : key) {
        if (const std::optional<size_t> at = q.schema.Find(name)) {
            key_list += (key_list.empty() ? "" : ", ") + QuoteIdent(q.schema.fields[*at].name);
        }
    }
    if (!key_list.empty() && out.rows > 0) {
        const std::string where = WindowSql(q.schema, q.label, window);
        SqliteStmtPtr keys = Prepare(db,
                                     fmt::format("SELECT count(*) FROM (SELECT DISTINCT {} FROM {} WHERE ({}){})",
                                                 key_list, q.from, where,
                                                 q.tenant_filter.empty() ? "" : " AND " + q.tenant_filter),
                                     what);
        q.bind_tenant(keys.get(), 1);
        if (const int step = sqlite3_step(keys.get()); step != SQLITE_ROW) {
            throw MakeError(db, step, what);
        }
        out.repeated_keys = out.rows - sqlite3_column_int64(keys.get(), 0);
    }
    return out;
}

std::string CursorBefore(sqlite3* db, const Schema& schema, const std::string& label, const std::string& column,
                         const std::string& value, double seconds) {
    const Field& field = CursorField(schema, column, label);
    const std::string what = "going back incremental.lookback from the mark";
    // Written like the stored values, so that they still compare as text: a date stays a
    // date, a timestamp keeps millisecond digits and its 'T' separator when it had one.
    const bool date_only = value.size() == 10;
    SqliteStmtPtr stmt = Prepare(
        db, date_only ? "SELECT date(?1, ?2)" : "SELECT strftime('%Y-%m-%d %H:%M:%f', ?1, ?2)", what);
    const std::string shift = fmt::format("-{:.3f} seconds", seconds);
    sqlite3_bind_text(stmt.get(), 1, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
    sqlite3_bind_text(stmt.get(), 2, shift.data(), static_cast<int>(shift.size()), SQLITE_STATIC);
    if (sqlite3_step(stmt.get()) != SQLITE_ROW || sqlite3_column_type(stmt.get(), 0) == SQLITE_NULL) {
        throw Error(ErrorKind::kConfig,
                    fmt::format("incremental.lookback goes back in time, but the mark {} of cursor column {} of {} "
                                "is not a date or timestamp SQLite can read",
                                value, field.name, label));
    }
    std::string out(ColumnText(stmt.get(), 0));
    if (value.size() > 10 && value[10] == 'T' && out.size() > 10) {
        out[10] = 'T';
    }
    return out;
}

}  // namespace sluice::sqlite
