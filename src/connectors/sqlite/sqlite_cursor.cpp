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

WindowCount CountWindow(sqlite3* db, const CursorQuery& q, const CursorWindow& window) {
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
    return {sqlite3_column_int64(stmt.get(), 0), sqlite3_column_int64(stmt.get(), 1)};
}

}  // namespace sluice::sqlite
