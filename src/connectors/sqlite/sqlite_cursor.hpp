#pragma once

// incremental: on a SQLite source: the window's SQL, the cursor's high-water mark and the
// count of rows in a window.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "connectors/connector.hpp"
#include "connectors/sqlite/sqlite_db.hpp"

namespace sluice::sqlite {

/// What the cursor queries read: the relation, its columns, and the tenant condition (with
/// its one `?`, bound by `bind_tenant` at the given position) or "".
struct CursorQuery {
    const std::string& from;
    const std::string& label;
    const Schema& schema;
    std::string tenant_filter;
    std::function<void(sqlite3_stmt*, int)> bind_tenant;
};

/// The SQL condition of `window` ("" when it is not active), literals written as the
/// columns compare. Throws Error(kSchema) for a cursor column the source lacks.
std::string WindowSql(const Schema& schema, const std::string& label, const CursorWindow& window);
std::optional<std::vector<std::string>> ReadCursorMax(sqlite3* db, const CursorQuery& query,
                                                      const std::vector<std::string>& columns,
                                                      double settle_seconds);
WindowCount CountWindow(sqlite3* db, const CursorQuery& query, const CursorWindow& window,
                        const std::vector<std::string>& key);
/// Source::CursorBefore of a SQLite source: an ISO date or timestamp text (or a number of
/// days, as SQLite's date functions read them), moved back and written in the same form.
std::string CursorBefore(sqlite3* db, const Schema& schema, const std::string& label, const std::string& column,
                         const std::string& value, double seconds);

}  // namespace sluice::sqlite
